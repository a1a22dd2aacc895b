import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { aborted, conflict, invalidArgument, isCtrError, isNotFound, notFound } from '@ctr/errors';
import { goRfc3339 } from '@ctr/image';
import { removeAbandonedTemps } from './temps';
import { abandonedTemp, apparentSize, errno, fsyncDir, readJson, storageError, tempName, TEMP_PREFIX, writeFileAtomic } from './fs-util';
import { run } from './exec';
import { withLock } from './lock';
import { mountAll, mountPoints, unmount, type Mount } from './mount';
import { bindBeneath, pathComponents, withDirectoryBeneath } from './safe-walk';
import { copyTree, finishFill, isEmptyBeneath, publishFill, refuseSubpath, subpathIn } from './volume-fill';

/** `docker volume inspect` fields, in the order of docker's volume.Volume (its JSON's order). */
export interface VolumeInfo {
  CreatedAt: string;
  /** `local`, or the name of the volume plugin that keeps the volume's data. */
  Driver: string;
  Labels: Record<string, string>;
  /** A plugin's volume: what the plugin last said (empty in the record: it is the plugin's to say). */
  Mountpoint: string;
  Name: string;
  Options: Record<string, string>;
  Scope: 'local' | 'global';
  /** A plugin's volume: what the plugin's `Get` reports of it (docker's omitempty). */
  Status?: Record<string, unknown>;
}

/**
 * The plugin a volume is made by (`docker volume create -d NAME`): its record is kept here,
 * its data by the plugin. `create` is the plugin's Create, called under the volumes' lock
 * before the record appears, so a failed one leaves nothing and two creates of one name agree.
 */
export interface VolumeDriverHooks {
  name: string;
  scope: 'local' | 'global';
  create(): Promise<void>;
}

/**
 * `info`'s fields in docker's order, whatever order its record has them in (records made before
 * were not), and its creation time as docker's local driver gives it: RFC 3339 in whole seconds
 * in the local zone, whatever zone the record was written in.
 */
function dockerOrder({ CreatedAt, Driver, Labels, Mountpoint, Name, Options, Scope, Status }: VolumeInfo): VolumeInfo {
  const created = new Date(CreatedAt);
  return { CreatedAt: Number.isNaN(created.getTime()) ? CreatedAt : goRfc3339(created), Driver, Labels, Mountpoint, Name, Options, Scope, ...(Status ? { Status } : {}) };
}

export interface CreateVolumeOptions {
  /** Omit for an anonymous volume (a random 64-hex name). */
  name?: string;
  labels?: Record<string, string>;
  /**
   * The local driver's options (`docker volume create -o`): `type`, `device` and `o` make the
   * volume a mount of `device` (`type=tmpfs device=tmpfs o=size=64m`, or `type=none o=bind
   * device=/srv/data` for a host directory), made when a container using it starts and
   * undone when the last one running stops (see `withDevicesMounted` and `releaseDevice`).
   */
  options?: Record<string, string>;
  /**
   * The driver asked for: an existing volume of another driver is then a Conflict in moby's
   * words. Omitted, an existing volume of any driver is the answer, and a new one is local.
   */
  driver?: string;
}

export interface PopulateVolumeOptions {
  /** Fill this directory of the volume (`volume-subpath`) rather than the whole volume. */
  subpath?: string;
  signal?: AbortSignal;
}

export interface PruneVolumesResult {
  deleted: string[];
  spaceReclaimed: number;
}

/** Docker's label on volumes made without a name; prune removes only these unless `all`. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * A plugin's volume names are the plugin's to choose (sshfs's `user@host:/path`, names with
 * slashes), which no directory name can be: such a volume's record is kept under this prefix
 * and the name's SHA-256, a key no local name can take (a local name starts with a letter or
 * digit) and no name can steer out of the store. Its name is in its record.
 */
const KEY_PREFIX = '@';
const ENCODED_KEY = /^@[0-9a-f]{64}$/;

/** The directory name of volume `name`'s record: the name itself when it is a local one, as ever. */
function recordKey(name: string): string {
  return NAME.test(name) && name.length <= 255 ? name : `${KEY_PREFIX}${createHash('sha256').update(name).digest('hex')}`;
}

/**
 * Local volumes: `<root>/volumes/<name>/{_data,meta.json,users/}`. A volume appears by
 * rename of a complete directory, and disappears by rename before deletion, so a crash
 * never leaves a half volume under a real name. Containers using a volume are recorded
 * as files in `users/` (the engine calls `addUser`/`removeUser`), and processes holding a
 * device volume mounted for a stopped container's files in `holders/` (`holdDevices`);
 * removing a used or held volume is a Conflict.
 */
export class VolumeStore {
  constructor(
    private readonly dir: string,
    private readonly lockFile: string,
  ) {}

  /**
   * Create a volume; creating an existing named volume returns it whatever the options or
   * labels asked (as docker does; another driver's is a Conflict). With
   * `driver`, a plugin's volume: recorded here (its `_data` stays empty), made by the plugin.
   */
  async create(options: CreateVolumeOptions = {}, driver?: VolumeDriverHooks): Promise<VolumeInfo> {
    const anonymous = options.name === undefined;
    const name = options.name ?? randomBytes(32).toString('hex');
    const driverName = driver?.name ?? options.driver;
    if (driver) checkPluginName(name);
    else checkName(name);
    return withLock(this.lockFile, async () => {
      const existing = await this.meta(name);
      if (existing && driverName !== undefined && existing.Driver !== driverName) {
        throw conflict(`create ${name}: driver '${existing.Driver}' already has volume '${name}': volume name must be unique`, {
          hint: `volume ${name} is ${existing.Driver}'s; choose another name, or remove that volume first`,
        });
      }
      // moby's store answers with the volume it has before its driver sees the options:
      // another create's options, good or bad, are neither checked nor compared.
      if (existing) return existing;
      if (!driver) checkDriverOptions(options.options ?? {});
      await driver?.create();
      await fs.mkdir(this.dir, { recursive: true });
      const temp = tempName(this.dir);
      const info: VolumeInfo = {
        CreatedAt: new Date().toISOString(),
        Driver: driver?.name ?? 'local',
        Labels: { ...options.labels, ...(anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) },
        Mountpoint: driver ? '' : path.join(this.dirOf(name), '_data'),
        Name: name,
        Options: { ...options.options },
        Scope: driver?.scope ?? 'local',
      };
      try {
        await fs.mkdir(temp);
        await fs.mkdir(path.join(temp, '_data'), { mode: 0o755 });
        await fs.mkdir(path.join(temp, 'users'));
        await writeFileAtomic(path.join(temp, 'meta.json'), JSON.stringify(info));
        await fs.rename(temp, this.dirOf(name));
        await fsyncDir(this.dir);
      } catch (error) {
        await fs.rm(temp, { recursive: true, force: true });
        throw storageError(error, `creating volume ${name}`);
      }
      return dockerOrder(info);
    });
  }

  /** Any name is looked up (a plugin's may be anything): one that has no record is NotFound. */
  async inspect(name: string): Promise<VolumeInfo> {
    const info = await this.meta(name);
    // dockerd's words alone: a hint would follow them in the API's message, where docker shows none.
    if (!info) throw notFound(`get ${name}: no such volume`);
    return info;
  }

  async list(filters: { label?: Record<string, string | undefined>; dangling?: boolean } = {}): Promise<VolumeInfo[]> {
    const out: VolumeInfo[] = [];
    for (const info of await this.records()) {
      if (filters.label && !matchLabels(info.Labels, filters.label)) continue;
      if (filters.dangling !== undefined && filters.dangling !== ((await this.refs(info.Name)).length === 0)) continue;
      out.push(info);
    }
    return out;
  }

  /**
   * Remove a volume and its data. In use → Conflict (unless `force`, as `docker volume rm -f`).
   * `removeData` (a plugin's Remove) runs once the volume is found unused, before its record
   * goes; when it fails, the volume stays.
   */
  async remove(name: string, options: { force?: boolean; removeData?: (volume: VolumeInfo) => Promise<void> } = {}): Promise<void> {
    await this.inspect(name);
    await withLock(this.lockFile, () => this.removeLocked(name, options.force ?? false, options.removeData));
  }

  /**
   * Remove unused volumes: anonymous ones only, unless `all` (Docker API ≥ 1.42). As moby's
   * prune, only the local driver's plain ones: a plugin's volume, or one with options (a
   * device's mount: a host directory bound, a tmpfs), is never removed by a prune, whose
   * point is the space reclaimed.
   */
  async prune(options: { all?: boolean; label?: Record<string, string | undefined>; accept?: (volume: VolumeInfo) => boolean } = {}): Promise<PruneVolumesResult> {
    return withLock(this.lockFile, async () => {
      const result: PruneVolumesResult = { deleted: [], spaceReclaimed: 0 };
      for (const info of await this.records()) {
        const name = info.Name;
        if (info.Driver !== 'local' || Object.keys(info.Options).length > 0) continue;
        if (!options.all && !(ANONYMOUS_LABEL in info.Labels)) continue;
        if (options.label && !matchLabels(info.Labels, options.label)) continue;
        if (options.accept && !options.accept(info)) continue;
        if ((await this.refs(name)).length > 0) continue;
        const size = await apparentSize(info.Mountpoint).catch(() => 0);
        // As moby's prune: a volume that cannot be removed stays, and the others still go.
        if (!(await this.removeLocked(name, false).then(() => true, () => false))) continue;
        result.deleted.push(name);
        result.spaceReclaimed += size;
      }
      // What a killed `volume rm` had set aside is a volume being removed: it goes too.
      result.spaceReclaimed += await removeAbandonedTemps([this.dir]);
      return result;
    });
  }

  /**
   * Run `fn` (the start of a container using the device volumes `names`: those whose options
   * name a `type` and a `device`) with each mounted on its data directory, holding the volumes'
   * lock until `fn` is done: a `releaseDevice` racing with the start either comes first, and
   * the mount is made again here, or after, and finds the container running.
   */
  async withDevicesMounted<T>(names: readonly string[], fn: () => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    const infos = await Promise.all(names.map((name) => this.inspect(name)));
    return withLock(this.lockFile, async () => {
      for (const info of infos) await this.mountDeviceLocked(info, options);
      return fn();
    });
  }

  /**
   * Mount the device volumes `names` for a process working on the files of container `user`
   * while it does not run (a copy from or into it), and hold them mounted until the returned
   * release. The volumes' lock is held only while mounting, so starts, creates and releases go
   * on meanwhile; the hold is a note in the volume's `holders/` that `releaseDevice` and
   * `remove` respect as they respect a running container. The note is named for this process
   * as a temporary file is (`tempName`): one a killed process left counts for nothing, so the
   * next release takes its mount down. The release only drops the hold; unmounting is
   * `releaseDevice`'s, which knows what else uses the volume.
   */
  async holdDevices(names: readonly string[], user: string): Promise<() => Promise<void>> {
    checkUser(user);
    const infos = await Promise.all(names.map((name) => this.inspect(name)));
    const notes: string[] = [];
    const release = async (): Promise<void> => {
      await Promise.all(notes.splice(0).map((note) => fs.rm(note, { force: true })));
    };
    try {
      await withLock(this.lockFile, async () => {
        for (const info of infos) {
          await this.mountDeviceLocked(info, {});
          const dir = path.join(this.dirOf(info.Name), 'holders');
          await fs.mkdir(dir, { recursive: true });
          const note = tempName(dir);
          // A symlink: made without a data block, so a full disk does not stop a copy out.
          await fs.symlink(user, note);
          notes.push(note);
        }
      });
    } catch (error) {
      await release();
      throw storageError(error, `mounting the device volumes ${names.join(', ')}`);
    }
    return release;
  }

  /**
   * Unmount a device volume unless a process holds it (`holdDevices`) or `inUse` says one of
   * the containers recorded as using it (the IDs it is given) still needs it: dockerd's local
   * driver counts a volume's mounts per running container, and unmounts it at the last one's
   * stop. A tmpfs volume's data goes with it; a bound host directory stays as it is. Not
   * mounted, or not a device volume: nothing to do.
   */
  async releaseDevice(name: string, inUse: (users: string[]) => Promise<boolean>): Promise<void> {
    await withLock(this.lockFile, async () => {
      const info = await this.meta(name);
      if (!info || !deviceMount(info.Options) || !(await isMounted(info.Mountpoint))) return;
      if ((await this.holders(name)).length > 0 || (await inUse(await this.users(name)))) return;
      await unmount(info.Mountpoint).catch((error: unknown) => {
        throw conflict(`unmounting volume ${name} at ${info.Mountpoint}: ${error instanceof Error ? error.message : String(error)}`, {
          hint: `a process on the host may be using it (fuser -vm ${info.Mountpoint} lists them); the unmount is tried again when the next container using it stops, and when the volume is removed`,
          cause: error,
        });
      });
    });
  }

  private async mountDeviceLocked(info: VolumeInfo, options: { signal?: AbortSignal }): Promise<void> {
    const device = deviceMount(info.Options);
    if (!device || (await isMounted(info.Mountpoint))) return;
    await mountAll([device], info.Mountpoint, options).catch((error: unknown) => {
      throw invalidArgument(`error while mounting volume '${info.Mountpoint}': ${error instanceof Error ? error.message : String(error)}`, {
        hint: `check the device and options of volume ${info.Name} (docker volume inspect ${info.Name})`,
        cause: error,
      });
    });
  }

  /**
   * Fill the volume from `source` (a directory of a new container's root filesystem) if the
   * volume — or its `subpath` — is an empty directory, as dockerd does at a container's
   * create: everything in it, and its owner, mode and times on the volume's directory. A
   * copy cut short, however, never leaves a partly filled volume (see volume-fill.ts); a
   * volume with anything in it is never touched. A device volume is filled only while it is
   * mounted, which its caller sees to (`holdDevices`, as dockerd mounts one to fill it), and
   * straight in, as a plugin's is (`fillMountpoint`): the device is no filesystem of the
   * store's to stage a copy on. Not mounted, it is not filled: what went into its data
   * directory would lie hidden under the mount. Whether the volume was filled.
   */
  async populate(name: string, source: string, options: PopulateVolumeOptions = {}): Promise<boolean> {
    const info = await this.inspect(name);
    if (info.Driver !== 'local') return false;
    if (deviceMount(info.Options)) return (await isMounted(info.Mountpoint)) && fillMountpoint(info.Mountpoint, source, options);
    const subpath = options.subpath ?? '';
    pathComponents(subpath);
    const sourceStat = await fs.stat(source);
    // The usual case, a volume in use, answered without a copy.
    if (!sourceStat.isDirectory() || !(await isEmptyBeneath(info.Mountpoint, subpath))) return false;
    const staging = tempName(this.dir);
    try {
      await fs.mkdir(staging);
      await copyTree(source, staging, options.signal);
      // The copy's data reaches the disk before any of it is published: the journal makes the moves durable, not the files' contents.
      await run('sync', ['-f', staging]);
      return await withLock(this.lockFile, async () => {
        if (!(await this.meta(name))) return false;
        return publishFill(this.dirOf(name), staging, subpath, sourceStat);
      });
    } catch (error) {
      // Ours already (a volume gone, a refusal) or a cancellation: said as they are, not as a storage failure.
      if (isCtrError(error)) throw error;
      if (options.signal?.aborted) throw aborted(options.signal, `copying ${source} into volume ${name}`);
      throw storageError(error, `copying ${source} into volume ${name}`);
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * The host path of a directory (or file) of the volume that a container mounts alone
   * (`volume-subpath`); NotFound in dockerd's words when it is missing or reached through a
   * symbolic link, which could lead out of the volume.
   */
  async subpath(name: string, subpath: string): Promise<string> {
    return subpathIn((await this.inspect(name)).Mountpoint, subpath);
  }

  /**
   * Bind-mount a volume's subpath onto `staging` (a path of the caller's, outside the volume),
   * for a container's runtime to mount from there: reached without following a symbolic link
   * and checked after mounting to be what was reached (see safe-walk.ts), so that a container
   * running with the whole volume cannot turn it into a host path meanwhile. NotFound in
   * dockerd's words as `subpath`. The caller unmounts `staging`.
   */
  async mountSubpath(name: string, subpath: string, staging: string): Promise<void> {
    await bindVolumeSubpath((await this.inspect(name)).Mountpoint, subpath, staging);
  }

  /** Record that container `user` mounts the volume. */
  async addUser(name: string, user: string): Promise<void> {
    checkUser(user);
    await withLock(this.lockFile, async () => {
      await this.inspect(name);
      // A fill cut short while it was being published is finished before anyone uses the volume.
      await finishFill(this.dirOf(name));
      await fs.writeFile(path.join(this.dirOf(name), 'users', user), '');
    });
  }

  async removeUser(name: string, user: string): Promise<void> {
    checkUser(user);
    await withLock(this.lockFile, async () => {
      await fs.rm(path.join(this.dirOf(name), 'users', user), { force: true });
    });
  }

  /** IDs of the containers recorded as using the volume. */
  async users(name: string): Promise<string[]> {
    try {
      return (await fs.readdir(path.join(this.dirOf(name), 'users'))).filter((u) => !u.startsWith(TEMP_PREFIX));
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw storageError(error, `reading users of volume ${name}`);
    }
  }

  /**
   * The containers a live process holds the volume mounted for (`holdDevices`). The notes of
   * processes that have ended are removed on the way: they never count again.
   */
  private async holders(name: string): Promise<string[]> {
    const dir = path.join(this.dirOf(name), 'holders');
    let notes: string[];
    try {
      notes = await fs.readdir(dir);
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw storageError(error, `reading holders of volume ${name}`);
    }
    const live: string[] = [];
    for (const note of notes) {
      const file = path.join(dir, note);
      if (abandonedTemp(note)) await fs.rm(file, { force: true });
      else live.push(...(await fs.readlink(file).then((user) => [user], () => [])));
    }
    return live;
  }

  /** Who uses the volume: the containers recorded as using it and those a process holds it for. */
  private async refs(name: string): Promise<string[]> {
    return [...new Set([...(await this.users(name)), ...(await this.holders(name))])];
  }

  /** The volumes whose record (`meta.json`) or data directory (`_data`) is missing or unreadable. */
  async damaged(): Promise<DamagedVolume[]> {
    return damagedVolumes(this.dir);
  }

  /**
   * Make a damaged volume whole without touching what it holds: data that lost its record gets
   * a new one (a local volume without labels or options, created when its data was), so that
   * `volume ls` shows it and its owner decides; a record that lost its data gets an empty directory.
   */
  async restore(name: string): Promise<void> {
    checkName(name);
    await withLock(this.lockFile, async () => {
      const dir = path.join(this.dir, name);
      const data = path.join(dir, '_data');
      await fs.mkdir(data, { recursive: true, mode: 0o755 });
      await fs.mkdir(path.join(dir, 'users'), { recursive: true });
      if ((await this.meta(name).catch(() => undefined)) !== undefined) return;
      const info: VolumeInfo = {
        CreatedAt: (await fs.stat(data)).mtime.toISOString(),
        Driver: 'local',
        Labels: {},
        Mountpoint: data,
        Name: name,
        Options: {},
        Scope: 'local',
      };
      await writeFileAtomic(path.join(dir, 'meta.json'), JSON.stringify(info));
    });
  }

  private async removeLocked(name: string, force: boolean, removeData?: (volume: VolumeInfo) => Promise<void>): Promise<void> {
    // A hold is refused even forced: the deletion would pull the device from under its copy.
    const held = await this.holders(name);
    const users = [...new Set([...(force ? [] : await this.users(name)), ...held])];
    if (users.length > 0) {
      throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`, {
        hint: held.length > 0 ? 'a copy from or into a container (cp) holds it mounted until the copy ends; remove it after' : 'remove the containers using it first',
      });
    }
    // A device's mount comes off first: the deletion below must never reach into what it
    // shows (a host directory bound there, say). Whatever is still mounted in the volume
    // (a mount that would not come off, one made by hand) leaves it where it is.
    const info = await this.meta(name);
    if (info && removeData) await removeData(info);
    if (info && deviceMount(info.Options)) await unmount(info.Mountpoint).catch(() => undefined);
    const volumeDir = await fs.realpath(this.dirOf(name)).catch(() => this.dirOf(name));
    const mounted = (await mountPoints()).find((point) => point === volumeDir || point.startsWith(`${volumeDir}/`));
    if (mounted) {
      throw conflict(`remove ${name}: ${mounted} is still mounted`, { hint: 'a process may still be using the volume; unmount it, then remove the volume' });
    }
    // Rename first: the name disappears atomically, the slow delete happens after.
    const aside = tempName(this.dir);
    try {
      await fs.rename(this.dirOf(name), aside);
      await fsyncDir(this.dir);
    } catch (error) {
      if (errno(error) === 'ENOENT') throw notFound(`get ${name}: no such volume`);
      throw storageError(error, `removing volume ${name}`);
    }
    await fs.rm(aside, { recursive: true, force: true });
  }

  private dirOf(name: string): string {
    return path.join(this.dir, recordKey(name));
  }

  private async meta(name: string): Promise<VolumeInfo | undefined> {
    return this.metaAt(recordKey(name));
  }

  private async metaAt(key: string): Promise<VolumeInfo | undefined> {
    const info = await readJson<VolumeInfo>(path.join(this.dir, key, 'meta.json'));
    return info && dockerOrder(info);
  }

  /** Every volume's record, local names' and encoded keys' alike. */
  private async records(): Promise<VolumeInfo[]> {
    const out: VolumeInfo[] = [];
    for (const key of await volumeKeys(this.dir)) {
      const info = await this.metaAt(key);
      if (info) out.push(info);
    }
    return out;
  }
}

/** The volume directories under `dir`: local names, and plugin volumes' encoded keys with `encoded`. */
async function volumeKeys(dir: string, options: { encoded: boolean } = { encoded: true }): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((n) => !n.startsWith(TEMP_PREFIX) && (NAME.test(n) || (options.encoded && ENCODED_KEY.test(n))));
  } catch (error) {
    if (errno(error) === 'ENOENT') return [];
    throw storageError(error, `listing volumes in ${dir}`);
  }
}

/**
 * Bind `subpath` of a volume's data (`data`: a local volume's directory, or the path a plugin's
 * Mount gave) onto `staging`, as `VolumeStore.mountSubpath` says.
 */
export async function bindVolumeSubpath(data: string, subpath: string, staging: string): Promise<void> {
  await bindBeneath(data, subpath, staging, refuseSubpath(path.join(data, subpath)));
}

/**
 * Fill a plugin's volume — `data`, the path its Mount gave, or its `subpath` — from `source` if
 * it is an empty directory there, as dockerd's copyExistingContents: straight in (the data is
 * the plugin's, on a filesystem the store cannot stage a copy on), then the source directory's
 * owner, mode and times on it. The target is reached without following a symbolic link and
 * changed through its descriptor. Whether it was filled.
 */
export async function fillMountpoint(data: string, source: string, options: PopulateVolumeOptions = {}): Promise<boolean> {
  const subpath = options.subpath ?? '';
  const sourceStat = await fs.stat(source);
  if (!sourceStat.isDirectory()) return false;
  let entered = false;
  try {
    return await withDirectoryBeneath(data, subpath, refuseSubpath(path.join(data, subpath)), async (dir, handle) => {
      entered = true;
      if ((await fs.readdir(handle)).length > 0) return false;
      await copyTree(source, handle, options.signal);
      await dir.chown(sourceStat.uid, sourceStat.gid);
      await dir.chmod(sourceStat.mode & 0o7777);
      await dir.utimes(sourceStat.atime, sourceStat.mtime);
      return true;
    });
  } catch (error) {
    // A subpath not there (or not reachable) has nothing to fill, as with a local volume.
    if (!entered && isNotFound(error)) return false;
    if (isCtrError(error)) throw error;
    if (options.signal?.aborted) throw aborted(options.signal, `copying ${source} into ${data}`);
    throw storageError(error, `copying ${source} into ${data}`);
  }
}

/** A volume directory missing its record (`meta.json`, or one that cannot be read) or its data directory (`_data`). */
export interface DamagedVolume {
  name: string;
  record: boolean;
  data: boolean;
}

/** The damaged volumes under `dir` (see `DamagedVolume`): what fsck reports and `VolumeStore.restore` repairs. */
export async function damagedVolumes(dir: string): Promise<DamagedVolume[]> {
  const found: DamagedVolume[] = [];
  // An encoded key's record names its volume: one that lost it has no name to restore it under.
  for (const name of await volumeKeys(dir, { encoded: false })) {
    const record = (await readJson(path.join(dir, name, 'meta.json')).catch(() => undefined)) !== undefined;
    const data = await isDirectory(path.join(dir, name, '_data'));
    if (!record || !data) found.push({ name, record, data });
  }
  return found;
}

function matchLabels(labels: Record<string, string>, wanted: Record<string, string | undefined>): boolean {
  return Object.entries(wanted).every(([k, v]) => Object.hasOwn(labels, k) && (v === undefined || labels[k] === v));
}

function checkName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 255) {
    throw invalidArgument(
      `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`,
      { hint: 'a volume name needs at least two characters and may not contain "/"' },
    );
  }
}

/** A plugin's volume name: anything the plugin takes, but not nothing and no NUL (no path, no API carries one). */
function checkPluginName(name: string): void {
  if (typeof name !== 'string' || name === '' || name.includes('\0')) {
    throw invalidArgument(`invalid volume name ${JSON.stringify(name)}`, { hint: 'a volume name may not be empty or hold a NUL character' });
  }
}

const DRIVER_OPTIONS = new Set(['type', 'device', 'o']);
/** dockerd's local driver: an option that needs others beside it. */
const REQUIRED_WITH: Record<string, string[]> = { device: ['type'], type: ['device'], o: ['device', 'type'] };

/** The local driver's checks, in dockerd's words. */
function checkDriverOptions(options: Record<string, string>): void {
  for (const key of Object.keys(options)) {
    if (key === 'size') throw invalidArgument('quota size requested but no quota support', { hint: "ctr's volumes have no size limit; a tmpfs volume takes o=size=…" });
    if (!DRIVER_OPTIONS.has(key)) throw invalidArgument(`invalid option: ${JSON.stringify(key)}`, { hint: 'the local driver takes type, device and o' });
  }
  for (const [key, needed] of Object.entries(REQUIRED_WITH)) {
    if (!(key in options)) continue;
    const missing = needed.find((other) => !(other in options));
    if (missing) throw invalidArgument(`missing required option: ${JSON.stringify(missing)}`);
  }
}

/** Whether a volume is a device's mount (its options name a `type` and a `device`), which `withDevicesMounted` makes. */
export function hasDevice(info: VolumeInfo): boolean {
  return deviceMount(info.Options) !== undefined;
}

/** Whether something is mounted on `dir`; mountinfo shows resolved paths, so a root reached through a symlink is found only so. */
async function isMounted(dir: string): Promise<boolean> {
  return (await mountPoints()).includes(await fs.realpath(dir));
}

/** The mount a volume's options ask for, or undefined for a plain directory. */
function deviceMount(options: Record<string, string>): Mount | undefined {
  const type = options.type;
  const device = options.device;
  if (type === undefined || device === undefined) return undefined;
  const flags = (options.o ?? '').split(',').filter(Boolean);
  // `type=none o=bind`: no filesystem, a bind mount of the device path (as mount(8) reads it).
  const bind = flags.includes('bind') || flags.includes('rbind');
  return { type: bind ? 'bind' : type, source: device, options: flags };
}

function checkUser(user: string): void {
  if (typeof user !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(user)) {
    throw invalidArgument(`invalid volume user ${JSON.stringify(user)}: expected a container ID`);
  }
}

async function isDirectory(file: string): Promise<boolean> {
  return (await fs.stat(file).catch(() => undefined))?.isDirectory() === true;
}
