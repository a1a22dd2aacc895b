import { promises as fs } from 'node:fs';
import { mountAll } from '@ctr/store';
import type { ContainerRecord } from './container-records';
import type { EngineContext } from './context';

/**
 * The container's merged root filesystem on the host, mounted if it is not (after a reboot
 * or in another engine process nothing may have mounted it yet).
 */
export async function mountedRootfs(ctx: EngineContext, record: ContainerRecord): Promise<string> {
  const mountinfo = await fs.readFile('/proc/self/mountinfo', 'utf8');
  if (mountinfo.split('\n').some((line) => line.split(' ')[4] === record.rootfs)) return record.rootfs;
  await fs.mkdir(record.rootfs, { recursive: true });
  await mountAll(await ctx.store.snapshots.mounts(record.snapshot), record.rootfs);
  return record.rootfs;
}

/**
 * Freeze a running container while the host works on its files, so no process inside can
 * swap a checked path component for a symlink before it is used (CVE-2018-15664; Podman
 * pauses for `cp` the same way). Resolves with the undo, which is safe to call twice.
 */
export async function quiesce(ctx: EngineContext, record: ContainerRecord): Promise<() => Promise<void>> {
  const state = await ctx.runtime.state(record.id).catch(() => undefined);
  if (!state?.running || state.paused) return async () => undefined;
  await ctx.runtime.pause(record.id);
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await ctx.runtime.unpause(record.id).catch(() => undefined);
  };
}
