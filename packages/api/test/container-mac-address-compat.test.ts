/**
 * A container-wide `Config.MacAddress` from clients of API < 1.44 (docker-compose 1.29's
 * `mac_address:`) is the address of the container's interface on its network, as Docker 28's
 * handleMACAddressBC moves it to the network endpoint.
 */
import { reserveTestBlock } from '../../../test/support/test-subnets';
import { docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();
const block = reserveTestBlock();
afterAll(() => block.release());

const MAC = '02:42:ac:11:65:43';

afterAll(async () => {
  await docker(t.env, ['rm', '-f', 'mac-compat']);
  await docker(t.env, ['network', 'rm', 'mac-net']);
});

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
