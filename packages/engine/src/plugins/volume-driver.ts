import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CtrError, isCtrError } from '@ctr/errors';
import { goRfc3339 } from '@ctr/image';
import type { CreateVolumeOptions, VolumeInfo } from '@ctr/store';
import { ContainerRecords } from '../container-records';
import type { EngineContext } from '../context';
import { isPluginDriver } from '../volumes-spec';
import type { PluginClient } from './client';
import type { PluginEndpoint } from './source';

/** Docker's capability name for volume plugins. */
export const VOLUME_DRIVER = 'VolumeDriver';

/** A volume as a plugin's Get and List describe it. */
interface PluginVolume {
  Name?: string;
  Mountpoint?: string;
  CreatedAt?: string;
  Status?: Record<string, unknown>;
}

/** The same failure with docker's `op name: ` in front (moby's volume OpErr). */
export function withOp(error: unknown, prefix: string): unknown {
  if (!isCtrError(error)) return error;
  return new CtrError(error.code, `${prefix}: ${error.message}`, { ...(error.hint ? { hint: error.hint } : {}), cause: error, details: error.details });
}

/**
 * The host path of a path a plugin gives (a volume's Mountpoint), as moby's ScopedPath maps it: a
 * legacy plugin runs on the host, so its path is the host's; a managed one's is inside its
 * rootfs, and one under its PropagatedMount is in that mount's host side
 * (`<plugin dir>/propagated-mount`), where what the plugin mounts is seen. Made absolute first
 * (moby's CleanScopedPath): a `..` leads nowhere above the plugin's root. Empty stays empty.
 */
export function scopedPath(paths: PluginEndpoint['paths'], mountpoint: string): string {
  if (!paths || mountpoint === '') return mountpoint;
  const clean = path.posix.join('/', mountpoint);
  const propagated = paths.propagatedMount === '' ? '' : path.posix.join('/', paths.propagatedMount);
  // Whole components only, where moby's HasPrefix would also take `/data2` for `/data`.
  if (propagated !== '' && (clean === propagated || clean.startsWith(`${propagated}/`))) return path.join(paths.propagatedRoot, clean.slice(propagated.length));
  return path.join(paths.rootfs, clean);
}

/** One volume plugin's VolumeDriver protocol (moby's volume/drivers proxy). */
export class VolumeDriverProxy {
  constructor(
    readonly name: string,
    private readonly client: PluginClient,
    /** A managed plugin's paths: its answers' Mountpoints are mapped to the host's through them. */
    private readonly paths?: PluginEndpoint['paths'],
  ) {}

  /** Where the plugin was reached: what a later Unmount goes to, whoever makes it. */
  get address(): string {
    return this.client.address;
  }

  async create(volume: string, opts: Record<string, string>, signal?: AbortSignal): Promise<void> {
    await this.client.call('VolumeDriver.Create', { Name: volume, Opts: opts }, signal);
  }

  async remove(volume: string, signal?: AbortSignal): Promise<void> {
    await this.client.call('VolumeDriver.Remove', { Name: volume }, signal);
  }

  /** The host path the plugin made the volume available at, for container `id`. */
  async mount(volume: string, id: string, signal?: AbortSignal): Promise<string> {
    return this.scoped((await this.client.call<{ Mountpoint?: string }>('VolumeDriver.Mount', { Name: volume, ID: id }, signal)).Mountpoint ?? '');
  }

  async unmount(volume: string, id: string, signal?: AbortSignal): Promise<void> {
    await this.client.call('VolumeDriver.Unmount', { Name: volume, ID: id }, signal);
  }

  async path(volume: string, signal?: AbortSignal): Promise<string> {
    return this.scoped((await this.client.call<{ Mountpoint?: string }>('VolumeDriver.Path', { Name: volume }, signal)).Mountpoint ?? '');
  }

  async get(volume: string, signal?: AbortSignal): Promise<PluginVolume> {
    return this.scopedVolume((await this.client.call<{ Volume?: PluginVolume }>('VolumeDriver.Get', { Name: volume }, signal)).Volume ?? {});
  }

  async list(signal?: AbortSignal): Promise<PluginVolume[]> {
    return ((await this.client.call<{ Volumes?: PluginVolume[] | null }>('VolumeDriver.List', {}, signal)).Volumes ?? []).map((v) => this.scopedVolume(v));
  }

  private scoped(mountpoint: string): string {
    return scopedPath(this.paths, mountpoint);
  }

  private scopedVolume(volume: PluginVolume): PluginVolume {
    return volume.Mountpoint ? { ...volume, Mountpoint: this.scoped(volume.Mountpoint) } : volume;
  }

  /** `local` unless the plugin says `global`; a plugin without Capabilities is local, as moby has it. */
  async scope(signal?: AbortSignal): Promise<'local' | 'global'> {
    const answer = await this.client.call<{ Capabilities?: { Scope?: string } }>('VolumeDriver.Capabilities', {}, signal).catch((): { Capabilities?: { Scope?: string } } => ({}));
    return answer.Capabilities?.Scope?.toLowerCase() === 'global' ? 'global' : 'local';
  }
}

/** The volume plugin `name`, refused in moby's words: `error looking up volume plugin X: plugin "X" not found`. */
export async function volumeDriver(ctx: EngineContext, name: string, signal?: AbortSignal): Promise<VolumeDriverProxy> {
  const plugins = ctx.plugins();
  try {
    const endpoint = await plugins.get(name, VOLUME_DRIVER, signal);
    return new VolumeDriverProxy(name, plugins.client(endpoint), endpoint.paths);
  } catch (error) {
    throw withOp(error, `error looking up volume plugin ${name}`);
  }
}

/**
 * What a new container records as its plugin volume's Source (moby's registerMountPoints takes
 * the volume's Path): '' when the plugin cannot say, as dockerd's adapter gives then.
 */
export async function pluginVolumePath(ctx: EngineContext, driver: string, name: string, signal?: AbortSignal): Promise<string> {
  try {
    return await (await volumeDriver(ctx, driver, signal)).path(name, signal);
  } catch {
    return '';
  }
}

/**
 * Record in container `id`'s record the host path its `index`th mount's plugin gave at a Mount,
 * as dockerd sets the mount point's Source: what inspect and ps show from then on. A container
 * without a record (gone meanwhile) has nothing to record.
 */
export async function recordPluginSource(ctx: EngineContext, id: string, index: number, source: string): Promise<void> {
  const records = new ContainerRecords(ctx.root);
  const record = await records.read(id).catch(() => undefined);
  const mount = record?.mounts[index];
  if (!record || mount?.driver === undefined || mount.pluginSource === source) return;
  await records.write({ ...record, mounts: record.mounts.map((m, i) => (i === index ? { ...m, pluginSource: source } : m)) });
}

/**
 * `docker volume create -d PLUGIN`: the plugin's Create, and the volume recorded with its
 * driver and the scope its Capabilities give. A name another driver has is a Conflict; one
 * this plugin has already is the volume as it is (docker's create is idempotent).
 */
export async function createPluginVolume(ctx: EngineContext, driver: string, options: CreateVolumeOptions, signal?: AbortSignal): Promise<VolumeInfo> {
  const name = options.name ?? randomBytes(32).toString('hex');
  const failed = (error: unknown): never => {
    throw withOp(error, `create ${name}`);
  };
  const proxy = await volumeDriver(ctx, driver, signal).catch(failed);
  const scope = await proxy.scope(signal);
  const create = (): Promise<void> => proxy.create(name, options.options ?? {}, signal).catch(failed);
  // The store's own refusal (a name another driver has) names its operation already.
  return ctx.store.volumes.create({ ...options, name, driver }, { name: driver, scope, create });
}

/** The record of a plugin's volume as the plugin describes it now: Mountpoint, Status, creation time. */
export async function describePluginVolume(ctx: EngineContext, info: VolumeInfo, signal?: AbortSignal): Promise<VolumeInfo> {
  try {
    const proxy = await volumeDriver(ctx, info.Driver, signal);
    const found = await proxy.get(info.Name, signal);
    const mountpoint = found.Mountpoint || (await proxy.path(info.Name, signal).catch(() => ''));
    return described(info, { ...found, Mountpoint: mountpoint });
  } catch (error) {
    throw withOp(error, `get ${info.Name}`);
  }
}

function described(info: VolumeInfo, found: PluginVolume): VolumeInfo {
  const when = found.CreatedAt ? new Date(found.CreatedAt) : undefined;
  // As docker's inspect formats a plugin's time (RFC 3339, whole seconds); none given, the record's.
  const created = when && !Number.isNaN(when.getTime()) ? goRfc3339(when) : info.CreatedAt;
  const status = found.Status && Object.keys(found.Status).length > 0 ? { Status: found.Status } : {};
  return { ...info, CreatedAt: created, Mountpoint: found.Mountpoint ?? '', ...status };
}

/**
 * `volume ls` with plugins, as moby lists: every volume plugin is asked for its volumes. A
 * volume a plugin has that the store does not know is recorded (so inspect, rm and containers
 * find it); a recorded one is shown with what its plugin says. A plugin that does not answer
 * leaves its recorded volumes as recorded, and the list is not failed for it.
 */
export async function listWithPlugins(ctx: EngineContext, recorded: VolumeInfo[], options: { adopt: boolean; signal?: AbortSignal }): Promise<VolumeInfo[]> {
  const { signal } = options;
  const plugins = ctx.plugins();
  const drivers = new Set(recorded.filter((v) => isPluginDriver(v.Driver)).map((v) => v.Driver));
  for (const endpoint of await plugins.all(VOLUME_DRIVER, signal).catch(() => [])) drivers.add(endpoint.name);
  const seen = new Map<string, PluginVolume>();
  const out = [...recorded];
  for (const driver of drivers) {
    const proxy = await volumeDriver(ctx, driver, signal).catch(() => undefined);
    const listed = proxy ? await proxy.list(signal).catch(() => undefined) : undefined;
    if (!proxy || !listed) continue;
    const scope = await proxy.scope(signal);
    for (const volume of listed) {
      if (!volume.Name) continue;
      seen.set(`${driver}\0${volume.Name}`, volume);
      if (!options.adopt || recorded.some((v) => v.Name === volume.Name)) continue;
      // Recorded but filtered out of `recorded` (a used one, under `dangling=true`): not new.
      if (await ctx.store.volumes.inspect(volume.Name).then(() => true, () => false)) continue;
      const adopted = await ctx.store.volumes.create({ name: volume.Name, driver }, { name: driver, scope, create: async () => undefined }).catch((error: unknown) => {
        // Another driver's name (or one no volume may have): left out, as moby leaves a conflict.
        if (isCtrError(error)) return undefined;
        throw error;
      });
      if (adopted) out.push(adopted);
    }
  }
  return out.map((v) => {
    const found = seen.get(`${v.Driver}\0${v.Name}`);
    return found ? described(v, found) : v;
  });
}

/**
 * The plugin's Remove of `volume`, in moby's words; nothing for a local volume. With `force` a
 * Remove that fails is let pass, and the record goes all the same (moby's PurgeOnError): the
 * way out for a volume whose plugin is gone.
 */
export async function removeInPlugin(ctx: EngineContext, volume: VolumeInfo, options: { force?: boolean; signal?: AbortSignal } = {}): Promise<void> {
  if (!isPluginDriver(volume.Driver)) return;
  try {
    const proxy = await volumeDriver(ctx, volume.Driver, options.signal);
    await proxy.remove(volume.Name, options.signal);
  } catch (error) {
    if (options.force) return;
    throw withOp(error, `remove ${volume.Name}`);
  }
}
