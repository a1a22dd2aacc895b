import { isUtf8 } from 'node:buffer';
import { closeSync, openSync, promises as fs, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { CreateOptions } from '@ctr/api';
import type { ApiMount, BuildStepOptions, ClientMount, DeviceRequest, HealthConfig, PlatformSettings, UpdateOptions } from '@ctr/engine';
import { asCtrError, CtrError, goErrnoWords, goPathError, invalidArgument } from '@ctr/errors';
import { goJsonEscaped, goParseBool, parsePlatform, TAR_END, tarDataEntry, type Platform } from '@ctr/image';
import { contentTrustFlag } from '../content-trust';
import { currentEndpoint, engineModule, registryModule, type CliEngine } from '../context';
import { bool, flagValueError, list, num, str, type FlagSpec, type ParsedArgs } from '../flags';
import { platformOrDefault } from './images';

/** A size refused as docker's bytes flags refuse it, while the arguments are parsed (exit 125 with the usage). */
function checkBytes(value: string): void {
  engineModule().parseBytes(value, 'size');
}

/**
 * `--cpus` as docker's CLI reads it (opts.ParseCPUs): a rational number (`1.5`, `3/2`,
 * `1e-2`) in whole nano CPUs, which the daemon then checks against the host's CPUs.
 */
export function nanoCpus(text: string): bigint {
  const fraction = /^([+-]?\d+)\/(\d+)$/.exec(text);
  const decimal = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  let numerator: bigint;
  let denominator: bigint;
  if (fraction && BigInt(fraction[2] as string) !== 0n) {
    numerator = BigInt(fraction[1] as string) * 1_000_000_000n;
    denominator = BigInt(fraction[2] as string);
  } else if (decimal && /\d/.test(`${decimal[2]}${decimal[3] ?? ''}`)) {
    const [, sign, whole = '', fractional = '', exponent = '0'] = decimal;
    const scale = fractional.length - Number(exponent) - 9;
    const digits = BigInt(`${sign}${whole}${fractional}` || '0');
    numerator = scale < 0 ? digits * 10n ** BigInt(-scale) : digits;
    denominator = scale < 0 ? 1n : 10n ** BigInt(scale);
  } else {
    throw new Error(`failed to parse ${text} as a rational number`);
  }
  if (numerator % denominator !== 0n) throw new Error('value is too precise');
  return numerator / denominator;
}

/** `--cpus` as the engine's number of CPUs; 0 is none (docker's CLI sends no NanoCpus then). */
function cpusOption(args: ParsedArgs): number | undefined {
  const text = str(args, 'cpus');
  const nano = text === undefined ? 0n : nanoCpus(text);
  return nano === 0n ? undefined : Number(nano) / 1e9;
}

/** The limits `run`/`create` set and `update` changes, with docker's names and help. */
export const resourceFlags: FlagSpec[] = [
  { name: 'memory', short: 'm', type: 'string', valueName: 'bytes', description: 'Memory limit', check: checkBytes },
  { name: 'memory-reservation', type: 'string', valueName: 'bytes', description: 'Memory soft limit', check: checkBytes },
  {
    name: 'memory-swap',
    type: 'string',
    valueName: 'bytes',
    description: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap",
    check: (value) => {
      if (value !== '-1') checkBytes(value);
    },
  },
  { name: 'cpus', type: 'string', valueName: 'decimal', description: 'Number of CPUs', check: (value) => void nanoCpus(value) },
  { name: 'cpu-shares', short: 'c', type: 'number', description: 'CPU shares (relative weight)' },
  { name: 'cpu-period', type: 'number', description: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  { name: 'cpu-quota', type: 'number', description: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  { name: 'cpu-rt-period', type: 'number', description: 'Limit CPU real-time period in microseconds' },
  { name: 'cpu-rt-runtime', type: 'number', description: 'Limit CPU real-time runtime in microseconds' },
  { name: 'cpuset-cpus', type: 'string', description: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'cpuset-mems', type: 'string', description: 'MEMs in which to allow execution (0-3, 0,1)' },
  { name: 'pids-limit', type: 'number', description: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'blkio-weight', type: 'string', valueName: 'uint16', description: 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)' },
  // Checked, then dropped as dockerd drops it since API 1.42 (cgroup v2 and kernels from 5.4 have no such limit).
  { name: 'kernel-memory', type: 'string', valueName: 'bytes', description: 'Kernel memory limit', check: checkBytes },
];

/** Go's strconv.ParseUint(text, 10, bits): the number, or why it is not one in Go's words. */
function parseUint(text: string, bits: number): number | 'invalid syntax' | 'value out of range' {
  if (!/^\d+$/.test(text)) return 'invalid syntax';
  const n = Number(text);
  return Number.isSafeInteger(n) && n < 2 ** bits ? n : 'value out of range';
}

/** An unsigned flag (`--blkio-weight uint16`), refused as pflag refuses a value that is not one. */
function uintFlag(args: ParsedArgs, flag: string, bits: number): number | undefined {
  const text = str(args, flag);
  if (text === undefined) return undefined;
  const n = parseUint(text, bits);
  if (typeof n !== 'number') throw flagValueError(flag, text, `strconv.ParseUint: parsing "${text}": ${n}`);
  return n;
}

/** `--memory` and the other limits as the engine's options; what was not given is left out. */
export function resourceOptions(args: ParsedArgs): Omit<UpdateOptions, 'restart'> {
  const options: Omit<UpdateOptions, 'restart'> = {
    memory: str(args, 'memory'),
    memoryReservation: str(args, 'memory-reservation'),
    memorySwap: str(args, 'memory-swap'),
    cpus: cpusOption(args),
    cpuShares: num(args, 'cpu-shares'),
    cpuPeriod: num(args, 'cpu-period'),
    cpuRealtimePeriod: num(args, 'cpu-rt-period'),
    cpuRealtimeRuntime: num(args, 'cpu-rt-runtime'),
    cpuQuota: num(args, 'cpu-quota'),
    cpusetCpus: str(args, 'cpuset-cpus'),
    cpusetMems: str(args, 'cpuset-mems'),
    pidsLimit: num(args, 'pids-limit'),
    blkioWeight: uintFlag(args, 'blkio-weight', 16),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** `--ulimit nofile=1024:2048` (a soft limit alone is also the hard one), as docker parses it. */
export function ulimitsFrom(values: string[]): NonNullable<CreateOptions['ulimits']> {
  return values.map((value) => {
    const ulimit = engineModule().parseUlimit(value);
    if (!ulimit) throw flagValueError('ulimit', value, `invalid ulimit argument: ${value}`);
    const order = engineModule().ulimitOrderError(ulimit.soft, ulimit.hard);
    if (order) throw flagValueError('ulimit', value, order);
    return ulimit;
  });
}

/** The flags of `resourceFlags` named, in that order: the same flag where two commands share one. */
function resourceFlagsNamed(names: string[]): FlagSpec[] {
  return names.map((name) => resourceFlags.find((flag) => flag.name === name) as FlagSpec);
}

/** `docker build`'s flags for its RUN steps' containers, with docker build's names and help. */
export const buildStepFlags: FlagSpec[] = [
  { name: 'add-host', type: 'list', description: 'Add a custom host-to-IP mapping ("host:ip")' },
  ...resourceFlagsNamed(['memory', 'memory-swap', 'cpu-shares', 'cpu-period', 'cpu-quota', 'cpuset-cpus', 'cpuset-mems']),
  { name: 'shm-size', type: 'string', valueName: 'bytes', description: 'Size of "/dev/shm"', check: checkBytes },
  { name: 'ulimit', type: 'list', valueName: 'ulimit', description: 'Ulimit options' },
  { name: 'cgroup-parent', type: 'string', description: 'Set the parent cgroup for the "RUN" instructions during build' },
  { name: 'security-opt', type: 'list', description: 'Security options' },
];

/** What `buildStepFlags` give every RUN step; what was not given is left out. */
export function buildStepOptions(args: ParsedArgs): BuildStepOptions {
  const { memory, memorySwap, cpuShares, cpuPeriod, cpuQuota, cpusetCpus, cpusetMems } = resourceOptions(args);
  const ulimits = ulimitsFrom(list(args, 'ulimit'));
  const options: BuildStepOptions = {
    extraHosts: list(args, 'add-host'),
    memory,
    memorySwap,
    cpuShares,
    cpuPeriod,
    cpuQuota,
    cpusetCpus,
    cpusetMems,
    shmSize: str(args, 'shm-size'),
    ulimits,
    cgroupParent: str(args, 'cgroup-parent') || undefined,
    ...engineModule().buildSecurityOptions(list(args, 'security-opt')),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
}

/**
 * The values of a device flag (`--device-read-bps /dev/sda:1mb` and its kin), checked with
 * docker's CLI's words (opts/throttledevice.go, weightdevice.go): `<path>:<value>`, the path
 * under /dev/, the value as `parse` reads it (undefined: refused in `invalid`'s words).
 * Whether the path is a block device the runtime says: the daemon may be another machine.
 */
function deviceValues(
  args: ParsedArgs,
  flag: string,
  parse: (text: string) => number | undefined,
  invalid: (entry: string) => string,
): Array<{ path: string; value: number }> {
  return list(args, flag).map((entry) => {
    const fail = (message: string): never => {
      throw flagValueError(flag, entry, message);
    };
    const colon = entry.indexOf(':');
    const path = colon === -1 ? '' : entry.slice(0, colon);
    if (!path) fail(`bad format: ${entry}`);
    if (!path.startsWith('/dev/')) fail(`bad format for device path: ${entry}`);
    return { path, value: parse(entry.slice(colon + 1)) ?? fail(invalid(entry)) };
  });
}

/** `parseUint` for values refused in other words than Go's. */
function uintValue(text: string, bits: number): number | undefined {
  const n = parseUint(text, bits);
  return typeof n === 'number' ? n : undefined;
}

/** `--device-read-bps` and `--device-write-bps`: sizes as docker's RAMInBytes reads them (`1mb`). */
function bpsDevices(args: ParsedArgs, flag: string): ThrottleDevice[] {
  const invalid = (entry: string): string =>
    `invalid rate for device: ${entry}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`;
  return deviceValues(args, flag, sizeInBytes, invalid).map(({ path, value }) => ({ path, rate: value }));
}

/** `--device-read-iops` and `--device-write-iops`: whole numbers. */
function iopsDevices(args: ParsedArgs, flag: string): ThrottleDevice[] {
  const invalid = (entry: string): string => `invalid rate for device: ${entry}. The correct format is <device-path>:<number>. Number must be a positive integer`;
  return deviceValues(args, flag, (text) => uintValue(text, 64), invalid).map(({ path, value }) => ({ path, rate: value }));
}

/** `--blkio-weight-device /dev/sda:200`: 10 to 1000, or 0. */
function weightDevices(args: ParsedArgs): NonNullable<CreateOptions['blkioWeightDevice']> {
  const weight = (text: string): number | undefined => {
    const n = uintValue(text, 16);
    return n === undefined || (n > 0 && (n < 10 || n > 1000)) ? undefined : n;
  };
  return deviceValues(args, 'blkio-weight-device', weight, (entry) => `invalid weight for device: ${entry}`).map(({ path, value }) => ({ path, weight: value }));
}

type ThrottleDevice = NonNullable<CreateOptions['blkioDeviceReadBps']>[number];

/** The flags `ctr create` and `ctr run` share, with docker's names and help. */
export const createFlags: FlagSpec[] = [
  contentTrustFlag,
  { name: 'name', type: 'string', description: 'Assign a name to the container' },
  { name: 'cidfile', type: 'string', description: 'Write the container ID to the file' },
  { name: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
  { name: 'env-file', type: 'list', description: 'Read in a file of environment variables' },
  { name: 'volume', short: 'v', type: 'list', description: 'Bind mount a volume' },
  { name: 'tmpfs', type: 'list', description: 'Mount a tmpfs directory' },
  { name: 'mount', type: 'list', valueName: 'mount', description: 'Attach a filesystem mount to the container' },
  { name: 'volumes-from', type: 'list', description: 'Mount volumes from the specified container(s)' },
  { name: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
  { name: 'user', short: 'u', type: 'string', description: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'entrypoint', type: 'string', description: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'hostname', short: 'h', type: 'string', description: 'Container host name' },
  { name: 'domainname', type: 'string', description: 'Container NIS domain name' },
  { name: 'label', short: 'l', type: 'list', description: 'Set meta data on a container' },
  { name: 'label-file', type: 'list', description: 'Read in a line delimited file of labels' },
  { name: 'annotation', type: 'list', valueName: 'map', description: 'Add an annotation to the container (passed through to the OCI runtime) (default map[])' },
  {
    name: 'attach',
    short: 'a',
    type: 'list',
    description: 'Attach to STDIN, STDOUT or STDERR',
    check: (value) => {
      if (!['stdin', 'stdout', 'stderr'].includes(value.toLowerCase())) throw new Error('valid streams are STDIN, STDOUT and STDERR');
    },
  },
  { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
  { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
  { name: 'publish', short: 'p', type: 'list', description: "Publish a container's port(s) to the host" },
  { name: 'publish-all', short: 'P', type: 'bool', description: 'Publish all exposed ports to random ports' },
  { name: 'expose', type: 'list', description: 'Expose a port or a range of ports' },
  { name: 'network', type: 'string', valueName: 'network', description: 'Connect a container to a network', default: 'bridge' },
  { name: 'network-alias', type: 'list', description: 'Add network-scoped alias for the container' },
  { name: 'ip', type: 'string', description: 'IPv4 address (e.g., 172.30.100.104)' },
  { name: 'ip6', type: 'string', description: 'IPv6 address (e.g., 2001:db8::33)' },
  { name: 'link-local-ip', type: 'list', description: 'Container IPv4/IPv6 link-local addresses' },
  { name: 'mac-address', type: 'string', description: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
  { name: 'link', type: 'list', description: 'Add link to another container' },
  { name: 'dns', type: 'list', description: 'Set custom DNS servers' },
  { name: 'dns-option', type: 'list', description: 'Set DNS options' },
  { name: 'dns-search', type: 'list', description: 'Set custom DNS search domains' },
  { name: 'add-host', type: 'list', description: 'Add a custom host-to-IP mapping (host:ip)' },
  { name: 'read-only', type: 'bool', description: "Mount the container's root filesystem as read only" },
  ...resourceFlags,
  { name: 'oom-kill-disable', type: 'bool', description: 'Disable OOM Killer' },
  { name: 'oom-score-adj', type: 'number', description: "Tune host's OOM preferences (-1000 to 1000)" },
  { name: 'memory-swappiness', type: 'number', description: 'Tune container memory swappiness (0 to 100) (default -1)' },
  { name: 'blkio-weight-device', type: 'list', description: 'Block IO weight (relative device weight) (default [])' },
  { name: 'device-read-bps', type: 'list', description: 'Limit read rate (bytes per second) from a device (default [])' },
  { name: 'device-read-iops', type: 'list', description: 'Limit read rate (IO per second) from a device (default [])' },
  { name: 'device-write-bps', type: 'list', description: 'Limit write rate (bytes per second) to a device (default [])' },
  { name: 'device-write-iops', type: 'list', description: 'Limit write rate (IO per second) to a device (default [])' },
  { name: 'cgroup-parent', type: 'string', description: 'Optional parent cgroup for the container' },
  {
    name: 'cgroupns',
    type: 'string',
    description:
      "Cgroup namespace to use (host|private) 'host': Run the container in the Docker host's cgroup namespace 'private': Run the container in its own private cgroup namespace '': Use the cgroup namespace as configured by the default-cgroupns-mode option on the daemon (default)",
  },
  { name: 'shm-size', type: 'string', valueName: 'bytes', description: 'Size of /dev/shm', check: checkBytes },
  { name: 'ulimit', type: 'list', valueName: 'ulimit', description: 'Ulimit options (default [])' },
  { name: 'sysctl', type: 'list', valueName: 'map', description: 'Sysctl options (default map[])' },
  { name: 'init', type: 'bool', description: 'Run an init inside the container that forwards signals and reaps processes' },
  { name: 'privileged', type: 'bool', description: 'Give extended privileges to this container' },
  { name: 'device', type: 'list', description: 'Add a host device to the container' },
  {
    name: 'device-cgroup-rule',
    type: 'list',
    description: 'Add a rule to the cgroup allowed devices list',
    // docker's CLI's own check, in its words; the runtime reads the rule again as dockerd does.
    check: (value) => {
      if (!/^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$/.test(value)) throw new Error(`invalid device cgroup format '${value}'`);
    },
  },
  { name: 'gpus', type: 'list', valueName: 'gpu-request', description: "GPU devices to add to the container ('all' to pass all GPUs)" },
  { name: 'group-add', type: 'list', description: 'Add additional groups to join' },
  { name: 'pid', type: 'string', description: 'PID namespace to use' },
  { name: 'ipc', type: 'string', description: 'IPC mode to use' },
  { name: 'uts', type: 'string', description: 'UTS namespace to use' },
  { name: 'userns', type: 'string', description: 'User namespace to use' },
  { name: 'cap-add', type: 'list', description: 'Add Linux capabilities' },
  { name: 'cap-drop', type: 'list', description: 'Drop Linux capabilities' },
  { name: 'security-opt', type: 'list', description: 'Security Options' },
  { name: 'runtime', type: 'string', description: 'Runtime to use for this container' },
  { name: 'isolation', type: 'string', description: 'Container isolation technology' },
  { name: 'volume-driver', type: 'string', description: 'Optional volume driver for the container' },
  { name: 'storage-opt', type: 'list', description: 'Storage driver options for the container' },
  { name: 'cpu-count', type: 'number', description: 'CPU count (Windows only)' },
  { name: 'cpu-percent', type: 'number', description: 'CPU percent (Windows only)' },
  { name: 'io-maxbandwidth', type: 'string', valueName: 'bytes', description: 'Maximum IO bandwidth limit for the system drive (Windows only)', check: checkBytes },
  {
    name: 'io-maxiops',
    type: 'string',
    valueName: 'uint',
    description: 'Maximum IOps limit for the system drive (Windows only)',
    check: (value) => {
      const n = parseUint(value, 64);
      if (typeof n !== 'number') throw new Error(`strconv.ParseUint: parsing "${value}": ${n}`);
    },
  },
  { name: 'use-api-socket', type: 'bool', description: 'Bind mount Docker API socket and required auth' },
  { name: 'stop-signal', type: 'string', description: 'Signal to stop the container' },
  { name: 'stop-timeout', type: 'number', description: 'Timeout (in seconds) to stop a container' },
  { name: 'restart', type: 'string', description: 'Restart policy to apply when a container exits', default: 'no' },
  { name: 'health-cmd', type: 'string', description: 'Command to run to check health' },
  { name: 'health-interval', type: 'string', valueName: 'duration', description: 'Time between running the check (ms|s|m|h) (default 0s)' },
  { name: 'health-retries', type: 'number', valueName: 'int', description: 'Consecutive failures needed to report unhealthy' },
  { name: 'health-start-period', type: 'string', valueName: 'duration', description: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)' },
  { name: 'health-start-interval', type: 'string', valueName: 'duration', description: 'Time between running the check during the start period (ms|s|m|h) (default 0s)' },
  { name: 'health-timeout', type: 'string', valueName: 'duration', description: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)' },
  { name: 'no-healthcheck', type: 'bool', description: 'Disable any container-specified HEALTHCHECK' },
  { name: 'log-driver', type: 'string', description: 'Logging driver for the container (json-file, local, none)' },
  { name: 'log-opt', type: 'list', description: 'Log driver options (max-size, max-file)' },
  { name: 'rm', type: 'bool', description: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  { name: 'pull', type: 'string', description: 'Pull image before creating ("always", "missing", "never")', default: 'missing' },
  { name: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
  { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the pull output' },
];

/** `KEY=VALUE` (a bare `KEY` means an empty value) as a record; a later key wins, as in docker's maps. */
export function keyValues(values: string[]): Record<string, string> {
  return Object.fromEntries(values.map((v) => (v.includes('=') ? [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)] : [v, ''])));
}

/**
 * `-e NAME` without a value takes it from the caller's environment, as docker's ValidateEnv;
 * an unset NAME stays bare, and unsets NAME in the container (the image's too).
 */
function envFrom(values: string[], env: NodeJS.ProcessEnv): string[] {
  return values.map((v) => (v.includes('=') || env[v] === undefined ? v : `${v}=${env[v]}`));
}

/** `--env-file` and `-e` (which overrides the files) of `run`, `create` and `exec`, as docker's CLI reads them. */
export async function envOptions(args: ParsedArgs, env: NodeJS.ProcessEnv): Promise<string[]> {
  return envFrom([...(await keyValueLines(list(args, 'env-file'), (key) => env[key])), ...list(args, 'env')], env);
}

/** bufio.Scanner's longest token (MaxScanTokenSize): a longer line ends docker's reading of a file. */
const MAX_LINE = 64 * 1024;
/** Go's unicode.IsSpace, what kvfile trims a line's start of (JS's `\s` differs: it takes U+FEFF, not U+0085). */
const GO_LEADING_SPACE = /^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+/;

/**
 * The lines of `--env-file` and `--label-file` files, as docker reads both (its kvfile):
 * blank lines and `#` comments are skipped, leading whitespace goes, a value is kept as
 * written (trailing spaces too). A bare `KEY` takes its value from `lookup` (an env file's
 * from the caller's environment) and is dropped when that has none, as a label file's always is.
 * A file that cannot be opened is Go's bare `open FILE: …`; anything wrong once it is open (a
 * directory's read, a line) is `invalid env file (FILE): …`, for label files too, as docker says.
 */
async function keyValueLines(files: string[], lookup: (key: string) => string | undefined = () => undefined): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    const invalid = (reason: string, cause?: unknown): CtrError => invalidArgument(`invalid env file (${file}): ${reason}`, cause === undefined ? {} : { cause });
    const data = await fs.readFile(file).catch((error: unknown) => {
      // Go opens a directory and fails only reading it; Node says which of the two failed.
      if ((error as NodeJS.ErrnoException).syscall === 'open') throw invalidArgument(`open ${file}: ${goErrnoWords(error)}`, { cause: error });
      throw invalid(`read ${file}: ${goErrnoWords(error)}`, error);
    });
    for (let start = 0, number = 1; start < data.length; number++) {
      const newline = data.indexOf(0x0a, start);
      const end = newline === -1 ? data.length : newline;
      if (end - start >= MAX_LINE) throw invalid('bufio.Scanner: token too long');
      let bytes = data.subarray(start, data[end - 1] === 0x0d && end > start ? end - 1 : end);
      start = end + 1;
      if (!isUtf8(bytes)) throw invalid(`invalid utf8 bytes at line ${number}: [${bytes.join(' ')}]`);
      if (number === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
      const line = bytes.toString('utf8').replace(GO_LEADING_SPACE, '');
      if (!line || line.startsWith('#')) continue;
      const key = line.split('=', 1)[0] as string;
      if (!key) throw invalid(`no variable name on line '${line}'`);
      if (/[ \t]/.test(key)) throw invalid(`variable '${key}' contains whitespaces`);
      if (line.includes('=')) {
        out.push(line);
        continue;
      }
      const value = lookup(key);
      if (value !== undefined) out.push(`${key}=${value}`);
    }
  }
  return out;
}

/** `--sysctl`: docker's CLI wants `KEY=VALUE`; which keys a container may set, the runtime decides. */
function sysctlsFrom(values: string[]): Record<string, string> {
  for (const value of values) {
    if (value.indexOf('=') <= 0) throw flagValueError('sysctl', value, `sysctl '${value}' is not allowed`);
  }
  return keyValues(values);
}

/** `--platform`, the one the image must be for, refused as docker's CLI refuses one it cannot parse. */
function imagePlatformFrom(text: string | undefined): Platform | undefined {
  if (!text) return undefined;
  try {
    return parsePlatform(text);
  } catch (error) {
    throw invalidArgument(`error parsing specified platform: ${(error as Error).message}`);
  }
}

/** `--mount`'s options that docker knows and ctr has no equivalent for (a clear refusal, not "unexpected key"). */
const UNSUPPORTED_MOUNT_KEYS = new Set(['bind-nonrecursive', 'image-subpath']);

/** `bind-recursive`'s values; only `enabled` (docker's default, recursive) is how ctr mounts binds. */
const BIND_RECURSIVE = ['enabled', 'disabled', 'writable', 'readonly'];

/**
 * One `--mount` value split into fields as docker's CLI reads it (Go's encoding/csv):
 * `"src=a,b"` is one field, `""` within quotes is a quote.
 */
export function csvFields(line: string, fail: (message: string) => never): string[] {
  const fields: string[] = [];
  for (let i = 0; ; i++) {
    let field = '';
    if (line[i] === '"') {
      for (i++; line[i] !== '"' || line[i + 1] === '"'; i++) {
        if (i >= line.length) fail(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
        if (line[i] === '"') i++;
        field += line[i];
      }
      i++;
      if (i < line.length && line[i] !== ',') fail(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
    } else {
      const comma = line.indexOf(',', i);
      const end = comma === -1 ? line.length : comma;
      field = line.slice(i, end);
      if (field.includes('"')) fail(`parse error on line 1, column ${i + field.indexOf('"') + 1}: bare " in non-quoted-field`);
      i = end;
    }
    fields.push(field);
    if (i >= line.length) return fields;
  }
}

/** A size as docker's CLI reads `tmpfs-size` (go-units' RAMInBytes), or undefined when it is not one. */
function sizeInBytes(text: string): number | undefined {
  try {
    return engineModule().parseBytes(text, 'tmpfs-size');
  } catch {
    return undefined;
  }
}

/** Parse `--mount type=…,source=…,target=…[,readonly][,tmpfs-size=…]…` with the checks and words of docker's CLI (opts/mount.go). */
export function parseMount(value: string): ClientMount {
  const fail = (message: string): never => {
    throw flagValueError('mount', value, message);
  };
  const spec = value.trim();
  if (!spec) fail('value is empty');
  const mount: ClientMount & { Type: string } = { Type: 'volume' };
  // The option families given (`bind-*`, `volume-*`, `tmpfs-*`), which must match the type.
  const families = new Set<string>();
  const volumeOptions = (): NonNullable<ClientMount['VolumeOptions']> => {
    families.add('volume');
    return (mount.VolumeOptions ??= {});
  };
  // docker's CLI sets `key=value` in a map, and drops an entry without a key.
  const setEntry = (map: Record<string, string> | undefined, entry: string): Record<string, string> => {
    const eq = entry.indexOf('=');
    const key = eq === -1 ? entry : entry.slice(0, eq);
    return key === '' ? { ...map } : { ...map, [key]: eq === -1 ? '' : entry.slice(eq + 1) };
  };
  for (const field of csvFields(spec, fail)) {
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    if (UNSUPPORTED_MOUNT_KEYS.has(key)) fail(`'${key}' is not supported: ctr has no equivalent`);
    if (eq === -1) {
      if (key === 'volume-nocopy') volumeOptions().NoCopy = true;
      else if (key === 'readonly' || key === 'ro') mount.ReadOnly = true;
      else fail(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const val = field.slice(eq + 1);
    switch (key) {
      case 'type':
        mount.Type = val.toLowerCase();
        break;
      case 'source':
      case 'src':
        mount.Source = val.startsWith('.') ? path.resolve(val) : val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.Target = val;
        break;
      case 'readonly':
      case 'ro':
        mount.ReadOnly = goParseBool(val) ?? fail(`invalid value for ${key}: ${val}`);
        break;
      case 'consistency':
        // Docker Desktop's; docker on Linux accepts and ignores it.
        break;
      case 'bind-propagation':
        families.add('bind');
        // The engine checks it, as dockerd does.
        mount.BindOptions = { ...mount.BindOptions, Propagation: val.toLowerCase() };
        break;
      case 'bind-recursive':
        if (!BIND_RECURSIVE.includes(val)) fail(`invalid value for ${key}: ${val} (must be "enabled", "disabled", "writable", or "readonly")`);
        if (val !== 'enabled') fail(`bind-recursive=${val} is not supported: ctr's bind mounts are recursive`);
        break;
      case 'volume-nocopy':
        volumeOptions().NoCopy = goParseBool(val) ?? fail(`invalid value for volume-nocopy: ${val}`);
        break;
      case 'volume-label': {
        const options = volumeOptions();
        options.Labels = setEntry(options.Labels, val);
        break;
      }
      case 'volume-subpath':
        volumeOptions().Subpath = val;
        break;
      case 'volume-driver': {
        const options = volumeOptions();
        options.DriverConfig = { ...options.DriverConfig, Name: val };
        break;
      }
      case 'volume-opt': {
        const options = volumeOptions();
        options.DriverConfig = { ...options.DriverConfig, Options: setEntry(options.DriverConfig?.Options, val) };
        break;
      }
      case 'tmpfs-size':
        families.add('tmpfs');
        mount.TmpfsOptions = { ...mount.TmpfsOptions, SizeBytes: sizeInBytes(val) ?? fail(`invalid value for ${key}: ${val}`) };
        break;
      case 'tmpfs-mode':
        families.add('tmpfs');
        if (!/^[0-7]+$/.test(val)) fail(`invalid value for ${key}: ${val}`);
        mount.TmpfsOptions = { ...mount.TmpfsOptions, Mode: parseInt(val, 8) };
        break;
      default:
        fail(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!mount.Type) fail('type is required');
  if (!mount.Target) fail('target is required');
  for (const family of families) if (family !== mount.Type) fail(`cannot mix '${family}-*' options with mount type '${mount.Type}'`);
  return mount;
}

/** `--cidfile`, as docker's CLI keeps it: made before the create, the ID written once the container exists. */
export interface ContainerIdFile {
  /** Synchronous, as the engine's `onCreated` is: the ID is in the file before the container starts. */
  write(id: string): void;
  /** Removes the file when no ID went into it (the create failed), as docker does; after a write, nothing. */
  close(): void;
}

/** Opens `--cidfile`'s file, refusing one that exists (another container may own it); a no-op without the flag. */
export function containerIdFile(args: ParsedArgs): ContainerIdFile {
  const file = str(args, 'cidfile');
  if (!file) return { write: () => undefined, close: () => undefined };
  let fd: number;
  try {
    // Exclusive create: two runs given one file cannot both take it.
    fd = openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw invalidArgument(`container ID file found, make sure the other container isn't running or delete ${file}`);
    }
    throw invalidArgument(`failed to create the container ID file: ${(error as Error).message}`);
  }
  let open = true;
  return {
    write(id) {
      try {
        writeSync(fd, id);
      } catch (error) {
        throw invalidArgument(`failed to write the container ID to the file: ${(error as Error).message}`);
      }
      open = false;
      closeSync(fd);
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
      unlinkSync(file);
    },
  };
}

/** `--device /dev/sda[:/dev/xvda][:rwm]`, as docker's CLI splits it: a second part that is a mode is the mode. */
function deviceFrom(value: string): NonNullable<CreateOptions['devices']>[number] {
  const [pathOnHost = '', second, third] = value.split(':');
  const isMode = (text: string | undefined): text is string => text !== undefined && /^[rwm]{1,3}$/.test(text);
  if (third !== undefined) return { pathOnHost, pathInContainer: second || pathOnHost, permissions: third };
  if (isMode(second)) return { pathOnHost, pathInContainer: pathOnHost, permissions: second };
  return { pathOnHost, pathInContainer: second || pathOnHost, permissions: 'rwm' };
}

/** Flags docker's CLI takes only to a Windows daemon (their `ostype` annotation), in the order it names them. */
const WINDOWS_ONLY = ['cpu-count', 'cpu-percent', 'io-maxbandwidth', 'io-maxiops'];

/**
 * docker's CLI's refusal of Windows-only flags before it sends anything, status 1 and no
 * usage: every daemon ctr talks to, and its own engine, run Linux. (dockerd, asked through the
 * API, drops the CPU ones and refuses the IO ones: the engine does that for API clients.)
 */
export function refuseWindowsOnlyFlags(args: ParsedArgs): void {
  const given = WINDOWS_ONLY.filter((name) => args.flags[name] !== undefined);
  if (given.length === 0) return;
  const lines = given.map((name) => `"--${name}" is only supported on a Docker daemon running on windows, but the Docker daemon is running on linux`);
  throw new CtrError('InvalidArgument', lines.join('\n'), { details: { exitCode: 1 } });
}

/** `--runtime`, `--isolation`, `--volume-driver` and `--storage-opt`, for the engine to check as dockerd does. */
function platformOptions(args: ParsedArgs): PlatformSettings | undefined {
  const storageOpt = list(args, 'storage-opt');
  // docker's CLI's words, with no flag named and no usage shown.
  if (storageOpt.some((option) => !option.includes('='))) throw invalidArgument('invalid storage option');
  const platform: PlatformSettings = {
    runtime: str(args, 'runtime') || undefined,
    isolation: str(args, 'isolation') || undefined,
    volumeDriver: str(args, 'volume-driver') || undefined,
    storageOpt: storageOpt.length > 0 ? keyValues(storageOpt) : undefined,
  };
  const given = Object.fromEntries(Object.entries(platform).filter(([, v]) => v !== undefined));
  return Object.keys(given).length > 0 ? given : undefined;
}

/**
 * `--use-api-socket`, as docker's CLI does it: the daemon's unix socket it talks to, bound at
 * /var/run/docker.sock. The in-process engine has no socket to give.
 */
async function apiSocketMount(): Promise<ClientMount> {
  const where = await currentEndpoint();
  if (where.kind === 'local') {
    throw invalidArgument('flag --use-api-socket needs a daemon: ctr runs this container in-process, with no API socket to mount', {
      hint: 'start `ctr daemon` and point DOCKER_HOST (or a context) at its unix socket',
    });
  }
  if (!where.host.startsWith('unix://')) throw invalidArgument(`flag --use-api-socket can only be used with unix sockets: docker endpoint ${where.host} incompatible`);
  return { Type: 'bind', Source: where.host.slice('unix://'.length), Target: '/var/run/docker.sock', BindOptions: {} };
}

/** Where docker's CLI gives a container with `--use-api-socket` the user's credentials: its DOCKER_CONFIG. */
const API_SOCKET_DOCKER_CONFIG = '/run/secrets/docker';

/**
 * `--use-api-socket`'s credentials, as docker's CLI gives them: unless the container's env
 * names its own DOCKER_CONFIG, every credential the user's Docker config leads to, saved as
 * a config.json of `auths` alone (what docker's CLI writes: `auth` as base64 `user:password`,
 * tab-indented), with DOCKER_CONFIG pointing at it added to the env. Read before the create,
 * so that a failing credential helper fails it before anything is made. `config` is
 * undefined when there is nothing to give; `copyApiSocketConfig` puts it in once the container exists.
 */
export async function withApiSocketCredentials(args: ParsedArgs, options: CreateOptions, env: NodeJS.ProcessEnv): Promise<{ options: CreateOptions; config?: Buffer }> {
  if (!bool(args, 'use-api-socket') || (options.env ?? []).some((entry) => entry.startsWith('DOCKER_CONFIG='))) return { options };
  const { configAuthEntry, loadAllDockerConfigAuths } = registryModule();
  const all = await loadAllDockerConfigAuths({ env })
    .catch((error: unknown) => Promise.reject(inContext('resolving credentials failed', error)));
  const servers = Object.keys(all).sort();
  if (servers.length === 0) return { options };
  const auths = Object.fromEntries(servers.map((server) => [server, configAuthEntry(all[server]!)]));
  // json.MarshalIndent's: HTML characters escaped, no newline at the end.
  const config = Buffer.from(goJsonEscaped(JSON.stringify({ auths }, null, '\t'), true));
  return { options: { ...options, env: [...(options.env ?? []), `DOCKER_CONFIG=${API_SOCKET_DOCKER_CONFIG}`] }, config };
}

/** The credentials of `withApiSocketCredentials` into the made container, before it starts, as docker's CLI copies them (a tar to `/`). */
export async function copyApiSocketConfig(engine: CliEngine, id: string, config: Buffer): Promise<void> {
  // docker's CLI's entry: owner-only, no time, no parent directories (the extraction makes them).
  const tar = Readable.from([...tarDataEntry({ name: `${API_SOCKET_DOCKER_CONFIG.slice(1)}/config.json`, mode: 0o600, uid: 0, gid: 0 }, config), TAR_END]);
  try {
    await engine.putArchive(id, '/', tar);
  } catch (error) {
    throw inContext('injecting docker config.json into container failed: copying config.json into container failed', error);
  }
}

/** `error` with docker's CLI's words for what it was doing before its own (Go's `%w`). */
function inContext(context: string, error: unknown): CtrError {
  const { code, message, hint } = asCtrError(error);
  return new CtrError(code, `${context}: ${message}`, { cause: error, ...(hint ? { hint } : {}) });
}

/**
 * `--pid`/`--ipc`/`--uts`: docker's CLI refuses a PID mode other than `host` or
 * `container:<name|id>` in its words; the runtime checks the rest and names a wrong one.
 */
function namespaceMode<K extends 'pid' | 'ipc' | 'uts'>(args: ParsedArgs, key: K): CreateOptions[K] | undefined {
  const mode = str(args, key) || undefined;
  if (key === 'pid' && mode !== undefined && mode !== 'host' && !/^container:./.test(mode)) throw invalidArgument('--pid: invalid PID mode');
  return mode as CreateOptions[K] | undefined;
}

/** `--gpus all`, `--gpus '"capabilities=compute,utility",count=2'`: docker's CLI's device request (opts/gpus.go). */
function gpuRequest(value: string): DeviceRequest {
  const fail = (message: string): never => {
    throw flagValueError('gpus', value, message);
  };
  // Go's CSV reader finds no record in an empty value.
  if (value === '') fail('EOF');
  const count = (text: string): number =>
    text === 'all' ? -1 : /^[+-]?\d+$/.test(text) ? Number(text) : fail(`invalid count (${text}): value must be either "all" or an integer: invalid syntax`);
  const request: DeviceRequest = { Driver: '' };
  const seen = new Set<string>();
  for (const field of csvFields(value, fail)) {
    const eq = field.indexOf('=');
    const key = eq === -1 ? field : field.slice(0, eq);
    if (seen.has(key)) fail(`gpu request key '${key}' can be specified only once`);
    seen.add(key);
    // A bare value is the count.
    if (eq === -1) {
      seen.add('count');
      request.Count = count(key);
      continue;
    }
    const val = field.slice(eq + 1);
    if (key === 'driver') request.Driver = val;
    else if (key === 'count') request.Count = count(val);
    else if (key === 'device') request.DeviceIDs = val.split(',');
    else if (key === 'capabilities') request.Capabilities = [[...val.split(','), 'gpu']];
    else if (key === 'options') request.Options = keyValues(csvFields(val, fail));
    else fail(`unexpected key '${key}' in '${field}'`);
  }
  if (!seen.has('count') && !request.DeviceIDs) request.Count = 1;
  return { ...request, Capabilities: request.Capabilities ?? [['gpu']], Options: request.Options ?? {} };
}

/** `--link name[:alias]`, refused as docker's CLI refuses a malformed one (the engine finds the container). */
function linksFrom(values: string[]): string[] | undefined {
  if (values.length === 0) return undefined;
  const { parseLink } = engineModule();
  for (const value of values) {
    try {
      parseLink(value);
    } catch (error) {
      throw flagValueError('link', value, (error as Error).message);
    }
  }
  return values;
}

/** `--health-*` as the API's Healthcheck (durations in nanoseconds), as docker's CLI builds it. */
export function healthcheckFrom(args: ParsedArgs): HealthConfig | undefined {
  const cmd = str(args, 'health-cmd');
  const retries = num(args, 'health-retries');
  const durations = { Interval: 'health-interval', Timeout: 'health-timeout', StartPeriod: 'health-start-period', StartInterval: 'health-start-interval' } as const;
  const given = Object.entries(durations).filter(([, flag]) => str(args, flag) !== undefined);
  if (bool(args, 'no-healthcheck')) {
    if (cmd !== undefined || retries !== undefined || given.length > 0) throw invalidArgument('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (cmd === undefined && retries === undefined && given.length === 0) return undefined;
  const check: HealthConfig = cmd !== undefined ? { Test: ['CMD-SHELL', cmd] } : {};
  if (retries !== undefined) {
    if (retries < 0) throw invalidArgument('--health-retries cannot be negative');
    check.Retries = retries;
  }
  if (given.length > 0) {
    // The Dockerfile package parses Go durations; loaded only when one is given (run's path stays without it).
    const { parseDuration } = require('@ctr/dockerfile') as typeof import('@ctr/dockerfile');
    for (const [key, flag] of given) {
      const text = str(args, flag) as string;
      let ns: number;
      try {
        ns = parseDuration(text);
      } catch (error) {
        throw flagValueError(flag, text, (error as Error).message);
      }
      check[key as keyof typeof durations] = ns;
    }
  }
  return check;
}

/**
 * docker's CLI's parseSecurityOpts: every option but `no-new-privileges` takes a value, and
 * `seccomp=FILE` goes as the file's JSON, compacted — the daemon reads no client's files.
 */
async function securityOpts(values: string[]): Promise<string[]> {
  return Promise.all(
    values.map(async (value) => {
      const cut = (separator: string): [string, string | undefined] => {
        const at = value.indexOf(separator);
        return at === -1 ? [value, undefined] : [value.slice(0, at), value.slice(at + 1)];
      };
      let [key, setting] = cut('=');
      if (setting === undefined && key !== 'no-new-privileges') [key, setting] = cut(':');
      // docker 28's CLI words (capitalised, unlike dockerd's `invalid --security-opt 1`).
      if (!setting && key !== 'no-new-privileges') throw invalidArgument(`Invalid --security-opt: ${JSON.stringify(value)}`);
      if (key !== 'seccomp' || !setting || setting === 'builtin' || setting === 'unconfined') return value;
      const file = setting;
      const text = await fs.readFile(file, 'utf8').catch((error: unknown) => Promise.reject(invalidArgument(`opening seccomp profile (${file}) failed: ${goPathError(error, file)}`)));
      return `seccomp=${engineModule().compactSeccompProfile(text, file)}`;
    }),
  );
}

/** docker's CLI's own security option (parseSystemPaths): never sent, it empties HostConfig.MaskedPaths and ReadonlyPaths. */
const UNCONFINED_SYSTEM_PATHS = 'systempaths=unconfined';

/** `--security-opt` as docker's CLI sends it: checked and read (`securityOpts`), less its own `systempaths=unconfined`. */
async function securityOptions(values: string[]): Promise<Pick<CreateOptions, 'noNewPrivileges' | 'seccomp' | 'securityOpt' | 'maskedPaths' | 'readonlyPaths'>> {
  const sent = await securityOpts(values);
  const unconfined = sent.includes(UNCONFINED_SYSTEM_PATHS);
  return {
    ...engineModule().securitySettings(sent.filter((value) => value !== UNCONFINED_SYSTEM_PATHS)),
    ...(unconfined ? { maskedPaths: [], readonlyPaths: [] } : {}),
  };
}

/** Turn parsed `run`/`create` flags and positionals into the engine's create options. */
export async function createOptions(args: ParsedArgs, env: NodeJS.ProcessEnv): Promise<CreateOptions> {
  const [image, ...cmd] = args.positionals as [string, ...string[]];
  const pull = str(args, 'pull') ?? 'missing';
  const attachNames = list(args, 'attach').map((name) => name.toLowerCase());
  if (!['always', 'missing', 'never'].includes(pull)) throw invalidArgument(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  // As the API's `HostConfig.Mounts`: checked as dockerd checks them (its errors are no flag
  // errors), and shown as given by inspect.
  const { apiMount } = engineModule();
  const mountSpecs: ApiMount[] = list(args, 'mount').map(parseMount).map(apiMount);
  if (bool(args, 'use-api-socket')) mountSpecs.push(apiMount(await apiSocketMount()));
  const options: CreateOptions = {
    image,
    // The files first: `-e` and `--label` override what they say.
    env: await envOptions(args, env),
    volumes: list(args, 'volume'),
    tmpfs: list(args, 'tmpfs'),
    ...(mountSpecs.length > 0 ? { mountSpecs } : {}),
    labels: keyValues([...(await keyValueLines(list(args, 'label-file'))), ...list(args, 'label')]),
    publish: list(args, 'publish'),
    publishAll: bool(args, 'publish-all'),
    network: str(args, 'network') ?? 'bridge',
    networkAliases: list(args, 'network-alias'),
    tty: bool(args, 'tty'),
    openStdin: bool(args, 'interactive'),
    // `-a`, as docker's CLI records it: stdout and stderr unless it names streams, stdin with `-i` too.
    attach: {
      stdin: bool(args, 'interactive') || attachNames.includes('stdin'),
      stdout: attachNames.length === 0 || attachNames.includes('stdout'),
      stderr: attachNames.length === 0 || attachNames.includes('stderr'),
    },
    readOnlyRootfs: bool(args, 'read-only'),
    autoRemove: bool(args, 'rm'),
    restart: str(args, 'restart') ?? 'no',
    pull: pull as 'always' | 'missing' | 'never',
    capAdd: list(args, 'cap-add'),
    capDrop: list(args, 'cap-drop'),
    dns: list(args, 'dns'),
    extraHosts: list(args, 'add-host'),
    ...(await securityOptions(list(args, 'security-opt'))),
  };
  if (cmd.length > 0) options.cmd = cmd;
  const set = <K extends keyof CreateOptions>(key: K, value: CreateOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set('name', str(args, 'name'));
  set('workingDir', str(args, 'workdir'));
  set('user', str(args, 'user'));
  set('entrypoint', str(args, 'entrypoint'));
  set('hostname', str(args, 'hostname'));
  set('domainname', str(args, 'domainname'));
  set('ip', str(args, 'ip'));
  set('ip6', str(args, 'ip6'));
  Object.assign(options, resourceOptions(args));
  const nonEmpty = <T>(values: T[]): T[] | undefined => (values.length > 0 ? values : undefined);
  set('oomKillDisable', bool(args, 'oom-kill-disable') || undefined);
  set('oomScoreAdj', num(args, 'oom-score-adj'));
  const swappiness = num(args, 'memory-swappiness');
  if (swappiness !== undefined && swappiness !== -1 && (swappiness < 0 || swappiness > 100)) {
    throw invalidArgument(`invalid value: ${swappiness}. Valid memory swappiness range is 0-100`);
  }
  set('memorySwappiness', swappiness === -1 ? undefined : swappiness);
  set('blkioWeightDevice', nonEmpty(weightDevices(args)));
  set('blkioDeviceReadBps', nonEmpty(bpsDevices(args, 'device-read-bps')));
  set('blkioDeviceWriteBps', nonEmpty(bpsDevices(args, 'device-write-bps')));
  set('blkioDeviceReadIOps', nonEmpty(iopsDevices(args, 'device-read-iops')));
  set('blkioDeviceWriteIOps', nonEmpty(iopsDevices(args, 'device-write-iops')));
  set('cgroupParent', str(args, 'cgroup-parent') || undefined);
  const cgroupns = str(args, 'cgroupns') || undefined;
  if (cgroupns !== undefined && cgroupns !== 'host' && cgroupns !== 'private') throw invalidArgument('--cgroupns: invalid CGROUP mode');
  set('cgroupns', cgroupns);
  set('shmSize', str(args, 'shm-size'));
  const ulimits = ulimitsFrom(list(args, 'ulimit'));
  if (ulimits.length > 0) options.ulimits = ulimits;
  // Only what was given: an empty list would replace the host's resolv.conf search and options with none.
  set('linkLocalIps', nonEmpty(list(args, 'link-local-ip')));
  set('dnsSearch', nonEmpty(list(args, 'dns-search')));
  set('dnsOptions', nonEmpty(list(args, 'dns-option')));
  const sysctls = list(args, 'sysctl');
  if (sysctls.length > 0) options.sysctls = sysctlsFrom(sysctls);
  const annotations = list(args, 'annotation');
  if (annotations.length > 0) options.annotations = keyValues(annotations);
  set('init', bool(args, 'init') || undefined);
  set('privileged', bool(args, 'privileged') || undefined);
  const devices = list(args, 'device').map(deviceFrom);
  if (devices.length > 0) options.devices = devices;
  set('deviceCgroupRules', nonEmpty(list(args, 'device-cgroup-rule')));
  set('platform', platformOptions(args));
  set('imagePlatform', imagePlatformFrom(platformOrDefault(args, env)));
  set('groupAdd', nonEmpty(list(args, 'group-add')));
  set('pid', namespaceMode(args, 'pid'));
  set('ipc', namespaceMode(args, 'ipc'));
  set('uts', namespaceMode(args, 'uts'));
  const userns = str(args, 'userns') || undefined;
  if (userns !== undefined && userns !== 'host') throw invalidArgument('--userns: invalid USER mode');
  set('usernsMode', userns);
  set('containerIdFile', str(args, 'cidfile') || undefined);
  set('expose', nonEmpty(list(args, 'expose')));
  set('volumesFrom', nonEmpty(list(args, 'volumes-from')));
  set('macAddress', str(args, 'mac-address') || undefined);
  set('links', linksFrom(list(args, 'link')));
  set('deviceRequests', nonEmpty(list(args, 'gpus').map(gpuRequest)));
  set('stopSignal', str(args, 'stop-signal'));
  set('stopTimeout', num(args, 'stop-timeout'));
  set('healthcheck', healthcheckFrom(args));
  const logDriver = str(args, 'log-driver');
  const logOptions = list(args, 'log-opt');
  for (const option of logOptions) if (!option.includes('=')) throw invalidArgument(`invalid key value pair format in log-opt: ${option}`);
  if (logDriver || logOptions.length > 0) options.log = { ...(logDriver ? { driver: logDriver } : {}), options: keyValues(logOptions) };
  return options;
}
