import { conflict, invalidArgument } from '@ctr/errors';
import dgram from 'node:dgram';
import net from 'node:net';
import { run } from './exec';
import { Chains } from './firewall';
import { isIPv6Binding } from './port-spec';
import type { Protocol, PortMapping } from './types';

/** A port already published (by this root or another one on the host). */
interface Taken {
  hostIp: string;
  hostPort: number;
  protocol: Protocol;
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

/** Binds the port for a moment: proves no process on the host holds it, or asks for a free one. */
function probeBind(hostIp: string, port: number, protocol: Protocol): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const failed = (e: NodeJS.ErrnoException): void => {
      if (e.code === 'EADDRNOTAVAIL') {
        reject(invalidArgument(`Cannot publish on ${hostIp}: the host has no such address`, { cause: e }));
      } else resolve(undefined);
    };
    if (protocol === 'udp') {
      const sock = dgram.createSocket(isIPv6Binding({ hostIp }) ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
      sock.on('error', failed);
      sock.bind({ port, address: hostIp, exclusive: true }, () => {
        const got = sock.address().port;
        sock.close(() => resolve(got));
      });
      return;
    }
    const server = net.createServer();
    server.on('error', failed);
    // As the port proxy listens: an IPv6 binding says nothing of the IPv4 port.
    server.listen({ port, host: hostIp, exclusive: true, ipv6Only: isIPv6Binding({ hostIp }) }, () => {
      const addr = server.address();
      const got = typeof addr === 'object' && addr ? addr.port : undefined;
      server.close(() => resolve(got));
    });
  });
}

const EPHEMERAL_TRIES = 50;

/**
 * Turns requested mappings into concrete ones: a fixed host port must be free (not
 * published by ctr anywhere on the host, not bound by a process); port 0 gets a free one.
 * Refusals use Docker's wording.
 */
export async function allocatePorts(requested: PortMapping[]): Promise<PortMapping[]> {
  const taken: Taken[] = await publishedOnHost();
  const out: PortMapping[] = [];
  for (const want of requested) {
    if (want.hostPort !== 0) {
      const busy = taken.some((t) => clash(t, want)) || (await probeBind(want.hostIp, want.hostPort, want.protocol)) === undefined;
      if (busy) throw conflict(`Bind for ${want.hostIp}:${want.hostPort} failed: port is already allocated`);
      out.push(want);
      taken.push(want);
      continue;
    }
    let found: PortMapping | undefined;
    for (let i = 0; i < EPHEMERAL_TRIES && !found; i++) {
      const port = await probeBind(want.hostIp, 0, want.protocol);
      const candidate = port === undefined ? undefined : { ...want, hostPort: port };
      if (candidate && !taken.some((t) => clash(t, candidate))) found = candidate;
    }
    if (!found) throw conflict(`Bind for ${want.hostIp}:0 failed: no free port for ${want.containerPort}/${want.protocol}`);
    out.push(found);
    taken.push(found);
  }
  return out;
}
