import { promises as fs } from 'node:fs';
import path from 'node:path';
import { chainIdOf, type Descriptor, type DiffID } from '@ctr/image';
import type { GcRoots } from '@ctr/store';
import type { EngineContext } from './context';

/** A cached build step as its file holds it (`FileBuildCache`): the layers of its result. */
export interface CachedStepFile {
  state?: { layers?: Descriptor[]; diffIds?: DiffID[] };
}

/** Where each cached build step is a small JSON file, by cache key. */
export function buildCacheDir(ctx: EngineContext): string {
  return path.join(ctx.root, 'engine', 'build-cache');
}

/** The cache's step files, by name (`<key>.json`). */
export async function buildCacheFiles(ctx: EngineContext): Promise<string[]> {
  return (await fs.readdir(buildCacheDir(ctx)).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
}

/** A step file's contents; one gone or cut short is an empty step. */
export async function readCachedStep(file: string): Promise<CachedStepFile> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as CachedStepFile;
  } catch {
    return {};
  }
}

/**
 * What the build cache holds in the store: every cached step's layer blobs and snapshots.
 * They stay through `rmi` and `image prune`, as BuildKit's cache does in dockerd, until
 * `builder prune` (or `system prune`) drops the steps.
 */
export async function buildCacheRoots(ctx: EngineContext): Promise<GcRoots> {
  const roots: GcRoots = { blobs: [], snapshots: [] };
  const dir = buildCacheDir(ctx);
  for (const file of await buildCacheFiles(ctx)) {
    const { state } = await readCachedStep(path.join(dir, file));
    roots.blobs.push(...(state?.layers ?? []));
    try {
      roots.snapshots.push(...chainIdOf(state?.diffIds ?? []));
    } catch {
      // Not diffIDs: a step file of another shape holds no snapshot.
    }
  }
  return roots;
}
