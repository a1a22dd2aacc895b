import { docker, json, request, useTestDaemon } from './fixture';

/**
 * What the docker CLI sees of ctrd as it sees of dockerd 28: the order of a run's events (its
 * client attaches before it starts), and the field order of a network's and a container's
 * network settings as moby's Go structs marshal them (API 1.47).
 */
const t = useTestDaemon();

const seconds = (): string => String(Date.now() / 1000);
const later = (): string => String(Math.ceil(Date.now() / 1000) + 1);

async function keys(path: string): Promise<string[]> {
  const response = await request(t.socket, 'GET', path);
  expect(response.status).toBe(200);
  return Object.keys(json(response) as Record<string, unknown>);
}

test('docker run gives create, attach, connect and start in that order', async () => {
  const since = seconds();
  await docker(t.env, ['run', '--pull', 'never', '--name', 'order-attach', 'busybox', 'true']);
  const events = await docker(t.env, ['events', '--since', since, '--until', later(), '--format', '{{.Type}} {{.Action}}']);
  expect(events.stdout.split('\n').slice(0, 4)).toEqual(['container create', 'container attach', 'network connect', 'container start']);
  await docker(t.env, ['rm', 'order-attach']);
});

test("a network's inspect has moby's field order, ConfigFrom after Ingress", async () => {
  await docker(t.env, ['network', 'create', 'order-net']);
  expect(await keys('/v1.47/networks/order-net')).toEqual([
    'Name', 'Id', 'Created', 'Scope', 'Driver', 'EnableIPv4', 'EnableIPv6', 'IPAM', 'Internal', 'Attachable', 'Ingress', 'ConfigFrom', 'ConfigOnly', 'Containers', 'Options', 'Labels',
  ]);
  await docker(t.env, ['network', 'rm', 'order-net']);
});

test("a container's NetworkSettings has the field order of moby's NetworkSettings", async () => {
  await docker(t.env, ['create', '--pull', 'never', '--name', 'order-settings', 'busybox']);
  const response = await request(t.socket, 'GET', '/v1.47/containers/order-settings/json');
  const settings = (json(response) as { NetworkSettings: Record<string, unknown> }).NetworkSettings;
  expect(Object.keys(settings)).toEqual([
    'Bridge', 'SandboxID', 'SandboxKey', 'Ports', 'HairpinMode', 'LinkLocalIPv6Address', 'LinkLocalIPv6PrefixLen', 'SecondaryIPAddresses', 'SecondaryIPv6Addresses',
    'EndpointID', 'Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway', 'MacAddress', 'Networks',
  ]);
  await docker(t.env, ['rm', 'order-settings']);
});
