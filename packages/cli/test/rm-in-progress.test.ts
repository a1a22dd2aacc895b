/**
 * `ctr rm` of a container whose removal is under way in another ctr process: refused at once
 * in docker's words (`Error response from daemon: removal of container X is already in
 * progress`, exit 1); and `ctr run --rm` racing a `ctr rm` returns only once the container is
 * gone. A removal is kept under way by a hold this process
 * notes on the container's root filesystem (as a copy's), which it waits for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { thisProcess } from '@ctr/store';
import { eventually, localCtr, type CtrResult, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;
const children: ChildProcess[] = [];
beforeAll(async () => {
  ctr = await localCtr('rm-in-progress');
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await ctr?.cleanup();
});

const holders = (id: string): string => join(ctr.runRoot, 'engine', 'rootfs-holders', id);
const removalMarked = async (id: string): Promise<boolean> => lstatSync(`${holders(id)}.removing`, { throwIfNoEntry: false }) !== undefined;

/** A hold on container `id`'s root filesystem by this process, in the engine's words for one (`<pid> <start time>`), until the returned release. */
function hold(id: string): () => void {
  const note = join(holders(id), `${process.pid}-rm-in-progress`);
  mkdirSync(holders(id), { recursive: true });
  symlinkSync(`${process.pid} ${thisProcess().startTime}`, note);
  return () => rmSync(note, { force: true });
}

/** `ctr args…` as a process of its own, with its input open: how it ends. */
function started(...args: string[]): { child: ChildProcess; ended: Promise<CtrResult> } {
  const [file, ...rest] = ctr.argv(...args);
  const child = spawn(file!, rest, { env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = once(child, 'close').then(([code]) => ({ code: (code as number | null) ?? 128, stdout, stderr }));
  return { child, ended };
}

const idOf = async (name: string): Promise<string> => (await ctr.run('inspect', '-f', '{{.Id}}', name)).stdout.trim();
const inspected = async (name: string, field: string): Promise<string> => (await ctr.run('inspect', '-f', `{{${field}}}`, name)).stdout.trim();

test('rm of a container whose removal is under way is refused at once, in docker’s words, exit 1', async () => {
  const id = (await ctr.run('create', '--name', 'rip-cli', '--network', 'none', 'busybox', 'true')).stdout.trim();
  const release = hold(id);
  const first = started('rm', 'rip-cli');
  try {
    expect(await eventually(() => removalMarked(id))).toBe(true);
    expect(await ctr.run('rm', 'rip-cli')).toEqual({ code: 1, stdout: '', stderr: 'Error response from daemon: removal of container rip-cli is already in progress\n' });
  } finally {
    release();
  }
  expect(await first.ended).toEqual({ code: 0, stdout: 'rip-cli\n', stderr: '' });
  expect((await ctr.run('ps', '-aq', '--no-trunc')).stdout).not.toContain(id);
});

test('run --rm whose container an rm under way removes returns once the container is gone', async () => {
  const run = started('run', '--rm', '-i', '--name', 'rip-cli-run', '--network', 'none', 'busybox', 'sh', '-c', 'read x');
  expect(await eventually(async () => (await inspected('rip-cli-run', '.State.Running')) === 'true')).toBe(true);
  const id = await idOf('rip-cli-run');
  const release = hold(id);
  const rm = started('rm', '-f', 'rip-cli-run');
  try {
    expect(await eventually(() => removalMarked(id))).toBe(true);
    run.child.stdin!.end('x\n');
    // Exited (run's removal now waits for the rm, or comes after it): the rm goes on.
    expect(await eventually(async () => (await inspected('rip-cli-run', '.State.Status')) === 'exited')).toBe(true);
  } finally {
    release();
  }
  expect(await run.ended).toEqual({ code: 0, stdout: '', stderr: '' });
  expect((await ctr.run('ps', '-aq', '--no-trunc')).stdout).not.toContain(id);
  // Under way first, the rm is the one that removes it.
  expect(await rm.ended).toEqual({ code: 0, stdout: 'rip-cli-run\n', stderr: '' });
});
