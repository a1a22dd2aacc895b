import { promises as fs } from 'node:fs';
import path from 'node:path';
import { acquireLock, breakIfStale, lockOwner, mountPoints, unmount } from '@ctr/store';
import type { EngineContext } from './context';
import { newId } from './names';

/**
 * Where the engine makes directories it needs only for one call: under its root, so what
 * is made there is on the store's filesystem and goes when the root goes.
 */
export function scratchParent(root: string): string {
  return path.join(root, 'engine', 'tmp');
}

/**
 * The snapshot key, mount point and runc container of one build step are one name of this
 * shape, made in the build's scratch directory: whoever finds that directory abandoned knows
 * which snapshot and which container went with it.
 */
const BUILD_STEP = /^build-[0-9a-f]{16}$/;

export function buildStepName(): string {
  return `build-${newId().slice(0, 16)}`;
}

/** What a build prints for its step's container (` ---> Running in <id>`), and the step's hostname: docker's 12 hex. */
export function buildStepShortId(name: string): string {
  return name.slice('build-'.length, 'build-'.length + 12);
}

/**
 * Run `use` in a fresh directory `<root>/engine/tmp/<prefix>-<hex>`, removed afterwards.
 * The directory is held by a lock beside it (`<name>.lock`, taken before the directory is
 * made and dropped after it is gone) for as long as this process uses it, so what a SIGKILLed
 * build or import leaves — mounts, a build step's snapshot and container, files — is known
 * as abandoned and cleared by `sweepScratch`.
 */
export async function withScratch<T>(ctx: EngineContext, prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
  const parent = scratchParent(ctx.root);
  await fs.mkdir(parent, { recursive: true, mode: 0o700 });
  const dir = path.join(parent, `${prefix}-${newId().slice(0, 12)}`);
  const release = await acquireLock(`${dir}.lock`);
  try {
    await fs.mkdir(dir, { mode: 0o700 });
    try {
      return await use(dir);
    } finally {
      // What `use` made or why it failed is the answer, not a leftover scratch file.
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  } finally {
    await release();
  }
}

/**
 * Clear every scratch directory whose process is gone: its build steps' containers are
 * deleted, its mounts unmounted, its snapshots removed, then the directory and its lock.
 * Directories of live processes, in this engine or another, are left alone.
 */
export async function sweepScratch(ctx: EngineContext): Promise<void> {
  const parent = scratchParent(ctx.root);
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    if (name.endsWith('.lock')) continue;
    const lock = path.join(parent, `${name}.lock`);
    // Read now, not from the listing: the lock is made before the directory, so a directory
    // seen without a live lock has no live owner.
    if ((await lockOwner(lock)) !== undefined) continue;
    // A mount that will not go leaves the directory as it is: removing through it would reach
    // into the snapshot. The next sweep tries again; the build that swept goes on.
    if (await clearAbandoned(ctx, path.join(parent, name)).then(() => true, () => false)) await breakIfStale(lock);
  }
  for (const name of names) if (name.endsWith('.lock') && !names.includes(name.slice(0, -5))) await breakIfStale(path.join(parent, name));
}

async function clearAbandoned(ctx: EngineContext, dir: string): Promise<void> {
  const steps = (await fs.readdir(dir).catch(() => [] as string[])).filter((name) => BUILD_STEP.test(name));
  // The container first: it runs on the step's mount; its network after it.
  for (const step of steps) await ctx.runtime.delete(step, { force: true }).catch(() => undefined);
  for (const step of steps) await ctx.network.detach(step).catch(() => undefined);
  const inside = (await mountPoints()).filter((point) => point.startsWith(`${dir}/`));
  for (const point of inside.sort((a, b) => b.length - a.length)) await unmount(point);
  for (const step of steps) await ctx.store.snapshots.remove(step).catch(() => undefined);
  await fs.rm(dir, { recursive: true, force: true });
}
