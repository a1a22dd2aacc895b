import { promises as fs } from 'node:fs';

/** The address containers on user networks send DNS to, as in Docker. */
export const EMBEDDED_DNS = '127.0.0.11';

/**
 * resolv.conf for a container. On user networks it points at the embedded server; on the
 * default bridge and `none` it is the host's minus loopback servers (unreachable from
 * inside a namespace), as Docker does; in host mode it is the host's file.
 */
export async function resolvConf(kind: 'embedded' | 'host' | 'copy'): Promise<string> {
  if (kind === 'embedded') return `nameserver ${EMBEDDED_DNS}\noptions ndots:0\n`;
  const host = await fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  if (kind === 'host') return host;
  return host
    .split('\n')
    .filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l))
    .join('\n');
}

export function hostsFile(entries: Array<{ ip: string; names: string[] }>): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...entries.map((e) => `${e.ip}\t${e.names.join(' ')}`),
  ];
  return `${lines.join('\n')}\n`;
}
