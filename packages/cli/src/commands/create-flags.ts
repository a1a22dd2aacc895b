import { readFile } from 'node:fs/promises';
import type { CreateOptions } from '@ctr/api';
import type { HealthConfig, UpdateOptions } from '@ctr/engine';
import { invalidArgument } from '@ctr/errors';
import { bool, list, num, str, type FlagSpec, type ParsedArgs } from '../flags';

/** The limits `run`/`create` set and `update` changes, with docker's names and help. */
export const resourceFlags: FlagSpec[] = [
  { name: 'memory', short: 'm', type: 'string', valueName: 'bytes', description: 'Memory limit' },
  { name: 'memory-reservation', type: 'string', valueName: 'bytes', description: 'Memory soft limit' },
  { name: 'memory-swap', type: 'string', valueName: 'bytes', description: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
  { name: 'cpus', type: 'string', valueName: 'decimal', description: 'Number of CPUs' },
  { name: 'cpu-shares', short: 'c', type: 'number', description: 'CPU shares (relative weight)' },
  { name: 'cpu-period', type: 'number', description: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  { name: 'cpu-quota', type: 'number', description: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  { name: 'cpuset-cpus', type: 'string', description: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'cpuset-mems', type: 'string', description: 'MEMs in which to allow execution (0-3, 0,1)' },
  { name: 'pids-limit', type: 'number', description: 'Tune container pids limit (set -1 for unlimited)' },
];

/** `--memory` and the other limits as the engine's options; what was not given is left out. */
export function resourceOptions(args: ParsedArgs): Omit<UpdateOptions, 'restart'> {
  const options: Omit<UpdateOptions, 'restart'> = {
    memory: str(args, 'memory'),
    memoryReservation: str(args, 'memory-reservation'),
    memorySwap: str(args, 'memory-swap'),
    cpus: str(args, 'cpus'),
    cpuShares: num(args, 'cpu-shares'),
    cpuPeriod: num(args, 'cpu-period'),
    cpuQuota: num(args, 'cpu-quota'),
    cpusetCpus: str(args, 'cpuset-cpus'),
    cpusetMems: str(args, 'cpuset-mems'),
    pidsLimit: num(args, 'pids-limit'),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** `--ulimit nofile=1024:2048` (a soft limit alone is also the hard one), as docker parses it. */
function ulimitsFrom(values: string[]): NonNullable<CreateOptions['ulimits']> {
  return values.map((value) => {
    const match = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
    if (!match) throw invalidArgument(`invalid argument "${value}" for "--ulimit" flag: invalid ulimit argument: ${value}`);
    const soft = Number(match[2]);
    const hard = match[3] === undefined ? soft : Number(match[3]);
    if (soft > hard) throw invalidArgument(`invalid argument "${value}" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    return { name: match[1] as string, soft, hard };
  });
}

/** The flags `ctr create` and `ctr run` share, with docker's names and help. */
export const createFlags: FlagSpec[] = [
  { name: 'name', type: 'string', description: 'Assign a name to the container' },
  { name: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
  { name: 'env-file', type: 'list', description: 'Read in a file of environment variables' },
  { name: 'volume', short: 'v', type: 'list', description: 'Bind mount a volume' },
  { name: 'tmpfs', type: 'list', description: 'Mount a tmpfs directory' },
  { name: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
  { name: 'user', short: 'u', type: 'string', description: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'entrypoint', type: 'string', description: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'hostname', short: 'h', type: 'string', description: 'Container host name' },
  { name: 'label', short: 'l', type: 'list', description: 'Set meta data on a container' },
  { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
  { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
  { name: 'publish', short: 'p', type: 'list', description: "Publish a container's port(s) to the host" },
  { name: 'publish-all', short: 'P', type: 'bool', description: 'Publish all exposed ports to random ports' },
  { name: 'network', type: 'string', valueName: 'network', description: 'Connect a container to a network', default: 'bridge' },
  { name: 'network-alias', type: 'list', description: 'Add network-scoped alias for the container' },
  { name: 'ip', type: 'string', description: 'IPv4 address (e.g., 172.30.100.104)' },
  { name: 'dns', type: 'list', description: 'Set custom DNS servers' },
  { name: 'add-host', type: 'list', description: 'Add a custom host-to-IP mapping (host:ip)' },
  { name: 'read-only', type: 'bool', description: "Mount the container's root filesystem as read only" },
  ...resourceFlags,
  { name: 'oom-kill-disable', type: 'bool', description: 'Disable OOM Killer' },
  { name: 'shm-size', type: 'string', valueName: 'bytes', description: 'Size of /dev/shm' },
  { name: 'ulimit', type: 'list', valueName: 'ulimit', description: 'Ulimit options' },
  { name: 'cap-add', type: 'list', description: 'Add Linux capabilities' },
  { name: 'cap-drop', type: 'list', description: 'Drop Linux capabilities' },
  { name: 'security-opt', type: 'list', description: 'Security Options' },
  { name: 'stop-signal', type: 'string', description: 'Signal to stop the container' },
  { name: 'stop-timeout', type: 'number', description: 'Timeout (in seconds) to stop a container' },
  { name: 'restart', type: 'string', description: 'Restart policy to apply when a container exits', default: 'no' },
  { name: 'health-cmd', type: 'string', description: 'Command to run to check health' },
  { name: 'health-interval', type: 'string', valueName: 'duration', description: 'Time between running the check (ms|s|m|h) (default 0s)' },
  { name: 'health-retries', type: 'number', valueName: 'int', description: 'Consecutive failures needed to report unhealthy' },
  { name: 'health-start-period', type: 'string', valueName: 'duration', description: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)' },
  { name: 'health-timeout', type: 'string', valueName: 'duration', description: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)' },
  { name: 'no-healthcheck', type: 'bool', description: 'Disable any container-specified HEALTHCHECK' },
  { name: 'log-driver', type: 'string', description: 'Logging driver for the container (json-file, local)' },
  { name: 'log-opt', type: 'list', description: 'Log driver options (max-size, max-file)' },
  { name: 'rm', type: 'bool', description: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  { name: 'pull', type: 'string', description: 'Pull image before creating ("always", "missing", "never")', default: 'missing' },
  { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the pull output' },
];

function labelsFrom(values: string[]): Record<string, string> {
  return Object.fromEntries(values.map((v) => (v.includes('=') ? [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)] : [v, ''])));
}

/** `-e NAME` without a value takes it from the caller's environment, like docker; unset names are dropped. */
function envFrom(values: string[], env: NodeJS.ProcessEnv): string[] {
  return values.flatMap((v) => (v.includes('=') ? [v] : env[v] !== undefined ? [`${v}=${env[v]}`] : []));
}

async function envFiles(files: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => {
      throw invalidArgument(`open ${file}: no such file or directory`);
    });
    for (const line of text.split('\n')) if (line.trim() && !line.trimStart().startsWith('#')) out.push(line.trim());
  }
  return out;
}

/** `--health-*` as the API's Healthcheck (durations in nanoseconds), as docker's CLI builds it. */
function healthcheckFrom(args: ParsedArgs): HealthConfig | undefined {
  const cmd = str(args, 'health-cmd');
  const retries = num(args, 'health-retries');
  const durations = { Interval: 'health-interval', Timeout: 'health-timeout', StartPeriod: 'health-start-period' } as const;
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
        throw invalidArgument(`invalid argument "${text}" for "--${flag}" flag: ${(error as Error).message}`);
      }
      check[key as keyof typeof durations] = ns;
    }
  }
  return check;
}

/** Turn parsed `run`/`create` flags and positionals into the engine's create options. */
export async function createOptions(args: ParsedArgs, env: NodeJS.ProcessEnv): Promise<CreateOptions> {
  const [image, ...cmd] = args.positionals as [string, ...string[]];
  const pull = str(args, 'pull') ?? 'missing';
  if (!['always', 'missing', 'never'].includes(pull)) throw invalidArgument(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  const security = list(args, 'security-opt');
  const options: CreateOptions = {
    image,
    env: [...(await envFiles(list(args, 'env-file'))), ...envFrom(list(args, 'env'), env)],
    volumes: list(args, 'volume'),
    tmpfs: list(args, 'tmpfs'),
    labels: labelsFrom(list(args, 'label')),
    publish: list(args, 'publish'),
    publishAll: bool(args, 'publish-all'),
    network: str(args, 'network') ?? 'bridge',
    networkAliases: list(args, 'network-alias'),
    tty: bool(args, 'tty'),
    openStdin: bool(args, 'interactive'),
    readOnlyRootfs: bool(args, 'read-only'),
    autoRemove: bool(args, 'rm'),
    restart: str(args, 'restart') ?? 'no',
    pull: pull as 'always' | 'missing' | 'never',
    capAdd: list(args, 'cap-add'),
    capDrop: list(args, 'cap-drop'),
    dns: list(args, 'dns'),
    extraHosts: list(args, 'add-host'),
    ...(security.includes('no-new-privileges') || security.includes('no-new-privileges:true') ? { noNewPrivileges: true } : {}),
    ...(security.includes('seccomp=unconfined') || security.includes('seccomp:unconfined') ? { seccomp: 'unconfined' as const } : {}),
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
  set('ip', str(args, 'ip'));
  Object.assign(options, resourceOptions(args));
  set('oomKillDisable', bool(args, 'oom-kill-disable') || undefined);
  set('shmSize', str(args, 'shm-size'));
  const ulimits = ulimitsFrom(list(args, 'ulimit'));
  if (ulimits.length > 0) options.ulimits = ulimits;
  set('stopSignal', str(args, 'stop-signal'));
  set('stopTimeout', num(args, 'stop-timeout'));
  set('healthcheck', healthcheckFrom(args));
  const logDriver = str(args, 'log-driver');
  const logOptions = list(args, 'log-opt');
  for (const option of logOptions) if (!option.includes('=')) throw invalidArgument(`invalid key value pair format in log-opt: ${option}`);
  if (logDriver || logOptions.length > 0) options.log = { ...(logDriver ? { driver: logDriver } : {}), options: labelsFrom(logOptions) };
  return options;
}
