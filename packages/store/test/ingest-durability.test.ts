/**
 * The faster ingest keeps its guarantees: bytes written behind the hash land complete and in
 * order (short writes finished, failures reported), a blob is visible only once verified,
 * the blobs directory's fsync is shared only by callers it covers, and a resume record torn
 * by a crash (it is not fsynced) costs a download, never an error.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { digestOf } from '@ctr/image';
import type { Store } from '@ctr/store';
import { GroupCommit } from '../src/content-group-commit';
import { IngestWriter } from '../src/ingest-writer';
import { bytes, listTree, newStore, removeDir } from './helpers';

let store: Store;
let root: string;
beforeEach(async () => ({ store, root } = await newStore('durability')));
afterEach(async () => removeDir(root));

/** A file handle that takes at most `most` bytes per writev and fails the call numbered `failAt`. */
function fakeHandle(most: number, failAt?: number): { handle: FileHandle; written: Buffer[]; calls: () => number } {
  const written: Buffer[] = [];
  let calls = 0;
  const handle = {
    async writev(buffers: Uint8Array[]): Promise<{ bytesWritten: number }> {
      calls += 1;
      if (calls === failAt) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      const all = Buffer.concat(buffers);
      const taken = all.subarray(0, most);
      written.push(Buffer.from(taken));
      return { bytesWritten: taken.length };
    },
  };
  return { handle: handle as unknown as FileHandle, written, calls: () => calls };
}

test('chunks queued behind a write in flight reach the file complete and in order', async () => {
  const chunks = Array.from({ length: 400 }, (_, i) => randomBytes(1 + ((i * 7919) % 70_000)));
  const file = path.join(root, 'out');
  const handle = await fs.open(file, 'w');
  const writer = new IngestWriter(handle);
  for (const chunk of chunks) await writer.add(chunk);
  await writer.flush();
  await handle.close();
  expect((await fs.readFile(file)).equals(Buffer.concat(chunks))).toBe(true);
});

test('a short write is finished, not dropped', async () => {
  const { handle, written } = fakeHandle(1000);
  const writer = new IngestWriter(handle);
  const chunks = [randomBytes(2500), randomBytes(10), randomBytes(4000)];
  for (const chunk of chunks) await writer.add(chunk);
  await writer.flush();
  expect(Buffer.concat(written).equals(Buffer.concat(chunks))).toBe(true);
});

test('a failed write is reported, and nothing is written after it', async () => {
  const { handle, calls } = fakeHandle(1 << 20, 2);
  const writer = new IngestWriter(handle);
  const adding = (async (): Promise<void> => {
    for (let i = 0; i < 50; i++) await writer.add(randomBytes(256 * 1024));
    await writer.flush();
  })();
  await expect(adding).rejects.toMatchObject({ code: 'ENOSPC' });
  await writer.settle();
  expect(calls()).toBe(2);
});

test('a source that fails mid-blob fails the write with nothing visible and no temp file left', async () => {
  const full = Buffer.alloc(64 * 1024, 1);
  async function* source(): AsyncGenerator<Buffer> {
    yield full;
    throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
  }
  await expect(store.content.write(source(), { digest: digestOf(full), size: full.length })).rejects.toBeDefined();
  expect(await listTree(path.join(root, 'content'))).toEqual(['blobs', 'blobs/sha256', 'ingest']);
});

test('an ingest is not a blob until it is committed, and only if its bytes verify', async () => {
  const whole = randomBytes(300_000);
  const digest = digestOf(whole);
  const ingest = await store.content.ingest('durable-1', digest, { size: whole.length });
  await ingest.append(Readable.from([whole.subarray(0, 100_000), whole.subarray(100_000)]));
  await expect(store.content.info(digest)).rejects.toMatchObject({ code: 'NotFound' });
  await expect(ingest.commit()).resolves.toEqual({ digest, size: whole.length });
  expect((await fs.readFile(store.content.blobPath(digest))).equals(whole)).toBe(true);

  const other = digestOf('something else');
  const wrong = await store.content.ingest('durable-2', other, { size: 5 });
  await wrong.append(bytes('12345'));
  await expect(wrong.commit()).rejects.toMatchObject({ code: 'DigestMismatch' });
  await expect(store.content.info(other)).rejects.toMatchObject({ code: 'NotFound' });
  expect(await listTree(path.join(root, 'content', 'ingest'))).toEqual([]);
});

test.each([
  ['empty', ''],
  ['torn', '{"ref":"durable-3","dig'],
])('an ingest whose record a crash left %s starts over instead of failing', async (_, text) => {
  const whole = 'bytes a crash left behind';
  const digest = digestOf(whole);
  const first = await store.content.ingest('durable-3', digest);
  await first.append(bytes(whole.slice(0, 10)));
  await first.close();
  await fs.writeFile(path.join(store.content.ingestPath('durable-3'), 'record.json'), text);

  const again = await store.content.ingest('durable-3', digest);
  expect(again.offset).toBe(0);
  await again.append(bytes(whole));
  await expect(again.commit()).resolves.toEqual({ digest, size: whole.length });
});

test('callers that ask while the blobs-directory fsync runs share one run after it; each resolves after a run that began after its call', async () => {
  const runs: { started: number; finish: () => void }[] = [];
  let clock = 0;
  const group = new GroupCommit(() => new Promise<void>((resolve) => runs.push({ started: clock++, finish: resolve })));

  const first = group.run();
  const askedDuring = [clock++, clock++, clock++];
  const during = [group.run(), group.run(), group.run()];
  expect(runs).toHaveLength(1);
  runs[0]!.finish();
  await first;
  await new Promise((r) => setImmediate(r));
  expect(runs).toHaveLength(2);
  expect(askedDuring.every((asked) => runs[1]!.started > asked)).toBe(true);
  runs[1]!.finish();
  await Promise.all(during);
  const later = group.run();
  expect(runs).toHaveLength(3);
  runs[2]!.finish();
  await later;
});

test('a failed blobs-directory fsync fails the callers it covers, and the next caller runs it again', async () => {
  let fail = true;
  let count = 0;
  const group = new GroupCommit(async () => {
    count += 1;
    if (fail) throw Object.assign(new Error('I/O error'), { code: 'EIO' });
  });
  await expect(group.run()).rejects.toMatchObject({ code: 'EIO' });
  fail = false;
  await expect(group.run()).resolves.toBeUndefined();
  expect(count).toBe(2);
});

test('bytes that arrived before the source broke are kept: the ingest resumes after them', async () => {
  const whole = randomBytes(200_000);
  const digest = digestOf(whole);
  async function* cutOff(): AsyncGenerator<Buffer> {
    yield whole.subarray(0, 70_000);
    yield whole.subarray(70_000, 120_000);
    throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
  }
  const first = await store.content.ingest('durable-4', digest, { size: whole.length });
  await expect(first.append(cutOff())).rejects.toBeDefined();
  expect(first.offset).toBe(120_000);
  await first.close();

  const again = await store.content.ingest('durable-4', digest, { size: whole.length });
  expect(again.offset).toBe(120_000);
  await again.append(Readable.from([whole.subarray(120_000)]));
  await expect(again.commit()).resolves.toEqual({ digest, size: whole.length });
});
