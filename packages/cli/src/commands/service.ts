import { setTimeout as delay } from 'node:timers/promises';
import { invalidArgument, isNotFound, notFound } from '@ctr/errors';
import type {
  ConfigReference,
  ContainerSpec,
  ConvergeProgress,
  EndpointSpec,
  Mount,
  NetworkAttachmentConfig,
  PortConfig,
  RestartPolicy,
  SecretReference,
  Service,
  ServiceMode,
  ServiceSpec,
  SwarmApi,
  Task,
  TaskSpec,
  UpdateConfig,
} from '@ctr/swarm';
import type { Command, Io } from '../command';
import { getEngine, println } from '../context';
import { errorLine } from '../errors';
import { bool, byName, flagValueError, list, num, str, type FlagSpec, type ParsedArgs } from '../flags';
import { filterFlag, parseFilters } from '../filter-flag';
import { closeSwarm, getSwarm } from '../swarm-context';
import { csvFields, envOptions, healthcheckFrom, keyValues, nanoCpus, parseMount, ulimitsFrom } from './create-flags';
import { forEachArg, inspectEach } from './each';
import { ConvergeView, formatServices, formatTasks, prettyServices, serviceListFormat, taskFormat, type TaskNames } from './swarm-output';

/**
 * `ctr service …`: docker 28's service commands over a SwarmApi (the swarm in this process,
 * or a daemon's): their flags and help, the ServiceSpec docker's CLI builds from them, and
 * their output. A change is waited out (`--detach=false`, docker's default) showing docker's
 * convergence progress.
 */

/** pflag's uint: digits only. */
function checkUint(value: string): void {
  if (!/^\d+$/.test(value)) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(value)}: invalid syntax`);
}

/** The flags `service create` and `service update` share (docker's addServiceFlags). */
const SHARED_FLAGS: FlagSpec[] = [
  { name: 'cap-add', type: 'list', description: 'Add Linux capabilities' },
  { name: 'cap-drop', type: 'list', description: 'Drop Linux capabilities' },
  { name: 'credential-spec', type: 'string', valueName: 'credential-spec', description: 'Credential spec for managed service account (Windows only)' },
  { name: 'detach', short: 'd', type: 'bool', description: 'Exit immediately instead of waiting for the service to converge' },
  { name: 'entrypoint', type: 'string', valueName: 'command', description: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'health-cmd', type: 'string', description: 'Command to run to check health' },
  { name: 'health-interval', type: 'string', valueName: 'duration', description: 'Time between running the check (ms|s|m|h)' },
  { name: 'health-retries', type: 'number', description: 'Consecutive failures needed to report unhealthy' },
  { name: 'health-start-interval', type: 'string', valueName: 'duration', description: 'Time between running the check during the start period (ms|s|m|h)' },
  { name: 'health-start-period', type: 'string', valueName: 'duration', description: 'Start period for the container to initialize before counting retries towards unstable (ms|s|m|h)' },
  { name: 'health-timeout', type: 'string', valueName: 'duration', description: 'Maximum time to allow one check to run (ms|s|m|h)' },
  { name: 'hostname', type: 'string', description: 'Container hostname' },
  { name: 'init', type: 'bool', description: 'Use an init inside each service container to forward signals and reap processes' },
  { name: 'isolation', type: 'string', description: 'Service container isolation mode' },
  { name: 'limit-cpu', type: 'string', valueName: 'decimal', description: 'Limit CPUs' },
  { name: 'limit-memory', type: 'string', valueName: 'bytes', description: 'Limit Memory' },
  { name: 'limit-pids', type: 'number', description: 'Limit maximum number of processes (default 0 = unlimited)' },
  { name: 'log-driver', type: 'string', description: 'Logging driver for service' },
  { name: 'log-opt', type: 'list', description: 'Logging driver options' },
  { name: 'max-concurrent', type: 'number', valueName: 'uint', check: checkUint, description: 'Number of job tasks to run concurrently (default equal to --replicas)' },
  { name: 'no-healthcheck', type: 'bool', description: 'Disable any container-specified HEALTHCHECK' },
  { name: 'no-resolve-image', type: 'bool', description: 'Do not query the registry to resolve image digest and supported platforms' },
  { name: 'oom-score-adj', type: 'number', description: 'Tune host\'s OOM preferences (-1000 to 1000)' },
  { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress progress output' },
  { name: 'read-only', type: 'bool', description: 'Mount the container\'s root filesystem as read only' },
  { name: 'replicas', type: 'number', valueName: 'uint', check: checkUint, description: 'Number of tasks' },
  { name: 'replicas-max-per-node', type: 'number', valueName: 'uint', check: checkUint, description: 'Maximum number of tasks per node (default 0 = unlimited)' },
  { name: 'reserve-cpu', type: 'string', valueName: 'decimal', description: 'Reserve CPUs' },
  { name: 'reserve-memory', type: 'string', valueName: 'bytes', description: 'Reserve Memory' },
  { name: 'restart-max-attempts', type: 'number', valueName: 'uint', check: checkUint, description: 'Maximum number of restarts before giving up' },
  { name: 'restart-window', type: 'string', valueName: 'duration', description: 'Window used to evaluate the restart policy (ns|us|ms|s|m|h)' },
  { name: 'stop-signal', type: 'string', description: 'Signal to stop the container' },
  { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
  { name: 'user', short: 'u', type: 'string', description: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'with-registry-auth', type: 'bool', description: 'Send registry authentication details to swarm agents' },
  { name: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
];

/** Flags listed by name, as docker's help lists them. */
export function sortedFlags(flags: FlagSpec[]): FlagSpec[] {
  return flags.sort(byName);
}

const CREATE_FLAGS = sortedFlags([
  ...SHARED_FLAGS,
  { name: 'config', type: 'list', valueName: 'config', description: 'Specify configurations to expose to the service' },
  { name: 'constraint', type: 'list', description: 'Placement constraints' },
  { name: 'container-label', type: 'list', description: 'Container labels' },
  { name: 'dns', type: 'list', description: 'Set custom DNS servers' },
  { name: 'dns-option', type: 'list', description: 'Set DNS options' },
  { name: 'dns-search', type: 'list', description: 'Set custom DNS search domains' },
  { name: 'endpoint-mode', type: 'string', description: 'Endpoint mode (vip or dnsrr) (default "vip")' },
  { name: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
  { name: 'env-file', type: 'list', description: 'Read in a file of environment variables' },
  { name: 'generic-resource', type: 'list', description: 'User defined resources' },
  { name: 'group', type: 'list', description: 'Set one or more supplementary user groups for the container' },
  { name: 'host', type: 'list', description: 'Set one or more custom host-to-IP mappings (host:ip)' },
  { name: 'label', short: 'l', type: 'list', description: 'Service labels' },
  { name: 'mode', type: 'string', description: 'Service mode ("replicated", "global", "replicated-job", "global-job") (default "replicated")' },
  { name: 'mount', type: 'list', valueName: 'mount', description: 'Attach a filesystem mount to the service' },
  { name: 'name', type: 'string', description: 'Service name' },
  { name: 'network', type: 'list', valueName: 'network', description: 'Network attachments' },
  { name: 'placement-pref', type: 'list', valueName: 'pref', description: 'Add a placement preference' },
  { name: 'publish', short: 'p', type: 'list', valueName: 'port', description: 'Publish a port as a node port' },
  { name: 'restart-condition', type: 'string', description: 'Restart when condition is met ("none", "on-failure", "any") (default "any")' },
  { name: 'restart-delay', type: 'string', valueName: 'duration', description: 'Delay between restart attempts (ns|us|ms|s|m|h) (default 5s)' },
  { name: 'rollback-delay', type: 'string', valueName: 'duration', description: 'Delay between task rollbacks (ns|us|ms|s|m|h) (default 0s)' },
  { name: 'rollback-failure-action', type: 'string', description: 'Action on rollback failure ("pause", "continue") (default "pause")' },
  { name: 'rollback-max-failure-ratio', type: 'string', valueName: 'float', description: 'Failure rate to tolerate during a rollback (default 0)' },
  { name: 'rollback-monitor', type: 'string', valueName: 'duration', description: 'Duration after each task rollback to monitor for failure (ns|us|ms|s|m|h) (default 5s)' },
  { name: 'rollback-order', type: 'string', description: 'Rollback order ("start-first", "stop-first") (default "stop-first")' },
  { name: 'rollback-parallelism', type: 'number', valueName: 'uint', check: checkUint, description: 'Maximum number of tasks rolled back simultaneously (0 to roll back all at once) (default 1)' },
  { name: 'secret', type: 'list', valueName: 'secret', description: 'Specify secrets to expose to the service' },
  { name: 'stop-grace-period', type: 'string', valueName: 'duration', description: 'Time to wait before force killing a container (ns|us|ms|s|m|h) (default 10s)' },
  { name: 'sysctl', type: 'list', description: 'Sysctl options' },
  { name: 'ulimit', type: 'list', valueName: 'ulimit', description: 'Ulimit options (default [])' },
  { name: 'update-delay', type: 'string', valueName: 'duration', description: 'Delay between updates (ns|us|ms|s|m|h) (default 0s)' },
  { name: 'update-failure-action', type: 'string', description: 'Action on update failure ("pause", "continue", "rollback") (default "pause")' },
  { name: 'update-max-failure-ratio', type: 'string', valueName: 'float', description: 'Failure rate to tolerate during an update (default 0)' },
  { name: 'update-monitor', type: 'string', valueName: 'duration', description: 'Duration after each task update to monitor for failure (ns|us|ms|s|m|h) (default 5s)' },
  { name: 'update-order', type: 'string', description: 'Update order ("start-first", "stop-first") (default "stop-first")' },
  { name: 'update-parallelism', type: 'number', valueName: 'uint', check: checkUint, description: 'Maximum number of tasks updated simultaneously (0 to update all at once) (default 1)' },
]);

const UPDATE_FLAGS = sortedFlags([
  ...SHARED_FLAGS,
  { name: 'args', type: 'string', valueName: 'command', description: 'Service command args' },
  { name: 'config-add', type: 'list', valueName: 'config', description: 'Add or update a config file on a service' },
  { name: 'config-rm', type: 'list', description: 'Remove a configuration file' },
  { name: 'constraint-add', type: 'list', description: 'Add or update a placement constraint' },
  { name: 'constraint-rm', type: 'list', description: 'Remove a constraint' },
  { name: 'container-label-add', type: 'list', description: 'Add or update a container label' },
  { name: 'container-label-rm', type: 'list', description: 'Remove a container label by its key' },
  { name: 'dns-add', type: 'list', description: 'Add or update a custom DNS server' },
  { name: 'dns-option-add', type: 'list', description: 'Add or update a DNS option' },
  { name: 'dns-option-rm', type: 'list', description: 'Remove a DNS option' },
  { name: 'dns-rm', type: 'list', description: 'Remove a custom DNS server' },
  { name: 'dns-search-add', type: 'list', description: 'Add or update a custom DNS search domain' },
  { name: 'dns-search-rm', type: 'list', description: 'Remove a DNS search domain' },
  { name: 'endpoint-mode', type: 'string', description: 'Endpoint mode (vip or dnsrr)' },
  { name: 'env-add', type: 'list', description: 'Add or update an environment variable' },
  { name: 'env-rm', type: 'list', description: 'Remove an environment variable' },
  { name: 'force', type: 'bool', description: 'Force update even if no changes require it' },
  { name: 'generic-resource-add', type: 'list', description: 'Add a Generic resource' },
  { name: 'generic-resource-rm', type: 'list', description: 'Remove a Generic resource' },
  { name: 'group-add', type: 'list', description: 'Add an additional supplementary user group to the container' },
  { name: 'group-rm', type: 'list', description: 'Remove a previously added supplementary user group from the container' },
  { name: 'host-add', type: 'list', description: 'Add a custom host-to-IP mapping ("host:ip")' },
  { name: 'host-rm', type: 'list', description: 'Remove a custom host-to-IP mapping ("host:ip")' },
  { name: 'image', type: 'string', description: 'Service image tag' },
  { name: 'label-add', type: 'list', description: 'Add or update a service label' },
  { name: 'label-rm', type: 'list', description: 'Remove a label by its key' },
  { name: 'mount-add', type: 'list', valueName: 'mount', description: 'Add or update a mount on a service' },
  { name: 'mount-rm', type: 'list', description: 'Remove a mount by its target path' },
  { name: 'network-add', type: 'list', valueName: 'network', description: 'Add a network' },
  { name: 'network-rm', type: 'list', description: 'Remove a network' },
  { name: 'placement-pref-add', type: 'list', valueName: 'pref', description: 'Add a placement preference' },
  { name: 'placement-pref-rm', type: 'list', valueName: 'pref', description: 'Remove a placement preference' },
  { name: 'publish-add', type: 'list', valueName: 'port', description: 'Add or update a published port' },
  { name: 'publish-rm', type: 'list', valueName: 'port', description: 'Remove a published port by its target port' },
  { name: 'restart-condition', type: 'string', description: 'Restart when condition is met ("none", "on-failure", "any")' },
  { name: 'restart-delay', type: 'string', valueName: 'duration', description: 'Delay between restart attempts (ns|us|ms|s|m|h)' },
  { name: 'rollback', type: 'bool', description: 'Rollback to previous specification' },
  { name: 'rollback-delay', type: 'string', valueName: 'duration', description: 'Delay between task rollbacks (ns|us|ms|s|m|h)' },
  { name: 'rollback-failure-action', type: 'string', description: 'Action on rollback failure ("pause", "continue")' },
  { name: 'rollback-max-failure-ratio', type: 'string', valueName: 'float', description: 'Failure rate to tolerate during a rollback' },
  { name: 'rollback-monitor', type: 'string', valueName: 'duration', description: 'Duration after each task rollback to monitor for failure (ns|us|ms|s|m|h)' },
  { name: 'rollback-order', type: 'string', description: 'Rollback order ("start-first", "stop-first")' },
  { name: 'rollback-parallelism', type: 'number', valueName: 'uint', check: checkUint, description: 'Maximum number of tasks rolled back simultaneously (0 to roll back all at once)' },
  { name: 'secret-add', type: 'list', valueName: 'secret', description: 'Add or update a secret on a service' },
  { name: 'secret-rm', type: 'list', description: 'Remove a secret' },
  { name: 'stop-grace-period', type: 'string', valueName: 'duration', description: 'Time to wait before force killing a container (ns|us|ms|s|m|h)' },
  { name: 'sysctl-add', type: 'list', description: 'Add or update a Sysctl option' },
  { name: 'sysctl-rm', type: 'list', description: 'Remove a Sysctl option' },
  { name: 'ulimit-add', type: 'list', valueName: 'ulimit', description: 'Add or update a ulimit option (default [])' },
  { name: 'ulimit-rm', type: 'list', description: 'Remove a ulimit option' },
  { name: 'update-delay', type: 'string', valueName: 'duration', description: 'Delay between updates (ns|us|ms|s|m|h)' },
  { name: 'update-failure-action', type: 'string', description: 'Action on update failure ("pause", "continue", "rollback")' },
  { name: 'update-max-failure-ratio', type: 'string', valueName: 'float', description: 'Failure rate to tolerate during an update' },
  { name: 'update-monitor', type: 'string', valueName: 'duration', description: 'Duration after each task update to monitor for failure (ns|us|ms|s|m|h)' },
  { name: 'update-order', type: 'string', description: 'Update order ("start-first", "stop-first")' },
  { name: 'update-parallelism', type: 'number', valueName: 'uint', check: checkUint, description: 'Maximum number of tasks updated simultaneously (0 to update all at once)' },
]);

// ---------------------------------------------------------------- values of the flags

/** Go's time.ParseDuration of a flag's value, in nanoseconds; undefined when the flag was not given. */
function duration(args: ParsedArgs, flag: string): number | undefined {
  const text = str(args, flag);
  if (text === undefined) return undefined;
  try {
    return (require('@ctr/dockerfile') as typeof import('@ctr/dockerfile')).parseDuration(text);
  } catch (error) {
    throw flagValueError(flag, text, (error as Error).message);
  }
}

/** A `decimal` CPU count flag (`--limit-cpu 0.5`) in nano CPUs. */
function nanoCpusFlag(args: ParsedArgs, flag: string): number | undefined {
  const text = str(args, flag);
  if (text === undefined) return undefined;
  try {
    return Number(nanoCpus(text));
  } catch (error) {
    throw flagValueError(flag, text, (error as Error).message);
  }
}

/** A `bytes` flag (`--limit-memory 64m`), as go-units' RAMInBytes reads it. */
function bytesFlag(args: ParsedArgs, flag: string): number | undefined {
  const text = str(args, flag);
  if (text === undefined) return undefined;
  const { parseBytes } = require('@ctr/engine') as typeof import('@ctr/engine');
  try {
    return parseBytes(text, flag);
  } catch (error) {
    throw flagValueError(flag, text, (error as Error).message);
  }
}

/** A `float` flag (`--update-max-failure-ratio 0.2`). */
function floatFlag(args: ParsedArgs, flag: string): number | undefined {
  const text = str(args, flag);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw flagValueError(flag, text, `strconv.ParseFloat: parsing ${JSON.stringify(text)}: invalid syntax`);
  return value;
}

/** Whether any of `flags` was given. */
function anyGiven(args: ParsedArgs, flags: readonly string[]): boolean {
  return flags.some((flag) => {
    const value = args.flags[flag];
    return Array.isArray(value) ? value.length > 0 : value !== undefined;
  });
}

/** google/shlex's split, as docker's ShlexOpt reads `--entrypoint` and `--args`: words, quotes and backslashes as a shell has them. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '\\') {
      word = (word ?? '') + (text[++i] ?? '');
    } else if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end === -1) throw invalidArgument(`EOF found when expecting closing quote`);
      let quoted = text.slice(i + 1, end);
      if (c === '"') quoted = quoted.replace(/\\(["\\$`])/g, '$1');
      word = (word ?? '') + quoted;
      i = end;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

/**
 * `-p`/`--publish`: the short form (`8080:80`, `80`, `8080-8081:80-81/udp`) or docker's long
 * one (`published=8080,target=80,protocol=udp,mode=host`), as docker's PortOpt reads them.
 */
export function parsePublish(value: string, flag = 'publish'): PortConfig[] {
  const fail = (message: string): never => {
    throw flagValueError(flag, value, message);
  };
  if (/^[a-z]+=/i.test(value)) {
    const port: PortConfig = { Protocol: 'tcp', TargetPort: 0, PublishMode: 'ingress' };
    for (const field of csvFields(value, fail)) {
      const eq = field.indexOf('=');
      if (eq === -1) fail(`invalid field ${field}`);
      const key = field.slice(0, eq).toLowerCase();
      const val = field.slice(eq + 1);
      const number = (): number => (/^\d+$/.test(val) && Number(val) <= 65535 ? Number(val) : fail(`invalid ${key} port ${val}`));
      if (key === 'protocol') {
        if (!(PROTOCOLS as readonly string[]).includes(val.toLowerCase())) fail(`invalid protocol value '${val}'`);
        port.Protocol = val.toLowerCase() as PortConfig['Protocol'];
      } else if (key === 'mode') {
        if (val.toLowerCase() !== 'ingress' && val.toLowerCase() !== 'host') fail(`invalid publish mode value (${val}): must be either 'ingress' or 'host'`);
        port.PublishMode = val.toLowerCase() as 'ingress' | 'host';
      } else if (key === 'target') port.TargetPort = number();
      else if (key === 'published') port.PublishedPort = number();
      else fail(`invalid field key ${key}`);
    }
    if (port.TargetPort === 0) fail('missing mandatory field "target"');
    return [port];
  }
  const match = /^(?:(\d+)(?:-(\d+))?:)?(\d+)(?:-(\d+))?(?:\/(\w+))?$/.exec(value);
  if (!match) {
    if (/^[^:]+:\d/.test(value) && value.split(':').length > 2) fail('hostip is not supported');
    fail(`invalid port format ${value}`);
  }
  const [, published, publishedEnd, target, targetEnd, protocol = 'tcp'] = match as unknown as [string, string | undefined, string | undefined, string, string | undefined, string | undefined];
  if (!(PROTOCOLS as readonly string[]).includes(protocol.toLowerCase())) fail(`invalid proto: ${protocol}`);
  const targets = Number(targetEnd ?? target) - Number(target) + 1;
  const publishedCount = published === undefined ? targets : Number(publishedEnd ?? published) - Number(published) + 1;
  if (targets < 1 || publishedCount < 1 || (publishedCount !== targets && targets !== 1)) fail(`invalid port range ${value}`);
  return Array.from({ length: publishedCount }, (_, i) => ({
    Protocol: protocol.toLowerCase() as PortConfig['Protocol'],
    TargetPort: Number(target) + (targets === 1 ? 0 : i),
    PublishedPort: published === undefined ? 0 : Number(published) + i,
    PublishMode: 'ingress' as const,
  }));
}

/** `--secret`/`--config`: `name`, or `source=…,target=…,uid=…,gid=…,mode=…`, as docker's SecretOpt and ConfigOpt read them. */
function parseFileReference(value: string, flag: string): { source: string; File: NonNullable<SecretReference['File']> } {
  const fail = (message: string): never => {
    throw flagValueError(flag, value, message);
  };
  const file = { Name: '', UID: '0', GID: '0', Mode: 0o444 };
  let source = '';
  if (!value.includes('=')) source = value;
  else {
    for (const field of csvFields(value, fail)) {
      const eq = field.indexOf('=');
      if (eq === -1) fail(`invalid field '${field}' must be a key=value pair`);
      const key = field.slice(0, eq).toLowerCase();
      const val = field.slice(eq + 1);
      if (key === 'source' || key === 'src') source = val;
      else if (key === 'target') file.Name = val;
      else if (key === 'uid') file.UID = val;
      else if (key === 'gid') file.GID = val;
      else if (key === 'mode') file.Mode = /^[0-7]+$/.test(val) ? parseInt(val, 8) : fail(`invalid mode specified: ${val}`);
      else fail(`invalid field in ${flag} request: ${key}`);
    }
  }
  if (!source) fail(`source is required`);
  return { source, File: { ...file, Name: file.Name || source } };
}

/** The secrets named, by their IDs: docker's ParseSecrets, which refuses one the swarm has not (`secret not found: NAME`). */
async function secretReferences(swarm: SwarmApi, values: readonly string[], flag: string): Promise<SecretReference[]> {
  const wanted = values.map((value) => parseFileReference(value, flag));
  if (wanted.length === 0) return [];
  const known = await swarm.secrets({ name: wanted.map((w) => w.source) });
  return wanted.map((w) => {
    const secret = known.find((s) => s.Spec.Name === w.source) ?? fail(`secret not found: ${w.source}`);
    return { File: w.File, SecretID: secret.ID, SecretName: w.source };
  });
}

async function configReferences(swarm: SwarmApi, values: readonly string[], flag: string): Promise<ConfigReference[]> {
  const wanted = values.map((value) => parseFileReference(value, flag));
  if (wanted.length === 0) return [];
  const known = await swarm.configs({ name: wanted.map((w) => w.source) });
  return wanted.map((w) => {
    const config = known.find((c) => c.Spec.Name === w.source) ?? fail(`config not found: ${w.source}`);
    return { File: w.File, ConfigID: config.ID, ConfigName: w.source };
  });
}

function fail(message: string): never {
  throw invalidArgument(message);
}

/** `--network name` or `--network name=…,alias=…,driver-opt=k=v` (docker's NetworkOpt). */
function parseNetwork(value: string, flag = 'network'): NetworkAttachmentConfig {
  if (!value.includes('=')) return { Target: value };
  const failed = (message: string): never => {
    throw flagValueError(flag, value, message);
  };
  const network: NetworkAttachmentConfig = { Target: '' };
  for (const field of csvFields(value, failed)) {
    const eq = field.indexOf('=');
    const key = field.slice(0, eq).toLowerCase();
    const val = field.slice(eq + 1);
    if (key === 'name') network.Target = val;
    else if (key === 'alias') network.Aliases = [...(network.Aliases ?? []), val];
    else if (key === 'driver-opt') network.DriverOpts = { ...network.DriverOpts, ...keyValues([val]) };
    else failed(`invalid field key ${key}`);
  }
  if (!network.Target) failed('network name/id is not specified');
  return network;
}

/** `--host name:ip` as the swarm keeps it: `ip name` (docker's convertExtraHostsToSwarmHosts). */
function swarmHost(value: string): string {
  const colon = value.indexOf(':');
  if (colon <= 0) throw flagValueError('host', value, `bad format for add-host: "${value}"`);
  return `${value.slice(colon + 1)} ${value.slice(0, colon)}`;
}

/** `--placement-pref spread=node.labels.zone`. */
function placementPreference(value: string, flag: string): { Spread: { SpreadDescriptor: string } } {
  const eq = value.indexOf('=');
  if (eq === -1) throw flagValueError(flag, value, 'placement preference must be of the format "<strategy>=<arg>"');
  if (value.slice(0, eq).toLowerCase() !== 'spread') throw flagValueError(flag, value, `unsupported placement preference ${value.slice(0, eq)} (only spread is supported)`);
  return { Spread: { SpreadDescriptor: value.slice(eq + 1) } };
}

/** swarmkit's defaults of a rolling update and of a rollback (`--update-*`, `--rollback-*` fill what is not given). */
const DEFAULT_UPDATE: UpdateConfig = { Parallelism: 1, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' };

/** `--update-*` or `--rollback-*` over `base`; undefined when none was given and there is no base. */
function updateConfigFrom(args: ParsedArgs, prefix: 'update' | 'rollback', base: UpdateConfig | undefined): UpdateConfig | undefined {
  const names = ['parallelism', 'delay', 'monitor', 'failure-action', 'max-failure-ratio', 'order'].map((n) => `${prefix}-${n}`);
  if (!anyGiven(args, names)) return base;
  const config: UpdateConfig = { ...(base ?? DEFAULT_UPDATE) };
  const parallelism = num(args, `${prefix}-parallelism`);
  if (parallelism !== undefined) config.Parallelism = parallelism;
  const delay = duration(args, `${prefix}-delay`);
  if (delay !== undefined) config.Delay = delay;
  const monitor = duration(args, `${prefix}-monitor`);
  if (monitor !== undefined) config.Monitor = monitor;
  const action = str(args, `${prefix}-failure-action`);
  if (action !== undefined) {
    const allowed = prefix === 'update' ? ['pause', 'continue', 'rollback'] : ['pause', 'continue'];
    if (!allowed.includes(action)) throw invalidArgument(`invalid value "${action}" for --${prefix}-failure-action: must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
    config.FailureAction = action as UpdateConfig['FailureAction'];
  }
  const ratio = floatFlag(args, `${prefix}-max-failure-ratio`);
  if (ratio !== undefined) config.MaxFailureRatio = ratio;
  const order = str(args, `${prefix}-order`);
  if (order !== undefined) {
    if (order !== 'start-first' && order !== 'stop-first') throw invalidArgument(`invalid value "${order}" for --${prefix}-order: must be "start-first" or "stop-first"`);
    config.Order = order;
  }
  return config;
}

/** `--restart-*` over `base` (docker's ToRestartPolicy): undefined when none was given and there is no base. */
function restartPolicyFrom(args: ParsedArgs, base: RestartPolicy | undefined): RestartPolicy | undefined {
  if (!anyGiven(args, ['restart-condition', 'restart-delay', 'restart-max-attempts', 'restart-window'])) return base;
  const policy: RestartPolicy = { ...base };
  const condition = str(args, 'restart-condition');
  if (condition !== undefined) {
    if (!['none', 'on-failure', 'any'].includes(condition)) throw invalidArgument(`invalid restart condition: ${condition}`);
    policy.Condition = condition as RestartPolicy['Condition'];
  }
  const delay = duration(args, 'restart-delay');
  if (delay !== undefined) policy.Delay = delay;
  const attempts = num(args, 'restart-max-attempts');
  if (attempts !== undefined) policy.MaxAttempts = attempts;
  const window = duration(args, 'restart-window');
  if (window !== undefined) policy.Window = window;
  return policy;
}

/** `--mode` and `--replicas` (`--max-concurrent` for jobs), with docker's refusals. */
function serviceModeFrom(args: ParsedArgs): ServiceMode {
  const mode = str(args, 'mode') ?? 'replicated';
  const replicas = num(args, 'replicas');
  const maxConcurrent = num(args, 'max-concurrent');
  if (replicas !== undefined && mode !== 'replicated' && mode !== 'replicated-job') throw invalidArgument('replicas can only be used with replicated or replicated-job mode');
  if (maxConcurrent !== undefined && mode !== 'replicated-job') throw invalidArgument('max-concurrent can only be used with replicated-job mode');
  switch (mode) {
    case 'replicated':
      return { Replicated: { Replicas: replicas ?? 1 } };
    case 'global':
      return { Global: {} };
    case 'replicated-job': {
      const total = replicas ?? 1;
      return { ReplicatedJob: { MaxConcurrent: maxConcurrent ?? total, TotalCompletions: total } };
    }
    case 'global-job':
      return { GlobalJob: {} };
    default:
      throw invalidArgument(`Unknown mode: ${mode}, only replicated and global supported`);
  }
}

/** `--limit-*` and `--reserve-*` over `base`. */
function resourcesFrom(args: ParsedArgs, base: TaskSpec['Resources'] = {}): NonNullable<TaskSpec['Resources']> {
  const limits = { ...base.Limits };
  const reservations = { ...base.Reservations };
  const set = <K extends string>(target: Partial<Record<K, number>>, key: K, value: number | undefined): void => {
    if (value !== undefined) target[key] = value;
  };
  set(limits, 'NanoCPUs', nanoCpusFlag(args, 'limit-cpu'));
  set(limits, 'MemoryBytes', bytesFlag(args, 'limit-memory'));
  set(limits, 'Pids', num(args, 'limit-pids'));
  set(reservations, 'NanoCPUs', nanoCpusFlag(args, 'reserve-cpu'));
  set(reservations, 'MemoryBytes', bytesFlag(args, 'reserve-memory'));
  return { Limits: limits, Reservations: reservations };
}

/** docker's refusal of Windows-only and generic-resource options ctr has no equivalent of. */
function refuseUnsupported(args: ParsedArgs): void {
  if (str(args, 'credential-spec') !== undefined) throw invalidArgument('--credential-spec is for Windows services: ctr runs Linux containers only');
  if (anyGiven(args, ['generic-resource', 'generic-resource-add', 'generic-resource-rm'])) throw invalidArgument('generic resources are not supported: ctr has no node resources to advertise');
}

/** The ContainerSpec fields every service flag sets (create's from nothing, update's over the current). */
function applyContainerFlags(args: ParsedArgs, spec: ContainerSpec): void {
  const text = (flag: string, key: 'Hostname' | 'Dir' | 'User' | 'StopSignal' | 'Isolation'): void => {
    const value = str(args, flag);
    if (value !== undefined) spec[key] = value;
  };
  text('hostname', 'Hostname');
  text('workdir', 'Dir');
  text('user', 'User');
  text('stop-signal', 'StopSignal');
  text('isolation', 'Isolation');
  const entrypoint = str(args, 'entrypoint');
  if (entrypoint !== undefined) spec.Command = shellWords(entrypoint);
  const grace = duration(args, 'stop-grace-period');
  if (grace !== undefined) spec.StopGracePeriod = grace;
  for (const [flag, key] of [['tty', 'TTY'], ['read-only', 'ReadOnly'], ['init', 'Init']] as const) {
    const value = args.flags[flag];
    if (typeof value === 'boolean') spec[key] = value;
  }
  const oom = num(args, 'oom-score-adj');
  if (oom !== undefined) spec.OomScoreAdj = oom;
  const health = healthcheckFrom(args);
  if (health) spec.Healthcheck = health;
}

/** `--log-driver`/`--log-opt` over `base`. */
function logDriverFrom(args: ParsedArgs, base: TaskSpec['LogDriver']): TaskSpec['LogDriver'] {
  const name = str(args, 'log-driver');
  if (name === undefined) return base;
  const options = keyValues(list(args, 'log-opt'));
  return { Name: name, ...(Object.keys(options).length > 0 ? { Options: options } : {}) };
}

/** docker's `service create` spec from its flags (opts.ToService): what was not given is left to the swarm's defaults. */
export async function createSpec(args: ParsedArgs, swarm: SwarmApi, env: NodeJS.ProcessEnv): Promise<ServiceSpec> {
  refuseUnsupported(args);
  const [image, ...command] = args.positionals as [string, ...string[]];
  const mode = serviceModeFrom(args);
  const job = mode.ReplicatedJob !== undefined || mode.GlobalJob !== undefined;
  const condition = str(args, 'restart-condition');
  if (job && condition === 'any') throw invalidArgument("jobs may not have restart condition 'any'");
  if (job && anyGiven(args, ['update-parallelism', 'update-delay', 'update-monitor', 'update-failure-action', 'update-max-failure-ratio', 'update-order'])) {
    throw invalidArgument('update configuration is not supported for jobs');
  }
  const container: ContainerSpec = { Image: image };
  const labels = keyValues(list(args, 'container-label'));
  if (Object.keys(labels).length > 0) container.Labels = labels;
  if (command.length > 0) container.Args = command;
  const environment = await envOptions(args, env);
  if (environment.length > 0) container.Env = environment;
  const groups = list(args, 'group');
  if (groups.length > 0) container.Groups = groups;
  const mounts = list(args, 'mount').map((value) => parseMount(value) as Mount);
  if (mounts.length > 0) container.Mounts = mounts;
  container.DNSConfig = {
    ...(list(args, 'dns').length > 0 ? { Nameservers: list(args, 'dns') } : {}),
    ...(list(args, 'dns-search').length > 0 ? { Search: list(args, 'dns-search') } : {}),
    ...(list(args, 'dns-option').length > 0 ? { Options: list(args, 'dns-option') } : {}),
  };
  const hosts = list(args, 'host').map(swarmHost);
  if (hosts.length > 0) container.Hosts = hosts;
  const sysctls = keyValues(list(args, 'sysctl'));
  if (Object.keys(sysctls).length > 0) container.Sysctls = sysctls;
  if (list(args, 'cap-add').length > 0) container.CapabilityAdd = list(args, 'cap-add');
  if (list(args, 'cap-drop').length > 0) container.CapabilityDrop = list(args, 'cap-drop');
  const ulimits = ulimitsFrom(list(args, 'ulimit'));
  if (ulimits.length > 0) container.Ulimits = ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard }));
  applyContainerFlags(args, container);
  const secrets = await secretReferences(swarm, list(args, 'secret'), 'secret');
  if (secrets.length > 0) container.Secrets = secrets;
  const configs = await configReferences(swarm, list(args, 'config'), 'config');
  if (configs.length > 0) container.Configs = configs;

  const constraints = list(args, 'constraint');
  const preferences = list(args, 'placement-pref').map((value) => placementPreference(value, 'placement-pref'));
  const maxReplicas = num(args, 'replicas-max-per-node');
  const task: TaskSpec = {
    ContainerSpec: container,
    Resources: resourcesFrom(args),
    Placement: {
      ...(constraints.length > 0 ? { Constraints: constraints } : {}),
      ...(preferences.length > 0 ? { Preferences: preferences } : {}),
      ...(maxReplicas ? { MaxReplicas: maxReplicas } : {}),
    },
    ForceUpdate: 0,
  };
  const restart = restartPolicyFrom(args, job && condition === undefined ? { Condition: 'on-failure' } : undefined);
  if (restart) task.RestartPolicy = restart;
  const networks = list(args, 'network').map((value) => parseNetwork(value));
  if (networks.length > 0) task.Networks = networks;
  const log = logDriverFrom(args, undefined);
  if (log) task.LogDriver = log;

  const ports = list(args, 'publish').flatMap((value) => parsePublish(value));
  const endpoint: EndpointSpec = { Mode: endpointMode(str(args, 'endpoint-mode') ?? 'vip'), ...(ports.length > 0 ? { Ports: ports } : {}) };
  const spec: ServiceSpec = { Name: str(args, 'name') ?? '', Labels: keyValues(list(args, 'label')), TaskTemplate: task, Mode: mode, EndpointSpec: endpoint };
  const update = updateConfigFrom(args, 'update', undefined);
  if (update) spec.UpdateConfig = update;
  const rollback = updateConfigFrom(args, 'rollback', undefined);
  if (rollback) spec.RollbackConfig = rollback;
  return spec;
}

function endpointMode(mode: string): 'vip' | 'dnsrr' {
  const lower = mode.toLowerCase();
  if (lower !== 'vip' && lower !== 'dnsrr') throw invalidArgument(`invalid endpoint mode: ${mode}: must be "vip" or "dnsrr"`);
  return lower;
}

/** A `KEY=value` entry's key (an env variable's, a label's). */
const keyOf = (entry: string): string => entry.split('=', 1)[0] as string;

/** `list` with the `-add` values added (replacing one of the same key) and the `-rm` keys removed. */
function addRemove<T>(current: readonly T[] | undefined, added: readonly T[], removed: readonly string[], key: (item: T) => string): T[] {
  const out = (current ?? []).filter((item) => !removed.includes(key(item)));
  for (const item of added) {
    const at = out.findIndex((existing) => key(existing) === key(item));
    if (at === -1) out.push(item);
    else out[at] = item;
  }
  return out;
}

/** A map with `-add` entries set and `-rm` keys dropped. */
function mapAddRemove(current: Record<string, string> | undefined, added: readonly string[], removed: readonly string[]): Record<string, string> {
  const out = { ...current, ...keyValues([...added]) };
  for (const key of removed) delete out[key];
  return out;
}

/** A published port's identity for `--publish-rm` (`80`, `80/udp`, or the long form's target). */
function portKey(port: PortConfig): string {
  return `${port.TargetPort}/${port.Protocol}`;
}

function publishRemovals(values: readonly string[]): string[] {
  return values.map((value) => {
    if (value.includes('=')) {
      const [port] = parsePublish(value, 'publish-rm');
      return portKey(port as PortConfig);
    }
    const [target, protocol = 'tcp'] = value.split('/') as [string, string | undefined];
    const ports = target.includes(':') ? target.slice(target.lastIndexOf(':') + 1) : target;
    return `${ports}/${protocol}`;
  });
}

/** docker's `service update` spec: the current one with the flags applied (updateService in docker's update.go). */
export async function updatedSpec(args: ParsedArgs, swarm: SwarmApi, current: Service): Promise<ServiceSpec> {
  refuseUnsupported(args);
  const spec: ServiceSpec = structuredClone(current.Spec);
  const task = spec.TaskTemplate;
  const container: ContainerSpec = (task.ContainerSpec ??= { Image: '' });
  const image = str(args, 'image');
  if (image !== undefined) container.Image = image;
  const commandArgs = str(args, 'args');
  if (commandArgs !== undefined) container.Args = shellWords(commandArgs);
  applyContainerFlags(args, container);

  if (anyGiven(args, ['label-add', 'label-rm'])) spec.Labels = mapAddRemove(spec.Labels, list(args, 'label-add'), list(args, 'label-rm'));
  if (anyGiven(args, ['container-label-add', 'container-label-rm'])) container.Labels = mapAddRemove(container.Labels, list(args, 'container-label-add'), list(args, 'container-label-rm'));
  if (anyGiven(args, ['env-add', 'env-rm'])) container.Env = addRemove(container.Env, list(args, 'env-add'), list(args, 'env-rm'), keyOf);
  if (anyGiven(args, ['mount-add', 'mount-rm'])) {
    container.Mounts = addRemove(container.Mounts, list(args, 'mount-add').map((value) => parseMount(value) as Mount), list(args, 'mount-rm'), (m) => m.Target);
  }
  if (anyGiven(args, ['group-add', 'group-rm'])) container.Groups = addRemove(container.Groups, list(args, 'group-add'), list(args, 'group-rm'), (g) => g);
  if (anyGiven(args, ['host-add', 'host-rm'])) container.Hosts = addRemove(container.Hosts, list(args, 'host-add').map(swarmHost), list(args, 'host-rm').map(swarmHost), (h) => h);
  if (anyGiven(args, ['sysctl-add', 'sysctl-rm'])) container.Sysctls = mapAddRemove(container.Sysctls, list(args, 'sysctl-add'), list(args, 'sysctl-rm'));
  if (anyGiven(args, ['ulimit-add', 'ulimit-rm'])) {
    const added = ulimitsFrom(list(args, 'ulimit-add')).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard }));
    container.Ulimits = addRemove(container.Ulimits, added, list(args, 'ulimit-rm'), (u) => u.Name);
  }
  if (anyGiven(args, ['cap-add', 'cap-drop'])) {
    // docker's updateCapabilities: a capability added is no longer dropped, and the other way round.
    const add = list(args, 'cap-add');
    const drop = list(args, 'cap-drop');
    container.CapabilityAdd = addRemove(container.CapabilityAdd, add, drop, (c) => c);
    container.CapabilityDrop = addRemove(container.CapabilityDrop, drop, add, (c) => c);
  }
  const dns = container.DNSConfig ?? {};
  if (anyGiven(args, ['dns-add', 'dns-rm'])) dns.Nameservers = addRemove(dns.Nameservers, list(args, 'dns-add'), list(args, 'dns-rm'), (d) => d);
  if (anyGiven(args, ['dns-search-add', 'dns-search-rm'])) dns.Search = addRemove(dns.Search, list(args, 'dns-search-add'), list(args, 'dns-search-rm'), (d) => d);
  if (anyGiven(args, ['dns-option-add', 'dns-option-rm'])) dns.Options = addRemove(dns.Options, list(args, 'dns-option-add'), list(args, 'dns-option-rm'), (d) => d);
  container.DNSConfig = dns;
  if (anyGiven(args, ['secret-add', 'secret-rm'])) {
    container.Secrets = addRemove(container.Secrets, await secretReferences(swarm, list(args, 'secret-add'), 'secret-add'), list(args, 'secret-rm'), (s) => s.SecretName);
  }
  if (anyGiven(args, ['config-add', 'config-rm'])) {
    container.Configs = addRemove(container.Configs, await configReferences(swarm, list(args, 'config-add'), 'config-add'), list(args, 'config-rm'), (c) => c.ConfigName);
  }

  if (anyGiven(args, ['network-add', 'network-rm'])) {
    task.Networks = addRemove(task.Networks, list(args, 'network-add').map((value) => parseNetwork(value, 'network-add')), list(args, 'network-rm'), (n) => n.Target);
  }
  if (anyGiven(args, ['constraint-add', 'constraint-rm', 'placement-pref-add', 'placement-pref-rm', 'replicas-max-per-node'])) {
    const placement = (task.Placement ??= {});
    placement.Constraints = addRemove(placement.Constraints, list(args, 'constraint-add'), list(args, 'constraint-rm'), (c) => c);
    const removedPrefs = list(args, 'placement-pref-rm').map((value) => placementPreference(value, 'placement-pref-rm').Spread.SpreadDescriptor);
    const addedPrefs = list(args, 'placement-pref-add').map((value) => placementPreference(value, 'placement-pref-add'));
    placement.Preferences = addRemove(placement.Preferences, addedPrefs, removedPrefs, (p) => p.Spread?.SpreadDescriptor ?? '');
    const max = num(args, 'replicas-max-per-node');
    if (max !== undefined) placement.MaxReplicas = max;
  }
  if (anyGiven(args, ['limit-cpu', 'limit-memory', 'limit-pids', 'reserve-cpu', 'reserve-memory'])) task.Resources = resourcesFrom(args, task.Resources);
  const restart = restartPolicyFrom(args, task.RestartPolicy);
  if (restart) task.RestartPolicy = restart;
  const log = logDriverFrom(args, task.LogDriver);
  if (log) task.LogDriver = log;
  if (bool(args, 'force')) task.ForceUpdate = (task.ForceUpdate ?? 0) + 1;

  const replicas = num(args, 'replicas');
  if (replicas !== undefined) {
    if (spec.Mode.Replicated) spec.Mode.Replicated.Replicas = replicas;
    else if (spec.Mode.ReplicatedJob) spec.Mode.ReplicatedJob.TotalCompletions = replicas;
    else throw invalidArgument('replicas can only be used with replicated or replicated-job mode');
  }
  const maxConcurrent = num(args, 'max-concurrent');
  if (maxConcurrent !== undefined) {
    if (!spec.Mode.ReplicatedJob) throw invalidArgument('max-concurrent can only be used with replicated-job mode');
    spec.Mode.ReplicatedJob.MaxConcurrent = maxConcurrent;
  }
  const update = updateConfigFrom(args, 'update', spec.UpdateConfig);
  if (update) spec.UpdateConfig = update;
  const rollback = updateConfigFrom(args, 'rollback', spec.RollbackConfig);
  if (rollback) spec.RollbackConfig = rollback;

  const endpoint: EndpointSpec = { ...spec.EndpointSpec };
  const mode = str(args, 'endpoint-mode');
  if (mode !== undefined) endpoint.Mode = endpointMode(mode);
  if (anyGiven(args, ['publish-add', 'publish-rm'])) {
    const added = list(args, 'publish-add').flatMap((value) => parsePublish(value, 'publish-add'));
    endpoint.Ports = addRemove(endpoint.Ports, added, publishRemovals(list(args, 'publish-rm')), portKey);
  }
  spec.EndpointSpec = endpoint;
  return spec;
}

// ---------------------------------------------------------------- waiting

/** docker's CLI watches a service whose tasks all run this long, unless its UpdateConfig names a Monitor. */
const DEFAULT_VERIFY_NS = 5_000_000_000;
/** How often docker's CLI looks again while it verifies. */
const VERIFY_POLL_MS = 200;

/**
 * Wait until the service converges and stays so, showing docker's progress on stdout (nothing
 * with `-q`), as docker's ServiceProgress does: once every task runs, they are watched for the
 * service's update monitor period (`verify: Waiting 5 seconds…`); a task failing meanwhile
 * (`verify: Detected task failure`) starts the wait again once they all run anew, and only a
 * whole quiet period ends it (a job needs none: it shows docker's job progress and ends with
 * `job complete` once its tasks completed). A paused update or rollback is docker's error
 * (`service update paused: …`), exit 1. A service that never converges is waited on until ^C,
 * as docker waits.
 */
export async function waitOnService(swarm: SwarmApi, id: string, io: Io, quiet: boolean): Promise<void> {
  /** Made at the first look at the service, as docker picks its progress for the service's mode then. */
  let view: ConvergeView | undefined;
  const controller = new AbortController();
  // docker's ^C while waiting: the change goes on in the background; say how to follow it.
  const interrupted = (): void => controller.abort();
  process.once('SIGINT', interrupted);
  let monitorMs = DEFAULT_VERIFY_NS / 1e6;
  let job = false;
  /** When every task was first seen running, while they all still run. */
  let allRunningSince: number | undefined;
  const onProgress = (progress: ConvergeProgress): void => {
    view?.update(progress);
    if (job) return;
    if (progress.running !== progress.desired) {
      if (allRunningSince !== undefined) view?.taskFailed();
      allRunningSince = undefined;
      return;
    }
    allRunningSince ??= Date.now();
    const waitMs = monitorMs - (Date.now() - allRunningSince);
    if (waitMs >= 0) view?.verifying(Math.max(1, Math.ceil(waitMs / 1000)));
  };
  try {
    let outcome: ConvergeProgress | undefined;
    for (;;) {
      const { Spec } = await swarm.inspectService(id);
      if (!quiet) view ??= new ConvergeView(io.stdout, id, Spec.Mode);
      monitorMs = (Spec.UpdateConfig?.Monitor || DEFAULT_VERIFY_NS) / 1e6;
      job = Boolean(Spec.Mode.ReplicatedJob || Spec.Mode.GlobalJob);
      if (outcome?.converged && allRunningSince !== undefined && Date.now() - allRunningSince >= monitorMs) return view?.finish(outcome);
      outcome = await swarm.converge(id, { signal: controller.signal, onProgress });
      const state = outcome.update?.State;
      if (state === 'paused') throw invalidArgument(`service update paused: ${outcome.update?.Message ?? ''}`);
      if (state === 'rollback_paused') throw invalidArgument(`service rollback paused: ${outcome.update?.Message ?? ''}`);
      if (outcome.converged && job) return view?.jobComplete();
      await delay(VERIFY_POLL_MS, undefined, { signal: controller.signal });
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    if (!quiet && allRunningSince === undefined) io.stdout.write(`Operation continuing in background.\nUse \`ctr service ps ${id}\` to check progress.\n`);
  } finally {
    process.off('SIGINT', interrupted);
  }
}

// ---------------------------------------------------------------- commands

/** A command run against the swarm, the daemon's connection let go of after it. */
export function swarmCommand(command: Omit<Command, 'run'> & { run(args: ParsedArgs, io: Io, swarm: SwarmApi): Promise<number> }): Command {
  return {
    ...command,
    async run(args, io) {
      try {
        return await command.run(args, io, await getSwarm());
      } finally {
        closeSwarm();
      }
    },
  };
}

/**
 * What `create`, `update` and `rollback` print once the swarm took the spec: its warnings, the
 * service as the user named it, then (unless `--detach`) its convergence.
 */
async function announce(args: ParsedArgs, io: Io, swarm: SwarmApi, id: string, shown: string, warnings: readonly string[] | undefined): Promise<number> {
  for (const warning of warnings ?? []) io.stderr.write(`${warning}\n`);
  println(io, shown);
  if (!bool(args, 'detach')) await waitOnService(swarm, id, io, bool(args, 'quiet'));
  return 0;
}

/** A service by ID, name or ID prefix, as the swarm resolves it. */
async function serviceNamed(swarm: SwarmApi, name: string): Promise<Service> {
  return swarm.inspectService(name);
}

const create = swarmCommand({
  name: 'create',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create a new service',
  flags: CREATE_FLAGS,
  stopAtPositional: true,
  args: [1, Infinity],
  async run(args, io, swarm) {
    const spec = await createSpec(args, swarm, io.env);
    const created = await swarm.createService(spec, {
      ...(bool(args, 'with-registry-auth') ? { registryAuth: await registryAuthFor(spec, io.env) } : {}),
    });
    return announce(args, io, swarm, created.ID, created.ID, created.Warnings);
  },
});

/** `--with-registry-auth`: the caller's credential for the image's registry, as an X-Registry-Auth value. */
async function registryAuthFor(spec: ServiceSpec, env: NodeJS.ProcessEnv): Promise<string> {
  const { registryAuth } = require('../registry-auth') as typeof import('../registry-auth');
  const image = spec.TaskTemplate.ContainerSpec?.Image ?? '';
  const { parseNormalizedReference } = require('@ctr/image') as typeof import('@ctr/image');
  const auth = await registryAuth(env)(parseNormalizedReference(image).domain);
  return auth ? Buffer.from(JSON.stringify(auth)).toString('base64url') : '';
}

const update = swarmCommand({
  name: 'update',
  usage: '[OPTIONS] SERVICE',
  description: 'Update a service',
  flags: UPDATE_FLAGS,
  args: [1, 1],
  async run(args, io, swarm) {
    const name = args.positionals[0] as string;
    const current = await serviceNamed(swarm, name);
    const rollback = bool(args, 'rollback');
    const spec = rollback ? current.Spec : await updatedSpec(args, swarm, current);
    const result = await swarm.updateService(current.ID, current.Version.Index, spec, {
      ...(rollback ? { rollback: 'previous' as const } : {}),
      ...(bool(args, 'with-registry-auth') ? { registryAuth: await registryAuthFor(spec, io.env) } : {}),
    });
    return announce(args, io, swarm, current.ID, name, result.Warnings);
  },
});

const rollback = swarmCommand({
  name: 'rollback',
  usage: '[OPTIONS] SERVICE',
  description: "Revert changes to a service's configuration",
  flags: [
    { name: 'detach', short: 'd', type: 'bool', description: 'Exit immediately instead of waiting for the service to converge' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress progress output' },
  ],
  args: [1, 1],
  async run(args, io, swarm) {
    const name = args.positionals[0] as string;
    const current = await serviceNamed(swarm, name);
    const result = await swarm.updateService(current.ID, current.Version.Index, current.Spec, { rollback: 'previous' });
    return announce(args, io, swarm, current.ID, name, result.Warnings);
  },
});

const scale = swarmCommand({
  name: 'scale',
  usage: 'SERVICE=REPLICAS [SERVICE=REPLICAS...]',
  description: 'Scale one or multiple replicated services',
  flags: [{ name: 'detach', short: 'd', type: 'bool', description: 'Exit immediately instead of waiting for the service to converge' }],
  args: [1, Infinity],
  async run(args, io, swarm) {
    const wanted = args.positionals.map((arg) => {
      const [name, count] = arg.split('=', 2) as [string, string | undefined];
      if (count === undefined || !/^\d+$/.test(count) || !name) {
        throw invalidArgument(`Invalid scale specifier '${arg}'.\nSee 'ctr service scale --help'.\n\nUsage:  ctr service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]\n\nScale one or multiple replicated services`);
      }
      return { name, replicas: Number(count) };
    });
    const scaled: string[] = [];
    const errors: string[] = [];
    for (const { name, replicas } of wanted) {
      try {
        const service = await serviceNamed(swarm, name);
        const spec = structuredClone(service.Spec);
        if (spec.Mode.Replicated) spec.Mode.Replicated.Replicas = replicas;
        else if (spec.Mode.ReplicatedJob) spec.Mode.ReplicatedJob.TotalCompletions = replicas;
        else throw invalidArgument('scale can only be used with replicated or replicated-job mode');
        const result = await swarm.updateService(service.ID, service.Version.Index, spec);
        for (const warning of result.Warnings ?? []) io.stderr.write(`${warning}\n`);
        println(io, `${name} scaled to ${replicas}`);
        scaled.push(service.ID);
      } catch (error) {
        errors.push(errorLine(error));
      }
    }
    if (!bool(args, 'detach')) {
      for (const id of scaled) {
        try {
          await waitOnService(swarm, id, io, false);
        } catch (error) {
          errors.push(errorLine(error));
        }
      }
    }
    for (const line of errors) io.stderr.write(`${line}\n`);
    return errors.length > 0 ? 1 : 0;
  },
});

/** `-f`, `--format` and `-q` of `service ls`, `node ls`, `secret ls` and `config ls`. */
export const SWARM_LIST_FLAGS: FlagSpec[] = [
  filterFlag('Filter output based on conditions provided', { short: true }),
  { name: 'format', type: 'string', description: 'Format output using a custom template' },
  { name: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
];

const ls = swarmCommand({
  name: 'ls',
  aliases: ['ctr service list'],
  usage: '[OPTIONS]',
  description: 'List services',
  flags: SWARM_LIST_FLAGS,
  args: [0, 0],
  async run(args, io, swarm) {
    const services = await swarm.services(parseFilters(list(args, 'filter')), { status: true });
    io.stdout.write(formatServices(serviceListFormat(str(args, 'format') || 'table', bool(args, 'quiet')), services));
    return 0;
  },
});

/** `-f`/`--format` and `--pretty` of `service inspect`, `node inspect`, `secret inspect` and `config inspect`. */
export const INSPECT_FLAGS: FlagSpec[] = [
  { name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' },
  { name: 'pretty', type: 'bool', description: 'Print the information in a human friendly format' },
];

const inspect = swarmCommand({
  name: 'inspect',
  usage: '[OPTIONS] SERVICE [SERVICE...]',
  description: 'Display detailed information on one or more services',
  flags: INSPECT_FLAGS,
  args: [1, Infinity],
  async run(args, io, swarm) {
    return inspectOrPretty(args, io, (name) => serviceNamed(swarm, name), async (services) => prettyServices(services, await networkNames(services)));
  },
});

/** The names of the networks the services attach to, by ID, as docker's pretty inspect shows them. */
async function networkNames(services: readonly Service[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  if (!services.some((s) => (s.Spec.TaskTemplate.Networks ?? []).length > 0)) return names;
  const networks = await (await getEngine()).networks({});
  for (const network of networks) names.set(network.Id, network.Name);
  return names;
}

/**
 * `inspect` of each name: as JSON or `--format`, or with `--pretty` what can be had shown through
 * `render`, as docker's pretty printers stop at the first that cannot (its error then, exit 1).
 */
export async function inspectOrPretty<T>(args: ParsedArgs, io: Io, fetch: (name: string) => Promise<T>, render: (items: T[]) => string | Promise<string>): Promise<number> {
  const format = str(args, 'format');
  if (!bool(args, 'pretty')) return inspectEach(args.positionals, io, format, fetch);
  if (format) throw invalidArgument('--format is incompatible with human friendly format');
  const items: T[] = [];
  try {
    for (const name of args.positionals) items.push(await fetch(name));
  } catch (error) {
    if (items.length > 0) io.stdout.write(await render(items));
    throw error;
  }
  io.stdout.write(await render(items));
  return 0;
}

/** `--no-resolve`, `--no-trunc`, `-q`, `--format` and `-f` of `service ps` and `node ps`. */
export const TASK_LIST_FLAGS: FlagSpec[] = [
  filterFlag('Filter output based on conditions provided', { short: true }),
  { name: 'format', type: 'string', description: 'Pretty-print tasks using a Go template' },
  { name: 'no-resolve', type: 'bool', description: 'Do not map IDs to Names' },
  { name: 'no-trunc', type: 'bool', description: 'Do not truncate output' },
  { name: 'quiet', short: 'q', type: 'bool', description: 'Only display task IDs' },
];

/** How the task printer names services and nodes: their names, unless `--no-resolve`. */
async function taskNames(swarm: SwarmApi, resolve: boolean): Promise<TaskNames> {
  if (!resolve) return { service: (id) => id, node: (id) => id };
  const [services, nodes] = await Promise.all([swarm.services(), swarm.nodes()]);
  const serviceNames = new Map(services.map((s) => [s.ID, s.Spec.Name]));
  const hostnames = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
  return { service: (id) => serviceNames.get(id) ?? id, node: (id) => hostnames.get(id) ?? id };
}

/** `service ps`, `node ps` and `stack ps`: `tasks` through docker's task printer. */
export async function printTasks(args: ParsedArgs, io: Io, swarm: SwarmApi, tasks: readonly Task[]): Promise<number> {
  const names = await taskNames(swarm, !bool(args, 'no-resolve'));
  const format = taskFormat(str(args, 'format') || 'table', bool(args, 'quiet'));
  io.stdout.write(formatTasks(format, tasks, names, !bool(args, 'no-trunc')));
  return 0;
}

const ps = swarmCommand({
  name: 'ps',
  usage: '[OPTIONS] SERVICE [SERVICE...]',
  description: 'List the tasks of one or more services',
  flags: TASK_LIST_FLAGS,
  args: [1, Infinity],
  async run(args, io, swarm) {
    const filters = parseFilters(list(args, 'filter'));
    const ids: string[] = [];
    const missing: string[] = [];
    for (const name of args.positionals) {
      try {
        ids.push((await serviceNamed(swarm, name)).ID);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        missing.push(name);
      }
    }
    if (missing.length > 0) throw notFound(`no such service: ${missing.join('\n')}`);
    if (filters.node) filters.node = await Promise.all(filters.node.map(async (node) => (node === 'self' ? (await swarm.info()).NodeID : node)));
    return printTasks(args, io, swarm, await swarm.tasks({ ...filters, service: ids }));
  },
});

const rm = swarmCommand({
  name: 'rm',
  aliases: ['ctr service remove'],
  usage: 'SERVICE [SERVICE...]',
  description: 'Remove one or more services',
  flags: [],
  args: [1, Infinity],
  async run(args, io, swarm) {
    return forEachArg(args.positionals, io, async (name) => {
      await swarm.removeService((await serviceNamed(swarm, name)).ID);
    }, { errorsLast: true });
  },
});

const logs = swarmCommand({
  name: 'logs',
  usage: '[OPTIONS] SERVICE|TASK',
  description: 'Fetch the logs of a service or task',
  flags: [
    { name: 'details', type: 'bool', description: 'Show extra details provided to logs' },
    { name: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
    { name: 'no-resolve', type: 'bool', description: 'Do not map IDs to Names in output' },
    { name: 'no-task-ids', type: 'bool', description: 'Do not include task IDs in output' },
    { name: 'no-trunc', type: 'bool', description: 'Do not truncate output' },
    { name: 'raw', type: 'bool', description: 'Do not neatly format logs' },
    { name: 'since', type: 'string', description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'tail', short: 'n', type: 'string', description: 'Number of lines to show from the end of the logs (default "all")' },
    { name: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
  ],
  args: [1, 1],
  async run(args, io, swarm) {
    const name = args.positionals[0] as string;
    const controller = new AbortController();
    const options = {
      follow: bool(args, 'follow'),
      timestamps: bool(args, 'timestamps'),
      details: bool(args, 'details'),
      tail: str(args, 'tail') ?? 'all',
      signal: controller.signal,
      ...(str(args, 'since') !== undefined ? { since: str(args, 'since') as string } : {}),
    };
    let padding = 1;
    let lines: AsyncIterable<import('@ctr/swarm').ServiceLogLine>;
    try {
      const service = await serviceNamed(swarm, name);
      padding = String(service.Spec.Mode.Replicated?.Replicas ?? 1).length;
      lines = swarm.serviceLogs(service.ID, options);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const task = await swarm.inspectTask(name);
      lines = swarm.taskLogs(task.ID, options);
    }
    const raw = bool(args, 'raw');
    const resolve = !bool(args, 'no-resolve');
    const names = raw ? undefined : await taskNames(swarm, resolve);
    const slots = raw ? new Map<string, string>() : new Map((await swarm.tasks({})).map((t) => [t.ID, t.Slot ? String(t.Slot) : t.NodeID]));
    const interrupted = (): void => controller.abort();
    process.once('SIGINT', interrupted);
    try {
      for await (const entry of lines) {
        const stream = entry.stream === 'stderr' ? io.stderr : io.stdout;
        const time = options.timestamps && entry.timestamp ? `${entry.timestamp} ` : '';
        if (!names) {
          stream.write(`${time}${entry.line}\n`);
          continue;
        }
        const slot = slots.get(entry.task.id) ?? entry.task.name.split('.')[1] ?? '';
        let taskName = `${names.service(entry.task.serviceId)}.${slot}`;
        if (!bool(args, 'no-task-ids')) taskName += `.${bool(args, 'no-trunc') ? entry.task.id : entry.task.id.slice(0, 12)}`;
        const pad = ' '.repeat(Math.max(0, padding - slot.length));
        stream.write(`${taskName}${pad}@${names.node(entry.task.nodeId)}    | ${time}${entry.line}\n`);
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      process.off('SIGINT', interrupted);
    }
    return 0;
  },
});

export const serviceCommands: Command[] = [create, inspect, logs, ls, ps, rm, rollback, scale, update];

