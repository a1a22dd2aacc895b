import { execFile } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { conflict, CtrError, internal, invalidArgument, isCtrError } from '@ctr/errors';
import type { Spec } from './oci-spec';
import { shmSizeOf, type JoinedNamespaces } from './spec/spec-opts';
import type { ContainerState, RunOptions } from './types';

/** The containers whose namespaces a container joins at each start (`--pid`/`--ipc container:<id>`, a `container` network), by type. */
export type NamespaceJoins = Partial<Record<'pid' | 'ipc' | 'network', string>>;

/** What `--pid`, `--ipc` and the network ask to join, or undefined when they join nothing. */
function namespaceJoins(run: RunOptions): NamespaceJoins | undefined {
  const joins: NamespaceJoins = {};
  for (const type of ['pid', 'ipc'] as const) {
    const mode = run[type];
    if (mode?.startsWith('container:')) joins[type] = mode.slice('container:'.length);
  }
  if (run.network?.mode === 'container') joins.network = run.network.id;
  return Object.keys(joins).length > 0 ? joins : undefined;
}

/** What the runtime's record keeps for `namespaceJoins` and a shareable /dev/shm (its size); nothing for most containers. */
export function joinsAndShm(run: RunOptions): { joins?: NamespaceJoins; shmSize?: number } {
  const joins = namespaceJoins(run);
  return {
    ...(joins ? { joins } : {}),
    ...(run.ipc === 'shareable' ? { shmSize: shmSizeOf(run) } : {}),
  };
}

/** Where a shareable container's /dev/shm is on the host: a tmpfs in the container's directory. */
export function shmDir(containerDir: string): string {
  return path.join(containerDir, 'shm');
}

function isMountPoint(dir: string): boolean {
  try {
    return statSync(dir).dev !== statSync(path.dirname(dir)).dev;
  } catch {
    return false;
  }
}

function run(program: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(program, args, (error, _stdout, stderr) => (error ? reject(internal(`${program} ${args.join(' ')}: ${(stderr || error.message).trim()}`)) : resolve()));
  });
}

/**
 * Mounts a shareable container's /dev/shm on the host (before a start, as dockerd does; after
 * a reboot it is gone). It stays while the container runs: `unmountShm` at its exit.
 */
export async function mountShm(dir: string, size: number): Promise<void> {
  if (isMountPoint(dir)) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await run('mount', ['-t', 'tmpfs', '-o', `nosuid,nodev,noexec,mode=1777,size=${size}`, 'shm', dir]);
}

/**
 * Unmounts container `id`'s shareable /dev/shm, if mounted. Not lazily (dockerd detaches it):
 * a tmpfs a host process still holds would keep its memory out of sight; busy is a Conflict.
 */
export async function unmountShm(dir: string, id: string): Promise<void> {
  if (!isMountPoint(dir)) return;
  await run('umount', [dir]).catch((error: unknown) => {
    // Another observer of the same exit may have unmounted it first.
    if (!isMountPoint(dir)) return;
    const reason = error instanceof Error ? error.message : String(error);
    if (!/busy/i.test(reason)) throw error;
    throw conflict(`container ${id}: its /dev/shm at ${dir} is busy (a process on the host uses it, or something is mounted inside): end that process or unmount that, then try again`, {
      hint: `fuser -vm ${dir} lists the processes; grep ${dir} /proc/self/mountinfo shows the mounts`,
      cause: error,
    });
  });
}

/** What the runtime knows of the container whose namespace is joined. */
export interface NamespaceOwner {
  state(): Promise<ContainerState>;
  spec(): Promise<Spec>;
}

/**
 * The namespaces a start joins, with dockerd's refusals: the other container must be running,
 * and for IPC its /dev/shm must be shareable (`--ipc shareable` or `host`: a directory on the
 * host the joiner can mount too).
 */
export async function joinedNamespaces(joins: NamespaceJoins, owner: (id: string) => NamespaceOwner): Promise<JoinedNamespaces> {
  const joined: JoinedNamespaces = {};
  for (const type of ['pid', 'ipc', 'network'] as const) {
    const id = joins[type];
    if (id === undefined) continue;
    const failed = (error: CtrError): CtrError =>
      new CtrError(error.code, `failed to join ${type.toUpperCase()} namespace: ${error.message}`, { cause: error, ...(error.hint ? { hint: error.hint } : {}) });
    try {
      const other = owner(id);
      const state = await other.state();
      if (!state.running) throw conflict(`container ${id} is not running`, { hint: `start ${id.slice(0, 12)} first` });
      if (type !== 'ipc') {
        joined[type] = { pid: state.pid };
        continue;
      }
      const shm = (await other.spec()).mounts.find((m) => m.destination === '/dev/shm');
      if (shm?.type !== 'bind' || !shm.source) {
        throw invalidArgument(`container ${id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
      }
      joined.ipc = { pid: state.pid, shm: shm.source };
    } catch (error) {
      throw isCtrError(error) ? failed(error) : error;
    }
  }
  return joined;
}
