import path from 'node:path';
import {
  apiMount as checkedMount,
  buildSecurityOptions,
  parseLink,
  parseVolumeSpec,
  securitySettings,
  type ApiMount,
  type BuildStepOptions,
  type CreateContainerOptions,
  type DeviceRequest,
  type Engine,
  type HealthConfig,
  type PlatformSettings,
  type UpdateOptions,
} from '@ctr/engine';
import { invalidArgument } from '@ctr/errors';
import { MAX_API_VERSION, versionBefore, type ApiVersion } from './api-version';
import { Fields } from './fields';
import type { Query } from './query';

/** What a request says of one endpoint, as the engine's `network connect` takes it. */
export type EndpointOptions = NonNullable<Parameters<Engine['connect']>[2]>;

/**
 * An `EndpointSettings` of a request — create's `NetworkingConfig.EndpointsConfig.<network>`,
 * connect's `EndpointConfig` — as the engine's endpoint options: `Aliases`,
 * `IPAMConfig.IPv4Address` and `Links` (moby's buildJoinOptions: each `name[:alias]` makes the
 * alias a name of that container for this endpoint alone).
 */
export function endpointOptions(endpoint: Fields | undefined): EndpointOptions {
  const aliases = endpoint?.strings('Aliases');
  const ip = endpoint?.object('IPAMConfig')?.string('IPv4Address');
  const ip6 = endpoint?.object('IPAMConfig')?.string('IPv6Address');
  const linkLocalIps = endpoint?.object('IPAMConfig')?.strings('LinkLocalIPs');
  const links = endpoint?.strings('Links')?.map(parseLink);
  return { ...(aliases?.length ? { aliases } : {}), ...(ip ? { ip } : {}), ...(ip6 ? { ip6 } : {}), ...(linkLocalIps?.length ? { linkLocalIps } : {}), ...(links?.length ? { links } : {}) };
}

/** What shapes the reading of a create: the request's API version, and where its warnings go. */
export interface CreateContext {
  /** The newest served when not given, as for a request that names none. */
  version?: ApiVersion;
  /** Collects what the create answers in `Warnings` besides the engine's. */
  warnings?: string[];
}

/**
 * `POST /containers/create`'s body (Docker's `Config` with `HostConfig` and
 * `NetworkingConfig` inside) as the engine's create options. Fields the engine has no
 * notion of are ignored like an older dockerd ignores newer ones; fields of the wrong
 * type are InvalidArgument.
 */
/**
 * The JSON names of moby's `container.Config`, which a create body embeds: Go's decoder makes
 * the body's Config only when it meets one of them (matching names as it does, in any case).
 */
const CONTAINER_CONFIG_FIELDS = new Set(
  [
    'Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty', 'OpenStdin', 'StdinOnce', 'Env', 'Cmd',
    'Healthcheck', 'ArgsEscaped', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'NetworkDisabled', 'MacAddress', 'OnBuild', 'Labels', 'StopSignal',
    'StopTimeout', 'Shell',
  ].map((field) => field.toLowerCase()),
);

export function createOptionsFromBody(body: Record<string, unknown>, name: string | undefined, context: CreateContext = {}): CreateContainerOptions {
  // dockerd's runconfig.ErrEmptyConfig, for `{}`, `null` or a HostConfig alone.
  if (!Object.keys(body).some((key) => CONTAINER_CONFIG_FIELDS.has(key.toLowerCase()))) throw invalidArgument('config cannot be empty in order to create a container');
  const config = new Fields(body, '');
  const image = config.string('Image');
  if (!image) throw invalidArgument('no image specified: Config.Image is required');
  const host = config.object('HostConfig') ?? new Fields({}, 'HostConfig.');
  const options: CreateContainerOptions = { image, pull: 'never' };
  const set = <K extends keyof CreateContainerOptions>(key: K, value: CreateContainerOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };

  set('name', name || undefined);
  set('cmd', config.strings('Cmd', { single: true }));
  set('entrypoint', config.strings('Entrypoint', { single: true }));
  set('env', config.strings('Env'));
  set('workingDir', config.string('WorkingDir') || undefined);
  set('user', config.string('User') || undefined);
  set('hostname', config.string('Hostname') || undefined);
  set('domainname', config.string('Domainname') || undefined);
  set('tty', config.bool('Tty'));
  set('openStdin', config.bool('OpenStdin'));
  set('stdinOnce', config.bool('StdinOnce'));
  const attach = { stdin: config.bool('AttachStdin'), stdout: config.bool('AttachStdout'), stderr: config.bool('AttachStderr') };
  // Recorded as sent (docker's CLI sends all three); a client that sends none gets Docker's defaults.
  if (attach.stdin !== undefined || attach.stdout !== undefined || attach.stderr !== undefined) {
    options.attach = { stdin: attach.stdin ?? false, stdout: attach.stdout ?? false, stderr: attach.stderr ?? false };
  }
  set('labels', config.stringMap('Labels'));
  set('stopSignal', config.string('StopSignal') || undefined);
  set('stopTimeout', config.number('StopTimeout'));
  set('shell', nonEmpty(config.strings('Shell')));
  set('containerIdFile', host.string('ContainerIDFile') || undefined);
  set('consoleSize', host.consoleSize('ConsoleSize'));
  const health = config.object('Healthcheck');
  if (health) {
    const check: HealthConfig = {};
    const test = health.strings('Test');
    if (test) check.Test = test;
    for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
      const value = health.number(key);
      if (value) check[key] = value;
    }
    options.healthcheck = check;
  }

  const binds = host.strings('Binds') ?? [];
  const tmpfs = Object.entries(host.stringMap('Tmpfs') ?? {}).map(([target, opts]) => (opts ? `${target}:${opts}` : target));
  const mountSpecs = (host.objects('Mounts') ?? []).map(apiMount);
  // Config.Volumes names anonymous volumes (the CLI's `-v /path`); dockerd lets a bind or
  // mount at the same place win (docker-compose sends a named volume both ways).
  const mounted = new Set(binds.map(volumeTarget).concat([...tmpfs.map((spec) => spec.split(':')[0] as string), ...mountSpecs.map((m) => m.Target ?? '')].map((target) => path.posix.resolve(target))));
  const anonymous = (config.keys('Volumes') ?? []).filter((target) => !mounted.has(volumeTarget(target)));
  const volumes = [...binds, ...anonymous];
  if (volumes.length > 0) options.volumes = volumes;
  set('configVolumes', nonEmpty(config.keys('Volumes')));
  if (tmpfs.length > 0) options.tmpfs = tmpfs;
  if (mountSpecs.length > 0) options.mountSpecs = mountSpecs;

  const networkMode = host.string('NetworkMode');
  set('network', !networkMode || networkMode === 'default' ? undefined : networkMode);
  const endpoints = (config.object('NetworkingConfig') ?? new Fields({}, 'NetworkingConfig.')).entries('EndpointsConfig');
  const endpoint = endpoints.find(([network]) => network === (networkMode || 'default')) ?? endpoints[0];
  if (endpoint) {
    if (!options.network && endpoint[0] !== 'default') options.network = endpoint[0];
    const { aliases, ip, ip6, linkLocalIps, links } = endpointOptions(endpoint[1]);
    set('networkAliases', aliases);
    set('ip', ip);
    set('ip6', ip6);
    set('linkLocalIps', linkLocalIps);
    set('networkLinks', links);
  }
  set('macAddress', macAddressOf(config, networkMode, endpoints, context));
  const publish = publishSpecs(host);
  if (publish.length > 0) options.publish = publish;
  set('publishAll', host.bool('PublishAllPorts'));
  set('expose', nonEmpty(config.keys('ExposedPorts')));
  set('volumesFrom', nonEmpty(host.strings('VolumesFrom')));
  set('links', nonEmpty(host.strings('Links')));
  set('usernsMode', host.string('UsernsMode') || undefined);
  const deviceRequests = (host.objects('DeviceRequests') ?? []).map(
    (d): DeviceRequest => ({
      Driver: d.string('Driver') ?? '',
      Count: d.number('Count') ?? 0,
      DeviceIDs: d.strings('DeviceIDs') ?? [],
      Capabilities: d.stringLists('Capabilities') ?? [],
      Options: d.stringMap('Options') ?? {},
    }),
  );
  set('deviceRequests', nonEmpty(deviceRequests));

  const restart = restartFrom(host);
  if (restart && restart !== 'no') options.restart = restart;
  set('autoRemove', host.bool('AutoRemove'));
  const log = host.object('LogConfig');
  const logDriver = log?.string('Type') || undefined;
  const logOptions = log?.stringMap('Config');
  if (logDriver || (logOptions && Object.keys(logOptions).length > 0)) set('log', { ...(logDriver ? { driver: logDriver } : {}), ...(logOptions ? { options: logOptions } : {}) });

  Object.assign(options, resourcesFrom(host));
  // At create, a lifted pids limit is no limit at all.
  if (options.pidsLimit === -1) delete options.pidsLimit;
  set('oomKillDisable', host.bool('OomKillDisable') || undefined);
  // docker's CLI always sends its flag's default, -1, for "unset" (dockerd's fixMemorySwappiness).
  const swappiness = host.number('MemorySwappiness');
  set('memorySwappiness', swappiness === -1 ? undefined : swappiness);
  set('oomScoreAdj', host.number('OomScoreAdj') || undefined);
  set('blkioWeightDevice', blockDevices(host, 'BlkioWeightDevice', (path, d) => ({ path, weight: d.number('Weight') ?? 0 })));
  for (const [option, key] of THROTTLES) set(option, blockDevices(host, key, (path, d) => ({ path, rate: d.number('Rate') ?? 0 })));
  set('cgroupParent', host.string('CgroupParent') || undefined);
  // The runtime checks the mode and names a wrong one; '' is Docker's "the daemon's default".
  set('cgroupns', (host.string('CgroupnsMode') || undefined) as CreateContainerOptions['cgroupns']);
  set('shmSize', positive(host.number('ShmSize')));
  set('ulimits', ulimitsFrom(host));
  set('capAdd', nonEmpty(host.strings('CapAdd')));
  set('capDrop', nonEmpty(host.strings('CapDrop')));
  set('readOnlyRootfs', host.bool('ReadonlyRootfs') || undefined);
  Object.assign(options, securitySettings(host.strings('SecurityOpt') ?? []));
  // Absent or null is the daemon's defaults; `[]` (docker's CLI for systempaths=unconfined) is none.
  set('maskedPaths', host.strings('MaskedPaths'));
  set('readonlyPaths', host.strings('ReadonlyPaths'));
  set('init', host.bool('Init') || undefined);
  set('privileged', host.bool('Privileged') || undefined);
  const devices = (host.objects('Devices') ?? []).map((d) => {
    const pathOnHost = d.string('PathOnHost');
    if (!pathOnHost) throw invalidArgument('invalid device: PathOnHost is required');
    return { pathOnHost, pathInContainer: d.string('PathInContainer') || pathOnHost, permissions: d.string('CgroupPermissions') || 'rwm' };
  });
  if (devices.length > 0) options.devices = devices;
  set('deviceCgroupRules', nonEmpty(host.strings('DeviceCgroupRules')));
  set('platform', platformFrom(host));
  set('groupAdd', nonEmpty(host.strings('GroupAdd')));
  // The runtime checks the modes and names a wrong one; '' is Docker's "the default".
  set('pid', (host.string('PidMode') || undefined) as CreateContainerOptions['pid']);
  set('ipc', (host.string('IpcMode') || undefined) as CreateContainerOptions['ipc']);
  set('uts', (host.string('UTSMode') || undefined) as CreateContainerOptions['uts']);
  set('extraHosts', nonEmpty(host.strings('ExtraHosts')));
  set('dns', nonEmpty(host.strings('Dns')));
  set('dnsSearch', nonEmpty(host.strings('DnsSearch')));
  set('dnsOptions', nonEmpty(host.strings('DnsOptions')));
  set('sysctls', host.stringMap('Sysctls'));
  set('annotations', host.stringMap('Annotations'));
  return options;
}

/**
 * moby's handleMACAddressBC: the MAC of the container's main network. Before API 1.44 it is
 * the container-wide `Config.MacAddress` (an endpoint's `MacAddress` did not exist yet and is
 * ignored); since, the endpoint's, and a container-wide one still given is moved to the main
 * network's endpoint with a warning, refused when it names another address than the endpoint's.
 */
function macAddressOf(config: Fields, networkMode: string | undefined, endpoints: Array<[string, Fields]>, context: CreateContext): string | undefined {
  const wide = config.string('MacAddress') || undefined;
  if (versionBefore(context.version ?? MAX_API_VERSION, '1.44')) return wide;
  // `default` is the default bridge, by either name.
  const main = !networkMode || networkMode === 'default' ? 'bridge' : networkMode;
  const mainEndpoint = endpoints.find(([network]) => (network === 'default' ? 'bridge' : network) === main)?.[1];
  const own = (mainEndpoint ?? endpoints[0]?.[1])?.string('MacAddress') || undefined;
  if (!wide) return own;
  context.warnings?.push('The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.');
  // Without a network of its own the container-wide address is dropped (the endpoint's, if any, is refused later).
  if (main === 'host' || main === 'none' || main.startsWith('container:')) return own;
  if (endpoints.length === 0) return wide;
  if (!mainEndpoint) throw invalidArgument('if a container-wide MAC address is supplied, HostConfig.NetworkMode must match the identity of a network in NetworkSettings.Networks');
  if (own !== undefined && own !== wide) throw invalidArgument('the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty');
  return wide;
}

/** `Runtime`, `Isolation`, `VolumeDriver`, `StorageOpt` and Windows' limits, for the engine to check as dockerd does; undefined when none is set. */
function platformFrom(host: Fields): PlatformSettings | undefined {
  const storageOpt = host.stringMap('StorageOpt');
  const platform: PlatformSettings = {
    runtime: host.string('Runtime') || undefined,
    isolation: host.string('Isolation') || undefined,
    volumeDriver: host.string('VolumeDriver') || undefined,
    storageOpt: storageOpt && Object.keys(storageOpt).length > 0 ? storageOpt : undefined,
    cpuCount: host.number('CpuCount') || undefined,
    cpuPercent: host.number('CpuPercent') || undefined,
    ioMaximumBandwidth: host.number('IOMaximumBandwidth') || undefined,
    ioMaximumIOps: host.number('IOMaximumIOps') || undefined,
  };
  const given = definedFields(platform);
  return Object.keys(given).length > 0 ? given : undefined;
}

type Ulimit = NonNullable<CreateContainerOptions['ulimits']>[number];

/** Docker's `Ulimits: [{Name, Soft, Hard}]` as the engine's; undefined when there are none. */
function ulimitsFrom(fields: Fields): Ulimit[] | undefined {
  const ulimits = (fields.objects('Ulimits') ?? []).map((u): Ulimit => ({ name: u.string('Name') ?? '', soft: u.number('Soft') ?? 0, hard: u.number('Hard') ?? 0 }));
  return ulimits.length > 0 ? ulimits : undefined;
}

/** The throttle lists: the engine's option and Docker's `HostConfig` field. */
const THROTTLES = [
  ['blkioDeviceReadBps', 'BlkioDeviceReadBps'],
  ['blkioDeviceWriteBps', 'BlkioDeviceWriteBps'],
  ['blkioDeviceReadIOps', 'BlkioDeviceReadIOps'],
  ['blkioDeviceWriteIOps', 'BlkioDeviceWriteIOps'],
] as const;

/** A list of Docker's `{Path, Rate}` or `{Path, Weight}` as the engine's entries; undefined when empty. */
function blockDevices<T>(host: Fields, key: string, entry: (path: string, device: Fields) => T): T[] | undefined {
  const devices = (host.objects(key) ?? []).map((device) => {
    const path = device.string('Path');
    if (!path) throw invalidArgument(`invalid HostConfig.${key}: Path is required`);
    return entry(path, device);
  });
  return devices.length > 0 ? devices : undefined;
}

const positive = (n: number | undefined): number | undefined => (n && n > 0 ? n : undefined);

/**
 * Docker's `Resources` limits, in `HostConfig` at create and the whole body of an update:
 * 0 means "not set" (and "unchanged" to an update), except a `PidsLimit` of 0 or -1,
 * which lifts the limit.
 */
function resourcesFrom(fields: Fields): Omit<UpdateOptions, 'restart'> {
  const swap = fields.number('MemorySwap');
  // A negative count goes on, for the engine to refuse as dockerd does (its range of CPUs).
  const nanoCpus = fields.number('NanoCpus') || undefined;
  const pidsLimit = fields.number('PidsLimit');
  const resources: Omit<UpdateOptions, 'restart'> = {
    memory: positive(fields.number('Memory')),
    memorySwap: swap === -1 ? -1 : positive(swap),
    memoryReservation: positive(fields.number('MemoryReservation')),
    cpus: nanoCpus ? nanoCpus / 1e9 : undefined,
    cpuShares: positive(fields.number('CpuShares')),
    cpuQuota: positive(fields.number('CpuQuota')),
    cpuPeriod: positive(fields.number('CpuPeriod')),
    cpuRealtimePeriod: positive(fields.number('CpuRealtimePeriod')),
    cpuRealtimeRuntime: positive(fields.number('CpuRealtimeRuntime')),
    cpusetCpus: fields.string('CpusetCpus') || undefined,
    cpusetMems: fields.string('CpusetMems') || undefined,
    pidsLimit: pidsLimit === undefined ? undefined : pidsLimit > 0 ? pidsLimit : -1,
    blkioWeight: positive(fields.number('BlkioWeight')),
  };
  return Object.fromEntries(Object.entries(resources).filter(([, v]) => v !== undefined));
}

/**
 * Docker's `RestartPolicy` as the engine's `on-failure:3`; undefined when none is named (moby
 * takes an empty name with any count, as older clients sent). A count goes with every policy:
 * the engine refuses it where dockerd does.
 */
function restartFrom(fields: Fields): string | undefined {
  const restart = fields.object('RestartPolicy');
  const policy = restart?.string('Name');
  if (!policy) return undefined;
  const retries = restart?.number('MaximumRetryCount') ?? 0;
  return retries !== 0 ? `${policy}:${retries}` : policy;
}

/**
 * `POST /build`'s parameters for its RUN steps' containers (`extrahosts`, `memory`,
 * `memswap`, `cpushares`, …, `ulimits` as JSON) as the engine's step options; 0 is "not set".
 */
export function buildStepsFromQuery(query: Query): BuildStepOptions {
  const swap = query.int('memswap');
  const ulimitsJson = query.string('ulimits');
  let ulimits: unknown;
  try {
    ulimits = ulimitsJson ? JSON.parse(ulimitsJson) : undefined;
  } catch (error) {
    throw invalidArgument(`invalid ulimits: ${(error as Error).message}`);
  }
  const steps: BuildStepOptions = {
    extraHosts: nonEmpty(query.all('extrahosts')),
    memory: positive(query.int('memory')),
    memorySwap: swap === -1 ? -1 : positive(swap),
    cpuShares: positive(query.int('cpushares')),
    cpuPeriod: positive(query.int('cpuperiod')),
    cpuQuota: positive(query.int('cpuquota')),
    cpusetCpus: query.string('cpusetcpus') || undefined,
    cpusetMems: query.string('cpusetmems') || undefined,
    shmSize: positive(query.int('shmsize')),
    ulimits: ulimitsFrom(new Fields({ Ulimits: ulimits }, 'build parameter ')),
    cgroupParent: query.string('cgroupparent') || undefined,
    ...buildSecurityOptions(query.all('securityopt')),
  };
  return Object.fromEntries(Object.entries(steps).filter(([, v]) => v !== undefined));
}

/** `POST /containers/{id}/update`'s body as the engine's update options. */
export function updateOptionsFromBody(body: Record<string, unknown>): UpdateOptions {
  const fields = new Fields(body, '');
  const restart = restartFrom(fields);
  return { ...resourcesFrom(fields), ...(restart ? { restart } : {}) };
}

function nonEmpty<T>(list: T[] | undefined): T[] | undefined {
  return list && list.length > 0 ? list : undefined;
}

/** `PortBindings: {"80/tcp": [{HostIp, HostPort}]}` as `-p` values: `127.0.0.1:8080:80/tcp`, `[::]:8080:80/tcp`. */
function publishSpecs(host: Fields): string[] {
  const out: string[] = [];
  for (const [port, bindings] of host.entriesOfArrays('PortBindings')) {
    if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(port)) throw invalidArgument(`invalid port specification: ${JSON.stringify(port)}`);
    for (const b of bindings.length > 0 ? bindings : [new Fields({}, '')]) {
      const ip = b.string('HostIp') ?? '';
      const hostPort = b.string('HostPort') ?? '';
      const address = ip.includes(':') ? `[${ip}]` : ip;
      out.push(ip ? `${address}:${hostPort}:${port}` : hostPort ? `${hostPort}:${port}` : port);
    }
  }
  return out;
}

/** A `HostConfig.Mounts` entry with the fields dockerd reads, as sent (the engine checks the rest; inspect shows it). */
function apiMount(mount: Fields): ApiMount {
  const bind = mount.object('BindOptions');
  const volume = mount.object('VolumeOptions');
  const driver = volume?.object('DriverConfig');
  const tmpfs = mount.object('TmpfsOptions');
  return checkedMount(definedFields({
    Type: mount.string('Type'),
    Source: mount.string('Source'),
    Target: mount.string('Target'),
    ReadOnly: mount.bool('ReadOnly'),
    Consistency: mount.string('Consistency'),
    BindOptions: bind
      ? definedFields({
          Propagation: bind.string('Propagation'),
          NonRecursive: bind.bool('NonRecursive'),
          CreateMountpoint: bind.bool('CreateMountpoint'),
          ReadOnlyNonRecursive: bind.bool('ReadOnlyNonRecursive'),
          ReadOnlyForceRecursive: bind.bool('ReadOnlyForceRecursive'),
        })
      : undefined,
    VolumeOptions: volume
      ? definedFields({
          NoCopy: volume.bool('NoCopy'),
          Labels: volume.stringMap('Labels'),
          Subpath: volume.string('Subpath'),
          DriverConfig: driver ? definedFields({ Name: driver.string('Name'), Options: driver.stringMap('Options') }) : undefined,
        })
      : undefined,
    TmpfsOptions: tmpfs ? definedFields({ SizeBytes: tmpfs.number('SizeBytes'), Mode: tmpfs.number('Mode'), Options: tmpfs.stringLists('Options') }) : undefined,
  }));
}

/** The object without its undefined fields (JSON's absent ones). */
function definedFields<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

/** Where a `-v` spec mounts, or the spec itself when it is malformed (the engine refuses it then). */
function volumeTarget(spec: string): string {
  try {
    return path.posix.resolve(parseVolumeSpec(spec).target);
  } catch {
    return spec;
  }
}
