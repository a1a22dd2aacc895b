import { randomBytes } from 'node:crypto';
import { makeTestHost, type TestHost } from './helpers/host';

/**
 * `docker network create`'s remaining flags on real bridges: --aux-address, --ipam-driver,
 * --ipam-opt, --attachable, --scope, --ipv4, --config-only / --config-from and --ingress.
 */
let host: TestHost;
const random = randomBytes(5);
const ula = `fd${random.toString('hex').slice(0, 2)}:${random.readUInt16BE(1).toString(16)}:${random.readUInt16BE(3).toString(16)}`;

beforeAll(async () => {
  host = await makeTestHost('tcf');
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('--aux-address addresses show in their family\'s IPAM config', async () => {
  const n = await host.manager.createNetwork({
    name: 'tcf-aux',
    subnet: host.subnet(1),
    ipv6: true,
    subnet6: `${ula}:1::/64`,
    auxAddresses: { router: `${host.net(1)}.2`, dns6: `${ula}:1:0:0:0:2` },
  });
  expect(n.IPAM.Config).toEqual([
    { Subnet: host.subnet(1), Gateway: `${host.net(1)}.1`, AuxiliaryAddresses: { router: `${host.net(1)}.2` } },
    { Subnet: `${ula}:1::/64`, Gateway: `${ula}:1::1`, AuxiliaryAddresses: { dns6: `${ula}:1::2` } },
  ]);
});

test('the IPAM never gives a container an --aux-address', async () => {
  const r = await host.manager.attach('tcf-aux-c', { mode: 'tcf-aux' });
  expect(r.settings.Networks['tcf-aux']).toMatchObject({ IPAddress: `${host.net(1)}.3`, GlobalIPv6Address: `${ula}:1::3` });
  await host.manager.detach('tcf-aux-c');
});

test('an --ip that is an --aux-address is in use', async () => {
  await expect(host.manager.attach('tcf-aux-ip', { networks: [{ name: 'tcf-aux', ip: `${host.net(1)}.2` }] })).rejects.toMatchObject({
    code: 'Denied',
    message: 'Address already in use',
    hint: expect.stringContaining(`${host.net(1)}.2 is taken on network tcf-aux`),
  });
});

test('an --aux-address outside the subnets is refused in docker\'s words', async () => {
  await expect(host.manager.createNetwork({ name: 'tcf-aux-out', subnet: host.subnet(2), auxAddresses: { x: '192.0.2.9' } })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'no matching subnet for aux-address 192.0.2.9',
  });
  expect((await host.manager.listNetworks()).map((n) => n.Name)).not.toContain('tcf-aux-out');
});

test('--ipam-driver default is accepted; any other is a plugin dockerd cannot find', async () => {
  const n = await host.manager.createNetwork({ name: 'tcf-ipamd', subnet: host.subnet(3), ipamDriver: 'default' });
  expect(n.IPAM.Driver).toBe('default');
  await expect(host.manager.createNetwork({ name: 'tcf-ipamx', ipamDriver: 'dhcp' })).rejects.toMatchObject({
    code: 'NotFound',
    message: 'could not find plugin dhcp in v1 plugin registry: plugin not found',
  });
});

test('--ipam-opt values show in IPAM.Options', async () => {
  const n = await host.manager.createNetwork({ name: 'tcf-ipamo', subnet: host.subnet(4), ipamOptions: { foo: 'bar' } });
  expect(n.IPAM.Options).toEqual({ foo: 'bar' });
  expect((await host.manager.inspectNetwork('tcf-ipamo')).IPAM.Options).toEqual({ foo: 'bar' });
});

test('--attachable shows in inspect', async () => {
  const n = await host.manager.createNetwork({ name: 'tcf-att', subnet: host.subnet(5), attachable: true });
  expect(n.Attachable).toBe(true);
});

test('--scope local is accepted; swarm is refused as on a node outside a swarm, others as invalid', async () => {
  expect((await host.manager.createNetwork({ name: 'tcf-local', subnet: host.subnet(6), scope: 'local' })).Scope).toBe('local');
  await expect(host.manager.createNetwork({ name: 'tcf-swarm', scope: 'swarm' })).rejects.toMatchObject({
    code: 'Unavailable',
    message: expect.stringContaining('This node is not a swarm manager.'),
  });
  await expect(host.manager.createNetwork({ name: 'tcf-glob', scope: 'global' })).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('--ingress is refused as on a node outside a swarm', async () => {
  await expect(host.manager.createNetwork({ name: 'tcf-ingress', ingress: true })).rejects.toMatchObject({
    code: 'Unavailable',
    message: 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.',
  });
});

test('--ipv4=false without --ipv6 is refused; with it, an IPv6-only network is unsupported', async () => {
  await expect(host.manager.createNetwork({ name: 'tcf-none', ipv4: false })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'IPv4 or IPv6 must be enabled' });
  await expect(host.manager.createNetwork({ name: 'tcf-v6only', ipv4: false, ipv6: true })).rejects.toMatchObject({ code: 'Unsupported' });
});

test('a --config-only network is listed with driver null and its configuration, and has no bridge', async () => {
  const n = await host.manager.createNetwork({ name: 'tcf-conf', configOnly: true, subnet: host.subnet(7), gateway: `${host.net(7)}.254`, ipamOptions: { a: 'b' } });
  expect(n).toMatchObject({ Driver: 'null', ConfigOnly: true, IPAM: { Options: { a: 'b' }, Config: [{ Subnet: host.subnet(7), Gateway: `${host.net(7)}.254` }] } });
  expect((await host.manager.inspectNetwork('tcf-conf')).Id).toBe(n.Id);
  expect(await host.leftovers(false)).toEqual(expect.not.arrayContaining([expect.stringContaining(n.Id.slice(0, 8))]));
});

test('no container joins a config-only network', async () => {
  await expect(host.manager.attach('tcf-conf-c', { mode: 'tcf-conf' })).rejects.toMatchObject({
    code: 'Denied',
    message: 'cannot create endpoint on configuration-only network',
  });
});

test('a config-only network named by its ID prefix is refused as config-only, not as missing', async () => {
  const { Id } = await host.manager.inspectNetwork('tcf-conf');
  await expect(host.manager.attach('tcf-conf-p', { mode: Id.slice(0, 12) })).rejects.toMatchObject({
    code: 'Denied',
    message: 'cannot create endpoint on configuration-only network',
  });
});

test('--config-from makes a bridge network with the config-only network\'s addresses', async () => {
  const n = await host.manager.createNetwork({ name: 'tcf-from', configFrom: 'tcf-conf', labels: { own: 'yes' } });
  expect(n).toMatchObject({
    Driver: 'bridge',
    ConfigFrom: { Network: 'tcf-conf' },
    Labels: { own: 'yes' },
    IPAM: { Options: { a: 'b' }, Config: [{ Subnet: host.subnet(7), Gateway: `${host.net(7)}.254` }] },
  });
  const r = await host.manager.attach('tcf-from-c', { mode: 'tcf-from' });
  expect(r.settings.Networks['tcf-from']?.IPAddress).toBe(`${host.net(7)}.1`);
  await host.manager.detach('tcf-from-c');
});

test('a config-only network in use by another cannot be removed; unused, it can', async () => {
  await expect(host.manager.removeNetwork('tcf-conf')).rejects.toMatchObject({ code: 'Denied', message: 'configuration network "tcf-conf" is in use' });
  await host.manager.removeNetwork('tcf-from');
  await host.manager.removeNetwork('tcf-conf');
  expect((await host.manager.listNetworks()).map((n) => n.Name)).not.toContain('tcf-conf');
});

test('--config-from with addresses of its own is refused, and a missing config network is not found', async () => {
  await host.manager.createNetwork({ name: 'tcf-conf2', configOnly: true, subnet: host.subnet(9) });
  await expect(host.manager.createNetwork({ name: 'tcf-own', configFrom: 'tcf-conf2', subnet: host.subnet(10) })).rejects.toMatchObject({
    code: 'Denied',
    message: 'user specified configurations are not supported if the network depends on a configuration network',
  });
  await expect(host.manager.createNetwork({ name: 'tcf-nocfg', configFrom: 'tcf-missing' })).rejects.toMatchObject({
    code: 'NotFound',
    message: 'configuration network "tcf-missing" does not exist',
  });
  await host.manager.removeNetwork('tcf-conf2');
});
