/**
 * `--log-opt max-size=… --log-opt max-file=N` keeps N files of log, as docker's json-file
 * driver does, and `ctr logs` shows them all; `logs --follow --until` stops at `until`.
 */
import { localCtr, type LocalCtr } from './local-ctr';

const RUN = ['--network', 'none', '--pull', 'never'];
const TWO_HUNDRED = ['sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo line$i; i=$((i+1)); done'];

let ctr: LocalCtr;
beforeAll(async () => {
  ctr = await localCtr('log-rotation');
});
afterAll(async () => {
  await ctr.cleanup();
});

async function logLines(name: string): Promise<string[]> {
  return (await ctr.run('logs', name)).stdout.trim().split('\n');
}

test('max-file 3 keeps three times what max-file 1 keeps, the newest lines, in order', async () => {
  expect((await ctr.run('run', '--name', 'one-file', ...RUN, '--log-opt', 'max-size=1k', 'busybox', ...TWO_HUNDRED)).code).toBe(0);
  expect((await ctr.run('run', '--name', 'three-files', ...RUN, '--log-opt', 'max-size=1k', '--log-opt', 'max-file=3', 'busybox', ...TWO_HUNDRED)).code).toBe(0);
  const one = await logLines('one-file');
  const three = await logLines('three-files');
  expect(three.length).toBeGreaterThanOrEqual(2 * 19 + 1);
  expect(three.length).toBeGreaterThan(2 * one.length);
  expect(three).toEqual(Array.from({ length: three.length }, (_, i) => `line${200 - three.length + i}`));
});

test('compress=true gzips the rotated files and logs still shows them', async () => {
  const run = await ctr.run('run', '--name', 'gzipped', ...RUN, '--log-opt', 'max-size=1k', '--log-opt', 'max-file=3', '--log-opt', 'compress=true', 'busybox', ...TWO_HUNDRED);
  expect(run.code).toBe(0);
  expect(await logLines('gzipped')).toEqual(await logLines('three-files'));
});

test("compress with one file is refused in docker's words, with 125", async () => {
  const run = await ctr.run('run', '--rm', ...RUN, '--log-opt', 'max-size=1k', '--log-opt', 'compress=true', 'busybox', 'true');
  expect(run.code).toBe(125);
  expect(run.stderr).toContain('compress cannot be true when max-file is less than 2 or max-size is not set');
});

test('logs --follow --until a moment ahead ends then, while the container runs on', async () => {
  expect((await ctr.run('run', '-d', '--name', 'ticking', ...RUN, 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.2; done')).code).toBe(0);
  const until = new Date(Date.now() + 1500).toISOString();
  const started = Date.now();
  const followed = await ctr.run('logs', '--follow', '--until', until, 'ticking');
  expect(followed.code).toBe(0);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(followed.stdout).toMatch(/^tick\n/);
  expect((await ctr.run('inspect', '--format', '{{.State.Running}}', 'ticking')).stdout.trim()).toBe('true');
});
