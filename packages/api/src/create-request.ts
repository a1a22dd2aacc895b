import { unsupported } from '@ctr/errors';
import { parseBytes } from '@ctr/runtime';
import { defaultStdinOnce, exposedPortKeys, portBindingsOf, securityOptList, type BuildStepOptions, type UpdateOptions } from '@ctr/engine';
import type { ContainerCreateRequest, ContainerUpdateRequest, HostConfig, ThrottleDevice } from './api-types';
import type { CreateOptions } from './engine-api';

type Mount = NonNullable<CreateOptions['mounts']>[number];

/** `on-failure:3` as Docker's `RestartPolicy`. */
function restartPolicy(text: string | undefined): HostConfig['RestartPolicy'] {
  if (!text) return undefined;
  const [name, count] = text.split(':') as [NonNullable<HostConfig['RestartPolicy']>['Name'], string | undefined];
  return { Name: name, MaximumRetryCount: count ? Number(count) : 0 };
}

function bytes(value: number | string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  return value === -1 || value === '-1' ? -1 : parseBytes(value, what);
}

/** Mounts already in the runtime's shape: a volume's source is the daemon's own directory for it, so it goes as a bind. */
function apiMount(mount: Mount): NonNullable<HostConfig['Mounts']>[number] {
  if (mount.type === 'tmpfs') return { Type: 'tmpfs', Target: mount.target, ...(mount.size !== undefined ? { TmpfsOptions: { SizeBytes: parseBytes(mount.size, 'tmpfs size') } } : {}) };
  return { Type: 'bind', Source: mount.source, Target: mount.target, ReadOnly: mount.readOnly === true };
}

/** `--device-read-bps` and the other throttles as Docker's `[{Path, Rate}]`. */
function throttles(devices: CreateOptions['blkioDeviceReadBps']): ThrottleDevice[] | undefined {
  return devices?.map((d) => ({ Path: d.path, Rate: d.rate }));
}

/** The engine's build step options as `POST /build`'s parameters (sizes in bytes, ulimits as JSON), as docker's CLI sends them. */
export function buildStepsQuery(steps: BuildStepOptions): Record<string, string | number | string[] | undefined> {
  return defined({
    extrahosts: steps.extraHosts,
    memory: bytes(steps.memory, 'memory'),
    memswap: bytes(steps.memorySwap, 'memory-swap'),
    cpushares: steps.cpuShares,
    cpuperiod: steps.cpuPeriod,
    cpuquota: steps.cpuQuota,
    cpusetcpus: steps.cpusetCpus,
    cpusetmems: steps.cpusetMems,
    shmsize: bytes(steps.shmSize, 'shm-size'),
    ulimits: steps.ulimits?.length ? JSON.stringify(steps.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard }))) : undefined,
    cgroupparent: steps.cgroupParent,
    securityopt: securityOptList(steps),
  });
}

/** Drop what was not given, so the body says only what the caller asked for. */
function defined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as T;
}

/** Docker's `Resources` fields (in `HostConfig` at create, the body of an update), sizes and CPUs as numbers. */
function resourcesBody(options: Omit<UpdateOptions, 'restart'>): ContainerUpdateRequest {
  return {
    Memory: bytes(options.memory, 'memory'),
    MemorySwap: bytes(options.memorySwap, 'memory-swap'),
    MemoryReservation: bytes(options.memoryReservation, 'memory-reservation'),
    NanoCpus: options.cpus === undefined ? undefined : Math.round(Number(options.cpus) * 1e9),
    CpuShares: options.cpuShares,
    CpuQuota: options.cpuQuota,
    CpuPeriod: options.cpuPeriod,
    CpuRealtimePeriod: options.cpuRealtimePeriod,
    CpuRealtimeRuntime: options.cpuRealtimeRuntime,
    CpusetCpus: options.cpusetCpus,
    CpusetMems: options.cpusetMems,
    PidsLimit: options.pidsLimit,
    BlkioWeight: options.blkioWeight,
  };
}

/** `docker update`'s options as the body of `POST /containers/{id}/update`. */
export function updateRequest(options: UpdateOptions): ContainerUpdateRequest {
  const { restart, ...resources } = options;
  return defined({ ...resourcesBody(resources), RestartPolicy: restartPolicy(restart) });
}

/**
 * The engine's create options as the body of `POST /containers/create`, the way the docker
 * CLI turns `docker create` flags into the API's `Config` + `HostConfig` + `NetworkingConfig`:
 * sizes and CPUs become numbers, `-p` becomes `PortBindings`, `-v /path` an anonymous volume.
 * Every option is named here, so an option added to the engine fails to compile until it is
 * sent (or said to stay with the client).
 */
export function createRequest(options: CreateOptions): ContainerCreateRequest {
  const {
    image, name: _name, cmd, entrypoint, env, workingDir, user, hostname, domainname, tty, openStdin, labels, stopSignal, stopTimeout,
    volumes = [], configVolumes, tmpfs = [], mounts = [], mountSpecs = [], network = 'bridge', networkAliases, ip, ip6, linkLocalIps, publish = [], publishAll, restart, autoRemove, log,
    memory, memorySwap, memoryReservation, cpus, cpuShares, cpuQuota, cpuPeriod, cpuRealtimePeriod, cpuRealtimeRuntime, cpusetCpus, cpusetMems, pidsLimit,
    oomKillDisable, shmSize, ulimits,
    blkioWeight, blkioWeightDevice, blkioDeviceReadBps, blkioDeviceWriteBps, blkioDeviceReadIOps, blkioDeviceWriteIOps,
    memorySwappiness, oomScoreAdj, cgroupParent, cgroupns,
    capAdd, capDrop, noNewPrivileges, seccomp, securityOpt, maskedPaths, readonlyPaths, readOnlyRootfs, extraHosts, dns, dnsSearch, dnsOptions, sysctls, annotations,
    init, privileged, devices, deviceCgroupRules, groupAdd, pid, ipc, uts, platform = {},
    expose = [], volumesFrom, macAddress, links, networkLinks, usernsMode, deviceRequests, containerIdFile,
    healthcheck, shell, attach, stdinOnce, consoleSize,
    // The client's part: the name and platform go in the query, pulls and progress are done before the create, the signal stays local.
    pull: _pull, onPullProgress: _progress, signal: _signal, imagePlatform: _platform,
    internalMounts,
    ...rest
  } = options;
  rest satisfies Record<string, never>;
  // Sent as mounts they would be the container's (inspect shows them), which they must not be.
  if (internalMounts?.length) throw unsupported("a container's internal mounts cannot be sent over the API", { hint: 'create the container with an in-process engine' });
  // As given when they were (what docker's CLI sends); else what the settings say.
  const security = securityOpt ?? securityOptList({ noNewPrivileges, seccomp });
  const endpoint = defined({
    Aliases: networkAliases,
    IPAMConfig: ip || ip6 || linkLocalIps?.length ? defined({ IPv4Address: ip, IPv6Address: ip6, LinkLocalIPs: linkLocalIps?.length ? linkLocalIps : undefined }) : undefined,
    MacAddress: macAddress,
    Links: networkLinks?.map((link) => `${link.name}:${link.alias}`),
  });
  const anonymous = configVolumes ?? volumes.filter((v) => !v.includes(':'));
  const host: HostConfig = defined({
    Binds: volumes.filter((v) => v.includes(':')),
    Mounts: [...mounts.map(apiMount), ...mountSpecs],
    Tmpfs: tmpfs.length > 0 ? Object.fromEntries(tmpfs.map((t) => [t.split(':')[0] as string, t.split(':').slice(1).join(':')])) : undefined,
    NetworkMode: network,
    PortBindings: publish.length > 0 ? portBindingsOf(publish) : undefined,
    PublishAllPorts: publishAll,
    RestartPolicy: restartPolicy(restart),
    AutoRemove: autoRemove,
    LogConfig: log ? defined({ Type: log.driver, Config: log.options }) : undefined,
    ...resourcesBody({ memory, memorySwap, memoryReservation, cpus, cpuShares, cpuQuota, cpuPeriod, cpuRealtimePeriod, cpuRealtimeRuntime, cpusetCpus, cpusetMems, pidsLimit, blkioWeight }),
    OomKillDisable: oomKillDisable,
    BlkioWeightDevice: blkioWeightDevice?.map((d) => ({ Path: d.path, Weight: d.weight })),
    BlkioDeviceReadBps: throttles(blkioDeviceReadBps),
    BlkioDeviceWriteBps: throttles(blkioDeviceWriteBps),
    BlkioDeviceReadIOps: throttles(blkioDeviceReadIOps),
    BlkioDeviceWriteIOps: throttles(blkioDeviceWriteIOps),
    MemorySwappiness: memorySwappiness,
    OomScoreAdj: oomScoreAdj,
    CgroupParent: cgroupParent,
    CgroupnsMode: cgroupns,
    ShmSize: bytes(shmSize, 'shm-size'),
    Ulimits: ulimits?.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    CapAdd: capAdd,
    CapDrop: capDrop,
    ReadonlyRootfs: readOnlyRootfs,
    SecurityOpt: security,
    ExtraHosts: extraHosts,
    Dns: dns,
    DnsSearch: dnsSearch,
    DnsOptions: dnsOptions,
    Sysctls: sysctls,
    Annotations: annotations,
    Init: init,
    Privileged: privileged,
    Devices: devices?.map((d) => defined({ PathOnHost: d.pathOnHost, PathInContainer: d.pathInContainer ?? d.pathOnHost, CgroupPermissions: d.permissions ?? 'rwm' })),
    DeviceCgroupRules: deviceCgroupRules,
    GroupAdd: groupAdd,
    PidMode: pid,
    IpcMode: ipc,
    UTSMode: uts,
    UsernsMode: usernsMode,
    VolumesFrom: volumesFrom,
    Links: links,
    DeviceRequests: deviceRequests,
    // docker's CLI sends `--cidfile` (and writes the file itself): the daemon keeps it for inspect.
    ContainerIDFile: containerIdFile,
    ConsoleSize: consoleSize ? [consoleSize.height, consoleSize.width] : undefined,
    Runtime: platform.runtime,
    Isolation: platform.isolation,
    VolumeDriver: platform.volumeDriver,
    StorageOpt: platform.storageOpt,
    CpuCount: platform.cpuCount,
    CpuPercent: platform.cpuPercent,
    IOMaximumBandwidth: platform.ioMaximumBandwidth,
    IOMaximumIOps: platform.ioMaximumIOps,
  });
  // Set, even empty: `[]` is no paths at all (systempaths=unconfined), which `defined` would drop for the defaults.
  if (maskedPaths) host.MaskedPaths = maskedPaths;
  if (readonlyPaths) host.ReadonlyPaths = readonlyPaths;
  return defined({
    Image: image,
    Cmd: cmd,
    Entrypoint: typeof entrypoint === 'string' ? [entrypoint] : entrypoint,
    Env: env,
    WorkingDir: workingDir,
    User: user,
    Hostname: hostname,
    Domainname: domainname,
    Tty: tty,
    OpenStdin: openStdin,
    StdinOnce: stdinOnce ?? defaultStdinOnce(openStdin, attach),
    AttachStdin: attach?.stdin ?? openStdin,
    AttachStdout: attach?.stdout ?? true,
    AttachStderr: attach?.stderr ?? true,
    Labels: labels,
    StopSignal: stopSignal,
    StopTimeout: stopTimeout,
    Healthcheck: healthcheck,
    Shell: shell,
    ExposedPorts: expose.length > 0 ? Object.fromEntries(exposedPortKeys(expose).map((port) => [port, {}])) : undefined,
    Volumes: anonymous.length > 0 ? Object.fromEntries(anonymous.map((v) => [v, {}])) : undefined,
    HostConfig: host,
    NetworkingConfig: Object.keys(endpoint).length > 0 ? { EndpointsConfig: { [network]: endpoint } } : undefined,
  });
}
