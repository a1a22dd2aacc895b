import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, tarTree, type EngineOptions } from '@ctr/engine';
import { collector, eventually, testEngine, type TestEngine } from './fixture';
import { startLogPlugin, type LoggedEntry, type TestLogPlugin } from './support/log-plugin';
import { killPlugins, writePluginDir } from './support/managed-plugin';

/**
 * Docker's logging plugins (`--log-driver PLUGIN`), through real plugins — the test logging
 * plugin, a Node HTTP server on a unix socket in a temp plugin directory that decodes the
 * framed LogEntry messages of its FIFO — and real busybox containers.
 */

jest.setTimeout(60_000);

let t: TestEngine;
let engine: Engine;
let pluginDir: string;
let dataDir: string;
/** Capabilities without ReadLogs: `logs` reads the local cache. */
let plain: TestLogPlugin;
/** Capabilities with ReadLogs: `logs` asks the plugin. */
let reader: TestLogPlugin;
/** StartLogging refused. */
let refusing: TestLogPlugin;

function pluginEngine(extra: EngineOptions = {}): Engine {
  return new Engine({ root: t.root, runRoot: t.runRoot, plugins: { legacy: { sockets: [pluginDir], specs: [pluginDir] }, activateTimeoutMs: 0 }, ...extra });
}

beforeAll(async () => {
  t = await testEngine();
  pluginDir = await mkdtemp(join(tmpdir(), 'ctr-log-plugins-'));
  dataDir = await mkdtemp(join(tmpdir(), 'ctr-log-plugin-data-'));
  plain = await startLogPlugin(join(pluginDir, 'logplug.sock'), join(dataDir, 'plain'));
  reader = await startLogPlugin(join(pluginDir, 'readplug.sock'), join(dataDir, 'reader'), { PLUGIN_READ_LOGS: '1' });
  refusing = await startLogPlugin(join(pluginDir, 'failplug.sock'), join(dataDir, 'refusing'), { PLUGIN_FAIL_START: 'no room for logs' });
  engine = pluginEngine();
});

afterAll(async () => {
  for (const c of await engine.ps({ all: true })) await engine.remove(c.Id, { force: true }).catch(() => undefined);
  for (const p of await engine.listPlugins().catch(() => [])) await engine.removePlugin(p.Id, { force: true }).catch(() => undefined);
  killPlugins(t.runRoot);
  await engine.close();
  await Promise.all([plain?.stop(), reader?.stop(), refusing?.stop()]);
  await t.cleanup();
  await rm(pluginDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

/** Run `script` in busybox, attached, with the logging plugin `driver`; its ID once it has exited. */
async function runLogged(driver: string, script: string, options: Record<string, string> = {}): Promise<string> {
  const { id, exitCode } = await engine.run({ image: 'busybox', pull: 'never', cmd: ['sh', '-c', script], network: 'none', log: { driver, options }, stdout: collector(), stderr: collector() });
  expect(exitCode).toBe(0);
  return id;
}

/** The lines of `entries`, as the plugin got them. */
function lines(entries: LoggedEntry[]): Array<[string, string]> {
  return entries.map((entry) => [entry.source, entry.line]);
}

describe('at create', () => {
  test("a log driver no plugin has is refused in dockerd's words", async () => {
    await expect(engine.create({ image: 'busybox', pull: 'never', network: 'none', log: { driver: 'nosuchlogger' } })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: "logger: no log driver named 'nosuchlogger' is registered",
    });
  });

  test('a plugin that implements no LogDriver is refused as no log driver', async () => {
    const other = await startLogPlugin(join(pluginDir, 'volplug.sock'), join(dataDir, 'other'), { PLUGIN_IMPLEMENTS: 'VolumeDriver' });
    try {
      await expect(engine.create({ image: 'busybox', pull: 'never', network: 'none', log: { driver: 'volplug' } })).rejects.toMatchObject({
        message: "logger: no log driver named 'volplug' is registered",
      });
    } finally {
      await other.stop();
    }
  });

  test("mode is checked as for every driver, and the plugin's own options are the plugin's", async () => {
    await expect(engine.create({ image: 'busybox', pull: 'never', network: 'none', log: { driver: 'logplug', options: { mode: 'sometimes' } } })).rejects.toMatchObject({
      message: 'logger: logging mode not supported: sometimes',
    });
    const { id } = await engine.create({ image: 'busybox', pull: 'never', network: 'none', log: { driver: 'logplug', options: { 'any-option': 'x' } } });
    expect((await engine.inspect(id)).HostConfig.LogConfig).toEqual({ Type: 'logplug', Config: { 'any-option': 'x' } });
  });
});

describe('the log through the FIFO', () => {
  test("StartLogging gets the FIFO and the container's Info before the process runs, with the options as Config", async () => {
    const id = await runLogged('logplug', 'echo started', { team: 'logs' });
    const [start] = (await plain.callsOf('LogDriver.StartLogging')).filter((call) => call.body.Info?.ContainerID === id);
    const name = (await engine.inspect(id)).Name;
    expect(start?.body).toEqual({
      File: join(t.runRoot, 'log-plugins', id),
      Info: expect.objectContaining({
        Config: { team: 'logs' },
        ContainerID: id,
        ContainerName: name,
        ContainerEntrypoint: 'sh',
        ContainerArgs: ['-c', 'echo started'],
        ContainerImageName: 'busybox',
        ContainerCreated: (await engine.inspect(id)).Created,
        LogPath: '',
        DaemonName: 'docker',
      }),
    });
  });

  test('each line arrives as a LogEntry with its stream as source and its time', async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const id = await runLogged('logplug', 'echo out1; echo err1 >&2; echo out2');
    const entries = await eventually(
      () => plain.entriesOf(id),
      (got) => got.length >= 3,
    );
    expect(lines(entries).sort()).toEqual([
      ['stderr', 'err1'],
      ['stdout', 'out1'],
      ['stdout', 'out2'],
    ]);
    for (const entry of entries) {
      expect(entry.partial).toBe(false);
      expect(BigInt(entry.timeNano) >= before).toBe(true);
    }
  });

  test("a line longer than dockerd's 16 KiB buffer arrives in partial pieces, ordered and the last marked", async () => {
    const id = await runLogged('logplug', "head -c 40000 /dev/zero | tr '\\0' a; echo; echo after");
    const entries = await eventually(
      () => plain.entriesOf(id),
      (got) => got.length >= 4,
    );
    const pieces = entries.slice(0, 3);
    expect(pieces.map((p) => p.line.length)).toEqual([16384, 16384, 40000 - 2 * 16384]);
    expect(pieces.map((p) => p.partial)).toEqual([true, true, true]);
    const id0 = pieces[0]?.partialLogMetadata?.id as string;
    expect(id0).toMatch(/^[0-9a-f]{64}$/);
    expect(pieces.map((p) => p.partialLogMetadata)).toEqual([
      { id: id0, ordinal: 1, last: false },
      { id: id0, ordinal: 2, last: false },
      { id: id0, ordinal: 3, last: true },
    ]);
    expect(new Set(pieces.map((p) => p.timeNano)).size).toBe(1);
    expect(entries[3]).toMatchObject({ line: 'after', partial: false });
    expect(entries[3]?.partialLogMetadata).toBeUndefined();
  });

  test('mode=non-blocking queues the lines for the FIFO, and they arrive', async () => {
    const id = await runLogged('logplug', 'for i in 1 2 3; do echo line$i; done', { mode: 'non-blocking', 'max-buffer-size': '1m' });
    // moby's Info.Config: every option, the engine's own too.
    const [start] = (await plain.callsOf('LogDriver.StartLogging')).filter((call) => call.body.Info?.ContainerID === id);
    expect(start?.body.Info?.Config).toEqual({ mode: 'non-blocking', 'max-buffer-size': '1m' });
    const entries = await eventually(
      () => plain.entriesOf(id),
      (got) => got.length >= 3,
    );
    expect(lines(entries)).toEqual([
      ['stdout', 'line1'],
      ['stdout', 'line2'],
      ['stdout', 'line3'],
    ]);
  });

  test('the container\'s end is StopLogging of its FIFO, once its lines are in, and the FIFO goes', async () => {
    const id = await runLogged('logplug', 'echo last words');
    const fifo = join(t.runRoot, 'log-plugins', id);
    expect((await plain.callsOf('LogDriver.StopLogging')).map((call) => call.body)).toContainEqual({ File: fifo });
    expect(lines(await plain.entriesOf(id))).toEqual([['stdout', 'last words']]);
    expect(existsSync(fifo)).toBe(false);
    expect(existsSync(`${fifo}.json`)).toBe(false);
  });

  test("a detached container's exit, seen by its exit command alone, is StopLogging", async () => {
    const handleExit = `new (require(${JSON.stringify(join(__dirname, '..'))}).Engine)({ root: process.argv[1], runRoot: process.argv[2] }).handleExit(process.argv[3])`;
    const daemonless = pluginEngine({ exitCommand: [process.execPath, '-e', handleExit, t.root, t.runRoot] });
    const { id } = await daemonless.run({ image: 'busybox', pull: 'never', cmd: ['echo', 'detached'], network: 'none', detach: true, log: { driver: 'logplug' } });
    const stops = await eventually(
      () => plain.callsOf('LogDriver.StopLogging'),
      (calls) => calls.some((call) => call.body.File === join(t.runRoot, 'log-plugins', id)),
    );
    expect(stops.filter((call) => call.body.File === join(t.runRoot, 'log-plugins', id))).toHaveLength(1);
    expect(lines(await plain.entriesOf(id))).toEqual([['stdout', 'detached']]);
  });

  test('rm -f of a running container is StopLogging of its FIFO', async () => {
    const { id } = await engine.run({ image: 'busybox', pull: 'never', cmd: ['sh', '-c', 'echo up; sleep 60'], network: 'none', detach: true, log: { driver: 'logplug' } });
    await eventually(
      () => plain.entriesOf(id),
      (got) => got.length > 0,
    );
    await engine.remove(id, { force: true });
    expect((await plain.callsOf('LogDriver.StopLogging')).map((call) => call.body)).toContainEqual({ File: join(t.runRoot, 'log-plugins', id) });
    expect(existsSync(join(t.runRoot, 'log-plugins', `${id}.json`))).toBe(false);
  });

  test("StartLogging refused fails the start in dockerd's words: the container stays created, no FIFO and nothing owed", async () => {
    const { id } = await engine.create({ image: 'busybox', pull: 'never', cmd: ['echo', 'never'], network: 'none', log: { driver: 'failplug' } });
    await expect(engine.start(id)).rejects.toMatchObject({ message: 'failed to initialize logging driver: error creating logger: no room for logs' });
    expect((await engine.inspect(id)).State.Status).toBe('created');
    expect(existsSync(join(t.runRoot, 'log-plugins', id))).toBe(false);
    expect(existsSync(join(t.runRoot, 'log-plugins', `${id}.json`))).toBe(false);
    expect(await refusing.callsOf('LogDriver.StopLogging')).toEqual([]);
  });
});

describe('a hostile plugin', () => {
  test('that puts a link where its FIFO was gets no output written through it', async () => {
    const target = join(dataDir, 'host-file');
    await writeFile(target, '');
    const swapping = await startLogPlugin(join(pluginDir, 'swapplug.sock'), join(dataDir, 'swapping'), { PLUGIN_SWAP_FIFO: target });
    try {
      await engine.run({ image: 'busybox', pull: 'never', cmd: ['echo', 'secret'], network: 'none', log: { driver: 'swapplug' }, stdout: collector(), stderr: collector() }).catch(() => undefined);
      expect(await readFile(target, 'utf8')).toBe('');
    } finally {
      await swapping.stop();
    }
  });
});

describe('logs', () => {
  test("without ReadLogs, logs reads docker's dual-logging cache", async () => {
    const id = await runLogged('logplug', 'echo one; echo two >&2');
    const read = [];
    for await (const entry of engine.logs(id)) read.push([entry.stream, entry.line]);
    // Two pipes: their lines' order between them is the kernel's.
    expect(read.sort()).toEqual([
      ['stderr', 'two'],
      ['stdout', 'one'],
    ]);
  });

  test('with ReadLogs, logs is the plugin\'s ReadLogs stream, with the Config asked for', async () => {
    const id = await runLogged('readplug', 'echo one; echo two; echo three');
    const read = [];
    for await (const entry of engine.logs(id, { tail: 2 })) read.push([entry.stream, entry.line]);
    expect(read).toEqual([
      ['stdout', 'two'],
      ['stdout', 'three'],
    ]);
    const [asked] = (await reader.callsOf('LogDriver.ReadLogs')).filter((call) => call.body.Info?.ContainerID === id);
    expect(asked?.body.Config).toEqual({ Since: '0001-01-01T00:00:00Z', Until: '0001-01-01T00:00:00Z', Tail: 2, Follow: false });
  });

  test('with ReadLogs, only the streams asked for are given', async () => {
    const id = await runLogged('readplug', 'echo out; echo err >&2');
    const read = [];
    for await (const entry of engine.logs(id, { stdout: false })) read.push([entry.stream, entry.line]);
    expect(read).toEqual([['stderr', 'err']]);
  });
});

describe('a managed logging plugin', () => {
  test('is given its FIFO as it sees it, under /run/docker/logging inside its rootfs, and reads the lines there', async () => {
    const dir = await writePluginDir(join(dataDir, 'managed'), {
      description: 'A test logging plugin',
      entrypoint: ['/usr/bin/node', '/plugin/log-server.js', '/run/docker/plugins/log.sock', '/data'],
      interface: { types: ['docker.logdriver/1.0'], socket: 'log.sock' },
    });
    await copyFile(join(__dirname, 'support', 'log-plugin-server.js'), join(dir, 'rootfs', 'plugin', 'log-server.js'));
    await engine.createPlugin('test/logger', tarTree(dir, ''));
    await engine.enablePlugin('test/logger');
    const pluginRoot = join(t.root, 'plugins', (await engine.inspectPlugin('test/logger')).Id, 'rootfs');
    const id = await runLogged('test/logger', 'echo from a managed plugin');
    const seen = await eventually(
      () => readFile(join(pluginRoot, 'data', 'entries.log'), 'utf8').catch(() => ''),
      (text) => text.includes(id),
    );
    const [entry] = seen.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LoggedEntry);
    expect(entry).toMatchObject({ file: `/run/docker/logging/${id}`, container: id, source: 'stdout', line: 'from a managed plugin' });
    expect(existsSync(join(pluginRoot, 'run', 'docker', 'logging', id))).toBe(false);
  });

  test('whose rootfs links its log directory out of itself is refused at start, with nothing made outside', async () => {
    const dir = await writePluginDir(join(dataDir, 'escaping'), {
      description: 'A test logging plugin',
      entrypoint: ['/usr/bin/node', '/plugin/log-server.js', '/run/docker/plugins/log.sock', '/data'],
      interface: { types: ['docker.logdriver/1.0'], socket: 'log.sock' },
    });
    await copyFile(join(__dirname, 'support', 'log-plugin-server.js'), join(dir, 'rootfs', 'plugin', 'log-server.js'));
    await engine.createPlugin('test/escaping', tarTree(dir, ''));
    await engine.enablePlugin('test/escaping');
    const pluginRoot = join(t.root, 'plugins', (await engine.inspectPlugin('test/escaping')).Id, 'rootfs');
    const outside = await mkdtemp(join(tmpdir(), 'ctr-log-plugin-outside-'));
    try {
      await mkdir(join(pluginRoot, 'run', 'docker'), { recursive: true });
      await rm(join(pluginRoot, 'run', 'docker', 'logging'), { recursive: true, force: true });
      await symlink(outside, join(pluginRoot, 'run', 'docker', 'logging'));
      await expect(
        engine.run({ image: 'busybox', pull: 'never', cmd: ['true'], network: 'none', log: { driver: 'test/escaping' }, stdout: collector(), stderr: collector() }),
      ).rejects.toMatchObject({ message: expect.stringContaining("leads out of the plugin's rootfs") });
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
