/**
 * What a killed pull or unpack leaves — a partial download kept for a resume (an ingest), a
 * half-applied layer (an extraction snapshot) — goes with garbage collection once its process
 * has ended, counted in what gc reclaimed; what a live process is writing stays. The pulls and
 * unpacks are real processes on the store (fixtures/leftover-worker.ts), SIGKILLed or left running.
 *
 * An ingest no process writes is kept a day for a pull to resume it; `keepIngestsMs: 0` (what
 * an image or system prune asks) takes it at once.
 */
import type { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { openStore, type Store } from '@ctr/store';
import { removeDir, spawnTs, tempDir } from './helpers';

const WORKER = path.join(__dirname, 'fixtures', 'leftover-worker.ts');
const DAY = 24 * 60 * 60 * 1000;

let dir: string;
let store: Store;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await tempDir('leftovers');
  store = await openStore({ root: dir });
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await removeDir(dir);
});

/** A worker on the store, once it has said `ready`. */
async function worker(mode: 'ingest' | 'extract'): Promise<ChildProcess> {
  const child = spawnTs(WORKER, [mode, dir]);
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^ready$/m.test(out)) resolve();
    });
    child.once('exit', () => reject(new Error(`the worker ended before it was ready: ${err}`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}

/** The ingest directories on the store, and the bytes on disk under them. */
async function ingests(): Promise<{ dirs: string[]; size: number }> {
  const dirs = (await fs.readdir(store.paths.ingest)).filter((n) => !n.startsWith('.tmp-')).map((n) => path.join(store.paths.ingest, n));
  let size = 0;
  for (const d of dirs) for (const f of await fs.readdir(d)) size += (await fs.lstat(path.join(d, f))).blocks * 512;
  return { dirs, size };
}

/** Make every file of an ingest look last written `ms` ago. */
async function age(ingest: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  for (const f of await fs.readdir(ingest)) await fs.lutimes(path.join(ingest, f), then, then);
  await fs.utimes(ingest, then, then);
}

const extractions = async (): Promise<string[]> => Object.keys((await store.snapshots.table()).snapshots).filter((k) => k.startsWith('extract-'));

describe("a killed pull's partial download", () => {
  test('is kept by gc while younger than a day, at its offset for a pull to resume', async () => {
    await kill(await worker('ingest'));
    expect((await store.gc()).removedIngests).toEqual([]);
    const [left] = await store.content.ingests();
    expect(left).toMatchObject({ offset: 1 << 20 });
    expect(left?.writer).toBeUndefined();
  });

  test('goes with gc once a day old, counted in what it reclaimed', async () => {
    await kill(await worker('ingest'));
    const { dirs, size } = await ingests();
    await age(dirs[0] as string, DAY + 60_000);
    const result = await store.gc();
    expect(result.removedIngests).toEqual(dirs);
    expect(result.reclaimed).toBe(size);
    expect((await ingests()).dirs).toEqual([]);
  });

  test('goes at once with a gc that keeps none (a prune), counted in what it reclaimed', async () => {
    await kill(await worker('ingest'));
    const { dirs, size } = await ingests();
    expect(size).toBeGreaterThanOrEqual(1 << 20);
    const result = await store.gc({ keepIngestsMs: 0 });
    expect(result.removedIngests).toEqual(dirs);
    expect(result.reclaimed).toBe(size);
    expect(await fs.readdir(store.paths.ingest)).toEqual([]);
  });
});

describe('a partial download a live process is writing', () => {
  test('stays through a gc that keeps none, its lock still its writer’s', async () => {
    const child = await worker('ingest');
    const before = await ingests();
    const result = await store.gc({ keepIngestsMs: 0 });
    expect(result.removedIngests).toEqual([]);
    expect(await ingests()).toEqual(before);
    expect((await store.content.ingests()).map((i) => i.writer)).toEqual([child.pid]);
  });

  test('stays through a gc that keeps none even when a day old', async () => {
    await worker('ingest');
    const before = await ingests();
    await age(before.dirs[0] as string, DAY + 60_000);
    expect((await store.gc({ keepIngestsMs: 0 })).removedIngests).toEqual([]);
    expect((await ingests()).dirs).toEqual(before.dirs);
  });
});

describe("a killed unpack's layer extraction", () => {
  test('goes with gc, its files and all, counted in what it reclaimed', async () => {
    await kill(await worker('extract'));
    const [key] = await extractions();
    const layer = path.dirname(await store.snapshots.layerDir(key as string));
    const written = (await fs.stat(path.join(layer, 'fs', 'first-file'))).blocks * 512;
    const result = await store.gc();
    expect(result.removedSnapshots).toEqual([key]);
    expect(result.reclaimed).toBeGreaterThanOrEqual(written);
    expect(await extractions()).toEqual([]);
    await expect(fs.stat(layer)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('whose PID now names another process (its start time differs) goes with gc', async () => {
    await store.snapshots.prepare('extract-0123456789ab sha256:x', undefined, {
      labels: { 'ctr.store/extract-pid': String(process.pid), 'ctr.store/extract-start': '1' },
    });
    expect((await store.gc()).removedSnapshots).toEqual(['extract-0123456789ab sha256:x']);
  });
});

describe('a layer extraction a live process is making', () => {
  test('stays through gc', async () => {
    await worker('extract');
    const before = await extractions();
    expect(before).toHaveLength(1);
    expect((await store.gc({ keepIngestsMs: 0 })).removedSnapshots).toEqual([]);
    expect(await extractions()).toEqual(before);
  });
});
