import type { CreateOptions } from './engine-api';
import { parseBytes } from '@ctr/runtime';
import type { ContainerCreateRequest, HostConfig } from './api-types';

/** `-p [ip:][hostPort:]containerPort[/proto]` as Docker's `PortBindings` key and binding. */
function portBinding(spec: string): [string, { HostIp: string; HostPort: string }] {
  const parts = spec.split(':');
  const container = parts.pop() as string;
  const key = container.includes('/') ? container : `${container}/tcp`;
  const hostPort = parts.pop() ?? '';
  return [key, { HostIp: parts.join(':').replace(/^\[|\]$/g, ''), HostPort: hostPort }];
}

/** `on-failure:3` as Docker's `RestartPolicy`. */
function restartPolicy(text: string): HostConfig['RestartPolicy'] {
  const [name, count] = text.split(':') as [NonNullable<HostConfig['RestartPolicy']>['Name'], string | undefined];
  return { Name: name, MaximumRetryCount: count ? Number(count) : 0 };
}

function bytes(value: number | string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  return value === -1 || value === '-1' ? -1 : parseBytes(value, what);
}

function defined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as T;
}

/**
 * The engine's create options as the body of `POST /containers/create`, the way the docker
 * CLI turns `docker create` flags into the API's `Config` + `HostConfig` + `NetworkingConfig`:
 * sizes and CPUs become numbers, `-p` becomes `PortBindings`, `-v /path` an anonymous volume.
 */
export function createRequest(options: CreateOptions): ContainerCreateRequest {
  const volumes = options.volumes ?? [];
  const publish = options.publish ?? [];
  const portBindings: NonNullable<HostConfig['PortBindings']> = {};
  for (const spec of publish) {
    const [key, binding] = portBinding(spec);
    (portBindings[key] ??= []).push(binding);
  }
  const security = [...(options.noNewPrivileges ? ['no-new-privileges'] : []), ...(options.seccomp === 'unconfined' ? ['seccomp=unconfined'] : [])];
  const network = options.network ?? 'bridge';
  const endpoint = defined({ Aliases: options.networkAliases, IPAMConfig: options.ip ? { IPv4Address: options.ip } : undefined });
  const cpus = options.cpus === undefined ? undefined : Math.round(Number(options.cpus) * 1e9);
  const host: HostConfig = defined({
    Binds: volumes.filter((v) => v.includes(':')),
    NetworkMode: network,
    PortBindings: publish.length > 0 ? portBindings : undefined,
    PublishAllPorts: options.publishAll,
    RestartPolicy: options.restart ? restartPolicy(options.restart) : undefined,
    AutoRemove: options.autoRemove,
    Tmpfs: options.tmpfs?.length ? Object.fromEntries(options.tmpfs.map((t) => [t.split(':')[0] as string, t.split(':').slice(1).join(':')])) : undefined,
    Memory: bytes(options.memory, 'memory'),
    MemorySwap: bytes(options.memorySwap, 'memory-swap'),
    MemoryReservation: bytes(options.memoryReservation, 'memory-reservation'),
    NanoCpus: cpus,
    CpuShares: options.cpuShares,
    CpuQuota: options.cpuQuota,
    CpuPeriod: options.cpuPeriod,
    CpusetCpus: options.cpusetCpus,
    CpusetMems: options.cpusetMems,
    PidsLimit: options.pidsLimit,
    OomKillDisable: options.oomKillDisable,
    ShmSize: bytes(options.shmSize, 'shm-size'),
    Ulimits: options.ulimits?.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    CapAdd: options.capAdd,
    CapDrop: options.capDrop,
    ReadonlyRootfs: options.readOnlyRootfs,
    SecurityOpt: security,
    ExtraHosts: options.extraHosts,
    Dns: options.dns,
    DnsSearch: options.dnsSearch,
    DnsOptions: options.dnsOptions,
    Sysctls: options.sysctls,
  });
  const anonymous = volumes.filter((v) => !v.includes(':'));
  return defined({
    Image: options.image,
    Cmd: options.cmd,
    Entrypoint: typeof options.entrypoint === 'string' ? [options.entrypoint] : options.entrypoint,
    Env: options.env,
    WorkingDir: options.workingDir,
    User: options.user,
    Hostname: options.hostname,
    Domainname: options.domainname,
    Tty: options.tty,
    OpenStdin: options.openStdin,
    StdinOnce: options.openStdin,
    AttachStdin: options.openStdin,
    AttachStdout: true,
    AttachStderr: true,
    Labels: options.labels,
    StopSignal: options.stopSignal,
    StopTimeout: options.stopTimeout,
    Volumes: anonymous.length > 0 ? Object.fromEntries(anonymous.map((v) => [v, {}])) : undefined,
    HostConfig: host,
    NetworkingConfig: Object.keys(endpoint).length > 0 ? { EndpointsConfig: { [network]: endpoint } } : undefined,
  });
}
