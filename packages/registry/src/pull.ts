import { Readable, type Transform } from 'node:stream';
import { aborted, CtrError, isCtrError, isDigestMismatch, isNotFound, throwIfAborted } from '@ctr/errors';
import {
  digestHex,
  countBytes,
  formatReference,
  isIndexType,
  parseManifestOrIndex,
  selectManifest,
  shortId,
  type ContentStore,
  type Descriptor,
  type Ingest,
  type Platform,
  type Reference,
  type ResumableIngester,
} from '@ctr/image';
import { forEachLimit } from './limit';
import type { PullProgress } from './pull-progress';
import type { FetchedManifest, RepositoryApi } from './repository-api';
import { through } from './byte-streams';

export interface PullOptions {
  /** Where verified blobs go. A ResumableIngester lets an interrupted download continue with HTTP Range. */
  store: ContentStore & Partial<ResumableIngester>;
  /** Which entry of a multi-platform image to pull (default: this host's). */
  platform?: Platform;
  signal?: AbortSignal;
  onProgress?: (event: PullProgress) => void;
}

export interface PullResult {
  /** The normalised reference pulled: `docker.io/library/busybox:latest`. */
  reference: Reference;
  /** The image manifest, after platform selection from an index. */
  manifest: Descriptor;
  /** The index or manifest list the reference named, when it named one. */
  index?: Descriptor;
  config: Descriptor;
  /** Base layer first. */
  layers: Descriptor[];
}

const PROGRESS_STEP = 512 * 1024;
const MAX_INDEX_DEPTH = 4;

/**
 * Pull one image through `api` into the store: manifest (platform chosen from an index),
 * then config and layers in parallel, each verified against its digest before it becomes
 * visible; blobs already present are skipped. Manifests are written last, so a pull that
 * fails or is cancelled leaves only complete, verified blobs — never an image that looks
 * pulled but is not.
 */
export async function pullImage(api: RepositoryApi, top: FetchedManifest, options: PullOptions, concurrency: number): Promise<PullResult> {
  const { store, signal } = options;
  const documents: FetchedManifest[] = [top];
  let current = top;
  let index: Descriptor | undefined;
  for (let depth = 0; isIndexType(current.descriptor.mediaType); depth += 1) {
    if (depth >= MAX_INDEX_DEPTH) throw new CtrError('Unsupported', `${api.name}: indexes nested deeper than ${MAX_INDEX_DEPTH} levels`);
    const parsed = parseManifestOrIndex(current.bytes, current.descriptor.mediaType);
    if (parsed.kind !== 'index') break;
    index ??= current.descriptor;
    const chosen = selectManifest(parsed.index, options.platform);
    current = await api.fetchManifest(chosen.digest, signal);
    documents.push(current);
  }
  const parsed = parseManifestOrIndex(current.bytes, current.descriptor.mediaType);
  if (parsed.kind !== 'manifest') throw new CtrError('Unsupported', `${api.name}: ${current.descriptor.mediaType} is not an image manifest`);
  const { config, layers } = parsed.manifest;

  const emit = options.onProgress ?? ((): void => undefined);
  // Each blob once: a layer the manifest names twice is downloaded, and shown, once (as dockerd).
  const seen = new Set<string>();
  const items = [
    { descriptor: config, kind: 'config' as const },
    ...layers.map((descriptor) => ({ descriptor, kind: 'layer' as const })),
  ].filter(({ descriptor }) => !seen.has(descriptor.digest) && Boolean(seen.add(descriptor.digest)));
  try {
    const here = await Promise.all(items.map(({ descriptor }) => present(store, descriptor)));
    const missing = items.filter((_, i) => !here[i]);
    // Largest first: the pull ends when its last blob does, so the big ones must not start last.
    const queue = [...missing].sort((a, b) => b.descriptor.size - a.descriptor.size);
    announce(items, here, queue, concurrency, emit);
    await forEachLimit(queue, concurrency, ({ descriptor, kind }, received) => fetchBlob(api, store, descriptor, kind, { emit, received, signal }));
    // Children before parents: an index in the store always has its manifest there too.
    for (const document of documents.reverse()) {
      throwIfAborted(signal, `pull of ${formatReference(api.reference)}`);
      await store.write(Readable.from([document.bytes]), { digest: document.descriptor.digest, size: document.descriptor.size });
    }
  } catch (error) {
    if (signal?.aborted && !(isCtrError(error) && error.code === 'Aborted')) throw aborted(signal, `pull of ${formatReference(api.reference)}`);
    throw error;
  }
  const result: PullResult = { reference: api.reference, manifest: current.descriptor, config, layers };
  if (index !== undefined) result.index = index;
  return result;
}

/**
 * dockerd's first word on each layer, in the manifest's order: "Already exists" for one
 * that is here, else "Pulling fs layer", then "Waiting" for each that gets no download slot
 * at once. An image whose every blob is here gets none: dockerd says nothing per layer of
 * an image it has. The config is no layer: it is only said to be here, or downloaded.
 */
function announce(
  items: readonly { descriptor: Descriptor; kind: 'config' | 'layer' }[],
  here: readonly boolean[],
  queue: readonly { descriptor: Descriptor }[],
  concurrency: number,
  emit: (event: PullProgress) => void,
): void {
  const event = (descriptor: Descriptor, kind: 'config' | 'layer', status: PullProgress['status']): void =>
    emit({ id: shortId(descriptor.digest), digest: descriptor.digest, kind, status });
  const complete = here.every(Boolean);
  items.forEach(({ descriptor, kind }, i) => {
    if (kind === 'config') {
      if (here[i]) event(descriptor, kind, 'Already exists');
    } else if (!complete) event(descriptor, kind, here[i] ? 'Already exists' : 'Pulling fs layer');
  });
  const waiting = new Set(queue.slice(Math.max(1, concurrency)).map((item) => item.descriptor.digest));
  for (const { descriptor, kind } of items) if (kind === 'layer' && waiting.has(descriptor.digest)) event(descriptor, kind, 'Waiting');
}

interface FetchContext {
  emit: (event: PullProgress) => void;
  /** Called when the last byte has come off the network (what is left is fsync and commit). */
  received: () => void;
  signal: AbortSignal | undefined;
}

async function fetchBlob(
  api: RepositoryApi,
  store: ContentStore & Partial<ResumableIngester>,
  descriptor: Descriptor,
  kind: 'config' | 'layer',
  { emit, received, signal }: FetchContext,
): Promise<void> {
  const id = shortId(descriptor.digest);
  const event = (status: PullProgress['status'], current?: number): void => {
    if (kind === 'config' && status !== 'Download complete') return;
    emit({ id, digest: descriptor.digest, kind, status, ...(current === undefined ? {} : { current, total: descriptor.size }) });
  };
  const progress = (start: number): Transform => countBytes(start, PROGRESS_STEP, (n) => event('Downloading', n)).once('end', received);
  try {
    const resumed = typeof store.ingest === 'function' && (await resumableDownload(api, store as ContentStore & ResumableIngester, descriptor, progress, () => event('Verifying Checksum'), signal));
    if (!resumed) {
      const { body } = await api.fetchBlob(descriptor.digest, 0, signal);
      // The store checks the digest as the bytes go in: what is left when they are all in.
      const counted = through(body, progress(0)).once('end', () => event('Verifying Checksum'));
      await store.write(counted, { digest: descriptor.digest, size: descriptor.size, ...(signal ? { signal } : {}) });
    }
  } catch (error) {
    if (isCtrError(error) && error.code === 'DigestMismatch') {
      // dockerd's words first: what failed, and for which digest.
      const what = kind === 'layer' ? 'filesystem layer' : 'image config';
      const origin = `${kind} ${id} of ${formatReference(api.reference)} from registry ${api.endpoint.registry}`;
      throw new CtrError('DigestMismatch', `${what} verification failed for digest ${descriptor.digest}: ${origin}: ${error.message}`, {
        cause: error,
        details: { ...error.details, registry: api.endpoint.registry, digest: descriptor.digest },
      });
    }
    throw error;
  }
  event('Download complete');
}

/**
 * Download into a resumable ingest named after the digest: bytes kept by an earlier,
 * interrupted pull are not fetched again (Range request). The ingest becomes a blob only
 * when its size and digest check out; a mismatch discards it. False when another pull is
 * writing the same ingest right now: the caller then downloads on its own (writing
 * identical verified bytes twice is harmless).
 */
async function resumableDownload(
  api: RepositoryApi,
  store: ContentStore & ResumableIngester,
  descriptor: Descriptor,
  progress: (start: number) => Transform,
  verifying: () => void,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const ref = `pull-${digestHex(descriptor.digest)}`;
  let ingest: Ingest;
  try {
    ingest = await store.ingest(ref, descriptor.digest, { size: descriptor.size });
  } catch (error) {
    if (isCtrError(error) && error.code === 'Unavailable') return false;
    throw error;
  }
  let kept = false;
  try {
    if (ingest.offset > descriptor.size) {
      await ingest.abort();
      ingest = await store.ingest(ref, descriptor.digest, { size: descriptor.size });
    }
    kept = ingest.offset > 0;
    if (ingest.offset < descriptor.size) {
      const { body, partial } = await api.fetchBlob(descriptor.digest, ingest.offset, signal);
      if (ingest.offset > 0 && !partial) {
        // The registry sent the whole blob: start the ingest over.
        await ingest.abort();
        ingest = await store.ingest(ref, descriptor.digest, { size: descriptor.size });
        kept = false;
      }
      await ingest.append(through(body, progress(ingest.offset)), signal ? { signal } : {});
    }
    verifying();
    await ingest.commit({ size: descriptor.size });
    return true;
  } catch (error) {
    // The kept bytes may be what was wrong (a mirror's, cut off mid-layer): the failed commit
    // discarded them, so one download from the start decides rather than this endpoint failing.
    if (kept && isDigestMismatch(error)) return resumableDownload(api, store, descriptor, progress, verifying, signal);
    throw error;
  } finally {
    // Keep what was written for the next pull, but give up this process's hold on it.
    await closeIngest(ingest);
  }
}

/** Release an ingest left open by a failure. `close` is not on the Ingest interface yet; LocalIngest has it. */
async function closeIngest(ingest: Ingest): Promise<void> {
  const closable = ingest as Ingest & { close?: () => Promise<void> };
  if (typeof closable.close === 'function') await closable.close().catch(() => undefined);
}

async function present(store: ContentStore, descriptor: Descriptor): Promise<boolean> {
  try {
    return (await store.info(descriptor.digest)).size === descriptor.size;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}
