import type { AuthConfig, Engine } from '@ctr/engine';
import type { SwarmLog } from './log';
import type { Config, Node, Secret, Service, SwarmInspect, Task } from './types';

/** The kinds of object the cluster store holds, and their types. */
export interface ClusterObjects {
  cluster: SwarmInspect;
  nodes: Node;
  services: Service;
  tasks: Task;
  secrets: Secret;
  configs: Config;
}
export type ObjectKind = keyof ClusterObjects;

/** What a create is given: the store stamps the version and times. */
export type NewObject<K extends ObjectKind> = Omit<ClusterObjects[K], 'Version' | 'CreatedAt' | 'UpdatedAt'>;

/**
 * One transaction on the cluster's state, under its lock: reads see the writes made before
 * them in the same transaction. Every write takes the cluster's next index as the object's
 * Version.Index, as swarmkit's raft store does.
 */
export interface ClusterTx {
  list<K extends ObjectKind>(kind: K): Array<ClusterObjects[K]>;
  get<K extends ObjectKind>(kind: K, id: string): ClusterObjects[K] | undefined;
  create<K extends ObjectKind>(kind: K, object: NewObject<K>): ClusterObjects[K];
  /** Refuses (Conflict, swarmkit's `update out of sequence`) when `expectedVersion` is given and is not the stored one. */
  update<K extends ObjectKind>(kind: K, object: ClusterObjects[K], expectedVersion?: number): ClusterObjects[K];
  delete(kind: ObjectKind, id: string): void;
}

/**
 * The cluster's state on disk (`<root>/swarm/`): what swarmkit keeps in its raft store. Any
 * number of processes on one root share it (the ctr command, ctrd, conmon's exit commands);
 * writes are atomic and made under one lock, reads need none.
 */
export interface ClusterStore {
  /** Whether this root is in a swarm (`swarm init` ran and no `leave` since). */
  active(): boolean;
  list<K extends ObjectKind>(kind: K): Promise<Array<ClusterObjects[K]>>;
  get<K extends ObjectKind>(kind: K, id: string): Promise<ClusterObjects[K] | undefined>;
  /** Keep transactions short: a rolling update waits for tasks between transactions, never inside one. */
  transaction<T>(fn: (tx: ClusterTx) => T | Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Removes the whole state (`swarm leave`). */
  destroy(): Promise<void>;
  /** The last committed transaction's index: every object's Version.Index is at most it. */
  index(): number;
  /** Resolves once the index is past `since`, or after `timeoutMs`, or when `signal` aborts (a long poll's wait). */
  changed(since: number, timeoutMs: number, signal: AbortSignal): Promise<void>;
}

/** The monitor's queue of work done after a request (one piece at a time, with its passes); its failures go to the daemon's log. */
export interface BackgroundWork {
  /** A pass over one service (or all), with a service create's or update's registry credentials. */
  pass(serviceId: string | undefined, auth?: AuthConfig): void;
  /** Other work (a removed service's containers), told when ctrd stops. */
  run(work: (signal: AbortSignal) => Promise<void>): void;
  /** Resolves once the work queued so far is done (the daemon's shutdown waits for it). */
  idle(): Promise<void>;
}

/** What the swarm's parts share. */
export interface SwarmContext {
  engine: Engine;
  store: ClusterStore;
  /** The engine's persistent root: the store lives in `<root>/swarm`. */
  root: string;
  /** The engine's run root: what dies with the machine (the ingress proxy's state) goes in `<runRoot>/swarm`. */
  runRoot: string;
  /** The host process's log (ctrd's, the detached agent's); none in a CLI verb's process, whose user sees its outcome. */
  log?: SwarmLog;
  /**
   * ctrd's task monitor, while it runs: what follows a change a request made to the store (a
   * pass over the changed service, a removed service's containers) is done after the request is
   * answered, as swarmkit's manager answers once its store is updated. Absent in a CLI verb's
   * process, where the verb does it before it returns (nothing else would).
   */
  background?: BackgroundWork;
  /** ctrd's `swarm-default-advertise-addr` (an IP or an interface name): what `swarm init` advertises when not told. */
  defaultAdvertiseAddr?: string;
}
