import type { SwarmContext } from './context';
import type { Assignments, StatusUpdate } from './dispatcher';
import { errorText, FailureLog, NO_LOG, type SwarmLog } from './log';
import { applyNetworkAssignments, taskNetworks } from './networks';
import { carryOut, observe, sleep, statusOf, type ContainerWork } from './orchestrator';
import { taskFilesFrom } from './secrets';
import { taskContainers, type TaskEnvironment } from './task-container';
import { advance, ended, stateIndex, TASK_LABEL } from './tasks';
import type { Task, TaskStatus } from './types';

/** What the worker needs of its session with the manager (transport.ts's client). */
export interface ManagerClient {
  call<T>(method: string, path: string, body?: unknown, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<T>;
}

export interface WorkerOptions {
  /** How long the manager may hold a long poll, in seconds. */
  pollSeconds?: number;
  /** The agent's log: a failed piece of local work (tried again on the next assignments or sweep), the long poll's failures (debug: the session's are the agent's to tell). */
  log?: SwarmLog;
}

/** Reconnecting: 1 s, doubling, at most 30 s (the design's backoff). */
const BACKOFF_MS = { first: 1000, max: 30_000 };
/** A look at every task's container now and then, in case an exit event was missed. */
const SWEEP_MS = 10_000;

/**
 * A worker's side of the swarm, until `signal` aborts: long-polls its assignments, makes,
 * starts, stops and removes its task containers as the manager's pass does for its own (the
 * same code: `carryOut`), watches them (the engine's die events, and a sweep now and then), and
 * reports each status change. While the manager cannot be reached its tasks keep running; it
 * retries with backoff, and once back re-reports every task's status (the manager keeps only the
 * forward moves), so nothing seen meanwhile is lost.
 */
export async function runWorker(ctx: SwarmContext, client: ManagerClient, signal: AbortSignal, options: WorkerOptions = {}): Promise<void> {
  const worker = new Worker(ctx, client, signal, options);
  await worker.run();
}

class Worker {
  /** The tasks as this node knows them: the manager's copy, its status moved forward by what was seen here. */
  private readonly tasks = new Map<string, Task>();
  /** Reports not yet taken by the manager, the newest per task. */
  private readonly unsent = new Map<string, Omit<TaskStatus, 'Timestamp'>>();
  private serial: Promise<void> = Promise.resolve();
  private flushing: Promise<void> | undefined;
  private readonly log: SwarmLog;
  /** Each piece of work that fails is retried at the next assignments or sweep: one line per new failure. */
  private readonly failures: FailureLog;

  constructor(
    private readonly ctx: SwarmContext,
    private readonly client: ManagerClient,
    private readonly signal: AbortSignal,
    private readonly options: WorkerOptions,
  ) {
    this.log = options.log ?? NO_LOG;
    this.failures = new FailureLog(this.log, 'worker: failed to carry out the assignments');
  }

  async run(): Promise<void> {
    this.watch();
    const sweep = setInterval(() => this.enqueue(() => this.observeAll()), SWEEP_MS);
    sweep.unref();
    const pollSeconds = this.options.pollSeconds ?? 30;
    let index = 0;
    let backoff = BACKOFF_MS.first;
    let reconnected = false;
    try {
      while (!this.signal.aborted) {
        let assignments: Assignments;
        try {
          assignments = await this.client.call<Assignments>('GET', `/assignments?since=${index}&wait=${pollSeconds}`, undefined, { signal: this.signal, timeoutMs: (pollSeconds + 15) * 1000 });
        } catch (error) {
          if (this.signal.aborted) break;
          this.log.log('debug', 'worker: waiting for assignments failed', { error: errorText(error), backoff: `${backoff}ms` });
          reconnected = true;
          await sleep(backoff, this.signal);
          backoff = Math.min(backoff * 2, BACKOFF_MS.max);
          continue;
        }
        backoff = BACKOFF_MS.first;
        index = assignments.index;
        if (reconnected) {
          // What the manager missed while away: every task's status as seen here.
          for (const task of this.tasks.values()) if (!this.unsent.has(task.ID)) this.unsent.set(task.ID, task.Status);
          reconnected = false;
        }
        await this.enqueue(async () => {
          await this.apply(assignments);
          // Only assignments carried out in full end a run of failures (a sweep that works says nothing of them).
          this.failures.clear();
        });
      }
    } finally {
      clearInterval(sweep);
      await this.serial;
    }
  }

  /** Local work runs one piece at a time: an assignments answer, an exit event, a sweep. */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.serial = this.serial.then(fn).catch((error: unknown) => this.failures.failed(error));
    return this.serial;
  }

  /** The engine's die events of task containers: the task's status, observed and reported. */
  private watch(): void {
    const events = this.ctx.engine.events({ filters: { type: ['container'], event: ['die'], label: [TASK_LABEL.taskId] }, signal: this.signal });
    void (async () => {
      try {
        for await (const event of events) {
          const id = event.Actor.Attributes[TASK_LABEL.taskId];
          if (id) void this.enqueue(() => this.observeAll(id));
        }
      } catch {
        // Aborted: the worker stops.
      }
    })();
  }

  private async apply(assignments: Assignments): Promise<void> {
    // The overlay networks (and their peers, and the other nodes' tasks in DNS) before any task joins one.
    await applyNetworkAssignments(this.ctx, assignments.networks);
    const present = await taskContainers(this.ctx);
    const services = new Map(assignments.services.map((s) => [s.ID, s]));
    const work: ContainerWork = { stop: [], remove: [], prepare: [], start: [] };
    const assigned = new Set<string>();
    for (const given of assignments.tasks) {
      assigned.add(given.ID);
      const task = structuredClone(given);
      const known = this.tasks.get(task.ID);
      if (known) advance(task, known.Status);
      const container = present.get(task.ID);
      // A container made here whose report the manager has not taken yet (or before a restart of this agent).
      if (container && !task.Status.ContainerStatus?.ContainerID && stateIndex(task.Status.State) <= stateIndex('ready')) {
        advance(task, { State: 'ready', Message: 'prepared', ContainerStatus: { ContainerID: container, PID: 0, ExitCode: 0 } });
        this.report(task.ID, task.Status);
      }
      this.tasks.set(task.ID, task);
      if (stateIndex(task.DesiredState) > stateIndex('complete')) {
        if (ended(task)) continue;
        if (container) work.stop.push(task);
        else this.record(task, { State: 'shutdown', Message: 'shutdown' });
        continue;
      }
      const service = services.get(task.ServiceID);
      if (!service) continue;
      if (!container && stateIndex(task.Status.State) <= stateIndex('assigned')) {
        work.prepare.push({ service, task, env: () => this.environment(assignments, task) });
      } else if (container && task.Status.State === 'ready' && task.DesiredState !== 'ready' && (await observe(this.ctx, container)).kind === 'created') {
        work.start.push(task);
      }
    }
    // A task that left the assignments (deleted by the manager): its container and files go.
    for (const [taskId, container] of present) {
      if (assigned.has(taskId)) continue;
      work.remove.push({ taskId, containerId: container });
    }
    for (const taskId of [...this.tasks.keys()]) if (!assigned.has(taskId)) this.tasks.delete(taskId);
    for (const taskId of [...this.unsent.keys()]) if (!assigned.has(taskId)) this.unsent.delete(taskId);
    const { outcomes, failures } = await carryOut(this.ctx, work);
    for (const [taskId, next] of outcomes) {
      const task = this.tasks.get(taskId);
      if (task) this.record(task, next);
    }
    await this.observeAll();
    if (failures.length > 0) throw failures[0];
  }

  /** What a task's container is made with on this node: from the assignments, not a store. */
  private async environment(assignments: Assignments, task: Task): Promise<TaskEnvironment> {
    const service = assignments.services.find((s) => s.ID === task.ServiceID);
    const spec = task.Spec.ContainerSpec;
    return {
      node: assignments.node,
      cluster: assignments.cluster,
      files: taskFilesFrom(assignments, { secrets: spec?.Secrets ?? [], configs: spec?.Configs ?? [] }),
      networks: service ? await taskNetworks(this.ctx, service, task, assignments.networks) : [],
    };
  }

  /** The containers of this node's running tasks (or one task's), looked at, and what changed reported. */
  private async observeAll(taskId?: string): Promise<void> {
    const tasks = [...this.tasks.values()].filter((t) => (taskId === undefined || t.ID === taskId) && t.Status.ContainerStatus?.ContainerID && !ended(t));
    await Promise.all(
      tasks.map(async (task) => {
        // A container gone is a fact too (`missing`): the task failed, or shut down when meant to.
        const next = statusOf(await observe(this.ctx, task.Status.ContainerStatus?.ContainerID as string), task);
        if (next) this.record(task, next);
      }),
    );
    await this.flush();
  }

  /** A status seen here: kept on the task (forward only) and reported when it moved. */
  private record(task: Task, next: Omit<TaskStatus, 'Timestamp'>): void {
    if (advance(task, next)) this.report(task.ID, task.Status);
  }

  private report(taskId: string, status: Omit<TaskStatus, 'Timestamp'>): void {
    this.unsent.set(taskId, status);
    void this.flush();
  }

  /** Sends what is unsent; kept for the next try when the manager cannot be reached. One send at a time. */
  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const sending = (async () => {
      while (this.unsent.size > 0 && !this.signal.aborted) {
        const batch = [...this.unsent];
        const updates: StatusUpdate[] = batch.map(([taskId, status]) => ({ taskId, status: withoutTimestamp(status) }));
        try {
          await this.client.call('POST', '/status', { updates }, { signal: this.signal, timeoutMs: 30_000 });
        } catch {
          // Sent again after the next successful poll (or with the next report).
          return;
        }
        for (const [taskId, status] of batch) if (this.unsent.get(taskId) === status) this.unsent.delete(taskId);
      }
    })();
    this.flushing = sending;
    void sending.finally(() => {
      if (this.flushing === sending) this.flushing = undefined;
    });
    return sending;
  }
}

function withoutTimestamp(status: Omit<TaskStatus, 'Timestamp'> & { Timestamp?: string }): Omit<TaskStatus, 'Timestamp'> {
  const { Timestamp: _time, ...rest } = status;
  return rest;
}
