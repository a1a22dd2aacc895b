import { Readable } from 'node:stream';
import { isAborted, isDigestMismatch, isInvalidArgument, isNotFound } from '@ctr/errors';
import { digestOf, MemoryContentStore, type Digest } from '@ctr/image';

async function text(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString();
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function all(store: MemoryContentStore): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.walk()) out.push(info.digest);
  return out;
}

describe('MemoryContentStore', () => {
  test('a written blob can be read back, with its digest and size', async () => {
    const store = new MemoryContentStore();
    const info = await store.write(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(info).toEqual({ digest: digestOf('hello world'), size: 11 });
    expect(await store.info(info.digest)).toEqual(info);
    expect(await text(await store.read(info.digest))).toBe('hello world');
  });

  test('reading from an offset returns the rest of the blob', async () => {
    const store = new MemoryContentStore();
    const { digest } = await store.write(Readable.from([Buffer.from('0123456789')]));
    expect(await text(await store.read(digest, { offset: 4 }))).toBe('456789');
    expect(await text(await store.read(digest, { offset: 10 }))).toBe('');
  });

  test('an offset past the end is InvalidArgument', async () => {
    const store = new MemoryContentStore();
    const { digest } = await store.write(Readable.from([Buffer.from('abc')]));
    expect(isInvalidArgument(await rejection(store.read(digest, { offset: 4 })))).toBe(true);
  });

  test('a large blob streams out in more than one chunk', async () => {
    const store = new MemoryContentStore();
    const big = Buffer.alloc(300 * 1024, 7);
    const { digest } = await store.write(Readable.from([big]));
    let count = 0;
    let size = 0;
    for await (const chunk of await store.read(digest)) {
      count += 1;
      size += (chunk as Buffer).length;
    }
    expect(size).toBe(big.length);
    expect(count).toBeGreaterThan(1);
  });

  test('a write with the expected digest and size is accepted', async () => {
    const store = new MemoryContentStore();
    const info = await store.write(Readable.from([Buffer.from('abc')]), { digest: digestOf('abc'), size: 3 });
    expect(info.digest).toBe(digestOf('abc'));
  });

  test('a write whose bytes do not match the digest is DigestMismatch and stores nothing', async () => {
    const store = new MemoryContentStore();
    const error = await rejection(store.write(Readable.from([Buffer.from('abc')]), { digest: digestOf('abd') }));
    expect(isDigestMismatch(error)).toBe(true);
    expect(await all(store)).toEqual([]);
  });

  test('a write of the wrong size is DigestMismatch and stores nothing', async () => {
    const store = new MemoryContentStore();
    expect(isDigestMismatch(await rejection(store.write(Readable.from([Buffer.from('abc')]), { size: 2 })))).toBe(true);
    expect(isDigestMismatch(await rejection(store.write(Readable.from([Buffer.from('abc')]), { size: 4 })))).toBe(true);
    expect(await all(store)).toEqual([]);
  });

  test('a malformed expected digest is InvalidArgument', async () => {
    const store = new MemoryContentStore();
    const error = await rejection(store.write(Readable.from([Buffer.from('abc')]), { digest: 'sha256:../x' as Digest }));
    expect(isInvalidArgument(error)).toBe(true);
  });

  test('writing a blob that is already present succeeds', async () => {
    const store = new MemoryContentStore();
    await store.write(Readable.from([Buffer.from('same')]));
    await store.write(Readable.from([Buffer.from('same')]));
    expect(await all(store)).toEqual([digestOf('same')]);
  });

  test('an aborted write is Aborted and stores nothing', async () => {
    const store = new MemoryContentStore();
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(store.write(Readable.from([Buffer.from('abc')]), { signal: controller.signal }));
    expect(isAborted(error)).toBe(true);
    expect(await all(store)).toEqual([]);
  });

  test('a source that fails midway rejects with its error and stores nothing', async () => {
    const store = new MemoryContentStore();
    async function* broken(): AsyncIterable<Uint8Array> {
      yield Buffer.from('partial');
      throw new Error('connection reset');
    }
    expect(((await rejection(store.write(broken()))) as Error).message).toBe('connection reset');
    expect(await all(store)).toEqual([]);
  });

  test('a missing blob is NotFound for info, read and delete', async () => {
    const store = new MemoryContentStore();
    const missing = digestOf('missing');
    expect(isNotFound(await rejection(store.info(missing)))).toBe(true);
    expect(isNotFound(await rejection(store.read(missing)))).toBe(true);
    expect(isNotFound(await rejection(store.delete(missing)))).toBe(true);
  });

  test('delete removes a blob and walk lists the rest', async () => {
    const store = new MemoryContentStore();
    const a = await store.write(Readable.from([Buffer.from('a')]));
    const b = await store.write(Readable.from([Buffer.from('b')]));
    await store.delete(a.digest);
    expect(await all(store)).toEqual([b.digest]);
  });

  test('an empty blob is stored and read back empty', async () => {
    const store = new MemoryContentStore();
    const info = await store.write(Readable.from([]));
    expect(info).toEqual({ digest: digestOf(''), size: 0 });
    expect(await text(await store.read(info.digest))).toBe('');
  });
});
