import type { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { openStore, type Store } from '@ctr/store';
import type { Digest } from '@ctr/image';
import { removeDir, spawnTs, tempDir } from './helpers';

const WORKER = path.join(__dirname, 'fixtures', 'holder-worker.ts');

let dir: string;
let store: Store;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await tempDir('killed');
  store = await openStore({ root: dir });
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await removeDir(dir);
});

/** A worker on the store, resolved with what it printed after `ready` once it got there. */
async function worker(args: string[]): Promise<{ child: ChildProcess; said: string }> {
  const child = spawnTs(WORKER, args);
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const said = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = /^ready ?(.*)$/m.exec(out);
      if (line) resolve(line[1] ?? '');
    });
    child.once('exit', () => reject(new Error(`the worker ended before it was ready: ${err}`)));
  });
  return { child, said };
}

async function kill(child: ChildProcess): Promise<void> {
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}

const present = (digest: string): Promise<boolean> => store.content.info(digest as Digest).then(() => true, () => false);

describe('a lease', () => {
  test('names the process that made it', async () => {
    const lease = await store.leases.create();
    expect(lease.holder?.pid).toBe(process.pid);
    expect(lease.holder?.startTime).toMatch(/^\d+$/);
  });

  test('of a killed process protects nothing: gc collects what it held and deletes it', async () => {
    const { child, said: digest } = await worker(['lease', dir, 'held']);
    await kill(child);
    const result = await store.gc();
    expect(result.removedBlobs).toEqual([digest]);
    expect(result.expiredLeases).toHaveLength(1);
    expect(await store.leases.list()).toEqual([]);
  });

  test('of a live process still protects what it holds', async () => {
    const { said: digest } = await worker(['lease', dir, 'held']);
    const result = await store.gc();
    expect(result.removedBlobs).toEqual([]);
    expect(await present(digest)).toBe(true);
  });

  test('made without a holder outlives its maker until it expires', async () => {
    const { child, said: digest } = await worker(['lease', dir, 'unheld']);
    await kill(child);
    await store.gc();
    expect(await present(digest)).toBe(true);
    expect(await store.leases.active()).toHaveLength(1);
  });

  test('of a killed process does not keep an image rmi releases', async () => {
    const { child, said: digest } = await worker(['lease', dir, 'held']);
    await kill(child);
    const { reclaimed, removedBlobs } = await store.release([{ mediaType: 'application/octet-stream', digest: digest as Digest, size: 1 }]);
    expect(removedBlobs).toEqual([digest]);
    expect(reclaimed).toBeGreaterThan(0);
  });
});

describe('temporary files', () => {
  const temps = async (sub: string): Promise<string[]> => (await fs.readdir(sub)).filter((n) => n.startsWith('.tmp-'));

  test('of a write whose process was killed are removed by gc, and counted in what it reclaimed', async () => {
    const { child } = await worker(['write', dir]);
    await kill(child);
    const [left] = await temps(store.paths.ingest);
    expect(left).toBeDefined();
    const size = (await fs.stat(path.join(store.paths.ingest, left as string))).blocks * 512;
    expect(size).toBeGreaterThan(0);
    const result = await store.gc();
    expect(await temps(store.paths.ingest)).toEqual([]);
    expect(result.reclaimed).toBe(size);
  });

  test('of a write still under way are left to it', async () => {
    await worker(['write', dir]);
    await store.gc();
    expect(await temps(store.paths.ingest)).toHaveLength(1);
  });

  test('whose PID now names another process (its start time differs) are abandoned', async () => {
    const reused = path.join(store.paths.blobs, `.tmp-${process.pid}-1-0123456789ab`);
    await fs.writeFile(reused, 'half a blob');
    await store.gc();
    expect(await temps(store.paths.blobs)).toEqual([]);
  });

  test('a killed volume removal set aside go with the next volume prune', async () => {
    const { child } = await worker(['lease', dir, 'held']);
    const stat = await fs.readFile(`/proc/${child.pid}/stat`, 'latin1');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    await kill(child);
    const aside = path.join(store.paths.volumes, `.tmp-${child.pid}-${startTime}-0123456789ab`);
    await fs.mkdir(path.join(aside, '_data'), { recursive: true });
    await fs.writeFile(path.join(aside, '_data', 'file'), Buffer.alloc(8192, 1));
    const result = await store.volumes.prune();
    expect(await temps(store.paths.volumes)).toEqual([]);
    expect(result.spaceReclaimed).toBeGreaterThanOrEqual(8192);
  });
});
