import { parseCidr } from './ipv4';
import { parseCidr6 } from './ipv6';
import { auxOfFamily } from './create-options';
import { portKey } from './port-spec';
import { isAllocated, type EndpointConfig, type EndpointState, type NetworkState, type SandboxState } from './state';
import type { EndpointLink, EndpointSettings, NetworkInspect, NetworkSettings, PortMap } from './types';

/** Inspect's `Links` of an endpoint: `name:alias` each, null when there are none. */
function linksShown(links: EndpointLink[] | undefined): string[] | null {
  return links?.length ? links.map((l) => `${l.name}:${l.alias}`) : null;
}

/**
 * moby's buildEndpointDNSNames: the names the embedded DNS answers for a container on a user
 * network (dns-daemon.ts holders), in dockerd's order, each once; null on the default bridge.
 */
function dnsNames(userNetwork: boolean, sandbox: SandboxState, aliases: string[]): string[] | null {
  if (!userNetwork) return null;
  return [...new Set([sandbox.name, ...aliases, sandbox.containerId.slice(0, 12), sandbox.hostname].filter((name) => name !== ''))];
}

/** Inspect's `IPAMConfig`: the addresses asked for, null when none was (dockerd's omitempty fields). */
function ipamConfig(ip: string | undefined, ip6: string | undefined, linkLocal: string[] = []): EndpointSettings['IPAMConfig'] {
  if (ip === undefined && ip6 === undefined && linkLocal.length === 0) return null;
  return { ...(ip !== undefined ? { IPv4Address: ip } : {}), ...(ip6 !== undefined ? { IPv6Address: ip6 } : {}), ...(linkLocal.length > 0 ? { LinkLocalIPs: [...linkLocal] } : {}) };
}

function prefix6(net: NetworkState): number {
  return net.ipv6 ? parseCidr6(net.ipv6.subnet).prefix : 0;
}

function endpointSettings(net: NetworkState, ep: EndpointState, sandbox: SandboxState): EndpointSettings {
  const v6 = ep.ip6 !== undefined && net.ipv6 !== undefined;
  return {
    IPAMConfig: ipamConfig(ep.staticIp ? ep.ip : undefined, ep.staticIp6 ? ep.ip6 : undefined, ep.linkLocalIps),
    Links: linksShown(ep.links),
    Aliases: ep.aliases,
    DNSNames: dnsNames(!net.isDefault, sandbox, ep.aliases),
    MacAddress: ep.mac,
    NetworkID: net.id,
    EndpointID: ep.endpointId,
    Gateway: net.gateway,
    IPAddress: ep.ip,
    IPPrefixLen: parseCidr(net.subnet).prefix,
    IPv6Gateway: v6 ? (net.ipv6?.gateway ?? '') : '',
    GlobalIPv6Address: v6 ? (ep.ip6 ?? '') : '',
    GlobalIPv6PrefixLen: v6 ? prefix6(net) : 0,
  };
}

function emptyEndpoint(networkId: string): EndpointSettings {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: [],
    DNSNames: null,
    MacAddress: '',
    NetworkID: networkId,
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
  };
}

function portMap(sandbox: SandboxState): PortMap {
  const ports: PortMap = {};
  for (const key of sandbox.exposedPorts) ports[key] = null;
  for (const p of sandbox.ports) {
    const key = portKey(p.containerPort, p.protocol);
    ports[key] = [...(ports[key] ?? []), { HostIp: p.hostIp, HostPort: String(p.hostPort) }];
  }
  return ports;
}

/** A connection's settings while its sandbox is not allocated: dockerd's after releaseNetwork (no address, no endpoint). */
function releasedEndpoint(config: EndpointConfig, net: NetworkState | undefined, sandbox: SandboxState): EndpointSettings {
  return {
    ...emptyEndpoint(net?.id ?? config.networkId),
    IPAMConfig: ipamConfig(config.ip, config.ip6, config.linkLocalIps),
    Links: linksShown(config.links),
    Aliases: [...config.aliases],
    DNSNames: dnsNames(net ? !net.isDefault : config.networkName !== 'bridge', sandbox, config.aliases),
  };
}

/** `docker inspect`'s NetworkSettings for a sandbox. `predefinedIds` names host/none. */
/** A `host` or `none` container's settings: docker lists it on that network, with no address. */
export function predefinedNetworkSettings(mode: 'host' | 'none', networkId: string): NetworkSettings {
  return { SandboxKey: '', Ports: {}, IPAddress: '', IPPrefixLen: 0, Gateway: '', MacAddress: '', Networks: { [mode]: emptyEndpoint(networkId) } };
}

export function networkSettings(sandbox: SandboxState, nets: Map<string, NetworkState>, predefinedIds: Record<'host' | 'none', string>): NetworkSettings {
  const allocated = isAllocated(sandbox);
  const settings: NetworkSettings = {
    SandboxKey: allocated ? (sandbox.netnsPath ?? '') : '',
    Ports: allocated ? portMap(sandbox) : {},
    IPAddress: '',
    IPPrefixLen: 0,
    Gateway: '',
    MacAddress: '',
    Networks: {},
  };
  if (sandbox.mode === 'host' || sandbox.mode === 'none') {
    if (!sandbox.offHost) settings.Networks[sandbox.mode] = emptyEndpoint(predefinedIds[sandbox.mode]);
    return settings;
  }
  const connections = sandbox.wanted ?? sandbox.networkIds.map((networkId): EndpointConfig => ({ networkId, networkName: networkId, aliases: [] }));
  for (const config of connections) {
    const net = nets.get(config.networkId);
    const ep = net && sandbox.networkIds.includes(net.id) ? net.endpoints[sandbox.containerId] : undefined;
    if (!net || !ep) {
      if (sandbox.wanted) settings.Networks[net?.name ?? config.networkName] = releasedEndpoint(config, net, sandbox);
      continue;
    }
    const es = endpointSettings(net, ep, sandbox);
    settings.Networks[net.name] = es;
    if (net.isDefault) {
      settings.IPAddress = es.IPAddress;
      settings.IPPrefixLen = es.IPPrefixLen;
      settings.Gateway = es.Gateway;
      settings.MacAddress = es.MacAddress;
    }
  }
  return settings;
}

/** `docker network inspect` for a bridge network. */
/** What docker's overlay driver shows of a network's VXLAN ID among its options. */
export const VXLAN_ID_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';

export function inspectBridge(net: NetworkState): NetworkInspect {
  const prefix = parseCidr(net.subnet).prefix;
  const containers: NetworkInspect['Containers'] = {};
  for (const ep of Object.values(net.endpoints)) {
    containers[ep.containerId] = {
      Name: ep.containerName,
      EndpointID: ep.endpointId,
      MacAddress: ep.mac,
      IPv4Address: `${ep.ip}/${prefix}`,
      IPv6Address: ep.ip6 ? `${ep.ip6}/${prefix6(net)}` : '',
    };
  }
  // A user network shows the options it was given, as docker's does (docker-compose compares
  // them with its file's and recreates a network whose options differ); the default bridge, the
  // ones docker shows for docker0.
  const options: Record<string, string> = net.isDefault
    ? { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': net.bridge, 'com.docker.network.driver.mtu': String(net.mtu) }
    : { ...(net.options ?? {}), ...(net.overlay ? { [VXLAN_ID_OPTION]: String(net.overlay.vni) } : {}) };
  return {
    Name: net.name,
    Id: net.id,
    Created: net.created,
    Scope: net.scope ?? 'local',
    Driver: net.driver ?? (net.scope === 'swarm' ? 'overlay' : 'bridge'),
    EnableIPv4: true,
    EnableIPv6: net.ipv6 !== undefined,
    IPAM: {
      Driver: net.ipam?.driver ?? 'default',
      Options: { ...(net.ipamOptions ?? {}) },
      Config: [
        { Subnet: net.subnet, Gateway: net.gateway, ...(net.ipRange ? { IPRange: net.ipRange } : {}), ...auxOfFamily(net.auxAddresses, 4) },
        ...(net.ipv6 ? [{ Subnet: net.ipv6.subnet, Gateway: net.ipv6.gateway, ...(net.ipv6.ipRange ? { IPRange: net.ipv6.ipRange } : {}), ...auxOfFamily(net.auxAddresses, 6) }] : []),
      ],
    },
    Internal: net.internal,
    Attachable: net.attachable === true,
    Ingress: net.ingress === true,
    ConfigFrom: { Network: net.configFrom ?? '' },
    ConfigOnly: false,
    Containers: containers,
    Options: options,
    Labels: net.labels,
  };
}

/** `host` and `none`: nothing to make, listed like Docker lists them. */
export function inspectPredefined(name: 'host' | 'none', id: string, created: string): NetworkInspect {
  return {
    Name: name,
    Id: id,
    Created: created,
    Scope: 'local',
    Driver: name === 'host' ? 'host' : 'null',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
  };
}
