import { invalidArgument } from '@ctr/errors';
import { isIPv4 } from 'node:net';

/** An IPv4 network: base address and prefix length, as unsigned 32-bit numbers. */
export interface Cidr {
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  if (!isIPv4(ip)) throw invalidArgument(`"${ip}" is not an IPv4 address`);
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses `10.1.2.0/24`; host bits set (`10.1.2.3/24`) are refused like Docker does. */
export function parseCidr(text: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || !isIPv4(m[1] ?? '') || prefix > 30 || prefix < 8) {
    throw invalidArgument(`Invalid subnet "${text}"`, { hint: 'give an IPv4 CIDR with a prefix between /8 and /30' });
  }
  const base = ipToInt(m[1] ?? '');
  if ((base & ~maskOf(prefix)) >>> 0 !== 0) {
    throw invalidArgument(`Invalid subnet "${text}": host bits are set`, {
      hint: `did you mean ${intToIp((base & maskOf(prefix)) >>> 0)}/${prefix}?`,
    });
  }
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + cidrSize(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + cidrSize(b) && b.base < a.base + cidrSize(a);
}

/** The addresses containers may get: inside the range, excluding network and broadcast. */
export function* usableHosts(subnet: Cidr, range: Cidr): Generator<number> {
  const first = Math.max(subnet.base + 1, range.base);
  const last = Math.min(subnet.base + cidrSize(subnet) - 2, range.base + cidrSize(range) - 1);
  for (let ip = first; ip <= last; ip++) yield ip;
}

/** Docker's MAC scheme: 02:42 followed by the IPv4 address, so it is unique per network. */
export function macFor(ip: string): string {
  return ['02', '42', ...ip.split('.').map((p) => Number(p).toString(16).padStart(2, '0'))].join(':');
}

/**
 * A container's own MAC address (`--mac-address`), as `ip link` writes it: six octets split
 * by `:` or `-`, unicast (a multicast address cannot be an interface's own).
 */
export function parseMac(text: string): string {
  const octets = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(text) ? text.toLowerCase().split(/[:-]/) : undefined;
  if (!octets) throw invalidArgument(`invalid MAC address ${text}`, { hint: 'give six hexadecimal octets, e.g. 02:42:ac:11:00:02' });
  if (parseInt(octets[0] as string, 16) & 1) throw invalidArgument(`invalid MAC address ${text}: a multicast address cannot be a container's own`, { hint: 'the first octet must be even, e.g. 02' });
  return octets.join(':');
}
