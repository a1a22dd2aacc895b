import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { digestMismatch, invalidArgument, notFound, throwIfAborted } from '@ctr/errors';
import type { BlobInfo, ContentStore, ReadOptions, WriteOptions } from './content';
import { parseDigest, type Digest } from './digest';

/**
 * A ContentStore held in memory, for unit tests of code above a store (archives, registry
 * client and server). It keeps the same promises as the on-disk store: a write is verified
 * against the expected digest and size before the blob becomes visible, and a failed
 * write leaves nothing behind.
 */
export class MemoryContentStore implements ContentStore {
  private readonly blobs = new Map<Digest, Buffer>();

  async info(digest: Digest): Promise<BlobInfo> {
    const blob = this.get(digest);
    return { digest, size: blob.length };
  }

  async read(digest: Digest, options: ReadOptions = {}): Promise<Readable> {
    throwIfAborted(options.signal, `reading ${digest}`);
    const blob = this.get(digest);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > blob.length) {
      throw invalidArgument(`offset ${offset} is outside blob ${digest} of ${blob.length} bytes`);
    }
    // Chunks rather than one push, so readers exercise their streaming paths.
    return Readable.from(chunks(blob.subarray(offset)), { objectMode: false });
  }

  async write(source: Readable | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<BlobInfo> {
    const expected = options.digest === undefined ? undefined : parseDigest(options.digest);
    const hash = createHash('sha256');
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of source) {
      throwIfAborted(options.signal, 'writing a blob');
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
      hash.update(bytes);
      parts.push(bytes);
      size += bytes.length;
      if (options.size !== undefined && size > options.size) {
        throw digestMismatch(`blob is larger than the expected ${options.size} bytes`, {
          details: { expectedSize: options.size, digest: expected },
        });
      }
    }
    throwIfAborted(options.signal, 'writing a blob');
    const digest = `sha256:${hash.digest('hex')}` as Digest;
    if (options.size !== undefined && size !== options.size) {
      throw digestMismatch(`blob has ${size} bytes, expected ${options.size}`, {
        details: { size, expectedSize: options.size, digest },
      });
    }
    if (expected !== undefined && digest !== expected) {
      throw digestMismatch(`blob content has digest ${digest}, expected ${expected}`, {
        details: { digest, expected },
      });
    }
    if (!this.blobs.has(digest)) this.blobs.set(digest, Buffer.concat(parts, size));
    return { digest, size };
  }

  async delete(digest: Digest): Promise<void> {
    this.get(digest);
    this.blobs.delete(digest);
  }

  async *walk(signal?: AbortSignal): AsyncIterable<BlobInfo> {
    for (const [digest, blob] of [...this.blobs]) {
      throwIfAborted(signal, 'listing blobs');
      yield { digest, size: blob.length };
    }
  }

  private get(digest: Digest): Buffer {
    const blob = this.blobs.get(parseDigest(digest));
    if (blob === undefined) throw notFound(`blob ${digest} not found in the memory content store`);
    return blob;
  }
}

const CHUNK = 64 * 1024;

function* chunks(bytes: Buffer): Generator<Buffer> {
  for (let start = 0; start < bytes.length; start += CHUNK) yield bytes.subarray(start, start + CHUNK);
}
