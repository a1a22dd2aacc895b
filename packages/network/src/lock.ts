import { CtrError, throwIfAborted } from '@ctr/errors';
import { readFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOST_DIR } from './state';

const WAIT_LIMIT_MS = 60_000;

let thisBoot: string | undefined;

/** The kernel's ID for this boot: a lock written before a reboot has no holder, whatever its PID now names. */
function bootId(): string {
  thisBoot ??= readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  return thisBoot;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock's text: `<pid> <boot id> <token>`. The token tells two holders with one PID apart. */
function held(text: string): boolean {
  const [pid, boot] = text.split(' ');
  const owner = Number(pid);
  return Number.isSafeInteger(owner) && owner > 0 && boot === bootId() && alive(owner);
}

/**
 * A lock's text: a symlink's target, or the contents of a regular file (a lock taken before
 * locks were symlinks). Undefined when there is no lock.
 */
async function readLock(file: string): Promise<string | undefined> {
  try {
    return await fs.readlink(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EINVAL') return fs.readFile(file, 'latin1').catch(() => undefined);
    if (code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Removes the lock file if its holder has gone (a crash while holding it, or a reboot:
 * a lock under a root outlives the machine's processes).
 */
async function breakIfStale(file: string): Promise<void> {
  const text = await readLock(file);
  if (text === undefined || held(text)) return;
  // Another waiter may break the same lock and take it between our read and our removal:
  // the file is moved aside, and put back if what was moved is no longer what we judged.
  const aside = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.stale`;
  try {
    await fs.rename(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    if ((await readLock(aside)) !== text) {
      // Put back, unless a live holder has taken the name meanwhile.
      await fs.link(aside, file).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    }
  } finally {
    await fs.rm(aside, { force: true });
  }
}

/**
 * Creates the lock as a symlink whose target is its text: symlink(2) fails when the name
 * exists, so a lock never exists without its holder; and a target this short is kept in the
 * inode, so a lock needs no data block (a full disk can still remove networks).
 */
async function take(file: string, text: string): Promise<boolean> {
  try {
    await fs.symlink(text, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/**
 * Runs `fn` holding an exclusive lock between processes: a symlink naming its holder (PID and
 * boot). Node has no flock(2); symlink(2) is atomic on local filesystems, and the holder's
 * name lets a later process break the lock of one that crashed.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const text = `${process.pid} ${bootId()} ${Math.random().toString(36).slice(2)}`;
  const started = Date.now();
  let delay = 2;
  for (;;) {
    throwIfAborted(signal, `waiting for the lock ${file}`);
    if (await take(file, text)) break;
    await breakIfStale(file);
    if (Date.now() - started > WAIT_LIMIT_MS) {
      throw new CtrError('Unavailable', `Timed out waiting for the lock ${file}`, {
        hint: 'another ctr process is changing networks; if none is running, remove the file',
      });
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 50);
  }
  try {
    return await fn();
  } finally {
    if ((await readLock(file).catch(() => undefined)) === text) await fs.rm(file, { force: true });
  }
}

/**
 * What every ctr root on the host shares, each under a lock of its own:
 * - `iptables`: ctr's chains and their hooks, made once per host;
 * - `addresses`: automatic subnets and bridge names, and published host ports. Each is
 *   chosen by reading what the host (every other root included) already has, then taken by
 *   making the bridge or adding the DNAT rules; two roots doing this at once would both
 *   see the same subnet or port free and both take it.
 */
export type HostResource = 'iptables' | 'addresses';

/** Runs `fn` holding the host-wide lock on `resource` (see HostResource). */
export async function withHostLock<T>(resource: HostResource, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  await fs.mkdir(HOST_DIR, { recursive: true });
  return withFileLock(path.join(HOST_DIR, `${resource}.lock`), fn, signal);
}
