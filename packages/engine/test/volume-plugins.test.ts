import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, type EngineOptions } from '@ctr/engine';
import { collector, eventually, testEngine, type TestEngine } from './fixture';
import { startVolumePlugin, type TestVolumePlugin } from './support/volume-plugin';
import { tarStream } from './tar-fixture';

/**
 * Docker's volume plugins, through real plugins: the test volume plugin (a Node HTTP server on
 * a unix socket in a temp plugin directory, keeping each volume as a directory) and real
 * containers mounting what it gives.
 */

let t: TestEngine;
let engine: Engine;
let pluginDir: string;
let dataDir: string;
let plugin: TestVolumePlugin;
let seq = 0;

/** An engine on the test root that finds legacy plugins in `dir` alone, and gives up at once on one that does not answer. */
function pluginEngine(dir: string, extra: EngineOptions = {}): Engine {
  return new Engine({ root: t.root, runRoot: t.runRoot, plugins: { legacy: { sockets: [dir], specs: [dir] }, activateTimeoutMs: 0 }, ...extra });
}

/** A volume name of its own for each test. */
function fresh(prefix: string): string {
  seq += 1;
  return `${prefix}${seq}`;
}

beforeAll(async () => {
  t = await testEngine();
  pluginDir = await mkdtemp(join(tmpdir(), 'ctr-plugins-'));
  dataDir = await mkdtemp(join(tmpdir(), 'ctr-plugin-data-'));
  plugin = await startVolumePlugin(join(pluginDir, 'testplug.sock'), dataDir);
  engine = pluginEngine(pluginDir);
});

afterAll(async () => {
  for (const c of await engine.ps({ all: true })) await engine.remove(c.Id, { force: true, volumes: true }).catch(() => undefined);
  for (const v of await engine.volumes().catch(() => [])) await engine.removeVolume(v.Name, { force: true }).catch(() => undefined);
  await engine.close();
  await plugin?.stop();
  await t.cleanup();
  await rm(pluginDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

async function runIn(volumes: string[], script: string, options: { volumeDriver?: string; mountSpecs?: object[] } = {}): Promise<{ exitCode: number; out: string; id: string }> {
  const stdout = collector();
  const { exitCode, id } = await engine.run({
    image: 'busybox',
    pull: 'never',
    cmd: ['sh', '-c', script],
    volumes,
    network: 'none',
    stdout,
    ...(options.volumeDriver ? { platform: { volumeDriver: options.volumeDriver } } : {}),
    ...(options.mountSpecs ? { mountSpecs: options.mountSpecs } : {}),
  });
  return { exitCode: exitCode ?? -1, out: stdout.text(), id };
}

describe('volume create, inspect, ls', () => {
  test("create with a plugin driver calls the plugin's Create with the name and the options", async () => {
    const name = fresh('pv');
    await engine.createVolume({ name, driver: 'testplug', options: { size: '1g' } });
    expect(await plugin.callsOf('VolumeDriver.Create')).toContainEqual({ method: 'VolumeDriver.Create', body: { Name: name, Opts: { size: '1g' } } });
  });

  test('inspect gives the driver, the Mountpoint and Status from the plugin, the options and labels', async () => {
    const name = fresh('pv');
    await engine.createVolume({ name, driver: 'testplug', options: { a: 'b' }, labels: { team: 'x' } });
    expect(await engine.inspectVolume(name)).toMatchObject({
      Driver: 'testplug',
      Name: name,
      Mountpoint: join(dataDir, 'volumes', name),
      Options: { a: 'b' },
      Labels: { team: 'x' },
      Scope: 'local',
      Status: { mounts: 0 },
    });
  });

  test("the scope is the one the plugin's Capabilities give", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-plugins-global-'));
    const global = await startVolumePlugin(join(dir, 'globalplug.sock'), join(dir, 'data'), { PLUGIN_SCOPE: 'global' });
    try {
      const name = fresh('gv');
      const volume = await pluginEngine(dir).createVolume({ name, driver: 'globalplug' });
      expect(volume.Scope).toBe('global');
      await pluginEngine(dir).removeVolume(name);
    } finally {
      await global.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('ls lists a plugin volume with the plugin as its driver', async () => {
    const name = fresh('pv');
    await engine.createVolume({ name, driver: 'testplug' });
    expect((await engine.volumes()).filter((v) => v.Name === name).map((v) => v.Driver)).toEqual(['testplug']);
  });

  test("ls lists a volume the plugin has that was made without the engine, as moby asks every driver's List", async () => {
    const name = fresh('outside');
    await mkdir(join(dataDir, 'volumes', name), { recursive: true });
    await writeFile(join(dataDir, 'meta', `${name}.json`), JSON.stringify({ Opts: {}, CreatedAt: new Date().toISOString() }));
    expect((await engine.volumes()).find((v) => v.Name === name)).toMatchObject({ Driver: 'testplug', Mountpoint: join(dataDir, 'volumes', name) });
    // Recorded since: inspect finds it too.
    expect((await engine.inspectVolume(name)).Driver).toBe('testplug');
  });

  test('the driver filter of ls selects the plugin volumes', async () => {
    const name = fresh('pv');
    await engine.createVolume({ name, driver: 'testplug' });
    await engine.createVolume({ name: fresh('local') });
    const listed = await engine.volumes({ filters: { driver: ['testplug'] } });
    expect(listed.map((v) => v.Name)).toContain(name);
    expect(listed.every((v) => v.Driver === 'testplug')).toBe(true);
  });

  test('creating a name another driver has is refused in moby\'s words, and the plugin is not asked', async () => {
    const name = fresh('taken');
    await engine.createVolume({ name });
    await expect(engine.createVolume({ name, driver: 'testplug' })).rejects.toMatchObject({
      code: 'Conflict',
      message: `create ${name}: driver 'local' already has volume '${name}': volume name must be unique`,
    });
    expect((await plugin.callsOf('VolumeDriver.Create')).map((c) => c.body.Name)).not.toContain(name);
  });

  test('creating a plugin volume again with the same plugin gives the volume as it is', async () => {
    const name = fresh('again');
    await engine.createVolume({ name, driver: 'testplug', labels: { first: '1' } });
    expect((await engine.createVolume({ name, driver: 'testplug', labels: { second: '2' } })).Labels).toEqual({ first: '1' });
  });

  test('a driver no plugin directory has is refused as moby refuses it', async () => {
    await expect(engine.createVolume({ name: 'nope', driver: 'nosuch' })).rejects.toMatchObject({
      code: 'NotFound',
      message: 'create nope: error looking up volume plugin nosuch: plugin "nosuch" not found',
    });
  });

  test('a plugin that does not implement VolumeDriver is refused as moby refuses it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-plugins-authz-'));
    const other = await startVolumePlugin(join(dir, 'authzplug.sock'), join(dir, 'data'), { PLUGIN_IMPLEMENTS: 'authz' });
    try {
      await expect(pluginEngine(dir).createVolume({ name: 'nv', driver: 'authzplug' })).rejects.toMatchObject({
        message: 'create nv: error looking up volume plugin authzplug: Plugin does not implement the requested driver',
      });
    } finally {
      await other.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a plugin whose socket nobody listens on is Unavailable in Go\'s words, and no volume is recorded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-plugins-down-'));
    const socket = join(dir, 'downplug.sock');
    // A socket file left by a plugin that has stopped: found, and refused at connect.
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await writeFile(socket, '');
    try {
      await expect(pluginEngine(dir).createVolume({ name: 'dv', driver: 'downplug' })).rejects.toMatchObject({
        code: 'Unavailable',
        message: expect.stringMatching(/^create dv: error looking up volume plugin downplug: Post "http:\/\/.*downplug\.sock\/Plugin\.Activate": dial unix .*downplug\.sock: connect: /),
      });
      await expect(engine.inspectVolume('dv')).rejects.toMatchObject({ code: 'NotFound' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a plugin found through a .spec file in a spec directory is reached at the URL it names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-plugins-spec-'));
    try {
      await writeFile(join(dir, 'specplug.spec'), `unix://${plugin.socket}\n`);
      const name = fresh('sv');
      const volume = await new Engine({ root: t.root, runRoot: t.runRoot, plugins: { legacy: { sockets: [], specs: [dir] } } }).createVolume({ name, driver: 'specplug' });
      expect(volume.Driver).toBe('specplug');
      expect(existsSync(join(dataDir, 'volumes', name))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('containers', () => {
  test('what one container writes to a plugin volume, another reads, and it is in the plugin\'s directory', async () => {
    const name = fresh('shared');
    await engine.createVolume({ name, driver: 'testplug' });
    expect((await runIn([`${name}:/data`], 'echo hello > /data/greeting')).exitCode).toBe(0);
    expect((await runIn([`${name}:/data`], 'cat /data/greeting')).out).toBe('hello\n');
    expect(await readFile(join(dataDir, 'volumes', name, 'greeting'), 'utf8')).toBe('hello\n');
  });

  test("a start calls the plugin's Mount with the container's ID, and its exit Unmount with the same", async () => {
    const name = fresh('mnt');
    await engine.createVolume({ name, driver: 'testplug' });
    const { id } = await runIn([`${name}:/data`], 'true');
    const ofThis = (calls: Array<{ body: { Name?: string } }>): Array<{ body: { Name?: string } }> => calls.filter((c) => c.body.Name === name);
    expect(ofThis(await plugin.callsOf('VolumeDriver.Mount'))).toEqual([{ method: 'VolumeDriver.Mount', body: { Name: name, ID: id } }]);
    expect(ofThis(await plugin.callsOf('VolumeDriver.Unmount'))).toEqual([{ method: 'VolumeDriver.Unmount', body: { Name: name, ID: id } }]);
  });

  test('--volume-driver makes a missing -v volume through the plugin', async () => {
    const name = fresh('implicit');
    expect((await runIn([`${name}:/data`], 'echo x > /data/f', { volumeDriver: 'testplug' })).exitCode).toBe(0);
    expect((await engine.inspectVolume(name)).Driver).toBe('testplug');
    expect(await readFile(join(dataDir, 'volumes', name, 'f'), 'utf8')).toBe('x\n');
  });

  test('--mount volume-driver= with volume-opt makes the volume through the plugin with those options', async () => {
    const name = fresh('mounted');
    const mountSpecs = [{ Type: 'volume', Source: name, Target: '/d', VolumeOptions: { DriverConfig: { Name: 'testplug', Options: { k: 'v' } } } }];
    expect((await runIn([], 'echo y > /d/f', { mountSpecs })).exitCode).toBe(0);
    expect(await plugin.callsOf('VolumeDriver.Create')).toContainEqual({ method: 'VolumeDriver.Create', body: { Name: name, Opts: { k: 'v' } } });
  });

  test('inspect of a container names the plugin as the driver of its volume mount', async () => {
    const name = fresh('shown');
    await engine.createVolume({ name, driver: 'testplug' });
    const { id } = await engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: [`${name}:/data`], network: 'none' });
    expect((await engine.inspect(id)).Mounts).toContainEqual(expect.objectContaining({ Type: 'volume', Name: name, Driver: 'testplug', Destination: '/data' }));
  });

  test('a Mount the plugin refuses fails the start in dockerd\'s words, the container stays created and nothing stays mounted', async () => {
    const name = fresh('refused');
    await engine.createVolume({ name, driver: 'testplug', options: { 'fail-mount': 'backend unreachable' } });
    const { id } = await engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: [`${name}:/data`], network: 'none' });
    await expect(engine.start(id)).rejects.toMatchObject({ message: `error while mounting volume '${name}': backend unreachable` });
    expect((await engine.inspect(id)).State.Status).toBe('created');
    expect(existsSync(join(t.runRoot, 'volume-plugins', id))).toBe(false);
    expect((await plugin.callsOf('VolumeDriver.Unmount')).filter((c) => c.body.ID === id)).toEqual([]);
  });

  test('stop of a running container unmounts its plugin volume', async () => {
    const name = fresh('stopped');
    await engine.createVolume({ name, driver: 'testplug' });
    const { id } = await engine.run({ image: 'busybox', pull: 'never', cmd: ['sleep', '60'], volumes: [`${name}:/data`], network: 'none', detach: true });
    expect((await plugin.callsOf('VolumeDriver.Unmount')).filter((c) => c.body.ID === id)).toEqual([]);
    await engine.stop(id, { timeout: 0 });
    expect((await plugin.callsOf('VolumeDriver.Unmount')).filter((c) => c.body.ID === id)).toHaveLength(1);
  });

  test("a detached container's exit, seen by its exit command alone, unmounts its plugin volume", async () => {
    const name = fresh('detached');
    await engine.createVolume({ name, driver: 'testplug' });
    // As the ctr command runs: conmon's exit command, with none of this process's plugin settings.
    const handleExit = `new (require(${JSON.stringify(join(__dirname, '..'))}).Engine)({ root: process.argv[1], runRoot: process.argv[2] }).handleExit(process.argv[3])`;
    const daemonless = pluginEngine(pluginDir, { exitCommand: [process.execPath, '-e', handleExit, t.root, t.runRoot] });
    const { id } = await daemonless.run({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: [`${name}:/data`], network: 'none', detach: true });
    const unmounts = await eventually(
      () => plugin.callsOf('VolumeDriver.Unmount'),
      (calls) => calls.some((c) => c.body.ID === id),
    );
    expect(unmounts.filter((c) => c.body.ID === id)).toEqual([{ method: 'VolumeDriver.Unmount', body: { Name: name, ID: id } }]);
  });

  test("a copy into a stopped container's plugin volume mounts it for the copy, and unmounts it after", async () => {
    const name = fresh('copied');
    await engine.createVolume({ name, driver: 'testplug' });
    const { id } = await engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: [`${name}:/data`], network: 'none' });
    await engine.putArchive(id, '/data', tarStream({ name: 'copied.txt', type: 'file', data: 'copied\n' }));
    expect(await readFile(join(dataDir, 'volumes', name, 'copied.txt'), 'utf8')).toBe('copied\n');
    const methods = (await plugin.calls()).filter((c) => c.body.ID === id).map((c) => c.method);
    expect(methods).toEqual(['VolumeDriver.Mount', 'VolumeDriver.Unmount']);
  });

  test("rm -v of a container with an anonymous plugin volume unmounts it, then removes it through the plugin", async () => {
    const { id } = await engine.run({ image: 'busybox', pull: 'never', cmd: ['sleep', '60'], volumes: ['/data'], platform: { volumeDriver: 'testplug' }, network: 'none', detach: true });
    const anonymous = (await engine.inspect(id)).Mounts.find((m) => m.Destination === '/data')?.Name as string;
    expect((await engine.inspectVolume(anonymous)).Driver).toBe('testplug');
    await engine.remove(id, { force: true, volumes: true });
    const calls = (await plugin.calls()).filter((c) => c.body.Name === anonymous).map((c) => c.method);
    expect(calls.slice(-2)).toEqual(['VolumeDriver.Unmount', 'VolumeDriver.Remove']);
    await expect(engine.inspectVolume(anonymous)).rejects.toMatchObject({ code: 'NotFound' });
  });
});

describe('volume rm and prune', () => {
  test("rm calls the plugin's Remove, and the volume is gone from the plugin and the list", async () => {
    const name = fresh('gone');
    await engine.createVolume({ name, driver: 'testplug' });
    await engine.removeVolume(name);
    expect(await plugin.callsOf('VolumeDriver.Remove')).toContainEqual({ method: 'VolumeDriver.Remove', body: { Name: name } });
    expect(existsSync(join(dataDir, 'volumes', name))).toBe(false);
    expect((await engine.volumes()).map((v) => v.Name)).not.toContain(name);
  });

  test('rm of a plugin volume a container uses is refused, and the plugin is not asked', async () => {
    const name = fresh('used');
    await engine.createVolume({ name, driver: 'testplug' });
    const { id } = await engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: [`${name}:/data`], network: 'none' });
    await expect(engine.removeVolume(name, { force: true })).rejects.toMatchObject({ code: 'Conflict', message: `remove ${name}: volume is in use - [${id}]` });
    expect((await plugin.callsOf('VolumeDriver.Remove')).map((c) => c.body.Name)).not.toContain(name);
  });

  test('a Remove the plugin refuses keeps the volume; rm -f drops it all the same', async () => {
    const name = fresh('stuck');
    await engine.createVolume({ name, driver: 'testplug' });
    // The plugin no longer has it: its Remove answers with an Err.
    await rm(join(dataDir, 'meta', `${name}.json`));
    await expect(engine.removeVolume(name)).rejects.toMatchObject({ message: `remove ${name}: no such volume: ${name}` });
    expect((await engine.volumes()).map((v) => v.Name)).toContain(name);
    await engine.removeVolume(name, { force: true });
    expect((await engine.volumes()).map((v) => v.Name)).not.toContain(name);
  });

  test("prune -a leaves unused plugin volumes, and the plugin is not asked: moby prunes only the local driver's", async () => {
    const name = fresh('pruned');
    await engine.createVolume({ name, driver: 'testplug' });
    const { VolumesDeleted } = await engine.pruneVolumes({ all: true });
    expect(VolumesDeleted).not.toContain(name);
    expect((await plugin.callsOf('VolumeDriver.Remove')).map((c) => c.body.Name)).not.toContain(name);
    expect((await engine.volumes()).map((v) => v.Name)).toContain(name);
  });
});

describe('names only a plugin may have', () => {
  test("a volume named user@host:/path is created, inspected, listed and removed through its plugin", async () => {
    const name = `me@host${fresh('')}:/srv/data`;
    await engine.createVolume({ name, driver: 'testplug' });
    expect(await plugin.callsOf('VolumeDriver.Create')).toContainEqual({ method: 'VolumeDriver.Create', body: { Name: name, Opts: {} } });
    expect(await engine.inspectVolume(name)).toMatchObject({ Name: name, Driver: 'testplug' });
    expect((await engine.volumes()).map((v) => v.Name)).toContain(name);
    await engine.removeVolume(name);
    expect(await plugin.callsOf('VolumeDriver.Remove')).toContainEqual({ method: 'VolumeDriver.Remove', body: { Name: name } });
  });

  test('a name like ../x is kept inside the store and reaches the plugin as it is', async () => {
    const name = `../escape${fresh('')}`;
    await engine.createVolume({ name, driver: 'testplug' });
    expect(existsSync(join(t.root, name.slice(3)))).toBe(false);
    expect((await engine.inspectVolume(name)).Name).toBe(name);
    await engine.removeVolume(name);
  });

  test('a container mounts a plugin volume whose name has a slash through -v', async () => {
    const name = `team/data${fresh('')}`;
    await engine.createVolume({ name, driver: 'testplug' });
    expect((await runIn([`${name}:/data`], 'echo slash > /data/f')).exitCode).toBe(0);
    expect(await readFile(join((await engine.inspectVolume(name)).Mountpoint, 'f'), 'utf8')).toBe('slash\n');
  });

  test('--mount with a source user@host:/path makes the volume through --mount volume-driver and mounts it', async () => {
    const name = `me@host${fresh('')}:/p`;
    const mountSpecs = [{ Type: 'volume', Source: name, Target: '/d', VolumeOptions: { DriverConfig: { Name: 'testplug' } } }];
    expect((await runIn([], 'echo colon > /d/f', { mountSpecs })).exitCode).toBe(0);
    expect(await readFile(join((await engine.inspectVolume(name)).Mountpoint, 'f'), 'utf8')).toBe('colon\n');
  });

  test('-v of a missing volume named with a slash, for the local driver, is refused in moby\'s words', async () => {
    await expect(runIn(['a/b:/data'], 'true')).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: expect.stringContaining('"a/b" includes invalid characters for a local volume name'),
    });
  });
});

describe('copy-up, Source and subpaths', () => {
  test("a new plugin volume mounted where the image has files is filled from the image, through a Mount and an Unmount of its own", async () => {
    const name = fresh('filled');
    await engine.createVolume({ name, driver: 'testplug' });
    const { id } = await engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: [`${name}:/etc`], network: 'none' });
    expect(await readFile(join(dataDir, 'volumes', name, 'passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
    const ids = (await plugin.callsOf('VolumeDriver.Mount')).filter((c) => c.body.Name === name).map((c) => c.body.ID);
    expect(ids).toHaveLength(1);
    expect(ids[0]).not.toBe(id);
    expect((await plugin.callsOf('VolumeDriver.Unmount')).filter((c) => c.body.Name === name).map((c) => c.body.ID)).toEqual(ids);
  });

  test('a container sees what the copy-up put in its plugin volume', async () => {
    const name = fresh('seen');
    await engine.createVolume({ name, driver: 'testplug' });
    expect((await runIn([`${name}:/etc`], 'head -c 5 /etc/group')).out).toBe('root:');
  });

  test('nocopy leaves a new plugin volume empty, and the plugin is not asked to Mount it at the create', async () => {
    const name = fresh('nocopy');
    await engine.createVolume({ name, driver: 'testplug' });
    await engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: [`${name}:/etc:nocopy`], network: 'none' });
    expect(existsSync(join(dataDir, 'volumes', name, 'passwd'))).toBe(false);
    expect((await plugin.callsOf('VolumeDriver.Mount')).filter((c) => c.body.Name === name)).toEqual([]);
  });

  test('a plugin volume with data in it is not filled', async () => {
    const name = fresh('kept');
    await engine.createVolume({ name, driver: 'testplug' });
    await writeFile(join(dataDir, 'volumes', name, 'mine'), 'x');
    await engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: [`${name}:/etc`], network: 'none' });
    expect(existsSync(join(dataDir, 'volumes', name, 'passwd'))).toBe(false);
  });

  test("inspect shows the plugin's path as a plugin volume's Source, as dockerd shows its Path", async () => {
    const name = fresh('source');
    await engine.createVolume({ name, driver: 'testplug' });
    const { id } = await engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: [`${name}:/data`], network: 'none' });
    expect((await engine.inspect(id)).Mounts).toContainEqual(expect.objectContaining({ Name: name, Source: join(dataDir, 'volumes', name) }));
  });

  test("ps -a and inspect of a stopped container whose plugin is gone answer with the Source its Mount recorded, never asking the plugin", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-plugins-gone-'));
    const gone = await startVolumePlugin(join(dir, 'goneplug.sock'), join(dir, 'data'));
    // An engine that waits an hour for a plugin it cannot reach: were ps or inspect to ask the plugin, the test would time out.
    const patient = new Engine({ root: t.root, runRoot: t.runRoot, plugins: { legacy: { sockets: [dir], specs: [dir] }, activateTimeoutMs: 3_600_000 } });
    try {
      const name = fresh('gone');
      await patient.createVolume({ name, driver: 'goneplug' });
      const { id, exitCode } = await patient.run({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: [`${name}:/data`], network: 'none' });
      expect(exitCode).toBe(0);
      await gone.kill();
      expect(existsSync(gone.socket)).toBe(true);

      const source = join(dir, 'data', 'volumes', name);
      expect((await patient.inspect(id)).Mounts.find((m) => m.Name === name)?.Source).toBe(source);
      expect((await patient.ps({ all: true })).find((c) => c.Id === id)?.Mounts.find((m) => m.Name === name)?.Source).toBe(source);
    } finally {
      await patient.close();
      await gone.kill();
      // The suite's engine gives up on the dead plugin at once: afterAll removes the container and the volume (-f).
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a running container's plugin volume shows as its Source the path the plugin's Mount gave", async () => {
    const name = fresh('running');
    await engine.createVolume({ name, driver: 'testplug' });
    const { id } = await engine.run({ image: 'busybox', pull: 'never', cmd: ['sleep', '60'], volumes: [`${name}:/data`], network: 'none', detach: true });
    try {
      expect((await engine.inspect(id)).Mounts.find((m) => m.Name === name)?.Source).toBe(join(dataDir, 'volumes', name));
      expect((await engine.ps()).find((c) => c.Id === id)?.Mounts.find((m) => m.Name === name)?.Source).toBe(join(dataDir, 'volumes', name));
    } finally {
      await engine.remove(id, { force: true });
    }
  });

  test('--mount volume-subpath mounts that directory of a plugin volume alone', async () => {
    const name = fresh('sub');
    await engine.createVolume({ name, driver: 'testplug' });
    await mkdir(join(dataDir, 'volumes', name, 'inner'));
    await writeFile(join(dataDir, 'volumes', name, 'inner', 'f'), 'inside\n');
    const mountSpecs = [{ Type: 'volume', Source: name, Target: '/d', VolumeOptions: { Subpath: 'inner' } }];
    expect((await runIn([], 'cat /d/f; ls /d', { mountSpecs })).out).toBe('inside\nf\n');
  });

  test('a plugin volume subpath that is missing fails the start in dockerd\'s words, and the plugin gets its Unmount', async () => {
    const name = fresh('nosub');
    await engine.createVolume({ name, driver: 'testplug' });
    const mountSpecs = [{ Type: 'volume' as const, Source: name, Target: '/d', VolumeOptions: { Subpath: 'missing' } }];
    const { id } = await engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], mountSpecs, network: 'none' });
    await expect(engine.start(id)).rejects.toMatchObject({ message: expect.stringContaining('cannot access path') });
    expect((await plugin.callsOf('VolumeDriver.Unmount')).filter((c) => c.body.ID === id)).toHaveLength(1);
  });
});
