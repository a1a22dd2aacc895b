import type { NewObject, SwarmContext } from './context';
import { taskFilter } from './filters';
import { byTime, findObject, swarmTime } from './store';
import { TASK_STATES, type EndpointSpec, type Service, type SwarmFilters, type Task, type TaskState, type TaskStatus } from './types';

/** The labels moby's executor gives a task's container (daemon/cluster/executor/container). */
export const TASK_LABEL = {
  task: 'com.docker.swarm.task',
  taskId: 'com.docker.swarm.task.id',
  taskName: 'com.docker.swarm.task.name',
  nodeId: 'com.docker.swarm.node.id',
  serviceId: 'com.docker.swarm.service.id',
  serviceName: 'com.docker.swarm.service.name',
} as const;

/** How a service runs its tasks. */
export type ModeKind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

export function modeKind(service: Pick<Service, 'Spec'>): ModeKind {
  const mode = service.Spec.Mode;
  if (mode.Global) return 'global';
  if (mode.ReplicatedJob) return 'replicated-job';
  if (mode.GlobalJob) return 'global-job';
  return 'replicated';
}

export function isJob(kind: ModeKind): boolean {
  return kind === 'replicated-job' || kind === 'global-job';
}

export function isGlobal(kind: ModeKind): boolean {
  return kind === 'global' || kind === 'global-job';
}

/** A state's place in swarmkit's order: a task's status only moves to a later one. */
export function stateIndex(state: TaskState): number {
  return TASK_STATES.indexOf(state);
}

/** Past running: the task's process is over (or never will run). */
export function ended(task: Task): boolean {
  return stateIndex(task.Status.State) > stateIndex('running');
}

/**
 * The task still counts for its slot: meant to run (or, a job's, to run to completion) and not
 * ended. Jobs' tasks are desired `complete`, the others `running` (or `ready` while a restart
 * delay runs).
 */
export function live(task: Task): boolean {
  return (task.DesiredState === 'ready' || task.DesiredState === 'running' || task.DesiredState === 'complete') && !ended(task);
}

/** The slot a task holds: its number (replicated), or its node (global). */
export function slotKey(task: Pick<Task, 'Slot' | 'NodeID'>): string {
  return task.Slot !== undefined && task.Slot > 0 ? String(task.Slot) : task.NodeID;
}

/** swarmkit's naming.Task: `<service>.<slot>.<task id>`, or `<service>.<node id>.<task id>` for a global service. */
export function taskName(serviceName: string, task: Pick<Task, 'ID' | 'Slot' | 'NodeID'>): string {
  return `${serviceName}.${slotKey(task)}.${task.ID}`;
}

/**
 * Move a task's status forward: a state before the one recorded is ignored (a slower observer's
 * news), the same state keeps its timestamp. True when something changed.
 */
export function advance(task: Task, next: Omit<TaskStatus, 'Timestamp'>): boolean {
  const from = stateIndex(task.Status.State);
  const to = stateIndex(next.State);
  if (to < from || (to === from && next.ContainerStatus === undefined)) return false;
  if (to === from && JSON.stringify(next.ContainerStatus) === JSON.stringify(task.Status.ContainerStatus)) return false;
  task.Status = { ...task.Status, ...next, Timestamp: to === from ? task.Status.Timestamp : swarmTime() };
  if (next.Err === undefined && to !== from) delete task.Status.Err;
  return true;
}

/**
 * A new task for a slot (replicated) or node (global), as swarmkit's orchestrator.NewTask makes
 * it: the service's current TaskTemplate and EndpointSpec, state `new`, scheduled by the
 * orchestrator's next step.
 */
export function newTask(service: Service, id: string, place: { slot?: number; nodeId?: string }, desired: TaskState): NewObject<'tasks'> {
  const task: NewObject<'tasks'> = {
    ID: id,
    Labels: {},
    Spec: structuredClone(service.Spec.TaskTemplate),
    Endpoint: { Spec: structuredClone(service.Spec.EndpointSpec ?? {}) },
    ServiceAnnotations: { Labels: { ...service.Spec.Labels } },
    ServiceID: service.ID,
    NodeID: place.nodeId ?? '',
    Status: { Timestamp: swarmTime(), State: 'new', Message: 'created' },
    DesiredState: desired,
    ...(place.slot !== undefined ? { Slot: place.slot } : {}),
    ...(service.JobStatus ? { JobIteration: { Index: service.JobStatus.JobIteration.Index } } : {}),
  };
  return task;
}

/**
 * A task as docker's API shows it: without the endpoint and service labels it was made with,
 * which docker's Task has no field for; its PortStatus always there (a struct in docker's
 * TaskStatus, `{}` when empty).
 */
function shown(task: Task): Task {
  const { Endpoint: _endpoint, ServiceAnnotations: _service, ...rest } = task;
  return { ...rest, Status: { ...rest.Status, PortStatus: rest.Status.PortStatus ?? {} } };
}

/** `GET /tasks` with docker's filters, oldest first (then by slot). */
export async function listTasks(ctx: SwarmContext, filters: SwarmFilters = {}): Promise<Task[]> {
  const [tasks, services, nodes] = await Promise.all([ctx.store.list('tasks'), ctx.store.list('services'), ctx.store.list('nodes')]);
  return tasks
    .filter(taskFilter(filters, services, nodes))
    .sort((a, b) => byTime(a.CreatedAt, b.CreatedAt) || (a.Slot ?? 0) - (b.Slot ?? 0) || a.ID.localeCompare(b.ID))
    .map(shown);
}

/** `GET /tasks/{id}`: by ID or ID prefix. */
export async function inspectTask(ctx: SwarmContext, id: string): Promise<Task> {
  return shown(findObject(await ctx.store.list('tasks'), id, 'task', () => undefined));
}

/**
 * A value as JSON with its keys sorted and its empty parts (null, [], {}) left out: two specs
 * that say the same thing compare equal however a client ordered or padded them, as swarmkit's
 * protobuf comparison does (an empty list and none are one there).
 */
export function canonical(value: unknown): string {
  return JSON.stringify(prune(value)) ?? '';
}

function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map((v) => prune(v) ?? null);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = prune((value as Record<string, unknown>)[key]);
    if (v !== undefined) out[key] = v;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * An EndpointSpec as swarmkit's protobuf holds it, for comparison: its zero values (vip, tcp,
 * ingress, port 0, no name) and none given are the same.
 */
function endpointKey(spec: EndpointSpec | undefined): string {
  const ports = (spec?.Ports ?? []).map((p) => ({ Name: p.Name ?? '', Protocol: p.Protocol || 'tcp', TargetPort: p.TargetPort ?? 0, PublishedPort: p.PublishedPort ?? 0, PublishMode: p.PublishMode || 'ingress' }));
  return canonical({ Mode: spec?.Mode || 'vip', Ports: ports });
}

/**
 * swarmkit's IsTaskDirty: the task was made from another TaskTemplate than the service's, or
 * with another EndpointSpec (a task recorded before tasks kept theirs is judged by its template).
 */
export function dirty(service: Service, task: Task): boolean {
  if (canonical(task.Spec) !== canonical(service.Spec.TaskTemplate)) return true;
  return task.Endpoint !== undefined && endpointKey(task.Endpoint.Spec) !== endpointKey(service.Spec.EndpointSpec);
}
