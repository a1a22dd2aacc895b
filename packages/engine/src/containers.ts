import { mkdirSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CtrError, asCtrError, conflict, invalidArgument, isCtrError, isNotFound, notFound, unlessNotFound } from '@ctr/errors';
import { hasDevice, layerSize, spreadSubdirectories, startMountRelay, unmount } from '@ctr/store';
import { configEnv, parseSignal, type ContainerState, type ExecOptions, type ExecResult, type LogEntry, type LogsOptions, type MountSpec, type RunOptions, type TmpfsMount } from '@ctr/runtime';
import { EMBEDDED_DNS, isAllocationFailure, parseMac, parsePortSpec, validDnsSettings, type AttachOptions, type EndpointRequest, type NetworkSettings } from '@ctr/network';
import { compareTimes, resolveInRoot, type ContainerConfig, type HealthConfig, type Platform } from '@ctr/image';
import type { EngineContext } from './context';
import { keptSecurityOpt, securityOptList } from './security-options';
import { forgetFreezes, pauseForUser, resumeAbandonedQuiesce, unpauseForUser } from './quiesce';
import { ContainerRecords, type ContainerRecord } from './container-records';
import { claimRemoval, holdRootfs, mountNewRootfs, releaseAbandonedHolds, removalEnded, removalInProgress, removeMountpoint, unmountStopped, type RemovalClaim } from './container-root';
import { forgetHealth, healthcheckFor, healthcheckOff, healthOf, healthSuffix, leaveTimer, type HealthState } from './health';
import { checkFilterKeys, invalidFilter, labelsMatch, patternMatch, portFilter, PRUNE_FILTERS, pruneMatcher, type Filters } from './filters';
import { humanDuration } from './human';
import { familiarImageName, notForPlatform, type ImageInUse, type Images, type PullOptions, type ResolvedImage } from './images';
import { initEntriesSize } from './init-entries';
import { logAttributes } from './log-details';
import { newId } from './names';
import { hostResources, mergeUpdate, type HostResources, type UpdateOptions } from './resources';
import { type LogConfig, logSettings, remoteLog } from './log-config';
import { answersExit, forgetExits, reportExit, restartPending, underRestartLock, watched } from './restart';
import { holdDevices, holdsHostMounts, releaseDevices, releaseHeld, runtimeMounts, startHolding } from './held-mounts';
import { noteResolvConf, ownAddress, releaseNetwork, startNetworked } from './container-network';
import { settleExit, unlessThisProcessRuns } from './exit-command';
import { portBindingsOf } from './port-bindings';
import { checkDuplicateMounts, isPluginDriver, mountDestination as mountTarget, mountRequest, parseTmpfsSpec, parseVolumeSpec, volumeDirOf, withVolumeDriver, type ApiMount, type VolumeRequest } from './volumes-spec';
import { createVolume, removeVolumeOf, volumeForMount } from './volumes-networks';
import { logDriverModule, pluginMountsModule, volumePluginsModule } from './lazy-modules';
import {
  checkPlatformSettings,
  checkUsernsMode,
  exposedPortKeys,
  linkEnv,
  parseLink,
  parseVolumesFrom,
  recordedPlatform,
  refuseDeviceRequests,
  withHostGateway,
  type DeviceRequest,
  type PlatformSettings,
} from './create-extras';

/** Inspect's `HostConfig.SecurityOpt`: the options as given (a record from before they were kept shows what they set), with what dockerd adds. */
function securityOptions(record: Pick<ContainerRecord, 'securityOpt' | 'run'>): string[] | null {
  const options = keptSecurityOpt(record.securityOpt ?? securityOptList(record.run), record.run);
  return options.length > 0 ? options : null;
}

/**
 * Inspect's `HostConfig.MaskedPaths` or `ReadonlyPaths`: those applied. dockerd fills in its
 * defaults only for an unprivileged container (createContainerOSSpecificSettings), so a
 * privileged one given none shows null.
 */
function systemPaths(given: string[] | undefined, applied: string[] | undefined, privileged: boolean | undefined): string[] | null {
  return privileged && !given ? null : (applied ?? []);
}

/** A volume a new container fills from its image, and where it is mounted. */
interface VolumeFill {
  name: string;
  target: string;
  subpath?: string;
  /** A plugin's volume: filled through the plugin's Mount. */
  driver?: string;
  /** A device volume (`-o type=… -o device=…`): filled while mounted for the fill. */
  device?: true;
}

/** Whether a mount of the record came from a `--mount` (`HostConfig.Mounts`): inspect shows those apart, as dockerd does. */
function fromMountSpec(record: Pick<ContainerRecord, 'mountSpecs'>, target: string): boolean {
  return (record.mountSpecs ?? []).some((spec) => spec.Target !== undefined && mountTarget(spec.Target) === mountTarget(target));
}

/**
 * Inspect's `Config.Volumes`: as the record keeps it; a record from before it was kept shows
 * the targets of its anonymous volumes.
 */
function configVolumesOf(record: ContainerRecord): Record<string, Record<string, never>> | null {
  const targets = record.configVolumes ?? record.mounts.filter((m) => m.name !== undefined && record.anonymousVolumes.includes(m.name)).map((m) => m.target);
  return targets.length > 0 ? Object.fromEntries(targets.map((target) => [target, {}])) : null;
}

/**
 * `--tmpfs` values (`/run:rw,size=64m`) as HostConfig.Tmpfs keeps them: each target's options
 * as given, the last of a target's winning.
 */
function givenTmpfs(specs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    specs.map((spec) => {
      const colon = spec.indexOf(':');
      return colon < 0 ? [spec, ''] : [spec.slice(0, colon), spec.slice(colon + 1)];
    }),
  );
}

/**
 * Whether a tmpfs mount of the record is a `--tmpfs` one (HostConfig.Tmpfs), which dockerd keeps
 * apart from its mount points, rather than a `--mount`'s or one `--volumes-from` brought. A
 * record from before `--tmpfs` values were kept has only `--mount`'s to tell them by.
 */
function fromTmpfsFlag(record: Pick<ContainerRecord, 'mountSpecs' | 'tmpfs'>, target: string): boolean {
  if (!record.tmpfs) return !fromMountSpec(record, target);
  return Object.keys(record.tmpfs).some((given) => mountTarget(given) === mountTarget(target));
}

/**
 * Inspect's `HostConfig.Tmpfs`: `--tmpfs` targets and their options as given, absent when there
 * are none (as dockerd omits it); a record from before they were kept shows them rebuilt from its mounts.
 */
function tmpfsOf(record: Pick<ContainerRecord, 'mounts' | 'mountSpecs' | 'tmpfs'>): { Tmpfs?: Record<string, string> } {
  if (record.tmpfs) return Object.keys(record.tmpfs).length > 0 ? { Tmpfs: record.tmpfs } : {};
  const options = (m: TmpfsMount): string[] => [
    ...(m.size !== undefined ? [`size=${m.size}`] : []),
    ...(m.mode !== undefined ? [`mode=${m.mode.toString(8)}`] : []),
    ...(m.readOnly !== undefined ? [m.readOnly ? 'ro' : 'rw'] : []),
    ...(m.options ?? []),
  ];
  const tmpfs = record.mounts.flatMap((m) => (m.type === 'tmpfs' && !fromMountSpec(record, m.target) ? [[m.target, options(m).join(',')]] : []));
  return tmpfs.length > 0 ? { Tmpfs: Object.fromEntries(tmpfs) } : {};
}

/** Inspect's `Config.StopSignal`: the container's merged config's; a record from before it was kept has only its own. */
function stopSignalOf(record: ContainerRecord): { StopSignal?: string } {
  const signal = record.config?.StopSignal ?? record.run.stopSignal;
  return signal ? { StopSignal: signal } : {};
}

/** What a `--network` value names: the host's, none, another container's, the default bridge or a user network. */
function networkKind(mode: string): 'host' | 'none' | 'container' | 'bridge' | 'user' {
  if (mode === 'host' || mode === 'none' || mode === 'bridge') return mode;
  return mode.startsWith('container:') ? 'container' : 'user';
}

export { ownAddress } from './container-network';

/** `StdinOnce` when a create does not say: docker's CLI sets it for an open stdin it attaches. */
export function defaultStdinOnce(openStdin: boolean | undefined, attach: AttachedStreams | undefined): boolean {
  return openStdin === true && (attach?.stdin ?? true);
}

/** `docker create` / `docker run` options, as a library call. Resource fields are @ctr/runtime's. */
export interface CreateContainerOptions
  extends Omit<RunOptions, 'mounts' | 'network' | 'ipAddress' | 'entrypoint' | 'logSizeMax' | 'logMaxFiles' | 'logCompress' | 'noLog' | 'remoteLog' | 'leaveStdinOpen' | 'resolvConf'> {
  image: string;
  /** `--log-driver` and `--log-opt`. */
  log?: LogConfig;
  name?: string;
  /** Replaces the image's Entrypoint; a string is one word, like `--entrypoint`. */
  entrypoint?: string[] | string;
  labels?: Record<string, string>;
  /** `-v` values: `/host:/ctr[:ro]`, `name:/ctr[:ro]`, `/ctr`. */
  volumes?: string[];
  /**
   * The API's `Config.Volumes` targets as posted (docker-compose names its bound ones there too);
   * without it, the anonymous `-v /ctr`s, as docker's CLI posts them.
   */
  configVolumes?: string[];
  /** `--tmpfs` values: `/run[:size=64m]`. */
  tmpfs?: string[];
  /** Mounts already in @ctr/runtime's shape. */
  mounts?: MountSpec[];
  /** `--mount` values, as the API's `HostConfig.Mounts` has them (inspect shows them as given). */
  mountSpecs?: ApiMount[];
  /**
   * Files bound read-only into the container that are not its mounts but its own, as dockerd's
   * secret and config mounts of a swarm task are (container.SecretMounts, ConfigMounts): no
   * inspect field shows them (Mounts, HostConfig.Mounts, Binds), and neither `--volumes-from`
   * nor `cp` sees them.
   */
  internalMounts?: Array<{ source: string; target: string }>;
  /** `bridge` (default), `none`, `host`, `container:<name|id>`, or a user network. */
  network?: string;
  networkAliases?: string[];
  ip?: string;
  /** `--ip6`: the container's IPv6 address on its (IPv6) user network. */
  ip6?: string;
  /** `--link-local-ip`: more addresses (169.254.0.0/16, fe80::/10) of its interface on its network. */
  linkLocalIps?: string[];
  /** `-p` values. */
  publish?: string[];
  /** `-P`: publish the exposed ports (the image's and `expose`'s) to free host ports. */
  publishAll?: boolean;
  /** `--expose`: ports (`80`, `53/udp`, ranges `8000-8010/tcp`) exposed besides the image's. */
  expose?: string[];
  /** `--volumes-from container[:ro|:rw]`: those containers' volumes and binds, at the same places. */
  volumesFrom?: string[];
  /** `--mac-address`: the MAC of the container's interface on its network. */
  macAddress?: string;
  /**
   * The endpoint's links on its network (`NetworkingConfig.EndpointsConfig.<network>.Links`, as
   * docker's CLI sends `--link` on a user network): each alias names the linked container on
   * that network for this container alone, as `network connect`'s links do.
   */
  networkLinks?: EndpointRequest['links'];
  /**
   * `--link name[:alias]`: on the default bridge, Docker's legacy links (hosts entries and
   * `ALIAS_*` variables); on a user network, an endpoint link (`networkLinks`).
   */
  links?: string[];
  /** `--userns`: `host`, the only user namespace ctr runs containers in. */
  usernsMode?: string;
  /** `--cidfile`: the file the client writes the container's ID to, kept for inspect (`HostConfig.ContainerIDFile`). */
  containerIdFile?: string;
  /** `HostConfig.SecurityOpt` as given (what it sets is in `noNewPrivileges` and `seccomp`), kept for inspect. */
  securityOpt?: string[];
  /** `--gpus` (the API's `DeviceRequests`): refused, ctr has no device drivers. */
  deviceRequests?: DeviceRequest[];
  /** `--runtime`, `--isolation`, `--volume-driver`, `--storage-opt` and Windows' limits: what Linux has of them. */
  platform?: PlatformSettings;
  /** `no`, `always`, `unless-stopped`, `on-failure[:N]`. */
  restart?: string;
  autoRemove?: boolean;
  /**
   * The streams `docker run` attaches (`-a`), recorded as Docker's `Config.AttachStdin`,
   * `AttachStdout` and `AttachStderr`; by default stdin when `openStdin`, stdout and stderr.
   */
  attach?: AttachedStreams;
  /**
   * Docker's `StdinOnce`: with `openStdin`, the first attached client whose input ends (or
   * who goes) closes the container's stdin; otherwise it stays open for the next attach.
   * By default, as docker's CLI sets it: when stdin is open and attached (`run -i`, not `run -di`).
   */
  stdinOnce?: boolean;
  /** `--health-cmd` and kin (durations in nanoseconds, as Docker's API has them); merged over the image's HEALTHCHECK; `Test: ['NONE']` turns it off. */
  healthcheck?: HealthConfig;
  /**
   * The API's `Config.Shell`: what a `CMD-SHELL` health check runs its text with. docker's CLI
   * sends none, and the image's SHELL never applies (moby's merge leaves Shell out).
   */
  shell?: string[];
  /** When the image is missing: pull it (default), or fail. */
  pull?: 'missing' | 'never' | 'always';
  /**
   * `--platform` (the API's `?platform=`): the platform the image must be for. An image here
   * for another one is missing, as for dockerd's GetImage with a platform: NotFound in its
   * words, or pulled for this platform when `pull` allows.
   */
  imagePlatform?: Platform;
  onPullProgress?: PullOptions['onProgress'];
  signal?: AbortSignal;
}

/** Which of a container's streams a client attaches. */
export interface AttachedStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface CreatedContainer {
  id: string;
  name: string;
  /** What create accepted but could not honour fully (Docker's `Warnings`). */
  warnings: string[];
}

/** What conmon runs at the container's exit. */
interface ExitCommand {
  argv: string[];
  /** It acts only once the calling process is gone (that process acts itself while it runs). */
  whenCallerGone: boolean;
}

interface MadeContainer {
  created: CreatedContainer;
  record: ContainerRecord;
  /** Write the record and announce the container: with `callerAttached`, the caller's attach after the create, as docker's run attaches before it starts. */
  commit(callerAttached?: boolean): Promise<void>;
  /** Take everything apart again, the record too if it was written. */
  rollback(): Promise<void>;
  /**
   * A `run`'s network allocation (its addresses, ports) was refused as it was made: its
   * network is recorded, not allocated, as `create` makes it, and its start is `start`'s.
   */
  startRefused: boolean;
}

/** `docker ps` / `GET /containers/json`, Docker's field names. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>;
  Labels: Record<string, string>;
  State: string;
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: NetworkSettings['Networks'] };
  Mounts: InspectMount[];
  /** With `size`: the bytes the container wrote (its writable layer). */
  SizeRw?: number;
  /** With `size`: its writable layer and its image's size together. */
  SizeRootFs?: number;
}

/** dockerd's sizes of a container, asked for with `size`: walking its writable layer takes a while. */
export type ContainerSize = Required<Pick<ContainerSummary, 'SizeRw' | 'SizeRootFs'>>;

export interface InspectMount {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** `docker inspect` of a container, Docker's field names. */
export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    Dead: boolean;
    Pid: number;
    ExitCode: number;
    Error: string;
    StartedAt: string;
    FinishedAt: string;
    Health?: HealthState;
  };
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  /** The IDs of its execs running (attached ones: a detached exec is not followed), null for none. */
  ExecIDs: string[] | null;
  Config: {
    Hostname: string;
    Domainname: string;
    User: string;
    AttachStdin: boolean;
    AttachStdout: boolean;
    AttachStderr: boolean;
    /** Absent without any, as dockerd omits it. */
    ExposedPorts?: Record<string, Record<string, never>>;
    Tty: boolean;
    OpenStdin: boolean;
    StdinOnce: boolean;
    Env: string[] | null;
    Cmd: string[] | null;
    Healthcheck?: HealthConfig;
    Image: string;
    Volumes: Record<string, Record<string, never>> | null;
    /** As given, else its image's; '' when neither sets one (the process starts in /). */
    WorkingDir: string;
    Entrypoint: string[] | null;
    /** dockerd keeps a client's (docker's CLI sends none); a container here takes none. */
    OnBuild: null;
    Labels: Record<string, string>;
    StopSignal?: string;
    StopTimeout?: number;
    /** As given at create; absent without one, as dockerd omits it. */
    Shell?: string[];
  };
  HostConfig: {
    NetworkMode: string;
    AutoRemove: boolean;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    LogConfig: { Type: string; Config: Record<string, string> };
    ReadonlyRootfs: boolean;
    Binds: string[] | null;
    PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>>;
    Init: boolean | null;
    Privileged: boolean;
    Devices: Array<{ PathOnHost: string; PathInContainer: string; CgroupPermissions: string }>;
    GroupAdd: string[] | null;
    PidMode: string;
    IpcMode: string;
    UTSMode: string;
    UsernsMode: string;
    VolumesFrom: string[] | null;
    /** `/<linked>:/<this>/<alias>`, with the linked container's name now. */
    Links: string[] | null;
    CapAdd: string[] | null;
    CapDrop: string[] | null;
    Dns: string[];
    DnsOptions: string[];
    DnsSearch: string[];
    /** `--add-host` as given (`host-gateway` unresolved). */
    ExtraHosts: string[] | null;
    SecurityOpt: string[] | null;
    PublishAllPorts: boolean;
    Sysctls?: Record<string, string>;
    Tmpfs?: Record<string, string>;
    /** `--mount`s as given (absent without any, as dockerd omits it). */
    Mounts?: ApiMount[];
    /** Null for a privileged container given none, as dockerd shows it. */
    MaskedPaths: string[] | null;
    ReadonlyPaths: string[] | null;
    ContainerIDFile: string;
    ConsoleSize: [number, number];
    Cgroup: string;
    Isolation: string;
    Runtime: string;
    VolumeDriver: string;
    /** Windows' `--cpu-count`: a Linux dockerd keeps it, unused. */
    CpuCount: number;
  } & HostResources;
  GraphDriver: { Name: string; Data: Record<string, string> };
  /** With `size`, as in the list. */
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: InspectMount[];
  NetworkSettings: InspectNetworkSettings;
}

/** `docker inspect --size`. */
export interface InspectOptions {
  /** Add `SizeRw` and `SizeRootFs`. */
  size?: boolean;
  signal?: AbortSignal;
}

/** `docker logs` options: @ctr/runtime's, and `--details`. */
export interface ContainerLogsOptions extends LogsOptions {
  /** Give each line the attributes its container's log options add (`--log-opt labels=…,env=…,tag=…`). */
  details?: boolean;
}

/** A line of a container's log; with `details`, the attributes it carries (none: `{}`). */
export interface ContainerLogEntry extends LogEntry {
  attrs?: Record<string, string>;
}

/** What `docker inspect` shows of a container's network: @ctr/network's settings and the fields dockerd adds (IPv6 ones empty). */
export interface InspectNetworkSettings extends NetworkSettings {
  Bridge: string;
  SandboxID: string;
  HairpinMode: boolean;
  LinkLocalIPv6Address: string;
  LinkLocalIPv6PrefixLen: number;
  EndpointID: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPv6Gateway: string;
}

/** moby's refusal of a removal while another is under way, naming the container as its caller did. */
const removalConflict = (ref: string): CtrError => conflict(`removal of container ${ref} is already in progress`);

/** How a container is removed (`Containers.remove`). */
export interface RemoveOptions {
  /** Kill it first if it runs (`rm -f`). */
  force?: boolean;
  /** Its anonymous volumes go too (`rm -v`). */
  volumes?: boolean;
  /**
   * The engine's own removal (at an exit, for `--rm`; a prune; a recovery), which never fails
   * for one of the user's, or its own, under way: it waits for that one's end instead.
   */
  waitForOther?: boolean;
}

/**
 * How the engine removes a container of its own accord (`--rm`'s at its exit, a recovery's):
 * forced, with its anonymous volumes, after any other removal of it under way.
 */
export const AUTO_REMOVAL: Readonly<RemoveOptions> = { force: true, volumes: true, waitForOther: true };

/** `docker stop` / `docker restart`: the signal asked first (the container's StopSignal by default), and how long it gets before SIGKILL. */
export interface StopOptions {
  timeout?: number;
  signal?: string;
}

/** The keys dockerd's container list accepts (`api/server/router/container`'s `acceptedPsFilterTags`). */
const PS_FILTERS = ['ancestor', 'before', 'exited', 'expose', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume'] as const;

/** dockerd's `IsValidStateString`: what `status=` may ask for. */
const PS_STATES = ['paused', 'restarting', 'removing', 'running', 'dead', 'created', 'exited'];

/** dockerd's `IsValidHealthString`: what `health=` may ask for. */
const PS_HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

/** A listing's filters once checked (dockerd's `foldFilter`): the values parsed, and refusals made before anything is read. */
interface PsQuery {
  filters: Filters;
  /** `ancestor=`'s images here and every image built on them (dockerd walks the children). */
  ancestors?: ReadonlySet<string>;
  exited: number[];
  publish: Set<string>;
  expose: Set<string>;
}

function psQuery(filters: Filters): PsQuery {
  checkFilterKeys(filters, PS_FILTERS);
  const exited = (filters.exited ?? []).map((value) => {
    if (!/^[+-]?\d+$/.test(value)) throw invalidArgument(`strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
    return Number(value);
  });
  for (const value of filters.status ?? []) if (!PS_STATES.includes(value)) throw invalidFilter('status', value);
  const isTask = filters['is-task'];
  if (isTask?.length && !isTask.includes('true') && !isTask.includes('false')) throw invalidFilter('is-task', isTask);
  for (const value of filters.health ?? []) if (!PS_HEALTH.includes(value)) throw invalidArgument(`Unrecognised filter value for health: ${value}`);
  return { filters, exited, publish: portFilter(filters, 'publish'), expose: portFilter(filters, 'expose') };
}

/**
 * dockerd's `StateString`: a container whose process never started (its start failed) is
 * `created` still, whatever its exit code says; one its restart policy is about to start
 * again is `restarting`.
 */
function stateString(record: ContainerRecord, state: ContainerState): string {
  if (restartPending(record, state)) return 'restarting';
  return state.status === 'exited' && !state.startedAt ? 'created' : state.status;
}

/** `network=`: a network the container is on, by name or ID prefix. */
function onNetwork(values: readonly string[] | undefined, settings: NetworkSettings | undefined): boolean {
  if (!values?.length) return true;
  const networks = Object.entries(settings?.Networks ?? {});
  return values.some((v) => networks.some(([name, endpoint]) => name === v || endpoint.NetworkID.startsWith(v)));
}

/**
 * `publish=` and `expose=` as moby's includeContainerInList matches them, on the listing's
 * `Ports` (so a container that does not run, whose Ports are empty, matches neither): `publish`
 * a host port (`PublicPort/Type`, 0 where unpublished), `expose` a container port
 * (`PrivatePort/Type`); either one matching keeps the container.
 */
function portsMatch(query: PsQuery, ports: ContainerSummary['Ports']): boolean {
  if (query.publish.size === 0 && query.expose.size === 0) return true;
  return ports.some((p) => query.publish.has(`${p.PublicPort ?? 0}/${p.Type}`) || query.expose.has(`${p.PrivatePort}/${p.Type}`));
}

/**
 * The names dockerd's name index holds for legacy links (registerLink's `/<parent>/<alias>`),
 * by the linked container's ID: the listing's `Names` has them after the container's own. dockerd
 * lists all of a container's names sorted, own one included; here it stays first, where ctr's
 * own readers of `Names[0]` (compose) look for it. Only the default bridge's links have them.
 */
function legacyLinkNames(records: readonly ContainerRecord[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const parent of records) for (const { id, alias } of parent.links ?? []) out.set(id, [...(out.get(id) ?? []), `/${parent.name}/${alias}`]);
  for (const names of out.values()) names.sort();
  return out;
}

export interface ListOptions {
  all?: boolean;
  /**
   * Docker's filters (dockerd's list): `status`, `name`, `label`, `ancestor`, `id`, `exited`,
   * `health`, `before`, `since`, `volume`, `network`, `publish`, `expose`, `is-task`;
   * `isolation` is accepted and does not filter; an unknown key is refused.
   */
  filters?: Filters;
  /** The last N created (`-n`), including stopped ones. */
  last?: number;
  /** Add `SizeRw` and `SizeRootFs` (`docker ps -s`). */
  size?: boolean;
  signal?: AbortSignal;
}

export interface AttachIo {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  signal?: AbortSignal;
  /**
   * With stdin and a TTY: the keys that detach, in Docker's grammar (`ctrl-p,ctrl-q` when
   * absent). Typed, they end the attachment with @ctr/runtime's `detachedError` and leave
   * the container running.
   */
  detachKeys?: string;
}

/** `exec` options: the runtime's, and the ID its events name (the API's exec instance's; one is made without it). */
export interface ContainerExecOptions extends ExecOptions {
  execId?: string;
}

/** What `Containers.run`'s caller does around the start. */
export interface RunHooks {
  /** Called once the container exists, before its process starts; throwing takes it apart. */
  onCreated?: (created: CreatedContainer) => void;
  /** Awaited once the container's record is written, before its process starts; failing takes it apart. */
  beforeStart?: (id: string) => Promise<void>;
  /** The caller waits for the exit next: the start need not wait for the program's exec. */
  exitAwaited?: boolean;
}

/**
 * A kill's signal as dockerd's ContainerKill takes it: moby's ParseSignal takes any positive
 * number, and one Linux has no signal for is then refused in its words.
 */
function killSignal(signal: string | number): number {
  const text = String(signal).trim();
  try {
    return parseSignal(text).number;
  } catch (error) {
    if (/^\d+$/.test(text) && Number(text) > 0) throw invalidArgument(`the linux daemon does not support signal ${Number(text)}`);
    throw error;
  }
}

/**
 * `--restart`'s `name[:max-retries]`, split as docker's CLI splits it (opts.ParseRestartPolicy),
 * then checked as dockerd checks a policy (ValidateRestartPolicy), in their words.
 */
function parseRestartPolicy(text: string | undefined): ContainerRecord['restartPolicy'] {
  if (!text) return { name: 'no', maximumRetryCount: 0 };
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const count = colon < 0 ? '' : text.slice(colon + 1);
  if (colon >= 0 && name === '') throw invalidArgument('invalid restart policy format: no policy provided before colon');
  if (count !== '' && !/^[+-]?\d+$/.test(count)) throw invalidArgument('invalid restart policy format: maximum retry count must be an integer');
  const maximumRetryCount = count === '' ? 0 : Number(count);
  switch (name) {
    case 'no':
    case 'always':
    case 'unless-stopped':
      if (maximumRetryCount !== 0) {
        throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'${maximumRetryCount < 0 ? ' and cannot be negative' : ''}`);
      }
      return { name, maximumRetryCount };
    case 'on-failure':
      if (maximumRetryCount < 0) throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
      return { name, maximumRetryCount };
    default:
      throw invalidArgument(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
}

/** Options that mean something to the engine only; the rest go to @ctr/runtime as they are. */
const ENGINE_ONLY = [
  'image', 'name', 'entrypoint', 'labels', 'volumes', 'tmpfs', 'mounts', 'mountSpecs', 'internalMounts', 'network', 'networkAliases', 'ip', 'ip6', 'linkLocalIps',
  'publish', 'publishAll', 'restart', 'autoRemove', 'pull', 'onPullProgress', 'signal', 'log', 'attach', 'stdinOnce',
  'expose', 'volumesFrom', 'macAddress', 'links', 'usernsMode', 'deviceRequests', 'containerIdFile', 'securityOpt', 'networkLinks', 'platform', 'imagePlatform',
  'shell',
] as const;

/** dockerd's refusal of links with the host's network (runconfig's ErrConflictHostNetworkAndLinks). */
const HOST_LINKS = "conflicting options: host type networking can't be used with links. This would result in undefined behavior";

/** What `--link`s add to a container: hosts entries, variables, and the links inspect shows. */
interface Linked {
  hosts: string[];
  env: string[];
  links: Array<{ id: string; alias: string }>;
}

function runtimeOptions(options: CreateContainerOptions): RunOptions {
  const copy: Record<string, unknown> = { ...options };
  for (const key of ENGINE_ONLY) delete copy[key];
  return copy as RunOptions;
}

const FULL_ID = /^[0-9a-f]{64}$/;

const SIGKILL = 9;

/** Whether a caller's streams are attached (it sees the exit: `run`, `start -a`). */
function attachedIo(io: AttachIo): boolean {
  return io.stdin !== undefined || io.stdout !== undefined || io.stderr !== undefined;
}

/**
 * Promise.all that waits for every promise before failing with the first error, so that no
 * step is still running (and registering its undo) while the caller rolls back.
 */
async function settleAll<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** `--entrypoint`'s value as docker's CLI sends it: one word (`[""]` for `--entrypoint ""`). */
function entrypointList(entrypoint: string[] | string | undefined): string[] | undefined {
  return typeof entrypoint === 'string' ? [entrypoint] : entrypoint;
}

/**
 * moby's merge of a container's config over its image's (and mergeAndVerifyConfig's reset):
 * the image's user, stop signal and command where the container gives none, and its
 * entrypoint where the container gives none at all. An entrypoint of its own drops the
 * image's command; `[""]` (`--entrypoint ""`) does so too, then means no entrypoint, while
 * an empty one (`[]`) keeps the image's command.
 */
function mergedConfig(
  image: ContainerConfig,
  user: string | undefined,
  entrypoint: string[] | undefined,
  cmd: string[] | undefined,
  env: readonly string[] | undefined,
  stopSignal: string | undefined,
  workingDir: string | undefined,
): NonNullable<ContainerRecord['config']> {
  const noEntrypoint = entrypoint?.length === 1 && entrypoint[0] === '';
  // What the process gets besides (PATH, HOSTNAME, TERM, HOME, links' variables) stays out of Env.
  return {
    User: user ?? image.User ?? '',
    Entrypoint: noEntrypoint ? null : (entrypoint ?? image.Entrypoint ?? null),
    Cmd: cmd?.length || entrypoint?.length ? (cmd ?? null) : (image.Cmd ?? null),
    Env: configEnv(image.Env, env),
    ...((stopSignal ?? image.StopSignal) ? { StopSignal: stopSignal ?? image.StopSignal } : {}),
    WorkingDir: workingDir || image.WorkingDir || '',
  };
}

export class Containers {
  readonly records: ContainerRecords;

  constructor(
    private readonly ctx: EngineContext,
    private readonly images: Images,
  ) {
    this.records = new ContainerRecords(ctx.root);
  }

  async init(): Promise<void> {
    await this.records.init();
    // One mount point per container, each unrelated to the others.
    if (mkdirSync(this.mountpointsDir(), { recursive: true }) !== undefined) await spreadSubdirectories(this.mountpointsDir());
  }

  private mountpointsDir(): string {
    return path.join(this.ctx.root, 'engine', 'rootfs');
  }

  private rootfsDir(id: string): string {
    return path.join(this.mountpointsDir(), id);
  }

  /** The image container `id` is made of, marked as being used by it (see `Images.resolveInUse`). */
  private async imageFor(options: CreateContainerOptions, id: string): Promise<ImageInUse> {
    const policy = options.pull ?? 'missing';
    const platform = options.imagePlatform;
    if (policy !== 'always') {
      try {
        return await this.imageForPlatform(options.image, id, platform, options.signal);
      } catch (error) {
        if (!isNotFound(error) || policy === 'never') throw error;
      }
    }
    await this.images.pull(options.image, {
      ...(platform ? { platform } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onPullProgress ? { onProgress: options.onPullProgress } : {}),
    });
    return this.imageForPlatform(options.image, id, platform, options.signal);
  }

  /** `Images.resolveInUse`, NotFound (and no longer marked) when the image cannot run on `platform`. */
  private async imageForPlatform(ref: string, id: string, platform: Platform | undefined, signal: AbortSignal | undefined): Promise<ImageInUse> {
    const found = await this.images.resolveInUse(ref, id, signal);
    const mismatch = platform ? notForPlatform(ref, found.image, platform) : undefined;
    if (!mismatch) return found;
    found.endUse();
    throw mismatch;
  }

  /**
   * `docker create`: everything but starting the process. Nothing is left behind when it fails.
   * Its root filesystem, mounted for the create's own setup, comes off after, as moby's create
   * unmounts it: its start (or a copy, an export) mounts it again.
   */
  async create(options: CreateContainerOptions): Promise<CreatedContainer> {
    const made = await this.make(options);
    try {
      await made.commit();
    } catch (error) {
      await made.rollback();
      throw error;
    }
    await unmountStopped(this.ctx, made.record);
    return made.created;
  }

  /**
   * `docker run`'s create and start. The container's record and its create event are
   * written while the process starts (most of a start is runc's), not before: neither
   * needs the other. A container whose record cannot be written is taken apart again,
   * started or not; one whose start fails stays, as after `docker create` and a failed start.
   * `attach` gives the streams once the container exists, as docker attaches after its create:
   * no input is read for a run that fails before (a caller trying again would lose it).
   */
  async run(
    options: CreateContainerOptions,
    attach: () => AttachIo = () => ({}),
    hooks: RunHooks = {},
  ): Promise<{ created: CreatedContainer; attached?: Promise<void>; release?: () => Promise<void> }> {
    const made = await this.make(options, true);
    let io: AttachIo;
    try {
      hooks.onCreated?.(made.created);
      io = attach();
    } catch (error) {
      await made.rollback();
      throw error;
    }
    const commit = made.commit(attachedIo(io));
    if (hooks.beforeStart || made.startRefused) {
      // What the hook does (a copy into the container) finds the container by its record.
      try {
        await commit;
        await hooks.beforeStart?.(made.created.id);
      } catch (error) {
        await made.rollback();
        throw error;
      }
    }
    // As docker's run, a create and a start: the start fails as the allocation did (its error
    // recorded, the container left created or, `--rm`, removed), or runs it if the port or address was freed meanwhile.
    if (made.startRefused) return { created: made.created, ...(await this.startRecord(made.record, io, hooks.exitAwaited === true, true)), ...this.releaseOf(made.record) };
    // conmon's exit command finds the container by its record: with one, the record comes
    // first — but for one that acts once this process is gone, which outlives the write.
    const exitCommand = this.exitCommandFor(made.record, io);
    // A plain container's command only reports the die and unmounts its root filesystem, and waits a moment for the record.
    const startable = exitCommand && !exitCommand.whenCallerGone && watched(made.record) ? await commit.then(() => true, () => false) : true;
    const [committed, started] = await Promise.allSettled([commit, startable ? startNetworked(this.ctx, made.record, () => this.startProcess(made.record, io, hooks.exitAwaited === true, exitCommand), { allocated: true }) : {}]);
    // Not started: no exit for this process to act on.
    if (committed.status === 'rejected' || started.status === 'rejected') settleExit(made.record.id);
    if (committed.status === 'rejected') {
      await made.rollback();
      throw committed.reason;
    }
    if (started.status === 'rejected') throw started.reason;
    await this.started(made.record);
    return { created: made.created, ...started.value, ...this.releaseOf(made.record) };
  }

  /** For a caller that sees the exit (an attached run): what the container holds on the host comes off then. */
  private releaseOf(record: ContainerRecord): { release?: () => Promise<void> } {
    return holdsHostMounts(record) ? { release: () => releaseHeld(this.ctx, record) } : {};
  }

  /**
   * Everything `create` does but writing the container's record: undone by `rollback`.
   * `starting`: it starts at once (`run`), so its network is allocated now, beside its root
   * filesystem, whose mount stays for the start; otherwise it is `createdAlone` — as it is when
   * that allocation was refused (`startRefused`), but for an `--rm` one, whose mount cannot be made again.
   */
  private async make(options: CreateContainerOptions, starting = false): Promise<MadeContainer> {
    const restartPolicy = parseRestartPolicy(options.restart);
    if (options.autoRemove && restartPolicy.name !== 'no') {
      throw conflict('Conflicting options: --restart and --rm');
    }
    const specMounts = (options.mountSpecs ?? []).map(mountRequest);
    const volumeDriver = options.platform?.volumeDriver;
    const volumeRequests = [...(options.volumes ?? []).map((spec) => withVolumeDriver(parseVolumeSpec(spec), volumeDriver)), ...specMounts.filter((m): m is VolumeRequest => 'kind' in m)];
    // HostConfig.Binds: the -v binds and named volumes as given (an anonymous `-v /p` is Config.Volumes', as docker's CLI sends it).
    const binds = (options.volumes ?? []).filter((_, i) => volumeRequests[i]?.kind !== 'anonymous');
    const tmpfs = [...(options.tmpfs ?? []).map(parseTmpfsSpec), ...specMounts.filter((m): m is TmpfsMount => !('kind' in m))];
    checkDuplicateMounts(volumeRequests, tmpfs);
    const { logSizeMax, logMaxFiles, logCompress, noLog, remote, warnings } = logSettings(options.log);
    // A logging plugin is looked up now, as dockerd's ValidateLogOpts does: none of the name is refused.
    const logPlugin = remote?.plugin ? await logDriverModule().logPluginFor(this.ctx, remote.driver, options.signal) : undefined;
    const networkMode = options.network ?? 'bridge';
    const kind = networkKind(networkMode);
    // A network of its own: the default bridge or a user network.
    const ownNetwork = kind === 'bridge' || kind === 'user';
    const expose = exposedPortKeys(options.expose ?? []);
    const links = (options.links ?? []).map(parseLink);
    // On a user network a --link is the endpoint's (dockerd keeps legacy links to the default
    // bridge): the alias names the linked container in this container's embedded DNS, whenever
    // that one is on the network — docker checks nothing at the create.
    const endpointLinks = [...(options.networkLinks ?? [])];
    if (kind === 'user') for (const link of links) if (!endpointLinks.some((l) => l.alias === link.alias)) endpointLinks.push(link);
    checkUsernsMode(options.usernsMode);
    refuseDeviceRequests(options.deviceRequests);
    const realtime = { period: options.cpuRealtimePeriod, runtime: options.cpuRealtimeRuntime };
    const platformWarnings = checkPlatformSettings(options.platform ?? {}, realtime);
    const macAddress = options.macAddress === undefined ? undefined : parseMac(options.macAddress);
    if (macAddress !== undefined && !ownNetwork) throw invalidArgument('conflicting options: mac-address and the network mode');
    // runconfig's ErrUnsupportedNetworkAndIP; a user network without a subnet of its own refuses it when joined.
    if ((options.ip !== undefined || options.ip6 !== undefined) && kind !== 'user') throw invalidArgument('user specified IP address is supported on user defined networks only');
    // The other container's namespace comes with its resolv.conf.
    if (kind === 'container' && options.dns?.length) throw invalidArgument('conflicting options: dns and the network mode');
    // ...and its hostname (runconfig's ErrConflictNetworkHostname).
    if (kind === 'container' && options.hostname) throw invalidArgument('conflicting options: hostname and the network mode');
    const dns = validDnsSettings({ servers: options.dns, search: options.dnsSearch, options: options.dnsOptions });
    if (networkMode === 'host' && links.length > 0) throw invalidArgument(HOST_LINKS);
    startMountRelay();
    this.ctx.runtime.expectStart();
    const [pid, ipc, inherited] = await Promise.all([this.containerMode(options.pid), this.containerMode(options.ipc), this.inheritedMounts(options.volumesFrom ?? [])]);
    const id = newId();
    const { image, endUse } = await this.imageFor(options, id);
    const undo: Array<() => Promise<unknown>> = [async () => endUse()];
    const rollback = async (): Promise<void> => {
      for (const step of undo.reverse()) await step().catch(() => undefined);
    };
    try {
      // Docker's `Config.ExposedPorts`: the image's, `--expose`'s and the published ones.
      const exposedPorts = [
        ...new Set([
          ...Object.keys(image.config.config?.ExposedPorts ?? {}).map((k) => (k.includes('/') ? k : `${k}/tcp`)),
          ...expose,
          ...(options.publish ?? []).flatMap(parsePortSpec).map((p) => `${p.containerPort}/${p.protocol}`),
        ]),
      ];
      // Docker's `Config.Volumes`: the posted ones and the image's VOLUMEs (moby's merge), bound or not.
      const givenVolumes = options.configVolumes ?? volumeRequests.slice(0, options.volumes?.length ?? 0).flatMap((r) => (r.kind === 'anonymous' ? [r.target] : []));
      const configVolumes = [...new Set([...givenVolumes, ...Object.keys(image.config.config?.Volumes ?? {})])];
      const clearAbandoned = (stale: string): Promise<void> => this.clearUnrecorded(stale);
      const name = await (options.name === undefined ? this.records.claimGeneratedName(id, clearAbandoned) : this.records.claimName(options.name, id, clearAbandoned));
      undo.push(() => this.records.releaseName(name, id));

      const snapshot = containerSnapshot(id);
      const rootfs = this.rootfsDir(id);
      const [linked, extraHosts] = await Promise.all([
        links.length > 0 && kind !== 'user' ? this.linked(links, networkMode, name) : undefined,
        withHostGateway(options.extraHosts, () => this.ctx.network.defaultGateway(options.signal ? { signal: options.signal } : {})),
      ]);
      // Destinations the container mounts itself win over those `--volumes-from` brings.
      const ownTargets = [...tmpfs, ...(options.mounts ?? [])].map((m) => m.target);
      // A `run`'s root filesystem stays mounted to its removal when it is removed at its exit (see `mountNewRootfs`).
      const ephemeral = starting && options.autoRemove === true;
      // The root filesystem, the volumes and the network do not depend on each other.
      const [, volumes, { network: attached, startRefused }] = await settleAll([
        (async () => {
          const chainId = await this.images.unpack(image, options.signal);
          // A container removed on exit is not wanted after a power cut: its snapshot is
          // volatile (recorded apart from the snapshot table, without fsync), as its overlay
          // skips syncs.
          const mounts = await this.ctx.store.snapshots.prepare(snapshot, chainId, { durable: options.autoRemove !== true });
          undo.push(() => this.ctx.store.snapshots.remove(snapshot));
          mkdirSync(rootfs, { recursive: true });
          undo.push(() => removeMountpoint(rootfs));
          await mountNewRootfs(mounts, rootfs, { ephemeral });
          undo.push(() => unmount(rootfs));
        })(),
        this.volumeMounts(id, volumeRequests, image, undo, inherited, ownTargets, volumeDriver),
        (async () => {
          // `none` needs no network of ours: runc gives a new namespace its loopback itself.
          if (networkMode === 'none') return { network: undefined, startRefused: false };
          // Recorded now, made at each start (dockerd's allocateNetwork): a `run`'s first start is now.
          const allocating = starting && ownNetwork;
          const owner = networkMode.startsWith('container:') ? await this.referenced(networkMode.slice(10)) : undefined;
          const request: AttachOptions = {
            mode: owner ? `container:${owner.id}` : networkMode,
            name,
            // Another's namespace comes with its hostname: the network's record of that namespace
            // has it, but a container on `none` has no such record.
            hostname: options.hostname ?? (owner ? (owner.run.hostname ?? owner.id.slice(0, 12)) : id.slice(0, 12)),
            ...(ownNetwork
              ? {
                  networks: [
                    {
                      name: networkMode,
                      aliases: options.networkAliases ?? [],
                      ...(options.ip ? { ip: options.ip } : {}),
                      ...(options.ip6 ? { ip6: options.ip6 } : {}),
                      ...(options.linkLocalIps?.length ? { linkLocalIps: options.linkLocalIps } : {}),
                      ...(macAddress ? { mac: macAddress } : {}),
                      ...(endpointLinks.length ? { links: endpointLinks } : {}),
                      // A swarm task may join its service's networks, attachable or not.
                      ...(options.labels?.['com.docker.swarm.task.id'] !== undefined ? { task: true } : {}),
                    },
                  ],
                }
              : {}),
            ports: options.publish ?? [],
            exposedPorts,
            publishAll: options.publishAll ?? false,
            dns,
            ...(options.signal ? { signal: options.signal } : {}),
          };
          const made = await this.ctx.network[allocating ? 'attach' : 'configure'](id, request).then(
            (network) => ({ network, startRefused: false }),
            async (error: unknown) => {
              // dockerd allocates addresses and ports at the start, not the create: refused, the container is made all the same.
              if (!allocating || !isAllocationFailure(error)) throw error;
              return { network: await this.ctx.network.configure(id, request), startRefused: true };
            },
          );
          undo.push(() => this.ctx.network.detach(id));
          return made;
        })(),
      ] as const);
      const { mounts: containerMounts, anonymous, fills } = volumes;
      const startsNow = starting && !startRefused;
      const allMounts = [...containerMounts, ...tmpfs, ...(options.mounts ?? [])];

      const { labels, publish, publishAll, autoRemove, signal, networkAliases, ip } = options;
      const healthcheck = healthcheckFor(image.config.config?.Healthcheck, options.healthcheck);
      const config = {
        ...mergedConfig(image.config.config ?? {}, options.user, entrypointList(options.entrypoint), options.cmd, options.env, options.stopSignal, options.workingDir),
        ...(options.shell?.length ? { Shell: options.shell } : {}),
      };
      const hosts = [...(extraHosts ?? []), ...(linked?.hosts ?? [])];
      // /etc/hosts names the container's own address: on a user network (a compose project's)
      // that is its endpoint's, NetworkSettings.IPAddress being the default bridge's only.
      const address = ownAddress(attached?.settings);
      const stdinOnce = options.stdinOnce ?? defaultStdinOnce(options.openStdin, options.attach);
      // The container's own command, as dockerd records it: `--init`'s docker-init, which the
      // runtime runs in front of it, shows only as HostConfig.Init.
      const [command = '', ...commandArgs] = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
      const containerLabels = { ...(image.config.config?.Labels ?? {}), ...(labels ?? {}) };
      const run: RunOptions = {
        ...runtimeOptions(options),
        ...(kind === 'container' && attached ? { hostname: attached.hostname } : {}),
        ...(options.openStdin && !stdinOnce ? { leaveStdinOpen: true } : {}),
        ...(pid ? { pid } : {}),
        ...(ipc ? { ipc } : {}),
        ...(hosts.length > 0 ? { extraHosts: hosts } : {}),
        // Link variables first, as dockerd puts them: the container's own override them.
        ...(linked?.env.length ? { env: [...linked.env, ...(options.env ?? [])] } : {}),
        ...(logSizeMax ? { logSizeMax } : {}),
        ...(logMaxFiles ? { logMaxFiles } : {}),
        ...(logCompress ? { logCompress } : {}),
        ...(noLog ? { noLog } : {}),
        ...(remote
          ? {
              remoteLog: (logPlugin ?? remoteLog)(remote, {
                id,
                name,
                imageId: image.record.id,
                image: options.image,
                path: command,
                args: commandArgs,
                labels: containerLabels,
                env: config.Env ?? [],
              }),
            }
          : {}),
        // What runs is the merged config's: the runtime is given both, so it merges nothing again.
        entrypoint: config.Entrypoint ?? [],
        cmd: config.Cmd ?? [],
        // The internal ones last: the others' places in the list name their staging points.
        mounts: [...runtimeMounts(this.ctx.runRoot, id, allMounts), ...(options.internalMounts ?? []).map((m) => ({ type: 'bind' as const, source: m.source, target: m.target, readOnly: true }))],
        // No namespace back means the host's: `host`, or `container:` of a container in host mode;
        // that of a container on `none` is joined through its process at each start.
        network: attached?.netnsPath
          ? { mode: 'namespace', path: attached.netnsPath }
          : attached?.joinsProcessOf
            ? { mode: 'container', id: attached.joinsProcessOf }
            : networkMode === 'none'
              ? { mode: 'none' }
              : { mode: 'host' },
        ...(address ? { ipAddress: address } : {}),
        // The network's resolv.conf, which each start makes again (the embedded DNS's on a user
        // network, where --dns are that server's upstreams); in the host's network, the runtime's.
        ...(attached && kind !== 'host' ? { resolvConf: attached.resolvConf } : {}),
      };
      const info = await this.ctx.runtime.create(id, {
        rootfs,
        image: image.config.config ?? {},
        run,
        ...(signal ? { signal } : {}),
      });
      undo.push(() => this.ctx.runtime.delete(id, { force: true }));
      // Only a namespace of its own can be connected to a network later, which rewrites the file.
      if (attached?.netnsPath) await noteResolvConf(info.bundle);
      // After the runtime's preparation of the root filesystem: what it adds there (/etc/hosts…) is the image's part, as dockerd's init layer is.
      await this.fillVolumes({ id, run, mounts: allMounts }, rootfs, fills, signal);

      const record: ContainerRecord = {
        id,
        name,
        created: info.createdAt,
        image: options.image,
        imageId: image.record.id,
        path: command,
        args: commandArgs,
        snapshot,
        rootfs,
        run,
        mounts: allMounts,
        ...(options.mountSpecs?.length ? { mountSpecs: options.mountSpecs } : {}),
        ...(binds.length ? { binds } : {}),
        // Kept even when none: a tmpfs mount that is no `--tmpfs` one is then told apart (`fromTmpfsFlag`).
        tmpfs: givenTmpfs(options.tmpfs ?? []),
        anonymousVolumes: anonymous,
        configVolumes,
        labels: containerLabels,
        network: { mode: networkMode, aliases: networkAliases ?? [], ...(ip ? { ip } : {}), ports: publish ?? [], publishAll: publishAll ?? false },
        exposedPorts,
        ...(options.volumesFrom?.length ? { volumesFrom: options.volumesFrom } : {}),
        ...(linked?.links.length ? { links: linked.links } : {}),
        ...(options.usernsMode ? { usernsMode: options.usernsMode } : {}),
        ...(options.containerIdFile ? { containerIdFile: options.containerIdFile } : {}),
        ...(options.securityOpt?.length ? { securityOpt: options.securityOpt } : {}),
        ...(options.extraHosts?.length ? { extraHosts: options.extraHosts } : {}),
        ...recordedPlatform(options.platform),
        restartPolicy,
        autoRemove: autoRemove ?? false,
        ...(options.attach ? { attach: options.attach } : {}),
        stdinOnce,
        restartCount: 0,
        ...(startsNow && answersExit(this.ctx, restartPolicy) ? { exitAnswered: true } : {}),
        // An ephemeral root filesystem cannot be mounted again: one whose start was refused is kept mounted as a run's (a failed start removes it).
        ...(startsNow || ephemeral ? {} : { createdAlone: true as const }),
        ...(options.log ? { log: options.log } : {}),
        ...(healthcheck ? { healthcheck } : {}),
        ...(healthcheckOff(image.config.config?.Healthcheck, options.healthcheck) ? { healthcheckOff: true as const } : {}),
        config,
      };
      return {
        created: { id, name, warnings: [...platformWarnings, ...warnings, ...info.warnings] },
        record,
        // The record and its event do not wait for each other; the name is the container's once the record is there.
        commit: async (callerAttached = false) => {
          await Promise.all([
            // The record says from now on what the container uses: its mark as being made goes.
            this.records.write(record).then(() => {
              endUse();
              return this.records.confirmName(name, id);
            }),
            this.ctx.events
              .container('create', record)
              .then(() => (callerAttached ? this.ctx.events.container('attach', record) : undefined))
              // A run's first start joins its networks as it is made: the endpoints made now.
              .then(() => this.ctx.events.networks('connect', id, attached?.settings.Networks ?? {})),
          ]);
        },
        rollback: async () => {
          await this.records.remove(id).catch(() => undefined);
          await rollback();
        },
        startRefused,
      };
    } catch (error) {
      await rollback();
      throw error;
    }
  }

  /**
   * Named volumes are made when missing (with a `--mount`'s labels and driver options);
   * `--volumes-from`'s mounts go where the container mounts nothing itself (`ownTargets`: its
   * tmpfs and ready-made mounts, besides `requests`); anonymous `-v /path` volumes and image
   * VOLUMEs not covered by a mount get anonymous ones. Every volume used counts the container
   * among its users (so none is removed or pruned under it). `fills` are the volumes the
   * container's own mounts ask to fill from the image (not `nocopy`, not another container's).
   */
  private async volumeMounts(
    id: string,
    requests: readonly VolumeRequest[],
    image: ResolvedImage,
    undo: Array<() => Promise<unknown>>,
    inherited: ReadonlyArray<ContainerRecord['mounts'][number]>,
    ownTargets: readonly string[],
    volumeDriver: string | undefined,
  ): Promise<{ mounts: ContainerRecord['mounts']; anonymous: string[]; fills: VolumeFill[] }> {
    const volumes = this.ctx.store.volumes;
    const mounts: ContainerRecord['mounts'] = [];
    const anonymous: string[] = [];
    const fills: VolumeFill[] = [];
    const use = async (name: string, request: VolumeRequest & { kind: 'named' | 'anonymous' }): Promise<void> => {
      const info = await volumeForMount(this.ctx, name, request.create);
      const subpath = request.kind === 'named' ? request.subpath : undefined;
      const driver = isPluginDriver(info.Driver) ? info.Driver : undefined;
      await volumes.addUser(name, id);
      undo.push(() => volumes.removeUser(name, id));
      // A subpath is looked for at each start, as dockerd does: it may be made after the create.
      // A plugin's volume is where each start binds what the plugin's Mount gives.
      const data = driver ? this.pluginStagingPoint(id, mounts.length) : info.Mountpoint;
      const source = subpath ? path.join(data, subpath) : data;
      const { target, readOnly, mode } = request;
      // Its Source, as dockerd's registerMountPoints records the volume's Path: inspect and ps read it, never the plugin.
      const plugin = driver ? { driver, pluginSource: await volumePluginsModule().pluginVolumePath(this.ctx, driver, name) } : {};
      const kept = { ...(subpath ? { subpath } : {}), ...(mode ? { volumeMode: mode } : {}), ...(hasDevice(info) ? { device: true as const } : {}), ...plugin };
      mounts.push({ type: 'volume', source, target, readOnly, name, ...kept });
      if (request.copy) fills.push({ name, target, ...(subpath ? { subpath } : {}), ...(driver ? { driver } : {}), ...(kept.device ? { device: true as const } : {}) });
    };
    const anonymousVolume = async (request: VolumeRequest & { kind: 'anonymous' }): Promise<void> => {
      // Announced as any volume made (moby's store logs its create): `volume create` with its driver.
      const made = await createVolume(this.ctx, { ...request.create });
      undo.push(() => removeVolumeOf(this.ctx, made.Name, { force: true }));
      anonymous.push(made.Name);
      await use(made.Name, request);
    };
    // dockerd's anonymous `-v /path` (the API's Config.Volumes) gives way to any other mount there.
    const mounted = new Set([...requests.filter((r) => r.kind !== 'anonymous').map((r) => r.target), ...ownTargets].map(mountTarget));
    for (const request of requests) {
      if (request.kind === 'bind') {
        const source = path.resolve(request.source);
        if (request.mustExist) {
          if (!(await fs.lstat(source).then(() => true, () => false))) throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
        } else {
          // A missing `-v` source is made a directory, as dockerd makes it; a file is a source too.
          await fs.mkdir(source, { recursive: true }).catch((error: NodeJS.ErrnoException) => (error.code === 'EEXIST' ? undefined : Promise.reject(error)));
        }
        const { target, readOnly, mode, propagation } = request;
        mounts.push({ type: 'bind', source, target, readOnly, ...(propagation ? { propagation } : {}), ...(mode ? { volumeMode: mode } : {}) });
      } else if (request.kind === 'named') await use(request.name, request);
      else if (!mounted.has(mountTarget(request.target))) await anonymousVolume(request);
      mounted.add(mountTarget(request.target));
    }
    const taken = new Set([...mounts.map((m) => m.target), ...ownTargets].map(mountTarget));
    for (const mount of inherited) {
      if (taken.has(mountTarget(mount.target))) continue;
      if (mount.name) {
        const name = mount.name;
        await volumes.addUser(name, id);
        undo.push(() => volumes.removeUser(name, id));
      }
      // Another container's plugin volume is mounted for this one at this one's own staging point.
      mounts.push(mount.type === 'volume' && mount.driver !== undefined ? { ...mount, source: path.join(this.pluginStagingPoint(id, mounts.length), mount.subpath ?? '') } : mount);
    }
    for (const target of Object.keys(image.config.config?.Volumes ?? {})) {
      if (mounts.some((m) => mountTarget(m.target) === mountTarget(target))) continue;
      await anonymousVolume({ kind: 'anonymous', target: mountTarget(target), readOnly: false, copy: true, ...(volumeDriver ? { create: { driver: volumeDriver } } : {}) });
    }
    return { mounts, anonymous, fills };
  }

  private pluginStagingPoint(id: string, index: number): string {
    return pluginMountsModule().pluginStagingPoint(this.ctx.runRoot, id, index);
  }

  /**
   * dockerd's populateVolumes, at a container's create: each volume its own mounts ask to fill
   * gets what the new root filesystem has at the mount point, if the volume is empty there
   * (the store's `populate` says how, and why a copy cut short leaves no half-filled volume).
   * Nothing there, or no directory: nothing to copy. A device volume of `container` is
   * mounted for its fill and unmounted after unless something else uses it, as dockerd's
   * populateVolume mounts it: a host directory bound keeps the copy, a tmpfs loses it.
   */
  private async fillVolumes(
    container: Pick<ContainerRecord, 'id' | 'run' | 'mounts'>,
    rootfs: string,
    fills: readonly VolumeFill[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const sources = fills.flatMap((fill) => {
      const found = resolveInRoot(rootfs, fill.target);
      return found.unresolved || !found.stat?.isDirectory() ? [] : [{ ...fill, source: found.abs }];
    });
    const devices = new Set(sources.flatMap((fill) => (fill.device ? [fill.name] : [])));
    const release =
      devices.size > 0 ? await holdDevices(this.ctx, { ...container, mounts: container.mounts.filter((m) => m.name !== undefined && devices.has(m.name)) }) : undefined;
    try {
      for (const { name, subpath, driver, source } of sources) {
        if (driver) await pluginMountsModule().fillPluginVolume(this.ctx, { name, driver, ...(subpath ? { subpath } : {}) }, source, signal);
        else await this.ctx.store.volumes.populate(name, source, { ...(subpath ? { subpath } : {}), ...(signal ? { signal } : {}) });
      }
    } finally {
      await release?.();
    }
  }

  /**
   * A container another one's options name (`--volumes-from`, `--pid container:`…). One that
   * does not exist is an invalid parameter, as dockerd has it: a 404 to a create is what
   * docker's CLI takes for a missing image, which it then tries to pull.
   */
  private async referenced(ref: string): Promise<ContainerRecord> {
    return this.records.find(ref).catch((error: unknown) => {
      throw isNotFound(error) ? invalidArgument((error as Error).message) : error;
    });
  }

  /** `--pid`/`--ipc container:<name|id>` as `container:<id>`. */
  private async containerMode<T extends string>(mode: T | undefined): Promise<T | undefined> {
    if (!mode?.startsWith('container:')) return mode;
    return `container:${(await this.referenced(mode.slice('container:'.length))).id}` as T;
  }

  /**
   * `--volumes-from`'s mounts: each container's mount points as dockerd copies them — every
   * volume, bind and `--mount` tmpfs (not a `--tmpfs` one: HostConfig.Tmpfs is no mount point),
   * read-only where it is or where `:ro` asks (docker's `:rw` cannot make a read-only one
   * writable), and without the `-v` mode it was given (dockerd's copy has none: inspect shows
   * an empty `Mode`). A later container's mount at the same place replaces an earlier one's.
   */
  private async inheritedMounts(specs: readonly string[]): Promise<ContainerRecord['mounts']> {
    const byTarget = new Map<string, ContainerRecord['mounts'][number]>();
    for (const { container, readOnly } of specs.map(parseVolumesFrom)) {
      const source = await this.referenced(container);
      for (const mount of source.mounts) {
        if (mount.type === 'tmpfs' && fromTmpfsFlag(source, mount.target)) continue;
        const copy = { ...mount, readOnly: mount.readOnly === true || readOnly };
        byTarget.set(mountTarget(mount.target), mount.type === 'tmpfs' ? copy : { ...copy, volumeMode: '' });
      }
    }
    return [...byTarget.values()];
  }

  /**
   * `--link`s as dockerd makes them. On the default bridge: the linked container (found by name,
   * through `container:` network modes to the one with the network) must be on the default
   * bridge too; the link adds a hosts entry for its alias, hostname and name, and its
   * variables. With no network of its own, a link is only checked. (On a user network the
   * links are the endpoint's: names in its embedded DNS, see `create`.)
   */
  private async linked(links: ReadonlyArray<{ name: string; alias: string }>, networkMode: string, parent: string): Promise<Linked> {
    const out: Linked = { hosts: [], env: [], links: [] };
    for (const { name, alias } of links) {
      const found = await this.records.find(name).catch((error: unknown) => {
        throw isNotFound(error) ? invalidArgument(`could not get container for ${name}: ${(error as Error).message}`) : error;
      });
      let owner = found;
      while (owner.network.mode.startsWith('container:')) owner = await this.records.find(owner.network.mode.slice('container:'.length));
      if (owner.network.mode === 'host') throw invalidArgument(HOST_LINKS);
      out.links.push({ id: found.id, alias });
      if (networkMode !== 'bridge') continue;
      const settings = await this.ctx.network.settings(owner.id).catch(() => undefined);
      const ip = settings?.Networks.bridge?.IPAddress;
      if (!settings?.Networks.bridge) throw invalidArgument(`Cannot link to /${found.name}, as it does not belong to the default network`);
      // Its address is its run's: dockerd checks at the start, ctr takes the address at the create.
      if (!ip) throw conflict(`Cannot link to a non running container: /${found.name} AS /${parent}/${alias}`);
      for (const host of new Set([alias, found.run.hostname ?? found.id.slice(0, 12), found.name])) out.hosts.push(`${host}:${ip}`);
      const env = await this.configEnv(found);
      out.env.push(...linkEnv({ linkName: `/${parent}/${alias}`, ip, exposedPorts: found.exposedPorts ?? Object.keys(settings.Ports), env }));
    }
    return out;
  }

  async find(ref: string): Promise<ContainerRecord> {
    const record = await this.records.find(ref);
    await this.releaseAbandoned(record);
    return record;
  }

  /**
   * Any operation on a container finds it first: a pause or a mount a killed `cp`, `export` or
   * `commit` left ends here. Resolves with whether it has notes of freezes (see `forgetFreezes`).
   */
  private async releaseAbandoned(record: ContainerRecord): Promise<boolean> {
    const [freezes] = await Promise.all([resumeAbandonedQuiesce(this.ctx, record.id), releaseAbandonedHolds(this.ctx, record)]);
    return freezes;
  }

  /** Its `Config.Env`, kept at create; a record from before that has only its process's environment. */
  private async configEnv(record: ContainerRecord): Promise<string[]> {
    const env = record.config?.Env;
    return env !== undefined ? (env ?? []) : ((await this.ctx.runtime.inspect(record.id)).spec.process.env ?? []);
  }

  /** The image ID a container was made from (for `rmi` conflicts). */
  async imageOf(id: string): Promise<string | undefined> {
    return this.records.read(id).then((r) => r.imageId, () => undefined);
  }

  async start(ref: string, io: AttachIo = {}): Promise<{ attached?: Promise<void> }> {
    return this.startRecord(await this.find(ref), io);
  }

  /**
   * `start` of the container `record`, its caller waiting for the exit next or not (`exitAwaited`,
   * as `RunHooks`'). As dockerd's containerStart, one removed at its exit (`--rm`) is removed
   * when its start fails, unless that start was refused for a removal already under way.
   * An attached caller's `attach` event comes before the start joins the networks, as docker's
   * client attaches before it starts (`attachAnnounced`: a run's create announced it).
   */
  private async startRecord(record: ContainerRecord, io: AttachIo, exitAwaited = false, attachAnnounced = false): Promise<{ attached?: Promise<void> }> {
    // The last exit is about to be forgotten: its die event goes out now if nobody reported it.
    await reportExit(this.ctx, record);
    if (attachedIo(io) && !attachAnnounced) await this.ctx.events.container('attach', record);
    let processStarting = false;
    // Refused for its removal (under way, or done): no start was tried, as moby's start refuses it before its SetError.
    let beingRemoved = false;
    const result = await (async () => {
      // Mounted again if it stopped; the hold ends once the process runs (or its start failed: then it comes off).
      const release = await holdRootfs(this.ctx, record, 'started').catch((error: unknown) => {
        beingRemoved = isCtrError(error) && (error.code === 'Conflict' || error.code === 'NotFound');
        throw error;
      });
      try {
        return await startNetworked(this.ctx, record, () => {
          processStarting = true;
          return this.startProcess(record, io, exitAwaited);
        });
      } finally {
        await release();
      }
    })().catch(async (error: unknown) => {
      // What failed before the process (a port already allocated) is the start's error, as
      // dockerd's SetError with exit code 128; the runtime records a failure of its own part.
      if (!processStarting && !beingRemoved) await this.ctx.runtime.recordStartFailure(record.id, asCtrError(error).message).catch(() => undefined);
      settleExit(record.id);
      if (record.autoRemove && !beingRemoved) await this.remove(record.id, AUTO_REMOVAL).catch(() => undefined);
      throw error;
    });
    const exitAnswered = answersExit(this.ctx, record.restartPolicy);
    if (record.stoppedByUser || (record.exitAnswered ?? false) !== exitAnswered) await this.records.write({ ...(await this.records.read(record.id)), stoppedByUser: false, exitAnswered });
    await this.started(record);
    return result;
  }

  /**
   * No monitor here: conmon must tell someone of every exit (its die event; for a watched
   * container, its removal, restart or mounts), with this. An attached caller sees the exit
   * itself — it reports the die and removes an auto-remove container — so then the command
   * acts only once the caller is gone; a restart policy's answer is the command's at once.
   */
  private exitCommandFor(record: ContainerRecord, io: AttachIo): ExitCommand | undefined {
    if (!this.ctx.exitCommand || this.ctx.monitoring()) return undefined;
    const command = [...this.ctx.exitCommand, record.id];
    const callerActs = attachedIo(io) && (record.autoRemove || !watched(record));
    return callerActs ? { argv: unlessThisProcessRuns(record.id, command), whenCallerGone: true } : { argv: command, whenCallerGone: false };
  }

  /** The process of a container whose root filesystem is mounted. */
  private async startProcess(record: ContainerRecord, io: AttachIo, exitAwaited = false, exitCommand = this.exitCommandFor(record, io)): Promise<{ attached?: Promise<void> }> {
    const attach = io.stdin || io.stdout || io.stderr ? { attach: io } : {};
    // startHolding mounts the volume subpaths, checked, where the runtime takes them from.
    const result = await startHolding(this.ctx, record, () =>
      this.ctx.runtime.start(record.id, { ...attach, ...(exitCommand ? { exitCommand: exitCommand.argv } : {}), ...(exitAwaited ? { awaitExec: false } : {}) }),
    );
    return result.attached ? { attached: result.attached } : {};
  }

  private async started(record: ContainerRecord): Promise<void> {
    // dockerd's setupMounts, after the networks are joined: the volumes' mount events, then the start.
    await this.ctx.events.volumeMounts('mount', record.id, record.mounts);
    await this.ctx.events.container('start', record);
    // A monitor's scan finds the container; with none, its checks need a timer of their own.
    if (record.healthcheck && this.ctx.healthcheckCommand && !this.ctx.monitoring()) {
      leaveTimer(this.ctx.healthcheckCommand, record, (await this.ctx.runtime.state(record.id)).startedAt, this.records.file(record.id));
    }
  }

  async wait(ref: string, signal?: AbortSignal): Promise<{ StatusCode: number; OOMKilled: boolean }> {
    const options = signal ? { signal } : {};
    // A full ID goes straight to the runtime (the common case: a caller that just started it);
    // anything else, or an ID the runtime does not know, is looked up as Docker would.
    const direct = FULL_ID.test(ref)
      ? await this.ctx.runtime.wait(ref, options).catch(unlessNotFound)
      : undefined;
    const id = direct ? ref : (await this.find(ref)).id;
    const status = direct ?? (await this.ctx.runtime.wait(id, options));
    // Seen here first (an attached run, `docker wait`): the network comes off, and the die event
    // goes out after, as dockerd's cleanup comes before its die.
    const record = await this.records.read(id).catch(() => undefined);
    if (record) await releaseNetwork(this.ctx, record);
    if (record) await reportExit(this.ctx, record);
    // Its root filesystem too, when no policy may start it again (that one is its exit observer's to decide).
    if (record?.restartPolicy.name === 'no') await unmountStopped(this.ctx, record);
    // What an attached caller owes at the exit is done, but for an auto-remove container's removal.
    if (record && !record.autoRemove) settleExit(id);
    return { StatusCode: status.exitCode, OOMKilled: status.oomKilled };
  }

  /**
   * Mark the container stopped by its user, under the restart lock (so a restart in progress
   * cannot write over it): a restart its policy has pending is cancelled, and none begins until
   * its next start — Docker's ExitOnNext. Resolves with its record as it was before.
   */
  private async markStopped(id: string): Promise<ContainerRecord> {
    return underRestartLock(this.ctx, id, async () => {
      const latest = await this.records.read(id);
      if (!latest.stoppedByUser) await this.records.write({ ...latest, stoppedByUser: true });
      return latest;
    });
  }

  async stop(ref: string, options: StopOptions = {}): Promise<void> {
    const found = await this.find(ref);
    // Marked even when it is not running: a restart its policy has pending is cancelled, as Docker's is.
    const record = await this.markStopped(found.id);
    const info = await this.ctx.runtime.inspect(record.id);
    if (!info.running) {
      // Stopped in its restart wait: the cancelled restart is the stop, after its exit's die event.
      if (restartPending(record, info)) {
        await unmountStopped(this.ctx, record);
        await reportExit(this.ctx, record);
        await this.ctx.events.container('stop', record);
      }
      return;
    }
    await this.ctx.events.container('kill', record, { signal: String(parseSignal(options.signal ?? info.stopSignal).number) });
    await this.ctx.runtime
      .stop(record.id, {
        ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        // dockerd's stop kills through its Kill, which logs the SIGKILL as an event of its own.
        onForceKill: async () => {
          await this.ctx.events.container('kill', record, { signal: String(SIGKILL) });
        },
      })
      // An auto-remove container may be gone as soon as it has stopped (a daemon's monitor
      // removes it): stopped all the same, as dockerd answers.
      .catch((error: unknown) => (record.autoRemove && isNotFound(error) ? undefined : Promise.reject(error)));
    if (holdsHostMounts(record)) await releaseHeld(this.ctx, record);
    await Promise.all([releaseNetwork(this.ctx, record), unmountStopped(this.ctx, record)]);
    await reportExit(this.ctx, record);
    await this.ctx.events.container('stop', record);
  }

  async kill(ref: string, signal: string | number = 'SIGKILL'): Promise<void> {
    // dockerd checks the signal before it looks for the container: a bad one is refused for any.
    const number = killSignal(signal);
    const record = await this.find(ref);
    const info = await this.ctx.runtime.inspect(record.id);
    if (!info.running) {
      // In its restart wait there is no process to signal: the pending restart is cancelled, as dockerd's kill does.
      if (restartPending(record, info)) {
        await this.markStopped(record.id);
        return;
      }
      throw conflict(`Cannot kill container: ${ref}: Container ${record.id} is not running`);
    }
    // A fatal signal (SIGKILL, or its stop signal) ends the run for good: the exit it brings is
    // not one its restart policy answers (dockerd's kill: "the restart policy is disabled until
    // the next start"); another (SIGHUP, SIGUSR1) leaves the policy in place.
    if (number === SIGKILL || number === parseSignal(info.stopSignal).number) await this.markStopped(record.id);
    await this.ctx.runtime.kill(record.id, signal);
    await this.ctx.events.container('kill', record, { signal: String(number) });
  }

  /** `start`: how it starts again (a daemon's own start, which attaches the clients waiting for it). */
  async restart(ref: string, options: StopOptions = {}, start: (id: string) => Promise<unknown> = (id) => this.start(id)): Promise<void> {
    await this.stop(ref, options);
    await start((await this.find(ref)).id);
    await this.ctx.events.container('restart', await this.find(ref));
  }

  async pause(ref: string): Promise<void> {
    const record = await this.find(ref);
    await pauseForUser(this.ctx, record.id);
    await this.ctx.events.container('pause', record);
  }

  async unpause(ref: string): Promise<void> {
    const record = await this.records.find(ref);
    await unpauseForUser(this.ctx, record.id);
    await this.ctx.events.container('unpause', record);
  }

  /**
   * `docker rm`: refuses a running (or restarting) container unless forced; `volumes` also
   * removes its anonymous volumes. Forced, a running one is killed first and its exit
   * reported, as dockerd's `rm -f` does (kill, die, destroy); a pending restart is cancelled.
   * An open copy from or into it, or export of it, is waited for, as dockerd's removal waits
   * for the container lock its archive operations hold until their stream is read; none
   * begins once the removal is under way (see `claimRemoval`). A removal while another of the
   * container is under way is refused, in moby's words, unless `waitForOther`. Resolves with
   * whether this removal took the container (not: another, ending first, did).
   */
  async remove(ref: string, options: RemoveOptions = {}): Promise<boolean> {
    // The engine's own removal finds a container another removal took done.
    const record = await this.records.find(ref).catch((error: unknown) => (options.waitForOther && isNotFound(error) ? undefined : Promise.reject(error)));
    if (!record) return false;
    const freezes = await this.releaseAbandoned(record);
    const refuseLive = (state: ContainerState | undefined): void => {
      if (options.force || !state) return;
      const live = state.running ? (state.paused ? 'paused' : 'running') : restartPending(record, state) ? 'restarting' : undefined;
      // moby 25's words (daemon/delete.go), the name with its slash.
      if (live) throw conflict(`cannot remove container "/${record.name}": container is ${live}: stop the container before removing or force remove`);
    };
    const currentState = (): Promise<ContainerState | undefined> => this.ctx.runtime.state(record.id).catch(() => undefined);
    // As moby's: a removal under way is said first, whatever the state (the claim below decides a race).
    if (!options.waitForOther && removalInProgress(this.ctx, record.id)) throw removalConflict(ref);
    // A live one is refused before anything is marked; forced, only the state after the claim counts.
    if (!options.force) refuseLive(await currentState());
    // No restart may begin once this is marked (one under way finishes first: it holds the
    // lock), and the kill below must not look like an exit the policy answers.
    if (record.restartPolicy.name !== 'no') await this.markStopped(record.id);
    const claim = await this.claimRemoval(ref, record.id, options.waitForOther === true);
    if (!claim) return false;
    let removed = false;
    let took = false;
    try {
      // Read again once no start can begin (its hold gives way to the claim): one that began
      // since the look above (or the claim waited for) has its process running by now.
      const state = await currentState();
      refuseLive(state);
      if (state?.running) {
        await this.ctx.events.container('kill', record, { signal: String(SIGKILL) });
        await this.ctx.runtime.stop(record.id, { signal: 'SIGKILL', timeout: 0 }).catch(() => undefined);
        await releaseNetwork(this.ctx, record);
        await reportExit(this.ctx, record);
      }
      await this.tearDown(record.id, {
        processFirst: state?.running === true || state?.paused === true || record.run.ipc === 'shareable',
        networked: record.network.mode !== 'none',
        rootfs: record.rootfs,
        snapshot: record.snapshot,
        namedVolumes: record.mounts.flatMap((mount) => (mount.name ? [mount.name] : [])),
        anonymousVolumes: options.volumes ? record.anonymousVolumes : [],
        ...(record.mounts.some((m) => m.driver !== undefined) ? { releasePlugins: () => pluginMountsModule().releasePluginVolumes(this.ctx, record) } : {}),
        // A logging plugin is owed its StopLogging still when the exit's release found no record (`rm -f` of a running one).
        ...(record.run.remoteLog?.driver === 'plugin' ? { releaseLog: () => logDriverModule().releasePluginLogging(this.ctx, record) } : {}),
      });
      [took] = await Promise.all([
        this.records.remove(record.id),
        this.records.releaseName(record.name, record.id),
        ...(record.healthcheck ? [forgetHealth(this.ctx, record.id)] : []),
        releaseDevices(this.ctx, record),
      ]);
      // One destroy, as dockerd's: a removal that began as another ended gets here too, and finds the record gone.
      if (took) await this.ctx.events.container('destroy', record);
      removed = true;
    } finally {
      if (removed) claim.done();
      else claim.cancel();
    }
    forgetExits(this.ctx, record.id);
    settleExit(record.id);
    if (freezes) forgetFreezes(this.ctx, record.id);
    return took;
  }

  /**
   * Container `id`'s removal claim, or, when another removal of it is under way, moby's refusal
   * (naming it as `ref` does) — or with `wait`, that removal's end: undefined if it took the
   * container, else the claim this one then makes (the other failed, or was killed). A container
   * another removal took before this claim is undefined with `wait`, else No such container.
   */
  private async claimRemoval(ref: string, id: string, wait: boolean): Promise<RemovalClaim | undefined> {
    for (;;) {
      const claim = await claimRemoval(this.ctx, id);
      if (claim && (await this.records.exists(id))) return claim;
      if (claim) {
        // A removal that ended between the look and the claim took it: as if looked up after.
        claim.cancel();
        if (wait) return undefined;
        throw notFound(`No such container: ${ref}`);
      }
      if (!wait) throw removalConflict(ref);
      await removalEnded(this.ctx, id);
      if (!(await this.records.exists(id))) return undefined;
    }
  }

  private async stateOf(record: ContainerRecord): Promise<ContainerState> {
    await this.releaseAbandoned(record);
    return this.ctx.runtime.state(record.id);
  }

  private statusText(record: ContainerRecord, state: ContainerState, status: string): string {
    const now = Date.now();
    switch (status) {
      case 'restarting':
        return `Restarting (${state.exitCode}) ${humanDuration(now - new Date(state.finishedAt).getTime())} ago`;
      case 'running':
        return `Up ${humanDuration(now - new Date(state.startedAt).getTime())}${healthSuffix(healthOf(this.ctx, record, state.startedAt))}`;
      case 'paused':
        return `Up ${humanDuration(now - new Date(state.startedAt).getTime())} (Paused)`;
      case 'exited':
        return state.finishedAt ? `Exited (${state.exitCode}) ${humanDuration(now - new Date(state.finishedAt).getTime())} ago` : `Exited (${state.exitCode})`;
      case 'removing':
        return 'Removal In Progress';
      default:
        return 'Created';
    }
  }

  private commandOf(record: ContainerRecord): string {
    const args = record.args.map((a) => (a.includes(' ') ? `'${a}'` : a));
    return [record.path, ...args].join(' ');
  }

  /**
   * Inspect's `Mounts`: binds and volumes, and tmpfs mounts a `--mount` made (not `--tmpfs`'s),
   * as dockerd lists its mount points. A volume's `Source` is its directory, a subpath or not
   * (a plugin's volume's: the path the plugin last gave, as its record has it);
   * `Mode` is `-v`'s as given, else `z` for a named volume (dockerd's setBindModeIfNull, for Binds'
   * local volumes) and none for an anonymous one (its mount point, from Config.Volumes, sets none).
   */
  private mountsOf(record: ContainerRecord): InspectMount[] {
    return record.mounts.flatMap((m): InspectMount[] => {
      if (m.type === 'tmpfs') {
        return !fromTmpfsFlag(record, m.target) ? [{ Type: 'tmpfs', Source: '', Destination: m.target, Mode: '', RW: !m.readOnly, Propagation: '' }] : [];
      }
      return [
        {
          Type: m.type,
          ...(m.name ? { Name: m.name, Driver: m.driver ?? 'local' } : {}),
          Source: m.driver !== undefined ? (m.pluginSource ?? '') : volumeDirOf(m),
          Destination: m.target,
          Mode: m.volumeMode ?? (m.type === 'volume' && !record.anonymousVolumes.includes(m.name ?? '') ? 'z' : ''),
          RW: !m.readOnly,
          Propagation: m.type === 'bind' ? (m.propagation ?? 'rprivate') : '',
        },
      ];
    });
  }

  async list(options: ListOptions = {}): Promise<ContainerSummary[]> {
    const filters = options.filters ?? {};
    const query = psQuery(filters);
    if (filters.ancestor?.length) query.ancestors = await this.images.withDescendants(filters.ancestor);
    const all = await this.records.list();
    const linkNames = legacyLinkNames(all);
    // Newest first, to the nanosecond: containers made within one millisecond keep their order.
    const records = await this.createdBetween(all.sort((a, b) => compareTimes(b.created, a.created)), filters);
    const out: ContainerSummary[] = [];
    // Containers of one image share its size and its reference's image: read once.
    const imageSizes = new Map<string, Promise<number>>();
    const referenced = new Map<string, Promise<string | undefined>>();
    for (const record of records) {
      const state = await this.stateOf(record).catch(() => undefined);
      if (!state) continue;
      const status = stateString(record, state);
      // A restarting container counts as running, as dockerd's does (docker-compose stops what `ps` lists).
      if (!options.all && options.last === undefined && !state.running && status !== 'restarting' && !(filters.status?.length)) continue;
      if (!this.matches(record, state, status, query)) continue;
      const settings = await this.networkSettingsOf(record).catch(() => undefined);
      const ports = portsOf(settings);
      if (!onNetwork(filters.network, settings) || !portsMatch(query, ports)) continue;
      out.push({
        Id: record.id,
        Names: [`/${record.name}`, ...(linkNames.get(record.id) ?? [])],
        Image: await this.listedImage(record, referenced),
        ImageID: record.imageId,
        Command: this.commandOf(record),
        Created: Math.floor(new Date(record.created).getTime() / 1000),
        Ports: ports,
        Labels: record.labels,
        State: status,
        Status: this.statusText(record, state, status),
        HostConfig: { NetworkMode: record.network.mode },
        NetworkSettings: { Networks: settings?.Networks ?? {} },
        Mounts: this.mountsOf(record),
        ...(options.size ? await this.sizeOf(record, imageSizes, options.signal) : {}),
      });
      if (options.last !== undefined && out.length >= options.last) break;
    }
    return out;
  }

  /**
   * `before=` and `since=` (the last of each): the containers created before or after the one
   * named, newest first as `records` are, without it.
   */
  private async createdBetween(records: ContainerRecord[], filters: Filters): Promise<ContainerRecord[]> {
    const position = async (values: readonly string[] | undefined): Promise<number | undefined> => {
      const ref = values?.[values.length - 1];
      if (ref === undefined) return undefined;
      const { id } = await this.find(ref);
      const index = records.findIndex((r) => r.id === id);
      // Removed since the records were read.
      if (index === -1) throw notFound(`No such container: ${ref}`);
      return index;
    };
    const [before, since] = await Promise.all([position(filters.before), position(filters.since)]);
    return records.slice(before === undefined ? 0 : before + 1, since);
  }

  private matches(record: ContainerRecord, state: ContainerState, status: string, query: PsQuery): boolean {
    const { filters } = query;
    const any = (key: string, test: (value: string) => boolean): boolean => {
      const values = filters[key];
      return !values || values.length === 0 || values.some(test);
    };
    const mounts = this.mountsOf(record);
    return (
      any('status', (v) => status === v) &&
      // dockerd matches the name with and without its leading slash.
      (patternMatch(filters.name, `/${record.name}`) || patternMatch(filters.name, record.name)) &&
      // A regular expression found in the ID (a prefix, most often), as dockerd's Match.
      patternMatch(filters.id, record.id) &&
      // No container of ctr is a swarm task.
      !filters['is-task']?.includes('true') &&
      (any('ancestor', (v) => record.image === v || familiarImageName(record.image) === familiarImageName(v) || record.imageId.includes(v)) || query.ancestors?.has(record.imageId) === true) &&
      // A container that never started has no exit to match, whatever code its failed start left.
      (query.exited.length === 0 || (status === 'exited' && query.exited.includes(state.exitCode))) &&
      any('health', (v) => (healthOf(this.ctx, record, state.startedAt)?.Status ?? 'none') === v) &&
      // dockerd's `volume=`: a volume's name (a bind's source) or any mount's destination.
      any('volume', (v) => mounts.some((m) => m.Destination === v || (m.Name ?? m.Source) === v)) &&
      labelsMatch(filters, record.labels)
    );
  }

  /**
   * dockerd's `refreshImage`: the image reference the container was made with, unless it no
   * longer names the container's image (untagged, or the tag moved): then the image ID.
   */
  private async listedImage(record: ContainerRecord, referenced: Map<string, Promise<string | undefined>>): Promise<string> {
    if (record.image === record.imageId) return record.image;
    let found = referenced.get(record.image);
    if (!found) {
      // Whatever keeps the name from resolving (gone, now an ambiguous ID prefix): the listing shows the ID.
      found = this.images.find(record.image).then(
        (image) => image.id,
        () => undefined,
      );
      referenced.set(record.image, found);
    }
    return (await found) === record.imageId ? record.image : record.imageId;
  }

  /**
   * dockerd's sizes of a container: `SizeRw`, the bytes in its writable layer (kept while it
   * is stopped), and `SizeRootFs`, that and its image's size as `docker images` shows it. A
   * layer already gone (the container is being removed) holds nothing.
   */
  private async sizeOf(record: ContainerRecord, imageSizes: Map<string, Promise<number>>, signal?: AbortSignal): Promise<ContainerSize> {
    let image = imageSizes.get(record.imageId);
    if (!image) {
      image = this.images
        .resolve(record.imageId, signal)
        .then((resolved) => this.images.size(resolved))
        .catch(() => 0);
      imageSizes.set(record.imageId, image);
    }
    const written = await this.writableSize(record, signal);
    return { SizeRw: written, SizeRootFs: written + (await image) };
  }

  /** Its writable layer's bytes (`SizeRw`): what removing it frees. */
  private async writableSize(record: ContainerRecord, signal?: AbortSignal): Promise<number> {
    return this.ctx.store.snapshots
      .upperDir(record.snapshot)
      .then(async (dir) => (await layerSize(dir, signal)) - initEntriesSize(dir))
      .catch((error: unknown) => {
        if (isNotFound(error) || (error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw asCtrError(error, 'Internal', `measuring the writable layer of container ${record.id}`);
      });
  }

  /**
   * A container's network settings. One on `none` has no sandbox, and docker lists it on that
   * network; a host one's sandbox says whether it left `host` (one without, on it).
   */
  private networkSettingsOf(record: ContainerRecord): Promise<NetworkSettings> {
    const mode = record.network.mode;
    if (mode === 'none') return Promise.resolve(this.ctx.network.predefinedSettings(mode));
    const settings = this.ctx.network.settings(record.id);
    return mode === 'host' ? settings.catch(() => this.ctx.network.predefinedSettings(mode)) : settings;
  }

  async inspect(ref: string, options: InspectOptions = {}): Promise<ContainerInspect> {
    const record = await this.find(ref);
    const info = await this.ctx.runtime.inspect(record.id);
    const settings = await this.networkSettingsOf(record).catch(
      (): NetworkSettings => ({ SandboxKey: '', Ports: {}, IPAddress: '', IPPrefixLen: 0, Gateway: '', MacAddress: '', Networks: {} }),
    );
    const run = record.run;
    const containerDir = path.dirname(info.logPath);
    const restarting = restartPending(record, info);
    const endpoint = settings.Networks[record.network.mode] ?? Object.values(settings.Networks)[0];
    const exposedPorts = record.exposedPorts ?? Object.keys(settings.Ports);
    return {
      Id: record.id,
      Created: record.created,
      Path: record.path,
      Args: record.args,
      State: {
        Status: stateString(record, info),
        // dockerd's: a restarting container is running, for stop, kill, rm and wait to act on it.
        Running: info.running || restarting,
        Paused: info.paused,
        Restarting: restarting,
        OOMKilled: info.oomKilled,
        Dead: false,
        Pid: info.pid,
        ExitCode: info.exitCode,
        Error: info.error,
        StartedAt: info.startedAt || '0001-01-01T00:00:00Z',
        FinishedAt: info.finishedAt || '0001-01-01T00:00:00Z',
        ...(record.healthcheck ? { Health: healthOf(this.ctx, record, info.startedAt) } : {}),
      },
      Image: record.imageId,
      ResolvConfPath: path.join(containerDir, 'resolv.conf'),
      HostnamePath: path.join(containerDir, 'hostname'),
      HostsPath: path.join(containerDir, 'hosts'),
      LogPath: record.log?.driver === 'none' ? '' : info.logPath,
      Name: `/${record.name}`,
      RestartCount: record.restartCount,
      Driver: 'overlay2',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: this.records.runningExecs(record.id),
      HostConfig: {
        NetworkMode: record.network.mode,
        AutoRemove: record.autoRemove,
        RestartPolicy: { Name: record.restartPolicy.name, MaximumRetryCount: record.restartPolicy.maximumRetryCount },
        LogConfig: { Type: record.log?.driver || 'json-file', Config: record.log?.options ?? {} },
        ReadonlyRootfs: run.readOnlyRootfs ?? false,
        Binds: record.binds ?? null,
        PortBindings: portBindingsOf(record.network.ports),
        Init: run.init ?? null,
        Privileged: run.privileged ?? false,
        Devices: (run.devices ?? []).map((d) => ({ PathOnHost: d.pathOnHost, PathInContainer: d.pathInContainer ?? d.pathOnHost, CgroupPermissions: d.permissions ?? 'rwm' })),
        GroupAdd: run.groupAdd ?? null,
        // dockerd's defaults: a PID and UTS mode of '' and a private IPC namespace.
        PidMode: run.pid && run.pid !== 'private' ? run.pid : '',
        IpcMode: run.ipc ?? 'private',
        UTSMode: run.uts === 'host' ? 'host' : '',
        UsernsMode: record.usernsMode ?? '',
        VolumesFrom: record.volumesFrom ?? null,
        Links: await this.linksOf(record),
        // None given is null, as dockerd shows docker's CLI's nil list.
        CapAdd: run.capAdd?.length ? run.capAdd : null,
        CapDrop: run.capDrop?.length ? run.capDrop : null,
        // Records from before the network wrote resolv.conf hold the embedded DNS as a --dns the user never gave.
        // Never null, as dockerd keeps them (container.InitDNSHostConfig; docker's CLI sends []).
        Dns: run.dns && !(run.dns.length === 1 && run.dns[0] === EMBEDDED_DNS) ? run.dns : [],
        DnsOptions: run.dnsOptions ?? [],
        DnsSearch: run.dnsSearch ?? [],
        ExtraHosts: record.extraHosts ?? null,
        SecurityOpt: securityOptions(record),
        PublishAllPorts: record.network.publishAll,
        ...(run.sysctls && Object.keys(run.sysctls).length > 0 ? { Sysctls: run.sysctls } : {}),
        ...tmpfsOf(record),
        ...(record.mountSpecs?.length ? { Mounts: record.mountSpecs } : {}),
        MaskedPaths: systemPaths(run.maskedPaths, info.spec.linux?.maskedPaths, run.privileged),
        ReadonlyPaths: systemPaths(run.readonlyPaths, info.spec.linux?.readonlyPaths, run.privileged),
        ContainerIDFile: record.containerIdFile ?? '',
        ConsoleSize: record.run.consoleSize ? [record.run.consoleSize.height, record.run.consoleSize.width] : [0, 0],
        Cgroup: '',
        Isolation: record.platform?.isolation ?? '',
        Runtime: 'runc',
        VolumeDriver: record.platform?.volumeDriver ?? '',
        ...hostResources(run, info.spec),
        CpuCount: record.platform?.cpuCount ?? 0,
      },
      GraphDriver: { Name: 'overlay2', Data: { MergedDir: record.rootfs } },
      ...(options.size ? await this.sizeOf(record, new Map(), options.signal) : {}),
      Mounts: this.mountsOf(record),
      // In dockerd's order (its types' fields), which `docker inspect` prints as it is sent.
      Config: {
        Hostname: info.spec.hostname ?? record.id.slice(0, 12),
        Domainname: run.domainname ?? '',
        User: record.config?.User ?? run.user ?? '',
        AttachStdin: record.attach?.stdin ?? info.openStdin,
        AttachStdout: record.attach?.stdout ?? true,
        AttachStderr: record.attach?.stderr ?? true,
        ...(exposedPorts.length > 0 ? { ExposedPorts: Object.fromEntries(exposedPorts.map((port) => [port, {}])) } : {}),
        Tty: info.tty,
        OpenStdin: info.openStdin,
        StdinOnce: record.stdinOnce ?? defaultStdinOnce(info.openStdin, record.attach),
        Env: record.config?.Env !== undefined ? record.config.Env : (info.spec.process.env ?? []),
        Cmd: record.config ? record.config.Cmd : (run.cmd ?? null),
        ...(record.healthcheck ? { Healthcheck: record.healthcheck } : record.healthcheckOff ? { Healthcheck: { Test: ['NONE'] } } : {}),
        Image: record.image,
        Volumes: configVolumesOf(record),
        WorkingDir: record.config?.WorkingDir ?? info.spec.process.cwd ?? '',
        Entrypoint: record.config ? record.config.Entrypoint : (run.entrypoint ?? null),
        OnBuild: null,
        Labels: record.labels,
        // As given, or the image's (`INT` stays `INT`); absent when neither says, as dockerd omits it.
        ...stopSignalOf(record),
        ...(run.stopTimeout !== undefined ? { StopTimeout: run.stopTimeout } : {}),
        ...(record.config?.Shell ? { Shell: record.config.Shell } : {}),
      },
      // In the order of moby's NetworkSettings: its NetworkSettingsBase, its DefaultNetworkSettings, then Networks.
      NetworkSettings: {
        Bridge: '',
        SandboxID: settings.SandboxKey ? record.id : '',
        SandboxKey: settings.SandboxKey,
        Ports: settings.Ports,
        HairpinMode: false,
        LinkLocalIPv6Address: '',
        LinkLocalIPv6PrefixLen: 0,
        EndpointID: endpoint?.EndpointID ?? '',
        Gateway: settings.Gateway,
        GlobalIPv6Address: '',
        GlobalIPv6PrefixLen: 0,
        IPAddress: settings.IPAddress,
        IPPrefixLen: settings.IPPrefixLen,
        IPv6Gateway: '',
        MacAddress: settings.MacAddress,
        Networks: settings.Networks,
      },
    };
  }

  /** Inspect's `HostConfig.Links`: those of its links whose container is still there, by its name now. */
  private async linksOf(record: ContainerRecord): Promise<string[] | null> {
    if (!record.links) return null;
    const linked = await Promise.all(record.links.map(async ({ id, alias }) => this.records.read(id).then((child) => `/${child.name}:/${record.name}/${alias}`, () => undefined)));
    return linked.filter((link): link is string => link !== undefined);
  }

  logs(ref: string, options: ContainerLogsOptions = {}): AsyncIterable<ContainerLogEntry> {
    const self = this;
    return (async function* () {
      const record = await self.find(ref);
      const { details, ...read } = options;
      // A logging plugin that reads its log back is asked for it (no cache is kept beside it).
      const lines = (): AsyncIterable<LogEntry> =>
        record.run.remoteLog?.driver === 'plugin' && record.run.remoteLog.readLogs ? logDriverModule().readPluginLogs(self.ctx, record, read) : self.ctx.runtime.logs(record.id, read);
      if (!details) {
        yield* lines();
        return;
      }
      // A container's labels and environment are fixed at create: so are its lines' attributes.
      const attrs = logAttributes(record.log?.options ?? {}, {
        id: record.id,
        name: record.name,
        imageId: record.imageId,
        image: record.image,
        path: record.path,
        args: record.args,
        labels: record.labels,
        env: await self.configEnv(record),
      });
      for await (const entry of lines()) yield { ...entry, attrs };
    })();
  }

  /** `docker exec`, with dockerd's events: `exec_create` and `exec_start` naming the command, `exec_die` with its exit code. */
  async exec(ref: string, options: ContainerExecOptions): Promise<ExecResult> {
    const record = await this.find(ref);
    const state = await this.ctx.runtime.state(record.id);
    if (!state.running) {
      throw conflict(restartPending(record, state) ? `Container ${record.id} is restarting, wait until the container is running` : `container ${record.id} is not running`);
    }
    if (state.paused) throw conflict(`Container ${record.id} is paused, unpause the container before exec`);
    const { execId = newId(), ...exec } = options;
    await this.ctx.events.execStarted(record, exec.cmd, execId);
    // A detached exec runs on after this call, unseen: it is not among inspect's ExecIDs.
    const ended = exec.detach ? undefined : this.records.execRunning(record.id, execId);
    const result = await this.ctx.runtime.exec(record.id, exec).finally(ended);
    // A detached exec's exit is not seen here (no daemon): no exec_die for it.
    if (!exec.detach) await this.ctx.events.execDied(record, execId, result.exitCode);
    return result;
  }

  async attach(ref: string, io: AttachIo): Promise<void> {
    const record = await this.find(ref);
    await this.ctx.events.container('attach', record);
    await this.ctx.runtime.attach(record.id, io);
  }

  async resize(ref: string, size: { height: number; width: number }): Promise<void> {
    const record = await this.find(ref);
    await this.ctx.runtime.resize(record.id, size);
    await this.ctx.events.container('resize', record, { height: String(size.height), width: String(size.width) });
  }

  async rename(ref: string, newName: string): Promise<void> {
    const record = await this.find(ref);
    if (newName.replace(/^\//, '') === record.name) throw invalidArgument('Renaming a container with the same name as its current name');
    await this.records.claimName(newName, record.id).catch((error: unknown) => {
      // dockerd's wording (daemon/rename.go wraps what reserveName refuses).
      if (!isCtrError(error)) throw error;
      throw new CtrError(error.code, `Error when allocating new name: ${error.message}`, { hint: error.hint, cause: error });
    });
    await this.records.write({ ...record, name: newName });
    await this.records.confirmName(newName, record.id);
    // Its endpoints answer to the new name in the embedded DNS, running or not (dockerd renames them).
    if (record.network.mode !== 'none') await this.ctx.network.rename(record.id, newName);
    await this.records.releaseName(record.name, record.id);
    await this.ctx.events.container('rename', { ...record, name: newName }, { oldName: `/${record.name}` });
  }

  /**
   * `docker update`: new resource limits, in force at once for a running container and
   * kept for its later starts, and a new restart policy. The warnings say what of the
   * request the kernel cannot take (dropped, as dockerd drops it).
   */
  async update(ref: string, options: UpdateOptions): Promise<{ warnings: string[] }> {
    const found = await this.find(ref);
    let warnings: string[];
    try {
      const restartPolicy = options.restart ? parseRestartPolicy(options.restart) : undefined;
      if (restartPolicy && restartPolicy.name !== 'no' && found.autoRemove) {
        throw conflict('Restart policy cannot be updated because AutoRemove is enabled for the container');
      }
      // Under the restart lock: a restart decided meanwhile reads the policy written here.
      warnings = await underRestartLock(this.ctx, found.id, async () => {
        const record = await this.records.read(found.id);
        let run = record.run;
        const updated = await this.ctx.runtime.update(record.id, (spec) => (run = mergeUpdate(record.run, hostResources(record.run, spec), options)), { requested: options });
        await this.records.write({ ...record, run, ...(restartPolicy ? { restartPolicy } : {}) });
        return updated.warnings;
      });
    } catch (error) {
      // dockerd's wording: what the request asks for, refused on its own (verifyContainerSettings'
      // invalid parameters), is said bare; what the container's state or the runtime refuses
      // names the container (errCannotUpdate).
      if (!isCtrError(error) || error.code === 'InvalidArgument') throw error;
      throw new CtrError(error.code, `Cannot update container ${found.id}: ${error.message}`, { hint: error.hint, cause: error });
    }
    await this.ctx.events.container('update', found);
    return { warnings };
  }

  /**
   * What a container holds besides its record and name. A live process goes first, and so
   * does the runtime's part of one whose removal may be refused (a /dev/shm that will not come
   * off): then nothing else is taken apart. Otherwise the runtime's state, the network, the
   * root filesystem and the volumes come apart independently. Each part may already be gone.
   */
  private async tearDown(
    id: string,
    parts: {
      processFirst: boolean;
      networked: boolean;
      rootfs: string;
      snapshot: string;
      namedVolumes: readonly string[];
      anonymousVolumes: readonly string[];
      releasePlugins?: () => Promise<void>;
      releaseLog?: () => Promise<void>;
    },
  ): Promise<void> {
    const deleteProcess = (): Promise<void> =>
      this.ctx.runtime.delete(id, { force: true }).catch((error) => {
        if (!isNotFound(error)) throw error;
      });
    if (parts.processFirst) await deleteProcess();
    await settleAll([
      parts.processFirst ? Promise.resolve() : deleteProcess(),
      parts.networked ? this.ctx.network.detach(id) : Promise.resolve(),
      parts.releaseLog?.() ?? Promise.resolve(),
      (async () => {
        await unmount(parts.rootfs);
        await removeMountpoint(parts.rootfs);
        // Its files are deleted behind the call: nothing reads a removed container's layer.
        await this.ctx.store.snapshots.remove(parts.snapshot, { background: true }).catch((error) => {
          if (!isNotFound(error)) throw error;
        });
      })(),
      (async () => {
        for (const name of parts.namedVolumes) await this.ctx.store.volumes.removeUser(name, id);
        // A plugin's volume is unmounted before its plugin is asked to remove it.
        await parts.releasePlugins?.();
        for (const name of parts.anonymousVolumes) await removeVolumeOf(this.ctx, name).catch(() => undefined);
      })(),
    ] as const);
  }

  /**
   * `docker container prune`: stopped containers (with `filters`, those whose labels match
   * and that were created by `until`), and what containers never finished left — a process
   * killed while it made one (after the name was claimed, before the record was written)
   * leaves a mounted root filesystem, a snapshot, runtime state and maybe a network and volume
   * uses, which no list shows. Their IDs are reported with the rest, and what their writable
   * layers held (their `SizeRw`, as dockerd counts it) as the space reclaimed.
   */
  async prune(options: { filters?: Filters } = {}): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const filters = options.filters ?? {};
    const wanted = pruneMatcher(filters, PRUNE_FILTERS);
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const record of await this.records.list()) {
      if (!wanted(record.labels, record.created)) continue;
      const state = await this.stateOf(record).catch(() => undefined);
      if (state && (state.status === 'exited' || state.status === 'created')) {
        const size = await this.writableSize(record).catch(() => 0);
        // Another removal of it (a user's, an exit's) may be under way: waited for, and not counted.
        if (!(await this.remove(record.id, { waitForOther: true }))) continue;
        deleted.push(record.id);
        reclaimed += size;
      }
    }
    // A container never finished has no labels or creation time to match: a filtered prune leaves it.
    const abandoned = Object.keys(filters).length > 0 ? [] : await this.records.abandonedClaims();
    const volumes = abandoned.length > 0 ? await this.namedVolumesOf(abandoned.map((a) => a.id)) : new Map<string, string[]>();
    for (const { name, id } of abandoned) {
      await this.clearAbandoned(id, volumes.get(id) ?? []);
      await this.records.releaseName(name, id);
      deleted.push(id);
    }
    await this.ctx.events.pruned('container', reclaimed);
    return { ContainersDeleted: deleted, SpaceReclaimed: reclaimed };
  }

  /** What container `id` left with no record (its maker killed before writing it, or the record lost), taken apart. */
  async clearUnrecorded(id: string): Promise<void> {
    await this.clearAbandoned(id, (await this.namedVolumesOf([id])).get(id) ?? []);
  }

  /** What a container whose maker was killed before its record left, taken apart. */
  private async clearAbandoned(id: string, namedVolumes: readonly string[]): Promise<void> {
    const state = await this.ctx.runtime.state(id).catch(() => undefined);
    await this.tearDown(id, {
      processFirst: state?.running === true || state?.paused === true,
      networked: true,
      rootfs: this.rootfsDir(id),
      snapshot: containerSnapshot(id),
      namedVolumes,
      anonymousVolumes: [],
    });
  }

  /** The named volumes each of `ids` uses, read from the volumes' side: an unfinished container's record does not say. */
  private async namedVolumesOf(ids: readonly string[]): Promise<Map<string, string[]>> {
    const volumes = await this.ctx.store.volumes.list();
    const users = await Promise.all(volumes.map((v) => this.ctx.store.volumes.users(v.Name).catch((): string[] => [])));
    return new Map(ids.map((id) => [id, volumes.filter((_, i) => users[i]?.includes(id)).map((v) => v.Name)]));
  }
}

/** The snapshot holding a container's writable layer. */
function containerSnapshot(id: string): string {
  return `container-${id}`;
}

function portsOf(settings: NetworkSettings | undefined): ContainerSummary['Ports'] {
  const out: ContainerSummary['Ports'] = [];
  for (const [key, bindings] of Object.entries(settings?.Ports ?? {})) {
    const [port, type] = key.split('/') as [string, string];
    if (!bindings || bindings.length === 0) out.push({ PrivatePort: Number(port), Type: type });
    for (const b of bindings ?? []) out.push({ IP: b.HostIp || '0.0.0.0', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
  }
  return out;
}

