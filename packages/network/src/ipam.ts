import { CtrError, invalidArgument } from '@ctr/errors';
import { isIPv4, isIPv6 } from 'node:net';
import { addressInUse } from './allocation-failure';
import { contains, formatCidr, intToIp, ipToInt, overlaps, parseCidr, usableHosts, type Cidr } from './ipv4';
import { bigToIp6, ip6ToBig } from './ipv6';
import type { NetworkState } from './state';

/** Neither the subnet's network address nor its broadcast address. */
function hostAddress(subnet: Cidr, ip: number): boolean {
  return contains(subnet, ip) && ip !== subnet.base && ip !== subnet.base + 2 ** (32 - subnet.prefix) - 1;
}

/**
 * Refuses an address (`--ip`) the network cannot give: on a subnet it was not given (unless the
 * swarm's allocator chose it, for a task on a swarm network), outside its subnet, or its network
 * or broadcast address.
 */
export function checkRequestedAddress(net: NetworkState, requested: string, bySwarm = false): void {
  if (net.assignedSubnet && !(bySwarm && net.scope === 'swarm')) throw invalidArgument('user specified IP address is supported only when connecting to networks with user configured subnets');
  const subnet = parseCidr(net.subnet);
  if (!hostAddress(subnet, ipToInt(requested))) {
    throw invalidArgument(`no configured subnet contains the IP address ${requested}`, {
      hint: `network ${net.name} has subnet ${net.subnet}`,
    });
  }
}

/**
 * Chooses an address for a new endpoint: `requested` (`--ip`) or nothing, else `preferred`
 * (the endpoint's last address) when it is still free and in range, else the first free one.
 * Called with the state lock held and the result written before the lock is released, so no
 * address is handed out twice.
 */
export function allocateAddress(net: NetworkState, requested?: string, preferred?: string, bySwarm = false): string {
  const subnet = parseCidr(net.subnet);
  const range = net.ipRange ? parseCidr(net.ipRange) : subnet;
  // Aux addresses (`--aux-address`) are reserved: never handed out, and an --ip asking for one finds it in use.
  // Other nodes' addresses on a swarm network are theirs, its services' virtual IPs the services' (the swarm's allocator gave them).
  const remote = [...Object.values(net.remoteEndpoints ?? {}), ...Object.values(net.virtualIps ?? {})].map((e) => e.ip);
  const taken = new Set<string>([net.gateway, ...Object.values(net.auxAddresses ?? {}), ...Object.values(net.endpoints).map((e) => e.ip), ...remote]);
  if (requested !== undefined) {
    checkRequestedAddress(net, requested, bySwarm);
    if (taken.has(requested)) {
      throw addressInUse(requested, net.name);
    }
    return requested;
  }
  if (preferred !== undefined && !taken.has(preferred) && contains(range, ipToInt(preferred)) && hostAddress(subnet, ipToInt(preferred))) {
    return preferred;
  }
  for (const ip of usableHosts(subnet, range)) {
    const text = intToIp(ip);
    if (!taken.has(text)) return text;
  }
  throw new CtrError('ResourceExhausted', `no available IPv4 addresses on this network's address pools: ${net.name} (${net.id})`, {
    hint: 'disconnect containers or create a network with a larger subnet',
  });
}

/**
 * Picks the first subnet of `size` bits from the pool that overlaps neither another ctr
 * network nor any address already configured on the host.
 */
export function allocateSubnet(pool: Cidr, size: number, inUse: Cidr[]): string {
  const step = 2 ** (32 - size);
  for (let base = pool.base; base + step <= pool.base + 2 ** (32 - pool.prefix); base += step) {
    const candidate = { base, prefix: size };
    if (!inUse.some((c) => overlaps(c, candidate))) return formatCidr(candidate);
  }
  throw new CtrError(
    'ResourceExhausted',
    'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
    { hint: 'give a --subnet, or remove unused networks (ctr network prune)' },
  );
}

/** libnetwork's masks for link-local addresses (CreateOptionIpam): 169.254.0.0/16 and fe80::/64. */
const LINK_LOCAL_PREFIX = { v4: 16, v6: 64 };

/**
 * `--link-local-ip` addresses, checked and written canonically: each must be an address
 * (moby's EndpointIPAMConfig.Validate words the refusal) and a link-local one, of
 * 169.254.0.0/16 or fe80::/10, which an interface may hold besides its lease.
 */
export function checkLinkLocalIps(requested: string[]): string[] {
  return requested.map((text) => {
    const invalid = (why?: string): CtrError =>
      invalidArgument(`invalid link-local IP address: ${text}${why ? `: ${why}` : ''}`, why ? { hint: 'use an address of 169.254.0.0/16 or fe80::/10' } : {});
    if (isIPv4(text)) {
      if (ipToInt(text) === 0) throw invalid();
      if (!contains(parseCidr('169.254.0.0/16'), ipToInt(text))) throw invalid('not a link-local address');
      return text;
    }
    if (!isIPv6(text) || text.includes('%') || text.includes('.')) throw invalid();
    const ip = ip6ToBig(text);
    if (ip === 0n) throw invalid();
    if (ip >> 118n !== 0x3fan) throw invalid('not a link-local address');
    return bigToIp6(ip);
  });
}

/** A link-local address with libnetwork's prefix length, as `ip addr add` takes it. */
export function linkLocalCidr(ip: string): string {
  return `${ip}/${isIPv4(ip) ? LINK_LOCAL_PREFIX.v4 : LINK_LOCAL_PREFIX.v6}`;
}
