/**
 * Endpoint links (`EndpointConfig.Links`, what docker-compose 1.29 sends for `links:` on a
 * project's network when it reconnects; at create, `EndpointsConfig.<network>.Links`, what the
 * docker CLI sends for `--link` on a user network): the alias names the linked container in the
 * embedded DNS for the linking container alone, as libnetwork's endpoint aliases do.
 */
import { reserveTestBlock } from '../../../test/support/test-subnets';
import { docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();
const block = reserveTestBlock();
afterAll(() => block.release());

const NET = 'links-net';

beforeAll(async () => {
  expect((await docker(t.env, ['network', 'create', '--subnet', block.subnet(0), NET])).code).toBe(0);
  for (const name of ['links-target', 'links-other']) {
    expect((await docker(t.env, ['run', '-d', '--pull', 'never', '--name', name, '--network', NET, 'busybox', 'sleep', '300'])).code).toBe(0);
  }
  // Joined the way docker-compose 1.29 does it: created on the network, disconnected, connected again with its links, started.
  expect((await docker(t.env, ['create', '--pull', 'never', '--name', 'links-user', '--network', NET, 'busybox', 'sleep', '300'])).code).toBe(0);
  expect((await request(t.socket, 'POST', `/v1.41/networks/${NET}/disconnect`, JSON.stringify({ Container: 'links-user' }))).status).toBe(200);
  const connect = await request(t.socket, 'POST', `/v1.41/networks/${NET}/connect`, JSON.stringify({ Container: 'links-user', EndpointConfig: { Aliases: ['lu'], Links: ['links-target:lnk1'] } }));
  expect(connect.status).toBe(200);
  expect((await docker(t.env, ['start', 'links-user'])).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await docker(t.env, ['rm', '-f', 'links-user', 'links-target', 'links-other', 'links-run', 'links-created']);
  await docker(t.env, ['network', 'rm', NET]);
});

/** The address the container's first network gives it. */
async function addressOf(name: string): Promise<string> {
  return (await docker(t.env, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`, name])).stdout.trim();
}

test('the linking container resolves the link alias to the linked container through the embedded DNS', async () => {
  const lookup = await docker(t.env, ['exec', 'links-user', 'nslookup', 'lnk1', '127.0.0.11']);
  expect(lookup.code).toBe(0);
  expect(lookup.stdout).toContain(`Address: ${await addressOf('links-target')}`);
});

test('another container on the same network does not resolve the link alias', async () => {
  const lookup = await docker(t.env, ['exec', 'links-other', 'nslookup', 'lnk1', '127.0.0.11']);
  expect(lookup.stdout).not.toContain(await addressOf('links-target'));
  expect(lookup.stdout + lookup.stderr).toContain("can't find lnk1");
});

test('inspect shows the endpoint links as name:alias', async () => {
  const inspected = json(await request(t.socket, 'GET', '/v1.41/containers/links-user/json')) as { NetworkSettings: { Networks: Record<string, { Links: string[] | null }> } };
  expect(inspected.NetworkSettings.Networks[NET]?.Links).toEqual(['links-target:lnk1']);
});

test('docker run --link on a user network (docker 28 sends it as the endpoint\'s Links at create) names the linked container for the new one alone', async () => {
  const run = await docker(t.env, ['run', '-d', '--pull', 'never', '--name', 'links-run', '--network', NET, '--link', 'links-target:lnk2', 'busybox', 'sleep', '300']);
  expect(run.code).toBe(0);
  const lookup = await docker(t.env, ['exec', 'links-run', 'nslookup', 'lnk2', '127.0.0.11']);
  expect(lookup.stdout).toContain(`Address: ${await addressOf('links-target')}`);
  expect((await docker(t.env, ['exec', 'links-other', 'nslookup', 'lnk2', '127.0.0.11'])).stdout).not.toContain(await addressOf('links-target'));
  const links = await docker(t.env, ['inspect', '-f', `{{json (index .NetworkSettings.Networks "${NET}").Links}}`, 'links-run']);
  expect(links.stdout.trim()).toBe('["links-target:lnk2"]');
});

test('a create\'s EndpointsConfig Links alone (no HostConfig.Links) are the endpoint\'s from its start', async () => {
  const body = { Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { NetworkMode: NET }, NetworkingConfig: { EndpointsConfig: { [NET]: { Links: ['links-other:lnk3'] } } } };
  expect((await request(t.socket, 'POST', '/v1.47/containers/create?name=links-created', JSON.stringify(body))).status).toBe(201);
  expect((await docker(t.env, ['start', 'links-created'])).code).toBe(0);
  const lookup = await docker(t.env, ['exec', 'links-created', 'nslookup', 'lnk3', '127.0.0.11']);
  expect(lookup.stdout).toContain(`Address: ${await addressOf('links-other')}`);
});
