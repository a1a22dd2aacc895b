import { conflict, CtrError, invalidArgument } from '@ctr/errors';
import { contains, formatCidr, intToIp, ipToInt, overlaps, parseCidr, usableHosts, type Cidr } from './ipv4';
import type { NetworkState } from './state';

/**
 * Chooses an address for a new endpoint. Called with the state lock held and the result
 * written before the lock is released, so no address is handed out twice.
 */
export function allocateAddress(net: NetworkState, requested?: string): string {
  const subnet = parseCidr(net.subnet);
  const range = net.ipRange ? parseCidr(net.ipRange) : subnet;
  const taken = new Set<string>([net.gateway, ...Object.values(net.endpoints).map((e) => e.ip)]);
  if (requested !== undefined) {
    const ip = ipToInt(requested);
    if (!contains(subnet, ip) || ip === subnet.base || ip === subnet.base + 2 ** (32 - subnet.prefix) - 1) {
      throw invalidArgument(`no configured subnet contains the IP address ${requested}`, {
        hint: `network ${net.name} has subnet ${net.subnet}`,
      });
    }
    if (taken.has(requested)) {
      throw conflict(`Address already in use: ${requested} on network ${net.name}`);
    }
    return requested;
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
