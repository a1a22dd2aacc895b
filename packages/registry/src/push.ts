import type { Readable } from 'node:stream';
import { CtrError, digestMismatch, isNotFound } from '@ctr/errors';
import { digestOf, MediaTypes, parseManifestOrIndex, shortId, type BlobProvider, type Descriptor } from '@ctr/image';
import { forEachLimit } from './limit';
import type { PushProgress } from './pull-progress';
import type { RepositoryApi } from './repository-api';
import { countBytes, takeBytes, through } from './byte-streams';

export interface PushOptions {
  /** Where the image's blobs are read from. */
  store: BlobProvider;
  /** The image manifest or index to push (it and everything it references must be in `store`). */
  manifest: Descriptor;
  /** Repositories of the same registry that may already hold the blobs (tried as cross-repository mounts). */
  mountFrom?: readonly string[];
  signal?: AbortSignal;
  onProgress?: (event: PushProgress) => void;
}

export interface PushSettings {
  concurrency: number;
  /** Upload blobs larger than this in PATCH chunks of this size; undefined uploads each in one PUT. */
  chunkSize: number | undefined;
}

const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
const PROGRESS_STEP = 512 * 1024;

const foreignLayers: ReadonlySet<string> = new Set([
  MediaTypes.ociLayerNondistributable,
  MediaTypes.ociLayerNondistributableGzip,
  MediaTypes.ociLayerNondistributableZstd,
  MediaTypes.dockerLayerForeignGzip,
]);

/**
 * Push a manifest (or an index and its manifests) and every blob it references that the
 * registry lacks, then the manifest under `tag` — the manifest bytes are sent as stored,
 * so the pushed digest is the local one.
 */
export async function pushImage(api: RepositoryApi, tag: string, options: PushOptions, settings: PushSettings): Promise<void> {
  await pushDocument(api, options.manifest, tag, options, settings);
}

async function pushDocument(api: RepositoryApi, descriptor: Descriptor, ref: string, options: PushOptions, settings: PushSettings): Promise<void> {
  const bytes = await readDocument(options.store, descriptor, options.signal);
  const parsed = parseManifestOrIndex(bytes, descriptor.mediaType);
  if (parsed.kind === 'index') {
    for (const child of parsed.index.manifests) await pushDocument(api, child, child.digest, options, settings);
  } else {
    const { config, layers } = parsed.manifest;
    const pushed = layers.filter((layer) => !foreignLayers.has(layer.mediaType));
    const blobs = [{ blob: config, kind: 'config' as const }, ...pushed.map((blob) => ({ blob, kind: 'layer' as const }))];
    await forEachLimit(blobs, settings.concurrency, ({ blob, kind }) => pushBlob(api, blob, kind, options, settings));
  }
  await api.putManifest(ref, descriptor, bytes, options.signal);
}

async function pushBlob(api: RepositoryApi, blob: Descriptor, kind: PushProgress['kind'], options: PushOptions, settings: PushSettings): Promise<void> {
  const { signal, store } = options;
  const id = shortId(blob.digest);
  const emit = (status: PushProgress['status'], current?: number): void =>
    options.onProgress?.({ id, digest: blob.digest, kind, status, ...(current === undefined ? {} : { current, total: blob.size }) });
  emit('Preparing');
  if (await api.hasBlob(blob.digest, signal)) return emit('Layer already exists');
  let location: URL | undefined;
  for (const from of options.mountFrom ?? []) {
    location = await api.startUpload(blob.digest, from, signal);
    if (location === undefined) return emit(`Mounted from ${from}`);
    break; // The registry opened an ordinary session instead: use it.
  }
  location ??= await api.startUpload(blob.digest, undefined, signal);
  if (location === undefined) return emit('Layer already exists');
  const read = async (offset: number, length: number): Promise<Readable> => {
    const source = await store.read(blob.digest, { offset, ...(signal ? { signal } : {}) });
    const counted = through(source, countBytes(offset, PROGRESS_STEP, (n) => emit('Pushing', n)));
    return offset + length === blob.size ? counted : through(counted, takeBytes(length));
  };
  const chunk = settings.chunkSize;
  if (chunk !== undefined && blob.size > chunk) {
    for (let offset = 0; offset < blob.size; offset += chunk) {
      const length = Math.min(chunk, blob.size - offset);
      location = await api.uploadChunk(location, await read(offset, length), offset, length, signal);
    }
    await api.finishUpload(location, blob.digest, undefined, 0, signal);
  } else {
    await api.finishUpload(location, blob.digest, await read(0, blob.size), blob.size, signal);
  }
  emit('Pushed');
}

async function readDocument(store: BlobProvider, descriptor: Descriptor, signal: AbortSignal | undefined): Promise<Buffer> {
  if (descriptor.size > MAX_DOCUMENT_BYTES) {
    throw new CtrError('ResourceExhausted', `manifest ${descriptor.digest} is ${descriptor.size} bytes, more than ${MAX_DOCUMENT_BYTES}`);
  }
  let source: Readable;
  try {
    source = await store.read(descriptor.digest, signal ? { signal } : {});
  } catch (error) {
    if (isNotFound(error)) {
      throw new CtrError('NotFound', `cannot push: manifest ${descriptor.digest} is not in the local store`, { cause: error });
    }
    throw error;
  }
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part as Buffer);
  const bytes = Buffer.concat(parts);
  if (digestOf(bytes) !== descriptor.digest) {
    throw digestMismatch(`local manifest ${descriptor.digest} does not match its digest; the store may be corrupt`);
  }
  return bytes;
}
