import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, promises as fs, readSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { CtrError, invalidArgument, notFound, throwIfAborted, unlessNotFound } from '@ctr/errors';
import {
  digestHex,
  parseDigest,
  type BlobInfo,
  type ContentStore,
  type Digest,
  type ReadOptions,
  type ResumableIngester,
  type WriteOptions,
} from '@ctr/image';
import { GroupCommit } from './content-group-commit';
import { errno, fsyncDir, readJson, storageError, tempName, TEMP_PREFIX } from './fs-util';
import { appendChunks, LocalIngest, verify, type BlobPublisher, type IngestRecord } from './ingest';
import type { LeaseManager } from './leases';
import { lockOwner } from './lock';

const HEX = /^[a-f0-9]{64}$/;
/**
 * Blobs up to this size (manifests, indexes, configs) are read in one direct call and handed
 * out as a one-chunk stream: a thread-pool round trip for each of open, stat, read and close
 * costs more than the read itself, and every container create reads two of them.
 */
const SMALL_BLOB = 64 * 1024;

/** An ingest found on disk: a write that was interrupted or is in progress. */
export interface IngestStatus {
  ref: string;
  digest: Digest;
  size?: number;
  offset: number;
  updatedAt: Date;
  /** PID of the process writing it now, if any. */
  writer?: number;
}

/**
 * Blobs by digest under `blobs/sha256/<hex>`. A blob becomes visible only by rename of a
 * fully written, fsynced and verified file, so readers never see partial content and
 * concurrent writers of the same blob are harmless (each renames identical bytes).
 */
export class LocalContentStore implements ContentStore, ResumableIngester, BlobPublisher {
  constructor(
    private readonly blobsDir: string,
    private readonly ingestDir: string,
    private readonly leases?: LeaseManager,
    private readonly lease?: string,
    /** The blobs directory's fsync, shared by every view of this store so their publishes share it too. */
    private readonly blobsDirSync = new GroupCommit(() => fsyncDir(blobsDir)),
  ) {}

  /** A view of this store that records every blob it writes in `leaseId` (protects it from gc). */
  withLease(leaseId: string): LocalContentStore {
    if (!this.leases) throw new CtrError('Internal', 'this content store has no lease manager');
    return new LocalContentStore(this.blobsDir, this.ingestDir, this.leases, leaseId, this.blobsDirSync);
  }

  /** The file holding a blob (for tools that need a path, e.g. sendfile). */
  blobPath(digest: Digest): string {
    return path.join(this.blobsDir, digestHex(parseDigest(digest)));
  }

  /**
   * In a lease's view, the blob is recorded in the lease before it is looked for (as by `has`
   * and `write`): a pull or build that finds a blob here keeps it, or — when an image release
   * freed it first — finds it gone and fetches or makes it again.
   */
  async info(digest: Digest): Promise<BlobInfo> {
    const file = this.blobPath(digest);
    await this.protect(digest);
    try {
      const stat = await fs.stat(file);
      return { digest, size: stat.size };
    } catch (error) {
      throw this.missing(error, digest);
    }
  }

  async has(digest: Digest): Promise<boolean> {
    await this.protect(digest);
    try {
      await fs.access(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  async read(digest: Digest, options: ReadOptions = {}): Promise<Readable> {
    throwIfAborted(options.signal, `reading ${digest}`);
    const fd = this.open(digest);
    const offset = options.offset ?? 0;
    try {
      const size = fstatSync(fd).size;
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
        throw invalidArgument(`cannot read ${digest} from offset ${offset}: the blob has ${size} bytes`);
      }
      if (size - offset <= SMALL_BLOB) {
        const bytes = readAt(fd, size - offset, offset);
        closeSync(fd);
        return Readable.from([bytes], { objectMode: false });
      }
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return createReadStream(this.blobPath(digest), { fd, start: offset, ...(options.signal ? { signal: options.signal } : {}) });
  }

  /**
   * Read a whole small blob (a manifest, index or config) into memory, in direct calls: no
   * stream to set up, which costs more than the read. ResourceExhausted above `maxSize`.
   */
  async readBytes(digest: Digest, options: { maxSize?: number } = {}): Promise<Buffer> {
    const fd = this.open(digest);
    try {
      const size = fstatSync(fd).size;
      const max = options.maxSize ?? 16 * 1024 * 1024;
      if (size > max) {
        throw new CtrError('ResourceExhausted', `blob ${digest} is ${size} bytes, more than the ${max}-byte limit for metadata`, {
          hint: 'a manifest, index or config this large is not one a registry or builder made',
        });
      }
      return readAt(fd, size, 0);
    } finally {
      closeSync(fd);
    }
  }

  private open(digest: Digest): number {
    try {
      return openSync(this.blobPath(digest), 'r');
    } catch (error) {
      throw this.missing(error, digest);
    }
  }

  async write(source: Readable | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<BlobInfo> {
    const expected = options.digest === undefined ? undefined : parseDigest(options.digest);
    const present = expected === undefined ? undefined : await this.info(expected).catch(unlessNotFound);
    if (expected !== undefined && present !== undefined) {
      verify(`blob ${expected}`, { ...(options.size === undefined ? {} : { size: options.size }) }, present);
      // Not read: the blob is here already. Stop the source so a network body is released.
      if ('destroy' in source && typeof source.destroy === 'function') source.destroy();
      // A gc already running ignores blobs newer than its start: this one is wanted again.
      const now = new Date();
      await fs.utimes(this.blobPath(expected), now, now).catch(() => undefined);
      return present;
    }
    const temp = tempName(this.ingestDir);
    const hash = createHash('sha256');
    const what = `writing blob ${expected ?? '(new content)'}`;
    try {
      const handle = await this.withDirs(() => fs.open(temp, 'wx', 0o644));
      let size: number;
      try {
        size = await appendChunks(handle, source, hash, {
          ...(options.size === undefined ? {} : { limit: options.size }),
          ...(options.signal ? { signal: options.signal } : {}),
          what,
        });
        await handle.datasync();
      } finally {
        await handle.close();
      }
      const info: BlobInfo = { digest: `sha256:${hash.digest('hex')}` as Digest, size };
      verify(what, { ...(expected ? { digest: expected } : {}), ...(options.size === undefined ? {} : { size: options.size }) }, info);
      await this.publish(temp, info);
      return info;
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw storageError(error, what);
    }
  }

  /**
   * Make a verified, fsynced file the blob `info.digest`: record the lease first, then
   * rename, then fsync the directory (shared with publishes running at the same time).
   */
  async publish(file: string, info: BlobInfo): Promise<void> {
    await this.protect(info.digest);
    const target = this.blobPath(info.digest);
    try {
      // Fresh mtime: gc never collects a blob that appeared after it started.
      const now = new Date();
      await fs.utimes(file, now, now);
      await this.withDirs(() => fs.rename(file, target));
      await this.blobsDirSync.run();
    } catch (error) {
      throw storageError(error, `storing blob ${info.digest}`);
    }
  }

  async delete(digest: Digest): Promise<void> {
    try {
      await fs.unlink(this.blobPath(digest));
    } catch (error) {
      throw this.missing(error, digest);
    }
    await this.blobsDirSync.run();
  }

  async *walk(signal?: AbortSignal): AsyncIterable<BlobInfo> {
    for (const name of await this.listDir(this.blobsDir)) {
      throwIfAborted(signal, 'walking the content store');
      if (!HEX.test(name)) continue;
      try {
        const stat = await fs.stat(path.join(this.blobsDir, name));
        yield { digest: `sha256:${name}` as Digest, size: stat.size };
      } catch (error) {
        if (errno(error) !== 'ENOENT') throw storageError(error, `reading ${name}`);
      }
    }
  }

  /** Open (or resume) the write of `digest` under `ref`. Reopening re-hashes what is there. */
  async ingest(ref: string, digest: Digest, options: { size?: number } = {}): Promise<LocalIngest> {
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 1024) {
      throw invalidArgument(`invalid ingest ref ${JSON.stringify(ref)}: expected 1 to 1024 characters`);
    }
    const record: IngestRecord = {
      ref,
      digest: parseDigest(digest),
      ...(options.size === undefined ? {} : { size: options.size }),
      updatedAt: new Date().toISOString(),
    };
    return LocalIngest.open(this.ingestPath(ref), record, this, () => this.mkdirs());
  }

  /** Ingests on disk (interrupted or in progress). */
  async ingests(): Promise<IngestStatus[]> {
    const out: IngestStatus[] = [];
    for (const name of await this.listDir(this.ingestDir)) {
      if (name.startsWith(TEMP_PREFIX)) continue;
      const dir = path.join(this.ingestDir, name);
      const record = await readJson<IngestRecord>(path.join(dir, 'record.json')).catch(() => undefined);
      if (!record) continue;
      const stat = await fs.stat(path.join(dir, 'data')).catch(() => undefined);
      const writer = await lockOwner(path.join(dir, 'lock'));
      out.push({
        ref: record.ref,
        digest: record.digest,
        ...(record.size === undefined ? {} : { size: record.size }),
        offset: stat?.size ?? 0,
        updatedAt: stat?.mtime ?? new Date(record.updatedAt),
        ...(writer === undefined ? {} : { writer }),
      });
    }
    return out;
  }

  /** Drop an interrupted ingest by ref. */
  async abortIngest(ref: string): Promise<void> {
    const ingest = await this.ingest(ref, (await this.ingestRecord(ref)).digest);
    await ingest.abort();
  }

  ingestPath(ref: string): string {
    return path.join(this.ingestDir, createHash('sha256').update(ref).digest('hex'));
  }

  private async ingestRecord(ref: string): Promise<IngestRecord> {
    const record = await readJson<IngestRecord>(path.join(this.ingestPath(ref), 'record.json'));
    if (!record) throw notFound(`no ingest "${ref}" in ${this.ingestDir}`);
    return record;
  }

  private async protect(digest: Digest): Promise<void> {
    if (this.lease !== undefined && this.leases) {
      await this.leases.addResource(this.lease, { type: 'content', id: digest });
    }
  }

  /** Run `op`, making the store's directories first if it finds one missing (they normally exist from openStore). */
  private async withDirs<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      if (errno(error) !== 'ENOENT') throw error;
      await this.mkdirs();
      return op();
    }
  }

  private async mkdirs(): Promise<void> {
    try {
      await fs.mkdir(this.blobsDir, { recursive: true });
      await fs.mkdir(this.ingestDir, { recursive: true });
    } catch (error) {
      throw storageError(error, 'creating the content store directories');
    }
  }

  private async listDir(dir: string): Promise<string[]> {
    try {
      return await fs.readdir(dir);
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw storageError(error, `listing ${dir}`);
    }
  }

  private missing(error: unknown, digest: Digest): CtrError {
    if (errno(error) === 'ENOENT') {
      return notFound(`blob ${digest} not found in content store ${path.dirname(path.dirname(this.blobsDir))}`);
    }
    return storageError(error, `reading blob ${digest}`);
  }
}

/** `length` bytes of an open file from `offset`, fewer if it ends first. */
function readAt(fd: number, length: number, offset: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const got = readSync(fd, bytes, filled, length - filled, offset + filled);
    if (got === 0) break;
    filled += got;
  }
  return bytes.subarray(0, filled);
}
