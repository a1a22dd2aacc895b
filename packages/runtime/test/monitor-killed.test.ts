import { execFile } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { procStat } from '@ctr/runtime';
import { eventually, testBed, type TestBed } from './helpers';

/**
 * conmon killed (SIGKILL) under a running container: the container is not left running unseen.
 * As containerd does when a shim dies, the runtime kills it and records its exit as 255.
 */
const exec = promisify(execFile);

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

/** Whether a process runs: a zombie (its reaper not yet come) has ended. */
function runs(pid: number): boolean {
  const state = procStat(pid)?.[0];
  return state !== undefined && state !== 'Z';
}

async function running(id: string, options: { exitCommand?: string[] } = {}): Promise<number> {
  await bed.runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] } });
  await bed.runtime.start(id, options);
  return (await bed.runtime.state(id)).pid;
}

/** SIGKILL the container's conmon and return once it has died. */
async function killMonitor(id: string): Promise<void> {
  const conmon = Number(readFileSync(path.join(bed.base, 'root', 'containers', id, 'conmon.pid'), 'utf8'));
  process.kill(conmon, 'SIGKILL');
  await eventually(async () => expect(runs(conmon)).toBe(false));
}

async function runcState(id: string): Promise<string> {
  return exec('runc', ['--root', path.join(bed.base, 'run', 'runc'), 'state', id]).then(
    ({ stdout }) => stdout,
    (error: { stderr?: string }) => error.stderr ?? '',
  );
}

test('the next look at it kills the process and records exit 255, saying the monitor died', async () => {
  const pid = await running('orphan');
  await killMonitor('orphan');
  const state = await bed.runtime.state('orphan');
  expect(state).toMatchObject({ status: 'exited', running: false, exitCode: 255, error: expect.stringContaining('monitor (conmon) died') });
  expect(state.finishedAt).not.toBe('');
  expect(runs(pid)).toBe(false);
  expect(await runcState('orphan')).toContain('does not exist');
});

test('the recorded exit stays as it was on later looks', async () => {
  await running('recorded');
  await killMonitor('recorded');
  const first = await bed.runtime.state('recorded');
  expect(await bed.runtime.state('recorded')).toEqual(first);
});

test('a wait under way ends with the exit', async () => {
  await running('waited');
  const waiting = bed.runtime.wait('waited');
  await killMonitor('waited');
  expect(await waiting).toMatchObject({ exitCode: 255 });
});

test('stop finds nothing running, and delete removes it without force', async () => {
  const pid = await running('stopped');
  await killMonitor('stopped');
  expect(await bed.runtime.stop('stopped', { timeout: 0 })).toBeUndefined();
  expect(runs(pid)).toBe(false);
  await bed.runtime.delete('stopped');
  expect((await bed.runtime.list()).map((c) => c.id)).not.toContain('stopped');
});

test('kill says it is not running, and no process of it is left', async () => {
  const pid = await running('signalled');
  await killMonitor('signalled');
  await expect(bed.runtime.kill('signalled', 'SIGTERM')).rejects.toMatchObject({ code: 'Conflict' });
  expect(runs(pid)).toBe(false);
});

test('a paused container is killed too', async () => {
  const pid = await running('frozen');
  await bed.runtime.pause('frozen');
  await killMonitor('frozen');
  expect(await bed.runtime.state('frozen')).toMatchObject({ status: 'exited', paused: false, exitCode: 255 });
  expect(runs(pid)).toBe(false);
});

test('the exit command conmon would have run is run, with the exit recorded, however many look at once', async () => {
  const marker = path.join(bed.base, 'exit-command-ran');
  const exitFile = path.join(bed.base, 'root', 'containers', 'answered', 'exit');
  await running('answered', { exitCommand: ['/bin/sh', '-c', `head -n 1 ${exitFile} >> ${marker}`] });
  await killMonitor('answered');
  await Promise.all([bed.runtime.state('answered'), bed.runtime.state('answered'), bed.runtime.list()]);
  await eventually(async () => expect(await fs.readFile(marker, 'utf8')).not.toBe(''));
  // Looked at again once it ran: a second run (the command is detached) would add a line.
  await bed.runtime.state('answered');
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(await fs.readFile(marker, 'utf8')).toBe('255\n');
});

test('a start runs it again', async () => {
  await running('again');
  await killMonitor('again');
  await bed.runtime.state('again');
  await bed.runtime.start('again');
  expect(await bed.runtime.state('again')).toMatchObject({ status: 'running', running: true, exitCode: 0, error: '' });
  await bed.runtime.delete('again', { force: true });
});
