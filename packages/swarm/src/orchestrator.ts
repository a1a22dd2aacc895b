import { AUTO_REMOVAL, type AuthConfig, type ContainerInspect } from '@ctr/engine';
import { asCtrError, isCtrError, isNotFound } from '@ctr/errors';
import { allocateEndpoints, portsAllocated } from './allocator';
import type { BackgroundWork, ClusterTx, SwarmContext } from './context';
import { newId } from './ids';
import { syncIngress } from './ingress';
import { moduleLog } from './log';
import { localNode } from './membership';
import { historyNeeded, restartDelayMs, shouldRestart } from './restart';
import { eligibleNodes, nodeKeepsTasks, scheduleTask } from './scheduler';
import { byTime, swarmTime } from './store';
import { createTaskContainer, managerEnvironment, removeAllTaskFiles, removeTaskContainer, stopTaskContainer, taskContainers, type TaskContainer, type TaskEnvironment } from './task-container';
import { advance, dirty, ended, isGlobal, isJob, live, modeKind, newTask, slotKey, stateIndex, TASK_LABEL } from './tasks';
import { updateInProgress, updateStep } from './updater';
import type { Node, PortConfig, Service, SwarmInspect, Task, TaskState, TaskStatus } from './types';

/** swarmkit's default TaskHistoryRetentionLimit. */
const DEFAULT_HISTORY = 5;

/** What a task's container was seen doing, outside the store's lock. */
export type Fact =
  | { kind: 'running'; id: string; pid: number; health: string | undefined; ports: PortConfig[] }
  | { kind: 'exited'; id: string; code: number; ranMs: number | undefined; error: string }
  | { kind: 'created' }
  | { kind: 'missing' };

/** What one pass decided to do to containers, done after the store's transaction. */
interface Plan {
  node: Node | undefined;
  cluster: SwarmInspect | undefined;
  stop: Task[];
  /** Tasks that left the store: their containers (and files) go. */
  remove: TaskContainer[];
  prepare: Array<{ service: Service; task: Task }>;
  start: Array<{ service: Service; task: Task }>;
  /** When a timer (a restart delay, an update's delay or monitor) next asks for a pass. */
  wakeAt: number | undefined;
}

export interface PassResult {
  wakeAt: number | undefined;
}

/** Options a pass takes from the call that asked for it. */
export interface PassOptions {
  /** The registry credentials of a service create or update, for its image's pull. */
  auth?: AuthConfig;
  /** ctrd's stop: the pass gives up waiting on a pull or a container's stop grace period. */
  signal?: AbortSignal;
}

const earliest = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** What a task's container is doing now (on whichever node runs it: the manager for its own tasks, a worker for its). */
export async function observe(ctx: SwarmContext, ref: string): Promise<Fact> {
  let inspect: ContainerInspect;
  try {
    inspect = await ctx.engine.inspect(ref);
  } catch (error) {
    if (isNotFound(error)) return { kind: 'missing' };
    throw error;
  }
  const state = inspect.State;
  if (state.Running || state.Restarting) return { kind: 'running', id: inspect.Id, pid: state.Pid, health: state.Health?.Status, ports: publishedPorts(inspect.NetworkSettings.Ports) };
  if (state.Status === 'created') return { kind: 'created' };
  const started = Date.parse(state.StartedAt);
  const ranMs = started > 0 ? Math.max(0, Date.parse(state.FinishedAt) - started) : undefined;
  return { kind: 'exited', id: inspect.Id, code: state.ExitCode, ranMs, error: state.Error };
}

/**
 * A task container's published ports as its PortStatus shows them (moby's parsePortMap): each
 * binding host-mode, the port's name lost (the engine does not keep it).
 */
function publishedPorts(portMap: Record<string, Array<{ HostPort: string }> | null> | undefined): PortConfig[] {
  const ports: PortConfig[] = [];
  for (const [key, bindings] of Object.entries(portMap ?? {})) {
    const [port, protocol] = key.split('/');
    for (const binding of bindings ?? []) {
      ports.push({ Protocol: (protocol ?? 'tcp') as PortConfig['Protocol'], TargetPort: Number(port), PublishedPort: Number(binding.HostPort), PublishMode: 'host' });
    }
  }
  return ports;
}

/**
 * The status a fact moves a task to (moby's executor's words: started, finished, shutdown,
 * `task: non-zero exit (N)`). A container with a health check is `starting` until healthy, and
 * its task fails once it is unhealthy (moby's controller waits for health_status, its
 * ErrContainerUnhealthy), for the restart policy to replace it.
 */
export function statusOf(fact: Fact, task: Task): Omit<TaskStatus, 'Timestamp'> | undefined {
  const stopping = stateIndex(task.DesiredState) > stateIndex('complete');
  switch (fact.kind) {
    case 'running': {
      const container = { ContainerID: fact.id, PID: fact.pid, ExitCode: 0 };
      const portStatus = fact.ports.length > 0 ? { PortStatus: { Ports: fact.ports } } : {};
      if (fact.health === 'starting') return { State: 'starting', Message: 'starting', ContainerStatus: container, ...portStatus };
      if (fact.health === 'unhealthy') return { State: 'failed', Message: 'started', Err: 'unhealthy container', ContainerStatus: container, ...portStatus };
      return { State: 'running', Message: 'started', ContainerStatus: container, ...portStatus };
    }
    case 'exited': {
      const container = { ContainerID: fact.id, PID: 0, ExitCode: fact.code };
      if (fact.ranMs === undefined) return { State: stopping ? 'shutdown' : 'failed', Message: 'starting', ContainerStatus: container, ...(stopping ? {} : { Err: `starting container failed: ${fact.error || 'the container did not start'}` }) };
      if (stopping) return { State: 'shutdown', Message: 'shutdown', ContainerStatus: container };
      if (fact.code === 0) return { State: 'complete', Message: 'finished', ContainerStatus: container };
      return { State: 'failed', Message: 'started', Err: `task: non-zero exit (${fact.code})`, ContainerStatus: container };
    }
    case 'missing':
      if (stopping) return { State: 'shutdown', Message: 'shutdown' };
      return { State: 'failed', Message: 'started', Err: `No such container: ${task.Status.ContainerStatus?.ContainerID ?? task.ID}` };
    case 'created':
      return stopping ? { State: 'shutdown', Message: 'shutdown' } : undefined;
  }
}

/** Tasks whose containers a pass looks at: the ones that have one and still run, and the ones an update in progress counts. */
function observed(task: Task, service: Service | undefined): boolean {
  if (!task.Status.ContainerStatus?.ContainerID) return false;
  if (!ended(task)) return true;
  const update = service?.UpdateStatus;
  return service !== undefined && updateInProgress(service) && update?.StartedAt !== undefined && byTime(task.CreatedAt, update.StartedAt) >= 0;
}

/**
 * Make the tasks match their services' specs, once: observe the tasks' containers, record
 * what they did (statuses only move forward), decide under the store's lock what to create,
 * stop and remove (restarts per the restart policy, scaling, global placement, jobs, drained
 * nodes, a rolling update's next step, task history), then act on containers outside the lock
 * and record the outcome; last, bring the routing mesh up to date. Idempotent, and safe to run
 * in several processes at once: a task is created under the lock, and its container's name is
 * the task's, so only one process prepares it.
 */
export async function reconcileOnce(ctx: SwarmContext, serviceId?: string, options: PassOptions = {}): Promise<PassResult> {
  const [tasks, services, self] = await Promise.all([ctx.store.list('tasks'), ctx.store.list('services'), localNode(ctx)]);
  const localId = self?.NodeID;
  // Listed before the decision: a container made since belongs to a task the decision sees.
  const present = localId === undefined ? new Map<string, string>() : await taskContainers(ctx, { nodeId: localId });
  const byId = new Map(services.map((s) => [s.ID, s]));
  const facts = new Map<string, Fact>();
  await Promise.all(
    tasks
      .filter((t) => serviceId === undefined || t.ServiceID === serviceId)
      // Another node's tasks are its worker's to observe: their statuses come from its reports.
      .filter((t) => t.NodeID === localId && observed(t, byId.get(t.ServiceID)))
      .map(async (t) => facts.set(t.ID, await observe(ctx, t.Status.ContainerStatus?.ContainerID as string))),
  );
  const plan = await ctx.store.transaction(async (tx) => {
    const decided = decide(tx, serviceId, facts, Date.now(), localId, present);
    // A rollback the pass began restored the previous spec: its Endpoint is allocated for it, as swarmkit's allocator does after any service change.
    await allocateEndpoints(ctx, tx);
    return decided;
  });
  const ended = await act(ctx, plan, options);
  await syncIngress(ctx);
  return { wakeAt: ended ? Date.now() : plan.wakeAt };
}

/** The pass after a request's change: ctrd's monitor's, in the background; without a monitor, this one, awaited. */
export async function passAfterChange(ctx: SwarmContext, serviceId: string | undefined, options: PassOptions = {}): Promise<void> {
  if (ctx.background) ctx.background.pass(serviceId, options.auth);
  else await reconcileOnce(ctx, serviceId, options);
}

/** Other work after a request's change (a removed service's containers), likewise. */
export async function afterChange(ctx: SwarmContext, work: (signal?: AbortSignal) => Promise<void>): Promise<void> {
  if (ctx.background) ctx.background.run(work);
  else await work();
}

/** `Swarm.reconcile`: one pass over one service, or all of them. */
export async function reconcile(ctx: SwarmContext, serviceId?: string): Promise<void> {
  await reconcileOnce(ctx, serviceId);
}

function decide(tx: ClusterTx, serviceId: string | undefined, facts: ReadonlyMap<string, Fact>, now: number, localId: string | undefined, present: ReadonlyMap<string, string>): Plan {
  const nodes = tx.list('nodes');
  const node = nodes.find((n) => n.ID === localId);
  const [cluster] = tx.list('cluster');
  const services = tx.list('services');
  const byId = new Map(services.map((s) => [s.ID, s]));
  const plan: Plan = { node, cluster, stop: [], remove: [], prepare: [], start: [], wakeAt: undefined };
  const all = tx.list('tasks').filter((t) => serviceId === undefined || t.ServiceID === serviceId || !byId.has(t.ServiceID));
  for (const task of all) {
    const fact = facts.get(task.ID);
    const next = fact && statusOf(fact, task);
    if (next && advance(task, next)) tx.update('tasks', task);
  }
  const writer = new TaskWriter(tx, all, facts);
  // The scheduler counts every service's tasks; a pass over one service changes only its own.
  const inPass = new Set(all.map((t) => t.ID));
  const others = serviceId === undefined ? [] : tx.list('tasks').filter((t) => !inPass.has(t.ID));
  for (const service of services) {
    if (serviceId !== undefined && service.ID !== serviceId) continue;
    const mine = all.filter((t) => t.ServiceID === service.ID);
    plan.wakeAt = earliest(plan.wakeAt, orchestrate(writer, service, mine, { nodes, others }, now));
  }
  // The tasks of a removed service go with it.
  for (const task of all) if (!byId.has(task.ServiceID)) writer.desire(task, 'remove');
  const history = cluster?.Spec.Orchestration.TaskHistoryRetentionLimit ?? DEFAULT_HISTORY;
  for (const service of services) if (serviceId === undefined || service.ID === serviceId) reapHistory(writer, writer.tasks.filter((t) => t.ServiceID === service.ID), history);
  const local = (task: Task): boolean => task.NodeID === '' || task.NodeID === localId;
  for (const task of [...writer.tasks]) {
    const service = byId.get(task.ServiceID);
    const desired = task.DesiredState;
    if (stateIndex(desired) > stateIndex('complete')) {
      // A container still seen running after its task ended (an unhealthy one) is stopped too.
      const running = Boolean(task.Status.ContainerStatus?.ContainerID) && (!ended(task) || facts.get(task.ID)?.kind === 'running');
      // A removed node never reports again: its tasks are orphaned (swarmkit's word), and may go.
      if (running && !nodes.some((n) => n.ID === task.NodeID)) writer.status(task, { State: 'orphaned', Message: 'node removed' });
      // Another node's container is its worker's to stop (it sees the desired state), and to report.
      else if (running && local(task)) plan.stop.push(task);
      else if (!running && !ended(task)) writer.status(task, { State: 'shutdown', Message: 'shutdown' });
      // Its container goes with the deleted tasks' below.
      if (desired === 'remove' && (ended(task) || !task.Status.ContainerStatus?.ContainerID)) writer.delete(task);
      continue;
    }
    if (!service || !node || task.NodeID !== node.ID) continue;
    if (task.Status.State === 'assigned') plan.prepare.push({ service, task });
    else if (task.Status.State === 'ready' && desired !== 'ready' && facts.get(task.ID)?.kind === 'created') plan.start.push({ service, task });
  }
  // A worker removes its own tasks' containers once they leave its assignments.
  for (const task of writer.deleted) if (local(task)) plan.remove.push({ taskId: task.ID, containerId: task.Status.ContainerStatus?.ContainerID });
  // Containers of tasks the store no longer has, whatever pass forgot them (one that failed, or a
  // container made for a task deleted meanwhile): each pass removes what it finds, as a worker does.
  const known = new Set([...writer.tasks, ...others].map((t) => t.ID));
  for (const [taskId, containerId] of present) {
    if (!known.has(taskId) && !plan.remove.some((r) => r.taskId === taskId)) plan.remove.push({ taskId, containerId });
  }
  writer.flush();
  return plan;
}

/**
 * The pass's writes to tasks, kept on copies so that later decisions in the same pass see
 * earlier ones; written to the transaction once, at the end.
 */
export class TaskWriter {
  readonly tasks: Task[];
  readonly deleted: Task[] = [];
  private readonly changed = new Set<Task>();
  private readonly created = new Set<Task>();

  constructor(
    private readonly tx: ClusterTx,
    tasks: readonly Task[],
    private readonly facts: ReadonlyMap<string, Fact>,
  ) {
    this.tasks = [...tasks];
  }

  create(service: Service, place: { slot?: number; nodeId?: string }, desired: TaskState): Task {
    const task = this.tx.create('tasks', newTask(service, newId(), place, desired));
    this.tasks.push(task);
    this.created.add(task);
    return task;
  }

  /** Desired states only move forward too (running → shutdown → remove). */
  desire(task: Task, state: TaskState): void {
    if (stateIndex(state) <= stateIndex(task.DesiredState)) return;
    task.DesiredState = state;
    this.changed.add(task);
  }

  status(task: Task, next: Omit<TaskStatus, 'Timestamp'>): void {
    if (advance(task, next)) this.changed.add(task);
  }

  /** Waiting for a node: `pending`, with the scheduler's reason (kept current as the reason changes). */
  pend(task: Task, err: string): void {
    if (task.Status.State === 'pending' && task.Status.Err === err) return;
    task.Status = { ...task.Status, State: 'pending', Message: 'pending task scheduling', Err: err, Timestamp: swarmTime() };
    this.changed.add(task);
  }

  updateService(service: Service): void {
    Object.assign(service, this.tx.update('services', service));
  }

  /** How long an ended task's container ran (undefined: it never started, or nobody looked). */
  ranMs(task: Task): number | undefined {
    const fact = this.facts.get(task.ID);
    return fact?.kind === 'exited' ? fact.ranMs : undefined;
  }

  assign(task: Task, nodeId: string): void {
    task.NodeID = nodeId;
    this.changed.add(task);
  }

  delete(task: Task): void {
    this.tx.delete('tasks', task.ID);
    this.tasks.splice(this.tasks.indexOf(task), 1);
    this.changed.delete(task);
    this.deleted.push(task);
  }

  flush(): void {
    for (const task of this.changed) this.tx.update('tasks', task);
  }
}

/** One service's decisions; returns when a timer should bring the next pass. */
function orchestrate(writer: TaskWriter, service: Service, tasks: Task[], cluster: { nodes: readonly Node[]; others: readonly Task[] }, now: number): number | undefined {
  const { nodes } = cluster;
  const nodeOf = new Map(nodes.map((n) => [n.ID, n]));
  // What the scheduler counts: the pass's tasks (with its assignments so far) and the other services'.
  const everyTask = (): Task[] => [...cluster.others, ...writer.tasks];
  // Whether a node takes the service's tasks, whatever it runs already (MaxReplicas aside).
  const suits = (n: Node): boolean => eligibleNodes(service, [n], []).nodes.length > 0;
  const kind = modeKind(service);
  const job = isJob(kind);
  const iteration = service.JobStatus?.JobIteration.Index ?? 0;
  let wakeAt: number | undefined;
  const slotsOf = (): Map<string, Task[]> => {
    const slots = new Map<string, Task[]>();
    for (const t of writer.tasks) {
      if (t.ServiceID !== service.ID || stateIndex(t.DesiredState) >= stateIndex('remove')) continue;
      if (job && (t.JobIteration?.Index ?? 0) !== iteration) continue;
      const key = slotKey(t);
      slots.set(key, [...(slots.get(key) ?? []), t]);
    }
    return slots;
  };
  const liveDesire: TaskState = job ? 'complete' : 'running';

  // A job's tasks of an earlier run are shut down: the job runs again from its new spec.
  if (job) for (const t of tasks) if ((t.JobIteration?.Index ?? 0) !== iteration && live(t)) writer.desire(t, 'shutdown');

  for (const [, slot] of slotsOf()) {
    for (const task of slot.filter((t) => t.DesiredState === 'ready' || t.DesiredState === liveDesire)) {
      // Its node is drained, down or gone: swarmkit's orchestrator moves the task elsewhere.
      const onDrained = task.NodeID !== '' && !nodeKeepsTasks(nodeOf.get(task.NodeID)) && !ended(task);
      if (!ended(task) && !onDrained) continue;
      // A job's task that completed is done, and stays as it is.
      if (job && task.Status.State === 'complete') continue;
      // swarmkit's restart supervisor: the task is shut down, and replaced in its slot when its policy says so.
      writer.desire(task, 'shutdown');
      if (onDrained && isGlobal(kind)) continue;
      if (!onDrained && !shouldRestart(task, slot, job)) continue;
      const delay = onDrained ? 0 : restartDelayMs(task);
      const place = isGlobal(kind) ? { nodeId: task.NodeID } : { slot: task.Slot ?? 0 };
      writer.create(service, place, delay > 0 ? 'ready' : liveDesire);
    }
  }

  // Restarts whose delay has passed go ahead.
  for (const task of writer.tasks) {
    if (task.ServiceID !== service.ID || task.DesiredState !== 'ready') continue;
    const due = Date.parse(task.CreatedAt) + restartDelayMs(task);
    if (due <= now) writer.desire(task, liveDesire);
    else wakeAt = earliest(wakeAt, due);
  }

  const slots = slotsOf();
  if (kind === 'replicated') scaleReplicated(writer, service, slots);
  else if (kind === 'replicated-job') runReplicatedJob(writer, service, slots);
  else {
    // Global: one task on every node that takes it.
    for (const n of eligibleNodes(service, nodes, []).nodes) if (!occupies(slots.get(n.ID) ?? [], job)) writer.create(service, { nodeId: n.ID }, liveDesire);
  }
  // A global service's tasks leave a node that no longer takes them (its constraints changed); a paused node keeps them.
  if (kind === 'global') {
    for (const t of writer.tasks) {
      const n = nodeOf.get(t.NodeID);
      if (t.ServiceID === service.ID && live(t) && n && n.Spec.Availability !== 'pause' && !suits(n)) writer.desire(t, 'shutdown');
    }
  }

  if (!job) wakeAt = earliest(wakeAt, updateStep(writer, service, slotsOf(), now));

  // A slot's new task running: the old ones in it (a start-first update's) stop.
  for (const [, slot] of slotsOf()) {
    if (!slot.some((t) => live(t) && !dirty(service, t) && t.Status.State === 'running')) continue;
    for (const t of slot) if (live(t) && dirty(service, t)) writer.desire(t, 'shutdown');
  }

  // Scheduling: a global task waits for its own node to take it; a replicated one goes where the scheduler spreads it.
  // None while the service's ports are not allocated for its spec (a rollback's port taken meanwhile): the pass's allocation says why.
  const allocated = portsAllocated(service);
  for (const task of writer.tasks) {
    if (!allocated || task.ServiceID !== service.ID || !live(task) || stateIndex(task.Status.State) >= stateIndex('assigned')) continue;
    const placed = task.NodeID !== '' ? placeOn(service, nodeOf.get(task.NodeID), task.NodeID) : scheduleTask(service, nodes, everyTask());
    if ('err' in placed) {
      writer.pend(task, placed.err);
      continue;
    }
    if (task.NodeID === '') writer.assign(task, placed.nodeId);
    writer.status(task, { State: 'assigned', Message: 'scheduler assigned task to node' });
  }
  return wakeAt;
}

/** A global task's own node, or why it waits (the node counted as swarmkit's scheduler counts one). */
function placeOn(service: Service, node: Node | undefined, nodeId: string): { nodeId: string } | { err: string } {
  if (!node) return { err: 'no suitable node (1 node not available for new tasks)' };
  const { err } = eligibleNodes(service, [node], []);
  return err === undefined ? { nodeId } : { err };
}

/**
 * Whether a slot is taken: a task in it is meant to run, or its last task ended and its restart
 * policy says it stays so (`none`, `on-failure` after a clean exit, MaxAttempts reached) — then
 * the slot counts as swarmkit's "updatable" one and is not filled again.
 */
function occupies(slot: readonly Task[], job: boolean): boolean {
  if (slot.some((t) => live(t))) return true;
  const last = [...slot].sort((a, b) => byTime(a.CreatedAt, b.CreatedAt)).pop();
  if (!last || last.Status.State === 'shutdown' || !ended(last)) return false;
  if (job && last.Status.State === 'complete') return true;
  return !shouldRestart(last, slot, job);
}

/** Replicas: the missing slots made (lowest numbers first), the surplus removed (highest first). */
function scaleReplicated(writer: TaskWriter, service: Service, slots: Map<string, Task[]>): void {
  const replicas = service.Spec.Mode.Replicated?.Replicas ?? 1;
  const taken = [...slots.entries()].filter(([, slot]) => occupies(slot, false)).map(([key]) => Number(key));
  for (let slot = 1, missing = replicas - taken.length; missing > 0; slot++) {
    if (taken.includes(slot)) continue;
    writer.create(service, { slot }, 'running');
    missing--;
  }
  for (const slot of taken.sort((a, b) => b - a).slice(0, Math.max(0, taken.length - replicas))) {
    for (const task of slots.get(String(slot)) ?? []) writer.desire(task, 'remove');
  }
}

/** A replicated job: tasks run to completion, MaxConcurrent at once, until TotalCompletions completed. */
function runReplicatedJob(writer: TaskWriter, service: Service, slots: Map<string, Task[]>): void {
  const job = service.Spec.Mode.ReplicatedJob ?? {};
  const concurrent = job.MaxConcurrent || 1;
  const total = job.TotalCompletions || concurrent;
  const taken = [...slots.entries()].filter(([, slot]) => occupies(slot, true)).map(([key]) => Number(key));
  let active = [...slots.values()].filter((slot) => slot.some((t) => live(t))).length;
  for (let slot = 1; active < concurrent && taken.length < total; slot++) {
    if (taken.includes(slot)) continue;
    writer.create(service, { slot }, 'complete');
    taken.push(slot);
    active++;
  }
}

/**
 * swarmkit's task reaper: per slot, the newest tasks up to the cluster's retention limit are
 * kept (more while MaxAttempts counts restarts from them); older ones that no longer run go,
 * with their containers. A negative limit keeps every task.
 */
function reapHistory(writer: TaskWriter, tasks: readonly Task[], limit: number): void {
  if (limit < 0) return;
  const slots = new Map<string, Task[]>();
  for (const t of tasks) slots.set(slotKey(t), [...(slots.get(slotKey(t)) ?? []), t]);
  for (const slot of slots.values()) {
    const keep = Math.max(limit, ...slot.map(historyNeeded));
    const sorted = [...slot].sort((a, b) => byTime(a.CreatedAt, b.CreatedAt));
    let excess = sorted.length - keep;
    for (const task of sorted) {
      if (excess <= 0) break;
      if (live(task) || !ended(task) || (task.DesiredState === 'complete' && task.Status.State === 'complete')) continue;
      writer.delete(task);
      excess--;
    }
  }
}

/** What one node does to its task containers: the manager for its own tasks after a pass, a worker for its assignments. */
export interface ContainerWork {
  stop: Task[];
  /** Tasks that are gone: their containers (and files) go. */
  remove: TaskContainer[];
  /** New tasks' containers to make (and start, unless desired `ready`), each with how to get its environment. */
  prepare: Array<{ service: Service; task: Task; env: () => Promise<TaskEnvironment> }>;
  /** Prepared tasks whose containers now start. */
  start: Task[];
}

/** What `carryOut` did: the status each task reached, and what failed (the rest was still done). */
export interface WorkDone {
  outcomes: Map<string, Omit<TaskStatus, 'Timestamp'>>;
  failures: unknown[];
}

/**
 * The containers' side: stops first (a stop-first update's), then removals, then new tasks'
 * containers made and started. Returns the status each task reached, for the caller to record
 * (the manager in its store, a worker in its report). A task whose environment cannot be had
 * (a secret gone, a network missing) or whose container cannot be made is `rejected`, in the
 * error's words, as moby's executor rejects it.
 */
export async function carryOut(ctx: SwarmContext, work: ContainerWork, signal?: AbortSignal): Promise<WorkDone> {
  const outcomes = new Map<string, Omit<TaskStatus, 'Timestamp'>>();
  const failures: unknown[] = [];
  // A task's failure is logged once: its status moves on, and its container is not tried again.
  const log = moduleLog(ctx, 'node/agent/taskmanager');
  const taskFailed = (task: Task, message: string, next: Omit<TaskStatus, 'Timestamp'>): void => {
    outcomes.set(task.ID, next);
    log.log('error', message, { 'task.id': task.ID, 'service.id': task.ServiceID, error: next.Err });
  };
  // One container's failure holds up none of the others': each is retried by a later pass.
  const each = async <T>(items: readonly T[], act: (item: T) => Promise<void>): Promise<void> => {
    for (const result of await Promise.allSettled(items.map(act))) if (result.status === 'rejected') failures.push(result.reason);
  };
  await each(work.stop, async (task) => {
    await stopTaskContainer(ctx, task, signal);
    const fact = await observe(ctx, task.Status.ContainerStatus?.ContainerID as string);
    const next = statusOf(fact, task);
    if (next) outcomes.set(task.ID, next);
  });
  await each(work.remove, ({ containerId, taskId }) => removeTaskContainer(ctx, containerId, taskId));
  const starts = new Map<string, { task: Task; id: string }>();
  for (const task of work.start) starts.set(task.ID, { task, id: task.Status.ContainerStatus?.ContainerID as string });
  await Promise.all(
    work.prepare.map(async ({ service, task, env }) => {
      try {
        const id = await createTaskContainer(ctx, service, task, await env(), signal);
        outcomes.set(task.ID, { State: 'ready', Message: 'prepared', ContainerStatus: { ContainerID: id, PID: 0, ExitCode: 0 } });
        if (task.DesiredState !== 'ready') starts.set(task.ID, { task, id });
      } catch (error) {
        // Another process prepares this task: its container has the task's name already. An
        // aborted pull (ctrd stopping) is no rejection: the next pass prepares the task again.
        if ((isCtrError(error) && error.code === 'Conflict') || signal?.aborted) return;
        taskFailed(task, "failed to prepare the task's container", { State: 'rejected', Message: 'preparing', Err: asCtrError(error).message });
      }
    }),
  );
  await Promise.all(
    [...starts.values()].map(async ({ task, id }) => {
      try {
        await ctx.engine.start(id);
      } catch (error) {
        // Started by another process meanwhile: what it does now is the fact to record.
        const fact = await observe(ctx, id);
        if (fact.kind !== 'running' && fact.kind !== 'exited') {
          taskFailed(task, "failed to start the task's container", { State: 'failed', Message: 'starting', Err: `starting container failed: ${asCtrError(error).message}` });
          return;
        }
      }
      const next = statusOf(await observe(ctx, id), task);
      outcomes.set(task.ID, next ?? { State: 'starting', Message: 'starting', ContainerStatus: { ContainerID: id, PID: 0, ExitCode: 0 } });
    }),
  );
  return { outcomes, failures };
}

/**
 * The manager's side of a pass: its own tasks' containers, the outcomes recorded in the store.
 * True when a task ended (rejected, failed to start): the next pass replaces it at once, as
 * swarmkit's restart supervisor reacts to the status change rather than a later sweep.
 */
async function act(ctx: SwarmContext, plan: Plan, options: PassOptions): Promise<boolean> {
  const { node, cluster } = plan;
  const { outcomes, failures } = await carryOut(ctx, {
    stop: plan.stop,
    remove: plan.remove,
    prepare: node ? plan.prepare.map(({ service, task }) => ({ service, task, env: () => managerEnvironment(ctx, service, task, node, cluster, options.auth) })) : [],
    start: plan.start.map(({ task }) => task),
  }, options.signal);
  if (outcomes.size > 0) {
    await ctx.store.transaction((tx) => {
      for (const [id, next] of outcomes) {
        const task = tx.get('tasks', id);
        // A running task passes through the states its container skipped (ready, starting) in one write.
        if (task && advance(task, next)) tx.update('tasks', task);
      }
    });
  }
  if (failures.length > 0) throw failures[0];
  // A replacement still within its restart delay (desired `ready`) waits for it to elapse, as swarmkit's supervisor avoids tight restart loops.
  const delayed = new Set([...plan.prepare, ...plan.start].filter(({ task }) => task.DesiredState === 'ready').map(({ task }) => task.ID));
  return [...outcomes].some(([id, next]) => (next.State === 'rejected' || next.State === 'failed') && !delayed.has(id));
}

/**
 * A task's container exited (`ctr container cleanup`, daemonless): its service is reconciled
 * (the task recorded, replaced per its restart policy); while a replacement waits out its
 * restart delay, this process waits too and starts it when due — the exit command's process
 * is the only one left to do it.
 */
export async function containerExited(ctx: SwarmContext, containerId: string): Promise<void> {
  if (!ctx.store.active()) return;
  let serviceId: string | undefined;
  try {
    serviceId = (await ctx.engine.inspect(containerId)).Config.Labels[TASK_LABEL.serviceId];
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  if (!serviceId) return;
  for (;;) {
    const { wakeAt } = await reconcileOnce(ctx, serviceId);
    const tasks = (await ctx.store.list('tasks')).filter((t) => t.ServiceID === serviceId);
    const waiting = tasks.filter((t) => t.DesiredState === 'ready');
    if (waiting.length === 0 || wakeAt === undefined) return;
    await sleep(Math.max(0, wakeAt - Date.now()));
  }
}

/** Wait `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The safety net's period: a pass over every service even when no event came. */
const PERIODIC_MS = 30_000;

/**
 * Under ctrd: follow the engine's die events of task containers and reconcile their service,
 * keep the timers a pass asks for (restart delays, an update's delay and monitor), and pass
 * over every service now and then in case an event was missed, and do the work requests leave
 * to it (ctx.background). The monitor's own passes run one after another; a request's pass runs
 * beside them, after any earlier request's pass for the same service (one more waiting at most:
 * it sees every change made meanwhile). Each is told to `onError` when it fails and to `onPass`
 * when it works. Resolves once watching; stops when `signal` aborts, which the work under way
 * hears too (it stops waiting on pulls and stop grace periods).
 */
export async function startMonitor(ctx: SwarmContext, signal: AbortSignal, onError: (error: unknown) => void = () => undefined, onPass: () => void = () => undefined): Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const pending = new Set<string | undefined>();
  // A request's work runs at once, beside the monitor's passes: one service's containers
  // stopping within their grace period hold up no other request's pass.
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  const wakeBy = (wakeAt: number | undefined): void => {
    if (wakeAt === undefined || signal.aborted || wakeAt >= timerAt) return;
    clearTimeout(timer);
    timerAt = wakeAt;
    timer = setTimeout(() => {
      timerAt = Infinity;
      schedule(undefined);
    }, Math.max(0, wakeAt - Date.now()));
    timer.unref();
  };
  const pass = async (serviceId: string | undefined, auth?: AuthConfig): Promise<void> => {
    if (signal.aborted || !ctx.store.active()) return;
    try {
      const { wakeAt } = await reconcileOnce(ctx, serviceId, { signal, ...(auth ? { auth } : {}) });
      onPass();
      wakeBy(wakeAt);
    } catch (error) {
      // The next event or the periodic pass tries again; what failed is the daemon's to log.
      if (!signal.aborted) onError(error);
    }
  };
  const schedule = (serviceId: string | undefined): void => {
    if (signal.aborted || !ctx.store.active()) return;
    if (pending.has(undefined) || pending.has(serviceId)) return;
    pending.add(serviceId);
    running = running.then(() => {
      pending.delete(serviceId);
      return pass(serviceId);
    });
  };
  const track = (work: Promise<void>): void => {
    const tracked = work.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  // Per service, the last request's pass (run or waiting) and the one waiting, if any: two
  // passes over one service at once would both pull its image and both try its new tasks.
  const lanes = new Map<string | undefined, Promise<void>>();
  const waiting = new Map<string | undefined, { auth?: AuthConfig }>();
  const requestPass = (serviceId: string | undefined, auth?: AuthConfig): void => {
    const queued = waiting.get(serviceId);
    if (queued) {
      if (auth) queued.auth = auth;
      return;
    }
    const next: { auth?: AuthConfig } = auth ? { auth } : {};
    waiting.set(serviceId, next);
    const lane = (lanes.get(serviceId) ?? Promise.resolve()).then(() => {
      waiting.delete(serviceId);
      return pass(serviceId, next.auth);
    });
    lanes.set(serviceId, lane);
    track(lane.finally(() => lanes.get(serviceId) === lane && lanes.delete(serviceId)));
  };
  const background: BackgroundWork = {
    pass: requestPass,
    run: (work) => track(work(signal).then(onPass, (error: unknown) => (signal.aborted ? undefined : onError(error)))),
    idle: async () => {
      await Promise.all([running, ...inFlight]);
    },
  };
  ctx.background = background;
  const periodic = setInterval(() => schedule(undefined), PERIODIC_MS);
  periodic.unref();
  signal.addEventListener('abort', () => {
    clearInterval(periodic);
    clearTimeout(timer);
    // What is under way finishes (the caller may wait with idle()); later requests do their own work again.
    if (ctx.background === background) delete ctx.background;
  }, { once: true });
  // A health status change moves a task too (starting → running, or failed when unhealthy).
  const events = ctx.engine.events({ filters: { type: ['container'], event: ['die', 'health_status'], label: [TASK_LABEL.taskId] }, signal });
  void (async () => {
    try {
      for await (const event of events) schedule(event.Actor.Attributes[TASK_LABEL.serviceId]);
    } catch {
      // Aborted: the monitor stops.
    }
  })();
  schedule(undefined);
}

/** `swarm leave`: every service and task forgotten, then every task's container removed (and any container a task left behind). */
export async function removeAllTasks(ctx: SwarmContext): Promise<void> {
  // Forgotten first: a removed container's exit hook reconciles its service, which must find
  // nothing left to replace the task with.
  await ctx.store.transaction((tx) => {
    for (const service of tx.list('services')) tx.delete('services', service.ID);
    for (const task of tx.list('tasks')) tx.delete('tasks', task.ID);
  });
  const containers = await ctx.engine.ps({ all: true, filters: { label: [TASK_LABEL.taskId] } });
  await Promise.all(containers.map((c) => ctx.engine.remove(c.Id, AUTO_REMOVAL)));
  await removeAllTaskFiles(ctx);
}

