import { createHash, type Hash } from 'node:crypto';
import { promises as fs, createReadStream, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { aborted, CtrError, digestMismatch, throwIfAborted } from '@ctr/errors';
import type { BlobInfo, Digest, Ingest } from '@ctr/image';
import { errno, fsyncDir, readJson, storageError, writeFileAtomic } from './fs-util';
import { tryAcquireLock, type Release } from './lock';

/** How a blob's bytes are checked and published; the content store supplies it. */
export interface BlobPublisher {
  /** Move a verified, fsynced file into place as the blob `digest`. */
  publish(file: string, info: BlobInfo): Promise<void>;
}

export interface IngestRecord {
  ref: string;
  digest: Digest;
  size?: number;
  updatedAt: string;
}

/**
 * Append chunks to an open file while hashing them, failing fast past `limit` bytes
 * (a hostile or broken source must not fill the disk). Returns bytes written.
 */
export async function appendChunks(
  handle: FileHandle,
  source: Readable | AsyncIterable<Uint8Array>,
  hash: Hash,
  options: { limit?: number; already?: number; signal?: AbortSignal; what: string },
): Promise<number> {
  let written = options.already ?? 0;
  const onAbort = (): void => {
    if ('destroy' in source && typeof source.destroy === 'function') source.destroy(aborted(options.signal, options.what));
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    throwIfAborted(options.signal, options.what);
    for await (const chunk of source) {
      throwIfAborted(options.signal, options.what);
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (options.limit !== undefined && written + bytes.length > options.limit) {
        throw digestMismatch(`${options.what}: got more than the expected ${options.limit} bytes`, {
          details: { expectedSize: options.limit },
        });
      }
      await handle.write(bytes);
      hash.update(bytes);
      written += bytes.length;
    }
    throwIfAborted(options.signal, options.what);
    return written;
  } catch (error) {
    if (options.signal?.aborted) throw aborted(options.signal, options.what);
    throw storageError(error, options.what);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

export function verify(what: string, expected: { digest?: Digest; size?: number }, actual: BlobInfo): void {
  if (expected.size !== undefined && expected.size !== actual.size) {
    throw digestMismatch(`${what}: size ${actual.size} does not match the expected ${expected.size}`, {
      details: { expected, actual },
    });
  }
  if (expected.digest !== undefined && expected.digest !== actual.digest) {
    throw digestMismatch(`${what}: content has digest ${actual.digest}, expected ${expected.digest}`, {
      details: { expected, actual },
      hint: 'the source sent different bytes than it promised; nothing was kept',
    });
  }
}

/**
 * A resumable write: `<ingest>/<sha256(ref)>/{record.json,data,lock}`. The lock is held from
 * open until commit, abort or close, so one ref has one writer at a time across processes.
 */
export class LocalIngest implements Ingest, AsyncDisposable {
  private hash: Hash = createHash('sha256');
  private current = 0;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly record: IngestRecord,
    private readonly release: Release,
    private readonly publisher: BlobPublisher,
  ) {}

  static async open(dir: string, record: IngestRecord, publisher: BlobPublisher): Promise<LocalIngest> {
    await fs.mkdir(dir, { recursive: true }).catch((e: unknown) => {
      throw storageError(e, `creating ingest ${dir}`);
    });
    const release = await tryAcquireLock(path.join(dir, 'lock'));
    if (!release) {
      throw new CtrError('Unavailable', `ingest "${record.ref}" is being written by another writer`, {
        hint: 'wait for the other pull or push of this blob to finish',
      });
    }
    try {
      const previous = await readJson<IngestRecord>(path.join(dir, 'record.json'));
      const data = path.join(dir, 'data');
      if (!previous || previous.digest !== record.digest || previous.ref !== record.ref) {
        await fs.rm(data, { force: true });
      }
      await writeFileAtomic(path.join(dir, 'record.json'), JSON.stringify(record));
      const ingest = new LocalIngest(dir, record, release, publisher);
      await ingest.rehash();
      return ingest;
    } catch (error) {
      await release();
      throw storageError(error, `opening ingest ${record.ref}`);
    }
  }

  get ref(): string {
    return this.record.ref;
  }

  get digest(): Digest {
    return this.record.digest;
  }

  get offset(): number {
    return this.current;
  }

  async append(source: Readable | AsyncIterable<Uint8Array>, options: { signal?: AbortSignal } = {}): Promise<number> {
    this.checkOpen();
    const handle = await fs.open(this.dataFile, 'a');
    try {
      const limit = this.record.size;
      this.current = await appendChunks(handle, source, this.hash, {
        ...(limit === undefined ? {} : { limit }),
        already: this.current,
        ...(options.signal ? { signal: options.signal } : {}),
        what: `writing ${this.record.digest} (ingest "${this.record.ref}")`,
      });
      await handle.sync();
      return this.current;
    } catch (error) {
      await handle.close();
      // Part of a chunk may be on disk: resume from what the file really holds.
      await this.rehash();
      throw error;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async commit(options: { size?: number } = {}): Promise<BlobInfo> {
    this.checkOpen();
    const info: BlobInfo = { digest: `sha256:${this.hash.copy().digest('hex')}` as Digest, size: this.current };
    const expectedSize = options.size ?? this.record.size;
    try {
      verify(`ingest "${this.record.ref}"`, { digest: this.record.digest, ...(expectedSize === undefined ? {} : { size: expectedSize }) }, info);
      await fs.writeFile(this.dataFile, '', { flag: 'a' });
      await this.publisher.publish(this.dataFile, info);
    } catch (error) {
      await this.abort();
      throw error;
    }
    await this.discard();
    return info;
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    await this.discard();
  }

  /** Stop writing but keep what was written, for a later resume. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async discard(): Promise<void> {
    this.closed = true;
    try {
      await fs.rm(path.join(this.dir, 'record.json'), { force: true });
      await fs.rm(this.dataFile, { force: true });
    } finally {
      await this.release();
      // Only if empty: another writer may have reopened the ref since the lock was released.
      await fs.rmdir(this.dir).catch(() => undefined);
      await fsyncDir(path.dirname(this.dir)).catch(() => undefined);
    }
  }

  private async rehash(): Promise<void> {
    this.hash = createHash('sha256');
    this.current = 0;
    let stat: Stats;
    try {
      stat = await fs.stat(this.dataFile);
    } catch (error) {
      if (errno(error) === 'ENOENT') return;
      throw error;
    }
    if (stat.size === 0) return;
    for await (const chunk of createReadStream(this.dataFile)) {
      this.hash.update(chunk as Buffer);
      this.current += (chunk as Buffer).length;
    }
  }

  private get dataFile(): string {
    return path.join(this.dir, 'data');
  }

  private checkOpen(): void {
    if (this.closed) throw new CtrError('InvalidArgument', `ingest "${this.record.ref}" is already closed`);
  }
}
