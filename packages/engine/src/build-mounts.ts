import { execFile } from 'node:child_process';
import { constants as fsc, promises as fs, lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunCacheMount, RunMount } from '@ctr/dockerfile';
import { asCtrError, invalidArgument } from '@ctr/errors';
import { resolveInRoot } from '@ctr/image';
import { parseBytes, type MountSpec } from '@ctr/runtime';
import { acquireLock, bindBeneath, breakIfStale, lockOwner, mountAll, tryAcquireLock, unmount, withLock, writeFileAtomic, type RefuseWalk, type Release } from '@ctr/store';
import type { EngineContext } from './context';
import { newId } from './names';
import { claimDirectory, sshProxyDir, stepSecretContainerRoot, stepSecretsDir, withScratch } from './scratch';

const execFileAsync = promisify(execFile);

/** Where `RUN --mount=type=cache` directories live: `<dir>/<key>/info.json` and one directory per instance (`0`, `1`… for `sharing=private`). */
export function cacheMountsDir(root: string): string {
  return path.join(root, 'engine', 'cache-mounts');
}

/** What `info.json` of a cache mount directory says; its mtime is the cache's last use. */
export interface CacheMountInfo {
  id: string;
  created: string;
}

/** A step's mounts, made: runtime mounts for its container, and how to take them down. */
export interface StepMounts {
  mounts: MountSpec[];
  /** `env=` secrets, `NAME=value`: for the step's process only. */
  env: string[];
  /**
   * Set when `env` holds a secret: the root under which the step's container must keep its
   * files (`Runtime.rooted`). Its spec holds the process's environment, and the runtime's own
   * root is on disk; this is on the tmpfs of the step's secrets, which goes with the step.
   */
  containerRoot?: string;
  /**
   * After the step's container is gone: remove the mount points runc had to create in the
   * rootfs (so they are not part of the layer), then unmount, unlock and remove what was made.
   */
  release(): Promise<void>;
}

/**
 * Make a build step's `RUN --mount`s on the host, under `dir` (`stepMountsDir`: in the build's
 * scratch, so that a sweep unmounts what a killed build left): writable binds over a throwaway
 * overlay, tmpfs and secrets on memory, cache directories under the engine's root, ssh agents
 * behind a socket of the mount's owner and mode.
 *
 * A secret never touches the disk. Its file is on a tmpfs; as a variable it is in the spec of
 * the step's container, so that container's files go on the same tmpfs (`containerRoot`).
 * (A wrapper in the container that read the variable from a file would need a program there
 * for every image — a scratch image's exec-form RUN has none; moving the spec instead changes
 * nothing the step sees.)
 */
export async function prepareStepMounts(ctx: Pick<EngineContext, 'root' | 'runRoot'>, rootfs: string, dir: string, wanted: readonly RunMount[], signal: AbortSignal): Promise<StepMounts> {
  // Parents before what is mounted inside them.
  const targetOf = (m: RunMount): string => m.target ?? '';
  const sorted = [...wanted].sort((a, b) => (targetOf(a) < targetOf(b) ? -1 : targetOf(a) > targetOf(b) ? 1 : 0));
  const stubs = missingStubs(rootfs, sorted.flatMap((m) => m.target ?? []));
  const undo: Array<() => Promise<void>> = [];
  const mounts: MountSpec[] = [];
  const env: string[] = [];
  let containerRoot: string | undefined;
  let secrets: string | undefined;
  const release = async (): Promise<void> => {
    let failure: unknown;
    try {
      removeStubs(rootfs, stubs);
    } catch (error) {
      failure = error;
    }
    for (const step of undo.reverse()) await step().catch((error: unknown) => (failure ??= error));
    // Only with everything unmounted may the directory go: removing through a mount reaches into what it shows.
    if (failure !== undefined) throw asCtrError(failure, 'Internal', 'taking down the build step\'s mounts');
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await fs.mkdir(dir, { mode: 0o700 });
    for (const [i, m] of sorted.entries()) {
      const here = path.join(dir, String(i));
      switch (m.type) {
        case 'bind':
          mounts.push({ type: 'bind', source: m.readOnly ? m.source : await throwaway(m.source, here, undo), target: m.target, readOnly: m.readOnly });
          break;
        case 'cache':
          mounts.push({ type: 'bind', source: await cacheMount(ctx, m, here, undo, signal), target: m.target, readOnly: m.readOnly });
          break;
        case 'tmpfs':
          await fs.mkdir(here);
          await mountOn(here, { type: 'tmpfs', source: 'tmpfs', options: ['nosuid', ...(m.size !== undefined ? [`size=${parseBytes(m.size, 'tmpfs size')}`] : [])] }, undo);
          mounts.push({ type: 'bind', source: here, target: m.target });
          break;
        case 'secret': {
          if (secrets === undefined) {
            secrets = stepSecretsDir(dir);
            await fs.mkdir(secrets, { mode: 0o700 });
            // Lazily unmounted: the container's monitor and the deletion of its files may
            // still hold it a moment after the step, and nothing on it is wanted.
            await mountOn(secrets, { type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=0700'] }, undo, { lazy: true });
          }
          if (m.target !== undefined) {
            const file = path.join(secrets, String(i));
            await fs.writeFile(file, m.data, { mode: 0o600 });
            await own(file, m);
            mounts.push({ type: 'bind', source: file, target: m.target, readOnly: true });
          }
          if (m.env !== undefined) {
            env.push(`${m.env}=${Buffer.from(m.data).toString('utf8')}`);
            if (containerRoot === undefined) await fs.mkdir((containerRoot = stepSecretContainerRoot(dir)), { mode: 0o700 });
          }
          break;
        }
        case 'ssh':
          mounts.push({ type: 'bind', source: await agentProxy(ctx, m.socket, m, undo), target: m.target });
          break;
      }
    }
  } catch (error) {
    await release().catch(() => undefined);
    throw error;
  }
  return { mounts, env, ...(containerRoot !== undefined ? { containerRoot } : {}), release };
}

async function mountOn(where: string, mount: { type: string; source: string; options: string[] }, undo: Array<() => Promise<void>>, options: { lazy?: boolean } = {}): Promise<void> {
  await mountAll([mount], where);
  undo.push(() => unmount(where, options));
}

async function own(file: string, owner: { uid: number; gid: number; mode: number }): Promise<void> {
  await fs.chown(file, owner.uid, owner.gid);
  await fs.chmod(file, owner.mode);
}

/** A writable view of `source` whose writes go to a directory thrown away with the step. */
async function throwaway(source: string, here: string, undo: Array<() => Promise<void>>): Promise<string> {
  await fs.mkdir(here);
  if (!(await fs.stat(source)).isDirectory()) {
    const copy = path.join(here, 'file');
    await fs.copyFile(source, copy, fsc.COPYFILE_FICLONE);
    return copy;
  }
  const [upper, work, merged] = ['upper', 'work', 'merged'].map((name) => path.join(here, name)) as [string, string, string];
  for (const d of [upper, work, merged]) await fs.mkdir(d);
  // overlayfs separates its options with commas and lower directories with colons.
  const lower = source.replace(/[\\,:]/g, (c) => `\\${c}`);
  await mountOn(merged, { type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`] }, undo);
  return merged;
}

/**
 * The lock that orders the arrival of a cache's users with its removal: beside the cache's
 * directory, which goes. Held only for moments, never while a step waits or runs.
 */
function cacheGate(dir: string): string {
  return `${dir}.lock`;
}

/**
 * A step's use of a cache directory, whatever its sharing: a lock file of its own in the
 * directory, held while the step runs; its owner's PID and boot tell a use a killed build left.
 */
const USE = /^use-[0-9a-f]+\.lock$/;

/** The keys of the cache mount directories under `root`. */
export async function cacheMountKeys(root: string): Promise<string[]> {
  return (await fs.readdir(cacheMountsDir(root)).catch(() => [] as string[])).filter((name) => !name.endsWith('.lock'));
}

/** Whether a step in any process uses the cache directory: one of its locks (uses, `locked`/`private` instances) has a live owner. */
export async function cacheMountInUse(dir: string): Promise<boolean> {
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (name.endsWith('.lock') && (await lockOwner(path.join(dir, name))) !== undefined) return true;
  }
  return false;
}

/**
 * Remove cache directory `key` unless a step uses it (a prune skips what is in use, as
 * BuildKit's does); false when it stays or was gone. Under the cache's gate it is only moved
 * into a scratch directory, so that steps arriving meanwhile wait for no deletion: they make a
 * new one; a prune killed while deleting leaves it to the next sweep.
 */
export async function removeCacheMount(ctx: EngineContext, key: string): Promise<boolean> {
  const dir = path.join(cacheMountsDir(ctx.root), key);
  return withScratch(ctx, 'cache-mount', (scratch) =>
    withLock(cacheGate(dir), async () => {
      if (await cacheMountInUse(dir)) return false;
      return fs.rename(dir, path.join(scratch, key)).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return false;
          throw error;
        },
      );
    }),
  );
}

/**
 * Register a step's use of cache directory `dir`, made on first use, under its gate: a prune
 * has either moved the directory away before, or sees the use and leaves it. What is
 * released when the step is done.
 */
async function useCacheDir(dir: string, m: RunCacheMount): Promise<Release> {
  await fs.mkdir(dir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const info = path.join(dir, 'info.json');
  if (!(await fs.stat(info).catch(() => undefined))) await writeFileAtomic(info, JSON.stringify({ id: m.id, created: new Date().toISOString() } satisfies CacheMountInfo));
  const used = new Date();
  await fs.utimes(info, used, used);
  // What killed builds left goes here, so that uses do not pile up.
  for (const name of await fs.readdir(dir)) if (USE.test(name)) await breakIfStale(path.join(dir, name));
  return acquireLock(path.join(dir, `use-${newId().slice(0, 12)}.lock`));
}

/**
 * The cache directory a step mounts: found by its key under the engine's root, made on first
 * use (seeded, owned and moded as asked), its use registered (`useCacheDir`), locked as its
 * sharing says. Its subpath is entered without following a symlink, and what is mounted is
 * checked to be what was checked: a step sharing the cache may swap a directory for a symlink
 * at any time (SECURITY-CASES B1).
 */
async function cacheMount(ctx: Pick<EngineContext, 'root'>, m: RunCacheMount, here: string, undo: Array<() => Promise<void>>, signal: AbortSignal): Promise<string> {
  const dir = path.join(cacheMountsDir(ctx.root), m.key);
  await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
  // First in, so last out: the use outlasts the instance lock and the mount below.
  undo.push(await withLock(cacheGate(dir), () => useCacheDir(dir, m), { signal }));
  let instance = 0;
  let unlock: Release | undefined;
  if (m.sharing === 'locked') unlock = await acquireLock(path.join(dir, '0.lock'), { signal, timeoutMs: 24 * 3600_000 });
  else if (m.sharing === 'private') while (!(unlock = await tryAcquireLock(path.join(dir, `${instance}.lock`)))) instance++;
  if (unlock) undo.push(unlock);
  const root = path.join(dir, String(instance));
  if (!(await fs.lstat(root).catch(() => undefined))) await createCacheInstance(dir, root, m);
  if (m.subpath === '') return root;
  const refuse: RefuseWalk = (problem) =>
    problem === 'changed'
      ? invalidArgument(`cache mount source ${m.subpath} changed while it was being mounted`, { hint: 'Another step using the same cache replaced it; build again.' })
      : invalidArgument(`cache mount source ${m.subpath} is not a directory in the cache`, {
          hint: "A cache mount's source must name a directory the cache already holds (a step made it), not a symlink or a file.",
        });
  // Nothing is made on the way: a directory made by path could land wherever a symlink swapped in meanwhile points.
  await bindBeneath(root, m.subpath, here, refuse, { directory: true });
  undo.push(() => unmount(here));
  return here;
}

/** A new cache instance: made aside, then renamed into place, so that a reader never sees it half-seeded. */
async function createCacheInstance(dir: string, root: string, m: RunCacheMount): Promise<void> {
  const fresh = path.join(dir, `.new-${newId().slice(0, 12)}`);
  await fs.mkdir(fresh);
  try {
    if (m.seed !== undefined) await execFileAsync('cp', ['-a', '--', `${m.seed}/.`, fresh]);
    await own(fresh, m);
    await fs.rename(fresh, root);
  } catch (error) {
    await fs.rm(fresh, { recursive: true, force: true });
    // Another step made it first: theirs is as good.
    if (!(await fs.lstat(root).catch(() => undefined))) throw error;
  }
}

/**
 * A socket that forwards each connection to the ssh agent at `agent`, owned and moded as the
 * mount asks (the agent's own socket is neither exposed nor changed). In the run root: a unix
 * socket's path must be short; claimed there, so that what a killed build left is swept.
 */
async function agentProxy(ctx: Pick<EngineContext, 'runRoot'>, agent: string, owner: { uid: number; gid: number; mode: number }, undo: Array<() => Promise<void>>): Promise<string> {
  const dir = sshProxyDir(ctx.runRoot);
  const remove = await claimDirectory(dir);
  const socket = path.join(dir, 'agent.sock');
  const open = new Set<net.Socket>();
  // Half-open both ways: a client may end its request and still read the agent's answer.
  const server = net.createServer({ allowHalfOpen: true }, (conn) => {
    const upstream = net.connect({ path: agent, allowHalfOpen: true });
    const drop = (): void => {
      conn.destroy();
      upstream.destroy();
    };
    for (const s of [conn, upstream]) {
      open.add(s);
      s.on('error', drop).on('close', () => open.delete(s));
    }
    conn.pipe(upstream).pipe(conn);
  });
  undo.push(async () => {
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await remove();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, () => resolve()));
  await own(socket, owner);
  return socket;
}

/**
 * The mount targets' path components the rootfs lacks: runc creates them to mount on, and
 * they go again after the step unless the step put something in them (BuildKit's stubs).
 * Deepest first.
 */
function missingStubs(rootfs: string, targets: readonly string[]): string[] {
  const stubs = new Set<string>();
  for (const target of targets) {
    const found = resolveInRoot(rootfs, target);
    if (found.stat || found.unresolved?.reason === 'not-a-directory') continue;
    const parts = found.rel.split('/');
    const first = (found.unresolved?.at ?? found.rel).split('/').length;
    for (let i = first; i <= parts.length; i++) stubs.add(parts.slice(0, i).join('/'));
  }
  return [...stubs].sort((a, b) => b.length - a.length);
}

/**
 * Remove the stubs still empty. Nothing is followed: the step may have replaced a directory on
 * the way with a symlink to somewhere else (SECURITY-CASES B2), and then that stub stays.
 */
function removeStubs(rootfs: string, stubs: readonly string[]): void {
  for (const rel of stubs) {
    let at = rootfs;
    const parts = rel.split('/');
    const onTheWay = parts.slice(0, -1).every((part) => lstatSync((at = path.join(at, part)), { throwIfNoEntry: false })?.isDirectory() === true);
    if (!onTheWay) continue;
    const leaf = path.join(rootfs, rel);
    const stat = lstatSync(leaf, { throwIfNoEntry: false });
    if (stat?.isDirectory() && readdirSync(leaf).length === 0) rmdirSync(leaf);
    else if (stat?.isFile() && stat.size === 0) unlinkSync(leaf);
  }
}
