/**
 * The engine's `detachKeys` (docker's `--detach-keys` as a library option): typed on a TTY
 * session's stdin, run, attach and exec reject with `detachedError` and the container (or
 * exec) runs on; a pipe's bytes are never taken for keys; bad keys fail before anything is made.
 */
import { PassThrough } from 'node:stream';
import { isDetached } from '@ctr/engine';
import { collector, eventually, testEngine, type TestEngine } from './fixture';

const CTRL_P = Buffer.from([0x10]);
const CTRL_Q = Buffer.from([0x11]);

let t: TestEngine;

beforeAll(async () => {
  t = await testEngine();
  // A program with a terminal and its stdin open, for attach and exec to reach.
  await t.engine.run({ image: 'busybox', name: 'lib-target', network: 'none', pull: 'never', tty: true, openStdin: true, cmd: ['cat'], detach: true });
});

afterAll(async () => {
  await t?.cleanup();
});

/** Resolves with what `promise` rejected with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

/** Writes once `out` has shown `text`: the program runs and reads. */
async function whenShown(out: ReturnType<typeof collector>, text: string): Promise<void> {
  expect(await eventually(async () => out.text(), (shown) => shown.includes(text))).toContain(text);
}

test('run with a TTY rejects with the detach error once the keys are typed, and the container runs on', async () => {
  const stdin = new PassThrough();
  const out = collector();
  const run = t.engine.run({ image: 'busybox', name: 'lib-run', network: 'none', pull: 'never', tty: true, openStdin: true, cmd: ['sh', '-c', 'echo ready; exec cat'], stdin, stdout: out });
  await whenShown(out, 'ready');
  stdin.write(CTRL_P);
  stdin.write(CTRL_Q);
  expect(isDetached(await rejection(run))).toBe(true);
  expect((await t.engine.inspect('lib-run')).State.Running).toBe(true);
});

test('attach with custom keys detaches, and the next attach still reaches the program', async () => {
  const first = new PassThrough();
  const out = collector();
  const attach = t.engine.attach('lib-target', { stdin: first, stdout: out, detachKeys: 'ctrl-a,x' });
  first.write('one\r');
  await whenShown(out, 'one');
  first.write('\x01x');
  expect(isDetached(await rejection(attach))).toBe(true);
  const second = new PassThrough();
  const again = collector();
  const reattached = t.engine.attach('lib-target', { stdin: second, stdout: again });
  second.write('two\r');
  await whenShown(again, 'two');
  second.write(Buffer.concat([CTRL_P, CTRL_Q]));
  expect(isDetached(await rejection(reattached))).toBe(true);
});

test('exec with a TTY detaches; the process runs on', async () => {
  const stdin = new PassThrough();
  const out = collector();
  const exec = t.engine.exec('lib-target', { cmd: ['sh', '-c', 'echo ready; exec sleep 600'], tty: true, stdin, stdout: out });
  await whenShown(out, 'ready');
  stdin.write(Buffer.concat([CTRL_P, CTRL_Q]));
  expect(isDetached(await rejection(exec))).toBe(true);
  const ps = collector();
  await t.engine.exec('lib-target', { cmd: ['ps', '-o', 'args'], stdout: ps });
  expect(ps.text()).toMatch(/^sleep 600$/m);
});

test('without a TTY the keys are the program\'s input', async () => {
  const out = collector();
  const stdin = new PassThrough();
  stdin.end(Buffer.concat([Buffer.from('a'), CTRL_P, CTRL_Q, Buffer.from('b')]));
  const { exitCode } = await t.engine.exec('lib-target', { cmd: ['od', '-An', '-tx1'], stdin, stdout: out });
  expect(exitCode).toBe(0);
  expect(out.text().trim()).toBe('61 10 11 62');
});

test('bad keys fail the run before a container is made', async () => {
  const before = (await t.engine.ps({ all: true })).length;
  const error = await rejection(t.engine.run({ image: 'busybox', network: 'none', pull: 'never', tty: true, openStdin: true, stdin: new PassThrough(), detachKeys: 'ctrl-' }));
  expect((error as Error).message).toBe('Invalid detach keys (ctrl-) provided');
  expect((await t.engine.ps({ all: true })).length).toBe(before);
});
