import { readFile } from 'node:fs/promises';
import { parseBytes } from '@ctr/engine';
import { CtrError, isCtrError } from '@ctr/errors';
import type {
  ConfigReference, ConfigSpec, ContainerSpec, EndpointSpec, HealthConfig, Mount, NetworkAttachmentConfig, PortConfig, RestartPolicy,
  SecretReference, SecretSpec, ServiceMode, ServiceSpec, TaskSpec, UpdateConfig,
} from '@ctr/swarm';
import { parseDuration } from './duration';
import { isPlainObject } from './interpolate';
import type { ComposeProject, FileObjectConfig, ServiceConfig, ServiceFileReference, ServiceVolume } from './model';

/**
 * A compose project as `docker stack deploy` turns it into swarm objects (docker-cli's
 * cli/compose/convert): every name scoped by the stack (`<stack>_<name>`, unless the file
 * gives one with `name:`), every object labelled with the stack's namespace, services as
 * ServiceSpecs. Pure apart from reading secret and config files.
 */

/** The label that makes an object part of a stack: `stack ls/ps/services/rm` find the stack's objects by it. */
export const STACK_NAMESPACE_LABEL = 'com.docker.stack.namespace';
/** The image as the file names it, kept on the service so a redeploy can tell whether the image changed. */
export const STACK_IMAGE_LABEL = 'com.docker.stack.image';

/** The overlay driver: a stack's networks span the swarm unless the file names another driver. */
const DEFAULT_NETWORK_DRIVER = 'overlay';

/** A network to create, in moby's NetworkCreateRequest shape (what `POST /networks/create` takes). */
export interface StackNetworkCreate {
  Name: string;
  Driver: string;
  Labels: Record<string, string>;
  Options?: Record<string, string>;
  Internal?: boolean;
  Attachable?: boolean;
  IPAM?: { Driver?: string; Config: Array<{ Subnet?: string }> };
}

/** One compose service as a swarm service: its key in the file and the spec `service create` takes. */
export interface StackService {
  /** The compose key (`web`); the spec's Name is scoped (`<stack>_web`). */
  key: string;
  spec: ServiceSpec;
}

/** Everything `stack deploy` makes of a project, in the order it makes it. */
export interface StackObjects {
  namespace: string;
  /** Networks the services use that the stack creates, sorted by name. */
  networks: StackNetworkCreate[];
  /** Networks declared `external`: they must exist, swarm-scoped, before the deploy. */
  externalNetworks: string[];
  secrets: SecretSpec[];
  configs: ConfigSpec[];
  /**
   * Services in the file's order. Their secret and config references carry names only:
   * the IDs are the swarm's, looked up once the objects exist (`resolveFileReferences`).
   */
  services: StackService[];
}

/** Options compose runs but swarm mode does not: docker prints them and deploys the rest. */
const UNSUPPORTED = ['build', 'cgroupns_mode', 'cgroup_parent', 'devices', 'domainname', 'external_links', 'ipc', 'links', 'mac_address', 'network_mode', 'pid', 'privileged', 'restart', 'security_opt', 'shm_size', 'userns_mode'];

/** Options removed from the v3 format, with the reason docker prints. */
const DEPRECATED: Record<string, string> = {
  container_name: 'Setting the container name is not supported.',
  expose: "Exposing ports is unnecessary - services on the same network can access each other's containers on any port.",
};

/** Options docker refuses the whole file for, with the advice it gives. */
const FORBIDDEN: Record<string, string> = {
  extends: 'Support for `extends` is not implemented yet.',
  volume_driver: 'Instead of setting the volume driver on the service, define a volume using the top-level `volumes` option and specify the driver there.',
  volumes_from:
    'To share a volume between services, define it using the top-level `volumes` option and reference it from each service that shares it using the service-level `volumes` option.',
  cpu_quota: 'Set resource limits using deploy.resources',
  cpu_shares: 'Set resource limits using deploy.resources',
  cpuset: 'Set resource limits using deploy.resources',
  mem_limit: 'Set resource limits using deploy.resources',
  memswap_limit: 'Set resource limits using deploy.resources',
};

function serviceTrees(file: Record<string, unknown>): Array<Record<string, unknown>> {
  return isPlainObject(file.services) ? Object.values(file.services).filter(isPlainObject) : [];
}

/** `name: description` lines, sorted and separated by a blank line, as docker's propertyWarnings. */
function propertyLines(properties: Map<string, string>): string {
  return [...properties].map(([name, description]) => `${name}: ${description}`).sort().join('\n\n');
}

function usedProperties(files: ReadonlyArray<Record<string, unknown>>, table: Record<string, string>): Map<string, string> {
  const used = new Map<string, string>();
  for (const service of files.flatMap(serviceTrees)) for (const key of Object.keys(table)) if (key in service) used.set(key, table[key] as string);
  return used;
}

/**
 * What docker's stack loader says about the files as written (before merging): the
 * forbidden options refuse the deploy; the unsupported and deprecated ones are the
 * warnings it prints on stderr, word for word, and it carries on.
 */
export function stackFileWarnings(files: ReadonlyArray<Record<string, unknown>>): string[] {
  const forbidden = usedProperties(files, FORBIDDEN);
  if (forbidden.size > 0) throw new CtrError('InvalidArgument', `compose file contains unsupported options:\n\n${propertyLines(forbidden)}\n`);
  const unsupported = UNSUPPORTED.filter((key) => files.flatMap(serviceTrees).some((service) => key in service));
  const deprecated = usedProperties(files, DEPRECATED);
  const warnings: string[] = [];
  if (unsupported.length > 0) warnings.push(`Ignoring unsupported options: ${unsupported.join(', ')}\n`);
  if (deprecated.size > 0) warnings.push(`Ignoring deprecated options:\n\n${propertyLines(deprecated)}\n`);
  return warnings;
}

function scope(namespace: string, name: string): string {
  return `${namespace}_${name}`;
}

function withStackLabel(namespace: string, labels: Record<string, string> | undefined): Record<string, string> {
  return { ...labels, [STACK_NAMESPACE_LABEL]: namespace };
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (Array.isArray(value)) {
    return Object.fromEntries(value.map((entry) => String(entry)).map((entry) => {
      const equals = entry.indexOf('=');
      return equals < 0 ? [entry, ''] : [entry.slice(0, equals), entry.slice(equals + 1)];
    }));
  }
  return isPlainObject(value) ? Object.fromEntries(Object.entries(value).map(([key, v]) => [key, v === null || v === undefined ? '' : String(v)])) : undefined;
}

function nanoseconds(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  try {
    return parseDuration(String(value));
  } catch (error) {
    throw new CtrError('InvalidArgument', `${where}: ${(error as Error).message}`, { cause: error });
  }
}

function count(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CtrError('InvalidArgument', `${where} must be a non-negative integer, not ${JSON.stringify(value)}`);
  return n;
}

/** The networks the services join: each service's own, or `default` when it names none. */
function usedNetworkKeys(project: ComposeProject): string[] {
  const keys = new Set<string>();
  for (const service of Object.values(project.services)) {
    const own = Object.keys(service.networks);
    for (const key of own.length > 0 ? own : ['default']) keys.add(key);
  }
  return [...keys];
}

function networkName(project: ComposeProject, namespace: string, key: string): string {
  return project.networks[key]?.name ?? scope(namespace, key);
}

function stackNetworks(project: ComposeProject, namespace: string): Pick<StackObjects, 'networks' | 'externalNetworks'> {
  const networks: StackNetworkCreate[] = [];
  const externalNetworks: string[] = [];
  for (const key of usedNetworkKeys(project)) {
    const network = project.networks[key];
    const name = networkName(project, namespace, key);
    if (network?.external) {
      externalNetworks.push(name);
      continue;
    }
    const create: StackNetworkCreate = { Name: name, Driver: network?.driver || DEFAULT_NETWORK_DRIVER, Labels: withStackLabel(namespace, network?.labels) };
    if (network && Object.keys(network.driver_opts).length > 0) create.Options = network.driver_opts;
    if (network?.internal) create.Internal = true;
    if (network?.attachable) create.Attachable = true;
    if (network?.ipam && (network.ipam.driver || network.ipam.config.length > 0)) {
      create.IPAM = { ...(network.ipam.driver ? { Driver: network.ipam.driver } : {}), Config: network.ipam.config.map((c) => (c.subnet ? { Subnet: c.subnet } : {})) };
    }
    networks.push(create);
  }
  networks.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  return { networks, externalNetworks };
}

/** A secret's or config's content: its file, an environment variable, or inline `content`. */
async function fileObjectData(kind: 'secret' | 'config', key: string, object: FileObjectConfig, project: ComposeProject): Promise<Buffer> {
  if (object.file !== undefined) {
    return readFile(object.file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new CtrError('NotFound', `open ${object.file}: no such file or directory`, { cause: error });
      throw error;
    });
  }
  if (object.environment !== undefined) {
    const value = project.environment[object.environment];
    if (value === undefined) throw new CtrError('InvalidArgument', `environment variable ${JSON.stringify(object.environment)} for ${kind} ${JSON.stringify(key)} is not set`);
    return Buffer.from(value);
  }
  if (object.content !== undefined) return Buffer.from(object.content);
  throw new CtrError('InvalidArgument', `${kind} ${JSON.stringify(key)} has neither a file, an environment variable nor content`);
}

/** Fields of a top-level secret or config the model does not type but the loader carries as written. */
interface FileObjectExtras {
  labels?: unknown;
  driver?: unknown;
  driver_opts?: unknown;
  template_driver?: unknown;
}

async function stackSecrets(project: ComposeProject, namespace: string): Promise<SecretSpec[]> {
  const specs: SecretSpec[] = [];
  for (const [key, secret] of Object.entries(project.secrets)) {
    if (secret.external) continue;
    const extras = secret as FileObjectConfig & FileObjectExtras;
    const spec: SecretSpec = { Name: secret.name, Labels: withStackLabel(namespace, stringMap(extras.labels)) };
    if (typeof extras.driver === 'string' && extras.driver !== '') {
      // A secret driver makes the value itself: the spec carries none.
      spec.Driver = { Name: extras.driver, ...(stringMap(extras.driver_opts) ? { Options: stringMap(extras.driver_opts) } : {}) };
      spec.Data = '';
    } else {
      spec.Data = (await fileObjectData('secret', key, secret, project)).toString('base64');
    }
    if (typeof extras.template_driver === 'string' && extras.template_driver !== '') spec.Templating = { Name: extras.template_driver };
    specs.push(spec);
  }
  return specs;
}

async function stackConfigs(project: ComposeProject, namespace: string): Promise<ConfigSpec[]> {
  const specs: ConfigSpec[] = [];
  for (const [key, config] of Object.entries(project.configs)) {
    if (config.external) continue;
    const extras = config as FileObjectConfig & FileObjectExtras;
    const spec: ConfigSpec = { Name: config.name, Labels: withStackLabel(namespace, stringMap(extras.labels)), Data: (await fileObjectData('config', key, config, project)).toString('base64') };
    if (typeof extras.template_driver === 'string' && extras.template_driver !== '') spec.Templating = { Name: extras.template_driver };
    specs.push(spec);
  }
  return specs;
}

/** A secret or config reference: the file the task gets (target, owner, mode 0444 by default) and the object's name. */
function fileTarget(ref: ServiceFileReference): { Name: string; UID: string; GID: string; Mode: number } {
  return { Name: ref.target ?? ref.source, UID: ref.uid ?? '0', GID: ref.gid ?? '0', Mode: ref.mode ?? 0o444 };
}

function byName<T>(name: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
}

function secretReferences(project: ComposeProject, service: ServiceConfig): SecretReference[] {
  return service.secrets
    .map((ref) => {
      const declared = project.secrets[ref.source];
      if (!declared) throw new CtrError('InvalidArgument', `undefined secret ${JSON.stringify(ref.source)}`);
      return { File: fileTarget(ref), SecretID: '', SecretName: declared.name };
    })
    .sort(byName((ref) => ref.SecretName));
}

function configReferences(project: ComposeProject, service: ServiceConfig): ConfigReference[] {
  return service.configs
    .map((ref) => {
      const declared = project.configs[ref.source];
      if (!declared) throw new CtrError('InvalidArgument', `undefined config ${JSON.stringify(ref.source)}`);
      return { File: fileTarget(ref), ConfigID: '', ConfigName: declared.name };
    })
    .sort(byName((ref) => ref.ConfigName));
}

function mount(project: ComposeProject, namespace: string, volume: ServiceVolume): Mount {
  const base: Mount = { Type: volume.type as Mount['Type'], Target: volume.target };
  if (volume.read_only) base.ReadOnly = true;
  if (volume.consistency) base.Consistency = volume.consistency;
  switch (volume.type) {
    case 'volume': {
      if (volume.source === undefined) return base;
      const declared = project.volumes[volume.source];
      if (!declared) throw new CtrError('InvalidArgument', `undefined volume ${JSON.stringify(volume.source)}`);
      const options: NonNullable<Mount['VolumeOptions']> = {};
      if (volume.volume?.nocopy) options.NoCopy = true;
      const result: Mount = { ...base, Source: declared.name, VolumeOptions: options };
      if (declared.external) return result;
      options.Labels = withStackLabel(namespace, declared.labels);
      if (declared.driver || Object.keys(declared.driver_opts).length > 0) {
        options.DriverConfig = { ...(declared.driver ? { Name: declared.driver } : {}), Options: declared.driver_opts };
      }
      return result;
    }
    case 'bind':
      if (!volume.source) throw new CtrError('InvalidArgument', 'invalid bind source, source cannot be empty');
      return { ...base, Source: volume.source, ...(volume.bind?.propagation ? { BindOptions: { Propagation: volume.bind.propagation } } : {}) };
    case 'tmpfs': {
      if (volume.source) throw new CtrError('InvalidArgument', 'invalid tmpfs source, source must be empty');
      const size = volume.tmpfs?.size;
      return { ...base, ...(size !== undefined ? { TmpfsOptions: { SizeBytes: parseBytes(size, 'tmpfs size') } } : {}) };
    }
    case 'npipe':
      if (!volume.source) throw new CtrError('InvalidArgument', 'invalid npipe source, source cannot be empty');
      return { ...base, Source: volume.source };
    default:
      throw new CtrError('InvalidArgument', 'volume type must be volume, bind, tmpfs, npipe, or cluster');
  }
}

function healthcheck(service: ServiceConfig): HealthConfig | undefined {
  const check = service.healthcheck;
  if (!check) return undefined;
  if (check.disable) return { Test: ['NONE'] };
  const where = `services.${service.name}.healthcheck`;
  const config: HealthConfig = {};
  if (check.test) config.Test = check.test;
  const interval = nanoseconds(check.interval, `${where}.interval`);
  const timeout = nanoseconds(check.timeout, `${where}.timeout`);
  const startPeriod = nanoseconds(check.start_period, `${where}.start_period`);
  const startInterval = nanoseconds(check.start_interval, `${where}.start_interval`);
  if (interval !== undefined) config.Interval = interval;
  if (timeout !== undefined) config.Timeout = timeout;
  if (startPeriod !== undefined) config.StartPeriod = startPeriod;
  if (startInterval !== undefined) config.StartInterval = startInterval;
  if (check.retries !== undefined) config.Retries = check.retries;
  return config;
}

/** docker's EffectiveCapAddCapDrop: names in CAP_ form, ALL alone when given, a capability both added and dropped is added. */
function capabilities(add: string[], drop: string[]): { add: string[]; drop: string[] } {
  const normalize = (caps: string[]): Set<string> =>
    new Set(caps.map((cap) => cap.trim().toUpperCase()).filter((cap) => cap !== '').map((cap) => (cap === 'ALL' || cap.startsWith('CAP_') ? cap : `CAP_${cap}`)));
  const added = normalize(add);
  const dropped = normalize(drop);
  return {
    add: added.has('ALL') ? ['ALL'] : [...added].sort(),
    drop: dropped.has('ALL') ? ['ALL'] : [...dropped].filter((cap) => !added.has(cap)).sort(),
  };
}

/** `host:ip` (compose's) as swarmkit's `ip host` hosts-file entries, in the file's order. */
function hostEntries(extraHosts: string[]): string[] {
  return extraHosts.flatMap((entry) => {
    const colon = entry.indexOf(':');
    return colon < 0 ? [] : [`${entry.slice(colon + 1)} ${entry.slice(0, colon)}`];
  });
}

function environment(service: ServiceConfig): string[] {
  return Object.entries(service.environment)
    .map(([key, value]) => (value === null ? key : `${key}=${value}`))
    .sort();
}

/** Whether a network name is one the engine defines (`bridge`, `host`, `none`, `default`, `container:…`): those take no aliases. */
function isUserDefined(name: string): boolean {
  return !['default', 'bridge', 'host', 'none'].includes(name) && !name.startsWith('container:');
}

function serviceNetworks(project: ComposeProject, namespace: string, service: ServiceConfig): NetworkAttachmentConfig[] {
  const entries = Object.entries(service.networks);
  const attachments = (entries.length > 0 ? entries : [['default', null] as const]).map(([key, options]) => {
    if (!project.networks[key] && key !== 'default') throw new CtrError('InvalidArgument', `undefined network ${JSON.stringify(key)}`);
    const target = networkName(project, namespace, key);
    const aliases = [...(options?.aliases ?? [])];
    // The service's short name, so that its peers in the stack reach it as `web`.
    if (isUserDefined(target)) aliases.push(service.name);
    const attachment: NetworkAttachmentConfig = { Target: target };
    if (aliases.length > 0) attachment.Aliases = aliases;
    const driverOpts = stringMap((options as Record<string, unknown> | null)?.driver_opts);
    if (driverOpts) attachment.DriverOpts = driverOpts;
    return attachment;
  });
  return attachments.sort(byName((a) => a.Target));
}

function publishedPort(text: string | undefined, service: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CtrError('InvalidArgument', `service ${service}: invalid published port ${JSON.stringify(text)}: swarm publishes one port per entry`);
  return port;
}

function endpointSpec(service: ServiceConfig, endpointMode: string | undefined): EndpointSpec {
  const ports: PortConfig[] = service.ports.map((port) => {
    const config: PortConfig = { Protocol: port.protocol, TargetPort: port.target, PublishMode: port.mode };
    const published = publishedPort(port.published, service.name);
    if (published !== undefined) config.PublishedPort = published;
    if (port.name) config.Name = port.name;
    return config;
  });
  // docker sorts by published port (a port the swarm picks, 0, first), keeping the file's order otherwise.
  ports.sort((a, b) => (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0));
  const spec: EndpointSpec = { Ports: ports };
  if (endpointMode) spec.Mode = endpointMode.toLowerCase() as EndpointSpec['Mode'];
  return spec;
}

/** `deploy:` as compose writes it, the swarm-only keys included (the model types the ones `compose up` uses). */
interface SwarmDeploy {
  mode?: unknown;
  replicas?: unknown;
  labels?: unknown;
  endpoint_mode?: unknown;
  resources?: { limits?: Record<string, unknown>; reservations?: Record<string, unknown> };
  restart_policy?: Record<string, unknown>;
  update_config?: Record<string, unknown>;
  rollback_config?: Record<string, unknown>;
  placement?: { constraints?: unknown; preferences?: unknown; max_replicas_per_node?: unknown };
}

function serviceMode(deploy: SwarmDeploy, service: ServiceConfig): ServiceMode {
  const replicas = count(deploy.replicas, 'deploy.replicas');
  const mode = deploy.mode === undefined || deploy.mode === null ? '' : String(deploy.mode);
  switch (mode) {
    case 'global':
    case 'global-job':
      if (replicas !== undefined) throw new CtrError('InvalidArgument', 'replicas can only be used with replicated or replicated-job mode');
      return mode === 'global' ? { Global: {} } : { GlobalJob: {} };
    case 'replicated-job':
      return { ReplicatedJob: replicas === undefined ? {} : { MaxConcurrent: replicas, TotalCompletions: replicas } };
    case 'replicated':
    case '':
      // `scale:` (compose's) stands in when `deploy.replicas` is absent; both unset is one replica, swarm's default.
      return { Replicated: { Replicas: replicas ?? service.scale } };
    default:
      throw new CtrError('InvalidArgument', `unknown mode: ${mode}`);
  }
}

function cpus(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CtrError('InvalidArgument', `failed to parse ${String(value)} as a rational number`, { details: { where } });
  return Math.round(n * 1e9);
}

function resources(deploy: SwarmDeploy): TaskSpec['Resources'] {
  const out: NonNullable<TaskSpec['Resources']> = {};
  const part = (source: Record<string, unknown> | undefined, where: string, pids: boolean): NonNullable<TaskSpec['Resources']>['Limits'] => {
    if (!isPlainObject(source)) return undefined;
    const limit: NonNullable<NonNullable<TaskSpec['Resources']>['Limits']> = {};
    const nano = cpus(source.cpus, `${where}.cpus`);
    if (nano !== undefined) limit.NanoCPUs = nano;
    if (source.memory !== undefined && source.memory !== null) limit.MemoryBytes = parseBytes(source.memory as string | number, `${where}.memory`);
    if (pids && source.pids !== undefined) limit.Pids = count(source.pids, `${where}.pids`) as number;
    return limit;
  };
  const limits = part(deploy.resources?.limits, 'deploy.resources.limits', true);
  const reservations = part(deploy.resources?.reservations, 'deploy.resources.reservations', false);
  if (limits) out.Limits = limits;
  if (reservations) out.Reservations = reservations;
  return out;
}

/** `deploy.restart_policy`, else the compose `restart:` policy as docker maps it (always/unless-stopped → any). */
function restartPolicy(deploy: SwarmDeploy, service: ServiceConfig): RestartPolicy | undefined {
  const policy = deploy.restart_policy;
  if (isPlainObject(policy)) {
    const out: RestartPolicy = {};
    if (policy.condition !== undefined) out.Condition = String(policy.condition) as RestartPolicy['Condition'];
    const delay = nanoseconds(policy.delay, 'deploy.restart_policy.delay');
    const window = nanoseconds(policy.window, 'deploy.restart_policy.window');
    const attempts = count(policy.max_attempts, 'deploy.restart_policy.max_attempts');
    if (delay !== undefined) out.Delay = delay;
    if (attempts !== undefined) out.MaxAttempts = attempts;
    if (window !== undefined) out.Window = window;
    return out;
  }
  if (!service.restart) return undefined;
  const [name = '', retries] = service.restart.split(':');
  const attempts = retries !== undefined && Number(retries) > 0 ? { MaxAttempts: Number(retries) } : {};
  switch (name) {
    case 'no':
    case '':
      return undefined;
    case 'always':
    case 'unless-stopped':
      return { Condition: 'any', ...attempts };
    case 'on-failure':
      return { Condition: 'on-failure', ...attempts };
    default:
      throw new CtrError('InvalidArgument', `invalid restart policy: unknown policy '${name}' (must be one of 'no', 'always', 'on-failure', or 'unless-stopped')`);
  }
}

function updateConfig(source: Record<string, unknown> | undefined, where: string): UpdateConfig | undefined {
  if (!isPlainObject(source)) return undefined;
  const config: UpdateConfig = { Parallelism: count(source.parallelism, `${where}.parallelism`) ?? 1 };
  const delay = nanoseconds(source.delay, `${where}.delay`);
  const monitor = nanoseconds(source.monitor, `${where}.monitor`);
  if (delay !== undefined) config.Delay = delay;
  if (source.failure_action !== undefined) config.FailureAction = String(source.failure_action) as UpdateConfig['FailureAction'];
  if (monitor !== undefined) config.Monitor = monitor;
  if (source.max_failure_ratio !== undefined) config.MaxFailureRatio = Number(source.max_failure_ratio);
  if (source.order !== undefined) config.Order = String(source.order) as UpdateConfig['Order'];
  return config;
}

function placement(deploy: SwarmDeploy): NonNullable<TaskSpec['Placement']> {
  const source = isPlainObject(deploy.placement) ? deploy.placement : {};
  const out: NonNullable<TaskSpec['Placement']> = {};
  if (Array.isArray(source.constraints) && source.constraints.length > 0) out.Constraints = source.constraints.map(String);
  if (Array.isArray(source.preferences) && source.preferences.length > 0) {
    out.Preferences = source.preferences.map((preference: unknown) => ({ Spread: { SpreadDescriptor: String((preference as { spread?: unknown }).spread ?? '') } }));
  }
  const max = count(source.max_replicas_per_node, 'deploy.placement.max_replicas_per_node');
  if (max !== undefined) out.MaxReplicas = max;
  return out;
}

function containerSpec(project: ComposeProject, namespace: string, service: ServiceConfig, image: string): ContainerSpec {
  const caps = capabilities(service.cap_add, service.cap_drop);
  const spec: ContainerSpec = { Image: image, Labels: withStackLabel(namespace, service.labels) };
  const set = <K extends keyof ContainerSpec>(key: K, value: ContainerSpec[K] | undefined): void => {
    if (value !== undefined && !(Array.isArray(value) && value.length === 0)) spec[key] = value;
  };
  set('Command', service.entrypoint ?? undefined);
  set('Args', service.command ?? undefined);
  set('Hostname', service.hostname);
  set('Env', environment(service));
  set('Dir', service.working_dir);
  set('User', service.user);
  set('Init', service.init);
  set('StopSignal', service.stop_signal);
  if (service.tty) spec.TTY = true;
  if (service.stdin_open) spec.OpenStdin = true;
  if (service.read_only) spec.ReadOnly = true;
  set('Mounts', service.volumes.map((volume) => mount(project, namespace, volume)));
  set('StopGracePeriod', nanoseconds(service.stop_grace_period, `services.${service.name}.stop_grace_period`));
  set('Healthcheck', healthcheck(service));
  set('Hosts', hostEntries(service.extra_hosts));
  if (service.dns.length > 0 || service.dns_search.length > 0) {
    spec.DNSConfig = { ...(service.dns.length > 0 ? { Nameservers: service.dns } : {}), ...(service.dns_search.length > 0 ? { Search: service.dns_search } : {}) };
  }
  set('Secrets', secretReferences(project, service));
  set('Configs', configReferences(project, service));
  const isolation = (service as ServiceConfig & { isolation?: unknown }).isolation;
  if (typeof isolation === 'string' && isolation !== '') spec.Isolation = isolation;
  if (Object.keys(service.sysctls).length > 0) spec.Sysctls = service.sysctls;
  set('CapabilityAdd', caps.add);
  set('CapabilityDrop', caps.drop);
  set(
    'Ulimits',
    Object.entries(service.ulimits)
      .map(([name, limit]) => ({ Name: name, Soft: limit.soft, Hard: limit.hard }))
      .sort(byName((u) => u.Name)),
  );
  set('OomScoreAdj', service.oom_score_adj);
  return spec;
}

/** One compose service as the ServiceSpec `docker stack deploy` sends (docker-cli's convert.Service). */
export function stackServiceSpec(project: ComposeProject, namespace: string, service: ServiceConfig): ServiceSpec {
  const image = service.image;
  if (!image) throw new CtrError('InvalidArgument', `invalid image reference for service ${service.name}: no image specified`);
  try {
    const deploy = (service.deploy ?? {}) as SwarmDeploy;
    const taskTemplate: TaskSpec = {
      ContainerSpec: containerSpec(project, namespace, service, image),
      Resources: resources(deploy),
      Placement: placement(deploy),
      Networks: serviceNetworks(project, namespace, service),
    };
    const restart = restartPolicy(deploy, service);
    if (restart) taskTemplate.RestartPolicy = restart;
    if (service.logging) taskTemplate.LogDriver = { Name: service.logging.driver ?? '', ...(Object.keys(service.logging.options).length > 0 ? { Options: service.logging.options } : {}) };
    const spec: ServiceSpec = {
      Name: scope(namespace, service.name),
      Labels: { ...withStackLabel(namespace, stringMap(deploy.labels)), [STACK_IMAGE_LABEL]: image },
      TaskTemplate: taskTemplate,
      Mode: serviceMode(deploy, service),
      EndpointSpec: endpointSpec(service, typeof deploy.endpoint_mode === 'string' ? deploy.endpoint_mode : undefined),
    };
    const update = updateConfig(deploy.update_config, 'deploy.update_config');
    const rollback = updateConfig(deploy.rollback_config, 'deploy.rollback_config');
    if (update) spec.UpdateConfig = update;
    if (rollback) spec.RollbackConfig = rollback;
    return spec;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CtrError(isCtrError(error) ? error.code : 'InvalidArgument', `service ${service.name}: ${message}`, { cause: error });
  }
}

/**
 * The swarm objects a stack is made of (docker-cli's convert.Networks, Secrets, Configs
 * and Services). `project` is loaded with the stack's name as its project name, so the
 * loader's `<project>_<key>` names are the stack's scoped ones.
 */
export async function convertStack(project: ComposeProject, namespace: string): Promise<StackObjects> {
  return {
    namespace,
    ...stackNetworks(project, namespace),
    secrets: await stackSecrets(project, namespace),
    configs: await stackConfigs(project, namespace),
    services: Object.values(project.services).map((service) => ({ key: service.name, spec: stackServiceSpec(project, namespace, service) })),
  };
}
