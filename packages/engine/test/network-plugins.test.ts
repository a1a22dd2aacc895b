import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { collector, eventually, testEngine, type TestEngine } from './fixture';
import { startNetworkPlugin, type TestNetworkPlugin } from './support/network-plugin';

/**
 * Docker's network driver plugins (libnetwork's remote driver), through a real plugin: the test
 * network plugin (a Node HTTP server on a unix socket that makes a bridge per network and a veth
 * pair per endpoint) and real busybox containers on its networks.
 */

let t: TestEngine;
let engine: Engine;
let pluginDir: string;
let dataDir: string;
let plugin: TestNetworkPlugin;
let block: TestBlock;
let seq = 0;

function fresh(prefix: string): string {
  seq += 1;
  return `${prefix}${process.pid}-${seq}`;
}

beforeAll(async () => {
  t = await testEngine();
  block = reserveTestBlock();
  pluginDir = await mkdtemp(join(tmpdir(), 'ctr-netplugins-'));
  dataDir = await mkdtemp(join(tmpdir(), 'ctr-netplugin-data-'));
  plugin = await startNetworkPlugin(join(pluginDir, 'testnet.sock'), dataDir);
  engine = new Engine({ root: t.root, runRoot: t.runRoot, plugins: { legacy: { sockets: [pluginDir], specs: [pluginDir] }, activateTimeoutMs: 0 } });
});

afterEach(async () => {
  for (const c of await engine.ps({ all: true })) await engine.remove(c.Id, { force: true }).catch(() => undefined);
  for (const n of await engine.networks()) if (n.Driver === 'testnet') await engine.removeNetwork(n.Id).catch(() => undefined);
});

afterAll(async () => {
  await engine?.close();
  await plugin?.stop();
  await t?.cleanup();
  block?.release();
  await rm(pluginDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
  // The plugin removes what it made when it stops; nothing of it may be left.
  expect(plugin ? plugin.links() : []).toEqual([]);
});

async function sleeper(network: string, options: { ip?: string } = {}): Promise<string> {
  const { id } = await engine.create({ image: 'busybox', pull: 'never', network, cmd: ['sleep', '600'], ...options });
  await engine.start(id);
  return id;
}

async function inside(id: string, cmd: string[]): Promise<{ exitCode: number; out: string }> {
  const out = collector();
  const { exitCode } = await engine.exec(id, { cmd, stdout: out, stderr: out });
  return { exitCode: exitCode ?? -1, out: out.text() };
}

test('network create -d PLUGIN calls CreateNetwork with the IPAM pool and the driver options; ls and inspect show the driver', async () => {
  const name = fresh('pn');
  const subnet = block.subnet(1);
  const created = await engine.createNetwork({ name, driver: 'testnet', subnet, options: { color: 'blue' } });
  expect(await plugin.callsOf('NetworkDriver.CreateNetwork')).toContainEqual({
    method: 'NetworkDriver.CreateNetwork',
    body: {
      NetworkID: created.Id,
      Options: { 'com.docker.network.enable_ipv4': true, 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': { color: 'blue' } },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: subnet, Gateway: `${block.net(1)}.1/24`, AuxAddresses: {} }],
      IPv6Data: [],
    },
  });
  expect((await engine.networks({ filters: { driver: ['testnet'] } })).map((n) => n.Name)).toEqual([name]);
  expect(await engine.inspectNetwork(name)).toMatchObject({ Name: name, Driver: 'testnet', Options: { color: 'blue' }, IPAM: { Config: [{ Subnet: subnet }] } });
});

test("containers on a plugin's network get the driver's interface as eth0 with their address, and reach each other", async () => {
  const name = fresh('pn');
  await engine.createNetwork({ name, driver: 'testnet', subnet: block.subnet(2) });
  const a = await sleeper(name);
  const b = await sleeper(name);
  const addressOf = async (id: string): Promise<string> => (await engine.inspect(id)).NetworkSettings.Networks[name]?.IPAddress ?? '';
  const link = await inside(a, ['ip', '-o', 'addr', 'show', 'eth0']);
  expect(link.out).toContain(`inet ${await addressOf(a)}/24`);
  const ping = await inside(a, ['ping', '-c', '1', '-W', '5', await addressOf(b)]);
  expect(ping).toMatchObject({ exitCode: 0 });
});

test("a container's endpoint is created and joined with its sandbox; the MAC the driver gives is the container's", async () => {
  const name = fresh('pn');
  const net = await engine.createNetwork({ name, driver: 'testnet', subnet: block.subnet(3) });
  const id = await sleeper(name);
  const settings = (await engine.inspect(id)).NetworkSettings.Networks[name];
  const created = (await plugin.callsOf('NetworkDriver.CreateEndpoint')).find((c) => c.body.EndpointID === settings?.EndpointID);
  expect(created?.body).toMatchObject({ NetworkID: net.Id, Interface: { Address: `${settings?.IPAddress}/24`, MacAddress: '' } });
  const joined = (await plugin.callsOf('NetworkDriver.Join')).find((c) => c.body.EndpointID === settings?.EndpointID);
  expect(joined?.body).toMatchObject({ NetworkID: net.Id, SandboxKey: join(t.runRoot, 'netns', id) });
  expect(settings?.MacAddress).toMatch(/^02:aa:00:00:/);
  expect((await inside(id, ['cat', '/sys/class/net/eth0/address'])).out.trim()).toBe(settings?.MacAddress);
});

test("a stop leaves and deletes the endpoint: the driver's interfaces are gone, the network's bridge stays", async () => {
  const name = fresh('pn');
  await engine.createNetwork({ name, driver: 'testnet', subnet: block.subnet(4) });
  const before = plugin.links();
  const id = await sleeper(name);
  const endpoint = (await engine.inspect(id)).NetworkSettings.Networks[name]?.EndpointID;
  expect(plugin.links().length).toBe(before.length + 1);
  await engine.stop(id, { timeout: 0 });
  expect((await plugin.callsOf('NetworkDriver.Leave')).map((c) => c.body.EndpointID)).toContain(endpoint);
  expect((await plugin.callsOf('NetworkDriver.DeleteEndpoint')).map((c) => c.body.EndpointID)).toContain(endpoint);
  expect(plugin.links()).toEqual(before);
});

test("network rm calls DeleteNetwork, and the plugin's bridge goes", async () => {
  const name = fresh('pn');
  const before = plugin.links();
  const net = await engine.createNetwork({ name, driver: 'testnet', subnet: block.subnet(5) });
  expect(plugin.links().length).toBe(before.length + 1);
  await engine.removeNetwork(name);
  expect((await plugin.callsOf('NetworkDriver.DeleteNetwork')).map((c) => c.body.NetworkID)).toContain(net.Id);
  expect(plugin.links()).toEqual(before);
  await expect(engine.inspectNetwork(name)).rejects.toMatchObject({ code: 'NotFound' });
});

test("a Join the plugin refuses fails the start in libnetwork's words and leaves nothing behind", async () => {
  const name = fresh('pn');
  const net = await engine.createNetwork({ name, driver: 'testnet', subnet: block.subnet(6), options: { 'fail-join': 'no room here' } });
  const before = plugin.links();
  const { id } = await engine.create({ image: 'busybox', pull: 'never', network: name, cmd: ['sleep', '600'] });
  await expect(engine.start(id)).rejects.toThrow('remote: no room here');
  expect(plugin.links()).toEqual(before);
  const created = (await plugin.callsOf('NetworkDriver.CreateEndpoint')).filter((c) => c.body.NetworkID === net.Id).map((c) => c.body.EndpointID);
  const deleted = (await plugin.callsOf('NetworkDriver.DeleteEndpoint')).filter((c) => c.body.NetworkID === net.Id).map((c) => c.body.EndpointID);
  expect(created).toHaveLength(1);
  expect(deleted).toEqual(created);
  expect((await engine.inspectNetwork(name)).Containers).toEqual({});
});

test('network connect of a running container joins the plugin network as its next interface; disconnect leaves it', async () => {
  const first = fresh('pn');
  const name = fresh('pn');
  await engine.createNetwork({ name: first, driver: 'testnet', subnet: block.subnet(7) });
  await engine.createNetwork({ name, driver: 'testnet', subnet: block.subnet(8) });
  const id = await sleeper(first);
  const before = plugin.links();
  await engine.connect(name, id);
  const settings = (await engine.inspect(id)).NetworkSettings.Networks[name];
  expect((await inside(id, ['ip', '-o', 'addr', 'show', 'eth1'])).out).toContain(`inet ${settings?.IPAddress}/24`);
  await engine.disconnect(name, id);
  expect((await plugin.callsOf('NetworkDriver.Leave')).map((c) => c.body.EndpointID)).toContain(settings?.EndpointID);
  expect((await inside(id, ['ls', '/sys/class/net'])).out.split(/\s+/)).not.toContain('eth1');
  expect(plugin.links()).toEqual(before);
});

test("a driver no plugin has is not found, in dockerd's words", async () => {
  await expect(engine.createNetwork({ name: fresh('pn'), driver: 'nosuchplugin' })).rejects.toMatchObject({
    code: 'NotFound',
    message: 'could not find plugin nosuchplugin in v1 plugin registry: plugin not found',
  });
});

test("a plugin that is no network driver is refused in moby's words", async () => {
  const other = await startNetworkPlugin(join(pluginDir, 'notnet.sock'), join(dataDir, 'notnet'), { PLUGIN_IMPLEMENTS: 'VolumeDriver' });
  try {
    await expect(engine.createNetwork({ name: fresh('pn'), driver: 'notnet' })).rejects.toThrow('legacy plugin: Plugin does not implement the requested driver');
  } finally {
    await other.stop();
  }
});

test("a container's ports go to the driver's ProgramExternalConnectivity; a plugin without it (404) is no error", async () => {
  const name = fresh('pn');
  const net = await engine.createNetwork({ name, driver: 'testnet', subnet: block.subnet(9) });
  const { id } = await engine.create({ image: 'busybox', pull: 'never', network: name, publish: ['127.0.0.1:0:80'], cmd: ['sleep', '600'] });
  await engine.start(id);
  const endpoint = (await engine.inspect(id)).NetworkSettings.Networks[name]?.EndpointID;
  const programmed = (await plugin.callsOf('NetworkDriver.ProgramExternalConnectivity')).find((c) => c.body.EndpointID === endpoint);
  expect(programmed?.body).toMatchObject({
    NetworkID: net.Id,
    Options: { 'com.docker.network.portmap': [{ Proto: 6, Port: 80, HostIP: '127.0.0.1', HostPort: 0 }] },
  });
  await engine.stop(id, { timeout: 0 });
  expect((await plugin.callsOf('NetworkDriver.RevokeExternalConnectivity')).map((c) => c.body.EndpointID)).toContain(endpoint);
});

test("the Join's DstPrefix names the interface inside, and its Gateway is the container's default route", async () => {
  const name = fresh('pn');
  const gateway = `${block.net(10)}.1`;
  await engine.createNetwork({ name, driver: 'testnet', subnet: block.subnet(10), options: { 'dst-prefix': 'tnx', gateway } });
  const id = await sleeper(name);
  expect((await inside(id, ['ls', '/sys/class/net'])).out.split(/\s+/)).toContain('tnx0');
  expect((await inside(id, ['ip', 'route', 'show', 'default'])).out).toContain(`default via ${gateway} dev tnx0`);
});

test("a detached container's exit, seen by its exit command alone, sends the plugin Leave and DeleteEndpoint for its endpoint", async () => {
  const name = fresh('pn');
  await engine.createNetwork({ name, driver: 'testnet', subnet: block.subnet(11) });
  // As the ctr command runs: conmon's exit command, with none of this process's plugin settings.
  const handleExit = `new (require(${JSON.stringify(join(__dirname, '..'))}).Engine)({ root: process.argv[1], runRoot: process.argv[2] }).handleExit(process.argv[3])`;
  const daemonless = new Engine({
    root: t.root,
    runRoot: t.runRoot,
    plugins: { legacy: { sockets: [pluginDir], specs: [pluginDir] }, activateTimeoutMs: 0 },
    exitCommand: [process.execPath, '-e', handleExit, t.root, t.runRoot],
  });
  try {
    const { id } = await daemonless.run({ image: 'busybox', pull: 'never', cmd: ['true'], network: name, detach: true });
    const joined = (await plugin.callsOf('NetworkDriver.Join')).find((c) => c.body.SandboxKey === join(t.runRoot, 'netns', id));
    const endpoint = joined?.body.EndpointID;
    expect(endpoint).toMatch(/^[0-9a-f]{64}$/);
    const released = await eventually(
      async () => [...(await plugin.callsOf('NetworkDriver.Leave')), ...(await plugin.callsOf('NetworkDriver.DeleteEndpoint'))].filter((c) => c.body.EndpointID === endpoint),
      (calls) => calls.length === 2,
    );
    expect(released.map((c) => c.method)).toEqual(['NetworkDriver.Leave', 'NetworkDriver.DeleteEndpoint']);
  } finally {
    await daemonless.close();
  }
});
