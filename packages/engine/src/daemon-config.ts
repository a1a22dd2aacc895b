import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { CtrError, goPathError, invalidArgument, isCtrError, unsupported } from '@ctr/errors';
import { goJsonSyntaxError, goParseBool } from '@ctr/image';
import { validDnsSettings, type NetworkManagerOptions } from '@ctr/network';
import type { RegistryClientOptions } from '@ctr/registry';
import { parseBytes, parseUlimit, ulimitOrderError, type Ulimit } from '@ctr/runtime';
import type { CreateContainerOptions } from './containers';
import { logSettings, type LogConfig } from './log-config';

/**
 * Engine-wide configuration as dockerd has it: `daemon.json` and the flags of `ctr daemon`,
 * read by ctrd and by the `ctr` command's in-process engine alike, so a setting applies
 * whichever way containers are run. An embedding program passes the same settings as
 * `EngineOptions` (`engineOptionsFromConfig` turns a file's into those).
 */

/** Where ctr looks for its configuration when none is named (dockerd's is /etc/docker/daemon.json). */
export const DEFAULT_CONFIG_FILE = '/etc/ctr/daemon.json';

/** A ulimit as daemon.json's `default-ulimits` holds it (go-units' Ulimit). */
export interface ConfigUlimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/** daemon.json: dockerd's keys, with the values its JSON has. */
export interface DaemonConfig {
  'data-root'?: string;
  'exec-root'?: string;
  'registry-mirrors'?: string[];
  'insecure-registries'?: string[];
  'log-driver'?: string;
  'log-opts'?: Record<string, string>;
  'default-ulimits'?: Record<string, ConfigUlimit>;
  'default-shm-size'?: string;
  dns?: string[];
  'dns-opts'?: string[];
  'dns-search'?: string[];
  bip?: string;
  bridge?: string;
  'fixed-cidr'?: string;
  mtu?: number;
  'default-address-pools'?: Array<{ base: string; size: number }>;
  labels?: string[];
  init?: boolean;
  'default-runtime'?: string;
  'live-restore'?: boolean;
  'max-concurrent-downloads'?: number;
  'max-concurrent-uploads'?: number;
  'shutdown-timeout'?: number;
  debug?: boolean;
  /** ctrd's log: the least severe level written (`debug` wins over it) and its format. */
  'log-level'?: string;
  'log-format'?: string;
  'raw-logs'?: boolean;
  hosts?: string[];
  /** ctrd's authorization plugins, in the order each request goes through them. */
  'authorization-plugins'?: string[];
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  features?: Record<string, boolean>;
  experimental?: boolean;
  /** What `swarm init` advertises when not told (an IP or an interface name, no port); checked there, as dockerd does. */
  'swarm-default-advertise-addr'?: string;
  // dockerd's options ctr takes only at the value that is its own behaviour (see REFUSED).
  'storage-driver'?: string;
  'selinux-enabled'?: boolean;
  'userns-remap'?: string;
  iptables?: boolean;
  'ip-forward'?: boolean;
  'ip-masq'?: boolean;
  icc?: boolean;
}

export type DaemonConfigKey = keyof DaemonConfig;

type Kind = 'string' | 'strings' | 'bool' | 'int' | 'stringMap' | 'boolMap' | 'ulimits' | 'pools';

export interface DaemonOption {
  key: DaemonConfigKey;
  kind: Kind;
  /** The flag of `ctr daemon` (dockerd's name: singular for a list, `log-opt` for `log-opts`). */
  flag?: string;
  short?: string;
  /** The flag's other name, ctr's own (`--root` for `--data-root`). */
  alias?: string;
  valueName?: string;
  description: string;
}

/** Every option of `ctr daemon` and daemon.json, in the order `--help` lists them. */
export const DAEMON_OPTIONS: readonly DaemonOption[] = [
  { key: 'authorization-plugins', kind: 'strings', flag: 'authorization-plugin', valueName: 'list', description: 'Authorization plugins to load' },
  { key: 'bip', kind: 'string', flag: 'bip', valueName: 'string', description: "Default bridge's gateway address and subnet (CIDR); the gateway must be the subnet's first address" },
  { key: 'bridge', kind: 'string', flag: 'bridge', short: 'b', valueName: 'string', description: 'Name of the default bridge (default ctr0)' },
  { key: 'data-root', kind: 'string', flag: 'data-root', alias: 'root', valueName: 'string', description: 'Root of persistent state (default $CTR_ROOT or /var/lib/ctr)' },
  { key: 'debug', kind: 'bool', flag: 'debug', short: 'D', description: 'Enable debug mode' },
  { key: 'default-address-pools', kind: 'pools', flag: 'default-address-pool', valueName: 'pool-options', description: 'Default address pool for new networks (base=CIDR,size=N; one)' },
  { key: 'default-runtime', kind: 'string', flag: 'default-runtime', valueName: 'string', description: 'Default OCI runtime for containers (only runc)' },
  { key: 'default-shm-size', kind: 'string', flag: 'default-shm-size', valueName: 'bytes', description: 'Default shm size for containers (default 64MiB)' },
  { key: 'default-ulimits', kind: 'ulimits', flag: 'default-ulimit', valueName: 'ulimit', description: 'Default ulimits for containers (name=soft[:hard])' },
  { key: 'dns', kind: 'strings', flag: 'dns', valueName: 'list', description: 'DNS server for containers to use' },
  { key: 'dns-opts', kind: 'strings', flag: 'dns-opt', valueName: 'list', description: 'DNS options for containers to use' },
  { key: 'dns-search', kind: 'strings', flag: 'dns-search', valueName: 'list', description: 'DNS search domains for containers to use' },
  { key: 'exec-root', kind: 'string', flag: 'exec-root', alias: 'runroot', valueName: 'string', description: 'Root of state that dies with the machine (default $CTR_RUNROOT or /run/ctr)' },
  { key: 'experimental', kind: 'bool', flag: 'experimental', description: 'Enable experimental features (reported by info; ctr has none held back)' },
  { key: 'features', kind: 'boolMap', description: 'Feature toggles (daemon.json only), reported and reloaded' },
  { key: 'fixed-cidr', kind: 'string', flag: 'fixed-cidr', valueName: 'string', description: "IPv4 subnet for fixed IPs (only the default bridge's whole subnet)" },
  { key: 'hosts', kind: 'strings', flag: 'host', short: 'H', valueName: 'list', description: 'Daemon socket(s) to listen on (default unix:///run/ctr/ctr.sock)' },
  { key: 'icc', kind: 'bool', flag: 'icc', description: 'Enable inter-container communication (only true)' },
  { key: 'init', kind: 'bool', flag: 'init', description: 'Run an init in containers to forward signals and reap processes' },
  { key: 'insecure-registries', kind: 'strings', flag: 'insecure-registry', valueName: 'list', description: 'Registries (host:port) that may be reached over plain HTTP' },
  { key: 'ip-forward', kind: 'bool', flag: 'ip-forward', description: 'Enable IP forwarding (only true)' },
  { key: 'ip-masq', kind: 'bool', flag: 'ip-masq', description: 'Enable IP masquerading (only true)' },
  { key: 'iptables', kind: 'bool', flag: 'iptables', description: 'Enable addition of iptables rules (only true)' },
  { key: 'labels', kind: 'strings', flag: 'label', valueName: 'list', description: 'Set key=value labels to the daemon' },
  { key: 'live-restore', kind: 'bool', flag: 'live-restore', description: 'Accepted: containers always outlive ctrd under conmon' },
  { key: 'log-driver', kind: 'string', flag: 'log-driver', valueName: 'string', description: 'Default driver for container logs (default "json-file")' },
  { key: 'log-format', kind: 'string', flag: 'log-format', valueName: 'string', description: 'Set the logging format ("text"|"json") (default "text")' },
  { key: 'log-level', kind: 'string', flag: 'log-level', short: 'l', valueName: 'string', description: 'Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")' },
  { key: 'log-opts', kind: 'stringMap', flag: 'log-opt', valueName: 'map', description: 'Default log driver options for containers' },
  { key: 'max-concurrent-downloads', kind: 'int', flag: 'max-concurrent-downloads', valueName: 'int', description: 'Set the max concurrent downloads (default 3)' },
  { key: 'max-concurrent-uploads', kind: 'int', flag: 'max-concurrent-uploads', valueName: 'int', description: 'Set the max concurrent uploads (default 5)' },
  { key: 'mtu', kind: 'int', flag: 'mtu', valueName: 'int', description: 'Network MTU (only 1500)' },
  { key: 'raw-logs', kind: 'bool', flag: 'raw-logs', description: "Full timestamps without ANSI coloring (ctrd's log always is)" },
  { key: 'registry-mirrors', kind: 'strings', flag: 'registry-mirror', valueName: 'list', description: 'Preferred Docker registry mirror (tried first for docker.io pulls)' },
  { key: 'selinux-enabled', kind: 'bool', flag: 'selinux-enabled', description: 'Enable selinux support (only false)' },
  { key: 'shutdown-timeout', kind: 'int', flag: 'shutdown-timeout', valueName: 'int', description: 'Accepted and reloaded: ctrd stops no containers when it shuts down' },
  { key: 'storage-driver', kind: 'string', flag: 'storage-driver', short: 's', valueName: 'string', description: 'Storage driver to use (only overlay2)' },
  { key: 'swarm-default-advertise-addr', kind: 'string', flag: 'swarm-default-advertise-addr', valueName: 'string', description: 'Set default address or interface for swarm advertised address' },
  { key: 'tls', kind: 'bool', flag: 'tls', description: 'Use TLS; implied by --tlsverify (ctrd serves TLS only with --tlsverify)' },
  { key: 'tlscacert', kind: 'string', flag: 'tlscacert', valueName: 'string', description: 'Trust certs signed only by this CA' },
  { key: 'tlscert', kind: 'string', flag: 'tlscert', valueName: 'string', description: 'Path to TLS certificate file' },
  { key: 'tlskey', kind: 'string', flag: 'tlskey', valueName: 'string', description: 'Path to TLS key file' },
  { key: 'tlsverify', kind: 'bool', flag: 'tlsverify', description: 'Use TLS and verify the remote' },
  { key: 'userns-remap', kind: 'string', flag: 'userns-remap', valueName: 'string', description: "User/Group setting for user namespaces (only empty: the host's user namespace)" },
];

const BY_KEY = new Map<string, DaemonOption>(DAEMON_OPTIONS.map((o) => [o.key, o]));

/**
 * dockerd's options ctr knows but cannot honour beyond its own behaviour: the values it
 * takes (what ctr does anyway), and why no other. Any other value is refused, never ignored.
 */
const REFUSED: Partial<Record<DaemonConfigKey, { accepts: readonly unknown[]; why: string }>> = {
  'storage-driver': { accepts: ['overlay2', 'overlay'], why: "ctr's store is overlay2 only" },
  'selinux-enabled': { accepts: [false], why: 'ctr applies no SELinux labels' },
  'userns-remap': { accepts: [''], why: "ctr runs containers in the host's user namespace" },
  iptables: { accepts: [true], why: "ctr's bridges always use iptables" },
  'ip-forward': { accepts: [true], why: "ctr's bridges need IP forwarding" },
  'ip-masq': { accepts: [true], why: "ctr's bridges always masquerade" },
  icc: { accepts: [true], why: "containers on ctr's bridges always reach each other" },
  mtu: { accepts: [1500], why: "ctr's bridges have the 1500-byte MTU; give a network its own with --opt com.docker.network.driver.mtu" },
  'default-runtime': { accepts: ['runc'], why: 'runc is the only runtime ctr runs' },
};

/** dockerd's options (daemon.json keys) ctr has nothing of, with why: named, they are refused. */
const ABSENT: Readonly<Record<string, string>> = Object.fromEntries(
  [
    ...['swarm-raft-heartbeat-tick', 'swarm-raft-election-tick'].map((k) => [k, "ctr's swarm has a single manager and no raft to tune"]),
    ...['cluster-store', 'cluster-advertise', 'cluster-store-opts'].map((k) => [k, "overlay networks with an external key-value store are gone from dockerd too (23.0); ctr's overlay networks are swarm's"]),
    ['node-generic-resources', "ctr's swarm nodes advertise no generic resources"],
    ['storage-opts', "ctr's overlay2 store takes no options"],
    ['runtimes', 'runc is the only runtime ctr runs'],
    ['exec-opts', 'ctr uses the cgroupfs driver only'],
    ['cgroup-parent', "give containers --cgroup-parent; ctr has no daemon-wide parent"],
    ['default-cgroupns-mode', 'give containers --cgroupns'],
    ['default-ipc-mode', 'give containers --ipc'],
    ['seccomp-profile', "ctr applies its built-in seccomp profile (or a container's --security-opt seccomp=unconfined)"],
    ['no-new-privileges', 'give containers --security-opt no-new-privileges'],
    ['ipv6', 'the default bridge is IPv4 only; create a network with --ipv6'],
    ['fixed-cidr-v6', 'the default bridge is IPv4 only'],
    ['ip', 'give published ports their address (-p IP:port:port)'],
    ['default-gateway', "the default bridge's gateway is its subnet's first address (bip)"],
    ['userland-proxy', "ctr's userland proxy is always on, as dockerd's default: it carries IPv6 host ports ([::]:8080 of -p 8080:80 too) to containers, and cannot be turned off"],
    ['containerd', 'ctr runs runc under conmon, without containerd'],
    ['group', "ctrd's unix socket is root's"],
    ['pidfile', 'ctrd writes no pid file (one daemon per root is locked under the root)'],
    ['metrics-addr', 'ctrd serves no metrics'],
    ['max-download-attempts', 'pulls are tried once'],
    ['http-proxy', "ctrd reads the proxy from its environment (HTTP_PROXY)"],
    ['https-proxy', "ctrd reads the proxy from its environment (HTTPS_PROXY)"],
    ['no-proxy', "ctrd reads the proxy from its environment (NO_PROXY)"],
    ['default-network-opts', 'give networks their options at create'],
    ['cdi-spec-dirs', 'ctr has no device drivers'],
    ['host-gateway-ip', 'host-gateway is the default bridge gateway'],
    ['host-gateway-ips', 'host-gateway is the default bridge gateway'],
    ['api-cors-header', 'use a reverse proxy if you need CORS headers'],
  ].map(([k, why]) => [k as string, why as string]),
);

/** Keys dockerd lets be (skipValidateOptions): `builder` (build cache gc) and deprecated ones; ctr too. */
const IGNORED = new Set(['builder', 'deprecated-key-path', 'allow-nondistributable-artifacts']);

/** Keys whose object value is the option's, not a group of options (dockerd's flatOptions). */
const FLAT = new Set(['log-opts', 'default-ulimits', 'features', 'builder', 'runtimes', 'default-network-opts', 'cluster-store-opts']);

/** A value as Go's `%v` prints an `interface{}` a JSON document decoded to. */
function goValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(goValue).join(' ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${goValue(v)}`).join(' ')}]`;
  }
  return value === null ? '<nil>' : String(value);
}

const jsonType = (value: unknown): string => (Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value === 'boolean' ? 'bool' : typeof value);

/** encoding/json's refusal of a value of the wrong type, in Go's words. */
function typeError(key: string, value: unknown, goType: string): CtrError {
  return invalidArgument(`json: cannot unmarshal ${jsonType(value)} into Go struct field Config.${key} of type ${goType}`);
}

const GO_TYPES: Record<Kind, string> = {
  string: 'string',
  strings: '[]string',
  bool: 'bool',
  int: 'int',
  stringMap: 'map[string]string',
  boolMap: 'map[string]bool',
  ulimits: 'map[string]*units.Ulimit',
  pools: '[]*address.PoolOpts',
};

/**
 * Every number of a well-formed JSON text as written, by the path of keys and indexes to it:
 * JSON.parse reads `1.0` and `1e3` as 1 and 1000, which Go's decoding into an int refuses. A key
 * written twice keeps its last number, as JSON.parse keeps its last value.
 */
function numberLiterals(text: string): Map<string, string> {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[{}[\]]|true|false|null/g) ?? [];
  const literals = new Map<string, string>();
  let i = 0;
  const value = (path: readonly string[]): void => {
    const token = tokens[i++] as string;
    if (token === '{') {
      while (tokens[i] !== '}') {
        const key = JSON.parse(tokens[i++] as string) as string;
        value([...path, key]);
      }
      i++;
    } else if (token === '[') {
      for (let index = 0; tokens[i] !== ']'; index++) value([...path, String(index)]);
      i++;
    } else if (/^-?\d/.test(token)) literals.set(JSON.stringify(path), token);
  };
  value([]);
  return literals;
}

const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

/** Whether a number literal is one strconv.ParseInt takes into an int64, as Go's json decodes into an int. */
function goInt(literal: string | undefined): boolean {
  return literal !== undefined && /^-?\d+$/.test(literal) && BigInt(literal) >= INT64.min && BigInt(literal) <= INT64.max;
}

/** A value of the file and where it was: the path of keys to it, for numberLiterals. */
interface FileValue {
  value: unknown;
  path: readonly string[];
}

/** A file's value for `option`, checked as encoding/json decodes it into dockerd's Config. */
function decodeValue(option: DaemonOption, { value, path }: FileValue, literals: ReadonlyMap<string, string>): unknown {
  const { key, kind } = option;
  const fail = (): never => {
    throw typeError(key, value, GO_TYPES[kind]);
  };
  const literal = (at: readonly string[]): string | undefined => literals.get(JSON.stringify(at));
  const isInt = (v: unknown, at: readonly string[]): boolean => typeof v === 'number' && goInt(literal(at));
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  const each = <T>(v: Record<string, unknown>, check: (item: unknown, name: string) => T): Record<string, T> => Object.fromEntries(Object.entries(v).map(([k, item]) => [k, check(item, k)]));
  switch (kind) {
    case 'string':
      return typeof value === 'string' ? value : fail();
    case 'bool':
      return typeof value === 'boolean' ? value : fail();
    case 'int':
      if (typeof value !== 'number') return fail();
      if (!isInt(value, path)) throw invalidArgument(`json: cannot unmarshal number ${literal(path) as string} into Go struct field Config.${key} of type int`);
      return value;
    case 'strings':
      return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : fail();
    case 'stringMap':
      return isObject(value) ? each(value, (v) => (typeof v === 'string' ? v : (fail() as never))) : fail();
    case 'boolMap':
      return isObject(value) ? each(value, (v) => (typeof v === 'boolean' ? v : (fail() as never))) : fail();
    case 'ulimits':
      if (!isObject(value)) return fail();
      return each(value, (v, name) => {
        if (!isObject(v) || typeof v.Name !== 'string' || !isInt(v.Soft, [...path, name, 'Soft']) || !isInt(v.Hard, [...path, name, 'Hard'])) return fail();
        return { Name: v.Name, Soft: v.Soft as number, Hard: v.Hard as number };
      });
    case 'pools':
      if (!Array.isArray(value)) return fail();
      return value.map((v: unknown, index) => (isObject(v) && typeof v.base === 'string' && isInt(v.size, [...path, String(index), 'size']) ? { base: v.base, size: v.size as number } : fail()));
  }
}

/** dockerd's configValuesSet: an object value that is not an option's own stands for the options in it. */
function valuesSet(json: Record<string, unknown>): Map<string, FileValue> {
  const flat = new Map<string, FileValue>();
  for (const [key, value] of Object.entries(json)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !FLAT.has(key)) {
      for (const [inner, v] of Object.entries(value)) flat.set(inner, { value: v, path: [key, inner] });
    } else flat.set(key, { value, path: [key] });
  }
  return flat;
}

/**
 * The file's configuration, as dockerd reads one (getConflictFreeConfiguration): a byte order
 * mark dropped, an empty file an empty configuration, Go's words for a syntax error, keys no
 * option of dockerd's has refused together. A missing file is undefined unless `required`.
 */
export function readDaemonConfigFile(file: string, required: boolean): DaemonConfig | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw configError(file, invalidArgument(goPathError(error, file)));
  }
  try {
    return decodeConfig(text.replace(/^\ufeff/, '').trim());
  } catch (error) {
    throw configError(file, error);
  }
}

function decodeConfig(text: string): DaemonConfig {
  if (text === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalidArgument(goJsonSyntaxError(text) ?? 'invalid JSON');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw invalidArgument(`json: cannot unmarshal ${jsonType(json)} into Go value of type map[string]interface {}`);
  }
  const set = valuesSet(json as Record<string, unknown>);
  const unknown = [...set.keys()].filter((key) => !BY_KEY.has(key) && !(key in ABSENT) && !IGNORED.has(key));
  if (unknown.length > 0) throw invalidArgument(`the following directives don't match any configuration option: ${unknown.sort().join(', ')}`);
  const literals = numberLiterals(text);
  const config: Record<string, unknown> = {};
  for (const [key, found] of set) {
    const option = BY_KEY.get(key);
    // A JSON null leaves a Go field as it was.
    if (option && found.value !== null) config[key] = decodeValue(option, found, literals);
    else if (key in ABSENT) throw absent(key);
  }
  return config as DaemonConfig;
}

function absent(key: string): CtrError {
  return unsupported(`ctr does not support the "${key}" configuration option: ${ABSENT[key] ?? ''}`);
}

/** dockerd's wrapping of what is wrong with a configuration file. */
function configError(file: string, error: unknown): CtrError {
  const reason = error instanceof Error ? error.message : String(error);
  const hint = isCtrError(error) ? error.hint : undefined;
  return new CtrError(isCtrError(error) ? error.code : 'InvalidArgument', `unable to configure the ctr daemon with file ${file}: ${reason}`, { cause: error, ...(hint ? { hint } : {}) });
}

/** The flags given as dockerd's config keys (`--label a --label b` is `labels: ['a', 'b']`). */
export type FlagConfig = DaemonConfig;

/**
 * A flag's value for option `key` added to `flags` (a list's and a map's values gather), as
 * dockerd's pflag values parse theirs.
 */
export function addFlagValue(flags: FlagConfig, option: DaemonOption, text: string): void {
  const target = flags as Record<string, unknown>;
  const name = `--${option.flag ?? option.key}`;
  const bad = (why: string): CtrError => invalidArgument(`invalid argument "${text}" for "${option.short ? `-${option.short}, ` : ''}${name}" flag: ${why}`, { details: { usage: true } });
  switch (option.kind) {
    case 'string':
      target[option.key] = text;
      return;
    case 'bool': {
      const value = goParseBool(text);
      if (value === undefined) throw bad(`strconv.ParseBool: parsing "${text}": invalid syntax`);
      target[option.key] = value;
      return;
    }
    case 'int':
      if (!/^[+-]?\d+$/.test(text)) throw bad(`strconv.ParseInt: parsing "${text}": invalid syntax`);
      target[option.key] = Number(text);
      return;
    case 'strings':
      target[option.key] = [...((target[option.key] as string[] | undefined) ?? []), text];
      return;
    case 'stringMap': {
      const eq = text.indexOf('=');
      if (eq < 1) throw bad(`invalid key value pair format: ${text}`);
      target[option.key] = { ...(target[option.key] as Record<string, string> | undefined), [text.slice(0, eq)]: text.slice(eq + 1) };
      return;
    }
    case 'ulimits': {
      const ulimit = parseUlimit(text);
      if (!ulimit) throw bad(`invalid ulimit argument: ${text}`);
      const { name, soft, hard } = ulimit;
      target[option.key] = { ...(target[option.key] as Record<string, ConfigUlimit> | undefined), [name]: { Name: name, Soft: soft, Hard: hard } };
      return;
    }
    case 'pools': {
      const fields = Object.fromEntries(text.split(',').map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)]));
      if (fields.base === undefined || !/^\d+$/.test(fields.size ?? '')) throw bad('invalid pool format: want base=CIDR,size=N');
      target[option.key] = [...((target[option.key] as unknown[] | undefined) ?? []), { base: fields.base, size: Number(fields.size) }];
      return;
    }
    case 'boolMap':
      throw bad('only daemon.json sets this');
  }
}

/** The daemon option a flag (`--label`, `-D`, `--root`) names, if any. */
export function daemonOptionOfFlag(flag: string): DaemonOption | undefined {
  return DAEMON_OPTIONS.find((o) => (o.flag !== undefined && flag === `--${o.flag}`) || (o.short !== undefined && flag === `-${o.short}`) || (o.alias !== undefined && flag === `--${o.alias}`));
}

/** The file's configuration with the flags over it, refused where both set one, as dockerd refuses it. */
export function mergeDaemonConfig(file: DaemonConfig | undefined, flags: FlagConfig, fileName: string): DaemonConfig {
  if (!file) return flags;
  const both = (Object.keys(flags) as DaemonConfigKey[]).filter((key) => key in file);
  if (both.length > 0) {
    const conflicts = both.map((key) => `${key}: (from flag: ${goValue(flags[key])}, from file: ${goValue(file[key])})`);
    throw configError(fileName, invalidArgument(`the following directives are specified both as a flag and in the configuration file: ${conflicts.join(', ')}`));
  }
  return { ...file, ...flags };
}

/** dockerd's GetConflictFreeLabels and ValidateLabel: `key=value` each, one value a key. */
function checkLabels(labels: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const label of labels) {
    const eq = label.indexOf('=');
    if (eq < 0) throw invalidArgument(`bad attribute format: ${label}`);
    const [key, value] = [label.slice(0, eq), label.slice(eq + 1)];
    const before = seen.get(key);
    if (before !== undefined && before !== value) throw invalidArgument(`conflict labels for ${key}=${value} and ${key}=${before}`);
    seen.set(key, value);
  }
}

/** The default bridge's subnet of a `bip` (gateway/prefix): ctr's bridge takes the subnet's first address as its gateway. */
function bipSubnet(bip: string): string {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(bip);
  if (!match || !isIPv4(match[1] as string)) throw invalidArgument(`invalid bip: ${bip}`, { hint: 'give the gateway address and prefix, e.g. 10.20.0.1/16' });
  const prefix = Number(match[2]);
  const ip = (match[1] as string).split('.').reduce((n, part) => n * 256 + Number(part), 0);
  const size = 2 ** (32 - prefix);
  const base = ip - (ip % size);
  if (ip !== base + 1) {
    throw unsupported(`bip ${bip}: ctr's default bridge takes its subnet's first address as gateway`, { hint: `give bip as ${dotted(base + 1)}/${prefix}` });
  }
  return `${dotted(base)}/${prefix}`;
}

const dotted = (n: number): string => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');

/** The levels of ctrd's log (logrus's), the most severe first: a level writes its own lines and those before it. */
export const DAEMON_LOG_LEVELS = ['panic', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type DaemonLogLevel = (typeof DAEMON_LOG_LEVELS)[number];

/** `log-format`: logrus's text formatter (dockerd's default) or its JSON one. */
export const DAEMON_LOG_FORMATS = ['text', 'json'] as const;
export type DaemonLogFormat = (typeof DAEMON_LOG_FORMATS)[number];

/**
 * ctrd's log level at its start, as dockerd sets it: `debug` over `log-level` (lower-cased, as
 * logrus parses it), info when neither says.
 */
export function daemonLogLevel(config: Pick<DaemonConfig, 'debug' | 'log-level'>): DaemonLogLevel {
  if (config.debug === true) return 'debug';
  return (config['log-level'] !== undefined ? logLevel(config['log-level']) : undefined) ?? 'info';
}

/** logrus's ParseLevel: a level in any case, `warning` the same as `warn` (a common daemon.json spelling). */
function logLevel(text: string): DaemonLogLevel | undefined {
  const lower = text.toLowerCase();
  if (lower === 'warning') return 'warn';
  return DAEMON_LOG_LEVELS.find((level) => level === lower);
}

/**
 * What dockerd's Validate and its start check of a configuration, and ctr's refusals of what
 * it cannot honour: the first problem found, thrown.
 */
export function validateDaemonConfig(config: DaemonConfig): void {
  for (const [key, refused] of Object.entries(REFUSED) as Array<[DaemonConfigKey, { accepts: readonly unknown[]; why: string }]>) {
    const value = config[key];
    if (value === undefined || refused.accepts.includes(value)) continue;
    if (key === 'default-runtime') throw invalidArgument(`specified default runtime '${String(value)}' does not exist`, { hint: refused.why });
    if (key === 'mtu' && typeof value === 'number' && value < 0) throw invalidArgument(`invalid default MTU: ${value}`);
    throw unsupported(`ctr does not support ${key} ${JSON.stringify(value)}: ${refused.why}`);
  }
  // dockerd's Validate: any of logrus's levels, in any case; the formats of containerd's log package.
  if (config['log-level'] !== undefined && logLevel(config['log-level']) === undefined) throw invalidArgument(`invalid logging level: ${config['log-level']}`);
  if (config['log-format'] !== undefined && !DAEMON_LOG_FORMATS.includes(config['log-format'] as DaemonLogFormat)) throw invalidArgument(`invalid log format: ${config['log-format']}`);
  checkLabels(config.labels ?? []);
  for (const key of ['max-concurrent-downloads', 'max-concurrent-uploads'] as const) {
    const value = config[key];
    if (value !== undefined && value < 0) throw invalidArgument(`invalid ${key.replace(/-/g, ' ')}: ${value}`);
  }
  validDnsSettings({ ...(config.dns ? { servers: config.dns } : {}), ...(config['dns-search'] ? { search: config['dns-search'] } : {}), ...(config['dns-opts'] ? { options: config['dns-opts'] } : {}) });
  if (config['log-driver'] !== undefined || config['log-opts'] !== undefined) logSettings(defaultLog(config));
  if (config['default-shm-size'] !== undefined) parseBytes(config['default-shm-size'], 'default-shm-size');
  for (const ulimit of Object.values(config['default-ulimits'] ?? {})) {
    const order = ulimitOrderError(ulimit.Soft, ulimit.Hard);
    if (order) throw invalidArgument(order);
  }
  if (config.bip !== undefined) bipSubnet(config.bip);
  if (config['fixed-cidr'] !== undefined && (config.bip === undefined || config['fixed-cidr'] !== bipSubnet(config.bip))) {
    throw unsupported(`ctr does not support fixed-cidr ${config['fixed-cidr']}: the default bridge allocates from its whole subnet`, { hint: 'leave fixed-cidr out, or set it to the subnet of bip' });
  }
  if (config.bridge === 'none') throw unsupported('ctr does not support bridge "none": the default bridge network is always there');
  if ((config['default-address-pools'] ?? []).length > 1) throw unsupported('ctr takes one default address pool', { hint: 'give default-address-pools a single {"base": CIDR, "size": N}' });
  if (config.tls === true && config.tlsverify !== true) throw unsupported('ctrd serves TLS only with client verification', { hint: 'set tlsverify with tlscacert, tlscert and tlskey' });
  if (config.tlsverify === true && !(config.tlscacert && config.tlscert && config.tlskey)) throw invalidArgument('--tlsverify needs --tlscacert, --tlscert and --tlskey');
}

/** The log driver and options containers get when they name none (`log-driver`, `log-opts`). */
function defaultLog(config: DaemonConfig): LogConfig {
  return { ...(config['log-driver'] !== undefined ? { driver: config['log-driver'] } : {}), ...(config['log-opts'] ? { options: config['log-opts'] } : {}) };
}

/** What containers get from the engine when their own settings say nothing (daemon.json's container defaults). */
export interface ContainerDefaults {
  /** `log-driver` / `log-opts`: a container naming no driver gets this one, and its options under its own. */
  log?: LogConfig;
  /** `default-ulimits`: each one a container does not set itself. */
  ulimits?: Ulimit[];
  /** `default-shm-size`, bytes. */
  shmSize?: number;
  dns?: string[];
  dnsOptions?: string[];
  dnsSearch?: string[];
  /** `init`: `--init` for containers that do not say. */
  init?: boolean;
}

/** The engine-wide settings of daemon.json, as an embedding program passes them in `EngineOptions`. */
export interface DaemonSettings {
  /** Defaults for the containers this engine creates. */
  containerDefaults?: ContainerDefaults;
  /** The default bridge (`bip`, `bridge`) and where new networks' subnets come from (`default-address-pools`). */
  networks?: Pick<NetworkManagerOptions, 'defaultBridge' | 'addressPool'>;
  /** Engine labels (`key=value`), as `info` shows them. */
  labels?: string[];
  /** The engine's debug mode, as `info` shows it. */
  debug?: boolean;
  /** As `info` shows it (ExperimentalBuild); ctr holds no features back. */
  experimental?: boolean;
  /** Accepted as dockerd's: containers always outlive ctrd (they run under conmon), whatever it says. */
  liveRestore?: boolean;
  /** Seconds, reported and reloaded as dockerd's: ctrd stops no containers when it shuts down. */
  shutdownTimeout?: number;
  features?: Record<string, boolean>;
}

/** The engine options a configuration sets: roots, registry settings and the engine-wide ones. */
export interface ConfiguredEngineOptions extends DaemonSettings {
  root?: string;
  runRoot?: string;
  registry?: Pick<RegistryClientOptions, 'mirrors' | 'insecureRegistries' | 'maxConcurrentDownloads' | 'maxConcurrentUploads'>;
  /** Not the engine's: what a swarm over it advertises at `swarm init` when not told (an IP or an interface name). */
  swarmDefaultAdvertiseAddr?: string;
}

function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The engine options of a (validated) configuration; what it does not set is left out. */
export function engineOptionsFromConfig(config: DaemonConfig): ConfiguredEngineOptions {
  const containerDefaults = defined<ContainerDefaults>({
    log: config['log-driver'] !== undefined || config['log-opts'] !== undefined ? defaultLog(config) : undefined,
    ulimits: config['default-ulimits'] ? Object.values(config['default-ulimits']).map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })) : undefined,
    shmSize: config['default-shm-size'] !== undefined ? parseBytes(config['default-shm-size'], 'default-shm-size') : undefined,
    dns: config.dns,
    dnsOptions: config['dns-opts'],
    dnsSearch: config['dns-search'],
    init: config.init,
  });
  const pool = config['default-address-pools']?.[0];
  const defaultBridge = defined({ bridgeName: config.bridge, subnet: config.bip !== undefined ? bipSubnet(config.bip) : undefined });
  const networks = defined<NonNullable<DaemonSettings['networks']>>({
    defaultBridge: Object.keys(defaultBridge).length > 0 ? defaultBridge : undefined,
    addressPool: pool,
  });
  const registry = defined<NonNullable<ConfiguredEngineOptions['registry']>>({
    mirrors: config['registry-mirrors'],
    insecureRegistries: config['insecure-registries'],
    maxConcurrentDownloads: config['max-concurrent-downloads'] || undefined,
    maxConcurrentUploads: config['max-concurrent-uploads'] || undefined,
  });
  return defined<ConfiguredEngineOptions>({
    root: config['data-root'],
    runRoot: config['exec-root'],
    registry: Object.keys(registry).length > 0 ? registry : undefined,
    containerDefaults: Object.keys(containerDefaults).length > 0 ? containerDefaults : undefined,
    networks: Object.keys(networks).length > 0 ? networks : undefined,
    labels: config.labels,
    debug: config.debug,
    experimental: config.experimental,
    liveRestore: config['live-restore'],
    shutdownTimeout: config['shutdown-timeout'],
    features: config.features,
    swarmDefaultAdvertiseAddr: config['swarm-default-advertise-addr'] || undefined,
  });
}

/**
 * The configuration from `file` (the default one may be missing) with `flags` over it, checked:
 * what `ctr daemon` starts with and what the `ctr` command's engine is made with.
 */
export function loadDaemonConfig(options: { file?: string; flags?: FlagConfig }): DaemonConfig {
  const fileName = options.file ?? DEFAULT_CONFIG_FILE;
  const file = readDaemonConfigFile(fileName, options.file !== undefined);
  const merged = mergeDaemonConfig(file, options.flags ?? {}, fileName);
  try {
    validateDaemonConfig(merged);
  } catch (error) {
    // dockerd's loadDaemonCliConfig: the flags alone are checked as they are; with a file read, the error names it.
    if (!isCtrError(error) || file === undefined) throw error;
    const merging = new CtrError(error.code, `merged configuration validation from file and command line flags failed: ${error.message}`, { cause: error, ...(error.hint ? { hint: error.hint } : {}) });
    throw configError(fileName, merging);
  }
  return merged;
}

/** The settings dockerd reloads on SIGHUP (daemon/reload.go), as the engine keeps them. */
export type ReloadableSettings = Pick<DaemonSettings, 'labels' | 'debug' | 'liveRestore' | 'shutdownTimeout' | 'features'> & {
  registry?: Pick<RegistryClientOptions, 'mirrors' | 'insecureRegistries' | 'maxConcurrentDownloads' | 'maxConcurrentUploads'>;
};

/**
 * What a reload of `config` changes of `current`, by dockerd's rules: a setting the file names
 * replaces the running one, one it leaves out stays; the download and upload limits go back to
 * their defaults unless named, and `features` is the file's whatever it says.
 */
export function reloadedSettings(current: ReloadableSettings, config: DaemonConfig): ReloadableSettings {
  const options = engineOptionsFromConfig(config);
  const pick = <K extends keyof DaemonSettings>(key: K, named: boolean): Pick<DaemonSettings, K> | Record<string, never> =>
    named ? ({ [key]: options[key] } as Pick<DaemonSettings, K>) : current[key as keyof ReloadableSettings] !== undefined ? ({ [key]: current[key as keyof ReloadableSettings] } as Pick<DaemonSettings, K>) : {};
  const registry = {
    mirrors: config['registry-mirrors'] ?? current.registry?.mirrors ?? [],
    insecureRegistries: config['insecure-registries'] ?? current.registry?.insecureRegistries ?? [],
    maxConcurrentDownloads: config['max-concurrent-downloads'] || DEFAULT_MAX_CONCURRENT_DOWNLOADS,
    maxConcurrentUploads: config['max-concurrent-uploads'] || DEFAULT_MAX_CONCURRENT_UPLOADS,
  };
  return defined({
    ...pick('labels', config.labels !== undefined),
    ...pick('debug', config.debug !== undefined),
    ...pick('liveRestore', config['live-restore'] !== undefined),
    ...pick('shutdownTimeout', config['shutdown-timeout'] !== undefined),
    features: config.features,
    registry,
  });
}

const DEFAULT_MAX_CONCURRENT_DOWNLOADS = 3;
const DEFAULT_MAX_CONCURRENT_UPLOADS = 5;
const DEFAULT_SHUTDOWN_TIMEOUT = 15;

/** A `daemon reload` event's attributes as dockerd gives them: every reloadable setting's value after the reload. */
export function reloadAttributes(settings: ReloadableSettings): Record<string, string> {
  const list = (values: readonly string[] | undefined): string => JSON.stringify(values ?? []);
  return {
    'allow-nondistributable-artifacts': '[]',
    debug: String(settings.debug === true),
    'default-runtime': 'runc',
    features: goValue(settings.features ?? {}),
    'insecure-registries': list(settings.registry?.insecureRegistries),
    labels: list(settings.labels),
    'live-restore': String(settings.liveRestore === true),
    'max-concurrent-downloads': String(settings.registry?.maxConcurrentDownloads ?? DEFAULT_MAX_CONCURRENT_DOWNLOADS),
    'max-concurrent-uploads': String(settings.registry?.maxConcurrentUploads ?? DEFAULT_MAX_CONCURRENT_UPLOADS),
    'registry-mirrors': list(settings.registry?.mirrors),
    runtimes: 'runc',
    'shutdown-timeout': String(settings.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT),
  };
}

/**
 * A create's options with the engine's defaults where it says nothing, as dockerd fills them:
 * the default log driver for a container naming none (its options under the container's when
 * the driver is the default's), default ulimits under the container's of the same name, the
 * shm size, DNS settings each where the container gives none (not on another container's
 * network, which brings its own) and `--init`.
 */
export function withContainerDefaults(options: CreateContainerOptions, defaults: ContainerDefaults | undefined): CreateContainerOptions {
  if (!defaults) return options;
  const filled: CreateContainerOptions = { ...options };
  if (defaults.log) {
    const driver = options.log?.driver || defaults.log.driver || 'json-file';
    const sameDriver = driver === (defaults.log.driver || 'json-file');
    const logOptions = sameDriver ? { ...defaults.log.options, ...options.log?.options } : options.log?.options;
    filled.log = { driver, ...(logOptions ? { options: logOptions } : {}) };
  }
  if (defaults.ulimits?.length) {
    const own = new Set((options.ulimits ?? []).map((u) => u.name));
    filled.ulimits = [...(options.ulimits ?? []), ...defaults.ulimits.filter((u) => !own.has(u.name))];
  }
  if (options.shmSize === undefined && defaults.shmSize !== undefined) filled.shmSize = defaults.shmSize;
  if (!options.network?.startsWith('container:')) {
    if (!options.dns?.length && defaults.dns) filled.dns = defaults.dns;
    if (!options.dnsOptions?.length && defaults.dnsOptions) filled.dnsOptions = defaults.dnsOptions;
    if (!options.dnsSearch?.length && defaults.dnsSearch) filled.dnsSearch = defaults.dnsSearch;
  }
  if (options.init === undefined && defaults.init !== undefined) filled.init = defaults.init;
  return filled;
}
