import { docker, json, request, useTestDaemon } from './fixture';

// Fields moby's Go types (API 1.47) marshal whatever they hold, which a client reads from
// dockerd's answers: ctrd sends each of them too, with the value dockerd would.

const t = useTestDaemon();

type Json = Record<string, unknown>;

async function get(path: string): Promise<Json> {
  const response = await request(t.socket, 'GET', path);
  expect(response.status).toBe(200);
  return json(response) as Json;
}

async function getList(path: string): Promise<Json[]> {
  const response = await request(t.socket, 'GET', path);
  expect(response.status).toBe(200);
  return json(response) as Json[];
}

async function created(name: string, body: Json): Promise<string> {
  const response = await request(t.socket, 'POST', `/containers/create?name=${name}`, JSON.stringify({ Image: 'busybox', ...body }));
  expect(response.status).toBe(201);
  return (json(response) as { Id: string }).Id;
}

/** Go's zero container.Config: what dockerd adds under an image's config before API 1.50. */
const ZERO_CONFIG = {
  Hostname: '',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Image: '',
  WorkingDir: '',
  OnBuild: null,
};

describe('image inspect', () => {
  test("Config has every field of Go's zero container.Config, under the image's own", async () => {
    const image = await get('/v1.47/images/busybox/json');
    const config = image.Config as Json;
    expect(config).toMatchObject(ZERO_CONFIG);
    for (const key of ['Env', 'Cmd', 'Volumes', 'Entrypoint', 'Labels']) expect(config).toHaveProperty(key);
    expect(config.Cmd).toEqual(['sh']);
  });

  test("docker's template reads a field the image does not set instead of failing on the missing key", async () => {
    const result = await docker(t.env, ['image', 'inspect', '--format', '{{.Config.Hostname}}|{{json .Config.Volumes}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}', 'busybox']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('|null|null|["sh"]\n');
  });
});

describe('container inspect', () => {
  test('HostConfig carries the resources ctr never sets, at their zero values', async () => {
    const id = await created('sf-resources', { HostConfig: { NetworkMode: 'none' } });
    const hostConfig = (await get(`/v1.47/containers/${id}/json`)).HostConfig as Json;
    expect(hostConfig).toMatchObject({
      CpuRealtimePeriod: 0,
      CpuRealtimeRuntime: 0,
      DeviceCgroupRules: null,
      DeviceRequests: null,
      CpuCount: 0,
      CpuPercent: 0,
      IOMaximumIOps: 0,
      IOMaximumBandwidth: 0,
    });
  });

  test('HostConfig.Init is left out while unset, as moby omits its nil *bool, and shown once given', async () => {
    const unset = await created('sf-init-unset', { HostConfig: { NetworkMode: 'none' } });
    expect((await get(`/v1.47/containers/${unset}/json`)).HostConfig).not.toHaveProperty('Init');
    const given = await created('sf-init-given', { HostConfig: { NetworkMode: 'none', Init: true } });
    expect(((await get(`/v1.47/containers/${given}/json`)).HostConfig as Json).Init).toBe(true);
  });

  test('NetworkSettings has the secondary address lists (null) and each endpoint its DriverOpts (null)', async () => {
    const id = await created('sf-endpoint', {});
    const settings = (await get(`/v1.47/containers/${id}/json`)).NetworkSettings as Json;
    expect(settings).toMatchObject({ SecondaryIPAddresses: null, SecondaryIPv6Addresses: null });
    expect((settings.Networks as Record<string, Json>).bridge).toHaveProperty('DriverOpts', null);
  });
});

test("a container list's endpoints, and system df's, have DriverOpts as moby's EndpointSettings", async () => {
  await created('sf-list', {});
  const listed = (await getList('/v1.47/containers/json?all=1')).find((c) => (c.Names as string[]).includes('/sf-list'));
  expect(((listed?.NetworkSettings as Json).Networks as Record<string, Json>).bridge).toHaveProperty('DriverOpts', null);
  const usage = await get('/v1.47/system/df');
  const counted = (usage.Containers as Json[]).find((c) => (c.Names as string[]).includes('/sf-list'));
  expect(((counted?.NetworkSettings as Json).Networks as Record<string, Json>).bridge).toHaveProperty('DriverOpts', null);
});

describe('networks', () => {
  test('inspect names no config-only network in ConfigFrom, and lists its containers', async () => {
    expect((await docker(t.env, ['network', 'create', 'sf-net'])).code).toBe(0);
    expect((await docker(t.env, ['run', '-d', '--name', 'sf-on-net', '--network', 'sf-net', 'busybox', 'sleep', '60'])).code).toBe(0);
    const network = await get('/v1.47/networks/sf-net');
    expect(network.ConfigFrom).toEqual({ Network: '' });
    expect(Object.values(network.Containers as Record<string, Json>).map((c) => c.Name)).toEqual(['sf-on-net']);
  });

  test("the list shows no network's containers, as dockerd's since API 1.28", async () => {
    const listed = (await getList('/v1.47/networks')).find((n) => n.Name === 'sf-net');
    expect(listed).toMatchObject({ Containers: {}, ConfigFrom: { Network: '' } });
  });

  test('a client before API 1.28 gets the containers in the list too', async () => {
    const listed = (await getList('/v1.27/networks')).find((n) => n.Name === 'sf-net');
    expect(Object.values(listed?.Containers as Record<string, Json>).map((c) => c.Name)).toEqual(['sf-on-net']);
  });
});

test('info has the netfilter fields dockerd still sends at API 1.47, after IPv4Forwarding', async () => {
  const info = await get('/v1.47/info');
  expect(info).toMatchObject({ BridgeNfIptables: false, BridgeNfIp6tables: false });
  const keys = Object.keys(info);
  expect(keys.slice(keys.indexOf('IPv4Forwarding'), keys.indexOf('IPv4Forwarding') + 3)).toEqual(['IPv4Forwarding', 'BridgeNfIptables', 'BridgeNfIp6tables']);
});
