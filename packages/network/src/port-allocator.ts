import { conflict, invalidArgument } from '@ctr/errors';
import dgram from 'node:dgram';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import { run } from './exec';
import { Chains } from './firewall';
import { hostBindings, isIPv6Binding } from './port-spec';
import type { Protocol, PortMapping } from './types';

/** A port already published (by this root or another one on the host). */
interface Taken {
  hostIp: string;
  hostPort: number;
  protocol: Protocol;
}

/**
 * Who holds a fixed host port refused (a refusal's `details`): a container published it (ctr's
 * DNAT rules, which moby's portallocator knows of), or a process bound it (which only moby's
 * own bind finds out).
 */
export interface PortRefusal {
  binding: PortMapping;
  heldBy: 'container' | 'process';
}

/** The any-address of a binding's family: 0.0.0.0 covers every IPv4 address, :: every IPv6 one. */
function isAny(hostIp: string): boolean {
  return hostIp === '0.0.0.0' || hostIp === '::';
}

function clash(a: Taken, b: Taken): boolean {
  return (
    a.protocol === b.protocol &&
    a.hostPort === b.hostPort &&
    isIPv6Binding(a) === isIPv6Binding(b) &&
    (a.hostIp === b.hostIp || isAny(a.hostIp) || isAny(b.hostIp))
  );
}

/** Ports published by any ctr root on this host, read back from CTR-DNAT. */
async function publishedOnHost(): Promise<Taken[]> {
  const lines = (await run('iptables-save', ['-t', 'nat'])).split('\n').filter((l) => l.startsWith(`-A ${Chains.dnat} `));
  return lines.flatMap((l): Taken[] => {
    const m = /(?:-d (\S+)\/32 )?-p (tcp|udp) .*--dport (\d+) /.exec(l);
    return m ? [{ hostIp: m[1] ?? '0.0.0.0', protocol: m[2] as Protocol, hostPort: Number(m[3]) }] : [];
  });
}

/** Binds the port for a moment: whether no process on the host holds it. */
function probeBind(hostIp: string, port: number, protocol: Protocol): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const failed = (e: NodeJS.ErrnoException): void => {
      if (e.code === 'EADDRNOTAVAIL') {
        reject(invalidArgument(`Cannot publish on ${hostIp}: the host has no such address`, { cause: e }));
      } else resolve(false);
    };
    if (protocol === 'udp') {
      const sock = dgram.createSocket(isIPv6Binding({ hostIp }) ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
      sock.on('error', failed);
      sock.bind({ port, address: hostIp, exclusive: true }, () => sock.close(() => resolve(true)));
      return;
    }
    const server = net.createServer();
    server.on('error', failed);
    // As the port proxy listens: an IPv6 binding says nothing of the IPv4 port.
    server.listen({ port, host: hostIp, exclusive: true, ipv6Only: isIPv6Binding({ hostIp }) }, () => server.close(() => resolve(true)));
  });
}

/** moby's portallocator: binding attempts before a random host port is given up. */
const MAX_ALLOCATE_ATTEMPTS = 10;
/** moby's fallback when the kernel's range cannot be read. */
const DEFAULT_PORT_RANGE = { start: 49153, end: 65535 };

/** Where random host ports come from: the kernel's ephemeral range, as moby's getDynamicPortRange reads it. */
async function dynamicPortRange(): Promise<{ start: number; end: number }> {
  const text = await fs.readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '');
  const [start, end] = text.trim().split(/\s+/).map(Number);
  return start && end && start <= end ? { start, end } : DEFAULT_PORT_RANGE;
}

let v6Listenable: Promise<boolean> | undefined;

/**
 * Whether the host can listen on IPv6, as moby's netutils.IsV6Listenable: a tcp6 listen on
 * [::1]:0 succeeds (it fails on a kernel booted with ipv6.disable=1). Where it does, a port
 * published on 0.0.0.0 is on [::] too. Asked once per process, as moby does.
 */
export function hostListensOnIPv6(): Promise<boolean> {
  v6Listenable ??= new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '::1', port: 0, ipv6Only: true }, () => server.close(() => resolve(true)));
  });
  return v6Listenable;
}

/**
 * A host port of `range` free for every binding of `wants` (one per address family), as moby's
 * OSAllocator: candidates are taken in turn from the `offset`-th on, wrapping round, ports ctr has
 * published are passed over without cost, and a candidate some process holds on any of the
 * addresses costs one of the 10 attempts. `asked` is whether the range is the user's
 * (`-p 9200-9210:80`) rather than the dynamic one.
 */
async function pickPort(want: PortMapping, wants: PortMapping[], taken: Taken[], range: { start: number; end: number }, offset: number, asked: boolean): Promise<number> {
  const { start, end } = range;
  const size = end - start + 1;
  let attempts = 0;
  for (let i = 0; i < size && attempts < MAX_ALLOCATE_ATTEMPTS; i++) {
    const port = start + ((offset + i) % size);
    if (wants.some((w) => taken.some((t) => clash(t, { ...w, hostPort: port })))) continue;
    if (await everyFree(wants, port)) return port;
    attempts++;
  }
  const ports = asked ? `${start}-${end}` : '0';
  const where = wants.map((w) => `${isIPv6Binding(w) ? `[${w.hostIp}]` : w.hostIp}:${ports}`).join(' and ');
  if (attempts === 0 && asked) {
    // moby's portallocator.ErrAllPortsAllocated, as dockerd passes it on for a range asked for.
    throw conflict('all ports are allocated', { hint: `every port of ${where} is published already; free one, or publish another range` });
  }
  if (attempts === 0) throw conflict(`Bind for ${where} failed: all ports are allocated`);
  throw conflict(`failed to bind host port for ${where} (${want.containerPort}/${want.protocol}): address already in use`, {
    hint: `${attempts} ports of the ${asked ? '' : 'dynamic '}range ${start}-${end} were each taken on ${wants.length > 1 ? 'one of these addresses' : 'this address'}; free some, or publish ${asked ? 'another range' : 'a fixed host port'}`,
  });
}

/** Whether no process holds the port on any of the bindings' addresses. */
async function everyFree(wants: PortMapping[], port: number): Promise<boolean> {
  for (const w of wants) if (!(await probeBind(w.hostIp, port, w.protocol))) return false;
  return true;
}

/**
 * Turns requested mappings into concrete ones: a fixed host port must be free (not
 * published by ctr anywhere on the host, not bound by a process); port 0 gets a free one,
 * and a host range (hostPortEnd) its first free port.
 * A mapping with no host address is on 0.0.0.0, and with `dualStack` (a container's ports, on
 * a host that listens on IPv6) on [::] too: its port must be free on each. The mappings come
 * back as asked, host ports chosen. Refusals use Docker's wording.
 */
export async function allocatePorts(requested: PortMapping[], options: { dualStack?: boolean } = {}): Promise<PortMapping[]> {
  const taken: Taken[] = await publishedOnHost();
  const out: PortMapping[] = [];
  for (const { hostPortEnd, ...want } of requested) {
    const wants = hostBindings(want, options.dualStack ?? false);
    if (want.hostPort !== 0 && hostPortEnd === undefined) {
      for (const w of wants) {
        const published = taken.some((t) => clash(t, w));
        if (published || !(await probeBind(w.hostIp, w.hostPort, w.protocol))) {
          const refusal: PortRefusal = { binding: w, heldBy: published ? 'container' : 'process' };
          throw conflict(`Bind for ${w.hostIp}:${w.hostPort} failed: port is already allocated`, { details: { ...refusal } });
        }
      }
      out.push(want);
      taken.push(...wants);
      continue;
    }
    // moby's portallocator goes through a range asked for from its start, the dynamic one from a random point.
    const asked = hostPortEnd !== undefined;
    const range = asked ? { start: want.hostPort, end: hostPortEnd } : await dynamicPortRange();
    const offset = asked ? 0 : Math.floor(Math.random() * (range.end - range.start + 1));
    const found = { ...want, hostPort: await pickPort(want, wants, taken, range, offset, asked) };
    out.push(found);
    taken.push(...hostBindings(found, options.dualStack ?? false));
  }
  return out;
}
