import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '@ctr/errors';
import type { RunOptions } from './types';

/** /etc/hosts as Docker writes it: loopback names, `--add-host` entries, the container's own names at its address. */
export function hostsContent(hostname: string, options: RunOptions): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const entry of options.extraHosts ?? []) {
    const sep = entry.indexOf(':');
    const name = entry.slice(0, sep);
    const ip = entry.slice(sep + 1);
    if (sep <= 0 || !ip || /\s/.test(entry)) throw invalidArgument(`invalid argument "${entry}" for "--add-host" flag: expected host:ip`);
    lines.push(`${ip}\t${name}`);
  }
  if (options.ipAddress) lines.push(`${options.ipAddress}\t${ownNames(hostname, options.domainname)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The container's names in its hosts entry, as libnetwork's makeHostsRecs: the FQDN (`--hostname`
 * and `--domainname` joined), then the bare hostname when the FQDN has a dot (`h1.example.org h1`),
 * so that `hostname -f` finds the FQDN.
 */
function ownNames(hostname: string, domainname: string | undefined): string {
  const fqdn = domainname ? `${hostname}.${domainname}` : hostname;
  const dot = fqdn.indexOf('.');
  return dot < 0 ? fqdn : `${fqdn} ${fqdn.slice(0, dot)}`;
}

/**
 * /etc/resolv.conf: the user's `--dns*` settings, else the host's file without loopback
 * name servers (they mean nothing inside another network namespace), as Docker does.
 */
export function resolvConfContent(hostResolvConf: string, options: RunOptions): string {
  const hostLines = hostResolvConf.split('\n').map((l) => l.trim());
  const pick = (key: string): string[] =>
    hostLines.filter((l) => l.startsWith(`${key} `) || l.startsWith(`${key}\t`)).map((l) => l.slice(key.length).trim());
  const ownNamespace = options.network?.mode !== 'host';
  const servers = options.dns ?? pick('nameserver').filter((s) => !(ownNamespace && /^(127\.|::1$)/.test(s)));
  const search = options.dnsSearch ?? pick('search').flatMap((s) => s.split(/\s+/));
  const opts = options.dnsOptions ?? pick('options').flatMap((s) => s.split(/\s+/));
  const lines = servers.map((s) => `nameserver ${s}`);
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  if (opts.length > 0) lines.push(`options ${opts.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** Write the container's hosts, resolv.conf and hostname into `dir`; returns their paths. */
export async function writeEtcFiles(
  dir: string,
  hostname: string,
  options: RunOptions,
  hostResolvConf: string,
): Promise<{ hosts: string; resolvConf: string; hostname: string }> {
  const files = { hosts: path.join(dir, 'hosts'), resolvConf: path.join(dir, 'resolv.conf'), hostname: path.join(dir, 'hostname') };
  // A host-network container gets the host's file, unless it has `--add-host` entries: then
  // Docker's own file, so that they can override a name the host's file has (libnetwork's buildHostsFile).
  const hostFile = options.network?.mode === 'host' && !options.extraHosts?.length ? readSmallFile('/etc/hosts') : undefined;
  const hosts = hostFile ?? hostsContent(hostname, options);
  // Three small files beside the container's record: written directly, as the record is.
  writeFileSync(files.hosts, hosts);
  writeFileSync(files.resolvConf, options.resolvConf ?? resolvConfContent(readSmallFile(hostResolvConf) ?? '', options));
  writeFileSync(files.hostname, `${hostname}\n`);
  return files;
}

function readSmallFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
