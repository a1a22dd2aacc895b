/**
 * Shapes that follow the request's API version (its `/v1.xx/` prefix; the newest served without
 * one), as moby's routers give them: an endpoint's aliases before 1.45, `DNSNames` on user
 * networks, and networks' `EnableIPv4` from 1.47.
 */
import { reserveTestBlock } from '../../../test/support/test-subnets';
import { docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();
const block = reserveTestBlock();
const NET = 'shapes-net';

interface Endpoint {
  Aliases: string[] | null;
  DNSNames: string[] | null;
}
interface Inspect {
  Id: string;
  NetworkSettings: { Networks: Record<string, Endpoint> };
}

beforeAll(async () => {
  expect((await docker(t.env, ['network', 'create', '--subnet', block.subnet(0), NET])).code).toBe(0);
  const user = ['run', '-d', '--pull', 'never', '--name', 'shapes-user', '--network', NET, '--network-alias', 'shapes-alias', '--hostname', 'shapes-host', 'busybox', 'sleep', '300'];
  expect((await docker(t.env, user)).code).toBe(0);
  expect((await docker(t.env, ['run', '-d', '--pull', 'never', '--name', 'shapes-asker', '--network', NET, 'busybox', 'sleep', '300'])).code).toBe(0);
  expect((await docker(t.env, ['run', '-d', '--pull', 'never', '--name', 'shapes-bridge', 'busybox', 'sleep', '300'])).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await docker(t.env, ['rm', '-f', 'shapes-user', 'shapes-asker', 'shapes-bridge']);
  await docker(t.env, ['network', 'rm', NET]);
  block.release();
});

async function inspect(path: string, name: string): Promise<Inspect> {
  const response = await request(t.socket, 'GET', `${path}/containers/${name}/json`);
  expect(response.status).toBe(200);
  return json(response) as Inspect;
}

test('before API 1.45 an endpoint on a user network lists the short ID and hostname among its aliases; from 1.45, and without a version, only its own', async () => {
  const old = await inspect('/v1.44', 'shapes-user');
  expect(old.NetworkSettings.Networks[NET]?.Aliases).toEqual(['shapes-alias', old.Id.slice(0, 12), 'shapes-host']);
  for (const path of ['/v1.45', '/v1.47', '']) expect((await inspect(path, 'shapes-user')).NetworkSettings.Networks[NET]?.Aliases).toEqual(['shapes-alias']);
  // The default bridge is no user network: nothing is added there.
  const bridge = (await inspect('/v1.41', 'shapes-bridge')).NetworkSettings.Networks.bridge;
  expect(bridge?.Aliases ?? []).toEqual([]);
});

test('DNSNames on a user network: name, aliases, short ID and hostname, each a name the embedded DNS answers; null on the default bridge', async () => {
  const user = await inspect('', 'shapes-user');
  expect(user.NetworkSettings.Networks[NET]?.DNSNames).toEqual(['shapes-user', 'shapes-alias', user.Id.slice(0, 12), 'shapes-host']);
  expect((await inspect('', 'shapes-bridge')).NetworkSettings.Networks.bridge?.DNSNames).toBeNull();
  const address = (await docker(t.env, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`, 'shapes-user'])).stdout.trim();
  for (const name of user.NetworkSettings.Networks[NET]?.DNSNames ?? []) {
    const lookup = await docker(t.env, ['exec', 'shapes-asker', 'nslookup', name, '127.0.0.11']);
    expect(`${name}: ${lookup.stdout}`).toContain(`Address: ${address}`);
  }
});

test('networks show EnableIPv4 (true) from API 1.47, in inspect and in the list; not before', async () => {
  const current = json(await request(t.socket, 'GET', `/v1.47/networks/${NET}`)) as Record<string, unknown>;
  expect(current.EnableIPv4).toBe(true);
  expect(json(await request(t.socket, 'GET', `/v1.46/networks/${NET}`))).not.toHaveProperty('EnableIPv4');
  const listed = json(await request(t.socket, 'GET', '/v1.47/networks')) as Array<Record<string, unknown>>;
  expect(listed.map((n) => [n.Name, n.EnableIPv4]).sort()).toEqual([['bridge', true], ['host', true], ['none', true], [NET, true]].sort());
  for (const n of json(await request(t.socket, 'GET', '/v1.46/networks')) as Array<Record<string, unknown>>) expect(n).not.toHaveProperty('EnableIPv4');
  const ls = await docker(t.env, ['network', 'ls', '--filter', `name=${NET}`, '--format', '{{.Name}} {{.IPv4}}']);
  expect(ls.stdout.trim()).toBe(`${NET} true`);
});
