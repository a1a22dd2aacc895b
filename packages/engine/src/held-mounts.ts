import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { bindVolumeSubpath, unmount } from '@ctr/store';
import type { ContainerRecord } from './container-records';
import type { EngineContext } from './context';
import { underContainerLock } from './container-lock';
import { logDriverModule, pluginMountsModule } from './lazy-modules';
import { volumeDirOf } from './volumes-spec';

/**
 * What a container holds on the host while it runs, beside its root filesystem: the mounts of
 * its device volumes (`volume create -o type=… -o device=…`), its plugins' volumes (each
 * plugin's Mount, see plugins/volume-mounts.ts) and a shareable /dev/shm. (Its
 * volume subpaths' staging mounts, `runtimeMounts`, are held only while it starts.) dockerd
 * releases both when the container stops (its local volume driver counts a volume's mounts
 * per running container); here whoever sees the exit does — an engine's monitor, conmon's exit
 * command, `stop`, `rm`, an attached `run` — and a second release finds nothing to do.
 *
 * A start and a release never interleave: a start holds the container's hold lock (its
 * /dev/shm) and the volumes' lock (their mounts) until its process runs, and a release
 * decides under the same locks whether a container using the thing still runs, or a copy
 * from or into a stopped one holds it (`holdDevices`).
 */

type Holder = Pick<ContainerRecord, 'id' | 'run' | 'mounts'>;

const HOLD_LOCKS = 'hold-locks';

/** Whether the container holds anything on the host while it runs that its exit must release (a logging plugin's StopLogging too). */
export function holdsHostMounts(record: Pick<ContainerRecord, 'run' | 'mounts'>): boolean {
  return record.run.ipc === 'shareable' || usesLogPlugin(record) || record.mounts.some((mount) => mount.device === true || mount.driver !== undefined);
}

function usesLogPlugin(record: Pick<ContainerRecord, 'run'>): boolean {
  return record.run.remoteLog?.driver === 'plugin';
}

function hasPluginVolumes(record: Pick<ContainerRecord, 'mounts'>): boolean {
  return record.mounts.some((mount) => mount.driver !== undefined);
}

type RecordMount = ContainerRecord['mounts'][number];

/** The staging points of one container's volume subpaths: in the engine's run root, which no container sees. */
function stagingDir(runRoot: string, id: string): string {
  return path.join(runRoot, 'subpaths', id);
}

/** Where a start mounts the subpath of the container's `index`th mount, for runc to mount from. */
function stagingPoint(runRoot: string, id: string, index: number): string {
  return path.join(stagingDir(runRoot, id), String(index));
}

/**
 * The container's mounts as its runtime is given them: a volume's subpath comes from its
 * staging point, which each start mounts with the subpath checked (`startHolding`), never
 * from a path inside the volume. runc would resolve such a path again at the start, and a
 * container running with the whole volume could by then have made a component of it a
 * symbolic link to a host directory.
 */
export function runtimeMounts<M extends RecordMount>(runRoot: string, id: string, mounts: readonly M[]): M[] {
  return mounts.map((mount, index) => (mount.type === 'volume' && mount.subpath !== undefined ? { ...mount, source: stagingPoint(runRoot, id, index) } : mount));
}

/**
 * Run `start` with the container's volume subpaths mounted on their staging points (see
 * `runtimeMounts`), and take them down after: once the runtime has made the container's
 * mounts (conmon reports the process only after runc's create), its own copies do not depend
 * on these, so nothing stays held while it runs. No subpath: `start` alone.
 */
async function withSubpathsStaged<T>(ctx: EngineContext, record: Holder, start: () => Promise<T>): Promise<T> {
  const subpaths = record.mounts.flatMap((mount, index) =>
    mount.type === 'volume' && mount.name !== undefined && mount.subpath !== undefined
      ? [{ name: mount.name, subpath: mount.subpath, staging: stagingPoint(ctx.runRoot, record.id, index), plugin: mount.driver !== undefined ? volumeDirOf(mount) : undefined }]
      : [],
  );
  if (subpaths.length === 0) return start();
  // What a start killed in between left.
  await releaseSubpaths(ctx, record);
  try {
    // A plugin's volume is at its staging point (mounted before this: see `startHolding`).
    for (const { name, subpath, staging, plugin } of subpaths) await (plugin ? bindVolumeSubpath(plugin, subpath, staging) : ctx.store.volumes.mountSubpath(name, subpath, staging));
    return await start();
  } finally {
    // A start that went through is not failed by this: what stays is taken down at the next start.
    await releaseSubpaths(ctx, record).catch(() => undefined);
  }
}

/**
 * Unmount and remove the container's staging points. Each is removed alone, never
 * recursively: one still mounted (its unmount failed) must not be deleted into — that would
 * delete the volume's files. A start killed between its mount and this leaves them to its
 * container's next start (the run root is a tmpfs: a reboot clears them too).
 */
async function releaseSubpaths(ctx: Pick<EngineContext, 'runRoot'>, record: Pick<ContainerRecord, 'id'>): Promise<void> {
  const dir = stagingDir(ctx.runRoot, record.id);
  if (!existsSync(dir)) return;
  for (const entry of await fs.readdir(dir)) {
    const point = path.join(dir, entry);
    await unmount(point);
    await ((await fs.lstat(point)).isDirectory() ? fs.rmdir(point) : fs.unlink(point));
  }
  await fs.rmdir(dir);
}

function deviceVolumes(record: Holder): string[] {
  return record.mounts.flatMap((mount) => (mount.device && mount.name !== undefined ? [mount.name] : []));
}

/**
 * Run `start` (the container's process start) with what it holds on the host made, under the
 * locks a release takes. A start that fails releases it again, as dockerd's cleanup after one.
 */
export async function startHolding<T>(ctx: EngineContext, record: Holder, start: () => Promise<T>): Promise<T> {
  if (!holdsHostMounts(record)) return withSubpathsStaged(ctx, record, start);
  const devices = deviceVolumes(record);
  // With the device volumes mounted: a subpath may be on one.
  // The logging plugin told last, right before the process (moby's StartLogger at the start).
  const logged = (): Promise<T> => (usesLogPlugin(record) ? logDriverModule().withPluginLogging(ctx, record, start) : start());
  const staged = (): Promise<T> => withSubpathsStaged(ctx, record, logged);
  const withDevices = (): Promise<T> => (devices.length > 0 ? ctx.store.volumes.withDevicesMounted(devices, staged) : staged());
  const mounted = (): Promise<T> => (hasPluginVolumes(record) ? pluginMountsModule().withPluginVolumesMounted(ctx, record, withDevices) : withDevices());
  try {
    return await (record.run.ipc === 'shareable' ? underContainerLock(ctx, HOLD_LOCKS, record.id, mounted) : mounted());
  } catch (error) {
    await releaseHeld(ctx, record);
    throw error;
  }
}

/**
 * Mount the device volumes of a container that does not run while its files are worked on (a
 * copy from or into it), as dockerd's local driver mounts them for one. The work holds them
 * as a running container does (see the store's `holdDevices`), not the volumes' lock: a
 * start, a volume's create and an exit's release go on meanwhile, and none takes a mount
 * down under it. The undo drops the hold and unmounts each that nothing else uses. Its plugins'
 * volumes are mounted for the work too (their Mount), and unmounted after.
 */
export async function holdDevices(ctx: EngineContext, record: Holder): Promise<() => Promise<void>> {
  const devices = deviceVolumes(record);
  const plugins = hasPluginVolumes(record) ? await pluginMountsModule().holdPluginVolumes(ctx, record) : async (): Promise<void> => undefined;
  if (devices.length === 0) return plugins;
  const drop = await ctx.store.volumes.holdDevices(devices, record.id).catch(async (error: unknown) => {
    // What was mounted before one failed.
    await releaseDevices(ctx, record);
    await plugins();
    throw error;
  });
  return async () => {
    await drop();
    await releaseDevices(ctx, record);
    await plugins();
  };
}

/**
 * Release what a container that no longer runs held: its /dev/shm, each device volume no
 * running container uses, and its plugins' volumes (their Unmount). Never fails: no caller at an exit has anyone to tell, and what does
 * not come off (a host process inside) is tried again at the next exit, and at the
 * container's (its /dev/shm) or the volume's (a device) removal, which do report it.
 */
export async function releaseHeld(ctx: EngineContext, record: Holder): Promise<void> {
  await Promise.allSettled([
    record.run.ipc === 'shareable' ? underContainerLock(ctx, HOLD_LOCKS, record.id, () => ctx.runtime.releaseShm(record.id)) : Promise.resolve(),
    releaseDevices(ctx, record),
    hasPluginVolumes(record) ? pluginMountsModule().releasePluginVolumes(ctx, record) : Promise.resolve(),
    usesLogPlugin(record) ? logDriverModule().releasePluginLogging(ctx, record) : Promise.resolve(),
  ]);
}

/** Unmount each of the container's device volumes that no running container uses and no copy holds; never fails. */
export async function releaseDevices(ctx: EngineContext, record: Holder): Promise<void> {
  const running = async (users: string[]): Promise<boolean> => {
    const states = await Promise.all(users.map((user) => ctx.runtime.state(user).catch(() => undefined)));
    return states.some((state) => state?.running === true);
  };
  await Promise.allSettled(deviceVolumes(record).map((name) => ctx.store.volumes.releaseDevice(name, running)));
}
