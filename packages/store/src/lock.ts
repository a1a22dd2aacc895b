import { linkSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CtrError, throwIfAborted } from '@ctr/errors';
import { errno, storageError, tempName, uniqueHex } from './fs-util';
import { processAlive } from './holder';

/**
 * Cross-process mutual exclusion without native addons: a lock is a symlink whose target
 * is the owner's PID, a random token and the boot it was taken in. symlink(2) is atomic,
 * fails if the name exists, and needs no data block (a full disk can still be cleaned up
 * under a lock). A lock whose owner PID is gone (a SIGKILLed process) or that was taken
 * before the machine last started (a power loss: the store outlives its processes, and the
 * PID may name another process now) is stale and is broken by the next waiter.
 * Inside one process a promise queue orders the waiters, so the file is only contended
 * between processes.
 *
 * Readers never take locks: every file they read is replaced by atomic rename. The link
 * calls are made directly, not through the thread pool: they never wait for the disk.
 */

export type Release = () => Promise<void>;

export interface LockOptions {
  signal?: AbortSignal;
  /** Give up with Unavailable after this long (default 30 s). */
  timeoutMs?: number;
}

/**
 * Per-process lock state, shared through globalThis: were two copies of this module loaded,
 * each must see the other's locks as held, not as stale locks of its own PID.
 */
const state = ((globalThis as { [key: symbol]: unknown })[Symbol.for('@ctr/store locks')] ??= {
  queues: new Map<string, Promise<void>>(),
  held: new Set<string>(),
}) as { queues: Map<string, Promise<void>>; held: Set<string> };
const queues = state.queues;

export async function acquireLock(file: string, options: LockOptions = {}): Promise<Release> {
  const previous = queues.get(file) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const tail = previous.then(() => mine);
  queues.set(file, tail);
  const leave = (): void => {
    done();
    if (queues.get(file) === tail) queues.delete(file);
  };
  try {
    await previous;
    const token = await lockFile(file, options);
    return async () => {
      try {
        await unlockFile(file, token);
      } finally {
        leave();
      }
    };
  } catch (error) {
    leave();
    throw error;
  }
}

/** Take the lock only if nobody holds it; undefined when it is busy. */
export async function tryAcquireLock(file: string): Promise<Release | undefined> {
  if (queues.has(file)) return undefined;
  const token = await attempt(file);
  if (token === undefined) return undefined;
  queues.set(file, Promise.resolve());
  return async () => {
    try {
      await unlockFile(file, token);
    } finally {
      queues.delete(file);
    }
  };
}

export async function withLock<T>(file: string, fn: () => Promise<T>, options?: LockOptions): Promise<T> {
  const release = await acquireLock(file, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** The PID holding a lock file, when the file exists and its owner is alive. */
export async function lockOwner(file: string): Promise<number | undefined> {
  const text = readLock(file);
  if (text === undefined) return undefined;
  const pid = ownerPid(text);
  return pid !== undefined && !isStale(text, pid) ? pid : undefined;
}

/**
 * A lock file's text when it is a leftover (its owner is dead); undefined when it is gone or
 * held. Read once: a check that looked at the owner and then at the file's existence could
 * take a lock a live process took in between for a dead one's.
 */
export function staleLockText(file: string): string | undefined {
  const text = readLock(file);
  if (text === undefined) return undefined;
  const pid = ownerPid(text);
  return pid === undefined || isStale(text, pid) ? text : undefined;
}

/** Remove a lock file if its owner is dead; true when it was stale and is gone. */
export async function breakIfStale(file: string): Promise<boolean> {
  const text = staleLockText(file);
  if (text === undefined) return false;
  removeLinkIfUnchanged(file, text);
  return true;
}

async function lockFile(file: string, options: LockOptions): Promise<string> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let delay = 1;
  for (;;) {
    const token = await attempt(file);
    if (token !== undefined) return token;
    throwIfAborted(options.signal, `waiting for lock ${file}`);
    if (Date.now() > deadline) {
      const owner = await lockOwner(file);
      throw new CtrError('Unavailable', `timed out waiting for lock ${file}${owner ? ` held by process ${owner}` : ''}`, {
        hint: 'another ctr process is using the store; retry when it has finished',
      });
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 25);
  }
}

/** Create the lock, breaking it once if its owner is dead. The token when we got it. */
async function attempt(file: string): Promise<string | undefined> {
  for (let tries = 0; tries < 2; tries++) {
    const token = `${process.pid} ${uniqueHex()} ${bootId()}`;
    // Held from before the symlink exists: a rival in this process that reads the new link
    // must never judge it a stale link of our own PID and break it.
    state.held.add(token);
    try {
      symlinkSync(token, file);
      return token;
    } catch (error) {
      state.held.delete(token);
      if (errno(error) !== 'EEXIST') throw storageError(error, `taking lock ${file}`);
    }
    if (!(await breakIfStale(file))) return undefined;
  }
  return undefined;
}

async function unlockFile(file: string, token: string): Promise<void> {
  state.held.delete(token);
  if (readLock(file) === token) rmSync(file, { force: true });
}

function readLock(file: string): string | undefined {
  try {
    return readlinkSync(file);
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function ownerPid(text: string): number | undefined {
  const pid = Number.parseInt(text.split(' ')[0] ?? '', 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isStale(text: string, pid: number): boolean {
  // Our own PID with a token we do not hold: left by an earlier run in this process.
  if (pid === process.pid) return !state.held.has(text);
  // Locks written before boots were recorded carry no boot: their PID decides alone.
  const boot = text.split(' ')[2];
  if (boot !== undefined && boot !== bootId()) return true;
  return !processAlive(pid);
}

let thisBoot: string | undefined;

/** The kernel's ID for this boot, read once. */
function bootId(): string {
  thisBoot ??= readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  return thisBoot;
}

/**
 * Remove the symlink `file` if it still points at `target`: it is moved aside atomically,
 * and if what was moved is not what was judged (a live owner slipped in between), it is put
 * back. How a stale lock is broken, or any claim made by symlink (the engine's container names).
 */
export function removeLinkIfUnchanged(file: string, target: string): void {
  const aside = tempName(path.dirname(file));
  try {
    renameSync(file, aside);
  } catch (error) {
    if (errno(error) === 'ENOENT') return;
    throw error;
  }
  try {
    if (readLock(aside) !== target) {
      try {
        linkSync(aside, file);
      } catch (error) {
        if (errno(error) !== 'EEXIST') throw error;
      }
    }
  } finally {
    rmSync(aside, { force: true });
  }
}
