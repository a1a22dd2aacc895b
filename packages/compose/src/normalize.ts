import { CtrError } from '@ctr/errors';
import { readDotenv } from './dotenv';
import { parseDuration } from './duration';
import { isPlainObject, type Lookup } from './interpolate';
import { toBool, toMapping } from './canonical';
import type {
  BuildConfig, ComposeProject, FileObjectConfig, HealthcheckConfig, NetworkConfig, ServiceConfig, ServiceDependency, ServiceNetwork,
  ServicePort, ServiceVolume, VolumeConfig,
} from './model';

type Tree = Record<string, unknown>;

function invalidProject(message: string): CtrError {
  return new CtrError('InvalidArgument', `${message}: invalid compose project`);
}

function num(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isNaN(n) ? undefined : n;
}

function str(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}

function bool(value: unknown): boolean | undefined {
  return value === undefined || value === null ? undefined : toBool(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function mapping(value: unknown): Record<string, string> {
  return isPlainObject(value) ? (toMapping(value, '=', '') as Record<string, string>) : {};
}

function duration(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value);
  try {
    parseDuration(text);
  } catch (error) {
    throw new CtrError('InvalidArgument', `${where}: ${(error as Error).message}`, { cause: error });
  }
  return text;
}

/** Copies the defined values of `from` onto a new object (compose leaves unset fields out). */
function defined<T extends object>(from: T): T {
  return Object.fromEntries(Object.entries(from).filter(([, value]) => value !== undefined)) as T;
}

/** The fields the model types; every other key of a service is carried as written (`develop`, `gpus`…). */
const TYPED = new Set([
  'profiles', 'image', 'build', 'pull_policy', 'platform', 'command', 'entrypoint', 'working_dir', 'user', 'hostname', 'domainname',
  'environment', 'env_file', 'labels', 'container_name', 'ports', 'expose', 'volumes', 'tmpfs', 'networks', 'network_mode', 'depends_on',
  'links', 'external_links', 'volumes_from', 'restart', 'scale', 'healthcheck', 'stdin_open', 'tty', 'privileged', 'read_only', 'init',
  'cap_add', 'cap_drop', 'dns', 'dns_search', 'dns_opt', 'extra_hosts', 'sysctls', 'ulimits', 'mem_limit', 'mem_reservation',
  'memswap_limit', 'cpus', 'cpu_shares', 'cpuset', 'pids_limit', 'shm_size', 'stop_signal', 'stop_grace_period', 'logging',
  'security_opt', 'devices', 'group_add', 'ipc', 'pid', 'userns_mode', 'oom_score_adj', 'mac_address', 'secrets', 'configs', 'deploy',
  'attach', 'extends',
]);

/** A service's `environment`: its env_files in order, `environment` over them, a bare key from the project's environment. */
async function serviceEnvironment(name: string, raw: Tree, lookup: Lookup): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const file of (raw.env_file as Tree[] | undefined) ?? []) {
    const path = String(file.path);
    const vars = await readDotenv(path, lookup);
    if (!vars) {
      if (file.required === false) continue;
      throw new CtrError('InvalidArgument', `env file ${path} not found: stat ${path}: no such file or directory`, { details: { service: name } });
    }
    Object.assign(out, vars);
  }
  for (const [key, value] of Object.entries((raw.environment as Record<string, string | null> | undefined) ?? {})) {
    out[key] = value ?? lookup(key) ?? null;
  }
  return out;
}

function build(raw: Tree): BuildConfig {
  return defined({
    context: String(raw.context),
    dockerfile: raw.dockerfile_inline === undefined ? (str(raw.dockerfile) ?? 'Dockerfile') : str(raw.dockerfile),
    dockerfile_inline: str(raw.dockerfile_inline),
    args: isPlainObject(raw.args) ? (raw.args as Record<string, string | null>) : {},
    target: str(raw.target),
    labels: mapping(raw.labels),
    network: str(raw.network),
    no_cache: bool(raw.no_cache),
    pull: bool(raw.pull),
    tags: strings(raw.tags),
    cache_from: strings(raw.cache_from),
    additional_contexts: raw.additional_contexts === undefined ? undefined : mapping(raw.additional_contexts),
    extra_hosts: strings(raw.extra_hosts),
    shm_size: str(raw.shm_size),
    secrets: fileReferences(raw.secrets),
    platforms: strings(raw.platforms),
  });
}

function fileReferences(value: unknown): ServiceConfig['secrets'] {
  return ((value as Tree[] | undefined) ?? []).map((ref) =>
    defined({ source: String(ref.source), target: str(ref.target), uid: str(ref.uid), gid: str(ref.gid), mode: num(ref.mode) }),
  );
}

function healthcheck(raw: Tree, where: string): HealthcheckConfig {
  const disable = bool(raw.disable);
  return defined({
    test: disable ? ['NONE'] : Array.isArray(raw.test) ? raw.test.map(String) : undefined,
    interval: duration(raw.interval, `${where}.interval`),
    timeout: duration(raw.timeout, `${where}.timeout`),
    retries: num(raw.retries),
    start_period: duration(raw.start_period, `${where}.start_period`),
    start_interval: duration(raw.start_interval, `${where}.start_interval`),
    disable,
  });
}

function ports(raw: unknown): ServicePort[] {
  return ((raw as Tree[] | undefined) ?? []).map((p) =>
    defined({
      name: str(p.name),
      mode: (str(p.mode) ?? 'ingress') as ServicePort['mode'],
      host_ip: str(p.host_ip),
      target: Number(p.target),
      published: str(p.published),
      protocol: (str(p.protocol) ?? 'tcp') as ServicePort['protocol'],
    }),
  );
}

function volumes(raw: unknown): ServiceVolume[] {
  return ((raw as Tree[] | undefined) ?? []).map((v) => {
    const volume: ServiceVolume = { type: (str(v.type) ?? 'volume') as ServiceVolume['type'], target: String(v.target) };
    if (v.source !== undefined && v.source !== '') volume.source = String(v.source);
    if (v.read_only !== undefined) volume.read_only = toBool(v.read_only);
    if (v.consistency !== undefined) volume.consistency = String(v.consistency);
    if (isPlainObject(v.bind)) {
      volume.bind = defined({ propagation: str(v.bind.propagation), create_host_path: bool(v.bind.create_host_path), selinux: str(v.bind.selinux) as 'z' | 'Z' | undefined });
    }
    if (isPlainObject(v.volume)) volume.volume = defined({ nocopy: bool(v.volume.nocopy), subpath: str(v.volume.subpath) });
    if (isPlainObject(v.tmpfs)) {
      const size = v.tmpfs.size;
      volume.tmpfs = defined({ size: typeof size === 'number' ? size : str(size), mode: num(v.tmpfs.mode) });
    }
    return volume;
  });
}

function deploy(raw: unknown): ServiceConfig['deploy'] {
  if (!isPlainObject(raw)) return undefined;
  const resources = isPlainObject(raw.resources) ? raw.resources : undefined;
  const limits = resources && isPlainObject(resources.limits) ? resources.limits : undefined;
  const reservations = resources && isPlainObject(resources.reservations) ? resources.reservations : undefined;
  const policy = isPlainObject(raw.restart_policy) ? raw.restart_policy : undefined;
  return defined({
    ...raw,
    replicas: num(raw.replicas),
    resources: resources
      ? defined({
          ...resources,
          limits: limits ? defined({ ...limits, cpus: str(limits.cpus), memory: str(limits.memory), pids: num(limits.pids) }) : undefined,
          reservations: reservations ? defined({ ...reservations, cpus: str(reservations.cpus), memory: str(reservations.memory) }) : undefined,
        })
      : undefined,
    restart_policy: policy ? defined({ ...policy, condition: str(policy.condition) as 'none' | 'on-failure' | 'any' | undefined, max_attempts: num(policy.max_attempts) }) : undefined,
    labels: raw.labels === undefined ? undefined : mapping(raw.labels),
  }) as ServiceConfig['deploy'];
}

/** One merged, canonical service as the model has it. */
export async function normalizeService(name: string, raw: Tree, lookup: Lookup): Promise<ServiceConfig> {
  const where = `services.${name}`;
  const replicas = isPlainObject(raw.deploy) ? num(raw.deploy.replicas) : undefined;
  const scale = num(raw.scale);
  if (scale !== undefined && replicas !== undefined && scale !== replicas) {
    throw invalidProject(`services.${name}: can't set distinct values on 'scale' and 'deploy.replicas'`);
  }
  if (raw.network_mode !== undefined && raw.networks !== undefined) {
    throw invalidProject(`service ${name} declares mutually exclusive \`network_mode\` and \`networks\``);
  }
  const networks = (raw.networks as Record<string, Tree | null> | undefined) ?? (raw.network_mode === undefined ? { default: null } : {});
  const dependencies: Record<string, ServiceDependency> = {};
  for (const [dep, value] of Object.entries((raw.depends_on as Record<string, Tree> | undefined) ?? {})) {
    dependencies[dep] = { condition: value.condition as ServiceDependency['condition'], required: value.required !== false, restart: value.restart === true };
  }
  const logging = isPlainObject(raw.logging) ? defined({ driver: str(raw.logging.driver), options: mapping(raw.logging.options) }) : undefined;
  const service: ServiceConfig = defined({
    name,
    profiles: raw.profiles === undefined ? undefined : strings(raw.profiles),
    image: str(raw.image),
    build: isPlainObject(raw.build) ? build(raw.build) : undefined,
    pull_policy: str(raw.pull_policy) as ServiceConfig['pull_policy'],
    platform: str(raw.platform),
    command: raw.command === undefined ? undefined : (raw.command as string[] | null),
    entrypoint: raw.entrypoint === undefined ? undefined : (raw.entrypoint as string[] | null),
    working_dir: str(raw.working_dir),
    user: str(raw.user),
    hostname: str(raw.hostname),
    domainname: str(raw.domainname),
    environment: await serviceEnvironment(name, raw, lookup),
    labels: mapping(raw.labels),
    container_name: str(raw.container_name),
    ports: ports(raw.ports),
    expose: strings(raw.expose),
    volumes: volumes(raw.volumes),
    tmpfs: strings(raw.tmpfs),
    networks: Object.fromEntries(Object.entries(networks).map(([key, value]) => [key, networkAttachment(value)])),
    network_mode: str(raw.network_mode),
    depends_on: dependencies,
    links: strings(raw.links),
    external_links: strings(raw.external_links),
    volumes_from: raw.volumes_from === undefined ? undefined : strings(raw.volumes_from),
    restart: str(raw.restart),
    scale: scale ?? replicas ?? 1,
    healthcheck: isPlainObject(raw.healthcheck) ? healthcheck(raw.healthcheck, `${where}.healthcheck`) : undefined,
    stdin_open: bool(raw.stdin_open),
    tty: bool(raw.tty),
    privileged: bool(raw.privileged),
    read_only: bool(raw.read_only),
    init: bool(raw.init),
    cap_add: strings(raw.cap_add),
    cap_drop: strings(raw.cap_drop),
    dns: strings(raw.dns),
    dns_search: strings(raw.dns_search),
    dns_opt: strings(raw.dns_opt),
    extra_hosts: strings(raw.extra_hosts),
    sysctls: mapping(raw.sysctls),
    ulimits: (raw.ulimits as ServiceConfig['ulimits'] | undefined) ?? {},
    mem_limit: str(raw.mem_limit),
    mem_reservation: str(raw.mem_reservation),
    memswap_limit: str(raw.memswap_limit),
    cpus: num(raw.cpus),
    cpu_shares: num(raw.cpu_shares),
    cpuset: str(raw.cpuset),
    pids_limit: num(raw.pids_limit),
    shm_size: str(raw.shm_size),
    stop_signal: str(raw.stop_signal),
    stop_grace_period: duration(raw.stop_grace_period, `${where}.stop_grace_period`),
    logging,
    security_opt: strings(raw.security_opt),
    devices: strings(raw.devices),
    group_add: strings(raw.group_add),
    ipc: str(raw.ipc),
    pid: str(raw.pid),
    userns_mode: str(raw.userns_mode),
    oom_score_adj: num(raw.oom_score_adj),
    mac_address: str(raw.mac_address),
    secrets: fileReferences(raw.secrets),
    configs: fileReferences(raw.configs),
    deploy: deploy(raw.deploy),
    attach: bool(raw.attach),
  });
  // Keys the model does not type (develop, gpus, cgroup…) travel as written, for `compose config`.
  for (const [key, value] of Object.entries(raw)) if (!TYPED.has(key)) (service as unknown as Tree)[key] = value;
  return service;
}

function networkAttachment(value: Tree | null): ServiceNetwork | null {
  if (!isPlainObject(value)) return null;
  return defined({
    ...value,
    aliases: value.aliases === undefined ? undefined : strings(value.aliases),
    ipv4_address: str(value.ipv4_address),
    ipv6_address: str(value.ipv6_address),
    link_local_ips: value.link_local_ips === undefined ? undefined : strings(value.link_local_ips),
    mac_address: str(value.mac_address),
    priority: num(value.priority),
  });
}

/** The engine's name of a top-level resource: `name:`, else its key when external, else `<project>_<key>`. */
function resourceName(project: string, key: string, raw: Tree): string {
  if (raw.name !== undefined) return String(raw.name);
  return raw.external === true ? key : `${project}_${key}`;
}

export function normalizeNetwork(project: string, key: string, raw: Tree): NetworkConfig {
  return defined({
    ...raw,
    name: resourceName(project, key, raw),
    driver: str(raw.driver),
    driver_opts: mapping(raw.driver_opts),
    external: bool(raw.external),
    internal: bool(raw.internal),
    attachable: bool(raw.attachable),
    enable_ipv6: bool(raw.enable_ipv6),
    labels: mapping(raw.labels),
    ipam: isPlainObject(raw.ipam)
      ? defined({ ...raw.ipam, driver: str(raw.ipam.driver), config: Array.isArray(raw.ipam.config) ? (raw.ipam.config as Tree[]) : [] })
      : undefined,
  });
}

export function normalizeVolume(project: string, key: string, raw: Tree): VolumeConfig {
  return defined({ ...raw, name: resourceName(project, key, raw), driver: str(raw.driver), driver_opts: mapping(raw.driver_opts), external: bool(raw.external), labels: mapping(raw.labels) });
}

export function normalizeFileObject(project: string, key: string, raw: Tree): FileObjectConfig {
  return defined({ ...raw, name: resourceName(project, key, raw), file: str(raw.file), environment: str(raw.environment), content: str(raw.content), external: bool(raw.external) });
}

/**
 * compose-go's consistency checks on the merged project, before profiles leave services out:
 * every service has an image or a build, and what it names (services, networks, volumes,
 * secrets, configs) is declared.
 */
export function checkConsistency(project: Pick<ComposeProject, 'services' | 'networks' | 'volumes' | 'secrets' | 'configs'>): void {
  for (const service of Object.values(project.services)) {
    const name = service.name;
    if (!service.image && !service.build) throw invalidProject(`service ${JSON.stringify(name)} has neither an image nor a build context specified`);
    for (const dep of Object.keys(service.depends_on)) {
      if (!project.services[dep]) throw invalidProject(`service ${JSON.stringify(name)} depends on undefined service ${JSON.stringify(dep)}`);
    }
    for (const network of Object.keys(service.networks)) {
      if (!project.networks[network]) throw invalidProject(`service ${JSON.stringify(name)} refers to undefined network ${network}`);
    }
    for (const volume of service.volumes) {
      if (volume.type === 'volume' && volume.source && !project.volumes[volume.source]) {
        throw invalidProject(`service ${JSON.stringify(name)} refers to undefined volume ${volume.source}`);
      }
    }
    for (const [kind, refs, declared] of [['secret', service.secrets, project.secrets], ['config', service.configs, project.configs]] as const) {
      for (const ref of refs) if (!declared[ref.source]) throw invalidProject(`service ${JSON.stringify(name)} refers to undefined ${kind} ${ref.source}`);
    }
    if (service.container_name && service.scale > 1) {
      // compose's own wording, odd as it reads.
      throw invalidProject(`services.deploy.replicas: can't set container_name and ${name} as container name must be unique`);
    }
  }
}
