import { invalidArgument, isNotFound, unlessNotFound } from '@ctr/errors';
import { goParseBool } from '@ctr/image';
import type { EndpointRequest, NetworkInspect } from '@ctr/network';
import type { CreateVolumeOptions, VolumeInfo } from '@ctr/store';
import type { EngineContext } from './context';
import { boolFilter, checkFilterKeys, exactMatch, labelsMatch, patternMatch, PRUNE_FILTERS, pruneMatcher, type Filters } from './filters';
import { volumePluginsModule } from './lazy-modules';
import { checkLocalVolumeName, isPluginDriver } from './volumes-spec';

/** `docker volume ls` / `GET /volumes` options. */
export interface VolumeListOptions {
  /** Docker's: `dangling` (used by no container), `driver`, `label`, `name` (a pattern found in it). */
  filters?: Filters;
}

/** `docker volume prune` / `POST /volumes/prune` options. */
export interface VolumePruneOptions {
  /** Named volumes too, not only anonymous ones (`-a`; the `all=true` filter says the same). */
  all?: boolean;
  /** Docker's: `label`, `label!`, `all`. */
  filters?: Filters;
}

/** `docker network ls` / `GET /networks` options. */
export interface NetworkListOptions {
  /** Docker's: `dangling`, `driver`, `id`, `label`, `name`, `scope`, `type` (`custom` or `builtin`). */
  filters?: Filters;
}

/** `docker network connect` / `POST /networks/{id}/connect` options: the endpoint's aliases, `--ip`, `--ip6`, `--link-local-ip` and links. */
export type NetworkConnectOptions = Pick<EndpointRequest, 'aliases' | 'ip' | 'ip6' | 'linkLocalIps' | 'links'>;

/** What a prune takes that has no options of its own (containers, networks). */
export interface PruneOptions {
  /** Docker's: `label`, `label!`, `until` (a timestamp or a duration back from now). */
  filters?: Filters;
}

const VOLUME_LIST_FILTERS = ['dangling', 'driver', 'label', 'name'] as const;
const VOLUME_PRUNE_FILTERS = ['label', 'label!', 'all'] as const;
const NETWORK_LIST_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;
/** The networks every engine has (dockerd's `IsPredefined`): `type=builtin`, never dangling. */
const BUILTIN_NETWORKS = ['bridge', 'host', 'none'];

/**
 * `docker volume create`: the local driver's volume, or a volume plugin's (`driver`), which
 * is looked up (and its code loaded) only then.
 */
export async function createVolume(ctx: EngineContext, { driver, ...options }: CreateVolumeOptions, signal?: AbortSignal): Promise<VolumeInfo> {
  // A create of a volume that exists answers with it, and says nothing (moby logs only what it made).
  const existed = options.name !== undefined && (await ctx.store.volumes.inspect(options.name).then(() => true, () => false));
  const volume = isPluginDriver(driver)
    ? await volumePluginsModule().createPluginVolume(ctx, driver, options, signal)
    : await ctx.store.volumes.create({ ...options, ...(driver ? { driver } : {}) });
  if (!existed) await ctx.events.emit('volume', 'create', volume.Name, { driver: volume.Driver });
  return volume;
}

/**
 * The volume a container's mount names, made when missing with the mount's labels, options and
 * driver (dockerd's create with a reference). An existing one is used whatever its driver,
 * unless the mount names another: then moby's Conflict (the store's create says it).
 */
export async function volumeForMount(ctx: EngineContext, name: string, create: CreateVolumeOptions = {}): Promise<VolumeInfo> {
  const existing = await ctx.store.volumes.inspect(name).catch(unlessNotFound);
  if (!existing) {
    if (!isPluginDriver(create.driver)) checkLocalVolumeName(name);
    return createVolume(ctx, { ...create, name });
  }
  if (create.driver === undefined || create.driver === existing.Driver) return existing;
  return ctx.store.volumes.create({ name, driver: create.driver });
}

/** `docker volume inspect`: a plugin's volume as its plugin describes it now. */
export async function inspectVolume(ctx: EngineContext, name: string): Promise<VolumeInfo> {
  const info = await ctx.store.volumes.inspect(name);
  return isPluginDriver(info.Driver) ? volumePluginsModule().describePluginVolume(ctx, info) : info;
}

/** What goes with a volume's record: a plugin's volume is the plugin's to remove first. */
function removeData(ctx: EngineContext, options: { force?: boolean } = {}): (volume: VolumeInfo) => Promise<void> {
  return async (volume) => {
    if (isPluginDriver(volume.Driver)) await volumePluginsModule().removeInPlugin(ctx, volume, options);
  };
}

/**
 * Remove volume `name` (the store's `force`: undoing what a failed create made), its plugin's
 * data too (`pluginForce`: one that fails passes), and announce it: moby's store logs a
 * `destroy` for every volume it removes.
 */
async function removeAnnounced(ctx: EngineContext, name: string, force: boolean, pluginForce: boolean): Promise<void> {
  let driver = 'local';
  await ctx.store.volumes.remove(name, {
    force,
    removeData: async (volume) => {
      driver = volume.Driver;
      await removeData(ctx, { force: pluginForce })(volume);
    },
  });
  await ctx.events.emit('volume', 'destroy', name, { driver });
}

/** Remove a volume whatever its driver, as a container's removal (or a failed create) removes its anonymous volumes. */
export async function removeVolumeOf(ctx: EngineContext, name: string, options: { force?: boolean } = {}): Promise<void> {
  await removeAnnounced(ctx, name, options.force ?? false, options.force ?? false);
}

export async function listVolumes(ctx: EngineContext, options: VolumeListOptions = {}): Promise<VolumeInfo[]> {
  const filters = options.filters ?? {};
  checkFilterKeys(filters, VOLUME_LIST_FILTERS);
  const dangling = boolFilter(filters, 'dangling');
  const recorded = await ctx.store.volumes.list(dangling === undefined ? {} : { dangling });
  // Plugins found since are asked too, and their new volumes (unused: dangling) recorded.
  const volumes = await volumePluginsModule().listWithPlugins(ctx, recorded, { adopt: dangling !== false });
  return volumes.filter((v) => exactMatch(filters.driver, v.Driver) && patternMatch(filters.name, v.Name) && labelsMatch(filters, v.Labels));
}

/** dockerd's volume prune `all` filter: one Go boolean. */
function pruneAllFilter(filters: Filters): boolean {
  const values = filters.all ?? [];
  if (values.length > 1) throw invalidArgument(`invalid filter 'all=[${values.join(' ')}]': only one value is expected`);
  const value = values[0];
  if (value === undefined) return false;
  const all = goParseBool(value);
  if (all !== undefined) return all;
  throw invalidArgument(`invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
}

/** Whether a volume prune removes named volumes too, once its filters are found good. */
export function volumePruneAll(options: VolumePruneOptions): boolean {
  const filters = options.filters ?? {};
  checkFilterKeys(filters, VOLUME_PRUNE_FILTERS);
  return pruneAllFilter(filters) || options.all === true;
}

/**
 * `docker volume prune`: unused anonymous volumes (every unused one with `all`) whose labels
 * match, of the local driver and without options (the store's prune says why); as moby's, a
 * `destroy` event for each, then the prune's with the space reclaimed.
 */
export async function pruneVolumes(ctx: EngineContext, options: VolumePruneOptions = {}): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
  const filters = options.filters ?? {};
  const all = volumePruneAll(options);
  const result = await ctx.store.volumes.prune({ all, accept: (volume) => labelsMatch(filters, volume.Labels) });
  for (const name of result.deleted) await ctx.events.emit('volume', 'destroy', name, { driver: 'local' });
  await ctx.events.pruned('volume', result.spaceReclaimed);
  return { VolumesDeleted: result.deleted, SpaceReclaimed: result.spaceReclaimed };
}

/**
 * `docker volume rm`: with `force`, a volume that does not exist is no error (moby's
 * PurgeOnError), and no `destroy` event either, as nothing was destroyed.
 */
export async function removeVolume(ctx: EngineContext, name: string, options: { force?: boolean } = {}): Promise<void> {
  try {
    // `-f` never removes a volume a container uses (moby's store refuses it whatever the force):
    // the store's force is for undoing a volume a failed create made. A plugin that fails
    // to remove it is let pass with `-f` (moby's PurgeOnError).
    await removeAnnounced(ctx, name, false, options.force ?? false);
  } catch (error) {
    if (options.force && isNotFound(error)) return;
    throw error;
  }
}

/** Networks' `dangling`, in the words dockerd's network filter uses (not the generic boolean's). */
function networkDangling(filters: Filters): boolean | undefined {
  const values = filters.dangling;
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) throw invalidArgument('got more than one value for filter key "dangling"');
  if (values[0] === 'true' || values[0] === '1') return true;
  if (values[0] === 'false' || values[0] === '0') return false;
  throw invalidArgument('invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")');
}

export async function listNetworks(ctx: EngineContext, options: NetworkListOptions = {}): Promise<NetworkInspect[]> {
  const filters = options.filters ?? {};
  checkFilterKeys(filters, NETWORK_LIST_FILTERS);
  const dangling = networkDangling(filters);
  for (const type of filters.type ?? []) if (type !== 'builtin' && type !== 'custom') throw invalidArgument(`invalid filter: 'type'='${type}'`);
  const builtin = (n: NetworkInspect): boolean => BUILTIN_NETWORKS.includes(n.Name);
  return (await ctx.network.listNetworks()).filter(
    (n) =>
      exactMatch(filters.driver, n.Driver) &&
      patternMatch(filters.name, n.Name) &&
      patternMatch(filters.id, n.Id) &&
      labelsMatch(filters, n.Labels) &&
      exactMatch(filters.scope, n.Scope) &&
      exactMatch(filters.type, builtin(n) ? 'builtin' : 'custom') &&
      (dangling === undefined || dangling === (!builtin(n) && Object.keys(n.Containers).length === 0)),
  );
}

/**
 * `docker network prune`: user networks no container is connected to, whose labels and
 * creation match; as moby's, a `destroy` event for each, then the prune's (nothing reclaimed).
 */
export async function pruneNetworks(ctx: EngineContext, options: PruneOptions = {}): Promise<{ NetworksDeleted: string[] }> {
  const wanted = pruneMatcher(options.filters ?? {}, PRUNE_FILTERS);
  const accepted = new Map<string, NetworkInspect>();
  const result = await ctx.network.prune({
    accept: (network) => {
      accepted.set(network.Name, network);
      return wanted(network.Labels, network.Created);
    },
  });
  for (const name of result.NetworksDeleted) {
    const network = accepted.get(name);
    if (network) await ctx.events.emit('network', 'destroy', network.Id, { name: network.Name, type: network.Driver });
  }
  await ctx.events.pruned('network', 0);
  return result;
}
