import { CtrError, invalidArgument, notFound } from '@ctr/errors';
import { nowRfc3339Nano } from '@ctr/image';
import { isIPv4 } from 'node:net';
import { contains, ipToInt, parseCidr } from './ipv4';
import { canonicalIp6, contains6, ip6ToBig, parseCidr6 } from './ipv6';
import type { ConfigNetworkState } from './state';
import type { NetworkCreateOptions, NetworkInspect } from './types';

/** dockerd's answer to a swarm-scoped request on a node that is in no swarm. */
const NOT_A_SWARM_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

/**
 * Refuses the `network create` options no ctr network can have, in dockerd's words: swarm's
 * scope and ingress, and a network without IPv4 (docker 28 makes IPv6-only bridges; ctr's
 * containers always have an IPv4 address). An IPAM driver other than `default` is the manager's
 * to look up.
 */
export function checkCreateFlags(options: NetworkCreateOptions): void {
  if (!options.swarm && (options.ingress || options.scope === 'swarm' || options.driver === 'overlay')) throw new CtrError('Unavailable', NOT_A_SWARM_MANAGER, { hint: 'run "ctr swarm init" first, or create a local network' });
  if (options.scope !== undefined && options.scope !== '' && options.scope !== 'local' && !(options.swarm && options.scope === 'swarm')) {
    throw invalidArgument(`invalid scope "${options.scope}": a bridge network's scope is local`, { hint: 'leave --scope out, or give local' });
  }
  if (options.ipv4 === false) {
    if (!options.ipv6) throw invalidArgument('IPv4 or IPv6 must be enabled');
    throw new CtrError('Unsupported', 'IPv4 cannot be disabled on this network', { hint: "ctr's bridge networks always give containers an IPv4 address: leave --ipv4 out" });
  }
}

/**
 * Checks `--aux-address` values against the network's subnets, as docker's CLI matches each
 * to a subnet; returns them canonical (IPv6 in RFC 5952 text, as the IPAM compares addresses).
 */
export function checkAuxAddresses(aux: Record<string, string> | undefined, subnet: string, subnet6?: string): Record<string, string> | undefined {
  if (!aux || Object.keys(aux).length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const [name, ip] of Object.entries(aux)) {
    const inSubnet = isIPv4(ip) ? contains(parseCidr(subnet), ipToInt(ip)) : !!subnet6 && isIPv6Text(ip) && contains6(parseCidr6(subnet6), ip6ToBig(ip));
    if (!inSubnet) throw invalidArgument(`no matching subnet for aux-address ${ip}`, { hint: `the network's subnets: ${[subnet, subnet6].filter(Boolean).join(', ')}` });
    out[name] = isIPv4(ip) ? ip : canonicalIp6(ip);
  }
  return out;
}

function isIPv6Text(ip: string): boolean {
  try {
    ip6ToBig(ip);
    return true;
  } catch {
    return false;
  }
}

/** The reserved addresses of one family, for its IPAM config in inspect (absent when none, as dockerd omits it). */
export function auxOfFamily(aux: Record<string, string> | undefined, family: 4 | 6): { AuxiliaryAddresses?: Record<string, string> } {
  const mine = Object.entries(aux ?? {}).filter(([, ip]) => ip.includes(':') === (family === 6));
  return mine.length > 0 ? { AuxiliaryAddresses: Object.fromEntries(mine) } : {};
}

/** What a new config-only network records of its options: the ones `--config-from` hands on. */
export function configRecord(id: string, options: NetworkCreateOptions): ConfigNetworkState {
  if (options.subnet !== undefined) parseCidr(options.subnet);
  if (options.subnet6 !== undefined) parseCidr6(options.subnet6);
  if (options.auxAddresses && Object.keys(options.auxAddresses).length > 0) {
    if (options.subnet === undefined) throw invalidArgument(`no matching subnet for aux-address ${Object.values(options.auxAddresses)[0] ?? ''}`);
    checkAuxAddresses(options.auxAddresses, options.subnet, options.subnet6);
  }
  const pick = <K extends keyof NetworkCreateOptions>(k: K): Partial<Pick<NetworkCreateOptions, K>> =>
    options[k] === undefined ? {} : ({ [k]: options[k] } as Partial<Pick<NetworkCreateOptions, K>>);
  return {
    id,
    name: options.name,
    created: nowRfc3339Nano(true),
    ...pick('subnet'),
    ...pick('gateway'),
    ...pick('ipRange'),
    ...(options.ipv6 ? { ipv6: true } : {}),
    ...pick('subnet6'),
    ...pick('gateway6'),
    ...pick('ipRange6'),
    ...pick('auxAddresses'),
    ...pick('ipamOptions'),
    options: { ...(options.options ?? {}) },
    labels: { ...(options.labels ?? {}) },
  };
}

/**
 * A `--config-from` network's options: its IPAM and driver options from the config-only
 * network, the rest its own. As dockerd, a network taking its configuration from another
 * takes none of its own.
 */
export function fromConfig(options: NetworkCreateOptions, configs: ConfigNetworkState[]): NetworkCreateOptions & { configFrom: string } {
  const from = options.configFrom ?? '';
  const config = findConfig(configs, from);
  if (!config) throw notFound(`configuration network "${from}" does not exist`);
  const own = [options.subnet, options.gateway, options.ipRange, options.subnet6, options.gateway6, options.ipRange6, options.auxAddresses, options.ipamOptions, options.ipv6 || undefined];
  if (own.some((v) => v !== undefined) || Object.keys(options.options ?? {}).length > 0 || options.bridgeName !== undefined || options.mtu !== undefined) {
    throw new CtrError('Denied', 'user specified configurations are not supported if the network depends on a configuration network', {
      hint: `the addresses and options come from ${config.name}: leave them out, or create the network without --config-from`,
    });
  }
  const { id: _id, name: _name, created: _created, labels: _labels, ...taken } = config;
  return { ...options, ...taken, configFrom: config.name };
}

/** The config-only network a name, an ID or an ID's prefix names, as networks are found. */
export function findConfig(configs: ConfigNetworkState[], nameOrId: string): ConfigNetworkState | undefined {
  return configs.find((c) => c.name === nameOrId || c.id === nameOrId) ?? configs.find((c) => nameOrId.length > 0 && c.id.startsWith(nameOrId));
}

/** `docker network inspect` of a config-only network: driver null, its configuration, never a container. */
export function inspectConfigOnly(c: ConfigNetworkState): NetworkInspect {
  return {
    Name: c.name,
    Id: c.id,
    Created: c.created,
    Scope: 'local',
    Driver: 'null',
    EnableIPv4: true,
    EnableIPv6: c.ipv6 === true,
    IPAM: {
      Driver: 'default',
      Options: { ...(c.ipamOptions ?? {}) },
      Config: [
        ...(c.subnet ? [{ Subnet: c.subnet, Gateway: c.gateway ?? '', ...(c.ipRange ? { IPRange: c.ipRange } : {}), ...auxOfFamily(c.auxAddresses, 4) }] : []),
        ...(c.subnet6 ? [{ Subnet: c.subnet6, Gateway: c.gateway6 ?? '', ...(c.ipRange6 ? { IPRange: c.ipRange6 } : {}), ...auxOfFamily(c.auxAddresses, 6) }] : []),
      ],
    },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: true,
    Containers: {},
    Options: c.options,
    Labels: c.labels,
  };
}
