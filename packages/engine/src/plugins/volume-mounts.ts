import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { invalidArgument, isCtrError } from '@ctr/errors';
import { fillMountpoint, mountAll, mountPoints, unmount } from '@ctr/store';
import type { ContainerRecord } from '../container-records';
import type { EngineContext } from '../context';
import { underContainerLock } from '../container-lock';
import { PluginClient } from './client';
import { VolumeDriverProxy, recordPluginSource, volumeDriver } from './volume-driver';

/**
 * A plugin's volume in a container: the plugin's Mount (with the container's ID) when the
 * container starts gives a host path, bound onto the mount's staging point — the `source` the
 * container's runtime was given at its create — and held there while the container runs (a
 * copy into or out of it reads it there). Its exit's release takes the bind down and calls the
 * plugin's Unmount, once per Mount. Each Mount outstanding is a note beside the staging point
 * naming the plugin's address: the release goes there, whichever process makes it (conmon's
 * exit command has none of the caller's environment to find the plugin by), and a note stays
 * until its Unmount is answered, so a plugin that was down at the exit is asked again at the
 * next release (`rm`, the next start). A start and a release of one container never interleave
 * (one lock), and a release leaves a container that runs again (a restart got there first) alone.
 * A subpath of the volume (`volume-subpath`) is the mount's subpath under its staging point,
 * staged from there at each start as a local volume's is from its directory.
 */

type Holder = Pick<ContainerRecord, 'id' | 'mounts'>;
type RecordMount = ContainerRecord['mounts'][number];

/** What a Mount outstanding was: enough to Unmount it from any process. */
interface MountNote {
  driver: string;
  name: string;
  address: string;
}

const LOCKS = 'volume-plugin-locks';

/** Where a container's plugin volumes are bound while it runs: in the run root, which no container sees. */
function stagingDir(runRoot: string, id: string): string {
  return path.join(runRoot, 'volume-plugins', id);
}

/** The `source` of a container's `index`th mount when a plugin's volume is mounted there. */
export function pluginStagingPoint(runRoot: string, id: string, index: number): string {
  return path.join(stagingDir(runRoot, id), String(index));
}

function notePath(staging: string): string {
  return `${staging}.mount`;
}

function pluginMounts(record: Holder): Array<{ mount: RecordMount & { name: string; driver: string }; index: number }> {
  return record.mounts.flatMap((mount, index) => (mount.driver !== undefined && mount.name !== undefined ? [{ mount: { ...mount, name: mount.name, driver: mount.driver }, index }] : []));
}

/**
 * Run `start` with the container's plugin volumes mounted, each at its staging point. A Mount
 * that fails fails the start in dockerd's words (`error while mounting volume …`), and the
 * caller's release undoes the ones before it.
 */
export async function withPluginVolumesMounted<T>(ctx: EngineContext, record: Holder, start: () => Promise<T>): Promise<T> {
  return underContainerLock(ctx, LOCKS, record.id, async () => {
    await mountLocked(ctx, record);
    return start();
  });
}

/**
 * Mount the plugin volumes of a container that does not run while its files are worked on (a
 * copy into or out of it), as dockerd mounts a stopped container's volumes for one; the
 * returned release unmounts them (unless the container was started meanwhile: then its exit's).
 * A Mount that fails undoes the ones before it.
 */
export async function holdPluginVolumes(ctx: EngineContext, record: Holder): Promise<() => Promise<void>> {
  const release = (): Promise<void> => releasePluginVolumes(ctx, record);
  await underContainerLock(ctx, LOCKS, record.id, () => mountLocked(ctx, record)).catch(async (error: unknown) => {
    await release();
    throw error;
  });
  return release;
}

/**
 * Mount each of the container's plugin volumes at its staging point. One mounted already (a
 * copy into the stopped container holds it, or a run whose exit went unseen left it) is used
 * as it is: the plugin has a Mount for this ID, and one Unmount will answer it.
 */
async function mountLocked(ctx: EngineContext, record: Holder): Promise<void> {
  const mounted = new Set(await mountPoints());
  for (const { mount, index } of pluginMounts(record)) {
    const staging = pluginStagingPoint(ctx.runRoot, record.id, index);
    if (mounted.has(staging) && existsSync(notePath(staging))) continue;
    await releaseOne(record.id, staging, { keepUnanswered: false });
    const fail = (error: unknown): never => {
      throw mountError(mount, error);
    };
    await fs.mkdir(staging, { recursive: true }).catch(fail);
    const proxy = await volumeDriver(ctx, mount.driver).catch(fail);
    const mountpoint = await proxy.mount(mount.name, record.id).catch(fail);
    const note: MountNote = { driver: mount.driver, name: mount.name, address: proxy.address };
    // Without its note no release would Unmount it: answered here.
    await fs.writeFile(notePath(staging), JSON.stringify(note)).catch(async (error: unknown) => {
      await proxy.unmount(mount.name, record.id).catch(() => undefined);
      fail(error);
    });
    if (!path.isAbsolute(mountpoint)) fail(new Error(`VolumeDriver.Mount: the plugin gave no absolute path (${JSON.stringify(mountpoint)})`));
    await mountAll([{ type: 'bind', source: mountpoint, options: ['rbind'] }], staging).catch(fail);
    await recordPluginSource(ctx, record.id, index, mountpoint).catch(() => undefined);
  }
}

/**
 * dockerd's copy-up for a plugin's volume (CopyImagePathContent): a Mount under an ID of its
 * own, what the image has at the mount point copied in if the volume (or its subpath) is empty
 * there, and the Unmount — whatever the copy did. `source` is that directory of the new
 * container's root filesystem.
 */
export async function fillPluginVolume(ctx: EngineContext, volume: { name: string; driver: string; subpath?: string }, source: string, signal?: AbortSignal): Promise<void> {
  const fail = (error: unknown): never => {
    throw mountError(volume, error);
  };
  const proxy = await volumeDriver(ctx, volume.driver, signal).catch(fail);
  const id = randomBytes(32).toString('hex');
  const mountpoint = await proxy.mount(volume.name, id, signal).catch(fail);
  try {
    if (!path.isAbsolute(mountpoint)) fail(new Error(`VolumeDriver.Mount: the plugin gave no absolute path (${JSON.stringify(mountpoint)})`));
    await fillMountpoint(mountpoint, source, { ...(volume.subpath ? { subpath: volume.subpath } : {}), ...(signal ? { signal } : {}) });
  } finally {
    await proxy.unmount(volume.name, id).catch(() => undefined);
  }
}

function mountError(mount: { name: string; driver: string }, error: unknown): unknown {
  const words = error instanceof Error ? error.message : String(error);
  return invalidArgument(`error while mounting volume '${mount.name}': ${words}`, {
    hint: `volume ${mount.name} is plugin ${mount.driver}'s: check that the plugin runs and can mount it`,
    cause: error,
    ...(isCtrError(error) ? { details: error.details } : {}),
  });
}

/**
 * Take down what a container that no longer runs has of its plugin volumes: each staging bind,
 * then the plugin's Unmount. Never fails (an exit has no one to tell): an Unmount the plugin
 * does not answer is tried again at the next release.
 */
export async function releasePluginVolumes(ctx: EngineContext, record: Holder): Promise<void> {
  await releaseUnlessRunning(ctx, LOCKS, record.id, () => releaseLocked(ctx, record));
}

/**
 * Run `release` under the container's `locks` lock (its start's), unless it runs again (a
 * restart got there first). Never fails: an exit has no one to tell.
 */
export async function releaseUnlessRunning(ctx: EngineContext, locks: string, id: string, release: () => Promise<void>): Promise<void> {
  await underContainerLock(ctx, locks, id, async () => {
    const state = await ctx.runtime.state(id).catch(() => undefined);
    if (state?.running === true) return;
    await release();
  }).catch(() => undefined);
}

async function releaseLocked(ctx: EngineContext, record: Holder): Promise<void> {
  const dir = stagingDir(ctx.runRoot, record.id);
  if (!existsSync(dir)) return;
  for (const { index } of pluginMounts(record)) await releaseOne(record.id, pluginStagingPoint(ctx.runRoot, record.id, index), { keepUnanswered: true });
  // Empty only when every Unmount was answered.
  await fs.rmdir(dir).catch(() => undefined);
}

/**
 * Take down one staging point's bind and Unmount what its note names. `keepUnanswered`: keep
 * the note of an Unmount that failed, for a later release; a start drops it, as it mounts anew.
 */
async function releaseOne(id: string, staging: string, options: { keepUnanswered: boolean }): Promise<void> {
  if (existsSync(staging)) {
    await unmount(staging, { recursive: true }).catch(() => undefined);
    // Removed alone, never recursively: one still mounted must not be deleted into.
    await fs.rmdir(staging).catch(() => undefined);
  }
  await settlePluginNote<MountNote>(notePath(staging), (note, client) => new VolumeDriverProxy(note.driver, client).unmount(note.name, id), options);
}

/**
 * Make the call a plugin's note (JSON naming the plugin's `address`) says a container owes it,
 * from whichever process releases. The note goes once the plugin has answered, or at once
 * unless `keepUnanswered`; true when there was a note and the plugin answered.
 */
export async function settlePluginNote<N extends { address: string }>(
  file: string,
  call: (note: N, client: PluginClient) => Promise<unknown>,
  options: { keepUnanswered: boolean },
): Promise<boolean> {
  const note = await fs.readFile(file, 'utf8').then((text) => JSON.parse(text) as N, () => undefined);
  if (!note) return false;
  const answered = await call(note, new PluginClient(note.address)).then(
    () => true,
    () => false,
  );
  if (answered || !options.keepUnanswered) await fs.rm(file, { force: true });
  return answered;
}
