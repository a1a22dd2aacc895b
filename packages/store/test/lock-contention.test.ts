/**
 * Several callers in one process try one lock at the same instant while the thread pool is
 * busy (as during a pull: writes, fsyncs and hashing keep its threads occupied, so file
 * system completions arrive out of order). Exactly one may win: a rival that sees the new
 * lock before the winner's completion has run must not take it for a stale lock of its own
 * process and break it.
 */
import { pbkdf2 } from 'node:crypto';
import * as path from 'node:path';
import { tryAcquireLock } from '../src/lock';
import { removeDir, tempDir } from './helpers';

let dir: string;
beforeAll(async () => (dir = await tempDir('lock-contention')));
afterAll(async () => removeDir(dir));

test('of six simultaneous tryAcquireLock calls in one process exactly one wins, round after round', async () => {
  for (let round = 0; round < 300; round++) {
    const busy = Array.from({ length: 3 }, (_, i) => new Promise((resolve) => pbkdf2('x', 'y', 2000 + ((round * 997 + i * 331) % 3000), 32, 'sha256', resolve)));
    const file = path.join(dir, `lock-${round}`);
    const attempts = await Promise.all(Array.from({ length: 6 }, () => tryAcquireLock(file)));
    await Promise.all(busy);
    const winners = attempts.filter((release) => release !== undefined);
    expect(winners).toHaveLength(1);
    await winners[0]!();
  }
});
