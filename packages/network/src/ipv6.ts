import { CtrError, invalidArgument } from '@ctr/errors';
import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { addressInUse } from './allocation-failure';

/**
 * IPv6 addresses as 128-bit numbers: what a network's IPv6 subnet (`--ipv6 --subnet fd…::/64`)
 * and its endpoints' addresses are computed with. Addresses are written back in RFC 5952's
 * canonical form, so one address always compares equal to itself as text.
 */
export interface Cidr6 {
  base: bigint;
  prefix: number;
}

const BITS = 128n;

/** Parses an IPv6 address (no zone, no embedded IPv4). */
export function ip6ToBig(ip: string): bigint {
  if (!isIPv6(ip) || ip.includes('.') || ip.includes('%')) throw invalidArgument(`"${ip}" is not an IPv6 address`);
  const [head = '', tail] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** RFC 5952: lower case, no leading zeros, the longest run (of two or more) of zero groups as `::`. */
export function bigToIp6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; i++) {
    let len = 0;
    while (i + len < 8 && groups[i + len] === 0) len++;
    if (len > best.len) best = { at: i, len };
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** The canonical text of an address given in any valid form. */
export function canonicalIp6(ip: string): string {
  return bigToIp6(ip6ToBig(ip));
}

function size(c: Cidr6): bigint {
  return 1n << (BITS - BigInt(c.prefix));
}

/**
 * Parses an IPv6 subnet. Host bits set are refused as for IPv4; /64 is what SLAAC-free bridges
 * usually take, anything from /8 to /124 is accepted (dockerd takes smaller subnets too, but a
 * /125 leaves almost nothing after the gateway).
 */
export function parseCidr6(text: string): Cidr6 {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || !isIPv6(m[1] ?? '') || prefix > 124 || prefix < 8) {
    throw invalidArgument(`Invalid subnet "${text}"`, { hint: 'give an IPv6 CIDR with a prefix between /8 and /124, e.g. fd12:3456:789a:1::/64' });
  }
  const base = ip6ToBig(m[1] ?? '');
  const cidr = { base, prefix };
  if (base % size(cidr) !== 0n) {
    throw invalidArgument(`Invalid subnet "${text}": host bits are set`, { hint: `did you mean ${formatCidr6({ base: base - (base % size(cidr)), prefix })}?` });
  }
  return cidr;
}

export function formatCidr6(c: Cidr6): string {
  return `${bigToIp6(c.base)}/${c.prefix}`;
}

export function contains6(c: Cidr6, ip: bigint): boolean {
  return ip >= c.base && ip < c.base + size(c);
}

export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** Neither the subnet-router anycast address (all host bits zero) nor outside the subnet. */
export function hostAddress6(c: Cidr6, ip: bigint): boolean {
  return contains6(c, ip) && ip !== c.base;
}

/**
 * The /48 a root's IPv6 networks come from when given no subnet: dockerd derives its default
 * ULA prefix from its host ID (fd + 40 bits); ctr takes the 40 bits from the SHA-256 of the
 * state root's path, whose first 32 are the root's tag — so two roots on one host get different
 * prefixes, and one root the same prefix every time.
 */
export function ulaPool(root: string): Cidr6 {
  const bits = createHash('sha256').update(root).digest('hex').slice(0, 10);
  return { base: (0xfdn << 120n) | (BigInt(`0x${bits}`) << 80n), prefix: 48 };
}

/** The first /64 of `pool` that overlaps nothing in use (another network, an address of the host). */
export function allocateSubnet6(pool: Cidr6, inUse: Cidr6[]): string {
  const step = 1n << 64n;
  for (let base = pool.base; base < pool.base + size(pool); base += step) {
    const candidate = { base, prefix: 64 };
    if (!inUse.some((c) => overlaps6(c, candidate))) return formatCidr6(candidate);
  }
  throw new CtrError('ResourceExhausted', 'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network', {
    hint: 'give an IPv6 --subnet, or remove unused networks (ctr network prune)',
  });
}

/** The subnet of an address as `ip -6 addr` shows it (`fd00::2/64` → fd00::/64). */
export function subnetOf6(ip: string, prefix: number): Cidr6 {
  const cidr = { base: 0n, prefix };
  const n = ip6ToBig(ip);
  return { base: n - (n % size(cidr)), prefix };
}

/** Refuses an `--ip6` the network cannot give: no IPv6 on it, or outside its IPv6 subnet. */
export function checkRequestedAddress6(net: { name: string; ipv6?: { subnet: string } }, requested: string): string {
  if (!net.ipv6) {
    throw invalidArgument(`user specified IPv6 address is supported only when connecting to networks with IPv6 enabled`, {
      hint: `network ${net.name} was created without --ipv6`,
    });
  }
  const ip = ip6ToBig(requested);
  if (!hostAddress6(parseCidr6(net.ipv6.subnet), ip)) {
    throw invalidArgument(`no configured subnet or ip-range contain the IP address ${requested}`, { hint: `network ${net.name} has IPv6 subnet ${net.ipv6.subnet}` });
  }
  return bigToIp6(ip);
}

/**
 * An IPv6 `--ip-range`, refused unless inside the subnet (as the IPv4 one); written canonically.
 * Containers get their IPv6 addresses from it alone, an `--ip6` may still be any of the subnet's (moby's IPAM).
 */
export function checkRange6(subnet: Cidr6, text: string): string {
  const range = parseCidr6(text);
  if (range.prefix < subnet.prefix || !contains6(subnet, range.base)) throw invalidArgument(`IP range ${text} is not inside subnet ${formatCidr6(subnet)}`);
  return formatCidr6(range);
}

/**
 * An endpoint's IPv6 address: `requested` (`--ip6`), else `preferred` (its last one) while
 * free and in the network's IPv6 range, else the lowest free one of the range (the subnet
 * without one) after the gateway — sequential, as dockerd's IPAM hands them out.
 */
export function allocateAddress6(
  net: { name: string; id: string; ipv6?: { subnet: string; gateway: string; ipRange?: string }; auxAddresses?: Record<string, string>; endpoints: Record<string, { ip6?: string }> },
  requested?: string,
  preferred?: string,
): string | undefined {
  if (!net.ipv6) {
    if (requested !== undefined) checkRequestedAddress6(net, requested);
    return undefined;
  }
  const subnet = parseCidr6(net.ipv6.subnet);
  const taken = new Set<string>([net.ipv6.gateway, ...Object.values(net.auxAddresses ?? {}), ...Object.values(net.endpoints).flatMap((e) => (e.ip6 ? [e.ip6] : []))]);
  if (requested !== undefined) {
    const ip = checkRequestedAddress6(net, requested);
    if (taken.has(ip)) throw addressInUse(ip, net.name);
    return ip;
  }
  const range = net.ipv6.ipRange ? parseCidr6(net.ipv6.ipRange) : subnet;
  if (preferred !== undefined && !taken.has(preferred) && hostAddress6(subnet, ip6ToBig(preferred)) && contains6(range, ip6ToBig(preferred))) return preferred;
  for (let ip = range.base === subnet.base ? subnet.base + 1n : range.base; contains6(range, ip); ip++) {
    const text = bigToIp6(ip);
    if (!taken.has(text)) return text;
  }
  throw new CtrError('ResourceExhausted', `no available IPv6 addresses on this network's address pools: ${net.name} (${net.id})`, {
    hint: 'disconnect containers or create a network with a larger IPv6 subnet',
  });
}
