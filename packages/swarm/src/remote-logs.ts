import { invalidArgument, isCtrError, notFound } from '@ctr/errors';
import type { SwarmContext } from './context';
import { agentAddress } from './membership';
import { containerLines, engineOptions } from './service-logs';
import { TASK_LABEL } from './tasks';
import { clusterClient, type ClusterRoute } from './transport';
import type { Node, ServiceLogLine, ServiceLogsOptions } from './types';

/** The options as `GET /logs` carries them (docker's own query names). */
function logsQuery(taskId: string, options: ServiceLogsOptions): URLSearchParams {
  const query = new URLSearchParams({ task: taskId });
  if (options.follow) query.set('follow', '1');
  if (options.tail !== undefined) query.set('tail', options.tail);
  if (options.since) query.set('since', options.since);
  if (options.until) query.set('until', options.until);
  if (options.details) query.set('details', '1');
  return query;
}

const flag = (value: string | null): boolean => value === '1' || value === 'true';

/**
 * The lines of a task another node runs, from that node's agent (`GET /logs`), each with the
 * task's context as the manager knows it. A node that cannot be reached (down, or gone) has no
 * lines to give: the other tasks' lines still come, as docker's `service logs` goes on without
 * a node it cannot reach.
 */
export async function* remoteTaskLines(ctx: SwarmContext, node: Node | undefined, context: ServiceLogLine['task'], options: ServiceLogsOptions): AsyncGenerator<ServiceLogLine> {
  const addr = node && agentAddress(node);
  if (!addr) return;
  const client = clusterClient(ctx, addr, 'worker');
  try {
    for await (const line of client.stream<ServiceLogLine>('GET', `/logs?${logsQuery(context.id, options).toString()}`, options.signal ? { signal: options.signal } : {})) {
      yield { ...line, task: context };
    }
  } catch (error) {
    if (!(isCtrError(error) && (error.code === 'Unavailable' || error.code === 'Aborted'))) throw error;
  }
}

/**
 * The worker's `GET /logs?task=&follow=&tail=&since=&until=&details=`: its task container's
 * lines as newline-delimited ServiceLogLines (the transport streams the iterable), read as the
 * manager reads its own tasks' — only the manager may call it (the agent's caller check).
 */
export function workerLogsRoute(ctx: SwarmContext): ClusterRoute {
  return async (request, signal) => {
    const taskId = request.query.get('task');
    if (!taskId) throw invalidArgument('a logs request names its task: /logs?task=<id>');
    const [container] = await ctx.engine.ps({ all: true, filters: { label: [`${TASK_LABEL.taskId}=${taskId}`] } });
    if (!container) throw notFound(`task ${taskId} has no container on this node`);
    const options: ServiceLogsOptions = {
      follow: flag(request.query.get('follow')),
      details: flag(request.query.get('details')),
      signal,
      ...(request.query.get('tail') !== null ? { tail: request.query.get('tail') as string } : {}),
      ...(request.query.get('since') ? { since: request.query.get('since') as string } : {}),
      ...(request.query.get('until') ? { until: request.query.get('until') as string } : {}),
    };
    const labels = container.Labels;
    const context = { id: taskId, name: labels[TASK_LABEL.taskName] ?? '', nodeId: labels[TASK_LABEL.nodeId] ?? '', serviceId: labels[TASK_LABEL.serviceId] ?? '' };
    return containerLines(ctx, container.Id, context, engineOptions(options));
  };
}
