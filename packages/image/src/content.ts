import type { Readable } from 'node:stream';
import type { Digest } from './digest';

/**
 * Small blob interfaces, after containerd's content package. Whoever stores blobs — the
 * @ctr/store content store, a registry, an OCI layout directory, a docker-archive being
 * written — implements the narrow one a caller needs; callers take the narrowest they can.
 */

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface ReadOptions {
  /** First byte to return (for HTTP Range and resumed copies). */
  offset?: number;
  signal?: AbortSignal;
}

/** Something blobs can be read from. */
export interface BlobProvider {
  /** Size of a blob; throws NotFound when absent. */
  info(digest: Digest): Promise<BlobInfo>;
  /** The bytes of a blob, streamed; throws NotFound when absent. */
  read(digest: Digest, options?: ReadOptions): Promise<Readable>;
  /**
   * The whole of a small blob (a manifest, index or config), from a provider that has it at
   * hand (a local store): no stream to set up. ResourceExhausted above `maxSize`.
   */
  readBytes?(digest: Digest, options: { maxSize: number }): Promise<Buffer>;
}

export interface WriteOptions {
  /** The digest the bytes must have; when absent the store computes it (content we just made). */
  digest?: Digest;
  /** The size the bytes must have. */
  size?: number;
  signal?: AbortSignal;
}

/** Something blobs can be written to. The write verifies the digest before the blob becomes visible. */
export interface BlobIngester {
  /**
   * Store `source`. Resolves with the blob's digest and size once it is durable and visible;
   * rejects with DigestMismatch (and keeps nothing) when the bytes do not match
   * `options.digest` / `options.size`. Writing a blob that is already present succeeds.
   */
  write(source: Readable | AsyncIterable<Uint8Array>, options?: WriteOptions): Promise<BlobInfo>;
}

/** The whole content-store face: info / read / write / delete / walk. */
export interface ContentStore extends BlobProvider, BlobIngester {
  delete(digest: Digest): Promise<void>;
  walk(signal?: AbortSignal): AsyncIterable<BlobInfo>;
}

/**
 * A write in progress that outlives the process: reopening the same `ref` later resumes
 * at `offset` (what lets an interrupted pull continue with an HTTP Range request).
 */
export interface Ingest {
  readonly ref: string;
  readonly digest: Digest;
  /** Bytes already written (and hashed) by earlier attempts. */
  readonly offset: number;
  /** Append bytes after `offset`; resolves with the new offset once they are on disk. */
  append(source: Readable | AsyncIterable<Uint8Array>, options?: { signal?: AbortSignal }): Promise<number>;
  /** Verify size and digest, then make the blob visible. On DigestMismatch the ingest is discarded. */
  commit(options?: { size?: number }): Promise<BlobInfo>;
  /** Drop what was written. */
  abort(): Promise<void>;
}

/** A store whose writes can be resumed after a crash or a cancelled download. */
export interface ResumableIngester {
  ingest(ref: string, digest: Digest, options?: { size?: number }): Promise<Ingest>;
}
