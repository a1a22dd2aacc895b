import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import { asCtrError, CtrError, digestMismatch, invalidArgument, isCtrError, throwIfAborted } from '@ctr/errors';
import * as tar from 'tar-stream';
import type { BlobInfo, BlobIngester } from './content';
import type { Digest, DiffID } from './digest';
import { archiveLinkTarget, archivePath, digestOfBlobPath } from './docker-archive-paths';
import { readCapped } from './docker-archive-json';
import type { LayerCompression } from './media-types';

/** What one file of an archive became once it was spooled into the blob store. */
export interface SpooledFile {
  info: BlobInfo;
  /** How the bytes are compressed, judged by their magic number. */
  compression: LayerCompression;
  /** The digest of the uncompressed bytes (a layer's diffID); absent when it could not be computed. */
  uncompressed?: DiffID;
  /** The bytes, kept when they look like a small JSON document (configs, manifests). */
  json?: Buffer;
}

/** An archive read once, front to back: metadata files in memory, every other file in the store. */
export interface SpooledArchive {
  /** `manifest.json`, `index.json`, `oci-layout`, `repositories`, when present. */
  meta: Map<string, Buffer>;
  /** The spooled file an archive path names, following links. */
  file(path: string): SpooledFile | undefined;
  /** A spooled file by its digest. */
  byDigest(digest: Digest): SpooledFile | undefined;
}

export interface SpoolOptions {
  maxJsonBytes: number;
  /** Total bytes of JSON-looking blobs kept in memory for the resolve step. */
  maxCachedJsonBytes: number;
  signal?: AbortSignal;
}

const META_FILES: ReadonlySet<string> = new Set(['manifest.json', 'index.json', 'oci-layout', 'repositories']);
// Per-layer v1 metadata of classic archives: nothing since Docker 1.10 needs it.
const LEGACY_FILE = /^[a-f0-9]{64}\/(?:VERSION|json)$/;
const MAX_LINK_DEPTH = 16;

/**
 * Stream an archive into `ingester` as its entries arrive. Entries come in whatever order
 * the writer chose (manifest.json may list layers the tar holds later, or earlier), so
 * each file goes to the store keyed by its path and is matched up afterwards; blobs under
 * `blobs/sha256/` are verified against the digest their path names.
 */
export async function spoolArchive(
  ingester: BlobIngester,
  source: Readable,
  options: SpoolOptions,
): Promise<SpooledArchive> {
  const meta = new Map<string, Buffer>();
  const files = new Map<string, SpooledFile>();
  const links = new Map<string, string>();
  const digests = new Map<Digest, SpooledFile>();
  let cachedJson = 0;
  const extract = tar.extract();
  let sourceError: Error | undefined;
  source.on('error', (error) => {
    sourceError = error;
    extract.destroy(error);
  });
  source.pipe(extract);
  try {
    for await (const entry of extract) {
      throwIfAborted(options.signal, 'loading the archive');
      const header = entry.header;
      if (header.type === 'directory') {
        entry.resume();
        continue;
      }
      const name = archivePath(header.name, 'archive entry');
      if (header.type === 'symlink' || header.type === 'link') {
        links.set(name, archiveLinkTarget(name, header.linkname, header.type === 'link'));
        entry.resume();
        continue;
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      if (META_FILES.has(name)) {
        // streamx streams iterate like Node's; their typings just do not say so.
        meta.set(name, await readCapped(entry as unknown as AsyncIterable<Uint8Array>, options.maxJsonBytes, name));
        continue;
      }
      if (LEGACY_FILE.test(name)) {
        entry.resume();
        continue;
      }
      const expected = digestOfBlobPath(name);
      const keepJson = cachedJson < options.maxCachedJsonBytes && (header.size ?? 0) <= options.maxJsonBytes;
      const spooled = await spoolFile(ingester, entry, name, { expected, size: header.size, keepJson, signal: options.signal });
      if (spooled.json !== undefined) cachedJson += spooled.json.length;
      files.set(name, spooled);
      digests.set(spooled.info.digest, spooled);
    }
  } catch (error) {
    source.unpipe(extract);
    source.destroy();
    if (isCtrError(error)) throw error;
    // The stream we were given failed (a cut connection, a read error): not the archive's fault.
    if (sourceError !== undefined) throw asCtrError(sourceError, 'Unavailable', 'reading the archive failed');
    // tar-stream guesses at gzip; compressed archives were decompressed before they came here.
    const reason = (error as Error).message.replace(/\.? Maybe the tar is corrupted or it needs to be gunzipped\?$/, '');
    throw invalidArgument(`the archive is not a readable tar stream: ${reason}`, {
      cause: error,
      hint: 'an image archive is a tar (docker save), plain or compressed with gzip, bzip2, xz or zstd',
    });
  }
  const file = (path: string): SpooledFile | undefined => {
    let current = path;
    for (let depth = 0; depth <= MAX_LINK_DEPTH; depth++) {
      const found = files.get(current);
      if (found !== undefined) return found;
      const next = links.get(current);
      if (next === undefined) return undefined;
      current = next;
    }
    throw invalidArgument(`archive path "${path}" goes through more than ${MAX_LINK_DEPTH} links`);
  };
  return { meta, file, byDigest: (digest) => digests.get(digest) };
}

async function spoolFile(
  ingester: BlobIngester,
  entry: tar.Extract extends AsyncIterable<infer E> ? E : never,
  name: string,
  options: { expected: Digest | undefined; size: number | undefined; keepJson: boolean; signal: AbortSignal | undefined },
): Promise<SpooledFile> {
  const sniffer = new Sniffer(options.keepJson);
  entry.on('error', (error) => sniffer.destroy(error));
  // A store that already has the blob stops reading (and destroys what it was given); the
  // entry must still be read to its end, both to sniff it and to reach the next entry.
  const toStore = new PassThrough();
  entry.pipe(sniffer).pipe(toStore);
  toStore.on('close', () => {
    if (!sniffer.readableEnded) {
      sniffer.unpipe(toStore);
      sniffer.resume();
    }
  });
  const info = await ingester.write(toStore, {
    ...(options.expected === undefined ? {} : { digest: options.expected }),
    ...(options.size === undefined ? {} : { size: options.size }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (options.expected !== undefined && info.digest !== options.expected) {
    throw digestMismatch(`archive entry "${name}" has digest ${info.digest}, not the one its path names`, {
      details: { path: name, digest: info.digest, expected: options.expected },
    });
  }
  await finished(sniffer);
  const sniffed = sniffer.result();
  const uncompressed = sniffed.compression === 'none' ? (info.digest as string as DiffID) : sniffed.uncompressed;
  return {
    info,
    compression: sniffed.compression,
    ...(uncompressed === undefined ? {} : { uncompressed }),
    ...(sniffed.json === undefined ? {} : { json: sniffed.json }),
  };
}

interface Sniffed {
  compression: LayerCompression;
  uncompressed?: DiffID;
  json?: Buffer;
}

/**
 * Passes bytes through unchanged while learning what they are: the compression (magic
 * number), the uncompressed digest of gzip streams (a classic archive's layer may be
 * gzipped, and its diffID must still be checked), and the bytes of small JSON documents.
 */
class Sniffer extends Transform {
  private compression: LayerCompression | undefined;
  private gunzip: Gunzip | undefined;
  private gunzipDone: Promise<DiffID | undefined> = Promise.resolve(undefined);
  private json: Buffer[] | undefined;
  private final: Sniffed | undefined;

  constructor(private readonly keepJson: boolean) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.compression === undefined) this.start(chunk);
    this.json?.push(chunk);
    if (this.gunzip !== undefined && !this.gunzip.destroyed) {
      // Wait for the gunzip to take the chunk, so a fast source cannot pile bytes up in it.
      this.gunzip.write(chunk, () => callback(null, chunk));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.gunzip?.end();
    this.gunzipDone.then(
      (uncompressed) => {
        this.final = {
          compression: this.compression ?? 'none',
          ...(uncompressed === undefined ? {} : { uncompressed }),
          ...(this.json === undefined ? {} : { json: Buffer.concat(this.json) }),
        };
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  result(): Sniffed {
    if (this.final === undefined) throw new CtrError('Internal', 'archive entry sniffed before it ended');
    return this.final;
  }

  private start(first: Buffer): void {
    if (first[0] === 0x1f && first[1] === 0x8b) {
      this.compression = 'gzip';
      const gunzip = createGunzip();
      const hash = createHash('sha256');
      this.gunzip = gunzip;
      this.gunzipDone = new Promise((resolve) => {
        gunzip.on('data', (data: Buffer) => hash.update(data));
        gunzip.on('end', () => resolve(`sha256:${hash.digest('hex')}` as DiffID));
        // Not valid gzip after all: the diffID stays unknown, and only matters if it is used as a layer.
        gunzip.on('error', () => resolve(undefined));
      });
      return;
    }
    this.compression = first.length >= 4 && first.readUInt32BE(0) === 0x28b52ffd ? 'zstd' : 'none';
    const firstByte = first.toString('latin1').trimStart()[0];
    if (this.keepJson && (firstByte === '{' || firstByte === '[')) this.json = [];
  }
}
