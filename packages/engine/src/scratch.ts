import { existsSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { isNotFound } from '@ctr/errors';
import { acquireLock, breakIfStale, lockOwner, mountPoints, unmount } from '@ctr/store';
import { ContainerRecords } from './container-records';
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
 * which snapshot and which container went with it. It is the step container's ID, which a
 * container kept after its step (`build --rm=false`, a failed step) goes on being known by;
 * `build-<16 hex>` is how earlier versions named them.
 */
const BUILD_STEP = /^(?:[0-9a-f]{64}|build-[0-9a-f]{16})$/;

export function buildStepName(): string {
  return newId();
}

/** What a build prints for its step's container (` ---> Running in <id>`), and the step's hostname: docker's 12 hex. */
export function buildStepShortId(name: string): string {
  return name.slice(0, 12);
}

/** Where a build step's `RUN --mount`s are made: beside its snapshot's mount point, so a sweep finds them by the step's name. */
export function stepMountsDir(scratchDir: string, step: string): string {
  return path.join(scratchDir, `${step}.mounts`);
}

/** The tmpfs of a step's secrets, in its mounts directory. */
export function stepSecretsDir(mountsDir: string): string {
  return path.join(mountsDir, 'secrets');
}

/**
 * The root of the files (bundle, spec) of a step's container whose process environment holds
 * a secret: on the tmpfs of the step's secrets, not under the engine's root, which is on disk.
 */
export function stepSecretContainerRoot(mountsDir: string): string {
  return path.join(stepSecretsDir(mountsDir), 'container');
}

/**
 * The run root's directories of `RUN --mount=type=ssh` agent proxies (a unix socket's path must
 * be short): `ssh-<hex>`, claimed as scratch directories are. (`ssh-` and six characters of any
 * case: those made before they were claimed.)
 */
const SSH_PROXY = /^ssh-[0-9A-Za-z]+$/;

export function sshProxyDir(runRoot: string): string {
  return path.join(runRoot, `ssh-${newId().slice(0, 12)}`);
}

/**
 * Make directory `dir`, held by a lock beside it (`<dir>.lock`, taken before the directory is
 * made and dropped after it is gone) for as long as this process uses it, so that what a
 * SIGKILLed process leaves is known as abandoned (`sweepScratch`). Resolves to what removes both:
 * the directory by `clear` when given (one it leaves stays for the sweep), then the lock.
 */
export async function claimDirectory(dir: string): Promise<(clear?: (dir: string) => Promise<void>) => Promise<void>> {
  const release = await acquireLock(`${dir}.lock`);
  try {
    await fs.mkdir(dir, { mode: 0o700 });
  } catch (error) {
    await release();
    throw error;
  }
  return async (clear = (d) => fs.rm(d, { recursive: true, force: true })) => {
    try {
      // What the user made or why it failed is the answer, not a leftover scratch file.
      await clear(dir).catch(() => undefined);
    } finally {
      await release();
    }
  };
}

/**
 * Run `use` in a fresh directory `<root>/engine/tmp/<prefix>-<hex>`, removed afterwards,
 * claimed (`claimDirectory`) so that what a SIGKILLed build or import leaves — mounts, a build
 * step's snapshot and container, files — is known as abandoned and cleared by `sweepScratch`.
 */
export async function withScratch<T>(ctx: EngineContext, prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
  const parent = scratchParent(ctx.root);
  await fs.mkdir(parent, { recursive: true, mode: 0o700 });
  const dir = path.join(parent, `${prefix}-${newId().slice(0, 12)}`);
  const remove = await claimDirectory(dir);
  try {
    return await use(dir);
  } finally {
    // A build step still here would not come apart (a full disk, say): it is tried once more as
    // a sweep would, and what stays stays with the directory for the next sweep to find.
    await remove(hasBuildSteps(dir) ? (d) => clearAbandoned(ctx, d) : undefined);
  }
}

function hasBuildSteps(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => BUILD_STEP.test(name));
  } catch {
    return false;
  }
}

/**
 * Clear what killed processes left: every scratch directory whose process is gone (its build
 * steps' containers are deleted, its mounts unmounted, its snapshots removed, then the
 * directory and its lock) and every abandoned ssh agent proxy directory in the run root.
 * Directories of live processes, in this engine or another, are left alone.
 */
export async function sweepScratch(ctx: EngineContext): Promise<void> {
  await sweepClaimed(scratchParent(ctx.root), () => true, (dir) => clearAbandoned(ctx, dir));
  await sweepClaimed(ctx.runRoot, (name) => SSH_PROXY.test(name), (dir) => fs.rm(dir, { recursive: true, force: true }));
}

/** Clear (`clear`) each directory of `parent` that `claimDirectory` made (`owned` by name) whose claim is gone, then its lock. */
async function sweepClaimed(parent: string, owned: (name: string) => boolean, clear: (dir: string) => Promise<void>): Promise<void> {
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    if (name.endsWith('.lock') || !owned(name)) continue;
    const lock = path.join(parent, `${name}.lock`);
    // Read now, not from the listing: the lock is made before the directory, so a directory
    // seen without a live lock has no live owner.
    if ((await lockOwner(lock)) !== undefined) continue;
    // What will not go (a mount) leaves the directory as it is; the next sweep tries again,
    // and the call that swept goes on.
    if (await clear(path.join(parent, name)).then(() => true, () => false)) await breakIfStale(lock);
  }
  for (const name of names) {
    const dir = name.slice(0, -'.lock'.length);
    if (name.endsWith('.lock') && owned(dir) && !names.includes(dir)) await breakIfStale(path.join(parent, name));
  }
}

/**
 * An abandoned build scratch directory, cleared. A mount that will not go leaves it as it is:
 * removing through the mount would reach into the snapshot. So does a step's container or
 * snapshot that will not go (a full disk): the directory is how the next sweep finds them.
 */
async function clearAbandoned(ctx: EngineContext, dir: string): Promise<void> {
  const refused: unknown[] = [];
  const unlessGone = (error: unknown): void => {
    if (!isNotFound(error)) refused.push(error);
  };
  const records = new ContainerRecords(ctx.root);
  // A kept step whose record was written before its build went is a container of the engine's now.
  const steps = (await fs.readdir(dir).catch(() => [] as string[])).filter((name) => BUILD_STEP.test(name) && !existsSync(records.file(name)));
  // The container first: it runs on the step's mount; its network after it. A step whose
  // environment held a secret has its container's files on its secrets' tmpfs.
  for (const step of steps) {
    const secretRoot = stepSecretContainerRoot(stepMountsDir(dir, step));
    for (const runtime of [ctx.runtime, ...(existsSync(secretRoot) ? [ctx.runtime.rooted(secretRoot)] : [])]) {
      await runtime.delete(step, { force: true }).catch(unlessGone);
    }
  }
  for (const step of steps) await ctx.network.detach(step).catch(() => undefined);
  const secrets = new Set(steps.map((step) => stepSecretsDir(stepMountsDir(dir, step))));
  const inside = (await mountPoints()).filter((point) => point.startsWith(`${dir}/`));
  // A secrets tmpfs lazily, as a step's own release does: the container's monitor and the
  // deletion of its files may still hold it a moment, and nothing on it is wanted.
  for (const point of inside.sort((a, b) => b.length - a.length)) await unmount(point, { lazy: secrets.has(point) });
  for (const step of steps) await ctx.store.snapshots.remove(step).catch(unlessGone);
  if (refused.length > 0) throw refused[0];
  await fs.rm(dir, { recursive: true, force: true });
}
