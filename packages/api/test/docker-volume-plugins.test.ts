import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVolumePlugin, type TestVolumePlugin } from '../../engine/test/support/volume-plugin';
import { docker, useTestDaemon, type Run } from './fixture';

/** The real docker CLI against ctrd, with a legacy volume plugin (the engine's test plugin) in the daemon's plugin directory. */
const pluginDir = mkdtempSync(join(tmpdir(), 'ctr-api-plugins-'));
const dataDir = mkdtempSync(join(tmpdir(), 'ctr-api-plugin-data-'));
const t = useTestDaemon({ plugins: { legacy: { sockets: [pluginDir], specs: [pluginDir] }, activateTimeoutMs: 0 } });
let plugin: TestVolumePlugin;

beforeAll(async () => {
  plugin = await startVolumePlugin(join(pluginDir, 'apiplug.sock'), dataDir);
});
afterAll(async () => {
  for (const c of await t.daemon.engine.ps({ all: true }).catch(() => [])) await t.daemon.engine.remove(c.Id, { force: true }).catch(() => undefined);
  for (const v of await t.daemon.engine.volumes().catch(() => [])) await t.daemon.engine.removeVolume(v.Name, { force: true }).catch(() => undefined);
  await plugin?.stop();
  await rm(pluginDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

function runSh(args: string[], script: string): Promise<Run> {
  return docker(t.env, ['run', '--rm', '--network', 'none', ...args, 'busybox', 'sh', '-c', script]);
}

test("docker volume create -d gives the plugin's Create the name and -o options", async () => {
  expect(await docker(t.env, ['volume', 'create', '-d', 'apiplug', '-o', 'size=1g', 'api-made'])).toMatchObject({ code: 0, stdout: 'api-made\n' });
  expect(await plugin.callsOf('VolumeDriver.Create')).toContainEqual({ method: 'VolumeDriver.Create', body: { Name: 'api-made', Opts: { size: '1g' } } });
});

test('docker volume ls shows a plugin volume with the plugin as its DRIVER', async () => {
  await docker(t.env, ['volume', 'create', '-d', 'apiplug', 'api-listed']);
  const listed = await docker(t.env, ['volume', 'ls', '--format', '{{.Driver}} {{.Name}}']);
  expect(listed.stdout.split('\n')).toContain('apiplug api-listed');
});

test("docker volume inspect shows the plugin's driver, mountpoint and scope", async () => {
  await docker(t.env, ['volume', 'create', '-d', 'apiplug', 'api-inspected']);
  const shown = await docker(t.env, ['volume', 'inspect', '-f', '{{.Driver}} {{.Mountpoint}} {{.Scope}}', 'api-inspected']);
  expect(shown.stdout).toBe(`apiplug ${join(dataDir, 'volumes', 'api-inspected')} local\n`);
});

test('docker run -v of a plugin volume writes where another docker run reads', async () => {
  await docker(t.env, ['volume', 'create', '-d', 'apiplug', 'api-shared']);
  expect((await runSh(['-v', 'api-shared:/data'], 'echo from-api > /data/f')).code).toBe(0);
  expect(await runSh(['-v', 'api-shared:/data'], 'cat /data/f')).toMatchObject({ code: 0, stdout: 'from-api\n' });
  expect(await readFile(join(dataDir, 'volumes', 'api-shared', 'f'), 'utf8')).toBe('from-api\n');
});

test('docker run --volume-driver makes the missing -v volume through the plugin', async () => {
  expect((await runSh(['--volume-driver', 'apiplug', '-v', 'api-implicit:/data'], 'true')).code).toBe(0);
  expect((await docker(t.env, ['volume', 'inspect', '-f', '{{.Driver}}', 'api-implicit'])).stdout).toBe('apiplug\n');
});

test('docker run --mount volume-driver= mounts the volume the plugin makes', async () => {
  expect(await runSh(['--mount', 'type=volume,src=api-mounted,dst=/d,volume-driver=apiplug,volume-opt=k=v'], 'echo m > /d/f && cat /d/f')).toMatchObject({ code: 0, stdout: 'm\n' });
  expect(await plugin.callsOf('VolumeDriver.Create')).toContainEqual({ method: 'VolumeDriver.Create', body: { Name: 'api-mounted', Opts: { k: 'v' } } });
});

test('docker volume create -d with a driver no plugin answers to fails in dockerd\'s words', async () => {
  const result = await docker(t.env, ['volume', 'create', '-d', 'nosuch', 'api-none']);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('Error response from daemon: create api-none: error looking up volume plugin nosuch: plugin "nosuch" not found');
});

test("docker volume rm calls the plugin's Remove", async () => {
  await docker(t.env, ['volume', 'create', '-d', 'apiplug', 'api-removed']);
  expect(await docker(t.env, ['volume', 'rm', 'api-removed'])).toMatchObject({ code: 0, stdout: 'api-removed\n' });
  expect(await plugin.callsOf('VolumeDriver.Remove')).toContainEqual({ method: 'VolumeDriver.Remove', body: { Name: 'api-removed' } });
});

test("docker volume create -d, inspect and rm of a volume named user@host:/path, a name only a plugin may have", async () => {
  expect(await docker(t.env, ['volume', 'create', '-d', 'apiplug', 'me@host:/srv'])).toMatchObject({ code: 0, stdout: 'me@host:/srv\n' });
  expect((await docker(t.env, ['volume', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'me@host:/srv'])).stdout).toBe('me@host:/srv apiplug\n');
  expect(await docker(t.env, ['volume', 'rm', 'me@host:/srv'])).toMatchObject({ code: 0, stdout: 'me@host:/srv\n' });
});

test('docker run --mount of a plugin volume named user@host:/path makes it and mounts it', async () => {
  expect(await runSh(['--mount', 'type=volume,src=me@host:/run,dst=/d,volume-driver=apiplug'], 'echo c > /d/f && cat /d/f')).toMatchObject({ code: 0, stdout: 'c\n' });
});

test('docker run -v of a plugin volume named with a slash writes into it', async () => {
  expect((await runSh(['--volume-driver', 'apiplug', '-v', 'team/api:/data'], 'echo s > /data/f')).code).toBe(0);
  const mountpoint = (await docker(t.env, ['volume', 'inspect', '-f', '{{.Mountpoint}}', 'team/api'])).stdout.trim();
  expect(await readFile(join(mountpoint, 'f'), 'utf8')).toBe('s\n');
});

test("docker inspect shows the plugin's path as the Source of a plugin volume", async () => {
  await docker(t.env, ['volume', 'create', '-d', 'apiplug', 'api-source']);
  const created = await docker(t.env, ['create', '--network', 'none', '-v', 'api-source:/data', 'busybox', 'true']);
  const shown = await docker(t.env, ['inspect', '-f', '{{range .Mounts}}{{.Source}}{{end}}', created.stdout.trim()]);
  expect(shown.stdout).toBe(`${join(dataDir, 'volumes', 'api-source')}\n`);
});
