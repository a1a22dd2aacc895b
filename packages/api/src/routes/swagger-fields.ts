import type { ContainerInspect, ContainerSummary, EngineInfo } from '@ctr/engine';
import type { ContainerInspectResponse, ContainerSummaryResponse, EndpointResponse, EngineInfoResponse, NetworkResponse } from '../api-types';

/**
 * The fields of moby's API types (1.47) that Go marshals whatever they hold, for which the
 * engine has nothing to say: Go writes their zero value, so a client reading dockerd's answer
 * finds them there (docker's templates, dockerode's and docker-py's lookups), and finds them here.
 */

/** `Resources` of a HostConfig that ctr never sets: device requests, Windows' limits (but `CpuCount`, which the engine keeps). */
const UNSET_RESOURCES = {
  DeviceRequests: null,
  CpuPercent: 0,
  IOMaximumIOps: 0,
  IOMaximumBandwidth: 0,
} as const;

/** An endpoint as moby's EndpointSettings marshals it: `DriverOpts` (nil for a bridge endpoint) is always there. */
function endpoint<T extends object>(settings: T): T & EndpointResponse {
  return { ...settings, DriverOpts: null };
}

function endpoints<T extends object>(networks: Record<string, T>): Record<string, T & EndpointResponse> {
  return Object.fromEntries(Object.entries(networks).map(([name, settings]) => [name, endpoint(settings)]));
}

/**
 * A container's inspect with every field moby's InspectResponse writes: the resources ctr
 * never sets, `SecondaryIPAddresses` (deprecated, never set, still sent before API 1.52), each
 * endpoint's `DriverOpts`; and `HostConfig.Init` left out while unset (moby's `*bool` is omitempty).
 */
export function containerInspectFields(inspect: ContainerInspect): ContainerInspectResponse {
  const { Init, ...hostConfig } = inspect.HostConfig;
  // Where moby's NetworkSettingsBase has them, after LinkLocalIPv6PrefixLen: the engine keeps moby's field order.
  const networkSettings = Object.entries({ ...inspect.NetworkSettings, Networks: endpoints(inspect.NetworkSettings.Networks) }).flatMap(([key, value]) =>
    key === 'LinkLocalIPv6PrefixLen' ? [[key, value], ['SecondaryIPAddresses', null], ['SecondaryIPv6Addresses', null]] : [[key, value]],
  );
  return {
    ...inspect,
    HostConfig: { ...hostConfig, ...UNSET_RESOURCES, ...(Init === null ? {} : { Init }) },
    NetworkSettings: Object.fromEntries(networkSettings) as ContainerInspectResponse['NetworkSettings'],
  };
}

/** A `GET /containers/json` entry, its endpoints as moby's EndpointSettings marshal them. */
export function containerSummaryFields(summary: ContainerSummary): ContainerSummaryResponse {
  return { ...summary, NetworkSettings: { Networks: endpoints(summary.NetworkSettings.Networks) } };
}

/**
 * A network as moby's network.Inspect marshals it, in its field order (the engine's). A list
 * (`detailed` false) shows no containers: dockerd fills them only for inspect (or a client
 * before API 1.28).
 */
export function networkFields<T extends { Containers: object } & NetworkResponse>(network: T, detailed: boolean): T {
  return { ...network, ...(detailed ? {} : { Containers: {} }) };
}

/**
 * `GET /info` with the netfilter fields dockerd 28 still sends at API 1.47 (deprecated, always
 * false: it loads br_netfilter when a bridge needs it, as ctr does not rely on it at all).
 */
export function infoFields(info: EngineInfo): EngineInfoResponse {
  // After IPv4Forwarding, where dockerd writes them: the engine keeps dockerd's field order.
  const entries = Object.entries(info).flatMap(([key, value]) =>
    key === 'IPv4Forwarding' ? [[key, value], ['BridgeNfIptables', false], ['BridgeNfIp6tables', false]] : [[key, value]],
  );
  return Object.fromEntries(entries) as EngineInfoResponse;
}
