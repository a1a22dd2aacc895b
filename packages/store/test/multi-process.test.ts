import * as path from 'node:path';
import { openStore } from '@ctr/store';
import { removeDir, spawnTs, tempDir, waitExit } from './helpers';

const WORKER = path.join(__dirname, 'fixtures', 'worker.ts');
const ROUNDS = 25;
let dir: string;
beforeEach(async () => (dir = await tempDir('multiproc')));
afterEach(async () => removeDir(dir));

test('four processes tagging, writing and ingesting on one root at once leave it complete and fsck-clean', async () => {
  const root = path.join(dir, 'store');
  const workers = ['1', '2', '3', '4'].map((w) => waitExit(spawnTs(WORKER, ['hammer', root, w, String(ROUNDS)])));
  const results = await Promise.all(workers);
  for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });

  const store = await openStore({ root });
  for (const w of ['1', '2', '3', '4']) {
    for (let i = 0; i < ROUNDS; i++) await expect(store.images.resolve(`localhost/w${w}:${i}`)).resolves.toBeDefined();
  }
  expect((await store.images.resolve('localhost/shared:latest')).names).toContain('localhost/shared:latest');
  expect((await store.images.list()).length).toBe(4 * ROUNDS);
  expect((await store.volumes.list()).map((v) => v.Name).sort()).toEqual(['shared-0', 'shared-1', 'shared-2']);
  const report = await store.fsck();
  expect(report.problems).toEqual([]);
  expect(report.repaired).toEqual([]);
});
