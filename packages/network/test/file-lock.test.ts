import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withFileLock } from '../src/lock';

/** The lock between processes that guards a root's network state and the host-wide choices. */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ctr-file-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a wait cut short by its signal is Aborted, naming the lock it waited for', async () => {
  const file = path.join(dir, 'held.lock');
  writeFileSync(file, String(process.pid));
  const controller = new AbortController();
  const waiting = withFileLock(file, async () => 'got it', controller.signal);
  controller.abort();
  await expect(waiting).rejects.toMatchObject({ code: 'Aborted', message: `waiting for the lock ${file} was cancelled` });
});

test('a lock whose holder has gone is taken over', async () => {
  const file = path.join(dir, 'left.lock');
  writeFileSync(file, '2147483646');
  await expect(withFileLock(file, async () => 'got it')).resolves.toBe('got it');
});
