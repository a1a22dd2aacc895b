/**
 * `docker load` reads an archive compressed as a whole — gzip, bzip2, xz or zstd, told by its
 * magic number as moby's `DecompressStream` tells it — as it reads a plain one. Each command
 * the host has is tested (Debian's `bzip2`, `xz-utils` and `zstd`); gzip is Node's own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { isCtrError } from '@ctr/errors';
import { decompressArchive, loadArchive, MemoryContentStore, saveArchive } from '@ctr/image';
import { collect, makeImage, storedDigests } from './docker-archive-fixtures';

/** The archive `docker save app:1` of a small two-layer image would be, and its image. */
async function savedArchive(): Promise<{ archive: Buffer; image: Awaited<ReturnType<typeof makeImage>> }> {
  const source = new MemoryContentStore();
  const image = await makeImage(source);
  return { archive: await collect(saveArchive(source, [{ descriptor: image.manifest, names: ['app:1'] }])), image };
}

/** `bytes` through `<command> -c` (the commands' own compressors, as a user's would be). */
function compressWith(command: string, bytes: Buffer): Buffer {
  return execFileSync(command, ['-c'], { input: bytes, maxBuffer: 64 << 20 });
}

/** `bytes` in small chunks, as a socket or a pipe delivers them. */
function chunked(bytes: Buffer, size = 1000): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

const COMPRESSIONS: Array<{ kind: string; compress: (bytes: Buffer) => Buffer }> = [
  { kind: 'gzip', compress: (bytes) => gzipSync(bytes) },
  ...['bzip2', 'xz', 'zstd'].filter((command) => existsSync(`/usr/bin/${command}`)).map((kind) => ({ kind, compress: (bytes: Buffer) => compressWith(kind, bytes) })),
];

test('the host has every decoder docker load accepts, so each compression below is tested', () => {
  expect(COMPRESSIONS.map((c) => c.kind)).toEqual(['gzip', 'bzip2', 'xz', 'zstd']);
});

describe.each(COMPRESSIONS)('a $kind-compressed archive', ({ kind, compress }) => {
  test('loads as the plain archive does: same image, names and blobs', async () => {
    const { archive, image } = await savedArchive();
    const store = new MemoryContentStore();
    const result = await loadArchive(store, chunked(compress(archive)));
    expect(result.images).toEqual([{ names: ['docker.io/library/app:1'], descriptor: expect.objectContaining({ digest: image.manifest.digest }), imageId: image.config.digest }]);
    for (const blob of [image.manifest, image.config, ...image.layers]) expect(await store.info(blob.digest)).toEqual({ digest: blob.digest, size: blob.size });
  });

  test('cut short is InvalidArgument saying it is not valid data of its compression', async () => {
    const { archive } = await savedArchive();
    const compressed = compress(Buffer.concat([archive, Buffer.alloc(256 * 1024, 7)]));
    const store = new MemoryContentStore();
    const error = await loadArchive(store, chunked(compressed.subarray(0, Math.floor(compressed.length / 2)))).catch((e: unknown) => e);
    expect(isCtrError(error) && error.code).toBe('InvalidArgument');
    expect((error as Error).message).toMatch(new RegExp(`^the archive is not valid ${kind} data: `));
  });
});

test('decompressArchive passes a plain tar through byte for byte', async () => {
  const { archive } = await savedArchive();
  expect((await collect(await decompressArchive(chunked(archive)))).equals(archive)).toBe(true);
});

test('a gzip stream whose data is corrupt is InvalidArgument naming gzip, and stores nothing', async () => {
  const corrupt = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03]), Buffer.alloc(64, 0xff)]);
  const store = new MemoryContentStore();
  const error = await loadArchive(store, Readable.from([corrupt])).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/^the archive is not valid gzip data: /) });
  expect(await storedDigests(store)).toEqual([]);
});

test('an archive in a compression docker load does not read (lz4) is InvalidArgument naming the ones it does', async () => {
  const lz4 = Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18]), Buffer.alloc(2048, 0x42)]);
  const store = new MemoryContentStore();
  const error = await loadArchive(store, Readable.from([lz4])).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/^the archive is not a readable tar stream/) });
  expect((error as { hint?: string }).hint).toBe('an image archive is a tar (docker save), plain or compressed with gzip, bzip2, xz or zstd');
  expect(await storedDigests(store)).toEqual([]);
});

test('a source that fails mid-stream under gzip is the source’s error, not the data’s', async () => {
  const { archive } = await savedArchive();
  const gz = gzipSync(archive);
  const source = Readable.from(
    (async function* () {
      yield gz.subarray(0, 100);
      throw new Error('connection reset');
    })(),
  );
  const error = await loadArchive(new MemoryContentStore(), source).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'Unavailable', message: 'reading the archive failed: connection reset' });
});
