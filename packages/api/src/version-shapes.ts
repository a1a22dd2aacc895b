import type { ContainerInspect, Engine } from '@ctr/engine';
import { versionBefore, type ApiVersion } from './api-version';

type NetworkInspect = Awaited<ReturnType<Engine['inspectNetwork']>>;

/** moby's `NetworkMode.IsUserDefined` for a key of `NetworkSettings.Networks`: neither a predefined network nor another container's. */
function userDefined(network: string): boolean {
  return !['default', 'bridge', 'host', 'none'].includes(network) && !network.startsWith('container:');
}

/**
 * A container's inspect as a client of `version` knows it, as moby's getContainersByName
 * shapes it: before API 1.45 an endpoint on a user network lists the container's short ID
 * and hostname among its aliases (dockerd kept them there until then). docker-compose 1.29
 * looks for the short ID, and disconnects and reconnects (losing its `mac_address:`) an
 * endpoint without it.
 */
export function containerInspectFor(version: ApiVersion, inspect: ContainerInspect): ContainerInspect {
  if (!versionBefore(version, '1.45')) return inspect;
  const extra = [inspect.Id.slice(0, 12), inspect.Config.Hostname].filter((name) => name !== '');
  const networks = Object.fromEntries(
    Object.entries(inspect.NetworkSettings.Networks).map(([name, endpoint]) => [
      name,
      userDefined(name) ? { ...endpoint, Aliases: [...new Set([...endpoint.Aliases, ...extra])] } : endpoint,
    ]),
  );
  return { ...inspect, NetworkSettings: { ...inspect.NetworkSettings, Networks: networks } };
}

/** A network's inspect (or list entry) as a client of `version` knows it: `EnableIPv4` came with API 1.47. */
export function networkFor(version: ApiVersion, network: NetworkInspect): NetworkInspect | Omit<NetworkInspect, 'EnableIPv4'> {
  if (!versionBefore(version, '1.47')) return network;
  const { EnableIPv4: _new, ...older } = network;
  return older;
}
