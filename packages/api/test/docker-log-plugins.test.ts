import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../engine/test/fixture';
import { startLogPlugin, type TestLogPlugin } from '../../engine/test/support/log-plugin';
import { docker, useTestDaemon } from './fixture';

/** The real docker CLI against ctrd with logging plugins (the engine's test plugin) in the daemon's plugin directory. */
const pluginDir = mkdtempSync(join(tmpdir(), 'ctr-api-log-plugins-'));
const dataDir = mkdtempSync(join(tmpdir(), 'ctr-api-log-plugin-data-'));
const t = useTestDaemon({ plugins: { legacy: { sockets: [pluginDir], specs: [pluginDir] }, activateTimeoutMs: 0 } });
let plain: TestLogPlugin;
let reader: TestLogPlugin;

jest.setTimeout(60_000);

beforeAll(async () => {
  plain = await startLogPlugin(join(pluginDir, 'apilog.sock'), join(dataDir, 'plain'));
  reader = await startLogPlugin(join(pluginDir, 'apiread.sock'), join(dataDir, 'reader'), { PLUGIN_READ_LOGS: '1' });
});
afterAll(async () => {
  for (const c of await t.daemon.engine.ps({ all: true }).catch(() => [])) await t.daemon.engine.remove(c.Id, { force: true }).catch(() => undefined);
  await Promise.all([plain?.stop(), reader?.stop()]);
  await rm(pluginDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

test('docker run --log-driver PLUGIN sends the output to the plugin, and docker logs reads the cache', async () => {
  const run = await docker(t.env, ['run', '--name', 'to-plugin', '--network', 'none', '--log-driver', 'apilog', '--log-opt', 'team=a', 'busybox', 'sh', '-c', 'echo hello; echo oops >&2']);
  expect(run).toMatchObject({ code: 0, stdout: 'hello\n', stderr: 'oops\n' });
  const id = (await docker(t.env, ['inspect', '-f', '{{.Id}}', 'to-plugin'])).stdout.trim();
  const entries = await eventually(
    () => plain.entriesOf(id),
    (got) => got.length >= 2,
  );
  expect(entries.map((e) => [e.source, e.line]).sort()).toEqual([
    ['stderr', 'oops'],
    ['stdout', 'hello'],
  ]);
  expect((await docker(t.env, ['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'to-plugin'])).stdout).toBe('{"Type":"apilog","Config":{"team":"a"}}\n');
  expect(await docker(t.env, ['logs', 'to-plugin'])).toMatchObject({ code: 0, stdout: 'hello\n', stderr: 'oops\n' });
  // The daemon's monitor sees the exit, and releases what the run held.
  const fifo = join(t.runRoot, 'log-plugins', id);
  const stops = await eventually(
    () => plain.callsOf('LogDriver.StopLogging'),
    (calls) => calls.some((c) => c.body.File === fifo),
  );
  expect(stops.map((c) => c.body.File)).toContain(fifo);
});

test("docker logs of a container whose plugin reads logs back is the plugin's ReadLogs", async () => {
  expect(await docker(t.env, ['run', '--name', 'read-back', '--network', 'none', '--log-driver', 'apiread', 'busybox', 'sh', '-c', 'echo first; echo second'])).toMatchObject({ code: 0 });
  expect(await docker(t.env, ['logs', '--tail', '1', 'read-back'])).toMatchObject({ code: 0, stdout: 'second\n' });
  expect((await reader.callsOf('LogDriver.ReadLogs')).at(-1)?.body.Config).toMatchObject({ Tail: 1, Follow: false });
});

test("docker run with a log driver nobody has is refused in dockerd's words", async () => {
  const run = await docker(t.env, ['run', '--rm', '--network', 'none', '--log-driver', 'nosuch', 'busybox', 'true']);
  expect(run.code).toBe(125);
  expect(run.stderr).toContain("logger: no log driver named 'nosuch' is registered");
});
