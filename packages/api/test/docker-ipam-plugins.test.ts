/**
 * The real docker CLI (28.2) with a legacy IPAM plugin through ctrd: `docker network create
 * --ipam-driver PLUGIN`, inspect showing the driver and the plugin's pool, a busybox container
 * with the address the plugin gave, `network rm` giving the pool back, and docker's not found.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIpamPlugin, type TestIpamPlugin } from '../../engine/test/support/ipam-plugin';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { docker, useTestDaemon } from './fixture';

jest.setTimeout(120_000);

const pluginDir = join(tmpdir(), `ctr-docker-ipamplugins-${process.pid}`);
const t = useTestDaemon({ plugins: { legacy: { sockets: [pluginDir], specs: [pluginDir] }, activateTimeoutMs: 0 } });
let dataDir: string;
let plugin: TestIpamPlugin;
let block: TestBlock;

beforeAll(async () => {
  await mkdir(pluginDir, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'ctr-docker-ipamplugin-data-'));
  block = reserveTestBlock();
  plugin = await startIpamPlugin(join(pluginDir, 'dockipam.sock'), dataDir, block.subnet(0));
});

afterAll(async () => {
  // The daemon's cleanup (registered first, so run after this) removes containers and networks while the plugin answers.
  for (const c of await t.daemon.engine.ps({ all: true }).catch(() => [])) await t.daemon.engine.remove(c.Id, { force: true }).catch(() => undefined);
  for (const n of await t.daemon.engine.networks().catch(() => [])) if (n.IPAM.Driver === 'dockipam') await t.daemon.engine.removeNetwork(n.Id).catch(() => undefined);
  await plugin?.stop();
  block?.release();
  await rm(pluginDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

test("docker network create --ipam-driver PLUGIN: the plugin's pool and gateway, its address in a container, the pool back at rm", async () => {
  expect((await docker(t.env, ['network', 'create', '--ipam-driver', 'dockipam', 'dip-made'])).code).toBe(0);
  expect((await docker(t.env, ['network', 'inspect', '-f', '{{.IPAM.Driver}} {{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}}', 'dip-made'])).stdout).toBe(
    `dockipam ${block.subnet(0)} ${block.net(0)}.1\n`,
  );
  expect(await docker(t.env, ['run', '--rm', '--network', 'dip-made', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0'])).toMatchObject({ code: 0, stdout: expect.stringContaining(`inet ${block.net(0)}.2/24`) });
  expect(await docker(t.env, ['network', 'rm', 'dip-made'])).toMatchObject({ code: 0, stdout: 'dip-made\n' });
  expect((await plugin.callsOf('IpamDriver.ReleasePool')).map((c) => c.body)).toEqual([{ PoolID: `TestLocal/${block.subnet(0)}` }]);
});

test("an IPAM driver no plugin has is docker's not found", async () => {
  expect(await docker(t.env, ['network', 'create', '--ipam-driver', 'nosuchipam', 'dip-x'])).toMatchObject({
    code: 1,
    stderr: 'Error response from daemon: could not find plugin nosuchipam in v1 plugin registry: plugin not found\n',
  });
});
