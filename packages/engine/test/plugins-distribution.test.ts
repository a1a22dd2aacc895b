/**
 * Managed plugins through registries, as moby distributes them: `plugin push` sends a created
 * plugin as an image manifest whose config is the plugin's (application/vnd.docker.plugin.v1+json)
 * and whose layer is its rootfs; `install` (privileges, pull, enable) brings it back, `upgrade`
 * replaces a disabled plugin's rootfs and config. Against ctr's registry server and the Debian
 * docker-registry, both on 127.0.0.1; the plugin runs under real runc and conmon.
 */
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine, tarTree } from '@ctr/engine';
import type { Digest } from '@ctr/image';
import { startBothRegistries, type BothRegistries } from '../../registry/test/support/both-registries';
import { killPlugins, pluginCall, writePluginDir } from './support/managed-plugin';

jest.setTimeout(180_000);

let root: string;
let runRoot: string;
let engine: Engine;
let servers: BothRegistries;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ctr-plugin-dist-'));
  runRoot = await mkdtemp(path.join(tmpdir(), 'ctr-plugin-dist-run-'));
  engine = new Engine({ root, runRoot });
  servers = await startBothRegistries('ctr-plugin-dist-work-');
});

afterAll(async () => {
  if (runRoot) killPlugins(runRoot);
  await engine?.close();
  await servers?.close();
  await fs.rm(root, { recursive: true, force: true, maxRetries: 5 });
  await fs.rm(runRoot, { recursive: true, force: true, maxRetries: 5 });
});

afterEach(async () => {
  for (const p of await engine.listPlugins()) await engine.removePlugin(p.Id, { force: true });
});

let dirs = 0;
async function create(name: string, config: Record<string, unknown> = {}): Promise<void> {
  const dir = await writePluginDir(path.join(servers.work, `plugin-${++dirs}`), config);
  await engine.createPlugin(name, tarTree(dir, ''));
}

const registries: [string, () => string][] = [
  ["ctr's registry server", () => servers.ctrRegistry.host],
  ['the Debian docker-registry', () => servers.distribution.host],
];

describe.each(registries)('against %s', (_name, host) => {
  test('a pushed plugin is a manifest of the plugin config media type and one gzipped rootfs layer', async () => {
    const name = `${host()}/plugins/shape:1.0`;
    await create(name);
    const pushed = await engine.pushPlugin(name);
    expect(pushed).toMatchObject({ tag: '1.0', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    const fetched = await servers.registryClient.fetchManifest(name);
    expect(fetched.descriptor.digest).toBe(pushed.digest);
    const manifest = JSON.parse(fetched.bytes.toString('utf8')) as { mediaType: string; config: { mediaType: string; digest: string }; layers: { mediaType: string }[] };
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(manifest.config.mediaType).toBe('application/vnd.docker.plugin.v1+json');
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(['application/vnd.docker.image.rootfs.diff.tar.gzip']);
    const config = JSON.parse((await servers.registryClient.fetchSmallBlob(name, manifest.config.digest as Digest)).toString('utf8')) as { Description: string; rootfs: { diff_ids: string[] } };
    expect(config.Description).toBe('A test plugin that answers Plugin.Activate');
    expect(config.rootfs.diff_ids).toHaveLength(1);
  });

  test('a plugin pushed, removed and installed back from the registry is enabled and answers Plugin.Activate', async () => {
    const name = `${host()}/plugins/roundtrip:latest`;
    await create(name);
    await engine.pushPlugin(name);
    await engine.removePlugin(name);

    const privileges = await engine.pluginPrivileges(name);
    expect(privileges).toEqual([
      { Name: 'network', Description: 'permissions to access a network', Value: ['none'] },
      { Name: 'mount', Description: 'host path to mount', Value: ['/usr'] },
      { Name: 'mount', Description: 'host path to mount', Value: ['/lib'] },
      { Name: 'mount', Description: 'host path to mount', Value: ['/lib64'] },
    ]);
    const pulled = await engine.pullPlugin(name, { privileges });
    expect(pulled).toMatchObject({ Name: name, Enabled: false, PluginReference: name });
    await engine.enablePlugin(name);
    const plugin = await engine.inspectPlugin(name);
    expect(plugin.Enabled).toBe(true);
    expect(await pluginCall(path.join(runRoot, 'plugins', plugin.Id.slice(0, 12), 'test.sock'), 'Plugin.Activate')).toEqual({ status: 200, body: { Implements: ['VolumeDriver'] } });
  });

  test('an alias names the installed plugin; the reference it came from is kept', async () => {
    const remote = `${host()}/plugins/aliased:latest`;
    await create(remote);
    await engine.pushPlugin(remote);
    await engine.removePlugin(remote);
    const pulled = await engine.pullPlugin(remote, { name: 'local/alias', privileges: await engine.pluginPrivileges(remote) });
    expect(pulled).toMatchObject({ Name: 'local/alias:latest', PluginReference: remote });
  });

  test('a plugin pulled by digest without an alias is named by its repository and tag, as dockerd names it', async () => {
    const remote = `${host()}/plugins/pinned:2.0`;
    await create(remote);
    const pushed = await engine.pushPlugin(remote);
    await engine.removePlugin(remote);
    const pinned = `${remote}@${pushed.digest}`;
    const pulled = await engine.pullPlugin(pinned, { privileges: await engine.pluginPrivileges(pinned) });
    expect(pulled).toMatchObject({ Name: remote, PluginReference: pinned });
  });

  test('privileges other than those the config asks for are refused, and no plugin is made', async () => {
    const name = `${host()}/plugins/refused:latest`;
    await create(name);
    await engine.pushPlugin(name);
    await engine.removePlugin(name);
    await expect(engine.pullPlugin(name, { privileges: [] })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'incorrect privileges' });
    const fewer = (await engine.pluginPrivileges(name)).slice(1);
    await expect(engine.pullPlugin(name, { privileges: fewer })).rejects.toMatchObject({ message: 'incorrect privileges' });
    expect(await engine.listPlugins()).toEqual([]);
  });

  test('upgrade replaces a disabled plugin\'s rootfs and config with the remote\'s, keeping its ID and settings', async () => {
    const settable = { env: [{ name: 'GREETING', description: 'what to say', settable: ['value'], value: 'hello' }] };
    const v1 = `${host()}/plugins/upgraded:1`;
    const v2 = `${host()}/plugins/upgraded:2`;
    await create(v1, settable);
    await engine.pushPlugin(v1);
    await engine.removePlugin(v1);
    await create(v2, { ...settable, description: 'the second version' });
    await engine.pushPlugin(v2);
    await engine.removePlugin(v2);

    const installed = await engine.pullPlugin(v1, { name: 'up', privileges: await engine.pluginPrivileges(v1) });
    await engine.setPlugin('up', ['GREETING=hi']);
    const upgraded = await engine.upgradePlugin('up', v2, { privileges: await engine.pluginPrivileges(v2) });
    expect(upgraded).toMatchObject({ Id: installed.Id, Name: 'up:latest', PluginReference: v2, Config: { Description: 'the second version' }, Settings: { Env: ['GREETING=hi'] } });
    expect(await engine.inspectPlugin('up')).toEqual(upgraded);
    await engine.enablePlugin('up');
    const info = await pluginCall(path.join(runRoot, 'plugins', installed.Id.slice(0, 12), 'test.sock'), 'Test.Info');
    expect((info.body.env as Record<string, string>).GREETING).toBe('hi');
  });

  test('an enabled plugin is not upgraded', async () => {
    const name = `${host()}/plugins/busy:latest`;
    await create(name);
    await engine.pushPlugin(name);
    await engine.enablePlugin(name);
    await expect(engine.upgradePlugin(name, name, { privileges: await engine.pluginPrivileges(name) })).rejects.toMatchObject({
      code: 'Conflict',
      message: `plugin must be disabled before upgrading: plugin ${name} is enabled`,
    });
  });

  test('an image is not a plugin: its pull is refused before any layer is fetched', async () => {
    const image = `${host()}/plugins/just-an-image:latest`;
    await engine.importBusybox();
    await engine.tag('busybox', image);
    await engine.push(image);
    await expect(engine.pluginPrivileges(image)).rejects.toMatchObject({ code: 'InvalidArgument', message: 'content is not a plugin' });
    const seen: string[] = [];
    await expect(engine.pullPlugin(image, { privileges: [], onProgress: (e) => seen.push(e.status) })).rejects.toMatchObject({ message: 'content is not a plugin' });
    expect(seen).toEqual([]);
    expect(await engine.listPlugins()).toEqual([]);
  });
});

test('removing a plugin frees the blobs no other plugin uses', async () => {
  await create('test/freed');
  const blobs = path.join(root, 'plugins', 'storage', 'blobs', 'sha256');
  expect((await fs.readdir(blobs)).length).toBe(3);
  await engine.removePlugin('test/freed');
  expect(await fs.readdir(blobs)).toEqual([]);
});

test('of two creates racing for one name, the refused one leaves no blobs behind', async () => {
  const blobs = path.join(root, 'plugins', 'storage', 'blobs', 'sha256');
  // Different configs, so each create stores blobs of its own; both pass the first name check.
  const dirA = await writePluginDir(path.join(servers.work, `plugin-${++dirs}`), { Description: 'a' });
  const dirB = await writePluginDir(path.join(servers.work, `plugin-${++dirs}`), { Description: 'b' });
  const results = await Promise.allSettled([engine.createPlugin('test/raced', tarTree(dirA, '')), engine.createPlugin('test/raced', tarTree(dirB, ''))]);
  expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'Conflict' } });
  // The winner's manifest, config and layer, nothing of the loser's.
  expect((await fs.readdir(blobs)).length).toBe(3);
  await engine.removePlugin('test/raced');
  expect(await fs.readdir(blobs)).toEqual([]);
});

test('docker info lists an enabled managed volume plugin among the volume drivers', async () => {
  await create('test/info');
  expect((await engine.info()).Plugins.Volume).toEqual(['local']);
  await engine.enablePlugin('test/info');
  expect((await engine.info()).Plugins).toMatchObject({ Volume: ['local', 'test/info:latest'], Network: ['bridge', 'host', 'null'], Log: ['fluentd', 'gelf', 'json-file', 'local', 'syslog'] });
});
