import type { Readable } from 'node:stream';
import { CtrError, digestMismatch, isAborted, isNotFound } from '@ctr/errors';
import { countBytes, digestOf, MediaTypes, parseManifestOrIndex, shortId, type BlobProvider, type Descriptor, type Digest } from '@ctr/image';
import { forEachLimit } from './limit';
import type { PushProgress } from './pull-progress';
import type { RepositoryApi } from './repository-api';
import { takeBytes, through } from './byte-streams';

export interface PushOptions {
  /** Where the image's blobs are read from. */
  store: BlobProvider;
  /** The image manifest or index to push (it and everything it references must be in `store`). */
  manifest: Descriptor;
  /**
   * Repositories of the same registry that may already hold the blobs, tried in turn as
   * cross-repository mounts (at most three a blob, as dockerd tries): the same for every
   * blob, or each blob's own by digest (a blob the map does not name is uploaded).
   */
  mountFrom?: readonly string[] | ReadonlyMap<Digest, readonly string[]>;
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
/** dockerd's most mount attempts for a layer: each refused one costs a round trip. */
const MAX_MOUNT_ATTEMPTS = 3;

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

/** Every repository `mountFrom` names, each once: the pull scopes a push asks for besides its own. */
export function mountRepositories(mountFrom: PushOptions['mountFrom']): string[] {
  if (mountFrom === undefined) return [];
  return [...new Set(isMountMap(mountFrom) ? [...mountFrom.values()].flat() : mountFrom)];
}

function mountCandidates(mountFrom: PushOptions['mountFrom'], digest: Digest): readonly string[] {
  const candidates = mountFrom === undefined ? [] : isMountMap(mountFrom) ? (mountFrom.get(digest) ?? []) : mountFrom;
  return candidates.slice(0, MAX_MOUNT_ATTEMPTS);
}

function isMountMap(mountFrom: NonNullable<PushOptions['mountFrom']>): mountFrom is ReadonlyMap<Digest, readonly string[]> {
  return !Array.isArray(mountFrom);
}

async function pushDocument(api: RepositoryApi, descriptor: Descriptor, ref: string, options: PushOptions, settings: PushSettings): Promise<void> {
  const bytes = await readDocument(options.store, descriptor, options.signal);
  const parsed = parseManifestOrIndex(bytes, descriptor.mediaType);
  if (parsed.kind === 'index') {
    for (const child of parsed.index.manifests) await pushDocument(api, child, child.digest, options, settings);
  } else {
    const { config, layers } = parsed.manifest;
    const ids = await layerIds(options.store, config, layers, options.signal);
    const emit = (blob: Descriptor, id: string, status: PushProgress['status']): void =>
      options.onProgress?.({ id, digest: blob.digest, kind: 'layer', status });
    // As dockerd: the top layer first, each said "Preparing" before any goes up.
    const order = layers.map((blob, i) => ({ blob, id: ids[i] as string })).reverse();
    for (const { blob, id } of order) emit(blob, id, 'Preparing');
    // Each blob once (a layer named twice goes up once); foreign layers stay where their URLs say.
    const seen = new Set<string>();
    const pushed = order.filter(({ blob }) => !foreignLayers.has(blob.mediaType) && !seen.has(blob.digest) && Boolean(seen.add(blob.digest)));
    for (const { blob, id } of order) if (foreignLayers.has(blob.mediaType)) emit(blob, id, 'Skipped foreign layer');
    for (const { blob, id } of pushed.slice(Math.max(1, settings.concurrency))) emit(blob, id, 'Waiting');
    // The config last, as dockerd sends it with the manifest, unseen.
    const blobs = [...pushed.map(({ blob, id }) => ({ blob, id, kind: 'layer' as const })), { blob: config, id: shortId(config.digest), kind: 'config' as const }];
    await forEachLimit(blobs, settings.concurrency, ({ blob, id, kind }) => pushBlob(api, blob, id, kind, options, settings));
  }
  await api.putManifest(ref, descriptor, bytes, options.signal);
}

/**
 * The ID dockerd (classic store) shows for each layer of a push: the short form of its
 * diffID, from the image config; the blob's short digest where the config gives none (not
 * an image config, or one whose diffIDs do not match the layers).
 */
async function layerIds(store: BlobProvider, config: Descriptor, layers: readonly Descriptor[], signal: AbortSignal | undefined): Promise<string[]> {
  const own = layers.map((layer) => shortId(layer.digest));
  let diffIds: unknown;
  try {
    const parsed = JSON.parse((await readDocument(store, config, signal)).toString('utf8')) as { rootfs?: { diff_ids?: unknown } };
    diffIds = parsed.rootfs?.diff_ids;
  } catch (error) {
    if (isAborted(error)) throw error;
    // A config that cannot be read fails the push when it is sent, in that step's words.
    return own;
  }
  if (!Array.isArray(diffIds) || diffIds.length !== layers.length || !diffIds.every((d) => typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d))) return own;
  return (diffIds as Digest[]).map((diffId) => shortId(diffId));
}

async function pushBlob(api: RepositoryApi, blob: Descriptor, id: string, kind: PushProgress['kind'], options: PushOptions, settings: PushSettings): Promise<void> {
  const { signal, store } = options;
  const emit = (status: PushProgress['status'], current?: number): void =>
    options.onProgress?.({ id, digest: blob.digest, kind, status, ...(current === undefined ? {} : { current, total: blob.size }) });
  // A layer was said "Preparing" with the others before any went up; the config, when its turn comes.
  if (kind === 'config') emit('Preparing');
  if (await api.hasBlob(blob.digest, signal)) return emit('Layer already exists');
  let location: URL | undefined;
  for (const from of mountCandidates(options.mountFrom, blob.digest)) {
    // A refused mount opens an ordinary session: the last one is kept for the upload, as dockerd does.
    if (location !== undefined) await api.cancelUpload(location, signal);
    location = await api.startUpload(blob.digest, from, signal);
    if (location === undefined) return emit(`Mounted from ${from}`);
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
