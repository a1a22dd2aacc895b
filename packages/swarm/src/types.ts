/**
 * Swarm mode's objects in the Docker Engine API's shapes (moby api/types/swarm), so that the
 * API server hands them out as they are and the real docker CLI reads them. Field names are
 * Docker's; a field Docker marks omitempty is optional here.
 */
import type { HealthConfig } from '@ctr/image';

/** An object's version: swarmkit's raft index of its last write. Updates name the version they read. */
export interface Version {
  Index: number;
}

/** What every stored object carries (moby swarm.Meta). */
export interface Meta {
  Version: Version;
  /** RFC 3339 with nanoseconds, as Go writes time.Time. */
  CreatedAt: string;
  UpdatedAt: string;
}

export interface Annotations {
  Name: string;
  Labels: Record<string, string>;
}

export type NodeRole = 'worker' | 'manager';
export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeState = 'unknown' | 'down' | 'ready' | 'disconnected';
export type LocalNodeState = 'inactive' | 'pending' | 'active' | 'error' | 'locked';

// ---------------------------------------------------------------- the swarm

export interface SwarmSpec {
  Name?: string;
  Labels?: Record<string, string>;
  Orchestration: { TaskHistoryRetentionLimit?: number };
  Raft: { SnapshotInterval: number; KeepOldSnapshots?: number; LogEntriesForSlowFollowers: number; ElectionTick: number; HeartbeatTick: number };
  Dispatcher: { HeartbeatPeriod?: number };
  CAConfig: { NodeCertExpiry?: number; ExternalCAs?: unknown[]; SigningCACert?: string; SigningCAKey?: string; ForceRotate?: number };
  TaskDefaults: { LogDriver?: { Name: string; Options?: Record<string, string> } };
  EncryptionConfig: { AutoLockManagers: boolean };
}

export interface JoinTokens {
  Worker: string;
  Manager: string;
}

/** GET /swarm (moby swarm.Swarm: ClusterInfo and JoinTokens). */
export interface SwarmInspect extends Meta {
  ID: string;
  Spec: SwarmSpec;
  TLSInfo: { TrustRoot: string; CertIssuerSubject: string; CertIssuerPublicKey: string };
  RootRotationInProgress: boolean;
  DefaultAddrPool: string[];
  SubnetSize: number;
  DataPathPort: number;
  JoinTokens: JoinTokens;
}

/** POST /swarm/init's body (moby swarm.InitRequest). */
export interface InitRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  DataPathPort?: number;
  ForceNewCluster?: boolean;
  Spec?: Partial<SwarmSpec>;
  AutoLockManagers?: boolean;
  Availability?: NodeAvailability;
  DefaultAddrPool?: string[];
  SubnetSize?: number;
}

/** POST /swarm/update's flags (query): which join tokens or unlock key to rotate. */
export interface SwarmUpdateFlags {
  RotateWorkerToken?: boolean;
  RotateManagerToken?: boolean;
  RotateManagerUnlockKey?: boolean;
}

/** `info`'s Swarm section (moby swarm.Info). */
export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: LocalNodeState;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: Array<{ NodeID: string; Addr: string }> | null;
  Nodes?: number;
  Managers?: number;
  /** moby's ClusterInfo: the swarm without its join tokens, which `info` never shows. */
  Cluster?: Omit<SwarmInspect, 'JoinTokens'>;
}

// ---------------------------------------------------------------- nodes

export interface NodeSpec {
  Name?: string;
  Labels: Record<string, string>;
  Role: NodeRole;
  Availability: NodeAvailability;
}

export interface Node extends Meta {
  ID: string;
  Spec: NodeSpec;
  Description: {
    Hostname: string;
    Platform: { Architecture: string; OS: string };
    Resources: { NanoCPUs: number; MemoryBytes: number };
    Engine: { EngineVersion: string; Labels?: Record<string, string>; Plugins: Array<{ Type: string; Name: string }> };
    TLSInfo: SwarmInspect['TLSInfo'];
  };
  /** AgentAddr is ctr's (not in docker's API): where the node's agent serves the manager's calls (host:port). */
  Status: { State: NodeState; Message?: string; Addr: string; AgentAddr?: string };
  ManagerStatus?: { Leader: boolean; Reachability: 'unknown' | 'unreachable' | 'reachable'; Addr: string };
}

// ---------------------------------------------------------------- services and tasks

export interface Mount {
  Type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; Subpath?: string; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] };
}

/** A ContainerSpec's Healthcheck is the image config's (moby's container.HealthConfig, durations in nanoseconds). */
export type { HealthConfig };

/** A secret or config as a task sees it: a file in the container. */
export interface FileReference {
  File?: { Name: string; UID: string; GID: string; Mode: number };
  Runtime?: Record<string, never>;
}
export interface SecretReference extends FileReference {
  SecretID: string;
  SecretName: string;
}
export interface ConfigReference extends FileReference {
  ConfigID: string;
  ConfigName: string;
}

export interface ContainerSpec {
  Image: string;
  Labels?: Record<string, string>;
  Command?: string[];
  Args?: string[];
  Hostname?: string;
  Env?: string[];
  Dir?: string;
  User?: string;
  Groups?: string[];
  Privileges?: unknown;
  Init?: boolean | null;
  StopSignal?: string;
  TTY?: boolean;
  OpenStdin?: boolean;
  ReadOnly?: boolean;
  Mounts?: Mount[];
  /** Nanoseconds, as Go's time.Duration. */
  StopGracePeriod?: number;
  Healthcheck?: HealthConfig;
  Hosts?: string[];
  DNSConfig?: { Nameservers?: string[]; Search?: string[]; Options?: string[] };
  Secrets?: SecretReference[];
  Configs?: ConfigReference[];
  Isolation?: string;
  Sysctls?: Record<string, string>;
  CapabilityAdd?: string[];
  CapabilityDrop?: string[];
  Ulimits?: Array<{ Name: string; Soft: number; Hard: number }>;
  OomScoreAdj?: number;
}

export interface Resources {
  NanoCPUs?: number;
  MemoryBytes?: number;
  Pids?: number;
}

export interface RestartPolicy {
  Condition?: 'none' | 'on-failure' | 'any';
  /** Nanoseconds. */
  Delay?: number;
  MaxAttempts?: number;
  /** Nanoseconds. */
  Window?: number;
}

export interface Placement {
  Constraints?: string[];
  Preferences?: Array<{ Spread?: { SpreadDescriptor: string } }>;
  MaxReplicas?: number;
  Platforms?: Array<{ Architecture?: string; OS?: string }>;
}

export interface NetworkAttachmentConfig {
  Target: string;
  Aliases?: string[];
  DriverOpts?: Record<string, string>;
}

export interface TaskSpec {
  ContainerSpec?: ContainerSpec;
  Resources?: { Limits?: Resources; Reservations?: Resources };
  RestartPolicy?: RestartPolicy;
  Placement?: Placement;
  Networks?: NetworkAttachmentConfig[];
  LogDriver?: { Name: string; Options?: Record<string, string> };
  /** Bumped by `service update --force` so that an unchanged spec still replaces its tasks. */
  ForceUpdate?: number;
  Runtime?: string;
}

export interface ServiceMode {
  Replicated?: { Replicas?: number };
  Global?: Record<string, never>;
  ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
  GlobalJob?: Record<string, never>;
}

export interface UpdateConfig {
  Parallelism: number;
  /** Nanoseconds between batches. */
  Delay?: number;
  FailureAction?: 'pause' | 'continue' | 'rollback';
  /** Nanoseconds a task is watched after its start for a failure. */
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: 'stop-first' | 'start-first';
}

export interface PortConfig {
  Name?: string;
  Protocol: 'tcp' | 'udp' | 'sctp';
  TargetPort: number;
  /** 0 on a request: the swarm picks one from 30000-32767, as swarmkit's port allocator. */
  PublishedPort?: number;
  PublishMode?: 'ingress' | 'host';
}

export interface EndpointSpec {
  Mode?: 'vip' | 'dnsrr';
  Ports?: PortConfig[];
}

export interface ServiceSpec extends Annotations {
  TaskTemplate: TaskSpec;
  Mode: ServiceMode;
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  EndpointSpec?: EndpointSpec;
}

export type UpdateState = 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';

export interface Service extends Meta {
  ID: string;
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  Endpoint: { Spec: EndpointSpec; Ports?: PortConfig[]; VirtualIPs?: Array<{ NetworkID: string; Addr: string }> };
  UpdateStatus?: { State: UpdateState; StartedAt?: string; CompletedAt?: string; Message: string };
  /** `?status=true` on list: running and desired task counts. */
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number; CompletedTasks: number };
  JobStatus?: { JobIteration: Version; LastExecution?: string };
}

/** swarmkit's task states, in their order: a task only moves forward through them. */
export const TASK_STATES = ['new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running', 'complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface TaskStatus {
  Timestamp: string;
  State: TaskState;
  Message: string;
  Err?: string;
  ContainerStatus?: { ContainerID: string; PID: number; ExitCode: number };
  PortStatus?: { Ports?: PortConfig[] };
}

export interface Task extends Meta {
  ID: string;
  Labels?: Record<string, string>;
  Spec: TaskSpec;
  ServiceID: string;
  /** Replicated services: 1…replicas. Global services have none (their node names the task). */
  Slot?: number;
  NodeID: string;
  Status: TaskStatus;
  DesiredState: TaskState;
  NetworksAttachments?: Array<{ Network: { ID: string; Spec: { Name: string } }; Addresses: string[] }>;
  JobIteration?: Version;
  /**
   * The service's EndpointSpec the task was made with (swarmkit's Task.Endpoint): a change of it
   * replaces the task, whose container publishes its host-mode ports. The store's alone: docker's
   * Task has no such field, and the API's tasks leave it out.
   */
  Endpoint?: { Spec: EndpointSpec };
  /**
   * The service's labels when the task was made (swarmkit's Task.ServiceAnnotations), which the
   * task list's `label` filter matches. The store's alone, as docker's Task has no such field;
   * absent in tasks recorded before ctr kept it.
   */
  ServiceAnnotations?: { Labels: Record<string, string> };
}

// ---------------------------------------------------------------- secrets and configs

export interface SecretSpec extends Annotations {
  /** Base64 on the wire; never returned by inspect. */
  Data?: string;
  Driver?: { Name: string; Options?: Record<string, string> };
  Templating?: { Name: string; Options?: Record<string, string> };
}

export interface Secret extends Meta {
  ID: string;
  Spec: SecretSpec;
}

export interface ConfigSpec extends Annotations {
  /** Base64 on the wire; returned by inspect (configs are not secret). */
  Data: string;
  Templating?: { Name: string; Options?: Record<string, string> };
}

export interface Config extends Meta {
  ID: string;
  Spec: ConfigSpec;
}

// ---------------------------------------------------------------- the interface

/** Docker's list filters (`--filter key=value`), already parsed: key → accepted values. */
export type SwarmFilters = Record<string, string[]>;

/** Events of a service's convergence, for a caller that shows progress (docker's `overall progress: 2 out of 3 tasks`). */
export interface ConvergeProgress {
  service: string;
  /** Slot (replicated) or node ID (global) → the state of its newest task. */
  tasks: Array<{ slot: string; state: TaskState; message: string; err?: string }>;
  running: number;
  desired: number;
  converged: boolean;
  /** A rolling update's state, when one is under way. */
  update?: Service['UpdateStatus'];
}

export interface ServiceLogsOptions {
  follow?: boolean;
  timestamps?: boolean;
  tail?: string;
  since?: string;
  until?: string;
  details?: boolean;
  signal?: AbortSignal;
}

/** One line of `service logs`: which task wrote it, and the line. */
export interface ServiceLogLine {
  stream: 'stdout' | 'stderr';
  /** The task's context, as docker's log details give it: `com.docker.swarm.task.id` and kin. */
  task: { id: string; name: string; nodeId: string; serviceId: string };
  line: string;
  timestamp?: string;
}

export interface ServiceCreateOptions {
  /** A registry credential (the X-Registry-Auth header's) for pulling the service's image. */
  registryAuth?: string;
  /** `--detach=false`: wait until the service converges, reporting progress. */
  onProgress?: (progress: ConvergeProgress) => void;
  signal?: AbortSignal;
}

export interface ServiceUpdateOptions extends ServiceCreateOptions {
  /** `?rollback=previous`: go back to the previous spec (the body's spec is then ignored). */
  rollback?: 'previous';
}

/**
 * Swarm mode as the docker CLI and the API see it: one interface that the in-process Swarm
 * (this package) and the API client (@ctr/api's RemoteSwarm) both implement, so the ctr
 * command and `stack deploy` run the same code against either.
 */
export interface SwarmApi {
  init(request: InitRequest): Promise<string>;
  join(request: { ListenAddr?: string; AdvertiseAddr?: string; DataPathAddr?: string; RemoteAddrs: string[]; JoinToken: string; Availability?: NodeAvailability }): Promise<void>;
  leave(force: boolean): Promise<void>;
  inspect(): Promise<SwarmInspect>;
  update(version: number, spec: SwarmSpec, flags?: SwarmUpdateFlags): Promise<void>;
  unlockKey(): Promise<{ UnlockKey: string }>;
  unlock(key: string): Promise<void>;
  info(): Promise<SwarmInfo>;

  nodes(filters?: SwarmFilters): Promise<Node[]>;
  inspectNode(id: string): Promise<Node>;
  updateNode(id: string, version: number, spec: NodeSpec): Promise<void>;
  removeNode(id: string, force: boolean): Promise<void>;

  createService(spec: ServiceSpec, options?: ServiceCreateOptions): Promise<{ ID: string; Warnings?: string[] }>;
  services(filters?: SwarmFilters, options?: { status?: boolean }): Promise<Service[]>;
  inspectService(id: string, options?: { insertDefaults?: boolean }): Promise<Service>;
  updateService(id: string, version: number, spec: ServiceSpec, options?: ServiceUpdateOptions): Promise<{ Warnings?: string[] }>;
  removeService(id: string): Promise<void>;
  serviceLogs(id: string, options?: ServiceLogsOptions): AsyncIterable<ServiceLogLine>;
  /** Waits until the service's tasks match its spec (or its update ends), reporting progress; what `--detach=false` shows. */
  converge(id: string, options: { onProgress?: (progress: ConvergeProgress) => void; signal?: AbortSignal }): Promise<ConvergeProgress>;

  tasks(filters?: SwarmFilters): Promise<Task[]>;
  inspectTask(id: string): Promise<Task>;
  taskLogs(id: string, options?: ServiceLogsOptions): AsyncIterable<ServiceLogLine>;

  createSecret(spec: SecretSpec): Promise<{ ID: string }>;
  secrets(filters?: SwarmFilters): Promise<Secret[]>;
  inspectSecret(id: string): Promise<Secret>;
  updateSecret(id: string, version: number, spec: SecretSpec): Promise<void>;
  removeSecret(id: string): Promise<void>;

  createConfig(spec: ConfigSpec): Promise<{ ID: string }>;
  configs(filters?: SwarmFilters): Promise<Config[]>;
  inspectConfig(id: string): Promise<Config>;
  updateConfig(id: string, version: number, spec: ConfigSpec): Promise<void>;
  removeConfig(id: string): Promise<void>;
}
