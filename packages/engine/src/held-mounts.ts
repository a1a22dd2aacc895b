import type { ContainerRecord } from './container-records';
import type { EngineContext } from './context';
import { underContainerLock } from './container-lock';

/**
 * What a container holds on the host while it runs, beside its root filesystem: the mounts of
 * its device volumes (`volume create -o type=… -o device=…`) and a shareable /dev/shm. dockerd
 * releases both when the container stops (its local volume driver counts a volume's mounts
 * per running container); here whoever sees the exit does — an engine's monitor, conmon's exit
 * command, `stop`, `rm`, an attached `run` — and a second release finds nothing to do.
 *
 * A start and a release never interleave: a start holds the container's hold lock (its
 * /dev/shm) and the volumes' lock (their mounts) until its process runs, and a release
 * decides under the same locks whether a container using the thing still runs.
 */

type Holder = Pick<ContainerRecord, 'id' | 'run' | 'mounts'>;

const HOLD_LOCKS = 'hold-locks';

/** Whether the container holds anything on the host while it runs that its exit must release. */
export function holdsHostMounts(record: Pick<ContainerRecord, 'run' | 'mounts'>): boolean {
  return record.run.ipc === 'shareable' || record.mounts.some((mount) => mount.device === true);
}

function deviceVolumes(record: Holder): string[] {
  return record.mounts.flatMap((mount) => (mount.device && mount.name !== undefined ? [mount.name] : []));
}

/**
 * Run `start` (the container's process start) with what it holds on the host made, under the
 * locks a release takes. A start that fails releases it again, as dockerd's cleanup after one.
 */
export async function startHolding<T>(ctx: EngineContext, record: Holder, start: () => Promise<T>): Promise<T> {
  if (!holdsHostMounts(record)) return start();
  const devices = deviceVolumes(record);
  const mounted = (): Promise<T> => (devices.length > 0 ? ctx.store.volumes.withDevicesMounted(devices, start) : start());
  try {
    return await (record.run.ipc === 'shareable' ? underContainerLock(ctx, HOLD_LOCKS, record.id, mounted) : mounted());
  } catch (error) {
    await releaseHeld(ctx, record);
    throw error;
  }
}

/**
 * Release what a container that no longer runs held: its /dev/shm, and each device volume no
 * running container uses. Never fails: no caller at an exit has anyone to tell, and what does
 * not come off (a host process inside) is tried again at the next exit, and at the
 * container's (its /dev/shm) or the volume's (a device) removal, which do report it.
 */
export async function releaseHeld(ctx: EngineContext, record: Holder): Promise<void> {
  await Promise.allSettled([
    record.run.ipc === 'shareable' ? underContainerLock(ctx, HOLD_LOCKS, record.id, () => ctx.runtime.releaseShm(record.id)) : Promise.resolve(),
    releaseDevices(ctx, record),
  ]);
}

/** Unmount each of the container's device volumes that no running container uses; never fails. */
export async function releaseDevices(ctx: EngineContext, record: Holder): Promise<void> {
  const running = async (users: string[]): Promise<boolean> => {
    const states = await Promise.all(users.map((user) => ctx.runtime.state(user).catch(() => undefined)));
    return states.some((state) => state?.running === true);
  };
  await Promise.allSettled(deviceVolumes(record).map((name) => ctx.store.volumes.releaseDevice(name, running)));
}
