import { throwIfAborted } from '@ctr/errors';
import type { SwarmContext } from './context';
import type { TaskWriter } from './orchestrator';
import { reconcileOnce, sleep, type PassOptions } from './orchestrator';
import { eligibleNodes } from './scheduler';
import { byTime, findObject, swarmTime } from './store';
import { dirty, isGlobal, isJob, live, modeKind, slotKey, stateIndex } from './tasks';
import type { ConvergeProgress, Service, Task, UpdateConfig } from './types';

/** swarmkit's defaults.Service.Update (and Rollback): one task at a time, paused on failure, watched 5 s. */
export const DEFAULT_UPDATE_CONFIG: Required<UpdateConfig> = {
  Parallelism: 1,
  Delay: 0,
  FailureAction: 'pause',
  Monitor: 5_000_000_000,
  MaxFailureRatio: 0,
  Order: 'stop-first',
};

/** An update or a rollback is under way (not paused, not done). */
export function updateInProgress(service: Service): boolean {
  const state = service.UpdateStatus?.State;
  return state === 'updating' || state === 'rollback_started';
}

/** When a task reached running (its status's time while it runs). */
function runningSince(task: Task): number | undefined {
  return task.Status.State === 'running' ? Date.parse(task.Status.Timestamp) : undefined;
}

/**
 * One step of swarmkit's updater, as far as the time allows without waiting: a service whose
 * slots run tasks of another TaskTemplate (a spec change, `--force`, a rollback) gets an
 * UpdateStatus and has its slots replaced Parallelism at a time (stop-first: the old task shut
 * down as the new one is made; start-first: the old one once the new one runs), Delay after
 * each new task runs; a new task that fails or ends within Monitor of its start counts as a
 * failure, and past MaxFailureRatio the FailureAction applies (pause, or roll back to the
 * previous spec); once every slot is new and the last new task has run for Monitor, the
 * update completes. Everything it needs is in the store, so any pass — in whatever process —
 * continues an update another one began. Returns when a timer should bring the next step.
 */
export function updateStep(writer: TaskWriter, service: Service, slots: Map<string, Task[]>, now: number): number | undefined {
  const status = service.UpdateStatus;
  if (status?.State === 'paused' || status?.State === 'rollback_paused' || isJob(modeKind(service))) return undefined;
  const liveSlots = [...slots.entries()].filter(([, tasks]) => tasks.some(live));
  const dirtySlots = liveSlots.filter(([, tasks]) => !tasks.some((t) => live(t) && !dirty(service, t)));
  if (!updateInProgress(service)) {
    if (dirtySlots.length === 0) return undefined;
    service.UpdateStatus = { State: 'updating', StartedAt: swarmTime(), Message: 'update in progress' };
    writer.updateService(service);
  }
  const rollback = service.UpdateStatus?.State === 'rollback_started';
  const config = { ...DEFAULT_UPDATE_CONFIG, ...((rollback ? service.Spec.RollbackConfig : service.Spec.UpdateConfig) ?? {}) };
  const startedAt = service.UpdateStatus?.StartedAt;
  const monitorMs = config.Monitor / 1e6;
  const updated = [...slots.values()].flat().filter((t) => !dirty(service, t) && (startedAt === undefined || byTime(t.CreatedAt, startedAt) >= 0));

  if (config.FailureAction !== 'continue') {
    const failures = updated
      .filter((t) => ['complete', 'failed', 'rejected'].includes(t.Status.State))
      .filter((t) => {
        const ran = writer.ranMs(t);
        return ran === undefined || ran <= monitorMs;
      })
      .sort((a, b) => byTime(a.Status.Timestamp, b.Status.Timestamp));
    const last = failures[failures.length - 1];
    if (last && failures.length / Math.max(1, liveSlots.length) > config.MaxFailureRatio) {
      fail(writer, service, config.FailureAction, rollback, last.ID);
      return undefined;
    }
  }

  const delayMs = config.Delay / 1e6;
  let wakeAt: number | undefined;
  let inFlight = 0;
  for (const task of updated) {
    if (!live(task)) continue;
    const since = runningSince(task);
    if (since === undefined) inFlight++;
    else if (now < since + delayMs) {
      inFlight++;
      wakeAt = Math.min(wakeAt ?? Infinity, since + delayMs);
    }
  }
  const free = config.Parallelism === 0 ? dirtySlots.length : Math.max(0, config.Parallelism - inFlight);
  const order = (key: string): number | string => (isGlobal(modeKind(service)) ? key : Number(key));
  const batch = dirtySlots.sort(([a], [b]) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0)).slice(0, free);
  for (const [key, tasks] of batch) {
    const [first] = tasks;
    const place = isGlobal(modeKind(service)) ? { nodeId: key } : { slot: first?.Slot ?? Number(key) };
    writer.create(service, place, 'running');
    if (config.Order !== 'start-first') for (const t of tasks) if (live(t)) writer.desire(t, 'shutdown');
  }
  if (dirtySlots.length > batch.length || batch.length > 0 || inFlight > 0) return wakeAt;

  // Every slot runs the new spec: the last new task is watched for Monitor before the update is done.
  const lastStart = Math.max(0, ...updated.filter(live).map((t) => runningSince(t) ?? 0));
  if (now < lastStart + monitorMs) return lastStart + monitorMs;
  service.UpdateStatus = {
    ...service.UpdateStatus,
    State: rollback ? 'rollback_completed' : 'completed',
    Message: rollback ? 'rollback completed' : 'update completed',
    CompletedAt: swarmTime(),
  };
  writer.updateService(service);
  return undefined;
}

/** swarmkit's failure actions, in its words. */
function fail(writer: TaskWriter, service: Service, action: UpdateConfig['FailureAction'], rollback: boolean, taskId: string): void {
  const status = service.UpdateStatus ?? { State: 'updating', Message: '' };
  if (action === 'rollback' && !rollback && service.PreviousSpec) {
    service.UpdateStatus = { ...status, State: 'rollback_started', Message: `update rolled back due to failure or early termination of task ${taskId}` };
    service.Spec = service.PreviousSpec;
    delete service.PreviousSpec;
    // Its Endpoint follows at the pass's end (allocateEndpoints): allocating ports probes the host, which this step cannot wait for.
  } else {
    const what = rollback ? 'rollback' : 'update';
    service.UpdateStatus = { ...status, State: rollback ? 'rollback_paused' : 'paused', Message: `${what} paused due to failure or early termination of task ${taskId}` };
  }
  writer.updateService(service);
}

/**
 * What `--detach=false` shows: per slot (node, for a global service) the newest task's state,
 * how many run the current spec against how many are wanted (a job: completed against its
 * total), whether the service converged, and its update's status.
 */
export async function progressOf(ctx: SwarmContext, service: Service): Promise<ConvergeProgress> {
  const [tasks, nodes] = await Promise.all([ctx.store.list('tasks'), ctx.store.list('nodes')]);
  const kind = modeKind(service);
  const iteration = service.JobStatus?.JobIteration.Index ?? 0;
  const mine = tasks.filter((t) => t.ServiceID === service.ID && t.DesiredState !== 'remove' && (!isJob(kind) || (t.JobIteration?.Index ?? 0) === iteration));
  const newest = new Map<string, Task>();
  for (const t of [...mine].sort((a, b) => byTime(a.CreatedAt, b.CreatedAt))) newest.set(slotKey(t), t);
  // A global service runs on every node that takes its tasks (its constraints too).
  const eligible = eligibleNodes(service, nodes, []).nodes.length;
  let running: number;
  let desired: number;
  if (isJob(kind)) {
    const job = service.Spec.Mode.ReplicatedJob;
    desired = kind === 'global-job' ? eligible : job?.TotalCompletions || job?.MaxConcurrent || 1;
    running = mine.filter((t) => t.Status.State === 'complete').length;
  } else {
    desired = kind === 'global' ? eligible : (service.Spec.Mode.Replicated?.Replicas ?? 1);
    running = mine.filter((t) => live(t) && t.Status.State === 'running' && !dirty(service, t)).length;
  }
  const stale = mine.some((t) => live(t) && dirty(service, t));
  const slots = [...newest.entries()].sort(([a], [b]) => (kind === 'replicated' || kind === 'replicated-job' ? Number(a) - Number(b) : a.localeCompare(b)));
  return {
    service: service.ID,
    tasks: slots.map(([slot, t]) => ({ slot, state: t.Status.State, message: t.Status.Message, ...(t.Status.Err ? { err: t.Status.Err } : {}) })),
    running,
    desired,
    converged: running === desired && !stale && !updateInProgress(service),
    ...(service.UpdateStatus ? { update: service.UpdateStatus } : {}),
  };
}

/**
 * Whether nothing more will happen without a change from outside: no update step or timer due,
 * and every task meant to run is running (a job's: completed) or waits for a node.
 */
function settled(tasks: readonly Task[], service: Service, wakeAt: number | undefined): boolean {
  if (wakeAt !== undefined || updateInProgress(service)) return false;
  return !tasks.some((t) => {
    if (t.ServiceID !== service.ID || stateIndex(t.DesiredState) > stateIndex('complete') || t.Status.State === 'pending') return false;
    return t.Status.State !== (t.DesiredState === 'complete' ? 'complete' : 'running');
  });
}

/** How often a waiting caller looks at the tasks again (it is their monitor while it waits). */
const POLL_MS = 250;

/**
 * `--detach=false`: drive the service to its spec — the passes that start its tasks, replace
 * failed ones and step its update run in this process — reporting progress, until it converges,
 * its update pauses, or nothing more can happen (a drained node, a task out of restarts); then
 * the last progress. An update left half-done by a caller that went is continued here.
 */
export async function converge(ctx: SwarmContext, id: string, options: { onProgress?: (progress: ConvergeProgress) => void; signal?: AbortSignal } & PassOptions = {}): Promise<ConvergeProgress> {
  const serviceId = findObject(await ctx.store.list('services'), id, 'service', (s) => s.Spec.Name).ID;
  for (;;) {
    throwIfAborted(options.signal, 'waiting for the service to converge');
    const { wakeAt } = await reconcileOnce(ctx, serviceId, options.auth ? { auth: options.auth } : {});
    const service = await ctx.store.get('services', serviceId);
    if (!service) throw findObject([], id, 'service', () => undefined);
    const progress = await progressOf(ctx, service);
    options.onProgress?.(progress);
    const state = service.UpdateStatus?.State;
    if (progress.converged || state === 'paused' || state === 'rollback_paused') return progress;
    if (settled(await ctx.store.list('tasks'), service, wakeAt)) return progress;
    await sleep(Math.min(POLL_MS, Math.max(0, (wakeAt ?? Infinity) - Date.now())), options.signal);
  }
}
