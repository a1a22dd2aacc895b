/**
 * moby's handleMACAddressBC by the request's API version: a container-wide `Config.MacAddress`
 * from clients of API < 1.44 (docker-compose 1.29's `mac_address:`) is the address of the
 * container's interface on its network (an endpoint's `MacAddress` is not read then); from 1.44
 * the endpoint's is, and a container-wide one is moved there with a warning.
 */
import { reserveTestBlock } from '../../../test/support/test-subnets';
import { docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();
const block = reserveTestBlock();
afterAll(() => block.release());

const MAC = '02:42:ac:11:65:43';

afterAll(async () => {
  await docker(t.env, ['rm', '-f', 'mac-compat', 'mac-endpoint-old', 'mac-wide-new']);
  await docker(t.env, ['network', 'rm', 'mac-net']);
});

/** Create and start `name` at API `version` with `body`; the create's answer. */
async function runAt(version: string, name: string, body: object): Promise<{ Warnings: string[] }> {
  const created = await request(t.socket, 'POST', `/v${version}/containers/create?name=${name}`, JSON.stringify({ Image: 'busybox', Cmd: ['sleep', '300'], ...body }));
  expect(created.status).toBe(201);
  expect((await request(t.socket, 'POST', `/v${version}/containers/${name}/start`)).status).toBe(204);
  return json(created) as { Warnings: string[] };
}

async function eth0(name: string): Promise<string> {
  return (await docker(t.env, ['exec', name, 'cat', '/sys/class/net/eth0/address'])).stdout.trim();
}

test('Config.MacAddress at API 1.41 is the MAC of eth0 on a user network', async () => {
  expect((await docker(t.env, ['network', 'create', '--subnet', block.subnet(0), 'mac-net'])).code).toBe(0);
  const body = { Image: 'busybox', Cmd: ['sleep', '300'], MacAddress: MAC, HostConfig: { NetworkMode: 'mac-net' }, NetworkingConfig: { EndpointsConfig: { 'mac-net': { Aliases: ['m'] } } } };
  const created = await request(t.socket, 'POST', '/v1.41/containers/create?name=mac-compat', JSON.stringify(body));
  expect(created.status).toBe(201);
  expect((await request(t.socket, 'POST', '/v1.41/containers/mac-compat/start')).status).toBe(204);
  expect((await docker(t.env, ['exec', 'mac-compat', 'cat', '/sys/class/net/eth0/address'])).stdout.trim()).toBe(MAC);
  const inspected = json(await request(t.socket, 'GET', '/v1.41/containers/mac-compat/json')) as { NetworkSettings: { Networks: Record<string, { MacAddress: string }> } };
  expect(inspected.NetworkSettings.Networks['mac-net']?.MacAddress).toBe(MAC);
}, 60_000);

test('at API 1.41 an endpoint\'s MacAddress is not read: the interface gets an address of its own', async () => {
  await runAt('1.41', 'mac-endpoint-old', { HostConfig: { NetworkMode: 'mac-net' }, NetworkingConfig: { EndpointsConfig: { 'mac-net': { MacAddress: '02:42:ac:11:65:44' } } } });
  expect(await eth0('mac-endpoint-old')).not.toBe('02:42:ac:11:65:44');
}, 60_000);

test('at API 1.47 a container-wide MacAddress is moved to the main network\'s endpoint with dockerd\'s warning', async () => {
  const created = await runAt('1.47', 'mac-wide-new', { MacAddress: '02:42:ac:11:65:45', HostConfig: { NetworkMode: 'mac-net' }, NetworkingConfig: { EndpointsConfig: { 'mac-net': {} } } });
  expect(created.Warnings).toEqual(['The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.']);
  expect(await eth0('mac-wide-new')).toBe('02:42:ac:11:65:45');
}, 60_000);

test('at API 1.47 a container-wide MacAddress that differs from the endpoint\'s is refused (400) with dockerd\'s words', async () => {
  const body = { Image: 'busybox', MacAddress: '02:42:ac:11:65:46', HostConfig: { NetworkMode: 'mac-net' }, NetworkingConfig: { EndpointsConfig: { 'mac-net': { MacAddress: '02:42:ac:11:65:47' } } } };
  const refused = await request(t.socket, 'POST', '/v1.47/containers/create?name=mac-refused', JSON.stringify(body));
  expect(refused.status).toBe(400);
  expect(json(refused)).toEqual({ message: 'the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty' });
});
