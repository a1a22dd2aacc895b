import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { boundRefusal } from '../../../test/support/port-refusal';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { collector, eventually, testEngine, type TestEngine } from './fixture';
import { startIpamPlugin, type TestIpamPlugin } from './support/ipam-plugin';

/**
 * Docker's IPAM plugins (`network create --ipam-driver PLUGIN`, libnetwork's remote IPAM), through
 * a real plugin — the test IPAM plugin (support/ipam-plugin-server.js, a Node HTTP server on a
 * unix socket) — and real busybox containers on ctr's bridge networks whose addresses it gives.
 */

let t: TestEngine;
let engine: Engine;
let pluginDir: string;
let dataDir: string;
let plugin: TestIpamPlugin;
let block: TestBlock;
let seq = 0;

function fresh(prefix: string): string {
  seq += 1;
  return `${prefix}${process.pid}-${seq}`;
}

beforeAll(async () => {
  t = await testEngine();
  block = reserveTestBlock();
  pluginDir = await mkdtemp(join(tmpdir(), 'ctr-ipamplugins-'));
  dataDir = await mkdtemp(join(tmpdir(), 'ctr-ipamplugin-data-'));
  plugin = await startIpamPlugin(join(pluginDir, 'testipam.sock'), dataDir, block.subnet(1));
  engine = new Engine({ root: t.root, runRoot: t.runRoot, plugins: { legacy: { sockets: [pluginDir], specs: [pluginDir] }, activateTimeoutMs: 0 } });
});

afterEach(async () => {
  for (const c of await engine.ps({ all: true })) await engine.remove(c.Id, { force: true }).catch(() => undefined);
  for (const n of await engine.networks()) if (n.IPAM.Driver === 'testipam') await engine.removeNetwork(n.Id).catch(() => undefined);
});

afterAll(async () => {
  await engine?.close();
  await plugin?.stop();
  await t?.cleanup();
  block?.release();
  await rm(pluginDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

test("network create --ipam-driver takes the plugin's pool in its local address space and a gateway it gives; inspect shows the driver", async () => {
  const name = fresh('ipn');
  const created = await engine.createNetwork({ name, ipamDriver: 'testipam' });
  const [pool] = (await plugin.callsOf('IpamDriver.RequestPool')).slice(-1);
  expect(pool?.body).toEqual({ AddressSpace: 'TestLocal', Pool: '', SubPool: '', Options: {}, V6: false });
  const [gateway] = (await plugin.callsOf('IpamDriver.RequestAddress')).slice(-1);
  expect(gateway?.body).toEqual({ PoolID: `TestLocal/${block.subnet(1)}`, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
  expect((await engine.inspectNetwork(created.Id)).IPAM).toMatchObject({ Driver: 'testipam', Config: [{ Subnet: block.subnet(1), Gateway: `${block.net(1)}.1` }] });
});

test('--subnet, --gateway and --ipam-opt are what the plugin is asked for', async () => {
  const name = fresh('ipn');
  await engine.createNetwork({ name, ipamDriver: 'testipam', subnet: block.subnet(2), gateway: `${block.net(2)}.254`, ipamOptions: { zone: 'a' } });
  const [pool] = (await plugin.callsOf('IpamDriver.RequestPool')).slice(-1);
  expect(pool?.body).toMatchObject({ Pool: block.subnet(2), Options: { zone: 'a' } });
  const [gateway] = (await plugin.callsOf('IpamDriver.RequestAddress')).slice(-1);
  expect(gateway?.body).toMatchObject({ Address: `${block.net(2)}.254` });
  expect((await engine.inspectNetwork(name)).IPAM.Config).toEqual([{ Subnet: block.subnet(2), Gateway: `${block.net(2)}.254` }]);
});

test("a container's address is the plugin's, it has it inside, and its stop gives it back", async () => {
  const name = fresh('ipn');
  await engine.createNetwork({ name, ipamDriver: 'testipam', subnet: block.subnet(3) });
  const { id } = await engine.create({ image: 'busybox', pull: 'never', network: name, cmd: ['sleep', '600'] });
  await engine.start(id);
  const address = (await engine.inspect(id)).NetworkSettings.Networks[name]?.IPAddress;
  expect(address).toBe(`${block.net(3)}.2`);
  const out = collector();
  await engine.exec(id, { cmd: ['ip', '-o', 'addr', 'show', 'eth0'], stdout: out });
  expect(out.text()).toContain(`inet ${address}/24`);

  await engine.stop(id, { timeout: 0 });
  const poolId = `TestLocal/${block.subnet(3)}`;
  expect((await plugin.callsOf('IpamDriver.ReleaseAddress')).map((c) => c.body)).toContainEqual({ PoolID: poolId, Address: address });
});

test('--ip is asked of the plugin, and an address it refuses fails the start in its words', async () => {
  const name = fresh('ipn');
  await engine.createNetwork({ name, ipamDriver: 'testipam', subnet: block.subnet(4) });
  const { id } = await engine.create({ image: 'busybox', pull: 'never', network: name, ip: `${block.net(4)}.1`, cmd: ['true'] });
  await expect(engine.start(id)).rejects.toThrow(`remote: address ${block.net(4)}.1 is not available`);
  expect((await plugin.callsOf('IpamDriver.RequestAddress')).map((c) => c.body)).toContainEqual({ PoolID: `TestLocal/${block.subnet(4)}`, Address: `${block.net(4)}.1`, Options: {} });
});

test("a start whose host port is taken gives the address the plugin gave back", async () => {
  const name = fresh('ipn');
  await engine.createNetwork({ name, ipamDriver: 'testipam', subnet: block.subnet(7) });
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  try {
    const port = (busy.address() as AddressInfo).port;
    const created = await engine.create({ image: 'busybox', pull: 'never', network: name, publish: [`127.0.0.1:${port}:80`], cmd: ['true'] });
    await expect(engine.start(created.id)).rejects.toThrow(boundRefusal(created.name, '127.0.0.1', port));
    expect((await plugin.callsOf('IpamDriver.ReleaseAddress')).map((c) => c.body)).toContainEqual({ PoolID: `TestLocal/${block.subnet(7)}`, Address: `${block.net(7)}.2` });
  } finally {
    busy.close();
  }
});

test('network rm gives the gateway and the pool back', async () => {
  const name = fresh('ipn');
  await engine.createNetwork({ name, ipamDriver: 'testipam', subnet: block.subnet(5) });
  await engine.removeNetwork(name);
  const poolId = `TestLocal/${block.subnet(5)}`;
  expect((await plugin.callsOf('IpamDriver.ReleaseAddress')).map((c) => c.body)).toContainEqual({ PoolID: poolId, Address: `${block.net(5)}.1` });
  expect((await plugin.callsOf('IpamDriver.ReleasePool')).map((c) => c.body)).toContainEqual({ PoolID: poolId });
});

test("an IPAM driver no plugin has is not found, in dockerd's words, and no network is made", async () => {
  const name = fresh('ipn');
  await expect(engine.createNetwork({ name, ipamDriver: 'nosuchipam' })).rejects.toMatchObject({ code: 'NotFound', message: 'could not find plugin nosuchipam in v1 plugin registry: plugin not found' });
  await expect(engine.inspectNetwork(name)).rejects.toMatchObject({ code: 'NotFound' });
});

test("a detached container's exit, seen by its exit command alone, gives its address back to the plugin", async () => {
  const name = fresh('ipn');
  await engine.createNetwork({ name, ipamDriver: 'testipam', subnet: block.subnet(6) });
  // As the ctr command runs: conmon's exit command, with none of this process's plugin settings.
  const handleExit = `new (require(${JSON.stringify(join(__dirname, '..'))}).Engine)({ root: process.argv[1], runRoot: process.argv[2] }).handleExit(process.argv[3])`;
  const daemonless = new Engine({
    root: t.root,
    runRoot: t.runRoot,
    plugins: { legacy: { sockets: [pluginDir], specs: [pluginDir] }, activateTimeoutMs: 0 },
    exitCommand: [process.execPath, '-e', handleExit, t.root, t.runRoot],
  });
  try {
    await daemonless.run({ image: 'busybox', pull: 'never', cmd: ['true'], network: name, detach: true });
    const poolId = `TestLocal/${block.subnet(6)}`;
    const released = await eventually(
      async () => (await plugin.callsOf('IpamDriver.ReleaseAddress')).filter((c) => c.body.PoolID === poolId),
      (calls) => calls.length > 0,
    );
    expect(released.map((c) => c.body)).toEqual([{ PoolID: poolId, Address: `${block.net(6)}.2` }]);
  } finally {
    await daemonless.close();
  }
});
