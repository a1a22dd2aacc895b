import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { runProcess } from '../../../test/support/run-process';
import { localCtr, type LocalCtr } from './local-ctr';

/**
 * An attached ctr passes the signals it receives on to the container's process (docker's
 * `--sig-proxy`, on by default): Ctrl-C in a terminal reaches the program, whose last words
 * and exit code come back as they would under docker.
 */
let local: LocalCtr;

beforeAll(async () => {
  local = await localCtr('signals');
});

afterAll(async () => {
  await local.cleanup();
});

/** A program that says "ready", then answers SIGINT and SIGTERM by name and exits 3. */
const TRAPPING = 'trap "echo got INT; exit 3" INT; trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.05; done';

interface Started {
  /** Resolves once the program has said "ready". */
  ready: Promise<void>;
  /** ctr's exit code (128 + n for a signal), with all it wrote to stdout. */
  exited: Promise<{ code: number; stdout: string }>;
  pid: number;
}

/** Start `ctr args…` leading a process group of its own, as a terminal's foreground job. */
function startCtr(...args: string[]): Started {
  const [launcher, ...rest] = local.argv(...args);
  const child = spawn(launcher as string, rest, { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('ready\n')) markReady();
  });
  const exited = new Promise<{ code: number; stdout: string }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code: code ?? 128 + constants.signals[signal as NodeJS.Signals], stdout }));
  });
  return { ready, exited, pid: child.pid as number };
}

test('Ctrl-C (SIGINT to ctr run\'s process group) reaches the program, and ctr ends with what it said last and its exit code', async () => {
  const run = startCtr('run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', TRAPPING);
  await run.ready;
  process.kill(-run.pid, 'SIGINT');
  expect(await run.exited).toEqual({ code: 3, stdout: 'ready\ngot INT\n' });
});

test('a SIGTERM sent to ctr run alone is passed to the program', async () => {
  const run = startCtr('run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', TRAPPING);
  await run.ready;
  process.kill(run.pid, 'SIGTERM');
  expect(await run.exited).toEqual({ code: 3, stdout: 'ready\ngot TERM\n' });
});

test('ctr start -a passes Ctrl-C on to the program, and ends at once with 0, as docker start does', async () => {
  expect((await local.run('create', '--name', 'started', '--network', 'none', 'busybox', 'sh', '-c', TRAPPING)).code).toBe(0);
  const start = startCtr('start', '-a', 'started');
  await start.ready;
  process.kill(-start.pid, 'SIGINT');
  expect((await start.exited).code).toBe(0);
  expect((await local.run('wait', 'started')).stdout).toBe('3\n');
  expect((await local.run('logs', 'started')).stdout).toBe('ready\ngot INT\n');
});

test('ctr attach passes signals on to a container that was already running', async () => {
  // Attach shows only what is said after it connects: the program keeps saying it is ready.
  const program = 'trap "echo got TERM; exit 3" TERM; while :; do echo ready; sleep 0.05; done';
  expect((await local.run('run', '-d', '--name', 'attached', '--network', 'none', 'busybox', 'sh', '-c', program)).code).toBe(0);
  const attach = startCtr('attach', 'attached');
  await attach.ready;
  process.kill(attach.pid, 'SIGTERM');
  const { code, stdout } = await attach.exited;
  expect(code).toBe(3);
  expect(stdout.endsWith('got TERM\n')).toBe(true);
});

test('with --sig-proxy=false, Ctrl-C reaches neither the program nor ends ctr run: it stays attached until the program ends', async () => {
  const run = startCtr('run', '--sig-proxy=false', '--name', 'unproxied', '--network', 'none', 'busybox', 'sh', '-c', TRAPPING);
  await run.ready;
  process.kill(-run.pid, 'SIGINT');
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect((await local.run('inspect', '--format', '{{.State.Status}}', 'unproxied')).stdout).toBe('running\n');
  expect((await local.run('kill', '--signal', 'TERM', 'unproxied')).code).toBe(0);
  expect(await run.exited).toEqual({ code: 3, stdout: 'ready\ngot TERM\n' });
});

test('Ctrl-C ends ctr exec at once with 0, as docker exec, and its program runs on in the container', async () => {
  expect((await local.run('run', '-d', '--name', 'execd', '--network', 'none', 'busybox', 'sleep', '600')).code).toBe(0);
  const exec = startCtr('exec', 'execd', 'sh', '-c', `echo $$ > /tmp/exec.pid; ${TRAPPING}`);
  await exec.ready;
  process.kill(-exec.pid, 'SIGINT');
  expect(await exec.exited).toEqual({ code: 0, stdout: 'ready\n' });
  const alive = await local.run('exec', 'execd', 'sh', '-c', 'kill -0 "$(cat /tmp/exec.pid)" && echo alive');
  expect(alive.stdout).toBe('alive\n');
  expect((await local.run('rm', '-f', 'execd')).code).toBe(0);
});

test('SIGPROF stays with ctr: a run under node --cpu-prof ends as its program does, and leaves its profile', async () => {
  const profiles = await mkdtemp(path.join(tmpdir(), 'ctr-cpu-prof-'));
  try {
    // bin/ctr runs bin/ctr.js; Node takes --cpu-prof on its command line only.
    const [launcher, ...args] = local.argv('run', '--rm', '--network', 'none', 'busybox', 'sleep', '0.3');
    const result = await runProcess(process.execPath, [`--cpu-prof`, `--cpu-prof-dir=${profiles}`, `${launcher}.js`, ...args], { env: process.env });
    expect(result.code).toBe(0);
    expect((await readdir(profiles)).filter((name) => name.endsWith('.cpuprofile'))).toHaveLength(1);
  } finally {
    await rm(profiles, { recursive: true, force: true });
  }
});
