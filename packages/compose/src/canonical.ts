import { isAbsolute, resolve } from 'node:path';
import { CtrError } from '@ctr/errors';
import { isPlainObject } from './interpolate';
import { shellSplit } from './shellwords';
import { OVERRIDE, RESET, overridden } from './merge';

/**
 * One compose file's tree with every short syntax in its long form (compose-go's
 * canonical form), so that files merge entry by entry. Relative paths are made absolute
 * here, against the directory the file's paths are relative to.
 */
export interface CanonicalContext {
  /** What relative paths in this file are relative to (the project directory, or an extended file's directory). */
  baseDir: string;
  /** `~` in a bind source. */
  home: string;
}

type Tree = Record<string, unknown>;

function invalid(message: string): CtrError {
  return new CtrError('InvalidArgument', message);
}

/** A list of `key=value` strings or a mapping, as a mapping (`key` alone: null, or `bare` when given). */
export function toMapping(value: unknown, separator = '=', bare: string | null = null): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = String(item);
      const at = text.indexOf(separator);
      if (at < 0) out[text] = bare;
      else out[text.slice(0, at)] = text.slice(at + separator.length);
    }
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) out[key] = item === null || item === undefined ? bare : scalarText(item);
  }
  return out;
}

function stringMapping(value: unknown): Record<string, string> {
  return toMapping(value, '=', '') as Record<string, string>;
}

function scalarText(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function list(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(scalarText);
}

function isRemoteContext(context: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith('git@') || context.startsWith('github.com/');
}

function absolutePath(path: string, context: CanonicalContext): string {
  if (path === '~' || path.startsWith('~/')) return resolve(context.home, path.slice(2));
  return isAbsolute(path) ? resolve(path) : resolve(context.baseDir, path);
}

/** `8080:80`, `127.0.0.1:8080:80/udp`, `[::1]:80:80`, `8000-8010:8000-8010`, `80`: compose's long form ports. */
export function parsePortShort(spec: string | number): Tree[] {
  const text = String(spec);
  const slash = text.lastIndexOf('/');
  const protocol = slash >= 0 ? text.slice(slash + 1) : 'tcp';
  let rest = slash >= 0 ? text.slice(0, slash) : text;
  let hostIp: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw invalid(`invalid port ${JSON.stringify(text)}`);
    hostIp = rest.slice(1, close);
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  let published: string | undefined;
  let container: string;
  if (hostIp === undefined && parts.length > 3) {
    // An unbracketed IPv6 address: the last two fields are the ports.
    container = parts.pop() as string;
    published = parts.pop();
    hostIp = parts.join(':');
  } else if (parts.length === 3 && hostIp === undefined) {
    [hostIp, published, container] = parts as [string, string, string];
  } else if (parts.length === 2) {
    [published, container] = parts as [string, string];
  } else if (parts.length === 1) {
    container = parts[0] as string;
  } else {
    throw invalid(`invalid port ${JSON.stringify(text)}`);
  }
  if (!['tcp', 'udp', 'sctp'].includes(protocol.toLowerCase())) throw invalid(`invalid proto: ${protocol}`);
  const targets = portRange(container, 'containerPort');
  const hosts = published ? portRange(published, 'hostPort') : undefined;
  const entry = (target: number, host: string | undefined): Tree => {
    const port: Tree = { mode: 'ingress', target, protocol: protocol.toLowerCase() };
    if (hostIp) port.host_ip = hostIp;
    if (host !== undefined) port.published = host;
    return port;
  };
  if (targets.length === 1) return [entry(targets[0] as number, published || undefined)];
  if (hosts && hosts.length !== targets.length) throw invalid(`invalid ranges specified for container and host Ports: ${container} and ${published}`);
  return targets.map((target, i) => entry(target, hosts ? String(hosts[i]) : undefined));
}

function portRange(text: string, what: string): number[] {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  const start = match ? Number(match[1]) : NaN;
  const end = match?.[2] !== undefined ? Number(match[2]) : start;
  if (!match || start > 65535 || end > 65535 || end < start) throw invalid(`invalid ${what}: ${text}`);
  return Array.from({ length: end - start + 1 }, (_, i) => start + i);
}

function canonicalPort(port: unknown): Tree[] {
  if (typeof port === 'string' || typeof port === 'number') return parsePortShort(port);
  const long = { ...(port as Tree) };
  long.target = Number(long.target);
  if (!Number.isInteger(long.target)) throw invalid(`invalid containerPort: ${String((port as Tree).target)}`);
  if (long.published !== undefined && long.published !== null) long.published = String(long.published);
  long.protocol = typeof long.protocol === 'string' ? long.protocol.toLowerCase() : 'tcp';
  long.mode ??= 'ingress';
  return [long];
}

const PROPAGATION = ['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'];

/** `./data:/data:ro`, `named:/x`, `/anon`: compose's long form volume (source still as written). */
export function parseVolumeShort(spec: string): Tree {
  if (spec.trim() === '') throw invalid('invalid empty volume spec');
  const parts = spec.split(':');
  if (parts.length > 3) throw invalid(`invalid spec: ${spec}: too many colons`);
  const volume: Tree = {};
  if (parts.length === 1) {
    volume.type = 'volume';
    volume.target = parts[0];
    return volume;
  }
  const [source, target, options] = parts as [string, string, string | undefined];
  const bind = source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
  volume.type = bind ? 'bind' : 'volume';
  volume.source = source;
  volume.target = target;
  const bindOptions: Tree = bind ? { create_host_path: true } : {};
  for (const option of options ? options.split(',') : []) {
    if (option === 'ro') volume.read_only = true;
    else if (option === 'rw') volume.read_only = false;
    else if (option === 'nocopy') volume.volume = { nocopy: true };
    else if (option === 'z' || option === 'Z') bindOptions.selinux = option;
    else if (PROPAGATION.includes(option)) bindOptions.propagation = option;
    else if (['consistent', 'cached', 'delegated'].includes(option)) volume.consistency = option;
  }
  if (bind) volume.bind = bindOptions;
  return volume;
}

function canonicalVolume(entry: unknown, context: CanonicalContext): Tree {
  const volume = typeof entry === 'string' ? parseVolumeShort(entry) : { ...(entry as Tree) };
  if (volume.type === 'bind' && typeof volume.source === 'string') volume.source = absolutePath(volume.source, context);
  return volume;
}

function canonicalFileReferences(value: unknown): Tree[] {
  return (Array.isArray(value) ? value : []).map((entry) => (typeof entry === 'string' ? { source: entry } : { ...(entry as Tree) }));
}

function canonicalBuild(value: unknown, context: CanonicalContext): Tree {
  const build: Tree = typeof value === 'string' ? { context: value } : { ...(value as Tree) };
  const dir = typeof build.context === 'string' ? build.context : '.';
  build.context = isRemoteContext(dir) ? dir : absolutePath(dir, context);
  if (build.args !== undefined) build.args = toMapping(build.args);
  if (build.labels !== undefined) build.labels = stringMapping(build.labels);
  if (build.extra_hosts !== undefined) build.extra_hosts = extraHosts(build.extra_hosts);
  if (build.secrets !== undefined) build.secrets = canonicalFileReferences(build.secrets);
  if (build.additional_contexts !== undefined) build.additional_contexts = additionalContexts(build.additional_contexts, context);
  return build;
}

/** How an `additional_contexts` entry names another service's image: `service:NAME`. */
export const SERVICE_CONTEXT = 'service:';

/** additional_contexts as a mapping, each directory made absolute as the context is; an image (`scheme://…`), a `service:` or a remote one as written. */
function additionalContexts(value: unknown, context: CanonicalContext): Record<string, string> {
  return Object.fromEntries(
    Object.entries(toMapping(value, '=', '')).map(([name, target]) => {
      const text = target ?? '';
      return [name, text === '' || text.startsWith(SERVICE_CONTEXT) || isRemoteContext(text) ? text : absolutePath(text, context)];
    }),
  );
}

/** extra_hosts as `host:ip` entries, from `host=ip`, `host:ip` or a mapping (an IP or a list of IPs). */
export function extraHosts(value: unknown): string[] {
  if (isPlainObject(value)) {
    return Object.entries(value).flatMap(([host, ips]) => list(ips).map((ip) => `${host}:${ip}`));
  }
  return list(value).map((entry) => {
    const equals = entry.indexOf('=');
    if (equals >= 0) return `${entry.slice(0, equals)}:${entry.slice(equals + 1)}`;
    return entry;
  });
}

function command(value: unknown): string[] | null {
  if (value === null) return null;
  return typeof value === 'string' ? shellSplit(value) : list(value);
}

function ulimits(value: unknown): Record<string, { soft: number; hard: number }> {
  const out: Record<string, { soft: number; hard: number }> = {};
  for (const [name, limit] of Object.entries(value as Tree)) {
    if (isPlainObject(limit)) out[name] = { soft: Number(limit.soft), hard: Number(limit.hard) };
    else out[name] = { soft: Number(limit), hard: Number(limit) };
  }
  return out;
}

function dependsOn(value: unknown): Record<string, Tree> {
  const out: Record<string, Tree> = {};
  if (Array.isArray(value)) {
    for (const name of value) out[String(name)] = { condition: 'service_started', required: true };
  } else {
    for (const [name, dep] of Object.entries(value as Tree)) {
      const long = { ...((dep ?? {}) as Tree) };
      long.condition ??= 'service_started';
      long.required = long.required === undefined ? true : toBool(long.required);
      if (long.restart !== undefined) long.restart = toBool(long.restart);
      out[name] = long;
    }
  }
  return out;
}

/** compose-go's boolean reading of an interpolated value. */
export function toBool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  return /^(true|yes|y|on)$/i.test(String(value));
}

function envFiles(value: unknown, context: CanonicalContext): Tree[] {
  return (Array.isArray(value) ? value : [value]).map((entry) => {
    const long: Tree = typeof entry === 'string' ? { path: entry, required: true } : { ...(entry as Tree) };
    long.path = absolutePath(String(long.path), context);
    long.required = long.required === undefined ? true : toBool(long.required);
    return long;
  });
}

/** Converts a value, leaving `!reset` alone and keeping a `!override` wrapper around the converted value. */
function marked(value: unknown, convert: (value: unknown) => unknown): unknown {
  if (value === undefined || value === RESET) return value;
  const wrapped = overridden(value);
  return wrapped ? { [OVERRIDE]: convert(wrapped.value) } : convert(value);
}

/** A service's short syntaxes in their long forms; keys the loader does not know are kept as written. */
export function canonicalService(raw: unknown, context: CanonicalContext): Tree {
  const service: Tree = { ...((raw ?? {}) as Tree) };
  const set = (key: string, convert: (value: unknown) => unknown): void => {
    if (service[key] !== undefined) service[key] = marked(service[key], convert);
  };
  set('build', (v) => canonicalBuild(v, context));
  set('command', command);
  set('entrypoint', command);
  set('environment', (v) => toMapping(v));
  set('env_file', (v) => envFiles(v, context));
  set('labels', stringMapping);
  set('annotations', stringMapping);
  set('sysctls', stringMapping);
  set('ports', (v) => (v as unknown[]).flatMap(canonicalPort));
  set('expose', list);
  set('volumes', (v) => (v as unknown[]).map((entry) => canonicalVolume(entry, context)));
  set('tmpfs', list);
  set('dns', list);
  set('dns_search', list);
  set('dns_opt', list);
  set('networks', (v) => (Array.isArray(v) ? Object.fromEntries(v.map((name) => [String(name), null])) : v));
  set('depends_on', dependsOn);
  set('extra_hosts', extraHosts);
  set('ulimits', ulimits);
  set('secrets', canonicalFileReferences);
  set('configs', canonicalFileReferences);
  set('devices', (v) =>
    (v as unknown[]).map((d) => (isPlainObject(d) ? [d.source, d.target ?? d.source, d.permissions].filter((p) => p !== undefined).join(':') : String(d))),
  );
  set('healthcheck', (v) => {
    const check = { ...(v as Tree) };
    if (typeof check.test === 'string') check.test = ['CMD-SHELL', check.test];
    return check;
  });
  set('logging', (v) => ({ ...(v as Tree), options: v && (v as Tree).options ? stringMapping((v as Tree).options) : {} }));
  set('deploy', (v) => {
    const deploy = { ...(v as Tree) };
    if (deploy.labels !== undefined) deploy.labels = stringMapping(deploy.labels);
    return deploy;
  });
  set('extends', (v) => (typeof v === 'string' ? { service: v } : v));
  set('profiles', list);
  for (const key of ['cap_add', 'cap_drop', 'links', 'external_links', 'security_opt', 'group_add', 'volumes_from']) set(key, list);
  return service;
}

/** A top-level network, volume, secret or config with its labels as a mapping and paths absolute. */
export function canonicalResource(raw: unknown, context: CanonicalContext): Tree {
  const resource: Tree = { ...((raw ?? {}) as Tree) };
  if (resource.labels !== undefined) resource.labels = stringMapping(resource.labels);
  if (resource.driver_opts !== undefined) resource.driver_opts = stringMapping(resource.driver_opts);
  if (isPlainObject(resource.external)) {
    // The legacy `external: { name: x }` form.
    if (typeof resource.external.name === 'string') resource.name = resource.external.name;
    resource.external = true;
  } else if (resource.external !== undefined) {
    resource.external = toBool(resource.external);
  }
  if (typeof resource.file === 'string') resource.file = absolutePath(resource.file, context);
  return resource;
}

/** A whole file's tree in canonical form. */
export function canonicalFile(raw: Tree, context: CanonicalContext): Tree {
  const out: Tree = { ...raw };
  const section = (key: string, convert: (value: unknown) => Tree): void => {
    if (!isPlainObject(raw[key])) return;
    out[key] = Object.fromEntries(Object.entries(raw[key] as Tree).map(([name, value]) => [name, marked(value, convert)]));
  };
  section('services', (v) => canonicalService(v, context));
  for (const key of ['networks', 'volumes', 'secrets', 'configs']) section(key, (v) => canonicalResource(v, context));
  return out;
}
