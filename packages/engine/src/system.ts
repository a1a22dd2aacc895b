import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { VolumeInfo } from '@ctr/store';
import type { ContainerSummary, Containers } from './containers';
import type { EngineContext } from './context';
import type { ImageSummary, Images, RemovedImage } from './images';
import { sweepScratch } from './scratch';

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
}

/** `GET /system/df`, Docker's shape. */
export interface DiskUsage {
  LayersSize: number;
  Images: ImageSummary[];
  Containers: Array<ContainerSummary & { SizeRw: number; SizeRootFs: number }>;
  Volumes: Array<VolumeInfo & { UsageData: { Size: number; RefCount: number } }>;
  BuildCache: Array<{ ID: string; Type: string; Size: number; InUse: boolean; Shared: boolean; CreatedAt: string; LastUsedAt: string; UsageCount: number }>;
}

function buildCacheDir(ctx: EngineContext): string {
  return path.join(ctx.root, 'engine', 'build-cache');
}

/** Bytes under a directory (regular files' sizes), not following links. */
async function dirSize(dir: string): Promise<number> {
  let total = 0;
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await dirSize(full);
    else if (entry.isFile()) total += (await fs.lstat(full).catch(() => undefined))?.size ?? 0;
  }
  return total;
}

/** The store's garbage collection, after what killed builds left is cleared so that it can go too; bytes reclaimed. */
async function collectGarbage(ctx: EngineContext): Promise<number> {
  await sweepScratch(ctx);
  return (await ctx.store.gc()).reclaimed;
}

/**
 * `docker image prune`: images no container uses and no name points at (dangling), or with
 * `all` every image no container uses; then the store's garbage collection frees their blobs
 * and snapshots.
 */
export async function pruneImages(ctx: EngineContext, containers: Containers, images: Images, options: { all?: boolean } = {}): Promise<{ ImagesDeleted: RemovedImage[]; SpaceReclaimed: number }> {
  const used = new Set((await containers.records.list()).map((r) => r.imageId));
  const ImagesDeleted: RemovedImage[] = [];
  for (const record of await ctx.store.images.list()) {
    if (used.has(record.id) || (!options.all && record.names.length > 0)) continue;
    ImagesDeleted.push(...(await images.remove(record.id, { force: true }).catch(() => [])));
  }
  return { ImagesDeleted, SpaceReclaimed: await collectGarbage(ctx) };
}

/** `docker builder prune`: every build-cache entry (what each cached step made stays while images use it). */
export async function pruneBuildCache(ctx: EngineContext): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
  const cacheDir = buildCacheDir(ctx);
  const CachesDeleted = (await fs.readdir(cacheDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  await fs.rm(cacheDir, { recursive: true, force: true });
  return { CachesDeleted, SpaceReclaimed: await collectGarbage(ctx) };
}

/**
 * `docker system prune`: stopped containers, networks nothing uses, dangling images (every
 * unused image with `all`), the build cache, and with `volumes` unused anonymous volumes;
 * the store's garbage collection frees the blobs and snapshots nothing references.
 */
export async function systemPrune(ctx: EngineContext, containers: Containers, images: Images, options: SystemPruneOptions = {}): Promise<SystemPruneResult> {
  const { ContainersDeleted } = await containers.prune();
  const { NetworksDeleted } = await ctx.network.prune();
  const pruned = await pruneImages(ctx, containers, images, options);
  const cache = await pruneBuildCache(ctx);
  const volumes = options.volumes ? await ctx.store.volumes.prune({}) : { deleted: [], spaceReclaimed: 0 };
  const SpaceReclaimed = pruned.SpaceReclaimed + cache.SpaceReclaimed + volumes.spaceReclaimed;
  return { ContainersDeleted, NetworksDeleted, ImagesDeleted: pruned.ImagesDeleted, VolumesDeleted: volumes.deleted, CachesDeleted: cache.CachesDeleted, SpaceReclaimed };
}

/** `docker system df`: what images, containers, volumes and the build cache take on disk. */
export async function diskUsage(ctx: EngineContext, containers: Containers, images: Images): Promise<DiskUsage> {
  const imageList = await images.list();
  const layers = new Map<string, number>();
  for (const image of imageList) {
    const resolved = await images.resolve(image.Id).catch(() => undefined);
    for (const layer of resolved?.layers ?? []) layers.set(layer.digest, layer.size);
  }
  const summaries = await containers.list({ all: true });
  const records = new Map((await containers.records.list()).map((r) => [r.id, r]));
  const containerUsage = await Promise.all(
    summaries.map(async (c) => {
      const record = records.get(c.Id);
      const SizeRw = record ? (await ctx.store.snapshots.usage(record.snapshot).catch(() => ({ size: 0 }))).size : 0;
      const image = imageList.find((i) => i.Id === c.ImageID);
      return { ...c, SizeRw, SizeRootFs: SizeRw + (image?.Size ?? 0) };
    }),
  );
  const volumes = await Promise.all(
    (await ctx.store.volumes.list()).map(async (v) => ({
      ...v,
      UsageData: { Size: await dirSize(v.Mountpoint), RefCount: (await ctx.store.volumes.users(v.Name).catch(() => [])).length },
    })),
  );
  const cacheDir = buildCacheDir(ctx);
  const BuildCache = await Promise.all(
    (await fs.readdir(cacheDir).catch(() => [] as string[]))
      .filter((f) => f.endsWith('.json'))
      .map(async (f) => {
        const stat = await fs.stat(path.join(cacheDir, f));
        const step = JSON.parse(await fs.readFile(path.join(cacheDir, f), 'utf8').catch(() => '{}')) as { state?: { layers?: Array<{ size: number; digest: string }> } };
        const top = step.state?.layers?.[step.state.layers.length - 1];
        const shared = top !== undefined && layers.has(top.digest);
        return {
          ID: f.slice(0, -5),
          Type: 'regular',
          Size: top?.size ?? 0,
          InUse: false,
          Shared: shared,
          CreatedAt: stat.birthtime.toISOString(),
          LastUsedAt: stat.mtime.toISOString(),
          UsageCount: 1,
        };
      }),
  );
  return {
    LayersSize: [...layers.values()].reduce((a, b) => a + b, 0),
    Images: imageList,
    Containers: containerUsage,
    Volumes: volumes,
    BuildCache,
  };
}
