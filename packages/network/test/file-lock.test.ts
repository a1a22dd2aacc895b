import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { withFileLock } from '../src/lock';

/** The lock between processes that guards a root's network state and the host-wide choices. */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ctr-file-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const thisBoot = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();

test('a wait cut short by its signal is Aborted, naming the lock it waited for', async () => {
  const file = path.join(dir, 'held.lock');
  writeFileSync(file, `${process.pid} ${thisBoot} other-holder`);
  const controller = new AbortController();
  const waiting = withFileLock(file, async () => 'got it', controller.signal);
  controller.abort();
  await expect(waiting).rejects.toMatchObject({ code: 'Aborted', message: `waiting for the lock ${file} was cancelled` });
});

test('a lock whose holder has gone is taken over', async () => {
  const file = path.join(dir, 'left.lock');
  writeFileSync(file, `2147483646 ${thisBoot} gone`);
  await expect(withFileLock(file, async () => 'got it')).resolves.toBe('got it');
});

test('a lock written before the machine restarted is taken over, though its PID names a live process again', async () => {
  const file = path.join(dir, 'rebooted.lock');
  writeFileSync(file, `${process.ppid} 00000000-0000-0000-0000-000000000000 before`);
  await expect(withFileLock(file, async () => 'got it')).resolves.toBe('got it');
});

test('waiters that find a dead holder\'s lock together get it one at a time', async () => {
  const file = path.join(dir, 'contended.lock');
  writeFileSync(file, `2147483646 ${thisBoot} gone`);
  let inside = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: 8 }, () =>
      withFileLock(file, async () => {
        most = Math.max(most, ++inside);
        await sleep(5);
        inside--;
      }),
    ),
  );
  expect(most).toBe(1);
});

test('the lock is gone once its holder is done, and leaves nothing beside it', async () => {
  const file = path.join(dir, 'done.lock');
  await withFileLock(file, async () => undefined);
  expect(readdirSync(dir)).toEqual([]);
});
