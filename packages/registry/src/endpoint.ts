import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { invalidArgument } from '@ctr/errors';

/** Where requests for a registry go. `registry` is the name in references; `origin` the URL base. */
export interface Endpoint {
  registry: string;
  origin: string;
  /** A docker.io mirror: tried first for pulls, never pushed to. */
  mirror: boolean;
  /**
   * A loopback or insecure registry's plain-HTTP origin: `origin` (https) is spoken to without
   * verifying its certificate, and this one when TLS to it fails (Docker's order). Resolved to
   * one of the two by RegistryHttp.reachable before any request.
   */
  plainHttp?: string;
}

export interface EndpointOptions {
  /**
   * Docker's insecure-registries: each a registry (`host:port`) or a CIDR (`10.0.0.0/8`) its
   * host's addresses may fall in (loopback's always count), reached over HTTPS without
   * certificate verification, falling back to plain HTTP.
   */
  insecureRegistries?: readonly string[];
  /** A registry host's addresses, for the CIDR check (default `hostAddresses`); none when it does not resolve. */
  resolveHost?: (host: string) => Promise<readonly string[]>;
  /** Mirrors for docker.io (`http://127.0.0.1:5001`, `https://mirror.example`), tried in order for pulls. */
  mirrors?: readonly string[];
  /**
   * Where `docker.io` itself is reached (default DOCKER_HUB_API): a registry standing in for
   * Docker Hub, e.g. on an air-gapped network, or on 127.0.0.1 in tests that must never reach it.
   */
  dockerHubEndpoint?: string;
}

const DOCKER_HUB = 'docker.io';
/** Where Docker sends `docker.io` references (as dockerd does); only a user's pull of such a name reaches it. */
export const DOCKER_HUB_API = 'https://registry-1.docker.io';

/**
 * The endpoints to try for `registry`: mirrors first when pulling from docker.io, then the
 * registry itself: HTTPS, verified, except for insecure registries (`isInsecureRegistry`: loopback
 * ones too, as Docker), whose endpoint is HTTPS unverified with a plain-HTTP fallback.
 */
export async function endpointsFor(registry: string, purpose: 'pull' | 'push', options: EndpointOptions): Promise<Endpoint[]> {
  const out: Endpoint[] = [];
  if (registry === DOCKER_HUB && purpose === 'pull') {
    for (const mirror of options.mirrors ?? []) {
      out.push({ registry, origin: originOf(mirror, 'registry mirror'), mirror: true });
    }
  }
  if (registry === DOCKER_HUB) {
    const origin = options.dockerHubEndpoint === undefined ? DOCKER_HUB_API : originOf(options.dockerHubEndpoint, 'Docker Hub endpoint');
    out.push({ registry, origin, mirror: false });
    return out;
  }
  const insecure = await isInsecureRegistry(registry, options.insecureRegistries, options.resolveHost);
  // As URL spells it, which is how connections name their origin (the unverified set is matched against it).
  const origin = originOf(`https://${registry}`, 'registry');
  out.push({ registry, origin, mirror: false, ...(insecure ? { plainHttp: originOf(`http://${registry}`, 'registry') } : {}) });
  return out;
}

/** The origin of a configured registry URL (`mirror.example` means https). */
function originOf(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `https://${value}`);
  } catch {
    throw invalidArgument(`invalid ${what} "${value}": expected a URL such as https://mirror.example`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidArgument(`invalid ${what} "${value}": only http and https are supported`);
  }
  return url.origin;
}

/** Docker's insecure CIDRs whatever the configuration says: a registry on this machine needs none. */
export const LOOPBACK_CIDRS: readonly string[] = ['::1/128', '127.0.0.0/8'];

/**
 * Whether `registry` is spoken to without verifying its certificate, by dockerd's isSecureIndex:
 * never docker.io; a registry listed by name is; else one whose host (an IP, or a name resolved
 * by `resolve`) has any address in an insecure CIDR — loopback's, or one listed. A name that
 * does not resolve is secure.
 */
export async function isInsecureRegistry(registry: string, insecureRegistries: readonly string[] = [], resolve: (host: string) => Promise<readonly string[]> = hostAddresses): Promise<boolean> {
  const host = hostOf(registry);
  const settled = registry === DOCKER_HUB || isIP(host) !== 0 || insecureEntries(insecureRegistries).names.has(registry);
  return insecureBy(registry, insecureRegistries, settled ? [] : await resolve(host));
}

/**
 * The same rule without resolving names, for callers that cannot wait: a registry listed by
 * name, or an IP literal in an insecure CIDR; `localhost` stands for its loopback addresses.
 */
export function isInsecureRegistryLiteral(registry: string, insecureRegistries: readonly string[] = []): boolean {
  return insecureBy(registry, insecureRegistries, hostOf(registry).toLowerCase() === 'localhost' ? ['127.0.0.1', '::1'] : []);
}

/** dockerd's isSecureIndex, negated, given the addresses the registry's host name resolved to. */
function insecureBy(registry: string, insecureRegistries: readonly string[], resolved: readonly string[]): boolean {
  if (registry === DOCKER_HUB) return false;
  const { cidrs, names } = insecureEntries(insecureRegistries);
  if (names.has(registry)) return true;
  const host = hostOf(registry);
  return (isIP(host) !== 0 ? [host] : resolved).some((address) => inCidrs(cidrs, address));
}

/** A CIDR of an insecure-registries list: its network address, as Go's IPNet prints it for IPv4 (`10.1.2.3/8` is `10.0.0.0/8`). */
export interface InsecureCidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  text: string;
}

/**
 * An insecure-registries list as dockerd's loadInsecureRegistries reads it, `http(s)://`
 * dropped: an IP network is a CIDR, anything else names a registry. `docker info` shows
 * both; the endpoint rule matches by them, loopback's CIDRs added.
 */
export function insecureRegistryEntries(entries: readonly string[]): { cidrs: InsecureCidr[]; names: string[] } {
  const cidrs: InsecureCidr[] = [];
  const names: string[] = [];
  for (const entry of entries) {
    const value = entry.replace(/^https?:\/\//i, '');
    const cidr = /^([^/]+)\/(\d{1,3})$/.exec(value);
    const family = cidr ? isIP(cidr[1] as string) : 0;
    const prefix = Number(cidr?.[2]);
    if (cidr && family !== 0 && prefix <= (family === 4 ? 32 : 128)) {
      const address = family === 4 ? ipv4Network(cidr[1] as string, prefix) : (cidr[1] as string);
      cidrs.push({ address, prefix, family: family === 4 ? 'ipv4' : 'ipv6', text: `${address}/${prefix}` });
    } else {
      names.push(value);
    }
  }
  return { cidrs, names };
}

function ipv4Network(address: string, prefix: number): string {
  const value = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const network = prefix === 0 ? 0 : value - (value % 2 ** (32 - prefix));
  return [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.');
}

/** The CIDRs and registry names of an insecure-registries list, for matching. */
function insecureEntries(entries: readonly string[]): { cidrs: BlockList; names: Set<string> } {
  const parsed = insecureRegistryEntries([...LOOPBACK_CIDRS, ...entries]);
  const cidrs = new BlockList();
  for (const { address, prefix, family } of parsed.cidrs) cidrs.addSubnet(address, prefix, family);
  return { cidrs, names: new Set(parsed.names) };
}

/** Whether an address is in the list (an IPv4-mapped IPv6 address counts as its IPv4 one, as Go's Unmap). */
function inCidrs(cidrs: BlockList, address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const plain = mapped ?? address;
  const family = isIP(plain);
  return family !== 0 && cidrs.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/** The host of `host[:port]` or `[v6]:port`, brackets dropped. */
function hostOf(registry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(registry);
  if (bracketed) return bracketed[1] as string;
  return isIP(registry) === 6 ? registry : registry.replace(/:\d+$/, '');
}

/**
 * A host name's addresses as this machine resolves it: `/etc/hosts` first, as the system
 * resolver reads it; then the system resolver (dns.lookup) — unless CTR_RESOLV_CONF names a
 * resolver configuration without name servers (the test suite's), which keeps ctr from sending
 * a DNS query anywhere. None when the name does not resolve.
 */
export async function hostAddresses(host: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const listed = hostsFileAddresses(await readFile(HOSTS_FILE, 'utf8').catch(() => ''), host);
  if (listed.length > 0 || !(await mayQueryNameServers(env))) return listed;
  let timer: NodeJS.Timeout | undefined;
  // A resolver that never answers must not hold a pull for ever: past the resolver's own
  // default timeout (resolv.conf's 5 s) the name counts as unresolved, hence secure.
  const gaveUp = new Promise<[]>((resolve) => {
    timer = setTimeout(() => resolve([]), LOOKUP_TIMEOUT_MS);
  });
  try {
    const answered = lookup(host, { all: true }).then((entries) => entries.map((entry) => entry.address));
    return await Promise.race([answered, gaveUp]);
  } catch {
    return [];
  } finally {
    clearTimeout(timer);
  }
}

const LOOKUP_TIMEOUT_MS = 5000;

const HOSTS_FILE = '/etc/hosts';

/** The addresses a hosts file gives `host` (names match without regard to case). */
export function hostsFileAddresses(text: string, host: string): string[] {
  const wanted = host.toLowerCase();
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (address && isIP(address) !== 0 && names.some((name) => name.toLowerCase() === wanted)) out.push(address);
  }
  return out;
}

async function mayQueryNameServers(env: NodeJS.ProcessEnv): Promise<boolean> {
  const file = env.CTR_RESOLV_CONF;
  if (!file) return true;
  const text = await readFile(file, 'utf8').catch(() => '');
  return /^\s*nameserver\s+\S/m.test(text);
}
