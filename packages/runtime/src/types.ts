import type { Readable, Writable } from 'node:stream';
import type { Spec } from './oci-spec';
import type { RemoteLog } from './remote-log';

/**
 * The fields of an OCI/Docker image config (`config` object) that may shape a container.
 * Nothing else in an image config is read: an image cannot add privileges (R7).
 */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
  /** Only checked: an image may not ask for volumes over /proc or /sys (R5). */
  Volumes?: Record<string, unknown> | null;
}

/** A mount asked for by the user (`-v`, `--mount`, `--tmpfs`). */
export type MountSpec = BindMount | VolumeMount | TmpfsMount;

export interface BindMount {
  type: 'bind';
  source: string;
  target: string;
  readOnly?: boolean;
  /** `rprivate` unless given, like Docker. */
  propagation?: 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
}

/** A named volume: the engine resolves the name to a host directory (`_data`). */
export interface VolumeMount {
  type: 'volume';
  /** The volume's `_data` directory on the host. */
  source: string;
  target: string;
  readOnly?: boolean;
}

/**
 * A tmpfs, mounted as dockerd mounts one: `noexec,nosuid,nodev` unless `options` say otherwise,
 * and without a `mode` the mode of the directory it covers (runc's), 1777 where there is none.
 */
export interface TmpfsMount {
  type: 'tmpfs';
  target: string;
  /** Bytes, or a Docker size string like `64m`. */
  size?: number | string;
  mode?: number;
  readOnly?: boolean;
  /**
   * Further options, in the order given (`--tmpfs /x:exec,uid=1000`): mount flags (`exec`,
   * `suid`, `dev`, `noatime`…) and `uid=`, `gid=`, `nr_inodes=`, `nr_blocks=`, `mpol=`. Of
   * two of a kind the later wins, over the defaults too; anything else is refused at create.
   */
  options?: string[];
}

/** `--device /dev/fuse[:/dev/fuse[:rwm]]`, Docker's `HostConfig.Devices` entry. */
export interface DeviceMapping {
  pathOnHost: string;
  /** Where it appears (default: the host path). */
  pathInContainer?: string;
  /** Some of `rwm` (default `rwm`). */
  permissions?: string;
}

export interface Ulimit {
  /** Docker's names: `nofile`, `nproc`, `core`, … */
  name: string;
  /** -1 for unlimited, as go-units' Ulimit has it. */
  soft: number;
  hard: number;
}

/** A seccomp profile of the user's (`--security-opt seccomp=FILE`): the file's JSON, as given. */
export interface SeccompProfileText {
  profile: string;
}

/** `--blkio-weight-device /dev/sda:200`: Docker's `WeightDevice`. */
export interface WeightDevice {
  /** A block device on the host. */
  path: string;
  /** 10 to 1000, or 0 for none. */
  weight: number;
}

/** `--device-read-bps /dev/sda:1mb` and the other throttles: Docker's `ThrottleDevice`. */
export interface ThrottleDevice {
  /** A block device on the host. */
  path: string;
  /** Bytes or IO operations per second, as the option says. */
  rate: number;
}

/** The run options that limit block IO, each of which needs a kernel file of its own. */
export type BlkioOption = 'blkioWeight' | 'blkioWeightDevice' | 'blkioDeviceReadBps' | 'blkioDeviceWriteBps' | 'blkioDeviceReadIOps' | 'blkioDeviceWriteIOps';

/** How the container joins the network. */
export type NetworkMode =
  | { mode: 'none' }
  | { mode: 'host' }
  /** A network namespace already made (by @ctr/network), joined by path. */
  | { mode: 'namespace'; path: string }
  /**
   * Another container's, by its full ID, joined through its process at each start (as dockerd
   * joins `/proc/<pid>/ns/net`): one whose namespace @ctr/network did not make (`none`'s).
   */
  | { mode: 'container'; id: string };

/** Another container's namespace, by its full ID: `container:<id>`. */
export type ContainerNamespace = `container:${string}`;

/** What `docker run` / `docker create` flags say about one container. */
export interface RunOptions {
  /** Replaces the image's Cmd. */
  cmd?: string[];
  /** Replaces the image's Entrypoint and resets its Cmd; `[]` clears it. */
  entrypoint?: string[];
  /** `KEY=value` entries merged over the image's Env (later wins). */
  env?: string[];
  workingDir?: string;
  /** `name`, `uid`, `uid:gid`, `name:group`. */
  user?: string;
  hostname?: string;
  domainname?: string;
  tty?: boolean;
  /**
   * The terminal's size at the client that made the container (docker's `HostConfig.ConsoleSize`):
   * with `tty`, the pty starts at it, so a program that asks at once is not told 0x0.
   */
  consoleSize?: { height: number; width: number };
  /** Keep stdin open (`-i`): conmon holds a pipe to the process's stdin. */
  openStdin?: boolean;
  /**
   * With `openStdin`: the process's stdin outlives the attached clients (conmon's
   * `--leave-stdin-open`), for the next attach — Docker's container without StdinOnce (`run
   * -di`). Otherwise the first client whose input ends, or who goes, closes it. A terminal's
   * stdin always stays open.
   */
  leaveStdinOpen?: boolean;
  readOnlyRootfs?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  noNewPrivileges?: boolean;
  /**
   * `--security-opt seccomp=…`: `default` (Docker's profile), `unconfined`, or a profile of the
   * user's, as the JSON text in Docker's format that docker's CLI sends for a file.
   */
  seccomp?: 'default' | 'unconfined' | SeccompProfileText;
  /**
   * The API's `HostConfig.MaskedPaths` and `ReadonlyPaths`: when given, the paths masked and made
   * read-only in place of Docker's defaults, privileged or not (`[]`, as docker's CLI sends for
   * `--security-opt systempaths=unconfined`, leaves /proc and /sys as the kernel shows them).
   */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  /** Bytes or a Docker size string (`512m`). */
  memory?: number | string;
  /** Memory + swap; `-1` for unlimited swap. */
  memorySwap?: number | string;
  memoryReservation?: number | string;
  /** CPUs as a decimal (`1.5`): quota over a 100 ms period. */
  cpus?: number | string;
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  /** `--cpu-rt-period`: the real-time scheduler's period, in microseconds (cgroup v1's `cpu.rt_period_us`). */
  cpuRealtimePeriod?: number;
  /** `--cpu-rt-runtime`: the real-time tasks' share of each period, in microseconds. */
  cpuRealtimeRuntime?: number;
  pidsLimit?: number;
  oomKillDisable?: boolean;
  /** 0 to 100; -1 or absent leaves the kernel's default. */
  memorySwappiness?: number;
  /** -1000 to 1000: the container process's `oom_score_adj`. */
  oomScoreAdj?: number;
  /** Block IO weight, 10 to 1000; 0 or absent for none. */
  blkioWeight?: number;
  blkioWeightDevice?: WeightDevice[];
  /** Bytes per second. */
  blkioDeviceReadBps?: ThrottleDevice[];
  blkioDeviceWriteBps?: ThrottleDevice[];
  /** IO operations per second. */
  blkioDeviceReadIOps?: ThrottleDevice[];
  blkioDeviceWriteIOps?: ThrottleDevice[];
  /**
   * The cgroup the container's own goes under (`<parent>/<id>`) instead of the runtime's. A
   * relative path is taken from the root cgroup, where dockerd's relative parents land.
   */
  cgroupParent?: string;
  /** `private`: a cgroup namespace of its own; `host` (the default, as Docker's on cgroup v1): the host's. */
  cgroupns?: 'host' | 'private';
  shmSize?: number | string;
  ulimits?: Ulimit[];
  mounts?: MountSpec[];
  network?: NetworkMode;
  /** `host:ip` entries for /etc/hosts. */
  extraHosts?: string[];
  /** The container's own address, written into /etc/hosts next to its hostname. */
  ipAddress?: string;
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** The whole /etc/resolv.conf, when the network made it (an embedded DNS's); else it is made from the three above. */
  resolvConf?: string;
  stopSignal?: string;
  /** Seconds `stop` waits before SIGKILL (default 10). */
  stopTimeout?: number;
  /**
   * How big a log file may grow (`512k`, `10m`, bytes): past it, the log starts afresh — what
   * Docker's json-file driver does with `max-size`. Default: no limit.
   */
  logSizeMax?: number | string;
  /**
   * With `logSizeMax`, the log files kept, the current one included (Docker's `max-file`,
   * default 1): older ones are `<log>.1`, `<log>.2`… and `logs` reads them all, oldest first.
   */
  logMaxFiles?: number;
  /** With `logMaxFiles` above 1: gzip the rotated files (`<log>.1.gz`…), Docker's `compress`. */
  logCompress?: boolean;
  /** `--log-driver none`: no log is kept; the output reaches attached clients only, and `logs` is refused. */
  noLog?: boolean;
  /** A remote log driver (`--log-driver syslog|gelf|fluentd`): its log writer sends the output there, and keeps the log as its cache unless told not to. */
  remoteLog?: RemoteLog;
  sysctls?: Record<string, string>;
  annotations?: Record<string, string>;
  /** `--init`: Docker's docker-init (tini) runs as PID 1, reaps orphans and forwards signals. */
  init?: boolean;
  /** `--privileged`: every capability and host device, no seccomp or masked paths, /sys writable. */
  privileged?: boolean;
  devices?: DeviceMapping[];
  /**
   * `--device-cgroup-rule 'c 1:3 mr'`: more devices the container may use (`a`, `b` or `c`,
   * numbers or `*`, some of `rwm`), allowed in its device cgroup besides the default ones.
   */
  deviceCgroupRules?: string[];
  /** `--group-add`: more groups for the process, names from the container's /etc/group or numbers. */
  groupAdd?: string[];
  /**
   * `--pid host`, `--ipc host`, `--uts host`: the host's namespace instead of a new one;
   * `container:<id>`: that container's, joined at each start (it must be running then).
   */
  pid?: 'private' | 'host' | ContainerNamespace;
  /** `shareable`: a /dev/shm other containers can join with `container:<id>`; `none`: a namespace of its own and no /dev/shm. */
  ipc?: 'private' | 'shareable' | 'none' | 'host' | ContainerNamespace;
  uts?: 'private' | 'host';
}

/** Facts about the host and the container that spec generation needs but does not fetch. */
export interface SpecContext {
  /** The container id (hostname default, cgroup path). */
  id: string;
  /** The container's root filesystem directory, already mounted. */
  rootfs: string;
  /** The user resolved against the rootfs (see `resolveUser`); root when absent. */
  user?: ResolvedUser;
  /** Parent of the container's cgroup, absolute (default `/ctr`). */
  cgroupParent?: string;
  /** The host's hard rlimits by Docker name (`nofile` → 20000); nothing goes above them. */
  rlimitCeilings?: Record<string, number>;
  /** Whether the kernel accounts swap (cgroup v1 `memory.memsw.*`). */
  swapAccounting?: boolean;
  /** Files prepared for the container and bind-mounted over /etc/… */
  etcFiles?: { hosts?: string; resolvConf?: string; hostname?: string };
  /** CPU architecture for the seccomp profile (default `process.arch`). */
  arch?: string;
  /** The kernel a seccomp profile's `minKernel` conditions are weighed against (`uname -r`; default the running one's). */
  kernelRelease?: string;
  /**
   * The host mount each bind source asking for shared or slave propagation lives on (see
   * `bindSourceMounts`), by source; a source absent here is not checked.
   */
  bindSources?: Record<string, SourceMount>;
  /** What `--privileged` and `--cap-add ALL` grant (default: every capability Linux knows). */
  allCapabilities?: readonly string[];
  /** The host directory holding a `shareable` IPC container's /dev/shm (a tmpfs the runtime mounts). */
  shmPath?: string;
  /** The host's init binary, bind-mounted at /sbin/docker-init when `init` is asked for. */
  initPath?: string;
  /** Device nodes given to the container (`--device`, or all the host's with `--privileged`), read from the host. */
  devices?: ContainerDevice[];
  /** Numbers of the block devices the blkio options name, by path, read from the host. */
  blockDevices?: Record<string, { major: number; minor: number }>;
  /** The blkio options the kernel cannot take (`false`), which are dropped as dockerd drops them; absent: all can. */
  blkio?: Partial<Record<BlkioOption, boolean>>;
  /** The CPUs and memory nodes containers may have, read from the host when a CPU limit is asked for; absent: not checked. */
  hostCpus?: HostCpus;
}

/** The mount a path lives on, from /proc/self/mountinfo. */
export interface SourceMount {
  mountpoint: string;
  /** The line's optional fields (`shared:1`, `master:2`…), as moby's mountinfo has them. */
  optional: string;
}

/** What dockerd's sysinfo knows of the host's CPUs, which `--cpus` and the cpusets are checked against. */
export interface HostCpus {
  /** The CPUs this process may run on (Go's `runtime.NumCPU`). */
  count: number;
  /** The cpuset's CPUs (`0-1`); absent where the cpuset cannot be read. */
  cpus?: string;
  /** The cpuset's memory nodes (`0`); absent where the cpuset cannot be read. */
  mems?: string;
}

/** A device node made in the container and allowed by its device cgroup. */
export interface ContainerDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
  /** Some of `rwm`. */
  access: string;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** HOME from passwd, for the environment. */
  home?: string;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'exited' | 'removing';

/** What `docker inspect` shows under `.State`. */
export interface ContainerState {
  id: string;
  status: ContainerStatus;
  running: boolean;
  paused: boolean;
  /** Host pid of the container's init while it runs, else 0. */
  pid: number;
  exitCode: number;
  oomKilled: boolean;
  /** ISO 8601 times; empty when it has not happened. */
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  /** Why the last start failed, if it did. */
  error: string;
}

/** Everything kept about a container: its state plus how it was made. */
export interface ContainerInfo extends ContainerState {
  rootfs: string;
  bundle: string;
  logPath: string;
  tty: boolean;
  openStdin: boolean;
  stopSignal: string;
  stopTimeout: number;
  spec: Spec;
}

/** What `create` made: the container, and what it left out of what was asked. */
export interface CreatedContainerInfo extends ContainerInfo {
  /** Options the kernel cannot take, dropped with dockerd's words for them (Docker's create `Warnings`). */
  warnings: string[];
}

export interface CreateOptions {
  /** Root filesystem directory, already mounted (the engine mounts a @ctr/store snapshot). */
  rootfs: string;
  image?: ImageConfig;
  run?: RunOptions;
  /** A complete spec to use instead of generating one (its root path is replaced). */
  spec?: Spec;
  signal?: AbortSignal;
}

export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
  finishedAt: string;
}

export interface AttachStreams {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  signal?: AbortSignal;
}

export interface ExecOptions extends AttachStreams {
  cmd: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  tty?: boolean;
  privileged?: boolean;
  /** With `tty`: the size the exec's terminal starts with (docker's `ConsoleSize`). */
  consoleSize?: { height: number; width: number };
  /** Called once the process runs, with its controls (resize its terminal as the client's window changes). */
  onStart?: (exec: ExecControl) => void;
  /**
   * `docker exec -d`: resolve (exit code 0) once the process runs, and leave it to its conmon;
   * its exit is not seen. Without it a caller with no streams still waits for the exit (a
   * daemon keeps the exec's exit code for its inspect).
   */
  detach?: boolean;
  /**
   * What `signal` firing does: `detach` (the default, as docker's exec API) leaves the process
   * running; `kill` kills it and waits for its end (docker's health probe past its timeout).
   */
  onAbort?: 'detach' | 'kill';
}

/** A running exec session, as `ExecOptions.onStart` hands it over. */
export interface ExecControl {
  /** The process's pid on the host (dockerd's exec inspect `Pid`); absent where the engine is another host's. */
  pid?: number;
  /** Resize the exec's pty (with `tty`); Conflict once the exec has ended. */
  resize(size: { height: number; width: number }): Promise<void>;
}

export interface ExecResult {
  exitCode: number;
}

export type LogStream = 'stdout' | 'stderr';

export interface LogEntry {
  stream: LogStream;
  /** RFC 3339 with nanoseconds, as conmon wrote it (UTC as `Z`, like `docker logs -t`). */
  time: string;
  /** The line without its newline. A line cut by the log writer is joined back. */
  line: string;
}

export interface LogsOptions {
  follow?: boolean;
  /** Only lines at or after this time (Date, ISO string, or Unix seconds). */
  since?: Date | string | number;
  until?: Date | string | number;
  /** Only the last N lines. */
  tail?: number;
  stdout?: boolean;
  stderr?: boolean;
  signal?: AbortSignal;
}
