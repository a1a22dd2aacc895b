import { createHash, type Hash } from 'node:crypto';
import { promises as fs, createReadStream, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { aborted, CtrError, digestMismatch, isNotFound, throwIfAborted } from '@ctr/errors';
import type { BlobInfo, Digest, Ingest } from '@ctr/image';
import { diskUsage, errno, readJson, storageError, tempName, TEMP_PREFIX } from './fs-util';
import { IngestWriter } from './ingest-writer';
import { lockOwner, tryAcquireLock, type Release } from './lock';

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
 * (a hostile or broken source must not fill the disk). Hashing a chunk overlaps the write
 * of the ones before it. Returns bytes written; on failure the file holds a prefix of what
 * was hashed (callers rehash or remove it).
 */
export async function appendChunks(
  handle: FileHandle,
  source: Readable | AsyncIterable<Uint8Array>,
  hash: Hash,
  options: { limit?: number; already?: number; signal?: AbortSignal; what: string },
): Promise<number> {
  let written = options.already ?? 0;
  const writer = new IngestWriter(handle);
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
      hash.update(bytes);
      written += bytes.length;
      await writer.add(bytes);
    }
    await writer.flush();
    throwIfAborted(options.signal, options.what);
    return written;
  } catch (error) {
    await writer.settle();
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
 *
 * Nothing here is fsynced but the data before it is published: the record only serves a
 * resume, and resumed bytes are verified with the rest before the blob becomes visible, so
 * losing the record (or an unlink) to a crash costs a download, never correctness.
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
    /** The record write, made alongside the first bytes; settles to its error, if any. */
    private readonly recordWritten: Promise<unknown>,
  ) {}

  /** Open `dir` for `record`; `makeParents` creates the ingest directory if it is missing. */
  static async open(dir: string, record: IngestRecord, publisher: BlobPublisher, makeParents: () => Promise<void>): Promise<LocalIngest> {
    const { created, release } = await lockDir(dir, record.ref, makeParents);
    try {
      const file = path.join(dir, 'record.json');
      // Unreadable after a crash (it is not fsynced): then the data cannot be matched to a digest.
      const previous = created ? undefined : await readJson<IngestRecord>(file).catch(() => undefined);
      const resumable = previous !== undefined && previous.digest === record.digest && previous.ref === record.ref;
      // Even in a directory just made: another writer may have come and gone before our lock.
      if (!resumable) await unlinkIfThere(path.join(dir, 'data'));
      const written = writeRecord(file, record).then(
        () => undefined,
        (error: unknown) => error,
      );
      const ingest = new LocalIngest(dir, record, release, publisher, written);
      if (resumable) await ingest.rehash();
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
      // The data only, not the times: the blob must be on disk before publish renames it into view.
      await handle.datasync();
      await this.recordSettled(true);
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
      if (this.current === 0) await fs.writeFile(this.dataFile, '', { flag: 'a' });
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
    await this.recordSettled(false);
    await this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async discard(): Promise<void> {
    this.closed = true;
    try {
      await this.recordSettled(false);
      await unlinkIfThere(path.join(this.dir, 'record.json'));
      await unlinkIfThere(this.dataFile);
    } finally {
      await unlockAndRemove(this.dir, this.release);
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

  /** Wait for the record write; `report` turns its failure into this call's. */
  private async recordSettled(report: boolean): Promise<void> {
    const error = await this.recordWritten;
    if (report && error !== undefined) throw storageError(error, `writing the record of ingest "${this.record.ref}"`);
  }

  private get dataFile(): string {
    return path.join(this.dir, 'data');
  }

  private checkOpen(): void {
    if (this.closed) throw new CtrError('InvalidArgument', `ingest "${this.record.ref}" is already closed`);
  }
}

/**
 * Create (or find) an ingest directory and take its lock. `created` says the directory is
 * new, so there is nothing to resume. A finishing writer removes its empty directory after
 * unlocking; losing that race just means making it again.
 */
async function lockDir(dir: string, ref: string, makeParents: () => Promise<void>): Promise<{ created: boolean; release: Release }> {
  for (let attempt = 0; ; attempt++) {
    let created = false;
    try {
      await fs.mkdir(dir);
      created = true;
    } catch (error) {
      const code = errno(error);
      if (code === 'ENOENT' && attempt < 3) {
        await makeParents();
        continue;
      }
      if (code !== 'EEXIST') throw storageError(error, `creating ingest ${dir}`);
    }
    let release: Release | undefined;
    try {
      release = await tryAcquireLock(path.join(dir, 'lock'));
    } catch (error) {
      if (isNotFound(error) && attempt < 3) continue;
      throw error;
    }
    if (!release) {
      throw new CtrError('Unavailable', `ingest "${ref}" is being written by another writer`, {
        hint: 'wait for the other pull or push of this blob to finish',
      });
    }
    return { created, release };
  }
}

/** An ingest no live process writes: what a killed (or failed) pull left, its bytes kept for a resume. */
export interface AbandonedIngest {
  dir: string;
  /** Whether it has a record, so that a pull of its ref resumes from its bytes; without one it is only a leftover. */
  resumable: boolean;
  /** When it was last written to (ms since the epoch). */
  updated: number;
}

/**
 * The ingests under `root` whose lock no live process holds. The lock is an ingest's holder
 * record (PID and boot): a pull writing one holds it from open to commit or close.
 */
export async function abandonedIngests(root: string): Promise<AbandonedIngest[]> {
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch (error) {
    if (errno(error) === 'ENOENT') return [];
    throw storageError(error, `listing ${root}`);
  }
  const found: AbandonedIngest[] = [];
  for (const name of names) {
    if (name.startsWith(TEMP_PREFIX)) continue;
    const dir = path.join(root, name);
    if ((await lockOwner(path.join(dir, 'lock'))) !== undefined) continue;
    const [own, record, data] = await Promise.all(['', 'record.json', 'data'].map((f) => fs.stat(path.join(dir, f)).catch(() => undefined)));
    if (!own?.isDirectory()) continue;
    found.push({ dir, resumable: record !== undefined, updated: Math.max(...[own, record, data].map((s) => s?.mtimeMs ?? 0)) });
  }
  return found;
}

/**
 * Remove an ingest no process writes, under its lock: a pull that opens it meanwhile waits
 * for nothing, it is told the ingest is busy and downloads on its own. The bytes freed, or
 * undefined when a writer holds it (or it is gone) by now.
 */
export async function removeIngest(dir: string): Promise<number | undefined> {
  let release: Release | undefined;
  try {
    release = await tryAcquireLock(path.join(dir, 'lock'));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  if (!release) return undefined;
  try {
    const { size } = await diskUsage(dir);
    // Everything but the lock, a killed record write's temporary file too: under the lock nobody else writes here.
    for (const name of await fs.readdir(dir)) if (name !== 'lock') await fs.rm(path.join(dir, name), { recursive: true, force: true });
    return size;
  } finally {
    await unlockAndRemove(dir, release);
  }
}

/** Give up an ingest's lock, then remove its directory if nobody has taken it again. */
async function unlockAndRemove(dir: string, release: Release): Promise<void> {
  await release();
  // Only if empty: another writer may have reopened the ref since the lock was released.
  // Not fsynced: an ingest that reappears after a crash is only unverified bytes to resume from.
  await fs.rmdir(dir).catch(() => undefined);
}

/** Replace the record by rename (a killed process leaves the old one or the new one), without fsync. */
async function writeRecord(file: string, record: IngestRecord): Promise<void> {
  const temp = tempName(path.dirname(file));
  try {
    await fs.writeFile(temp, JSON.stringify(record), { flag: 'wx' });
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

async function unlinkIfThere(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw error;
  }
}
