/**
 * A reader that stops early (`ctr save x | head -c 10`, `ctr build -o - . | head -c 10`)
 * ends ctr as it ends docker (a Go program whose stdout is a closed pipe): killed by SIGPIPE,
 * quietly, so the shell sees 141 and not a success for output cut short.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, localCtr, type LocalCtr } from './local-ctr';

let local: LocalCtr;
let context: string;

beforeAll(async () => {
  local = await localCtr('broken-pipe');
  context = await mkdtemp(join(tmpdir(), 'ctr-broken-pipe-context-'));
  // Far more than a pipe holds, so the export is still writing when its reader goes.
  await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN dd if=/dev/zero of=/big bs=1M count=8\n');
});

afterAll(async () => {
  await local?.cleanup();
  if (context) await rm(context, { recursive: true, force: true });
});

/** `ctr args…` whose reader takes 10 bytes of its output and goes: how it ended, and what it said on stderr. */
function cutShort(...args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const [bin, ...rest] = local.argv(...args) as [string, ...string[]];
  const child = spawn(bin, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let taken = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    taken += chunk.length;
    if (taken >= 10) child.stdout.destroy();
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
}

test('ctr save busybox | head -c 10: killed by SIGPIPE, saying nothing', async () => {
  expect(await cutShort('save', 'busybox')).toEqual({ code: null, signal: 'SIGPIPE', stderr: '' });
});

test('ctr build -o - . | head -c 10: killed by SIGPIPE, not a success', async () => {
  const ended = await cutShort('build', '-q', '-o', '-', context);
  expect([ended.code, ended.signal]).toEqual([null, 'SIGPIPE']);
});

test('what the killed build left mounted, the next prune clears, as after any build killed', async () => {
  const mounted = async (): Promise<boolean> => (await readFile('/proc/mounts', 'utf8')).includes(`${local.root}/`);
  expect((await local.run('image', 'prune', '-f')).code).toBe(0);
  expect(await mounted()).toBe(false);
});

test('a reader that takes everything sees ctr end 0', async () => {
  expect((await local.run('save', '-o', join(context, 'busybox.tar'), 'busybox')).code).toBe(0);
});

test('ctr run --rm | head: the container is removed, however the exit and the pipe race', async () => {
  // The container ends as its reader goes: the exit often comes while ctr, killed next, still runs.
  for (let i = 0; i < 6; i++) {
    const ended = await cutShort('run', '--rm', '--pull', 'never', '--network', 'none', 'busybox', 'sh', '-c', 'echo 0123456789abcdef; echo more');
    expect([[0, null], [null, 'SIGPIPE']]).toContainEqual([ended.code, ended.signal]);
  }
  expect(await eventually(async () => (await local.run('ps', '-aq')).stdout === '')).toBe(true);
});
