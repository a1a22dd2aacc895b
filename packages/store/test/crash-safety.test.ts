import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { openStore } from '@ctr/store';
import { removeDir, spawnTs, tempDir, waitExit } from './helpers';

const WORKER = path.join(__dirname, 'fixtures', 'worker.ts');
const ITERATIONS = 12;
let dir: string;
beforeAll(async () => (dir = await tempDir('crash')));
afterAll(async () => removeDir(dir));

/**
 * Each round a child process pulls, unpacks, tags, ingests and creates volumes, and is
 * SIGKILLed at a random instant. After every kill fsck must find nothing it cannot
 * explain, and everything the children reported as done must still be there.
 */
test('SIGKILL at random points during ingest, unpack and tag leaves a store fsck repairs and nothing lost', async () => {
  const root = path.join(dir, 'store');
  const tagged: string[] = [];
  const volumes: string[] = [];
  for (let round = 0; round < ITERATIONS; round++) {
    const child = spawnTs(WORKER, ['crash', root, String(round)]);
    const exit = waitExit(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve) => {
      const wait = (): void => void (out.includes('ready') ? resolve() : setTimeout(wait, 5));
      wait();
    });
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 400));
    child.kill('SIGKILL');
    const result = await exit;
    expect({ signal: result.signal, stderr: result.stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
    for (const line of out.split('\n')) {
      const [what, name] = line.split(' ');
      if (what === 'tagged' && name) tagged.push(name);
      if (what === 'volume' && name) volumes.push(name);
    }

    const store = await openStore({ root });
    const report = await store.fsck();
    expect(report.problems).toEqual([]);
    expect((await store.fsck()).repaired).toEqual([]);
    for (const name of tagged) {
      const image = await store.images.resolve(name);
      await expect(store.content.info(image.target.digest)).resolves.toBeDefined();
    }
    for (const name of volumes) {
      const info = await store.volumes.inspect(name);
      await expect(fs.readFile(path.join(info.Mountpoint, 'data'), 'utf8')).resolves.toBe('saved');
    }
  }
  expect(tagged.length).toBeGreaterThan(0);
});
