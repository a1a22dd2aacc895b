import { promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { digestOf, type Digest } from '@ctr/image';
import type { Store } from '@ctr/store';
import { bytes, listTree, newStore, removeDir } from './helpers';

let store: Store;
let root: string;
beforeEach(async () => ({ store, root } = await newStore('content')));
afterEach(async () => removeDir(root));

const read = async (stream: Readable): Promise<string> => {
  let text = '';
  for await (const c of stream) text += (c as Buffer).toString();
  return text;
};

test('write without an expected digest computes it and stores the blob under blobs/sha256/<hex>', async () => {
  const info = await store.content.write(bytes('hello'));
  expect(info).toEqual({ digest: digestOf('hello'), size: 5 });
  await expect(fs.readFile(`${root}/content/blobs/sha256/${info.digest.slice(7)}`, 'utf8')).resolves.toBe('hello');
});

test('write with the right digest and size succeeds and read returns the bytes', async () => {
  const digest = digestOf('layer bytes');
  await store.content.write(bytes('layer bytes'), { digest, size: 11 });
  expect(await read(await store.content.read(digest))).toBe('layer bytes');
  expect(await store.content.info(digest)).toEqual({ digest, size: 11 });
});

test('read from an offset returns the rest of the blob', async () => {
  const { digest } = await store.content.write(bytes('0123456789'));
  expect(await read(await store.content.read(digest, { offset: 6 }))).toBe('6789');
});

test('read past the end is InvalidArgument', async () => {
  const { digest } = await store.content.write(bytes('abc'));
  await expect(store.content.read(digest, { offset: 4 })).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('a wrong digest is DigestMismatch and nothing is kept', async () => {
  await expect(store.content.write(bytes('evil'), { digest: digestOf('good') })).rejects.toMatchObject({ code: 'DigestMismatch' });
  expect(await listTree(`${root}/content`)).toEqual(['blobs', 'blobs/sha256', 'ingest']);
});

test('a wrong size is DigestMismatch and nothing is kept', async () => {
  await expect(store.content.write(bytes('12345'), { size: 3 })).rejects.toMatchObject({ code: 'DigestMismatch' });
  await expect(store.content.write(bytes('12'), { digest: digestOf('12'), size: 3 })).rejects.toMatchObject({ code: 'DigestMismatch' });
  expect(await listTree(`${root}/content`)).toEqual(['blobs', 'blobs/sha256', 'ingest']);
});

test('a digest that tries to escape the store is InvalidArgument', async () => {
  await expect(store.content.info('sha256:../../../etc/passwd' as Digest)).rejects.toMatchObject({ code: 'InvalidArgument' });
  await expect(store.content.write(bytes('x'), { digest: 'sha256:../x' as Digest })).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('an unknown blob is NotFound, naming the digest and the store', async () => {
  const digest = digestOf('absent');
  const error = await store.content.info(digest).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'NotFound' });
  expect((error as Error).message).toContain(digest);
  expect((error as Error).message).toContain(root);
  await expect(store.content.read(digest)).rejects.toMatchObject({ code: 'NotFound' });
  await expect(store.content.readBytes(digest)).rejects.toMatchObject({ code: 'NotFound' });
  await expect(store.content.delete(digest)).rejects.toMatchObject({ code: 'NotFound' });
});

test('readBytes returns a whole small blob', async () => {
  const { digest } = await store.content.write(bytes('{"schemaVersion":2}'));
  expect((await store.content.readBytes(digest)).toString()).toBe('{"schemaVersion":2}');
});

test('readBytes of a blob larger than maxSize is ResourceExhausted, naming both sizes', async () => {
  const { digest } = await store.content.write(bytes('x'.repeat(100)));
  const error = await store.content.readBytes(digest, { maxSize: 99 }).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'ResourceExhausted' });
  expect((error as Error).message).toContain('100 bytes, more than the 99-byte limit');
});

test('writing a blob that is already present succeeds without reading the source', async () => {
  const { digest } = await store.content.write(bytes('same'));
  const source = new Readable({ read(): void {} });
  await expect(store.content.write(source, { digest, size: 4 })).resolves.toEqual({ digest, size: 4 });
  expect(source.destroyed).toBe(true);
});

test('concurrent writers of the same blob all succeed and leave one intact blob', async () => {
  const data = 'x'.repeat(300_000);
  const digest = digestOf(data);
  const chunks = (): Readable => Readable.from(Array.from({ length: 30 }, () => Buffer.from('x'.repeat(10_000))));
  const results = await Promise.all(Array.from({ length: 8 }, () => store.content.write(chunks(), { digest })));
  expect(results.every((r) => r.digest === digest && r.size === 300_000)).toBe(true);
  expect(await read(await store.content.read(digest))).toBe(data);
  expect(await listTree(`${root}/content/ingest`)).toEqual([]);
});

test('delete removes a blob and walk lists what is left', async () => {
  const a = await store.content.write(bytes('a'));
  const b = await store.content.write(bytes('bb'));
  await store.content.delete(a.digest);
  const seen = [];
  for await (const info of store.content.walk()) seen.push(info);
  expect(seen).toEqual([b]);
});

test('an aborted write is Aborted and nothing is kept', async () => {
  const controller = new AbortController();
  const source = new Readable({ read(): void {} });
  source.push(Buffer.from('partial'));
  const writing = store.content.write(source, { signal: controller.signal });
  setTimeout(() => controller.abort(), 20);
  await expect(writing).rejects.toMatchObject({ code: 'Aborted' });
  expect(await listTree(`${root}/content`)).toEqual(['blobs', 'blobs/sha256', 'ingest']);
});

test('a source that fails mid-stream rejects and leaves nothing', async () => {
  const source = new Readable({
    read(): void {
      this.destroy(new Error('connection reset'));
    },
  });
  await expect(store.content.write(source)).rejects.toMatchObject({ message: expect.stringContaining('connection reset') });
  expect(await listTree(`${root}/content`)).toEqual(['blobs', 'blobs/sha256', 'ingest']);
});
