import { promises as fs } from 'node:fs';
import { invalidArgument } from '@ctr/errors';
import path from 'node:path';
import { apparentSize, type GcResult, type VolumeInfo } from '@ctr/store';
import { buildCacheDir, buildCacheFiles, readCachedStep } from './build-cache';
import { cacheMountInUse, cacheMountKeys, cacheMountsDir, removeCacheMount, type CacheMountInfo } from './build-mounts';
import type { ContainerSize, ContainerSummary, Containers } from './containers';
import type { EngineContext } from './context';
import { engineRoots, parentIds, type ImageSummary, type Images, type RemovedImage } from './images';
import { boolFilter, checkFilterKeys, parseTimestamp, patternMatch, PRUNE_FILTERS, pruneMatcher, type Filters } from './filters';
import { sweepScratch } from './scratch';
import { pruneNetworks, pruneVolumes, volumePruneAll } from './volumes-networks';

/** `docker system prune` / `POST /…/prune` results together, Docker's field names. */
export interface SystemPruneResult {
  ContainersDeleted: string[];
  NetworksDeleted: string[];
  ImagesDeleted: RemovedImage[];
  VolumesDeleted: string[];
  CachesDeleted: string[];
  SpaceReclaimed: number;
}

export interface SystemPruneOptions {
  /** Remove every image no container uses, not only dangling ones (`-a`). */
  all?: boolean;
  /** Also remove anonymous volumes no container uses (`--volumes`). */
  volumes?: boolean;
  /** Given to each prune, as docker's CLI does: `label`, `label!`, `until` (not with `volumes`). */
  filters?: Filters;
}

/** `docker image prune` / `POST /images/prune` options. */
export interface ImagePruneOptions {
  /** Every image no container uses, not only dangling ones (`-a`), unless a `dangling` filter says otherwise. */
  all?: boolean;
  /** Docker's: `dangling`, `label`, `label!`, `until`. */
  filters?: Filters;
}

/** `docker builder prune` / `POST /build/prune` options. */
export interface BuildCachePruneOptions {
  /** Docker's `-a`: the build cache has no entries in use, so every entry is a candidate anyway. */
  all?: boolean;
  /** Keep the most recently used entries that fit in this many bytes (`--keep-storage`). */
  keepStorage?: number;
  /** Docker's: `until` (or its old name `unused-for`), `id`; `label`/`label!` are taken and ignored, as by dockerd. */
  filters?: Filters;
}

/** `GET /system/df`, Docker's shape. */
export interface DiskUsage {
  LayersSize: number;
  Images: ImageSummary[];
  Containers: Array<ContainerSummary & ContainerSize>;
  Volumes: Array<VolumeInfo & { UsageData: { Size: number; RefCount: number } }>;
  BuildCache: Array<{ ID: string; Type: string; Size: number; InUse: boolean; Shared: boolean; CreatedAt: string; LastUsedAt: string; UsageCount: number }>;
}

/**
 * The store's garbage collection (`engineRoots`: the build cache's layers, the images of containers being made), after what killed
 * builds left is cleared so that it can go too; bytes reclaimed. `downloads`: the partial
 * downloads of pulls that were killed or failed go too, not only those a day old (kept so
 * that pulling again resumes) — an image prune's, as dockerd clears its downloads at start.
 */
async function collectGarbage(ctx: EngineContext, downloads = false): Promise<GcResult> {
  await sweepScratch(ctx);
  return ctx.store.gc({ roots: () => engineRoots(ctx), ...(downloads ? { keepIngestsMs: 0 } : {}) });
}

/**
 * A build-cache entry: one cached step's result (its file's times, the size its top layer
 * adds), or a `RUN --mount=type=cache` directory (its bytes, in use while a step holds it).
 */
interface BuildCacheEntry {
  id: string;
  type: 'regular' | 'exec.cachemount';
  /** What removing the entry removes: the step's file, or the cache mount's directory. */
  file: string;
  size: number;
  topLayer: string | undefined;
  createdAt: Date;
  lastUsedAt: Date;
  inUse: boolean;
}

async function buildCacheEntries(ctx: EngineContext): Promise<BuildCacheEntry[]> {
  const cacheDir = buildCacheDir(ctx);
  const entries = await Promise.all(
    (await buildCacheFiles(ctx)).map(async (f): Promise<BuildCacheEntry | undefined> => {
      const file = path.join(cacheDir, f);
      const stat = await fs.stat(file).catch(() => undefined);
      if (!stat) return undefined;
      const layers = (await readCachedStep(file)).state?.layers ?? [];
      const top = layers[layers.length - 1];
      return { id: f.slice(0, -5), type: 'regular', file, size: top?.size ?? 0, topLayer: top?.digest, createdAt: stat.birthtime, lastUsedAt: stat.mtime, inUse: false };
    }),
  );
  return [...entries, ...(await cacheMountEntries(ctx))].filter((e): e is BuildCacheEntry => e !== undefined);
}

/** The cache mount directories: last used when their `info.json` was last touched, in use while a step in any process uses them. */
async function cacheMountEntries(ctx: EngineContext): Promise<BuildCacheEntry[]> {
  const dir = cacheMountsDir(ctx.root);
  const entries = await Promise.all(
    (await cacheMountKeys(ctx.root)).map(async (key): Promise<BuildCacheEntry | undefined> => {
      const file = path.join(dir, key);
      const info = path.join(file, 'info.json');
      // Gone since the listing: a prune in another process took it.
      const stat = (await fs.stat(info).catch(() => undefined)) ?? (await fs.stat(file).catch(() => undefined));
      if (!stat) return undefined;
      const created = JSON.parse(await fs.readFile(info, 'utf8').catch(() => '{}')) as Partial<CacheMountInfo>;
      return {
        id: key,
        type: 'exec.cachemount',
        file,
        size: await apparentSize(file).catch(() => 0),
        topLayer: undefined,
        createdAt: created.created ? new Date(created.created) : stat.birthtime,
        lastUsedAt: stat.mtime,
        inUse: await cacheMountInUse(file),
      };
    }),
  );
  return entries.filter((e): e is BuildCacheEntry => e !== undefined);
}

const IMAGE_PRUNE_FILTERS = ['dangling', ...PRUNE_FILTERS];

/** An image prune's filters, checked: whether only dangling images go, and the label/`until` test. */
function imagePrunePlan(options: ImagePruneOptions): { danglingOnly: boolean; wanted: ReturnType<typeof pruneMatcher> } {
  const filters = options.filters ?? {};
  const wanted = pruneMatcher(filters, IMAGE_PRUNE_FILTERS);
  return { danglingOnly: boolFilter(filters, 'dangling') ?? !options.all, wanted };
}

/**
 * `docker image prune`: images no container uses and no name points at (dangling), or with
 * `all` (or `dangling=false`) every image no container uses, whose labels and creation time
 * match the filters, their layers freed as `rmi` frees them; then the store's garbage
 * collection frees what else nothing references.
 */
export async function pruneImages(ctx: EngineContext, containers: Containers, images: Images, options: ImagePruneOptions = {}): Promise<{ ImagesDeleted: RemovedImage[]; SpaceReclaimed: number }> {
  const { removed, reclaimed } = await removeUnusedImages(ctx, containers, images, options);
  // dockerd counts the layers the images released (their sizes), not the blobs a collection
  // frees with them; what killed pulls left is ctr's to clear, and counted.
  const SpaceReclaimed = reclaimed + (await collectGarbage(ctx, true)).leftovers;
  await ctx.events.pruned('image', SpaceReclaimed);
  return { ImagesDeleted: removed, SpaceReclaimed };
}

/** `pruneImages` without the garbage collection, which a system prune runs once for every part. */
async function removeUnusedImages(ctx: EngineContext, containers: Containers, images: Images, options: ImagePruneOptions): Promise<{ removed: RemovedImage[]; reclaimed: number }> {
  const { danglingOnly, wanted } = imagePrunePlan(options);
  // An image's config is read only when a filter looks at its labels or creation time.
  const filtered = PRUNE_FILTERS.some((key) => (options.filters?.[key]?.length ?? 0) > 0);
  const used = new Set((await containers.records.list()).map((r) => r.imageId));
  const unused: string[] = [];
  const records = await ctx.store.images.list();
  const parents = parentIds(records);
  for (const record of records) {
    if (used.has(record.id) || (danglingOnly && record.names.some((n) => !n.includes('@')))) continue;
    // dockerd's: an untagged image another was built on goes only with the image on top of it (its parents pruned with it).
    if (record.names.length === 0 && parents.has(record.id)) continue;
    const image = filtered ? await images.resolve(record).catch(() => undefined) : undefined;
    if (filtered && !wanted(image?.config.config?.Labels ?? {}, image?.config.created ?? record.created)) continue;
    unused.push(record.id);
  }
  // Released together: one marking of what the remaining images hold, not one per image. One
  // that cannot go (a container made meanwhile) stays, as dockerd's prune skips it.
  return images.removeUnused(unused);
}

const BUILD_CACHE_FILTERS = ['until', 'unused-for', 'id', 'label', 'label!'] as const;

/** A builder prune's filters, checked (buildkit's words through dockerd): the last-use cutoff and the ID patterns. */
function buildCachePrunePlan(options: BuildCachePruneOptions): { until: number | undefined; ids: string[] | undefined } {
  const filters = options.filters ?? {};
  checkFilterKeys(filters, BUILD_CACHE_FILTERS);
  const until = filters.until ?? [];
  const unusedFor = filters['unused-for'] ?? [];
  if (until.length > 0 && unusedFor.length > 0) throw invalidArgument('conflicting filters: "until" and "unused-for"');
  const key = unusedFor.length > 0 ? 'unused-for' : 'until';
  const values = [...until, ...unusedFor];
  if (values.length > 1 || (filters.id?.length ?? 0) > 1) throw invalidArgument('filters expect only one value');
  let cutoff: number | undefined;
  if (values[0] !== undefined) {
    try {
      cutoff = parseTimestamp(values[0]);
    } catch (error) {
      throw invalidArgument(`"${key}" filter expects a duration (e.g., '24h') or a timestamp: ${(error as Error).message}`);
    }
  }
  return { until: cutoff, ids: filters.id };
}

/**
 * `docker builder prune`: build-cache entries last used before `until` whose ID matches,
 * oldest first, until what is left fits in `keepStorage` (what each cached step made stays
 * while images use it).
 */
export async function pruneBuildCache(ctx: EngineContext, options: BuildCachePruneOptions = {}): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
  const { CachesDeleted, reclaimed } = await removeBuildCacheEntries(ctx, options);
  return { CachesDeleted, SpaceReclaimed: reclaimed + (await collectGarbage(ctx)).reclaimed };
}

/** `pruneBuildCache` without the garbage collection: the bytes it frees itself are the cache mounts'. */
async function removeBuildCacheEntries(ctx: EngineContext, options: BuildCachePruneOptions): Promise<{ CachesDeleted: string[]; reclaimed: number }> {
  const { until, ids } = buildCachePrunePlan(options);
  // A killed build's step container still runs on its cache mounts, though its use is stale: it goes first.
  await sweepScratch(ctx);
  const entries = (await buildCacheEntries(ctx)).sort((a, b) => a.lastUsedAt.getTime() - b.lastUsedAt.getTime());
  let kept = entries.reduce((sum, e) => sum + e.size, 0);
  const CachesDeleted: string[] = [];
  let reclaimed = 0;
  for (const entry of entries) {
    if (options.keepStorage !== undefined && kept <= options.keepStorage) break;
    if (entry.inUse || (until !== undefined && entry.lastUsedAt.getTime() >= until) || !patternMatch(ids, entry.id)) continue;
    // A cache mount is looked at again as it goes: a step may have taken it since the listing.
    if (entry.type === 'exec.cachemount') {
      if (!(await removeCacheMount(ctx, entry.id))) continue;
      reclaimed += entry.size;
    } else await fs.rm(entry.file, { recursive: true, force: true });
    kept -= entry.size;
    CachesDeleted.push(entry.id);
  }
  // Unfiltered, the whole directory goes, with what writes cut short left in it.
  if (until === undefined && ids === undefined && options.keepStorage === undefined) await fs.rm(buildCacheDir(ctx), { recursive: true, force: true });
  return { CachesDeleted, reclaimed };
}

/** docker's CLI refuses this before it prunes anything: dockerd's volume prune knows no `until`. */
export function checkSystemPruneOptions(options: SystemPruneOptions): void {
  if (options.volumes && options.filters?.until) throw invalidArgument('The "until" filter is not supported with "--volumes"');
}

/**
 * `docker system prune`: stopped containers, networks nothing uses, dangling images (every
 * unused image with `all`), the build cache, and with `volumes` unused anonymous volumes;
 * the store's garbage collection frees the blobs and snapshots nothing references.
 */
export async function systemPrune(ctx: EngineContext, containers: Containers, images: Images, options: SystemPruneOptions = {}): Promise<SystemPruneResult> {
  const filters = options.filters ?? {};
  checkSystemPruneOptions(options);
  // Every part's filters are checked before any part removes anything.
  pruneMatcher(filters, PRUNE_FILTERS);
  imagePrunePlan({ ...options, filters });
  buildCachePrunePlan({ filters });
  if (options.volumes) volumePruneAll({ filters });
  const { ContainersDeleted, SpaceReclaimed: layers } = await containers.prune({ filters });
  const { NetworksDeleted } = await pruneNetworks(ctx, { filters });
  const { removed: ImagesDeleted, reclaimed: released } = await removeUnusedImages(ctx, containers, images, { ...(options.all ? { all: true } : {}), filters });
  // The images' part: the collection below is the whole prune's.
  await ctx.events.pruned('image', released);
  const { CachesDeleted, reclaimed: mounts } = await removeBuildCacheEntries(ctx, { filters });
  // One collection for the images and the cache: each walks every blob and snapshot.
  const reclaimed = layers + released + mounts + (await collectGarbage(ctx, true)).reclaimed;
  const volumes = options.volumes ? await pruneVolumes(ctx, { filters }) : { VolumesDeleted: [], SpaceReclaimed: 0 };
  return { ContainersDeleted, NetworksDeleted, ImagesDeleted, VolumesDeleted: volumes.VolumesDeleted, CachesDeleted, SpaceReclaimed: reclaimed + volumes.SpaceReclaimed };
}

/** `docker system df`: what images, containers, volumes and the build cache take on disk. */
export async function diskUsage(ctx: EngineContext, containers: Containers, images: Images): Promise<DiskUsage> {
  const imageUsage = await images.diskUsage();
  // The sizes `docker ps -s` shows: what dockerd's `system df` counts too.
  const containerUsage = (await containers.list({ all: true, size: true })).map((c) => ({ ...c, SizeRw: c.SizeRw ?? 0, SizeRootFs: c.SizeRootFs ?? 0 }));
  // dockerd's LocalVolumesSize: the local driver's volumes alone (a plugin's data is not on this disk).
  const volumes = await Promise.all(
    (await ctx.store.volumes.list()).filter((v) => v.Driver === 'local').map(async (v) => ({
      ...v,
      UsageData: { Size: await apparentSize(v.Mountpoint).catch(() => 0), RefCount: (await ctx.store.volumes.users(v.Name).catch(() => [])).length },
    })),
  );
  const BuildCache = (await buildCacheEntries(ctx)).map((e) => ({
    ID: e.id,
    Type: e.type,
    Size: e.size,
    InUse: e.inUse,
    Shared: e.topLayer !== undefined && imageUsage.layerDigests.has(e.topLayer),
    CreatedAt: e.createdAt.toISOString(),
    LastUsedAt: e.lastUsedAt.toISOString(),
    UsageCount: 1,
  }));
  return {
    LayersSize: imageUsage.layersSize,
    Images: imageUsage.images,
    Containers: containerUsage,
    Volumes: volumes,
    BuildCache,
  };
}
