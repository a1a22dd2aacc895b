import { execFileSync } from 'node:child_process';
import { makeTestHost, type TestHost } from './helpers/host';

let host: TestHost;

beforeAll(async () => {
  host = await makeTestHost('tlc');
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

const bridgeExists = (name: string): boolean => {
  try {
    execFileSync('ip', ['link', 'show', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

test('create makes a bridge with the gateway address and inspect shows Docker\'s fields', async () => {
  const n = await host.manager.createNetwork({
    name: 'tlcy-one',
    subnet: host.subnet(1),
    gateway: `${host.net(1)}.254`,
    ipRange: `${host.net(1)}.128/25`,
    labels: { team: 'a' },
  });
  expect(n).toMatchObject({
    Name: 'tlcy-one',
    Driver: 'bridge',
    Scope: 'local',
    Internal: false,
    IPAM: { Driver: 'default', Config: [{ Subnet: `${host.net(1)}.0/24`, Gateway: `${host.net(1)}.254`, IPRange: `${host.net(1)}.128/25` }] },
    Labels: { team: 'a' },
  });
  expect(n.Id).toMatch(/^[0-9a-f]{64}$/);
  const bridge = host.bridgeOf(n);
  expect(execFileSync('ip', ['-o', '-4', 'addr', 'show', 'dev', bridge]).toString()).toContain(`${host.net(1)}.254/24`);
  expect(await host.manager.inspectNetwork(n.Id.slice(0, 12))).toEqual(n);
});

test('addresses come from the ip-range, and a static address is honoured', async () => {
  const r = await host.manager.attach('tlcy-c1', { mode: 'tlcy-one' });
  expect(r.settings.Networks['tlcy-one']?.IPAddress).toBe(`${host.net(1)}.128`);
  const s = await host.manager.attach('tlcy-c2', { networks: [{ name: 'tlcy-one', ip: `${host.net(1)}.7` }] });
  expect(s.settings.Networks['tlcy-one']).toMatchObject({ IPAddress: `${host.net(1)}.7`, IPAMConfig: { IPv4Address: `${host.net(1)}.7` } });
});

test('a static address already in use or outside the subnet is refused, leaving nothing', async () => {
  await expect(host.manager.attach('tlcy-c3', { networks: [{ name: 'tlcy-one', ip: `${host.net(1)}.7` }] })).rejects.toMatchObject({
    code: 'Denied',
    message: 'Address already in use',
    hint: expect.stringContaining(`${host.net(1)}.7 is taken on network tlcy-one`),
  });
  await expect(host.manager.attach('tlcy-c3', { networks: [{ name: 'tlcy-one', ip: '10.9.9.9' }] })).rejects.toMatchObject({
    code: 'InvalidArgument',
  });
  expect(Object.keys((await host.manager.inspectNetwork('tlcy-one')).Containers).sort()).toEqual(['tlcy-c1', 'tlcy-c2']);
  await expect(host.manager.settings('tlcy-c3')).rejects.toMatchObject({ code: 'NotFound' });
});

test('remove is refused while containers are attached, naming their endpoints as moby 28 does', async () => {
  await expect(host.manager.removeNetwork('tlcy-one')).rejects.toMatchObject({
    code: 'Conflict',
    message: expect.stringMatching(/^error while removing network: network tlcy-one has active endpoints \(name:"tlcy-c[12]" id:"[0-9a-f]{12}", name:"tlcy-c[12]" id:"[0-9a-f]{12}"\)$/),
  });
});

test('remove after the containers leave deletes the bridge and the network', async () => {
  const bridge = host.bridgeOf(await host.manager.inspectNetwork('tlcy-one'));
  await host.manager.detach('tlcy-c1');
  await host.manager.detach('tlcy-c2');
  await host.manager.removeNetwork('tlcy-one');
  expect(bridgeExists(bridge)).toBe(false);
  await expect(host.manager.inspectNetwork('tlcy-one')).rejects.toMatchObject({ code: 'NotFound', message: 'network tlcy-one not found' });
});

test('list shows the pre-defined networks and filters by label and name', async () => {
  await host.manager.createNetwork({ name: 'tlcy-red', labels: { color: 'red' } });
  await host.manager.createNetwork({ name: 'tlcy-blue', labels: { color: 'blue' } });
  expect((await host.manager.listNetworks()).map((n) => n.Name).sort()).toEqual(['bridge', 'host', 'none', 'tlcy-blue', 'tlcy-red']);
  expect((await host.manager.listNetworks({ labels: { color: 'red' } })).map((n) => n.Name)).toEqual(['tlcy-red']);
  expect((await host.manager.listNetworks({ labels: { color: undefined } })).map((n) => n.Name).sort()).toEqual(['tlcy-blue', 'tlcy-red']);
  expect((await host.manager.listNetworks({ name: 'blu' })).map((n) => n.Name)).toEqual(['tlcy-blue']);
});

test('subnets are chosen from the pool without overlapping', async () => {
  const red = await host.manager.inspectNetwork('tlcy-red');
  const blue = await host.manager.inspectNetwork('tlcy-blue');
  expect([8, 9, 10, 11, 12, 13, 14, 15].map((i) => host.subnet(i))).toContain(red.IPAM.Config[0]?.Subnet);
  expect(blue.IPAM.Config[0]?.Subnet).not.toBe(red.IPAM.Config[0]?.Subnet);
});

test('prune removes unused networks matching the filter', async () => {
  await host.manager.attach('tlcy-user', { mode: 'tlcy-blue' });
  expect(await host.manager.prune({ labels: { color: 'red' } })).toEqual({ NetworksDeleted: ['tlcy-red'] });
  expect(await host.manager.prune()).toEqual({ NetworksDeleted: [] });
  await host.manager.detach('tlcy-user');
  expect(await host.manager.prune()).toEqual({ NetworksDeleted: ['tlcy-blue'] });
});

test('a duplicate name is AlreadyExists', async () => {
  await host.manager.createNetwork({ name: 'tlcy-dup', subnet: host.subnet(2) });
  await expect(host.manager.createNetwork({ name: 'tlcy-dup', subnet: host.subnet(3) })).rejects.toMatchObject({
    code: 'AlreadyExists',
    message: 'network with name tlcy-dup already exists',
  });
  await host.manager.removeNetwork('tlcy-dup');
});

test('an overlapping subnet is a Conflict and makes no bridge', async () => {
  await host.manager.createNetwork({ name: 'tlcy-base', subnet: host.subnet(4) });
  await expect(host.manager.createNetwork({ name: 'tlcy-over', subnet: `${host.net(4)}.0/25`, bridgeName: `${host.prefix}-over` })).rejects.toMatchObject({
    code: 'Conflict',
  });
  expect(bridgeExists(`${host.prefix}-over`)).toBe(false);
  await host.manager.removeNetwork('tlcy-base');
});

test.each([
  ['a bad name', { name: 'bad name!' }, 'InvalidArgument'],
  ['a subnet with host bits', { name: 'tlcy-x', subnet: '10.212.255.5/24' }, 'InvalidArgument'],
  ['a gateway outside the subnet', { name: 'tlcy-x', gateway: '10.1.1.1' }, 'InvalidArgument'],
  ['a pre-defined name', { name: 'host' }, 'AlreadyExists'],
  ['a driver of docker\'s that needs a swarm', { name: 'tlcy-x', driver: 'overlay' }, 'Unavailable'],
  ['a driver nobody has heard of', { name: 'tlcy-x', driver: 'bogus' }, 'NotFound'],
  ['a bridge name too long', { name: 'tlcy-x', bridgeName: 'this-name-is-too-long' }, 'InvalidArgument'],
])('create refuses %s', async (_what, options, code) => {
  const before = (await host.manager.listNetworks()).length;
  await expect(host.manager.createNetwork({ subnet: host.subnet(5), ...options })).rejects.toMatchObject({ code });
  expect((await host.manager.listNetworks()).length).toBe(before);
});

test('pre-defined networks cannot be removed', async () => {
  for (const name of ['bridge', 'host', 'none']) {
    await expect(host.manager.removeNetwork(name)).rejects.toMatchObject({
      code: 'Denied',
      message: `${name} is a pre-defined network and cannot be removed`,
    });
  }
});

test('removing or joining an unknown network is NotFound', async () => {
  await expect(host.manager.removeNetwork('tlcy-nope')).rejects.toMatchObject({ code: 'NotFound' });
  await expect(host.manager.attach('tlcy-nope-c', { mode: 'tlcy-nope' })).rejects.toMatchObject({
    code: 'NotFound',
    message: 'network tlcy-nope not found',
  });
});
