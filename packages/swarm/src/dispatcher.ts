import { CtrError, invalidArgument } from '@ctr/errors';
import { networkAssignments, type NetworkAssignment } from './allocator';
import type { SwarmContext } from './context';
import { reconcileOnce } from './orchestrator';
import { taskReferences } from './secrets';
import type { ClusterRoute } from './transport';
import { advance, stateIndex } from './tasks';
import { TASK_STATES, type Config, type Node, type Secret, type Service, type SwarmInspect, type Task, type TaskStatus } from './types';

/** What a worker is given (`GET /assignments`): its tasks and everything it needs to run them. */
export interface Assignments {
  /** The store's index when read: the next long poll asks for what comes after it. */
  index: number;
  /** Every task whose NodeID is the caller's (a deleted one is absent: its container goes). */
  tasks: Task[];
  services: Service[];
  /** The secrets and configs those tasks refer to, data included (base64, as stored). */
  secrets: Secret[];
  configs: Config[];
  cluster: Omit<SwarmInspect, 'JoinTokens'> | undefined;
  /** The caller's own record (its spec: availability, labels). */
  node: Node;
  /** Every swarm network its tasks use, ingress included (the allocator's). */
  networks: NetworkAssignment[];
}

/** One status a worker reports. */
export interface StatusUpdate {
  taskId: string;
  status: Omit<TaskStatus, 'Timestamp'>;
}

/** The longest a long poll is held, whatever the worker asks (it asks again). */
const MAX_WAIT_S = 60;
/** A worker's assignments as the store holds them now. */
export async function assignmentsFor(ctx: SwarmContext, nodeId: string): Promise<Assignments> {
  // Read first: a write between this and the lists shows in the next poll rather than being missed.
  const index = ctx.store.index();
  const [tasks, services, secrets, configs, [cluster], node] = await Promise.all([
    ctx.store.list('tasks'),
    ctx.store.list('services'),
    ctx.store.list('secrets'),
    ctx.store.list('configs'),
    ctx.store.list('cluster'),
    ctx.store.get('nodes', nodeId),
  ]);
  if (!node) throw new CtrError('Denied', `node ${nodeId} is not a member of the swarm`);
  const mine = tasks.filter((t) => t.NodeID === nodeId);
  const refs = mine.map(taskReferences);
  const serviceIds = new Set(mine.map((t) => t.ServiceID));
  const secretIds = new Set(refs.flatMap((r) => r.secrets));
  const configIds = new Set(refs.flatMap((r) => r.configs));
  let shown: Assignments['cluster'];
  if (cluster) {
    const { JoinTokens: _tokens, ...rest } = cluster;
    shown = rest;
  }
  return {
    index,
    tasks: mine,
    services: services.filter((s) => serviceIds.has(s.ID)),
    secrets: secrets.filter((s) => secretIds.has(s.ID)),
    configs: configs.filter((c) => configIds.has(c.ID)),
    cluster: shown,
    node,
    // Allocates what is missing in a transaction of its own: outside the reads above, never inside one.
    networks: await networkAssignments(ctx, nodeId, mine),
  };
}

/** The states a worker reports: from accepting a task to its end (the manager's own are its to set). */
const REPORTABLE = TASK_STATES.slice(stateIndex('accepted'), stateIndex('rejected') + 1) as readonly string[];

function parseUpdates(body: unknown): StatusUpdate[] {
  const updates = (body as { updates?: unknown } | null)?.updates;
  if (!Array.isArray(updates)) throw invalidArgument('a status report needs "updates": [{ taskId, status }]');
  return updates.map((u: unknown) => {
    const { taskId, status } = (u ?? {}) as { taskId?: unknown; status?: Partial<TaskStatus> };
    if (typeof taskId !== 'string' || !status || typeof status.State !== 'string' || !REPORTABLE.includes(status.State)) {
      throw invalidArgument(`invalid task status report: ${JSON.stringify(u)}`, { hint: `a worker reports states ${REPORTABLE.join(', ')}` });
    }
    return {
      taskId,
      status: {
        State: status.State,
        Message: typeof status.Message === 'string' ? status.Message : '',
        ...(typeof status.Err === 'string' ? { Err: status.Err } : {}),
        ...(status.ContainerStatus ? { ContainerStatus: status.ContainerStatus } : {}),
        ...(status.PortStatus ? { PortStatus: status.PortStatus } : {}),
      },
    };
  });
}

/**
 * A worker's status reports recorded: statuses move forward only (an older report after a newer
 * one is ignored), a task already deleted is skipped (its container goes when it leaves the
 * assignments), a task of another node refuses the whole report. Then the services the reports
 * touched are reconciled (restarts, rolling updates): their consequences are in the store when
 * this returns.
 */
export async function recordStatus(ctx: SwarmContext, nodeId: string, updates: readonly StatusUpdate[]): Promise<void> {
  const touched = await ctx.store.transaction((tx) => {
    const services = new Set<string>();
    const found = updates.map((u) => ({ u, task: tx.get('tasks', u.taskId) }));
    const foreign = found.find(({ task }) => task && task.NodeID !== nodeId);
    if (foreign) throw new CtrError('Denied', `task ${foreign.u.taskId} is not assigned to node ${nodeId}`);
    for (const { u, task } of found) {
      if (task && advance(task, u.status)) {
        tx.update('tasks', task);
        services.add(task.ServiceID);
      }
    }
    return services;
  });
  for (const serviceId of touched) await reconcileOnce(ctx, serviceId);
}

/**
 * The manager's dispatcher routes, merged into the cluster port's by the agent:
 * `GET /assignments?since=&wait=` (answered at once when the store moved past `since`, else when
 * it moves, else after `wait` seconds) and `POST /status`.
 */
export function dispatcherRoutes(ctx: SwarmContext): Record<'GET /assignments' | 'POST /status', ClusterRoute> {
  return {
    'GET /assignments': async (request, signal) => {
      const since = Number(request.query.get('since') ?? 0);
      const wait = Math.min(Math.max(0, Number(request.query.get('wait') ?? 0)), MAX_WAIT_S);
      if (!Number.isFinite(since) || !Number.isFinite(wait)) throw invalidArgument('since and wait must be numbers');
      await ctx.store.changed(since, wait * 1000, signal);
      return assignmentsFor(ctx, request.nodeId);
    },
    'POST /status': async (request) => {
      await recordStatus(ctx, request.nodeId, parseUpdates(request.body));
      return {};
    },
  };
}
