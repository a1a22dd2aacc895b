import type { ContainerLogsOptions } from '@ctr/engine';
import { invalidArgument, isNotFound } from '@ctr/errors';
import type { SwarmContext } from './context';
import { sleep } from './orchestrator';
import { byTime, findObject } from './store';
import { taskName } from './tasks';
import { localNode } from './membership';
import { remoteTaskLines } from './remote-logs';
import type { Node, Service, ServiceLogLine, ServiceLogsOptions, Task } from './types';

/** How often a following reader looks for the service's new tasks. */
const NEW_TASKS_MS = 1000;

/** The engine's log options for a service's (refused in docker's words: `invalid tail value`). */
export function engineOptions(options: ServiceLogsOptions): ContainerLogsOptions {
  const tail = options.tail === undefined || options.tail === 'all' ? undefined : Number(options.tail);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw invalidArgument(`invalid tail value: ${options.tail}`);
  return {
    ...(options.follow ? { follow: true } : {}),
    ...(tail !== undefined ? { tail } : {}),
    ...(options.since ? { since: options.since } : {}),
    ...(options.until ? { until: options.until } : {}),
    ...(options.details ? { details: true } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/** One container's lines, each with its task's context (what docker's log details carry as com.docker.swarm.*). */
export async function* containerLines(ctx: SwarmContext, ref: string, context: ServiceLogLine['task'], options: ContainerLogsOptions): AsyncGenerator<ServiceLogLine> {
  try {
    for await (const entry of ctx.engine.logs(ref, options)) {
      yield { stream: entry.stream === 'stderr' ? 'stderr' : 'stdout', task: context, line: entry.line, timestamp: entry.time };
    }
  } catch (error) {
    // A task whose container history removed meanwhile has no more lines.
    if (!isNotFound(error)) throw error;
  }
}

/** Where a pass reads a task's lines: here, or from the worker that runs it. */
interface Readers {
  localId: string | undefined;
  nodes: ReadonlyMap<string, Node>;
}

/** One task's lines: its container's on this node, or its worker's (`GET /logs` on the worker's agent). */
function taskLines(ctx: SwarmContext, readers: Readers, service: Service | undefined, task: Task, options: ServiceLogsOptions): AsyncIterable<ServiceLogLine> {
  const ref = task.Status.ContainerStatus?.ContainerID;
  const context = { id: task.ID, name: taskName(service?.Spec.Name ?? '', task), nodeId: task.NodeID, serviceId: task.ServiceID };
  if (!ref) return (async function* () {})();
  if (task.NodeID !== '' && task.NodeID !== readers.localId) return remoteTaskLines(ctx, readers.nodes.get(task.NodeID), context, options);
  return containerLines(ctx, ref, context, engineOptions(options));
}

/**
 * Lines of several tasks: without follow, all of them in time order (each task's tail first);
 * with follow, as they come, the service's new tasks joining (`more`) until the signal aborts.
 */
async function* merged(ctx: SwarmContext, service: Service | undefined, first: Task[], options: ServiceLogsOptions, more?: () => Promise<Task[]>): AsyncGenerator<ServiceLogLine> {
  // Refused before any line: the options are checked here, whichever node reads them.
  engineOptions(options);
  const [self, nodes] = await Promise.all([localNode(ctx), ctx.store.list('nodes')]);
  const where: Readers = { localId: self?.NodeID, nodes: new Map(nodes.map((n) => [n.ID, n])) };
  if (!options.follow) {
    const lines: ServiceLogLine[] = [];
    for (const task of first) for await (const line of taskLines(ctx, where, service, task, options)) lines.push(line);
    yield* lines.sort((a, b) => (a.timestamp ?? '').localeCompare(b.timestamp ?? ''));
    return;
  }
  const queue: ServiceLogLine[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  const seen = new Set<string>();
  let readers = 0;
  const follow = (task: Task): void => {
    if (seen.has(task.ID)) return;
    seen.add(task.ID);
    readers++;
    void (async () => {
      try {
        for await (const line of taskLines(ctx, where, service, task, options)) {
          queue.push(line);
          wake?.();
        }
      } catch (error) {
        failure ??= error;
      } finally {
        readers--;
        wake?.();
      }
    })();
  };
  first.forEach(follow);
  // One listener for the whole follow: one per wait would pile up on the signal over a long follow.
  const onAbort = (): void => wake?.();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const watcher = more
    ? (async () => {
        while (!options.signal?.aborted) {
          await sleep(NEW_TASKS_MS, options.signal);
          if (options.signal?.aborted) break;
          (await more()).forEach(follow);
        }
      })().catch((error: unknown) => {
        failure ??= error;
        wake?.();
      })
    : undefined;
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift() as ServiceLogLine;
      if (failure) throw failure;
      if (options.signal?.aborted || (readers === 0 && !more)) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    await watcher;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** `service logs`: the lines of every task of the service that has a container, each with its task. */
export function serviceLogs(ctx: SwarmContext, id: string, options: ServiceLogsOptions = {}): AsyncIterable<ServiceLogLine> {
  return (async function* () {
    const service = findObject(await ctx.store.list('services'), id, 'service', (s) => s.Spec.Name);
    const tasksOf = async (): Promise<Task[]> => (await ctx.store.list('tasks')).filter((t) => t.ServiceID === service.ID).sort((a, b) => byTime(a.CreatedAt, b.CreatedAt));
    yield* merged(ctx, service, await tasksOf(), options, tasksOf);
  })();
}

/** `service logs <task id>`: one task's lines. */
export function taskLogs(ctx: SwarmContext, id: string, options: ServiceLogsOptions = {}): AsyncIterable<ServiceLogLine> {
  return (async function* () {
    const task = findObject(await ctx.store.list('tasks'), id, 'task', () => undefined);
    const service = await ctx.store.get('services', task.ServiceID);
    yield* merged(ctx, service, [task], options);
  })();
}
