import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNetworkPlugin, type TestNetworkPlugin } from '../../engine/test/support/network-plugin';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { ctrOn, importBusybox, removeCtrRoot, type CtrOn, type CtrResult } from './local-ctr';

/**
 * The ctr command with a legacy network plugin (the engine's test plugin) found through
 * `$CTR_PLUGINS_DIR`: each command a process of its own, the exit of a `--rm` run seen by conmon's
 * exit command, which leaves and deletes the endpoint too.
 */
describe('network plugins through the ctr command (real runc, conmon, busybox)', () => {
  let on: CtrOn;
  let pluginDir: string;
  let dataDir: string;
  let plugin: TestNetworkPlugin;
  let block: TestBlock;
  const ctr = (...args: string[]): Promise<CtrResult> => on.runWith({ env: { ...process.env, CTR_PLUGINS_DIR: pluginDir } }, ...args);

  beforeAll(async () => {
    on = ctrOn(await mkdtemp(join(tmpdir(), 'ctr-cli-netplugins-')), await mkdtemp(join(tmpdir(), 'ctr-cli-netplugins-run-')));
    pluginDir = await mkdtemp(join(tmpdir(), 'ctr-cli-netplugin-dir-'));
    dataDir = await mkdtemp(join(tmpdir(), 'ctr-cli-netplugin-data-'));
    plugin = await startNetworkPlugin(join(pluginDir, 'clinet.sock'), dataDir);
    block = reserveTestBlock();
    expect((await importBusybox(on)).code).toBe(0);
  });

  afterAll(async () => {
    await ctr('rm', '-f', 'cnp-a').catch(() => undefined);
    await ctr('network', 'rm', 'cnp-net').catch(() => undefined);
    await removeCtrRoot(on);
    await plugin?.stop();
    block?.release();
    await rm(pluginDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
    expect(plugin ? plugin.links() : []).toEqual([]);
  });

  test('network create -d, ls, run on it, ping between containers, rm: the plugin is called and its links go', async () => {
    const linksBefore = plugin.links();
    expect((await ctr('network', 'create', '-d', 'clinet', '--subnet', block.subnet(0), 'cnp-net')).code).toBe(0);
    expect((await ctr('network', 'ls', '--filter', 'driver=clinet', '--format', '{{.Name}} {{.Driver}}')).stdout).toBe('cnp-net clinet\n');
    expect((await ctr('run', '-d', '--pull', 'never', '--name', 'cnp-a', '--network', 'cnp-net', 'busybox', 'sleep', '600')).code).toBe(0);
    const ip = (await ctr('inspect', '-f', '{{(index .NetworkSettings.Networks "cnp-net").IPAddress}}', 'cnp-a')).stdout.trim();
    expect(await ctr('run', '--rm', '--pull', 'never', '--network', 'cnp-net', 'busybox', 'ping', '-c', '1', '-W', '5', ip)).toMatchObject({ code: 0 });
    expect((await plugin.callsOf('NetworkDriver.Leave')).length).toBe(1);
    expect((await ctr('rm', '-f', 'cnp-a')).code).toBe(0);
    expect(await ctr('network', 'rm', 'cnp-net')).toMatchObject({ code: 0 });
    expect((await plugin.callsOf('NetworkDriver.DeleteEndpoint')).length).toBe(2);
    expect(plugin.links()).toEqual(linksBefore);
  });
});
