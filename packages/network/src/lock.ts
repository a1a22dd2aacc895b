import { CtrError, throwIfAborted } from '@ctr/errors';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const WAIT_LIMIT_MS = 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the lock file if the process that wrote it is gone (a crash while holding it). */
async function breakIfStale(file: string): Promise<void> {
  const owner = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(owner) || owner <= 0) {
    // Written but not yet filled by its creator, or empty after a crash: give it a moment.
    const st = await fs.stat(file).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 5_000) await fs.rm(file, { force: true });
    return;
  }
  if (!alive(owner)) await fs.rm(file, { force: true });
}

/**
 * Runs `fn` holding an exclusive lock between processes: a file created with O_EXCL that
 * holds the owner's pid. Node has no flock(2); O_EXCL creation is atomic on local
 * filesystems, and the pid lets a later process break the lock of one that crashed.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const started = Date.now();
  let delay = 2;
  for (;;) {
    throwIfAborted(signal, `waiting for the lock ${file}`);
    try {
      const handle = await fs.open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      await breakIfStale(file);
      if (Date.now() - started > WAIT_LIMIT_MS) {
        throw new CtrError('Unavailable', `Timed out waiting for the lock ${file}`, {
          hint: 'another ctr process is changing networks; if none is running, remove the file',
        });
      }
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 50);
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(file, { force: true });
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
export function withHostLock<T>(resource: HostResource, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return withFileLock(path.join(os.tmpdir(), `ctr-network-${resource}.lock`), fn, signal);
}
