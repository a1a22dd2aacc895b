import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { CreateOptions } from '@ctr/api';
import type { ApiMount, HealthConfig, InspectMount } from '@ctr/engine';
import { compactSeccompProfile, parseBytes, securitySettings } from '@ctr/engine';
import { CtrError, goPathError, invalidArgument } from '@ctr/errors';
import { parsePlatform } from '@ctr/image';
import { COMPOSE_VERSION, LABEL } from './labels';
import type { ComposeProject, ServiceConfig, ServiceNetwork, ServiceVolume } from './model';
import { parseDuration } from './duration';
import { projectService, serviceImage, servicePlatform } from './images';

/** Which container of a service the options are for. */
export interface ContainerIdentity {
  /** The replica number (`app-web-2` is 2); a one-off's is 1, as compose labels it. */
  number: number;
  /** `run`'s one-off container: no container_name, no network aliases but its name. */
  oneoff?: boolean;
  /** The container's name, when not `<project>-<service>-<number>` (or container_name). */
  name?: string;
  /** The image's ID, for compose's `com.docker.compose.image` label (the image the container was made from). */
  imageId?: string;
  /** The container this one replaces (recreate): compose's `com.docker.compose.replace` label, and its anonymous volumes are kept. */
  replaces?: { id: string; mounts: InspectMount[] };
}

/** A network a container joins after its create (all but its first), as `network connect` takes it. */
export interface ExtraNetwork {
  /** The engine's name of the network. */
  network: string;
  aliases: string[];
  ip?: string;
  ip6?: string;
  linkLocalIps?: string[];
}

/** `<project>-<service>-<n>`, or the service's container_name. */
export function serviceContainerName(project: ComposeProject, service: ServiceConfig, number: number): string {
  return service.container_name ?? `${project.name}-${service.name}-${number}`;
}

/**
 * The service's networks by compose-go's `NetworksByPriority`: highest priority first, then
 * by key, so the first is the one the container is created on.
 */
export function networksByPriority(service: ServiceConfig): string[] {
  return Object.keys(service.networks).sort((a, b) => (service.networks[b]?.priority ?? 0) - (service.networks[a]?.priority ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The service `network_mode: service:x` / `volumes_from`-style reference names, if the mode is one. */
export function serviceOfMode(mode: string | undefined): string | undefined {
  return mode?.startsWith('service:') ? mode.slice('service:'.length) : undefined;
}

/**
 * A `volumes_from` entry's service and mode: `name[:ro|rw]` (the spec's form, and the
 * `service:name[:ro|rw]` some files write); none for `container:name[:ro|rw]`.
 */
export function volumesFromService(entry: string): { service: string; mode?: string } | undefined {
  const parts = entry.split(':');
  if (parts[0] === 'container') return undefined;
  if (parts[0] === 'service' && parts.length > 1) parts.shift();
  const [service = '', ...mode] = parts;
  return mode.length > 0 ? { service, mode: mode.join(':') } : { service };
}

/**
 * `volumes_from` as the engine takes it (compose's getVolumesFrom): a service's first
 * container (its container_name, else `<project>-<service>-1`), a container by its name. Unlike
 * compose, which drops the mode of a two-part `db:ro`, the mode is kept, as the spec documents it.
 */
function volumesFrom(project: ComposeProject, service: ServiceConfig): string[] {
  return (service.volumes_from ?? []).map((entry) => {
    const from = volumesFromService(entry);
    if (!from) return entry.slice('container:'.length);
    const target = projectService(project, from.service);
    return `${serviceContainerName(project, target, 1)}${from.mode !== undefined ? `:${from.mode}` : ''}`;
  });
}

/**
 * The config hash compose labels a container with (`com.docker.compose.config-hash`): the
 * service's configuration without what does not change the container (its build, pull
 * policy, replica count, dependencies, profiles), as compose's ServiceHash leaves them out.
 * Keys are sorted at every level, so the same service always hashes the same.
 */
export function configHash(_project: ComposeProject, service: ServiceConfig): string {
  const { build: _build, pull_policy: _pull, scale: _scale, depends_on: _deps, profiles: _profiles, deploy, ...rest } = service;
  const hashed: Record<string, unknown> = { ...rest };
  if (deploy) {
    const { replicas: _replicas, ...kept } = deploy;
    hashed.deploy = kept;
  }
  return createHash('sha256').update(stableJson(hashed)).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** compose's depends_on label: `svc:condition:restart`, comma-joined. */
function dependsOnLabel(service: ServiceConfig): string {
  return Object.entries(service.depends_on)
    .map(([name, dep]) => `${name}:${dep.condition}:${dep.restart}`)
    .join(',');
}

/** The labels compose puts on a service's container, over the service's own. */
export function containerLabels(project: ComposeProject, service: ServiceConfig, identity: ContainerIdentity): Record<string, string> {
  return {
    ...service.labels,
    [LABEL.project]: project.name,
    [LABEL.service]: service.name,
    [LABEL.containerNumber]: String(identity.number),
    [LABEL.oneoff]: identity.oneoff ? 'True' : 'False',
    [LABEL.configHash]: configHash(project, service),
    [LABEL.workingDir]: project.working_dir,
    [LABEL.configFiles]: project.config_files.join(','),
    [LABEL.dependsOn]: dependsOnLabel(service),
    [LABEL.version]: COMPOSE_VERSION,
    ...(identity.imageId ? { [LABEL.image]: identity.imageId } : {}),
    ...(identity.replaces ? { [LABEL.replace]: identity.replaces.id } : {}),
  };
}

/**
 * What `engine.create` takes for one container of a service, as compose's getCreateConfigs
 * makes it: the service's keys in the engine's options, compose's labels, the first network
 * (by priority) with its aliases; the others come from `extraNetworks` after the create.
 */
export function containerOptions(project: ComposeProject, service: ServiceConfig, identity: ContainerIdentity): CreateOptions {
  const name = identity.name ?? serviceContainerName(project, service, identity.number);
  const platform = servicePlatform(project, service);
  const options: CreateOptions = {
    image: serviceImage(project, service),
    name,
    labels: containerLabels(project, service, identity),
    env: Object.entries(service.environment).flatMap(([k, v]) => (v === null ? [] : [`${k}=${v}`])),
    pull: 'never',
    ...definedOnly({
      cmd: service.command ?? undefined,
      entrypoint: service.entrypoint ?? undefined,
      workingDir: service.working_dir,
      user: service.user,
      hostname: service.hostname,
      domainname: service.domainname,
      openStdin: service.stdin_open,
      tty: service.tty,
      privileged: service.privileged,
      readOnlyRootfs: service.read_only,
      init: service.init,
      stopSignal: service.stop_signal,
      stopTimeout: service.stop_grace_period === undefined ? undefined : Math.floor(parseDuration(service.stop_grace_period) / 1e9),
      shmSize: service.shm_size,
      oomScoreAdj: service.oom_score_adj,
      ipc: service.ipc as CreateOptions['ipc'],
      pid: service.pid as CreateOptions['pid'],
      usernsMode: service.userns_mode,
      restart: restartPolicy(service),
      healthcheck: service.healthcheck && healthcheck(service.healthcheck),
      log: service.logging && { ...(service.logging.driver ? { driver: service.logging.driver } : {}), options: service.logging.options },
      // compose's ContainerCreate platform: the engine refuses an image that is here for another one, in dockerd's words.
      imagePlatform: platform === undefined ? undefined : parsePlatform(platform),
    }),
    ...nonEmpty({
      publish: service.ports.map(publishSpec),
      expose: service.expose,
      tmpfs: service.tmpfs,
      capAdd: service.cap_add,
      capDrop: service.cap_drop,
      dns: service.dns,
      dnsSearch: service.dns_search,
      dnsOptions: service.dns_opt,
      extraHosts: service.extra_hosts,
      groupAdd: service.group_add,
      devices: service.devices.map(deviceMapping),
      ulimits: Object.entries(service.ulimits).map(([ulimit, { soft, hard }]) => ({ name: ulimit, soft, hard })),
      links: [...service.links.map((link) => serviceLink(project, link)), ...service.external_links],
      volumesFrom: volumesFrom(project, service),
    }),
    ...(Object.keys(service.sysctls).length > 0 ? { sysctls: service.sysctls } : {}),
    ...resources(service),
    ...securitySettings(securityOpts(project, service.security_opt.filter((value) => value !== UNCONFINED_SYSTEM_PATHS))),
    // compose's own: it unmasks the system paths as docker's CLI does, by sending none.
    ...(service.security_opt.includes(UNCONFINED_SYSTEM_PATHS) ? { maskedPaths: [], readonlyPaths: [] } : {}),
    ...mounts(project, service, identity.replaces?.mounts),
    ...firstNetwork(project, service, name, identity),
  };
  return options;
}

function definedOnly<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function nonEmpty<T extends Record<string, unknown[]>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v.length > 0)) as Partial<T>;
}

/** A port as `-p` takes it: `[ip:][published:]target/protocol`, an IPv6 address in brackets. */
function publishSpec(port: ServiceConfig['ports'][number]): string {
  const ip = port.host_ip ? (port.host_ip.includes(':') ? `[${port.host_ip}]` : port.host_ip) : undefined;
  const host = ip !== undefined ? `${ip}:${port.published ?? ''}:` : port.published !== undefined ? `${port.published}:` : '';
  return `${host}${port.target}/${port.protocol}`;
}

/** compose-go's device syntax, `host[:container[:permissions]]`. */
function deviceMapping(device: string): NonNullable<CreateOptions['devices']>[number] {
  const [pathOnHost = '', pathInContainer, permissions] = device.split(':');
  return { pathOnHost, pathInContainer: pathInContainer || pathOnHost, permissions: permissions || 'rwm' };
}

/** `links: [db:database]`: the linked service's first container, under the alias (its service name by default). */
function serviceLink(project: ComposeProject, link: string): string {
  const [target = '', alias] = link.split(':');
  const linked = project.services[target];
  const container = linked ? serviceContainerName(project, linked, 1) : target;
  return `${container}:${alias ?? target}`;
}

/** `restart:`, then `deploy.restart_policy` over it, as compose's getRestartPolicy. */
function restartPolicy(service: ServiceConfig): string | undefined {
  const policy = service.deploy?.restart_policy;
  if (!policy) return service.restart === undefined ? undefined : engineRestart(service.restart);
  const name = policy.condition === undefined ? 'always' : engineRestart(policy.condition);
  return name === 'on-failure' && policy.max_attempts ? `on-failure:${policy.max_attempts}` : name;
}

function engineRestart(condition: string): string {
  const [name = '', count] = condition.split(':');
  const mapped = name === 'none' ? 'no' : name === 'any' ? 'always' : name;
  return count !== undefined ? `${mapped}:${count}` : mapped;
}

function healthcheck(config: NonNullable<ServiceConfig['healthcheck']>): HealthConfig {
  if (config.disable) return { Test: ['NONE'] };
  const ns = (text: string | undefined): number | undefined => (text === undefined ? undefined : parseDuration(text));
  return definedOnly({
    Test: config.test,
    Interval: ns(config.interval),
    Timeout: ns(config.timeout),
    StartPeriod: ns(config.start_period),
    StartInterval: ns(config.start_interval),
    Retries: config.retries,
  });
}

/** The service's limits, `deploy.resources` over the older keys, as compose's getDeployResources. */
function resources(service: ServiceConfig): Partial<CreateOptions> {
  const limits = service.deploy?.resources?.limits;
  const reservations = service.deploy?.resources?.reservations;
  return definedOnly({
    memory: limits?.memory ?? service.mem_limit,
    memorySwap: service.memswap_limit,
    memoryReservation: reservations?.memory ?? service.mem_reservation,
    cpus: limits?.cpus ?? service.cpus,
    cpuShares: service.cpu_shares,
    cpusetCpus: service.cpuset,
    pidsLimit: limits?.pids ?? service.pids_limit,
  });
}

/** The `security_opt` compose takes for itself rather than send (parseSecurityOpts). */
const UNCONFINED_SYSTEM_PATHS = 'systempaths=unconfined';

/**
 * `security_opt` as compose's parseSecurityOpts sends it, for the engine to read as dockerd does:
 * `key=value`, else `key:value`; a seccomp profile other than `unconfined` or `builtin` is a file
 * (relative to the project's directory, `~` its user's home), sent as its JSON compacted.
 */
function securityOpts(project: ComposeProject, values: readonly string[]): string[] {
  return values.map((value) => {
    let at = value.indexOf('=');
    if (at === -1 && value !== 'no-new-privileges') {
      at = value.indexOf(':');
      if (at === -1) throw invalidArgument(`Invalid security-opt: ${JSON.stringify(value)}`);
    }
    if (at === -1) return value;
    const [key, setting] = [value.slice(0, at), value.slice(at + 1)];
    if (key !== 'seccomp' || setting === 'unconfined' || setting === 'builtin') return value;
    return `seccomp=${seccompProfile(project, setting)}`;
  });
}

/** A seccomp profile file's JSON, compacted, or compose's refusal. */
function seccompProfile(project: ComposeProject, file: string): string {
  const resolved = file.startsWith('~') ? path.join(homedir(), file.slice(1)) : path.resolve(project.working_dir, file);
  let text: string;
  try {
    // Read at each create, as compose reads it: an edited profile goes with the next container.
    text = readFileSync(resolved, 'utf8');
  } catch (error) {
    throw invalidArgument(`opening seccomp profile (${file}) failed: ${goPathError(error, resolved)}`);
  }
  return compactSeccompProfile(text, file);
}

/**
 * Volumes, secrets and configs as the engine mounts them. A bind that may create its host
 * path is a `-v` (the Mount API refuses a missing source, compose does the same); the rest go
 * as the API's Mounts, project volumes by their engine name. File secrets and configs are
 * read-only binds at their targets (an environment or inline one is written into the
 * container before its start: `injectFileObjects`). A recreated container keeps the
 * anonymous volumes of the one it replaces, as compose's do.
 */
function mounts(project: ComposeProject, service: ServiceConfig, inherited: InspectMount[] | undefined): Pick<CreateOptions, 'volumes' | 'mountSpecs'> {
  const volumes: string[] = [];
  const specs = new Map<string, ApiMount>();
  for (const volume of service.volumes) {
    const bind = bindSpec(volume);
    if (bind !== undefined) volumes.push(bind);
    else specs.set(volume.target, mountSpec(project, service, volume, inherited));
  }
  for (const ref of fileReferences(project, service)) {
    if (ref.file === undefined || specs.has(ref.target) || service.volumes.some((v) => v.target === ref.target)) continue;
    specs.set(ref.target, { Type: 'bind', Source: ref.file, Target: ref.target, ReadOnly: true });
  }
  for (const old of inherited ?? []) {
    // An image's VOLUME the previous container had: its data lives on in the new one.
    if (old.Type !== 'volume' || !old.Name || specs.has(old.Destination) || service.volumes.some((v) => v.target === old.Destination)) continue;
    if (Object.values(project.volumes).some((v) => v.name === old.Name)) continue;
    specs.set(old.Destination, { Type: 'volume', Source: old.Name, Target: old.Destination, ReadOnly: !old.RW });
  }
  return { ...(volumes.length > 0 ? { volumes } : {}), ...(specs.size > 0 ? { mountSpecs: [...specs.values()] } : {}) };
}

function bindSpec(volume: ServiceVolume): string | undefined {
  if (volume.type !== 'bind' || volume.bind?.create_host_path === false || volume.bind?.propagation) return undefined;
  const modes = [...(volume.read_only ? ['ro'] : []), ...(volume.bind?.selinux ? [volume.bind.selinux] : [])];
  return `${volume.source}:${volume.target}${modes.length > 0 ? `:${modes.join(',')}` : ''}`;
}

function mountSpec(project: ComposeProject, service: ServiceConfig, volume: ServiceVolume, inherited: InspectMount[] | undefined): ApiMount {
  const base = { Target: volume.target, ...(volume.read_only ? { ReadOnly: true } : {}) };
  switch (volume.type) {
    case 'bind':
      return { ...base, Type: 'bind', Source: volume.source, BindOptions: definedOnly({ Propagation: volume.bind?.propagation as NonNullable<ApiMount['BindOptions']>['Propagation'] }) };
    case 'volume': {
      const previous = volume.source === undefined ? inherited?.find((m) => m.Type === 'volume' && m.Destination === volume.target)?.Name : undefined;
      const source = volume.source === undefined ? previous : (project.volumes[volume.source]?.name ?? volume.source);
      const options = definedOnly({ NoCopy: volume.volume?.nocopy, Subpath: volume.volume?.subpath });
      return { ...base, Type: 'volume', ...(source !== undefined ? { Source: source } : {}), ...(Object.keys(options).length > 0 ? { VolumeOptions: options } : {}) };
    }
    case 'tmpfs': {
      const size = volume.tmpfs?.size;
      const options = definedOnly({ SizeBytes: size === undefined ? undefined : parseBytes(size, 'tmpfs size'), Mode: volume.tmpfs?.mode });
      return { ...base, Type: 'tmpfs', ...(Object.keys(options).length > 0 ? { TmpfsOptions: options } : {}) };
    }
    default:
      throw new CtrError('Unsupported', `service "${service.name}" mounts ${volume.target} as ${volume.type}: ctr's engine mounts bind, volume and tmpfs only`);
  }
}

/** A secret or config a service mounts: where, and from what. */
export interface FileObjectMount {
  kind: 'secret' | 'config';
  source: string;
  target: string;
  /** A file's absolute path; absent for an environment variable's value or inline content. */
  file?: string;
  /** The content, for the ones without a file. */
  content?: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

/**
 * The service's secrets (at /run/secrets/<name>, or their target under it when relative) and
 * configs (at /<name>, or their target), as compose places them; external ones are refused in
 * compose's words, and an environment variable that is not set too.
 */
export function fileReferences(project: ComposeProject, service: ServiceConfig): FileObjectMount[] {
  const refs = (kind: 'secret' | 'config', base: string) => (ref: ServiceConfig['secrets'][number]): FileObjectMount => {
    const defined = (kind === 'secret' ? project.secrets : project.configs)[ref.source];
    if (!defined) throw new CtrError('InvalidArgument', `service "${service.name}" refers to undefined ${kind} ${ref.source}: invalid compose project`);
    if (defined.external) throw new CtrError('Unsupported', `unsupported external ${kind} ${defined.name}`);
    const target = ref.target === undefined ? base + ref.source : ref.target.startsWith('/') ? ref.target : base + ref.target;
    const common = { kind, source: ref.source, target, ...definedOnly({ uid: ref.uid, gid: ref.gid, mode: ref.mode }) };
    if (defined.file !== undefined) return { ...common, file: defined.file };
    if (defined.content !== undefined) return { ...common, content: defined.content };
    const variable = defined.environment ?? '';
    const value = project.environment[variable];
    if (value === undefined) throw new CtrError('InvalidArgument', `environment variable "${variable}" required by file "${defined.name}" is not set`);
    return { ...common, content: value };
  };
  return [...service.secrets.map(refs('secret', '/run/secrets/')), ...service.configs.map(refs('config', '/'))];
}

/** The container's first network, compose's primary endpoint: aliases, static addresses, MAC. */
function firstNetwork(project: ComposeProject, service: ServiceConfig, name: string, identity: ContainerIdentity): Partial<CreateOptions> {
  if (service.network_mode !== undefined) {
    const of = serviceOfMode(service.network_mode);
    if (of !== undefined) {
      const target = project.services[of];
      return { network: `container:${target ? serviceContainerName(project, target, 1) : of}` };
    }
    return { network: service.network_mode === 'disabled' ? 'none' : service.network_mode };
  }
  const [key] = networksByPriority(service);
  if (key === undefined) return { network: 'none' };
  const endpoint = endpointOf(project, service, key, name, identity);
  const mac = service.networks[key]?.mac_address ?? service.mac_address;
  return definedOnly({
    network: endpoint.network,
    networkAliases: endpoint.aliases,
    ip: endpoint.ip,
    ip6: endpoint.ip6,
    linkLocalIps: endpoint.linkLocalIps,
    macAddress: mac,
  });
}

/** The networks after the first, which the container joins by `engine.connect` once it exists. */
export function extraNetworks(project: ComposeProject, service: ServiceConfig, identity: ContainerIdentity): ExtraNetwork[] {
  if (service.network_mode !== undefined) return [];
  const name = identity.name ?? serviceContainerName(project, service, identity.number);
  return networksByPriority(service)
    .slice(1)
    .map((key) => endpointOf(project, service, key, name, identity));
}

/** compose's aliases: the container's name, and for a service container its service name and the network's aliases. */
function endpointOf(project: ComposeProject, service: ServiceConfig, key: string, name: string, identity: ContainerIdentity): ExtraNetwork {
  const network = project.networks[key];
  if (!network) throw new CtrError('InvalidArgument', `service "${service.name}" refers to undefined network ${key}: invalid compose project`);
  const config: ServiceNetwork = service.networks[key] ?? {};
  const aliases = identity.oneoff ? [name] : [name, service.name, ...(config.aliases ?? [])];
  return {
    network: network.name,
    aliases,
    ...definedOnly({ ip: config.ipv4_address, ip6: config.ipv6_address, linkLocalIps: config.link_local_ips?.length ? config.link_local_ips : undefined }),
  };
}
