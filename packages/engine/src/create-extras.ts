import path from 'node:path';
import { invalidArgument } from '@ctr/errors';
import { sctpRefused } from '@ctr/network';
import { checkCpuRealtime } from './resources';

/**
 * `--expose 80`, `--expose 8000-8010/udp`: the `port/proto` keys of `Config.ExposedPorts`,
 * a range as one key per port, checked with the words of docker's CLI.
 */
export function exposedPortKeys(values: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const value of values) {
    if (value.includes(':')) throw invalidArgument(`invalid port format for --expose: ${value}`);
    const slash = value.indexOf('/');
    const ports = slash === -1 ? value : value.slice(0, slash);
    const proto = (slash === -1 ? 'tcp' : value.slice(slash + 1)).toLowerCase() || 'tcp';
    const [start, end] = portRange(ports, (error) => invalidArgument(`invalid range format for --expose: ${value}, error: ${error}`));
    // docker's CLI sends a `-p 80/sctp` as an exposed port too: the refusal names no flag.
    if (proto === 'sctp') throw sctpRefused(value);
    if (proto !== 'tcp' && proto !== 'udp') {
      throw invalidArgument(`invalid protocol for --expose: ${value}`, { hint: "ctr's networks carry tcp and udp" });
    }
    for (let port = start; port <= end; port++) keys.add(`${port}/${proto}`);
  }
  return [...keys];
}

/** go-connections' ParsePortRange (`8000-8010`), its errors as Go writes them. */
export function portRange(text: string, fail: (error: string) => Error): [number, number] {
  if (text === '') throw fail('empty string specified for ports');
  const parts = text.split('-');
  const port = (part: string): number => {
    if (!/^\d+$/.test(part)) throw fail(`strconv.ParseUint: parsing ${JSON.stringify(part)}: invalid syntax`);
    const n = Number(part);
    if (n > 65535) throw fail(`strconv.ParseUint: parsing ${JSON.stringify(part)}: value out of range`);
    return n;
  };
  const start = port(parts[0] as string);
  const end = parts.length === 1 ? start : port(parts[1] as string);
  if (end < start) throw fail(`invalid range specified for port: ${text}`);
  return [start, end];
}

/** One `--volumes-from container[:ro|:rw]`, as dockerd parses it. */
export function parseVolumesFrom(spec: string): { container: string; readOnly: boolean } {
  if (spec === '') throw invalidArgument('volumes-from specification cannot be an empty string');
  const colon = spec.indexOf(':');
  const container = colon === -1 ? spec : spec.slice(0, colon);
  const mode = colon === -1 ? 'rw' : spec.slice(colon + 1);
  // The SELinux labels docker also takes mean nothing here; propagation and copy modes dockerd refuses.
  const options = mode.split(',');
  if (!options.every((o) => ['ro', 'rw', 'z', 'Z'].includes(o)) || (options.includes('ro') && options.includes('rw'))) {
    throw invalidArgument(`invalid mode: ${mode}`, { hint: `in --volumes-from ${spec}: use ro or rw` });
  }
  return { container, readOnly: options.includes('ro') };
}

/** One `--link name[:alias]`, as docker's CLI parses it (the alias defaults to the name). */
export function parseLink(value: string): { name: string; alias: string } {
  if (value === '') throw invalidArgument('empty string specified for links');
  const parts = value.split(':');
  if (parts.length > 2) throw invalidArgument(`bad format for links: ${value}`);
  const [name, alias = name] = parts as [string, string | undefined];
  // Inspect's form, `/name:/parent/alias`, is taken back as the CLI's.
  if (name.startsWith('/')) return { name: name.slice(1), alias: path.posix.basename(alias) };
  return { name, alias };
}

/** The linked container a legacy link's variables describe. */
export interface LinkedContainer {
  /** `/<parent>/<alias>`, Docker's link name. */
  linkName: string;
  ip: string;
  /** Its `Config.ExposedPorts` keys (`80/tcp`). */
  exposedPorts: readonly string[];
  env: readonly string[];
}

/**
 * The environment a legacy link gives (moby's links.ToEnv): `ALIAS_PORT`, per exposed port
 * `ALIAS_PORT_80_TCP{,_ADDR,_PORT,_PROTO}`, per run of consecutive ports `…_START`/`…_END`,
 * `ALIAS_NAME`, and the linked container's own variables as `ALIAS_ENV_*`.
 */
export function linkEnv(link: LinkedContainer): string[] {
  const alias = path.posix.basename(link.linkName).toUpperCase().replaceAll('-', '_');
  const ports = link.exposedPorts
    .map((key) => {
      const [port, proto = 'tcp'] = key.split('/') as [string, string | undefined];
      return { port: Number(port), proto };
    })
    // TCP first, then by number within a protocol, as moby sorts them.
    .sort((a, b) => (a.proto === b.proto ? a.port - b.port : a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : a.proto < b.proto ? -1 : 1));
  const env: string[] = [];
  let start = ports[0];
  let end = ports[0];
  ports.forEach((p, i) => {
    if (i === 0) env.push(`${alias}_PORT=${p.proto}://${link.ip}:${p.port}`);
    const prefix = `${alias}_PORT_${p.port}_${p.proto.toUpperCase()}`;
    env.push(`${prefix}=${p.proto}://${link.ip}:${p.port}`, `${prefix}_ADDR=${link.ip}`, `${prefix}_PORT=${p.port}`, `${prefix}_PROTO=${p.proto}`);
    if (!start || !end) return;
    if (p.port === end.port + 1 && p.proto === start.proto) {
      end = p;
      if (i < ports.length - 1) return;
    }
    if (end !== start) {
      const range = `${alias}_PORT_${start.port}_${start.proto.toUpperCase()}`;
      env.push(`${range}_START=${start.proto}://${link.ip}:${start.port}`, `${range}_PORT_START=${start.port}`);
      env.push(`${range}_END=${end.proto}://${link.ip}:${end.port}`, `${range}_PORT_END=${end.port}`);
    }
    start = p;
    end = p;
  });
  env.push(`${alias}_NAME=${link.linkName}`);
  for (const entry of link.env) {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq);
    // moby skips what a build adds; HOSTNAME is ctr's, which dockerd keeps out of Config.Env.
    if (eq === -1 || ['HOME', 'PATH', 'HOSTNAME'].includes(name)) continue;
    env.push(`${alias}_ENV_${name}=${entry.slice(eq + 1)}`);
  }
  return env;
}

/** `--userns`: with no user-namespace remapping in ctr, only the host's (or the default, the same) can be asked for. */
export function checkUsernsMode(mode: string | undefined): void {
  if (mode && mode !== 'host') {
    throw invalidArgument(`invalid USER mode: ${JSON.stringify(mode)}`, { hint: 'ctr does not remap user namespaces: --userns takes "host" or nothing' });
  }
}

/** Docker's `DeviceRequest` (`--gpus`), with the API's field names. */
export interface DeviceRequest {
  Driver?: string;
  /** -1 for all. */
  Count?: number;
  DeviceIDs?: string[];
  Capabilities?: string[][];
  Options?: Record<string, string>;
}

/**
 * `--gpus` and the API's `DeviceRequests`: ctr has no device drivers (no NVIDIA container
 * toolkit), so any request is refused as dockerd refuses one no driver can serve.
 */
export function refuseDeviceRequests(requests: readonly DeviceRequest[] | undefined): void {
  const request = requests?.[0];
  if (!request) return;
  const caps = `[${(request.Capabilities ?? []).map((set) => `[${set.join(' ')}]`).join(' ')}]`;
  throw invalidArgument(`could not select device driver ${JSON.stringify(request.Driver ?? '')} with capabilities: ${caps}`);
}

/** The `--add-host` value that stands for the host's address on the default bridge. */
const HOST_GATEWAY = 'host-gateway';

/**
 * `--add-host NAME:host-gateway` entries with the address put in: the default bridge's
 * gateway, asked for only when an entry needs it.
 */
export async function withHostGateway(hosts: readonly string[] | undefined, gateway: () => Promise<string>): Promise<string[] | undefined> {
  if (!hosts?.some((h) => h.endsWith(`:${HOST_GATEWAY}`))) return hosts && [...hosts];
  const address = await gateway();
  return hosts.map((h) => (h.endsWith(`:${HOST_GATEWAY}`) ? `${h.slice(0, -HOST_GATEWAY.length)}${address}` : h));
}

/**
 * `HostConfig` settings that Docker's API takes on every platform and a Linux dockerd refuses,
 * drops or keeps unused: another runtime than runc, isolation, volume drivers, storage options, Windows'
 * CPU and IO limits. (`--kernel-memory` is not here: dockerd drops it silently since API 1.42.)
 */
export interface PlatformSettings {
  /** `--runtime`: `runc`, the only one. */
  runtime?: string;
  /** `--isolation`: `default` (or empty), Linux's only one. */
  isolation?: string;
  /** `--volume-driver`: the driver of the volumes `-v` creates; `local`, the only one. */
  volumeDriver?: string;
  /** `--storage-opt size=…`: a per-container size, which overlay2 honours only over xfs with project quotas. */
  storageOpt?: Record<string, string>;
  /** Windows only: kept (inspect shows it), unused. */
  cpuCount?: number;
  /** Windows only: dropped with a warning. */
  cpuPercent?: number;
  /** Windows only: refused. */
  ioMaximumBandwidth?: number;
  ioMaximumIOps?: number;
}

/** The platform settings a Linux dockerd keeps in the container's HostConfig, as given, without acting on them. */
export type RecordedPlatform = Pick<PlatformSettings, 'isolation' | 'volumeDriver' | 'cpuCount'>;

/** A create's record of its kept platform settings: none when none was given, so older records and plain creates read alike. */
export function recordedPlatform(settings: PlatformSettings | undefined): { platform?: RecordedPlatform } {
  const { isolation, volumeDriver, cpuCount } = settings ?? {};
  const kept: RecordedPlatform = { ...(isolation ? { isolation } : {}), ...(volumeDriver ? { volumeDriver } : {}), ...(cpuCount ? { cpuCount } : {}) };
  return Object.keys(kept).length > 0 ? { platform: kept } : {};
}

/**
 * A create's platform settings and real-time CPU budget, checked in the order a Linux dockerd
 * checks them (the request's decoding, then the resources, the runtime, the container's layer,
 * its volumes), in its words. Returns the warnings of what is dropped. The volume driver is
 * looked up when a volume is made with it, as dockerd looks it up.
 */
export function checkPlatformSettings(settings: PlatformSettings, realtime: { period?: number; runtime?: number }): string[] {
  const { runtime, isolation, storageOpt, cpuPercent, ioMaximumBandwidth, ioMaximumIOps } = settings;
  if (isolation && isolation.toLowerCase() !== 'default') throw invalidArgument(`Invalid isolation: ${JSON.stringify(isolation)} - linux only supports 'default'`);
  if (ioMaximumBandwidth) throw invalidArgument('Invalid QoS settings: linux does not support configuration of maximum bandwidth');
  if (ioMaximumIOps) throw invalidArgument('Invalid QoS settings: linux does not support configuration of maximum IOPs');
  checkCpuRealtime(realtime.period, realtime.runtime);
  const warnings = cpuPercent && cpuPercent > 0 ? ['linux does not support CPU percent. Percent discarded.'] : [];
  if (runtime && runtime !== 'runc') throw invalidArgument(`unknown or invalid runtime name: ${runtime}`, { hint: 'ctr runs containers with runc' });
  if (storageOpt && Object.keys(storageOpt).length > 0) {
    throw invalidArgument("--storage-opt is supported only for overlay over xfs with 'pquota' mount option", { hint: "ctr's container layers are overlayfs without project quotas" });
  }
  return warnings;
}
