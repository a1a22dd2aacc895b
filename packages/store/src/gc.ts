import { promises as fs } from 'node:fs';
import { isNotFound, throwIfAborted } from '@ctr/errors';
import { isLayerType, type Descriptor, type Digest } from '@ctr/image';
import type { LocalContentStore } from './content-store';
import { removeAbandonedTemps } from './temps';
import type { ImageIndex } from './image-index';
import { abandonedIngests, removeIngest } from './ingest';
import type { Lease, LeaseManager } from './leases';
import { blobReferences } from './references';
import type { OverlaySnapshotter, SnapshotInfo } from './snapshotter';
import { removeAbandonedExtractions } from './unpack';

type Root = Pick<Descriptor, 'digest' | 'mediaType'>;

export interface GcResult {
  removedBlobs: Digest[];
  /** Layers nothing uses, and extractions killed processes left. */
  removedSnapshots: string[];
  /** Directories of the ingests removed (`GcOptions.keepIngestsMs`). */
  removedIngests: string[];
  expiredLeases: string[];
  /** Bytes of blobs, snapshots and ingests removed, and of temporary files killed processes left. */
  reclaimed: number;
  /** Of `reclaimed`, the bytes of what killed processes left (downloads, extractions, temporary files). */
  leftovers: number;
}

/** What `release` freed. */
export interface ReleaseResult {
  removedBlobs: Digest[];
  /**
   * For each target, in order, the chainIDs of the layers it released (the snapshot removed,
   * or, never unpacked, the blob), top layer first: moby's order for `docker rmi`'s Deleted
   * lines. A layer several targets shared is the first's.
   */
  layers: string[][];
  /** Bytes of blobs removed. */
  reclaimed: number;
}

/**
 * Roots the store does not know of (the engine's build cache): blobs, followed as an image's
 * are, and snapshots kept with their ancestors.
 */
export interface GcRoots {
  blobs: Root[];
  snapshots: string[];
}

export interface GcOptions {
  signal?: AbortSignal;
  /** Asked once the leases are read, so what was made under a lease since is in them. */
  roots?: () => Promise<GcRoots>;
  /**
   * How long an ingest no process writes (a killed or failed pull's partial download) is kept
   * for a pull of it to resume, since it was last written: default a day, as a lease lasts;
   * 0 (an explicit prune) takes every one. One a live process writes is never taken.
   */
  keepIngestsMs?: number;
}

const DAY = 24 * 60 * 60 * 1000;

export interface ReleaseOptions extends GcOptions {
  /**
   * The index the targets are children of, which stays (`rmi --platform`): its image still
   * holds its other children, not these.
   */
  index?: Digest;
}

export interface GcParts {
  content: LocalContentStore;
  snapshots: OverlaySnapshotter;
  images: ImageIndex;
  leases: LeaseManager;
  /** Directories whose temporary files, when their makers have ended, gc removes (`tempDirectories`). */
  temps?: readonly string[];
  /** The content store's ingest directory, whose abandoned ingests gc removes (`keepIngestsMs`). */
  ingests?: string;
}

/**
 * What roots reach: indexes → manifests → configs and layers, and each config's layer chain
 * to its snapshots. Marking more roots later follows only what was not reached before.
 */
class Reach {
  readonly blobs = new Set<Digest>();
  readonly snapshots = new Set<string>();
  /** Each manifest's config and layer blobs, and each config's chain: what pairs a layer's blob with its chainID. */
  private readonly manifests: Array<{ config: Digest; layers: Digest[] }> = [];
  private readonly chains = new Map<Digest, string[]>();

  constructor(
    private readonly content: LocalContentStore,
    private readonly what: string,
    private readonly signal: AbortSignal | undefined,
    /** An index that stays while these children of it go (`rmi --platform`): from it, they are not followed. */
    private readonly trim?: { index: Digest; going: ReadonlySet<Digest> },
  ) {}

  /** Mark from `roots`; stops early once `enough` says so (checked after each root). */
  async mark(roots: Iterable<Root>, enough: () => boolean = () => false): Promise<void> {
    for (const root of roots) {
      if (this.blobs.has(root.digest)) continue;
      const going = root.digest === this.trim?.index ? this.trim.going : undefined;
      const queue: Root[] = [root];
      for (let next = queue.pop(); next; next = queue.pop()) {
        throwIfAborted(this.signal, this.what);
        if (this.blobs.has(next.digest) || (next !== root && going?.has(next.digest))) continue;
        this.blobs.add(next.digest);
        // A layer is a leaf: no stat of every layer of every image.
        if (next.mediaType && isLayerType(next.mediaType)) continue;
        try {
          const refs = await blobReferences(this.content, next);
          queue.push(...refs.children);
          for (const id of refs.chainIds) this.snapshots.add(id);
          if (refs.config) this.manifests.push({ config: refs.config.digest, layers: refs.layers.map((l) => l.digest) });
          if (refs.chainIds.length > 0) this.chains.set(next.digest, refs.chainIds);
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
      if (enough()) return;
    }
  }

  /** Mark what leases and other roots hold. */
  async hold(leases: readonly Lease[], roots: GcRoots | undefined): Promise<void> {
    const blobs: Root[] = [...(roots?.blobs ?? [])];
    for (const id of roots?.snapshots ?? []) this.snapshots.add(id);
    for (const lease of leases) {
      for (const r of lease.resources) {
        if (r.type === 'content') blobs.push({ digest: r.id as Digest, mediaType: '' });
        else this.snapshots.add(r.id);
      }
    }
    await this.mark(blobs);
  }

  /** The blob of each layer reached, by chainID. */
  layerBlobs(): Map<string, Digest> {
    const blobs = new Map<string, Digest>();
    for (const { config, layers } of this.manifests) {
      this.chains.get(config)?.forEach((id, i) => {
        const layer = layers[i];
        if (layer !== undefined) blobs.set(id, layer);
      });
    }
    return blobs;
  }

  /** Whether everything `others` reach is reached here too. */
  covers(others: readonly Reach[]): boolean {
    for (const other of others) {
      for (const blob of other.blobs) if (!this.blobs.has(blob)) return false;
      for (const id of other.snapshots) if (!this.snapshots.has(id)) return false;
    }
    return true;
  }
}

/**
 * Mark and sweep. Roots: every image's target, every live lease's resources and the
 * caller's `roots`. Active and view snapshots (containers) keep their ancestors. Anything
 * that appeared after gc started is left alone, which with leases makes gc safe against a
 * pull, build or commit running at the same time. What processes that have ended left goes
 * first — temporary files (a killed commit's half-written blob), layer extractions, and
 * ingests past `keepIngestsMs` — so that the layers under an extraction can go too; those
 * of live processes are theirs.
 */
export async function collectGarbage(parts: GcParts, options: GcOptions = {}): Promise<GcResult> {
  const started = Date.now();
  const what = 'garbage collection';
  const swept = await sweepAbandoned(parts, options);
  const expiredLeases = await parts.leases.expire(started);
  const reach = new Reach(parts.content, what, options.signal);
  await reach.hold(await parts.leases.active(started), await options.roots?.());
  await reach.mark((await parts.images.list()).map((i) => i.target));

  const result: GcResult = {
    removedBlobs: [],
    removedSnapshots: swept.removedSnapshots,
    removedIngests: swept.removedIngests,
    expiredLeases,
    reclaimed: swept.reclaimed,
    leftovers: swept.reclaimed,
  };
  for await (const blob of parts.content.walk(options.signal)) {
    if (reach.blobs.has(blob.digest)) continue;
    const size = await deleteBlobOlderThan(parts.content, blob.digest, started);
    if (size === undefined) continue;
    result.removedBlobs.push(blob.digest);
    result.reclaimed += size;
  }

  const unmarked: string[] = [];
  for await (const snapshot of parts.snapshots.walk(options.signal)) if (!reach.snapshots.has(snapshot.name)) unmarked.push(snapshot.name);
  result.removedSnapshots.push(...(await parts.snapshots.removeLayers(unmarked, { olderThan: started, background: true })));
  await parts.snapshots.settle();
  return result;
}

/** What `sweepAbandoned` removed. */
export interface SweepResult {
  /** Extractions of processes that have ended. */
  removedSnapshots: string[];
  /** Directories of the ingests removed. */
  removedIngests: string[];
  /** Bytes freed, those of temporary files included. */
  reclaimed: number;
}

/**
 * What processes that have ended left, and nothing else: their temporary files, their layer
 * extractions, and their ingests past `keepIngestsMs` (default a day; one never recorded at
 * once). Cheap — no walk of blobs or images — so a daemon can do it at every start.
 */
export async function sweepAbandoned(parts: Pick<GcParts, 'snapshots' | 'temps' | 'ingests'>, options: Pick<GcOptions, 'keepIngestsMs' | 'signal'> = {}): Promise<SweepResult> {
  const started = Date.now();
  const temps = await removeAbandonedTemps(parts.temps ?? []);
  const ingests = await removeAbandonedIngests(parts.ingests, started - (options.keepIngestsMs ?? DAY), options.signal);
  const extractions = await removeAbandonedExtractions(parts.snapshots);
  return { removedSnapshots: extractions.removed, removedIngests: ingests.removed, reclaimed: temps + ingests.reclaimed + extractions.reclaimed };
}

/**
 * The committed layers nothing holds: no image, live lease or root of the caller's reaches
 * them, and no snapshot outside them is based on them (an active or view snapshot keeps its
 * ancestors, unless it is among `disowned`, snapshots the caller knows have no owner). What
 * gc would take, listed without taking it.
 */
export async function unreferencedLayers(
  parts: Pick<GcParts, 'content' | 'snapshots' | 'images' | 'leases'>,
  options: Pick<GcOptions, 'roots' | 'signal'> & { disowned?: ReadonlySet<string> } = {},
): Promise<SnapshotInfo[]> {
  const reach = new Reach(parts.content, 'checking layers', options.signal);
  await reach.hold(await parts.leases.active(Date.now()), await options.roots?.());
  await reach.mark((await parts.images.list()).map((i) => i.target));
  const all = new Map<string, SnapshotInfo>();
  for await (const snapshot of parts.snapshots.walk(options.signal)) all.set(snapshot.name, snapshot);
  const kept = new Set<string>();
  for (const snapshot of all.values()) {
    const holds = reach.snapshots.has(snapshot.name) || (snapshot.kind !== 'committed' && !options.disowned?.has(snapshot.name));
    if (!holds) continue;
    for (let name: string | undefined = snapshot.name; name !== undefined && !kept.has(name); name = all.get(name)?.parent) kept.add(name);
  }
  return [...all.values()].filter((snapshot) => snapshot.kind === 'committed' && !kept.has(snapshot.name));
}

/**
 * Free what only `targets` held: the blobs they reach (an image's manifest or index, config
 * and layers) and their layer snapshots, once no image name reaches them (the caller has
 * removed the images), and keeping what another image, a live lease, the caller's `roots`
 * or a snapshot based on them (a container) still needs — moby's layer release on `docker
 * rmi`, where `gc` would walk every blob on the root.
 *
 * The leases stay frozen from their reading to the last removal from the tables: a pull,
 * build or commit records a blob in its lease before it looks for it, so it either is seen
 * holding it here or finds it gone and fetches it again. Anything written or committed after
 * the release began is left alone, as by gc.
 */
export async function releaseContent(parts: GcParts, targets: readonly Descriptor[], options: ReleaseOptions = {}): Promise<ReleaseResult> {
  const started = Date.now();
  const what = 'releasing image content';
  // Each target's own reach: a blob or layer two targets share is the first's.
  const candidates: Reach[] = [];
  for (const target of targets) {
    const own = new Reach(parts.content, what, options.signal);
    await own.mark([target]);
    candidates.push(own);
  }
  const trim = options.index === undefined ? undefined : { index: options.index, going: new Set(targets.map((t) => t.digest)) };
  const held = new Reach(parts.content, what, options.signal, trim);
  const enough = (): boolean => held.covers(candidates);
  // Most images are marked before the leases freeze: a pull waiting to record a blob waits
  // only for what changed since.
  await held.mark((await parts.images.list()).map((i) => i.target), enough);

  const { removedBlobs, removedSnapshots } = await parts.leases.frozen(async (leases) => {
    if (!enough()) await held.hold(leases, await options.roots?.());
    if (!enough()) await held.mark((await parts.images.list()).map((i) => i.target), enough);
    const layers = new Set(candidates.flatMap((own) => [...own.snapshots].filter((id) => !held.snapshots.has(id))));
    const removedSnapshots = new Set(layers.size > 0 ? await parts.snapshots.removeLayers([...layers], { olderThan: started, background: true }) : []);
    const removedBlobs: Array<{ digest: Digest; size: number }> = [];
    for (const digest of new Set(candidates.flatMap((own) => [...own.blobs]))) {
      if (held.blobs.has(digest)) continue;
      const size = await deleteBlobOlderThan(parts.content, digest, started);
      if (size !== undefined) removedBlobs.push({ digest, size });
    }
    return { removedBlobs, removedSnapshots };
  });
  await parts.snapshots.settle();

  // A layer is released when its snapshot went, or, never unpacked (a committed image not
  // run yet), its blob did; one a container's snapshot still stands on is not.
  const freed = new Set<string>(removedBlobs.map((b) => b.digest));
  const table = (await parts.snapshots.table()).snapshots;
  const claimed = new Set<string>();
  const released = (id: string, blob: Digest | undefined): boolean =>
    removedSnapshots.has(id) || (blob !== undefined && freed.has(blob) && table[id] === undefined);
  const layers = candidates.map((own) => {
    const blobs = own.layerBlobs();
    return [...own.snapshots].reverse().filter((id) => released(id, blobs.get(id)) && !claimed.has(id) && Boolean(claimed.add(id)));
  });
  return { removedBlobs: removedBlobs.map((b) => b.digest), layers, reclaimed: removedBlobs.reduce((sum, b) => sum + b.size, 0) };
}

/**
 * Remove the ingests under `dir` no process writes that are not resumable, or were last
 * written before `keptSince` (ms).
 */
async function removeAbandonedIngests(dir: string | undefined, keptSince: number, signal: AbortSignal | undefined): Promise<{ removed: string[]; reclaimed: number }> {
  const found = { removed: [] as string[], reclaimed: 0 };
  for (const ingest of dir === undefined ? [] : await abandonedIngests(dir)) {
    throwIfAborted(signal, 'garbage collection');
    if (ingest.resumable && ingest.updated >= keptSince) continue;
    const size = await removeIngest(ingest.dir);
    if (size === undefined) continue;
    found.removed.push(ingest.dir);
    found.reclaimed += size;
  }
  return found;
}

/**
 * Delete a blob unless it was written (or wanted again, which touches it) at or after
 * `started`; its size when it went.
 */
async function deleteBlobOlderThan(content: LocalContentStore, digest: Digest, started: number): Promise<number | undefined> {
  const stat = await fs.stat(content.blobPath(digest)).catch(() => undefined);
  if (!stat || stat.mtimeMs >= started) return undefined;
  try {
    await content.delete(digest);
    return stat.size;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    return undefined;
  }
}
