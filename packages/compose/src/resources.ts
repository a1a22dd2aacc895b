import { CtrError, isNotFound, notFound } from '@ctr/errors';
import type { ComposeOptions, ComposeProgress } from './compose';
import { networksByPriority } from './convert';
import { COMPOSE_VERSION, LABEL, type ComposeEngine } from './labels';
import type { ComposeProject, NetworkConfig, VolumeConfig } from './model';

type NetworkCreateOptions = Parameters<ComposeEngine['createNetwork']>[0];

/** Report one step, when someone listens. */
export function report(options: ComposeOptions, resource: ComposeProgress['resource'], name: string, status: string, done: boolean, detail?: string): void {
  options.onProgress?.({ resource, name, status, done, ...(detail !== undefined ? { detail } : {}) });
}

/** The signal, progress listener and parallelism of a verb's options, handed on to the verb it runs within. */
export function progressOf(options: ComposeOptions): ComposeOptions {
  return {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.parallel !== undefined ? { parallel: options.parallel } : {}),
  };
}

/** The project's networks and volumes (by key) these services use. */
export function usedResources(project: ComposeProject, services: readonly string[]): { networks: string[]; volumes: string[] } {
  const networks = new Set<string>();
  const volumes = new Set<string>();
  for (const name of services) {
    const service = project.services[name];
    if (!service) continue;
    if (service.network_mode === undefined) for (const key of networksByPriority(service)) networks.add(key);
    for (const volume of service.volumes) if (volume.type === 'volume' && volume.source !== undefined && project.volumes[volume.source]) volumes.add(volume.source);
  }
  return { networks: [...networks], volumes: [...volumes] };
}

/**
 * What compose's ensureNetworks and ensureProjectVolumes do before containers are made: the
 * project's networks and volumes these services use exist, made with compose's labels when
 * missing; an external one must already be there. A same-named one compose did not make (or
 * made for another project) is used, with compose's warning.
 */
export async function ensureNetworksAndVolumes(engine: ComposeEngine, project: ComposeProject, services: readonly string[], options: ComposeOptions = {}): Promise<void> {
  const used = usedResources(project, services);
  for (const key of used.networks) {
    options.signal?.throwIfAborted();
    const network = project.networks[key];
    if (!network) throw new CtrError('InvalidArgument', `service refers to undefined network ${key}: invalid compose project`);
    await ensureNetwork(engine, project, key, network, options);
  }
  for (const key of used.volumes) {
    options.signal?.throwIfAborted();
    await ensureVolume(engine, project, key, project.volumes[key]!, options);
  }
}

async function findNetwork(engine: ComposeEngine, name: string): Promise<{ Id: string; Name: string; Labels: Record<string, string> } | undefined> {
  // Listed by name and matched exactly: an inspect would also take an ID prefix (`db` for `db9086…`).
  const found = await engine.networks({ filters: { name: [name] } });
  return found.find((n) => n.Name === name) ?? found.find((n) => n.Id === name);
}

async function ensureNetwork(engine: ComposeEngine, project: ComposeProject, key: string, network: NetworkConfig, options: ComposeOptions): Promise<void> {
  const existing = await findNetwork(engine, network.name);
  if (network.external) {
    if (!existing) throw notFound(`network ${network.name} declared as external, but could not be found`);
    return;
  }
  if (existing) {
    const owner = existing.Labels[LABEL.project];
    if (owner === undefined) {
      report(options, 'Network', network.name, 'Warning', true, `a network with name ${network.name} exists but was not created by compose.\nSet \`external: true\` to use an existing network`);
    } else if (owner !== project.name) {
      report(options, 'Network', network.name, 'Warning', true, `a network with name ${network.name} exists but was not created for project "${project.name}".\nSet \`external: true\` to use an existing network`);
    }
    if (owner !== undefined && existing.Labels[LABEL.network] !== key) {
      throw new CtrError('Conflict', `network ${network.name} was found but has incorrect label ${LABEL.network} set to "${existing.Labels[LABEL.network] ?? ''}" (expected: "${key}")`);
    }
    return;
  }
  report(options, 'Network', network.name, 'Creating', false);
  try {
    await engine.createNetwork(networkCreateOptions(project, key, network, options.signal));
  } catch (error) {
    report(options, 'Network', network.name, 'Error', true);
    throw new CtrError(isCtrCode(error), `failed to create network ${network.name}: ${(error as Error).message}`, { cause: error });
  }
  report(options, 'Network', network.name, 'Created', true);
}

function isCtrCode(error: unknown): CtrError['code'] {
  return error instanceof CtrError ? error.code : 'Internal';
}

/** A compose network as the engine's create takes it: IPAM pools split by family, compose's labels over the network's own. */
function networkCreateOptions(project: ComposeProject, key: string, network: NetworkConfig, signal: AbortSignal | undefined): NetworkCreateOptions {
  const pools = network.ipam?.config ?? [];
  const v4 = pools.find((p) => p.subnet !== undefined && !p.subnet.includes(':'));
  const v6 = pools.find((p) => p.subnet?.includes(':'));
  const aux = Object.assign({}, ...pools.map((p) => p.aux_addresses ?? {})) as Record<string, string>;
  const fields: Partial<NetworkCreateOptions> = {
    driver: network.driver,
    subnet: v4?.subnet,
    gateway: v4?.gateway,
    ipRange: v4?.ip_range,
    subnet6: v6?.subnet,
    gateway6: v6?.gateway,
    ipRange6: v6?.ip_range,
    ipv6: network.enable_ipv6 || v6 !== undefined ? true : undefined,
    internal: network.internal,
    attachable: network.attachable,
    ipamDriver: network.ipam?.driver,
    ipamOptions: network.ipam?.options,
    auxAddresses: Object.keys(aux).length > 0 ? aux : undefined,
    options: Object.keys(network.driver_opts).length > 0 ? network.driver_opts : undefined,
    signal,
  };
  return {
    ...(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<NetworkCreateOptions>),
    name: network.name,
    labels: { ...network.labels, [LABEL.network]: key, [LABEL.project]: project.name, [LABEL.version]: COMPOSE_VERSION },
  };
}

async function ensureVolume(engine: ComposeEngine, project: ComposeProject, key: string, volume: VolumeConfig, options: ComposeOptions): Promise<void> {
  let labels: Record<string, string>;
  try {
    labels = (await engine.inspectVolume(volume.name)).Labels;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (volume.external) throw notFound(`external volume "${volume.name}" not found`);
    // compose quotes a volume's name in its progress lines: `Volume "app_data"  Created`.
    const shown = JSON.stringify(volume.name);
    report(options, 'Volume', shown, 'Creating', false);
    try {
      await engine.createVolume({
        name: volume.name,
        ...(volume.driver ? { driver: volume.driver } : {}),
        ...(Object.keys(volume.driver_opts).length > 0 ? { options: volume.driver_opts } : {}),
        labels: { ...volume.labels, [LABEL.volume]: key, [LABEL.project]: project.name, [LABEL.version]: COMPOSE_VERSION },
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (failure) {
      report(options, 'Volume', shown, 'Error', true);
      throw failure;
    }
    report(options, 'Volume', shown, 'Created', true);
    return;
  }
  if (volume.external) return;
  const owner = labels[LABEL.project];
  if (owner === undefined) {
    report(options, 'Volume', volume.name, 'Warning', true, `volume "${volume.name}" already exists but was not created by Docker Compose. Use \`external: true\` to use an existing volume`);
  } else if (owner !== project.name) {
    report(options, 'Volume', volume.name, 'Warning', true, `volume "${volume.name}" already exists but was created for project "${owner}" (expected "${project.name}"). Use \`external: true\` to use an existing volume`);
  }
}
