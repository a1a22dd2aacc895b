/**
 * The real docker CLI (28.2) with a legacy network plugin through ctrd: `docker network create
 * -d PLUGIN`, ls and inspect showing the driver, busybox containers on the plugin's network
 * reaching each other through the interfaces it made, `network rm` and docker's not found.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNetworkPlugin, type TestNetworkPlugin } from '../../engine/test/support/network-plugin';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { docker, useTestDaemon } from './fixture';

jest.setTimeout(120_000);

const pluginDir = join(tmpdir(), `ctr-docker-netplugins-${process.pid}`);
const t = useTestDaemon({ plugins: { legacy: { sockets: [pluginDir], specs: [pluginDir] }, activateTimeoutMs: 0 } });
let dataDir: string;
let plugin: TestNetworkPlugin;
let block: TestBlock;

beforeAll(async () => {
  await mkdir(pluginDir, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'ctr-docker-netplugin-data-'));
  plugin = await startNetworkPlugin(join(pluginDir, 'dockernet.sock'), dataDir);
  block = reserveTestBlock();
});

afterAll(async () => {
  // The daemon's cleanup (registered first, so run after this) removes containers and networks while the plugin answers.
  for (const c of await t.daemon.engine.ps({ all: true }).catch(() => [])) await t.daemon.engine.remove(c.Id, { force: true }).catch(() => undefined);
  for (const n of await t.daemon.engine.networks().catch(() => [])) if (n.Driver === 'dockernet') await t.daemon.engine.removeNetwork(n.Id).catch(() => undefined);
  await plugin?.stop();
  block?.release();
  await rm(pluginDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
  expect(plugin ? plugin.links() : []).toEqual([]);
});

test('docker network create -d PLUGIN: ls shows the plugin as DRIVER, inspect its Driver and Options', async () => {
  expect((await docker(t.env, ['network', 'create', '-d', 'dockernet', '--subnet', block.subnet(0), '-o', 'color=green', 'dnp-made'])).code).toBe(0);
  expect((await docker(t.env, ['network', 'ls', '--filter', 'name=dnp-made', '--format', '{{.Name}} {{.Driver}} {{.Scope}}'])).stdout).toBe('dnp-made dockernet local\n');
  expect((await docker(t.env, ['network', 'inspect', '-f', '{{.Driver}} {{json .Options}}', 'dnp-made'])).stdout).toBe('dockernet {"color":"green"}\n');
  expect(await docker(t.env, ['network', 'rm', 'dnp-made'])).toMatchObject({ code: 0, stdout: 'dnp-made\n' });
  expect((await plugin.callsOf('NetworkDriver.DeleteNetwork')).length).toBe(1);
});

test("busybox containers on the plugin's network ping each other", async () => {
  await docker(t.env, ['network', 'create', '-d', 'dockernet', '--subnet', block.subnet(1), 'dnp-ping']);
  expect((await docker(t.env, ['run', '-d', '--name', 'dnp-a', '--network', 'dnp-ping', 'busybox', 'sleep', '600'])).code).toBe(0);
  const ip = (await docker(t.env, ['inspect', '-f', '{{(index .NetworkSettings.Networks "dnp-ping").IPAddress}}', 'dnp-a'])).stdout.trim();
  expect(ip.startsWith(block.net(1))).toBe(true);
  expect(await docker(t.env, ['run', '--rm', '--network', 'dnp-ping', 'busybox', 'ping', '-c', '1', '-W', '5', ip])).toMatchObject({ code: 0 });
  expect(await docker(t.env, ['rm', '-f', 'dnp-a'])).toMatchObject({ code: 0 });
  expect(await docker(t.env, ['network', 'rm', 'dnp-ping'])).toMatchObject({ code: 0 });
});

test("a driver no plugin has is docker's not found", async () => {
  expect(await docker(t.env, ['network', 'create', '-d', 'nosuchnet', 'dnp-x'])).toMatchObject({
    code: 1,
    stderr: 'Error response from daemon: could not find plugin nosuchnet in v1 plugin registry: plugin not found\n',
  });
});
