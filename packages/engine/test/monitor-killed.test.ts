import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Engine } from '@ctr/engine';
import { procStat } from '@ctr/runtime';
import { daemonlessEngine, eventually, testEngine, type TestEngine } from './fixture';

/**
 * A container whose monitor (conmon) is killed with SIGKILL while it runs is never left running
 * unseen: as when containerd's shim dies, it is killed and its exit is 255, answered as any exit.
 */
let t: TestEngine;
/** The same root, daemonless as the ctr command runs it. */
let daemonless: Engine;
beforeAll(async () => {
  t = await testEngine();
  daemonless = daemonlessEngine(t.root, t.runRoot);
});
afterAll(async () => {
  await daemonless?.close();
  await t?.cleanup();
});

/** Whether a process runs: a zombie (its reaper not yet come) has ended. */
function runs(pid: number): boolean {
  const state = procStat(pid)?.[0];
  return state !== undefined && state !== 'Z';
}

/** SIGKILL the container's conmon and return once it has died. */
async function killMonitor(id: string): Promise<void> {
  const conmon = Number(readFileSync(path.join(t.root, 'containers', id, 'conmon.pid'), 'utf8'));
  process.kill(conmon, 'SIGKILL');
  expect(await eventually(async () => runs(conmon), (alive) => !alive)).toBe(false);
}

const WRITER = ['sh', '-c', 'while :; do date >> /data/f; sleep 0.1; done'];

test('it shows Exited (255), its process is gone, and its named volume keeps what it wrote', async () => {
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', volumes: ['kept-data:/data'], cmd: WRITER, detach: true });
  const pid = (await t.engine.inspect(id)).State.Pid;
  const file = path.join((await t.engine.inspectVolume('kept-data')).Mountpoint, 'f');
  const written = await eventually(() => readFile(file, 'utf8').catch(() => ''), (text) => text.split('\n').length > 2);
  await killMonitor(id);
  const [summary] = await t.engine.ps({ all: true, filters: { id: [id] } });
  expect(summary?.Status).toMatch(/^Exited \(255\) /);
  expect((await t.engine.inspect(id)).State).toMatchObject({ Status: 'exited', Running: false, ExitCode: 255, Error: expect.stringContaining('monitor (conmon) died') });
  expect(runs(pid)).toBe(false);
  expect((await readFile(file, 'utf8')).startsWith(written)).toBe(true);
  await t.engine.remove(id, { volumes: true });
});

test('stop leaves no process running, and rm removes it without force', async () => {
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sleep', '1000'], detach: true });
  const pid = (await t.engine.inspect(id)).State.Pid;
  await killMonitor(id);
  await t.engine.stop(id, { timeout: 0 });
  expect(runs(pid)).toBe(false);
  await t.engine.remove(id);
  await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
});

test('restart always, daemonless: the exit command run in conmon\'s place starts it again', async () => {
  const { id } = await daemonless.run({ image: 'busybox', pull: 'never', network: 'none', restart: 'always', cmd: ['sleep', '1000'], detach: true });
  const pid = (await daemonless.inspect(id)).State.Pid;
  await killMonitor(id);
  const restarted = await eventually(() => t.engine.inspect(id), (c) => c.RestartCount === 1 && c.State.Status === 'running');
  expect(restarted).toMatchObject({ RestartCount: 1, State: { Status: 'running', Running: true } });
  expect(restarted.State.Pid).not.toBe(pid);
  expect(runs(pid)).toBe(false);
  await t.engine.remove(id, { force: true });
});

test('restart always, with an engine monitoring: the monitor starts it again', async () => {
  const watcher = new Engine({ root: t.root, runRoot: t.runRoot });
  try {
    await watcher.startMonitor({ scanIntervalMs: 200 });
    const { id } = await watcher.run({ image: 'busybox', pull: 'never', network: 'none', restart: 'always', cmd: ['sleep', '1000'], detach: true });
    const pid = (await watcher.inspect(id)).State.Pid;
    await killMonitor(id);
    const restarted = await eventually(() => watcher.inspect(id), (c) => c.RestartCount === 1 && c.State.Status === 'running');
    expect(restarted).toMatchObject({ RestartCount: 1, State: { Status: 'running', Running: true } });
    expect(runs(pid)).toBe(false);
    await watcher.remove(id, { force: true });
  } finally {
    await watcher.close();
  }
});
