import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CtrError, digestMismatch, invalidArgument, isNotFound, notFound, throwIfAborted } from '@ctr/errors';
import type { BlobInfo, ContentStore, ReadOptions, WriteOptions } from './content';
import { Annotations, type Descriptor } from './descriptor';
import { parseDigest, type Digest } from './digest';
import { readCapped } from './docker-archive-json';
import { parseIndex } from './image-index';
import { MAX_DOCUMENT_BYTES } from './json';
import { checkLayoutVersion, layoutEntry, namesFromAnnotations, normalizeNames } from './oci-layout-index';
import { blobPath } from './docker-archive-paths';
import { MediaTypes } from './media-types';
import { formatReference, parseNormalizedReference } from './reference';

/** An image listed in a layout's index.json. */
export interface LayoutImage {
  descriptor: Descriptor;
  /** Full names from the annotations (`docker.io/library/busybox:latest`). */
  names: string[];
  /** `org.opencontainers.image.ref.name`, what `skopeo oci:DIR:REF` and `umoci --image DIR:REF` select by. */
  refName?: string;
}

const HEX = /^[a-f0-9]{64}$/;

/**
 * An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`) as a
 * content store, so anything that reads or writes blobs can use one: copy an image into
 * it and skopeo or umoci can read it; point a loader at one skopeo wrote.
 *
 * Blob writes are verified and atomic (temporary file, fsync, rename). `index.json`
 * updates are atomic but not locked: one writer at a time.
 */
export class OciLayout implements ContentStore {
  private constructor(readonly dir: string) {}

  /** Open a layout; with `create`, make the directory skeleton when it is absent. */
  static async open(dir: string, options: { create?: boolean } = {}): Promise<OciLayout> {
    const layout = new OciLayout(dir);
    let version: Buffer | undefined;
    try {
      version = await readFile(join(dir, 'oci-layout'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (!options.create) {
        throw notFound(`${dir} is not an OCI image layout: it has no oci-layout file`);
      }
    }
    if (version !== undefined) {
      checkLayoutVersion(version);
      return layout;
    }
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await layout.writeAtomic('index.json', JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] }));
    await layout.writeAtomic('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    return layout;
  }

  async info(digest: Digest): Promise<BlobInfo> {
    try {
      const stats = await stat(this.blobFile(digest));
      return { digest, size: stats.size };
    } catch (error) {
      throw this.missing(digest, error);
    }
  }

  async read(digest: Digest, options: ReadOptions = {}): Promise<Readable> {
    throwIfAborted(options.signal, `reading ${digest}`);
    const { size } = await this.info(digest);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
      throw invalidArgument(`offset ${offset} is outside blob ${digest} of ${size} bytes`);
    }
    return createReadStream(this.blobFile(digest), { start: offset, highWaterMark: READ_CHUNK, ...(options.signal ? { signal: options.signal } : {}) });
  }

  async write(source: Readable | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<BlobInfo> {
    const expected = options.digest === undefined ? undefined : parseDigest(options.digest);
    const temp = join(this.dir, 'blobs', 'sha256', `.ingest-${randomBytes(8).toString('hex')}`);
    const file = await open(temp, 'wx', 0o644);
    try {
      const { digest, size } = await copyHashed(source, file, options.signal);
      if (options.size !== undefined && size !== options.size) {
        throw digestMismatch(`blob has ${size} bytes, expected ${options.size}`, {
          details: { size, expectedSize: options.size },
        });
      }
      if (expected !== undefined && digest !== expected) {
        throw digestMismatch(`blob content has digest ${digest}, expected ${expected}`, { details: { digest, expected } });
      }
      await file.sync();
      await file.close();
      await rename(temp, this.blobFile(digest));
      return { digest, size };
    } catch (error) {
      await file.close().catch(() => undefined);
      await rm(temp, { force: true });
      if (options.signal?.aborted) throw new CtrError('Aborted', 'writing a blob was cancelled', { cause: error });
      throw error;
    }
  }

  async delete(digest: Digest): Promise<void> {
    try {
      await unlink(this.blobFile(digest));
    } catch (error) {
      throw this.missing(digest, error);
    }
  }

  async *walk(signal?: AbortSignal): AsyncIterable<BlobInfo> {
    for (const name of await readdir(join(this.dir, 'blobs', 'sha256'))) {
      throwIfAborted(signal, 'listing blobs');
      if (!HEX.test(name)) continue;
      const digest = `sha256:${name}` as Digest;
      try {
        yield await this.info(digest);
      } catch (error) {
        if (!isNotFound(error)) throw error; // deleted while we listed
      }
    }
  }

  /** The images index.json lists, in its order. */
  async images(): Promise<LayoutImage[]> {
    return (await this.indexEntries()).map((descriptor) => {
      const refName = descriptor.annotations?.[Annotations.refName];
      const names = normalizeNames(namesFromAnnotations(descriptor), `${this.dir}/index.json`);
      return { descriptor, names, ...(refName === undefined ? {} : { refName }) };
    });
  }

  /**
   * The image a name selects: a full reference (`busybox:latest` means
   * `docker.io/library/busybox:latest`) or a bare ref name as skopeo and umoci use.
   */
  async resolve(name: string): Promise<Descriptor> {
    const images = await this.images();
    const full = fullName(name);
    const found =
      images.find((image) => full !== undefined && image.names.includes(full)) ??
      images.find((image) => image.refName === name);
    if (found === undefined) {
      throw notFound(`image "${name}" not found in OCI layout ${this.dir}`, {
        details: { available: images.flatMap((i) => [...i.names, ...(i.refName ? [i.refName] : [])]) },
      });
    }
    return found.descriptor;
  }

  /**
   * List `descriptor` in index.json under `name` (replacing what had that name), or
   * unnamed. Its blobs must already be in the layout.
   */
  async addImage(descriptor: Descriptor, name?: string): Promise<void> {
    const entries = await this.indexEntries();
    const reference = name === undefined ? undefined : parseNormalizedReference(name);
    const entry = layoutEntry(descriptor, reference);
    let kept = entries;
    if (reference !== undefined) {
      const full = formatReference(reference);
      kept = entries.filter((e) => !namesFromAnnotations(e).some((n) => fullName(n) === full));
    } else if (entries.some((e) => e.digest === descriptor.digest && e.annotations === undefined)) {
      return;
    }
    await this.writeAtomic('index.json', JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [...kept, entry] }));
  }

  private async indexEntries(): Promise<Descriptor[]> {
    const what = `${this.dir}/index.json`;
    let bytes: Buffer;
    try {
      bytes = await readCapped(createReadStream(join(this.dir, 'index.json')), MAX_DOCUMENT_BYTES, what);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${what} does not exist`);
      throw error;
    }
    return parseIndex(bytes).manifests;
  }

  private blobFile(digest: Digest): string {
    return join(this.dir, blobPath(digest));
  }

  private missing(digest: Digest, error: unknown): unknown {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return notFound(`blob ${digest} not found in OCI layout ${this.dir}`, { details: { digest } });
    }
    return error;
  }

  private async writeAtomic(name: string, text: string): Promise<void> {
    const temp = join(this.dir, `.${name}.${randomBytes(6).toString('hex')}`);
    await writeFile(temp, text, { flush: true });
    await rename(temp, join(this.dir, name));
  }
}

function fullName(name: string): string | undefined {
  try {
    return formatReference(parseNormalizedReference(name));
  } catch {
    return undefined;
  }
}

const WRITE_BATCH = 1 << 20;
/** Blobs are read in 1 MiB chunks: fewer, larger hops through hashing and tar streams. */
const READ_CHUNK = 1 << 20;

/** Copy into `file`, hashing on the way; chunks are gathered into ~1 MiB writes. */
async function copyHashed(source: AsyncIterable<Uint8Array>, file: FileHandle, signal: AbortSignal | undefined): Promise<BlobInfo> {
  const hash = createHash('sha256');
  let size = 0;
  let batch: Uint8Array[] = [];
  let batched = 0;
  const flush = async (): Promise<void> => {
    if (batched === 0) return;
    await file.writev(batch);
    batch = [];
    batched = 0;
  };
  for await (const chunk of source) {
    throwIfAborted(signal, 'writing a blob');
    hash.update(chunk);
    size += chunk.length;
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= WRITE_BATCH) await flush();
  }
  await flush();
  return { digest: `sha256:${hash.digest('hex')}` as Digest, size };
}
