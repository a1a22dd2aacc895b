import { invalidArgument, type CtrError } from '@ctr/errors';
import { existsSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIp6 } from './ipv6';
import type { PortMapping, Protocol } from './types';

interface PortRange {
  start: number;
  end: number;
}

function parseRange(text: string, what: string, spec: string, allowZero: boolean): PortRange {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw invalidArgument(`Invalid ${what} "${text}" in port spec "${spec}"`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  const min = allowZero ? 0 : 1;
  if (start < min || end > 65535 || end < start) {
    throw invalidArgument(`Invalid ${what} "${text}" in port spec "${spec}": ports are 1-65535, ranges low-high`);
  }
  return { start, end };
}

/**
 * An SCTP port (which docker maps too) refused in words that say why: without the kernel's
 * SCTP, as on this machine kind, no container could use it; and ctr's networks carry tcp
 * and udp only.
 */
export function sctpRefused(port: string): CtrError {
  const why = existsSync('/proc/net/sctp') ? "ctr's networks carry tcp and udp only" : 'SCTP is not supported on this host: its kernel has no SCTP (/proc/net/sctp is missing)';
  return invalidArgument(`cannot use port ${port}: ${why}`, { hint: 'use tcp or udp ports' });
}

function parseProtocol(text: string | undefined, spec: string): Protocol {
  const proto = (text ?? 'tcp').toLowerCase();
  if (proto === 'sctp') throw sctpRefused(spec);
  if (proto !== 'tcp' && proto !== 'udp') {
    throw invalidArgument(`Invalid proto "${text}" in port spec "${spec}"`, { hint: 'use tcp or udp' });
  }
  return proto;
}

/** Splits `ip:hostPort:containerPort` while allowing a bracketed IPv6 host address. */
function splitParts(rest: string, spec: string): { ip: string; host: string; container: string } {
  let ip = '';
  let tail = rest;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']:');
    if (close < 0) throw invalidArgument(`Invalid IP address in port spec "${spec}"`);
    ip = rest.slice(1, close);
    tail = rest.slice(close + 2);
    const [host = '', container, ...more] = tail.split(':');
    if (container === undefined || more.length > 0) throw invalidArgument(`Invalid port spec "${spec}"`);
    return { ip, host, container };
  }
  const parts = tail.split(':');
  if (parts.length === 1) return { ip: '', host: '', container: parts[0] ?? '' };
  if (parts.length === 2) return { ip: '', host: parts[0] ?? '', container: parts[1] ?? '' };
  if (parts.length === 3) return { ip: parts[0] ?? '', host: parts[1] ?? '', container: parts[2] ?? '' };
  throw invalidArgument(`Invalid port spec "${spec}": too many colons`, {
    hint: 'the form is [hostIP:][hostPort:]containerPort[/tcp|udp]',
  });
}

/** A host address of a binding as written in rules and inspect (IPv6 canonical, no zone); undefined when it is none. */
function hostAddress(ip: string): string | undefined {
  if (isIPv4(ip)) return ip;
  return isIPv6(ip) && !ip.includes('%') && !ip.includes('.') ? canonicalIp6(ip) : undefined;
}

/** Whether a binding is on IPv6 host addresses (`[::]`, `[::1]`…): served by the port proxy, DNATed by ip6tables. */
export function isIPv6Binding(m: Pick<PortMapping, 'hostIp'>): boolean {
  return m.hostIp.includes(':');
}

/**
 * The host bindings of a mapping, as moby's configurePortBindingIPv4/IPv6 make them: one with
 * no host address is on 0.0.0.0, and on [::] too (same host port) where the host listens on
 * IPv6 (`dualStack`); one with an address, even 0.0.0.0 or ::, is on that address only.
 */
export function hostBindings(m: PortMapping, dualStack: boolean): PortMapping[] {
  if (m.hostIp !== '') return [m];
  const v4 = { ...m, hostIp: '0.0.0.0' };
  return dualStack ? [v4, { ...m, hostIp: '::' }] : [v4];
}

/**
 * Parses a `-p` value the way Docker does: `[hostIP:][hostPort[-end]:]containerPort[-end][/proto]`.
 * A range expands to one mapping per port, but a host range to a single container port is one
 * mapping that picks its host port from that range (hostPortEnd); a missing host port is 0
 * ("pick a free one"), a missing host address '' (see hostBindings).
 */
export function parsePortSpec(spec: string): PortMapping[] {
  const trimmed = spec.trim();
  if (trimmed === '') throw invalidArgument('Empty port spec');
  const slash = trimmed.lastIndexOf('/');
  const protocol = parseProtocol(slash >= 0 ? trimmed.slice(slash + 1) : undefined, spec);
  const { ip, host, container } = splitParts(slash >= 0 ? trimmed.slice(0, slash) : trimmed, spec);
  const hostIp = ip === '' ? '' : hostAddress(ip);
  if (hostIp === undefined) {
    throw invalidArgument(`Invalid IP address "${ip}" in port spec "${spec}"`, {
      hint: 'give an IPv4 address, or an IPv6 one in brackets ([::1]:8080:80)',
    });
  }
  if (container === '') throw invalidArgument(`No port specified in port spec "${spec}"`);
  const cRange = parseRange(container, 'containerPort', spec, false);
  const hRange = host === '' ? undefined : parseRange(host, 'hostPort', spec, true);
  const count = cRange.end - cRange.start + 1;
  // A host port of 0 (or 0-n) is "pick a free one", as no host port.
  const hostRange = hRange && hRange.start !== 0 ? hRange : undefined;
  if (hostRange && count === 1 && hostRange.end > hostRange.start) {
    // As go-connections: a host range to one container port is where its host port is chosen from.
    return [{ hostIp, hostPort: hostRange.start, hostPortEnd: hostRange.end, containerPort: cRange.start, protocol }];
  }
  if (hostRange && hostRange.end - hostRange.start + 1 !== count) {
    throw invalidArgument(`Invalid ranges specified for container and host Ports: ${container} and ${host}`);
  }
  const out: PortMapping[] = [];
  for (let i = 0; i < count; i++) {
    const hostPort = hostRange ? hostRange.start + i : 0;
    out.push({ hostIp, hostPort, containerPort: cRange.start + i, protocol });
  }
  return out;
}

/**
 * Checks a mapping given as an object (from the API, not parsed here): every field ends
 * up in iptables rules, so nothing but an address, ports and tcp/udp gets through.
 */
export function validatePortMapping(m: PortMapping): PortMapping {
  const port = (n: unknown, min: number): boolean => Number.isInteger(n) && (n as number) >= min && (n as number) <= 65535;
  const hostIp = m.hostIp === '' ? '' : hostAddress(String(m.hostIp));
  if (hostIp === undefined || !port(m.hostPort, 0) || !port(m.containerPort, 1) || (m.protocol !== 'tcp' && m.protocol !== 'udp')) {
    throw invalidArgument(`Invalid port mapping ${JSON.stringify(m)}`, {
      hint: "hostIp is an IPv4 or IPv6 address ('' for none), ports are integers (hostPort 0 = any), protocol tcp or udp",
    });
  }
  return { hostIp, hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol };
}

/** Parses an image's exposed-port key (`80`, `80/tcp`, `53/udp`). */
export function parseExposedPort(key: string): { port: number; protocol: Protocol } {
  const [port = '', proto] = key.split('/');
  const range = parseRange(port, 'exposed port', key, false);
  if (range.start !== range.end) throw invalidArgument(`Exposed port "${key}" must be a single port`);
  return { port: range.start, protocol: parseProtocol(proto, key) };
}

/** The `80/tcp` key Docker uses in `NetworkSettings.Ports`. */
export function portKey(port: number, protocol: Protocol): string {
  return `${port}/${protocol}`;
}
