import { promises as fs, rmdirSync } from 'node:fs';
import { isCtrError } from '@ctr/errors';
import { mountAll, mountPoints, type Mount } from '@ctr/store';
import type { ContainerRecord } from './container-records';
import type { EngineContext } from './context';

/**
 * The container's merged root filesystem on the host, mounted if it is not (after a reboot
 * or in another engine process nothing may have mounted it yet).
 */
export async function mountedRootfs(ctx: EngineContext, record: ContainerRecord): Promise<string> {
  if ((await mountPoints()).includes(record.rootfs)) return record.rootfs;
  await fs.mkdir(record.rootfs, { recursive: true });
  await mountAll(await ctx.store.snapshots.mounts(record.snapshot), record.rootfs);
  return record.rootfs;
}

/** Remove an unmounted root filesystem's mount point: one rmdir, unless something was left in it. */
export async function removeMountpoint(dir: string): Promise<void> {
  // Directly: on `docker run --rm`'s path, where loading Node's promise API would cost more than the call.
  try {
    rmdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Mount a new container's root filesystem. The upper layer of a container that is removed
 * when it exits (`--rm`) is read by nobody after a crash, so, as Podman does, it is mounted
 * `volatile`: overlayfs then never syncs it, and syncing is most of what unmounting costs.
 * (Such a layer cannot be mounted again after a crash — nor needs to be.) Kernels before
 * 5.10 do not know the option and get the plain mount.
 */
export async function mountNewRootfs(mounts: readonly Mount[], target: string, options: { ephemeral: boolean }): Promise<void> {
  if (options.ephemeral && mounts.some((m) => m.type === 'overlay')) {
    const volatile = mounts.map((m) => (m.type === 'overlay' ? { ...m, options: [...m.options, 'volatile'] } : m));
    try {
      return await mountAll(volatile, target);
    } catch (error) {
      if (!(isCtrError(error) && error.code === 'Internal')) throw error;
    }
  }
  await mountAll(mounts, target);
}
