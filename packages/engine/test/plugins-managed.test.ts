/**
 * Docker's managed plugins through the engine: `plugin create` from a directory (config.json +
 * rootfs/), ls / inspect, set, enable (runc under conmon, the socket answering Plugin.Activate),
 * disable, rm, and dockerd's refusals in its words. Real runc and conmon; the plugin is node
 * (the host's, mounted read-only by the plugin's config) running a small protocol server.
 */
import { existsSync, promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine, tarTree } from '@ctr/engine';
import { killPlugins, mountsContaining, pluginCall, pluginPid, processRuns, writePluginDir } from './support/managed-plugin';

jest.setTimeout(120_000);

let root: string;
let runRoot: string;
let work: string;
let engine: Engine;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ctr-plugins-'));
  runRoot = await mkdtemp(path.join(tmpdir(), 'ctr-plugins-run-'));
  work = await mkdtemp(path.join(tmpdir(), 'ctr-plugins-work-'));
  engine = new Engine({ root, runRoot });
});

afterAll(async () => {
  killPlugins(runRoot);
  await engine?.close();
  await fs.rm(root, { recursive: true, force: true, maxRetries: 5 });
  await fs.rm(runRoot, { recursive: true, force: true, maxRetries: 5 });
  await fs.rm(work, { recursive: true, force: true });
});

let dirs = 0;
async function pluginDir(config: Record<string, unknown> = {}): Promise<string> {
  return writePluginDir(path.join(work, `plugin-${++dirs}`), config);
}

async function create(name: string, config: Record<string, unknown> = {}): Promise<void> {
  await engine.createPlugin(name, tarTree(await pluginDir(config), ''));
}

function socketOf(id: string, socket = 'test.sock'): string {
  return path.join(runRoot, 'plugins', id.slice(0, 12), socket);
}

/** A plugin whose mount, env and args `plugin set` may change. */
const SETTABLE = {
  entrypoint: ['/usr/bin/node', '/plugin/server.js', 'test.sock', 'VolumeDriver'],
  env: [{ name: 'GREETING', description: 'what to say', settable: ['value'], value: 'hello' }],
  args: { name: 'extra', description: 'more arguments', settable: ['value'], value: ['one'] },
  mounts: [
    { source: '/usr', destination: '/usr', type: 'bind', options: ['rbind', 'ro'] },
    { source: '/lib', destination: '/lib', type: 'bind', options: ['rbind', 'ro'] },
    { source: '/lib64', destination: '/lib64', type: 'bind', options: ['rbind', 'ro'] },
    { name: 'data', description: 'where the data is', settable: ['source'], destination: '/data', type: 'bind', options: ['rbind', 'ro'] },
  ],
};

describe('create, ls and inspect', () => {
  afterAll(async () => {
    for (const p of await engine.listPlugins()) await engine.removePlugin(p.Id, { force: true });
  });

  test('a plugin created from a directory is listed disabled, named with its tag', async () => {
    await create('test/listed');
    const [plugin] = await engine.listPlugins();
    expect(plugin).toMatchObject({ Name: 'test/listed:latest', Enabled: false, PluginReference: 'test/listed:latest' });
    expect(plugin?.Id).toMatch(/^[0-9a-f]{64}$/);
  });

  test('inspect by name, full ID or ID prefix shows the config as dockerd reads it and the settings it starts with', async () => {
    const { Id } = await engine.inspectPlugin('test/listed');
    for (const ref of ['test/listed:latest', Id, Id.slice(0, 12)]) {
      const plugin = await engine.inspectPlugin(ref);
      expect(plugin.Id).toBe(Id);
      expect(plugin.Config).toMatchObject({
        Description: 'A test plugin that answers Plugin.Activate',
        Entrypoint: ['/usr/bin/node', '/plugin/server.js', 'test.sock', 'VolumeDriver'],
        Interface: { Socket: 'test.sock', Types: ['docker.volumedriver/1.0'] },
        Network: { Type: 'none' },
        rootfs: { type: 'layers' },
      });
      expect(plugin.Config.rootfs?.diff_ids[0]).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(plugin.Settings.Mounts.map((m) => m.Destination)).toEqual(['/usr', '/lib', '/lib64']);
    }
  });

  test('a second plugin of the same name is refused in dockerd\'s words', async () => {
    await expect(create('test/listed:latest')).rejects.toMatchObject({ code: 'Conflict', message: 'plugin test/listed:latest already exists' });
  });

  test('a config.json that does not decode is refused and leaves no plugin', async () => {
    const dir = await pluginDir();
    await fs.writeFile(path.join(dir, 'config.json'), '{"entrypoint": "not a list"}');
    await expect(engine.createPlugin('test/bad', tarTree(dir, ''))).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: expect.stringMatching(/^failed to parse config: json: cannot unmarshal string into Go struct field PluginConfig.Entrypoint of type \[\]string/),
    });
    await expect(engine.inspectPlugin('test/bad')).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('a directory without config.json is refused', async () => {
    const dir = await pluginDir();
    await fs.rm(path.join(dir, 'config.json'));
    await expect(engine.createPlugin('test/noconfig', tarTree(dir, ''))).rejects.toMatchObject({ code: 'InvalidArgument', message: 'config not found' });
  });

  test('a config.json that is a link is refused, not read from the host file it names', async () => {
    const dir = await pluginDir();
    const hostFile = path.join(path.dirname(dir), `host-config-${path.basename(dir)}.json`);
    await fs.rename(path.join(dir, 'config.json'), hostFile);
    await fs.symlink(hostFile, path.join(dir, 'config.json'));
    await expect(engine.createPlugin('test/linked', tarTree(dir, ''))).rejects.toMatchObject({ code: 'InvalidArgument', message: 'config not found' });
    await expect(engine.inspectPlugin('test/linked')).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('an unknown plugin is NotFound for every verb', async () => {
    const words = { code: 'NotFound', message: 'plugin "nope" not found' };
    await expect(engine.inspectPlugin('nope')).rejects.toMatchObject(words);
    await expect(engine.enablePlugin('nope')).rejects.toMatchObject(words);
    await expect(engine.disablePlugin('nope')).rejects.toMatchObject(words);
    await expect(engine.removePlugin('nope')).rejects.toMatchObject(words);
    await expect(engine.setPlugin('nope', ['A=b'])).rejects.toMatchObject(words);
  });

  test('ls filters by enabled and by capability, and refuses other keys', async () => {
    expect((await engine.listPlugins({ filters: { enabled: ['false'] } })).map((p) => p.Name)).toEqual(['test/listed:latest']);
    expect(await engine.listPlugins({ filters: { enabled: ['true'] } })).toEqual([]);
    expect((await engine.listPlugins({ filters: { capability: ['volumedriver'] } })).map((p) => p.Name)).toEqual(['test/listed:latest']);
    expect(await engine.listPlugins({ filters: { capability: ['networkdriver'] } })).toEqual([]);
    await expect(engine.listPlugins({ filters: { name: ['x'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: "invalid filter 'name'" });
  });
});

describe('set', () => {
  let id: string;
  beforeAll(async () => {
    await create('test/settable', SETTABLE);
    id = (await engine.inspectPlugin('test/settable')).Id;
  });
  afterAll(async () => {
    await engine.removePlugin(id, { force: true });
  });

  test('changes the env, args and a mount source of a disabled plugin', async () => {
    await engine.setPlugin('test/settable', ['GREETING=bonjour', 'extra=two three', 'data.source=/tmp/somewhere']);
    const { Settings, Config } = await engine.inspectPlugin(id);
    expect(Settings.Env).toEqual(['GREETING=bonjour']);
    expect(Settings.Args).toEqual(['two', 'three']);
    expect(Settings.Mounts.find((m) => m.Name === 'data')?.Source).toBe('/tmp/somewhere');
    expect(Config.Mounts?.find((m) => m.Name === 'data')?.Source).toBe('/tmp/somewhere');
  });

  test('refuses what the config does not let be set, in moby\'s words', async () => {
    await expect(engine.setPlugin(id, ['NOPE=1'])).rejects.toMatchObject({ message: 'setting "NOPE" not found in the plugin configuration' });
    await expect(engine.setPlugin(id, ['data.destination=/x'])).rejects.toMatchObject({ message: '"data.destination" is not settable' });
    await expect(engine.setPlugin(id, ['=x'])).rejects.toMatchObject({ message: 'invalid format, must be <name>[.<field>][=<value>]' });
  });
});

describe('enable, disable and rm', () => {
  let id: string;
  let data: string;
  beforeAll(async () => {
    data = path.join(work, 'data');
    await fs.mkdir(data, { recursive: true });
    await fs.writeFile(path.join(data, 'marker'), 'here');
    await create('test/running', SETTABLE);
    id = (await engine.inspectPlugin('test/running')).Id;
    await engine.setPlugin(id, ['GREETING=salut', 'extra=a b', `data.source=${data}`]);
  });
  afterAll(async () => {
    await engine.removePlugin(id, { force: true }).catch(() => undefined);
  });

  test('enable starts the plugin: its socket answers Plugin.Activate and inspect says Enabled', async () => {
    await engine.enablePlugin('test/running', { timeout: 30 });
    expect(await pluginCall(socketOf(id), 'Plugin.Activate')).toEqual({ status: 200, body: { Implements: ['VolumeDriver'] } });
    expect((await engine.inspectPlugin(id)).Enabled).toBe(true);
  });

  test('the plugin runs with its settings: PATH then its env, entrypoint then its args, the mount source set', async () => {
    const { body } = await pluginCall(socketOf(id), 'Test.Info');
    expect(body.args).toEqual(['test.sock', 'VolumeDriver', 'a', 'b']);
    expect(body.env).toMatchObject({ GREETING: 'salut', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' });
    expect(body.data).toEqual(['marker']);
  });

  test('a plugin is not a container: ps -a and info do not count it', async () => {
    expect(await engine.ps({ all: true })).toEqual([]);
    expect((await engine.info()).Containers).toBe(0);
  });

  test('another engine on the root (a later ctr) finds it running', async () => {
    const later = new Engine({ root, runRoot });
    try {
      expect((await later.listPlugins({ filters: { enabled: ['true'] } })).map((p) => p.Id)).toEqual([id]);
      expect(pluginPid(runRoot, id)).toBeDefined();
    } finally {
      await later.close();
    }
  });

  test('set, enable again and rm are refused while it is enabled', async () => {
    await expect(engine.setPlugin(id, ['GREETING=x'])).rejects.toMatchObject({ code: 'Conflict', message: 'cannot set on an active plugin, disable plugin before setting' });
    await expect(engine.enablePlugin(id)).rejects.toMatchObject({ code: 'Conflict', message: 'plugin test/running:latest is already enabled' });
    await expect(engine.removePlugin(id)).rejects.toMatchObject({ code: 'Conflict', message: 'plugin test/running:latest is enabled' });
  });

  test('disable stops it: no process, no socket, no mount left', async () => {
    const pid = pluginPid(runRoot, id) as number;
    expect(processRuns(pid)).toBe(true);
    await engine.disablePlugin(id);
    expect(processRuns(pid)).toBe(false);
    expect(pluginPid(runRoot, id)).toBeUndefined();
    expect(existsSync(path.join(runRoot, 'plugins', id.slice(0, 12)))).toBe(false);
    expect(await mountsContaining(id.slice(0, 12))).toEqual([]);
    expect((await engine.inspectPlugin(id)).Enabled).toBe(false);
    await expect(engine.disablePlugin(id)).rejects.toMatchObject({ code: 'Conflict', message: 'plugin test/running:latest is already disabled' });
  });

  test('rm removes everything of it', async () => {
    await engine.removePlugin('test/running');
    expect(existsSync(path.join(root, 'plugins', id))).toBe(false);
    expect((await fs.readdir(path.join(root, 'plugins'))).filter((n) => n.includes(id) || n.startsWith('.tmp-'))).toEqual([]);
    await expect(engine.inspectPlugin(id)).rejects.toMatchObject({ code: 'NotFound' });
  });
});

test('rm --force of an enabled plugin stops it and removes it', async () => {
  await create('test/forced');
  const { Id } = await engine.inspectPlugin('test/forced');
  await engine.enablePlugin(Id);
  const pid = pluginPid(runRoot, Id) as number;
  await engine.removePlugin('test/forced', { force: true });
  expect(processRuns(pid)).toBe(false);
  expect(existsSync(path.join(root, 'plugins', Id))).toBe(false);
  expect(existsSync(path.join(runRoot, 'plugins', Id.slice(0, 12)))).toBe(false);
});

test('a plugin whose entrypoint exits at once fails to enable, saying so, and nothing of it runs', async () => {
  await create('test/quitter', { entrypoint: ['/bin/sh', '-c', 'echo cannot start >&2; exit 3'] });
  const { Id } = await engine.inspectPlugin('test/quitter');
  await expect(engine.enablePlugin('test/quitter', { timeout: 30 })).rejects.toMatchObject({
    message: expect.stringMatching(/^error enabling plugin test\/quitter:latest: its process exited with code 3 before it listened on its socket; it wrote:\ncannot start$/),
  });
  expect(pluginPid(runRoot, Id)).toBeUndefined();
  expect(existsSync(path.join(runRoot, 'plugins', Id.slice(0, 12)))).toBe(false);
  expect((await engine.inspectPlugin(Id)).Enabled).toBe(false);
  await engine.removePlugin(Id);
});

test('after a reboot-like loss of the run root, recover starts the plugins that were enabled again', async () => {
  await create('test/restored');
  const { Id } = await engine.inspectPlugin('test/restored');
  await engine.enablePlugin(Id);
  // The machine goes down: the plugin's processes and the whole run root with them.
  killPlugins(runRoot);
  await fs.rm(path.join(runRoot, 'plugins'), { recursive: true, force: true });
  const booted = new Engine({ root, runRoot });
  try {
    await booted.recover();
    expect(await pluginCall(socketOf(Id), 'Plugin.Activate')).toEqual({ status: 200, body: { Implements: ['VolumeDriver'] } });
    expect((await booted.inspectPlugin(Id)).Enabled).toBe(true);
    await booted.removePlugin(Id, { force: true });
  } finally {
    await booted.close();
  }
});

test('a managed volume plugin drives volumes, and is in use while one exists', async () => {
  const dir = await pluginDir({
    entrypoint: ['/usr/bin/node', '/plugin/volume-server.js', '/run/docker/plugins/vol.sock', '/state'],
    interface: { types: ['docker.volumedriver/1.0'], socket: 'vol.sock' },
  });
  await fs.copyFile(path.join(__dirname, 'support', 'volume-plugin-server.js'), path.join(dir, 'rootfs', 'plugin', 'volume-server.js'));
  await engine.createPlugin('test/vol', tarTree(dir, ''));
  await engine.enablePlugin('test/vol');
  try {
    const volume = await engine.createVolume({ driver: 'test/vol', name: 'managed-volume' });
    expect(volume).toMatchObject({ Name: 'managed-volume' });
    expect((await engine.volumes()).map((v) => v.Name)).toContain('managed-volume');
    await expect(engine.disablePlugin('test/vol')).rejects.toMatchObject({ code: 'Conflict', message: 'plugin test/vol:latest is in use' });
    await engine.removeVolume('managed-volume');
    await engine.disablePlugin('test/vol');
  } finally {
    await engine.removePlugin('test/vol', { force: true });
  }
});
