import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, type EngineEvent } from '@ctr/engine';
import { eventually, testEngine, type TestEngine } from './fixture';

/** Health checks: a probe is an exec in the container; its exit code says healthy or not. */
let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => t.cleanup());

const ms = 1e6;

async function started(name: string, Test: string[], more: { Retries?: number; StartPeriod?: number; Timeout?: number; Interval?: number } = {}): Promise<string> {
  const { id } = await t.engine.create({ image: 'busybox', name, cmd: ['sleep', '60'], network: 'none', pull: 'never', healthcheck: { Test, ...more } });
  await t.engine.start(id);
  return id;
}

test('a started container is starting until its first probe', async () => {
  const id = await started('hc-starting', ['CMD', 'true']);
  const inspect = await t.engine.inspect(id);
  expect(inspect.State.Health).toEqual({ Status: 'starting', FailingStreak: 0, Log: [] });
  expect(inspect.Config.Healthcheck).toEqual({ Test: ['CMD', 'true'] });
  const [summary] = await t.engine.ps({ filters: { name: ['hc-starting'] } });
  expect(summary?.Status).toMatch(/^Up .* \(health: starting\)$/);
});

test('a probe that exits 0 makes the container healthy, with the probe in its log', async () => {
  const id = await started('hc-healthy', ['CMD-SHELL', 'echo fine; exit 0']);
  const health = await t.engine.healthcheck(id);
  expect(health.Status).toBe('healthy');
  expect(health.Log).toEqual([expect.objectContaining({ ExitCode: 0, Output: 'fine\n' })]);
  expect((await t.engine.inspect(id)).State.Health?.Status).toBe('healthy');
  expect((await t.engine.ps({ filters: { health: ['healthy'] } })).map((c) => c.Names[0])).toEqual(['/hc-healthy']);
});

test('failing probes make it unhealthy after Retries failures in a row', async () => {
  const id = await started('hc-failing', ['CMD', 'false'], { Retries: 2 });
  expect((await t.engine.healthcheck(id)).Status).toBe('starting');
  const health = await t.engine.healthcheck(id);
  expect(health).toMatchObject({ Status: 'unhealthy', FailingStreak: 2 });
});

test('failures within the start period do not count', async () => {
  const id = await started('hc-grace', ['CMD', 'false'], { Retries: 1, StartPeriod: 60_000 * ms });
  expect(await t.engine.healthcheck(id)).toMatchObject({ Status: 'starting', FailingStreak: 0 });
});

test('a probe that outlives its timeout counts as a failure', async () => {
  const id = await started('hc-slow', ['CMD', 'sleep', '5'], { Retries: 1, Timeout: 200 * ms });
  const health = await t.engine.healthcheck(id);
  expect(health.Status).toBe('unhealthy');
  expect(health.Log.at(-1)).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (200ms)' });
});

test('a probe past its timeout is killed', async () => {
  const id = await started('hc-hung', ['CMD', 'sleep', '1002'], { Retries: 1, Timeout: 200 * ms });
  await t.engine.healthcheck(id);
  const top = await t.engine.top(id);
  expect(top.Processes.map((p) => p.at(-1))).not.toContain('sleep 1002');
});

test('the log keeps the last five probes', async () => {
  const id = await started('hc-log', ['CMD', 'true']);
  for (let i = 0; i < 7; i++) await t.engine.healthcheck(id);
  expect((await t.engine.inspect(id)).State.Health?.Log).toHaveLength(5);
});

test('a change of status is a health_status event', async () => {
  const since = Date.now() / 1000;
  const id = await started('hc-event', ['CMD', 'true']);
  await t.engine.healthcheck(id);
  await t.engine.healthcheck(id);
  const events: EngineEvent[] = [];
  for await (const e of t.engine.events({ since, until: Date.now() / 1000 + 1, filters: { container: [id] } })) events.push(e);
  expect(events.filter((e) => e.Action.startsWith('health_status')).map((e) => e.Action)).toEqual(['health_status: healthy']);
});

test('each probe is an exec, with exec_create, exec_start and exec_die events naming one exec ID', async () => {
  const since = Date.now() / 1000;
  const id = await started('hc-exec-events', ['CMD-SHELL', 'exit 3']);
  await t.engine.healthcheck(id);
  const events: EngineEvent[] = [];
  for await (const e of t.engine.events({ since, until: Date.now() / 1000 + 1, filters: { container: [id], event: ['exec_create', 'exec_start', 'exec_die'] } })) events.push(e);
  expect(events.map((e) => e.Action)).toEqual(['exec_create: /bin/sh -c exit 3', 'exec_start: /bin/sh -c exit 3', 'exec_die']);
  expect(new Set(events.map((e) => e.Actor.Attributes.execID)).size).toBe(1);
  expect(events[2]?.Actor.Attributes).toMatchObject({ exitCode: '3', name: 'hc-exec-events', image: 'busybox' });
});

test("a CMD-SHELL probe runs its text after the container's Config.Shell", async () => {
  const shell = ['/bin/echo', 'the shell was given:'];
  const { id } = await t.engine.create({ image: 'busybox', name: 'hc-shell', cmd: ['sleep', '60'], network: 'none', pull: 'never', shell, healthcheck: { Test: ['CMD-SHELL', 'exit 3'] } });
  await t.engine.start(id);
  const health = await t.engine.healthcheck(id);
  expect(health.Log).toEqual([expect.objectContaining({ ExitCode: 0, Output: 'the shell was given: exit 3\n' })]);
  expect((await t.engine.inspect(id)).Config.Shell).toEqual(shell);
});

test("an image's SHELL is not the container's (moby's merge leaves it out): its CMD-SHELL probe runs through /bin/sh -c", async () => {
  const context = await mkdtemp(join(tmpdir(), 'ctr-hc-shell-'));
  try {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nSHELL ["/bin/echo", "image shell"]\nHEALTHCHECK CMD exit 3\n');
    await t.engine.build({ context, tags: ['hc-image:shell'] });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  const { id } = await t.engine.create({ image: 'hc-image:shell', name: 'hc-image-shell', cmd: ['sleep', '60'], network: 'none', pull: 'never' });
  await t.engine.start(id);
  expect((await t.engine.healthcheck(id)).Log).toEqual([expect.objectContaining({ ExitCode: 3, Output: '' })]);
  expect((await t.engine.inspect(id)).Config).not.toHaveProperty('Shell');
});

test('a new start begins again at starting', async () => {
  const id = await started('hc-again', ['CMD', 'true']);
  await t.engine.healthcheck(id);
  await t.engine.restart(id, { timeout: 0 });
  expect((await t.engine.inspect(id)).State.Health?.Status).toBe('starting');
});

test('the image\'s HEALTHCHECK applies, and its durations fill what the container leaves out', async () => {
  const context = await mkdtemp(join(tmpdir(), 'ctr-hc-build-'));
  try {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nHEALTHCHECK --interval=5s --retries=4 CMD true\n');
    await t.engine.build({ context, tags: ['hc-image:1'] });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  const own = await t.engine.create({ image: 'hc-image:1', network: 'none', pull: 'never', healthcheck: { Test: ['CMD', 'false'], Retries: 2 } });
  expect((await t.engine.inspect(own.id)).Config.Healthcheck).toEqual({ Test: ['CMD', 'false'], Interval: 5000 * ms, Retries: 2 });
  const inherited = await t.engine.create({ image: 'hc-image:1', network: 'none', pull: 'never' });
  expect((await t.engine.inspect(inherited.id)).Config.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'true'], Interval: 5000 * ms, Retries: 4 });
  const none = await t.engine.create({ image: 'hc-image:1', network: 'none', pull: 'never', healthcheck: { Test: ['NONE'] } });
  const inspect = await t.engine.inspect(none.id);
  // docker's inspect shows the check turned off.
  expect(inspect.Config.Healthcheck).toEqual({ Test: ['NONE'] });
  expect(inspect.State.Health).toBeUndefined();
});

test('a container with no check, or not running, is a Conflict', async () => {
  const { id } = await t.engine.create({ image: 'busybox', cmd: ['sleep', '60'], network: 'none', pull: 'never' });
  await expect(t.engine.healthcheck(id)).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('has no healthcheck') });
  const stopped = await t.engine.create({ image: 'busybox', network: 'none', pull: 'never', healthcheck: { Test: ['CMD', 'true'] } });
  await expect(t.engine.healthcheck(stopped.id)).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('is not running') });
});

test('a monitor probes running containers on their interval', async () => {
  const monitor = new Engine({ root: t.root, runRoot: t.runRoot });
  await monitor.startMonitor({ scanIntervalMs: 100 });
  try {
    const id = await started('hc-monitored', ['CMD', 'true'], { Interval: 200 * ms });
    const health = await eventually(
      async () => (await t.engine.inspect(id)).State.Health,
      (h) => (h?.Log.length ?? 0) >= 2,
    );
    expect(health?.Status).toBe('healthy');
  } finally {
    await monitor.close();
  }
});

test('a removed container leaves no health state behind', async () => {
  const id = await started('hc-removed', ['CMD', 'true']);
  await t.engine.healthcheck(id);
  await t.engine.remove(id, { force: true });
  expect(existsSync(join(t.runRoot, 'health', `${id}.json`))).toBe(false);
});
