import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVolumePlugin, type TestVolumePlugin } from '../../engine/test/support/volume-plugin';
import { ctrOn, eventually, importBusybox, removeCtrRoot, type CtrOn, type CtrResult } from './local-ctr';

/**
 * The ctr command with a legacy volume plugin (the engine's test plugin) found through
 * `$CTR_PLUGINS_DIR`, as the ctr command would find one in /run/docker/plugins.
 */
describe('volume plugins through the ctr command (real runc, conmon, overlayfs)', () => {
  let on: CtrOn;
  let pluginDir: string;
  let dataDir: string;
  let plugin: TestVolumePlugin;
  const ctr = (...args: string[]): Promise<CtrResult> => on.runWith({ env: { ...process.env, CTR_PLUGINS_DIR: pluginDir } }, ...args);

  beforeAll(async () => {
    on = ctrOn(await mkdtemp(join(tmpdir(), 'ctr-cli-plugins-')), await mkdtemp(join(tmpdir(), 'ctr-cli-plugins-run-')));
    pluginDir = await mkdtemp(join(tmpdir(), 'ctr-cli-plugin-dir-'));
    dataDir = await mkdtemp(join(tmpdir(), 'ctr-cli-plugin-data-'));
    plugin = await startVolumePlugin(join(pluginDir, 'cliplug.sock'), dataDir);
    expect((await importBusybox(on)).code).toBe(0);
  });

  afterAll(async () => {
    await removeCtrRoot(on);
    await plugin?.stop();
    await rm(pluginDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  test("volume create -d/--driver gives the plugin's Create the name and the -o/--opt options", async () => {
    expect(await ctr('volume', 'create', '-d', 'cliplug', '-o', 'a=1', '--opt', 'b=2', 'cli-made')).toMatchObject({ code: 0, stdout: 'cli-made\n' });
    expect(await plugin.callsOf('VolumeDriver.Create')).toContainEqual({ method: 'VolumeDriver.Create', body: { Name: 'cli-made', Opts: { a: '1', b: '2' } } });
  });

  test('volume ls shows a plugin volume with the plugin as its DRIVER', async () => {
    await ctr('volume', 'create', '--driver', 'cliplug', 'cli-listed');
    expect((await ctr('volume', 'ls')).stdout).toMatch(/\ncliplug\s+cli-listed\n/);
  });

  test("volume inspect shows the plugin's driver and mountpoint", async () => {
    await ctr('volume', 'create', '-d', 'cliplug', 'cli-inspected');
    expect((await ctr('volume', 'inspect', '--format', '{{.Driver}} {{.Mountpoint}}', 'cli-inspected')).stdout).toBe(`cliplug ${join(dataDir, 'volumes', 'cli-inspected')}\n`);
  });

  test('run -v writes to a plugin volume what a run with --mount volume-driver= reads', async () => {
    await ctr('volume', 'create', '-d', 'cliplug', 'cli-shared');
    expect((await ctr('run', '--rm', '--network', 'none', '-v', 'cli-shared:/data', 'busybox', 'sh', '-c', 'echo via-cli > /data/f')).code).toBe(0);
    const read = await ctr('run', '--rm', '--network', 'none', '--mount', 'type=volume,source=cli-shared,target=/d,volume-driver=cliplug', 'busybox', 'cat', '/d/f');
    expect(read).toMatchObject({ code: 0, stdout: 'via-cli\n' });
  });

  test('run --volume-driver makes the missing -v volume through the plugin', async () => {
    expect((await ctr('run', '--rm', '--network', 'none', '--volume-driver', 'cliplug', '-v', 'cli-implicit:/data', 'busybox', 'true')).code).toBe(0);
    expect((await ctr('volume', 'inspect', '--format', '{{.Driver}}', 'cli-implicit')).stdout).toBe('cliplug\n');
  });

  test("a detached container's exit unmounts its plugin volume, through conmon's exit command", async () => {
    await ctr('volume', 'create', '-d', 'cliplug', 'cli-detached');
    const started = await ctr('run', '-d', '--network', 'none', '-v', 'cli-detached:/data', 'busybox', 'true');
    const id = started.stdout.trim();
    const unmounted = async (): Promise<boolean> => (await plugin.callsOf('VolumeDriver.Unmount')).some((c) => c.body.ID === id);
    expect(await eventually(unmounted)).toBe(true);
  });

  test("a Mount the plugin refuses fails run with dockerd's words and status 125", async () => {
    await ctr('volume', 'create', '-d', 'cliplug', '-o', 'fail-mount=no backend', 'cli-refused');
    const result = await ctr('run', '--network', 'none', '-v', 'cli-refused:/data', 'busybox', 'true');
    expect(result.code).toBe(125);
    expect(result.stderr).toContain("error while mounting volume 'cli-refused': no backend");
  });

  test('volume create -d and rm of a volume named user@host:/path, which only a plugin may have', async () => {
    expect(await ctr('volume', 'create', '-d', 'cliplug', 'me@host:/cli')).toMatchObject({ code: 0, stdout: 'me@host:/cli\n' });
    expect((await ctr('volume', 'inspect', '--format', '{{.Driver}}', 'me@host:/cli')).stdout).toBe('cliplug\n');
    expect(await ctr('volume', 'rm', 'me@host:/cli')).toMatchObject({ code: 0, stdout: 'me@host:/cli\n' });
  });

  test('run --mount mounts a plugin volume named user@host:/path', async () => {
    await ctr('volume', 'create', '-d', 'cliplug', 'me@host:/mounted');
    const written = await ctr('run', '--rm', '--network', 'none', '--mount', 'type=volume,source=me@host:/mounted,target=/d', 'busybox', 'sh', '-c', 'echo at > /d/f && cat /d/f');
    expect(written).toMatchObject({ code: 0, stdout: 'at\n' });
  });

  test("a new plugin volume mounted over an image directory is filled from the image", async () => {
    expect((await ctr('run', '--rm', '--network', 'none', '--volume-driver', 'cliplug', '-v', 'cli-filled:/etc', 'busybox', 'head', '-c', '5', '/etc/passwd')).stdout).toBe('root:');
  });

  test("inspect shows the plugin's path as the Source of a plugin volume", async () => {
    await ctr('volume', 'create', '-d', 'cliplug', 'cli-source');
    const id = (await ctr('create', '--network', 'none', '-v', 'cli-source:/data', 'busybox', 'true')).stdout.trim();
    expect((await ctr('inspect', '--format', '{{range .Mounts}}{{.Source}}{{end}}', id)).stdout).toBe(`${join(dataDir, 'volumes', 'cli-source')}\n`);
  });

  test("volume rm calls the plugin's Remove, and the plugin's data goes", async () => {
    await ctr('volume', 'create', '-d', 'cliplug', 'cli-removed');
    expect(await ctr('volume', 'rm', 'cli-removed')).toMatchObject({ code: 0, stdout: 'cli-removed\n' });
    await expect(readFile(join(dataDir, 'meta', 'cli-removed.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
