/**
 * How a pull schedules its blob downloads: at most `maxConcurrentDownloads` on the network,
 * largest first (the pull ends when its biggest blob does), and a download's slot is freed
 * when its last byte has arrived, while its fsync and commit finish alongside the next one.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { openStore } from '@ctr/store';
import { RegistryClient } from '@ctr/registry';
import { forEachLimit } from '../src/limit';
import { FaultProxy } from './support/fault-proxy';
import { makeImage } from './support/images';
import { startRegistry, type RunningRegistry } from './support/servers';

/** A promise and the functions that settle it. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('no more than `concurrency` items hold a slot at once', async () => {
  let holding = 0;
  let most = 0;
  await forEachLimit([1, 2, 3, 4, 5, 6, 7], 3, async () => {
    holding += 1;
    most = Math.max(most, holding);
    await tick();
    holding -= 1;
  });
  expect(most).toBe(3);
});

test('a released slot starts the next item while the first is still settling, and the first is still awaited', async () => {
  const started: string[] = [];
  const tail = deferred();
  let finished = false;
  const all = forEachLimit(['a', 'b'], 1, async (item, release) => {
    started.push(item);
    if (item === 'a') {
      release();
      await tail.promise;
    }
  }).then(() => (finished = true));
  await tick();
  expect(started).toEqual(['a', 'b']);
  expect(finished).toBe(false);
  tail.resolve();
  await all;
});

test('a failure after its slot was released is still thrown, and stops items not yet started', async () => {
  const started: number[] = [];
  const tail = deferred();
  const all = forEachLimit([1, 2, 3, 4], 1, async (item, release) => {
    started.push(item);
    if (item === 1) {
      release();
      await tail.promise;
    } else {
      await tick();
    }
  });
  await tick();
  tail.reject(new Error('fsync failed'));
  await expect(all).rejects.toThrow('fsync failed');
  expect(started.length).toBeLessThan(4);
});

describe('a pull', () => {
  let registry: RunningRegistry;
  let work: string;
  beforeAll(async () => {
    registry = await startRegistry();
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-slots-'));
  });
  afterAll(async () => {
    await registry.stop();
    await fs.rm(work, { recursive: true, force: true });
  });

  test('downloads its blobs largest first, whatever their order in the manifest', async () => {
    const local = new MemoryContentStore();
    const image = await makeImage(local, [2000, 300_000, 40_000, 900_000]);
    const pusher = new RegistryClient({ credentials: {} });
    await pusher.push(`${registry.host}/slots/app:v1`, { store: local, manifest: image.manifest });
    await pusher.close();
    const proxy = new FaultProxy(registry.url);
    await proxy.listen();
    const client = new RegistryClient({ credentials: {}, maxConcurrentDownloads: 1 });
    try {
      const store = await openStore({ root: path.join(work, 'store') });
      await client.pull(`${proxy.host}/slots/app:v1`, { store: store.content });
      const fetched = proxy.seen.filter((r) => r.url.includes('/blobs/')).map((r) => r.url.slice(r.url.lastIndexOf('/') + 1));
      const bySize = [image.config, ...image.layers].sort((a, b) => b.size - a.size).map((d) => d.digest);
      expect(fetched).toEqual(bySize);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
