import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { goRfc3339 } from '@ctr/image';
import type { RegistryClientOptions } from '@ctr/registry';
import { findInit, type CgroupFeatures } from '@ctr/runtime';
import { registryModule } from './lazy-modules';

/** A binary's build as `docker info` shows it (`runc version: …`). */
export interface Commit {
  ID: string;
}

export interface PluginsInfo {
  Volume: string[];
  Network: string[];
  Authorization: string[] | null;
  Log: string[];
}

/** One registry as dockerd's RegistryConfig describes it. */
export interface IndexInfo {
  Mirrors: string[];
  Name: string;
  Official: boolean;
  Secure: boolean;
}

/** dockerd writes it through a map (to carry extra fields): its keys come sorted, at every level. */
export interface RegistryServiceConfig {
  IndexConfigs: Record<string, IndexInfo>;
  InsecureRegistryCIDRs: string[];
  Mirrors: string[];
}

export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: 'inactive';
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: null;
}

/**
 * `GET /info`: docker's system.Info, its fields in the order dockerd writes them (what
 * `docker info --format '{{json .}}'` prints), for the daemonless `ctr info` and ctrd alike.
 * A list that may be null is one a daemon sends as null (Go's nil slice) when it is empty.
 */
export interface EngineInfo {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  DriverStatus: [string, string][];
  Plugins: PluginsInfo;
  MemoryLimit: boolean;
  SwapLimit: boolean;
  CpuCfsPeriod: boolean;
  CpuCfsQuota: boolean;
  CPUShares: boolean;
  CPUSet: boolean;
  PidsLimit: boolean;
  IPv4Forwarding: boolean;
  Debug: boolean;
  NFd: number;
  OomKillDisable: boolean;
  NGoroutines: number;
  SystemTime: string;
  LoggingDriver: string;
  CgroupDriver: string;
  CgroupVersion: string;
  NEventsListener: number;
  KernelVersion: string;
  OperatingSystem: string;
  OSVersion: string;
  OSType: string;
  Architecture: string;
  IndexServerAddress: string;
  RegistryConfig: RegistryServiceConfig;
  NCPU: number;
  MemTotal: number;
  /** Swarm's generic resources: no swarm here. */
  GenericResources: null;
  DockerRootDir: string;
  HttpProxy: string;
  HttpsProxy: string;
  NoProxy: string;
  Name: string;
  Labels: string[] | null;
  ExperimentalBuild: boolean;
  ServerVersion: string;
  Runtimes: Record<string, { path: string }>;
  DefaultRuntime: string;
  Swarm: SwarmInfo;
  LiveRestoreEnabled: boolean;
  Isolation: string;
  InitBinary: string;
  ContainerdCommit: Commit;
  RuncCommit: Commit;
  InitCommit: Commit;
  SecurityOptions: string[] | null;
  CDISpecDirs: string[] | null;
  Warnings: string[] | null;
}

const OS_RELEASE_FILES = ['/etc/os-release', '/usr/lib/os-release'];

/**
 * The host's distribution as `docker info` names it, from /etc/os-release, else
 * /usr/lib/os-release: PRETTY_NAME, "Linux" where neither names one (moby's
 * GetOperatingSystem), and VERSION_ID, '' where there is none (GetOperatingSystemVersion).
 */
export async function hostOsRelease(files: readonly string[] = OS_RELEASE_FILES): Promise<{ operatingSystem: string; osVersion: string }> {
  const text = (await osRelease(files)) ?? '';
  return { operatingSystem: osReleaseValue(text, 'PRETTY_NAME') || 'Linux', osVersion: osReleaseValue(text, 'VERSION_ID') || '' };
}

async function osRelease(files: readonly string[]): Promise<string | undefined> {
  for (const file of files) {
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
  }
  return undefined;
}

/** One os-release variable, its shell-style quotes and escapes undone. */
function osReleaseValue(osRelease: string, name: string): string | undefined {
  const value = new RegExp(`^${name}=(.*)$`, 'm').exec(osRelease)?.[1]?.trim();
  if (!value) return undefined;
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length > 1) {
    const inner = value.slice(1, -1);
    return quote === '"' ? inner.replace(/\\([\\"$`])/g, '$1') : inner;
  }
  return value;
}

/**
 * The engine's ID, kept in `<root>/engine-id` as dockerd keeps its own. A fresh root gets a
 * UUID written aside and linked into place: link never replaces, so of two processes opening
 * the root at once one wins and both read its ID.
 */
export async function engineId(root: string): Promise<string> {
  const file = path.join(root, 'engine-id');
  const kept = await readId(file);
  if (kept) return kept;
  const aside = `${file}.${randomUUID()}`;
  await fs.writeFile(aside, randomUUID(), { mode: 0o600 });
  try {
    await fs.link(aside, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await fs.rm(aside, { force: true });
  }
  return (await readId(file)) ?? '';
}

async function readId(file: string): Promise<string | undefined> {
  const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return text?.trim();
}

/** Filesystem magic numbers by the names moby's graphdriver gives them (FsNames). */
const FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x61756673, 'aufs'],
  [0x9123683e, 'btrfs'],
  [0x28cd3d45, 'cramfs'],
  [0xf15f, 'ecryptfs'],
  [0xef53, 'extfs'],
  [0xf2f52010, 'f2fs'],
  [0x65735546, 'fuse'],
  [0x47504653, 'gpfs'],
  [0x72b6, 'jffs2'],
  [0x3153464a, 'jfs'],
  [0x6969, 'nfs'],
  [0x794c7630, 'overlayfs'],
  [0x858458f6, 'ramfs'],
  [0x52654973, 'reiserfs'],
  [0x517b, 'smb'],
  [0x73717368, 'squashfs'],
  [0x01021994, 'tmpfs'],
  [0xa501fcf5, 'vxfs'],
  [0x58465342, 'xfs'],
  [0x2fc12fc1, 'zfs'],
]);

/** overlay2's DriverStatus as dockerd reports it, for layers kept on `root`'s filesystem. */
export function overlayDriverStatus(root: string): [string, string][] {
  return [
    ['Backing Filesystem', FILESYSTEMS.get(statfsSync(root).type) ?? '<unknown>'],
    ['Supports d_type', 'true'],
    ['Using metacopy', 'false'],
    ['Native Overlay Diff', 'true'],
    ['userxattr', 'false'],
  ];
}

/** Whether the kernel forwards IPv4 (what published ports and bridge egress need). */
export async function ipv4Forwarding(): Promise<boolean> {
  return (await fs.readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').catch(() => '0')).trim() === '1';
}

/** This process's open file descriptors (dockerd's NFd). */
export function openFileDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

/** dockerd's warnings for what this host cannot do (each is printed by `docker info`). */
export function hostWarnings(cgroups: CgroupFeatures, ipv4Forwarding: boolean): string[] {
  const missing: [boolean, string][] = [
    [cgroups.memoryLimit, 'No memory limit support'],
    [cgroups.swapLimit, 'No swap limit support'],
    // cgroup v2 has no such control, and dockerd does not warn of it there.
    [cgroups.oomKillDisable || cgroups.version === '2', 'No oom kill disable support'],
    [cgroups.cpuCfsQuota, 'No cpu cfs quota support'],
    [cgroups.cpuCfsPeriod, 'No cpu cfs period support'],
    [cgroups.cpuShares, 'No cpu shares support'],
    [cgroups.cpuSet, 'No cpuset support'],
    [ipv4Forwarding, 'IPv4 forwarding is disabled'],
  ];
  return missing.filter(([supported]) => !supported).map(([, warning]) => `WARNING: ${warning}`);
}

/** One program the engine runs on, as `GET /version` lists it after the engine: moby's types.ComponentVersion. */
export interface ComponentVersion {
  Name: string;
  Version: string;
  Details?: Record<string, string>;
}

/** A program's version and build, as its `--version` says them; '' for what it does not say. */
interface BinaryVersion {
  version: string;
  commit: string;
}

/** Versions are read once per process: each is a program run, and `info` and `version` must stay cheap. */
const versions = new Map<string, Promise<BinaryVersion>>();

function remembered(key: string, read: () => Promise<BinaryVersion>): Promise<BinaryVersion> {
  let version = versions.get(key);
  if (!version) {
    version = read();
    versions.set(key, version);
  }
  return version;
}

/** A program that hangs must not hang `docker version` or `docker info` with it. */
const VERSION_TIMEOUT_MS = 5000;

function versionOutput(binary: string): Promise<string | undefined> {
  return new Promise((resolve) => execFile(binary, ['--version'], { timeout: VERSION_TIMEOUT_MS }, (error, stdout) => resolve(error ? undefined : stdout)));
}

/**
 * moby's parseRuntimeVersion, for runc's and conmon's `--version` alike: the version is what
 * follows "version" on the (last) line that has it, the commit the `commit:` line's value.
 */
export function parseRuntimeVersion(output: string): BinaryVersion {
  let version = '';
  let commit = '';
  for (const line of output.trim().split('\n')) {
    if (line.includes('version')) version = line.split('version').pop()?.trim() ?? '';
    else if (line.startsWith('commit:')) commit = line.slice('commit:'.length).trim();
  }
  return { version, commit };
}

function runtimeVersion(binary: string): Promise<BinaryVersion> {
  return remembered(`runtime ${binary}`, async () => parseRuntimeVersion((await versionOutput(binary)) ?? ''));
}

/** The runtime's build as dockerd shows it: the `commit:` line of `runc --version`; '' when unreadable. */
export async function runtimeCommit(binary: string): Promise<string> {
  return (await runtimeVersion(binary)).commit;
}

/** moby's parseInitVersion: `tini version 0.19.0 - git.de40ad0` (Debian's tini says no commit). */
export function parseInitVersion(output: string): BinaryVersion {
  const match = /tini version (\S+)(?: - git\.(\w+))?/.exec(output);
  return { version: match?.[1] ?? '', commit: match?.[2] ?? '' };
}

function initVersion(): Promise<BinaryVersion> {
  return remembered('init', async () => parseInitVersion((await findInit().then(versionOutput, () => undefined)) ?? ''));
}

/** The init `--init` runs (the runtime's choice): its git commit, else its version; '' when there is none. */
export async function initCommit(): Promise<string> {
  const { version, commit } = await initVersion();
  return commit || version;
}

/**
 * What ctr runs containers with, in the place of dockerd's containerd, runc and docker-init:
 * conmon (the monitor, containerd's shim's part), the runtime and the init `--init` mounts as
 * docker-init. Each is read the first time it is asked for, then remembered. A program whose
 * version cannot be read is left out, as dockerd leaves out one it cannot ask.
 */
export async function platformComponents(binaries: { runtime: string; monitor: string }): Promise<ComponentVersion[]> {
  const [monitor, runtime, init] = await Promise.all([runtimeVersion(binaries.monitor), runtimeVersion(binaries.runtime), initVersion()]);
  const named: [string, BinaryVersion][] = [
    ['conmon', monitor],
    ['runc', runtime],
    ['docker-init', init],
  ];
  return named.filter(([, v]) => v.version !== '' || v.commit !== '').map(([Name, v]) => ({ Name, Version: v.version, Details: { GitCommit: v.commit } }));
}

/** What the build recorded of itself, as docker's binaries carry theirs (`docker version`'s Git commit and Built). */
export interface BuildInfo {
  /** The source's short commit; '' when built outside a git checkout. */
  GitCommit: string;
  /** When it was built, RFC 3339 in UTC. */
  BuildTime: string;
}

let buildInfoRead: BuildInfo | undefined;

/**
 * The build's commit and time, read the first time `version` asks (never on `run`'s path),
 * from the engine package's dist/build-info.json (scripts/bundle-cli.js writes it). This code
 * runs from packages/engine/dist, packages/engine/src (under test) or the CLI's bundle in
 * packages/cli/dist — installed, node_modules/@ctr/{engine,cli}/dist: from each, the engine's
 * dist is ../../engine/dist, so all read the same file.
 */
export function buildInfo(): BuildInfo {
  buildInfoRead ??= readBuildInfo(path.join(__dirname, '..', '..', 'engine', 'dist', 'build-info.json'));
  return buildInfoRead;
}

/** A build-info file's fields; empty ones for a checkout never built (no file) or a file that is not one, as a Go binary built without -ldflags. */
export function readBuildInfo(file: string): BuildInfo {
  const recorded = ((): Partial<Record<keyof BuildInfo, unknown>> | null => {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Partial<Record<keyof BuildInfo, unknown>> | null;
    } catch {
      return null; // no build recorded: nothing to show
    }
  })();
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  return { GitCommit: text(recorded?.GitCommit), BuildTime: text(recorded?.BuildTime) };
}

/** A proxy setting from the environment as dockerd reads it (upper case first), credentials masked as it masks them. */
export function proxyFromEnv(env: NodeJS.ProcessEnv, name: 'HTTP_PROXY' | 'HTTPS_PROXY' | 'NO_PROXY'): string {
  const value = env[name] || env[name.toLowerCase()] || '';
  return name === 'NO_PROXY' ? value : value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1xxxxx:xxxxx@');
}

/**
 * dockerd's RegistryConfig for the engine's registry options: loopback is insecure by default
 * (docker 28's CIDRs), docker.io is the official index with the mirrors, and each insecure
 * registry is an index reached over plain HTTP. Mirrors are normalised as dockerd's ValidateMirror
 * does (`scheme://host/`).
 */
export function registryConfig(options: Pick<RegistryClientOptions, 'insecureRegistries' | 'mirrors'> = {}): RegistryServiceConfig {
  const mirrors = (options.mirrors ?? []).map(normalizeMirror);
  // As dockerd's loadInsecureRegistries: a CIDR widens the insecure ranges, anything else names an index.
  const registry = registryModule();
  const { cidrs, names } = registry.insecureRegistryEntries(options.insecureRegistries ?? []);
  const indexes: IndexInfo[] = [
    { Mirrors: mirrors, Name: 'docker.io', Official: true, Secure: true },
    ...names.map((name) => ({ Mirrors: [], Name: name, Official: false, Secure: false })),
  ];
  indexes.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  return {
    IndexConfigs: Object.fromEntries(indexes.map((index) => [index.Name, index])),
    // dockerd lists the configured ones, then loopback's.
    InsecureRegistryCIDRs: [...new Set([...cidrs.map((cidr) => cidr.text), ...registry.LOOPBACK_CIDRS])],
    Mirrors: mirrors,
  };
}

function normalizeMirror(mirror: string): string {
  try {
    const url = new URL(mirror);
    return `${url.protocol}//${url.host}/`;
  } catch {
    return mirror;
  }
}

/** Now as Go's RFC3339Nano writes a local time (trailing zeros of the fraction dropped). */
export function goTimeNow(now = new Date()): string {
  const fraction = String(now.getMilliseconds()).padStart(3, '0').replace(/0+$/, '');
  return goRfc3339(now, fraction ? `.${fraction}` : '');
}
