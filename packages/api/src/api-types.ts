/**
 * Request shapes of the Docker Engine API that the client sends, named as in the API
 * specification (`ContainerCreateRequest`, `HostConfig`, …), for the fields ctr serves.
 * Response shapes are the engine's own types, which already use Docker's field names, with
 * the fields ctrd adds for moby's Go types (`routes/swagger-fields.ts`).
 */
import type { ApiMount, ContainerInspect, ContainerSummary, DeviceRequest, EngineInfo, HealthConfig } from '@ctr/engine';

/** The limits `POST /containers/{id}/update` can change (part of Docker's `Resources`), and a restart policy. */
export interface ContainerUpdateRequest {
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number;
  BlkioWeight?: number;
  RestartPolicy?: { Name: 'no' | 'always' | 'unless-stopped' | 'on-failure' | ''; MaximumRetryCount?: number };
}

export interface HostConfig extends ContainerUpdateRequest {
  Binds?: string[];
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }>>;
  PublishAllPorts?: boolean;
  AutoRemove?: boolean;
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  Mounts?: ApiMount[];
  Tmpfs?: Record<string, string>;
  OomKillDisable?: boolean;
  ShmSize?: number;
  Ulimits?: Array<{ Name: string; Soft: number; Hard: number }>;
  BlkioWeightDevice?: Array<{ Path: string; Weight: number }>;
  BlkioDeviceReadBps?: ThrottleDevice[];
  BlkioDeviceWriteBps?: ThrottleDevice[];
  BlkioDeviceReadIOps?: ThrottleDevice[];
  BlkioDeviceWriteIOps?: ThrottleDevice[];
  MemorySwappiness?: number;
  OomScoreAdj?: number;
  CgroupParent?: string;
  CgroupnsMode?: string;
  CapAdd?: string[];
  CapDrop?: string[];
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[];
  /** Set, the paths masked (and made read-only) in place of the daemon's defaults; `[]` for none. */
  MaskedPaths?: string[];
  ReadonlyPaths?: string[];
  ExtraHosts?: string[];
  Dns?: string[];
  DnsSearch?: string[];
  DnsOptions?: string[];
  Sysctls?: Record<string, string>;
  Init?: boolean;
  Privileged?: boolean;
  Devices?: Array<{ PathOnHost: string; PathInContainer?: string; CgroupPermissions?: string }>;
  DeviceCgroupRules?: string[];
  Runtime?: string;
  Isolation?: string;
  VolumeDriver?: string;
  StorageOpt?: Record<string, string>;
  CpuCount?: number;
  CpuPercent?: number;
  IOMaximumBandwidth?: number;
  IOMaximumIOps?: number;
  GroupAdd?: string[];
  PidMode?: string;
  IpcMode?: string;
  UTSMode?: string;
  UsernsMode?: string;
  VolumesFrom?: string[];
  Links?: string[];
  DeviceRequests?: DeviceRequest[];
  ContainerIDFile?: string;
  /** `[height, width]` of the client's terminal: a TTY starts at it. */
  ConsoleSize?: [number, number];
}

/** Docker's `ThrottleDevice`: bytes or IO operations per second. */
export interface ThrottleDevice {
  Path: string;
  Rate: number;
}

export interface EndpointSettings {
  Aliases?: string[];
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] };
  MacAddress?: string;
  /** `name:alias` each: the alias names container `name` on this network for this endpoint alone. */
  Links?: string[];
}

export interface ContainerCreateRequest {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Hostname?: string;
  Domainname?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Labels?: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: HealthConfig;
  Shell?: string[];
  ExposedPorts?: Record<string, Record<string, never>>;
  Volumes?: Record<string, Record<string, never>>;
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointSettings> };
}

export interface ExecCreateRequest {
  Cmd: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  Privileged?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  /** Docker's key grammar (`ctrl-p,ctrl-q`): typed on a TTY's stdin, they detach from the exec. */
  DetachKeys?: string;
}

/** moby's container.WaitResponse: `Error` only when the wait itself failed. */
export interface WaitResponse {
  Error?: { Message: string };
  StatusCode: number;
}

export interface PingResponse {
  apiVersion: string;
  osType: string;
  builderVersion: string;
}

/** One line of a pull/push/build/load progress stream. */
export interface ProgressMessage {
  status?: string;
  id?: string;
  stream?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: Record<string, unknown>;
}

/** What moby's EndpointSettings always carries beyond the engine's endpoint. */
export interface EndpointResponse {
  DriverOpts: Record<string, string> | null;
}

/** `GET /containers/{id}/json`: the engine's inspect and the fields moby's InspectResponse always writes. */
export type ContainerInspectResponse = Omit<ContainerInspect, 'HostConfig' | 'NetworkSettings'> & {
  HostConfig: Omit<ContainerInspect['HostConfig'], 'Init'> & {
    /** Left out while unset, as moby's `*bool` with omitempty. */
    Init?: boolean;
    DeviceRequests: DeviceRequest[] | null;
    CpuPercent: number;
    IOMaximumIOps: number;
    IOMaximumBandwidth: number;
  };
  NetworkSettings: Omit<ContainerInspect['NetworkSettings'], 'Networks'> & {
    SecondaryIPAddresses: null;
    SecondaryIPv6Addresses: null;
    Networks: Record<string, ContainerInspect['NetworkSettings']['Networks'][string] & EndpointResponse>;
  };
};

/** A `GET /containers/json` entry, its endpoints as moby's. */
export type ContainerSummaryResponse = Omit<ContainerSummary, 'NetworkSettings'> & {
  NetworkSettings: { Networks: Record<string, ContainerSummary['NetworkSettings']['Networks'][string] & EndpointResponse> };
};

/** What moby's network.Inspect always carries beyond the engine's network. */
export interface NetworkResponse {
  /** The config-only network this one takes its configuration from: none here. */
  ConfigFrom: { Network: string };
}

/** `GET /info`: the engine's and the netfilter fields dockerd still sends at API 1.47. */
export type EngineInfoResponse = EngineInfo & {
  BridgeNfIptables: boolean;
  BridgeNfIp6tables: boolean;
};
