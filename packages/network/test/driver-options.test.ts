import { execFileSync } from 'node:child_process';
import { makeTestHost, type TestHost } from './helpers/host';

let host: TestHost;

beforeAll(async () => {
  host = await makeTestHost('tdo');
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

const linkMtu = (name: string): number => (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', name]).toString()) as Array<{ mtu: number }>)[0]?.mtu ?? 0;

test('a network made without driver options shows none, as docker shows a user network', async () => {
  const n = await host.manager.createNetwork({ name: 'tdo-plain', subnet: host.subnet(1) });
  expect(n.Options).toEqual({});
});

test('a network shows the driver options it was given, and its bridge has them', async () => {
  const bridge = `${host.prefix}-opts`;
  const n = await host.manager.createNetwork({
    name: 'tdo-opts',
    subnet: host.subnet(2),
    options: { 'com.docker.network.bridge.name': bridge, 'com.docker.network.driver.mtu': '1400' },
  });
  expect(n.Options).toEqual({ 'com.docker.network.bridge.name': bridge, 'com.docker.network.driver.mtu': '1400' });
  expect(linkMtu(bridge)).toBe(1400);
  expect((await host.manager.inspectNetwork('tdo-opts')).Options).toEqual(n.Options);
});

test('the typed bridge name and MTU show as the driver options they stand for', async () => {
  const bridge = `${host.prefix}-typd`;
  const n = await host.manager.createNetwork({ name: 'tdo-typed', subnet: host.subnet(3), bridgeName: bridge, mtu: 1450 });
  expect(n.Options).toEqual({ 'com.docker.network.bridge.name': bridge, 'com.docker.network.driver.mtu': '1450' });
});

test('a driver option ctr does not honour is refused, and nothing is made', async () => {
  await expect(
    host.manager.createNetwork({ name: 'tdo-icc', subnet: host.subnet(4), options: { 'com.docker.network.bridge.enable_icc': 'false' } }),
  ).rejects.toMatchObject({ code: 'InvalidArgument', message: 'network option "com.docker.network.bridge.enable_icc" is not supported' });
  expect((await host.manager.listNetworks()).map((n) => n.Name)).not.toContain('tdo-icc');
});

test('an MTU that is not a whole number in range is refused with the value', async () => {
  await expect(
    host.manager.createNetwork({ name: 'tdo-mtu', subnet: host.subnet(5), options: { 'com.docker.network.driver.mtu': '9x' } }),
  ).rejects.toMatchObject({ code: 'InvalidArgument', message: 'Invalid MTU "9x"' });
});

test('the default bridge shows the options docker shows for docker0', async () => {
  const n = await host.manager.inspectNetwork('bridge');
  expect(n.Options).toEqual({
    'com.docker.network.bridge.default_bridge': 'true',
    'com.docker.network.bridge.name': `${host.prefix}-dflt`,
    'com.docker.network.driver.mtu': '1500',
  });
});
