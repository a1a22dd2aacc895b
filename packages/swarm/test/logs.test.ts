import { serviceLogs, taskLogs } from '../src/service-logs';
import { createService, removeService } from '../src/services';
import type { ServiceLogLine } from '../src/types';
import { converge } from '../src/updater';
import { sharedSwarm, spec, tasksOf } from './swarm-fixture';

const s = sharedSwarm();

async function collect(lines: AsyncIterable<ServiceLogLine>): Promise<ServiceLogLine[]> {
  const out: ServiceLogLine[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

describe('service logs', () => {
  it('merges the tasks’ lines, each carrying its task', async () => {
    const { ID } = await createService(s.ctx, spec('talk', ['sh', '-c', 'echo hello from $SLOT; sleep 300'], { Mode: { Replicated: { Replicas: 2 } } }, { Env: ['SLOT={{.Task.Slot}}'] }));
    await converge(s.ctx, ID, {});
    const tasks = await tasksOf(s.ctx, ID);
    let lines: ServiceLogLine[] = [];
    for (let i = 0; i < 50 && lines.length < 2; i++) {
      lines = await collect(serviceLogs(s.ctx, 'talk'));
      await new Promise((r) => setTimeout(r, 100));
    }
    const [node] = await s.swarm.nodes();
    expect(lines.map((l) => [l.line, l.task.name]).sort()).toEqual(tasks.map((t) => [`hello from ${t.Slot}`, `talk.${t.Slot}.${t.ID}`]).sort());
    expect(lines.every((l) => l.stream === 'stdout' && l.task.serviceId === ID && l.task.nodeId === node!.ID && l.timestamp !== undefined)).toBe(true);
    const one = await collect(taskLogs(s.ctx, tasks[0]!.ID));
    expect(one.map((l) => [l.line, l.task.id])).toEqual([[`hello from ${tasks[0]!.Slot}`, tasks[0]!.ID]]);
    await removeService(s.ctx, ID);
  });

  it('follows until aborted, new lines as they come', async () => {
    const { ID } = await createService(s.ctx, spec('tick', ['sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done']));
    await converge(s.ctx, ID, {});
    const abort = new AbortController();
    const seen: string[] = [];
    for await (const line of serviceLogs(s.ctx, ID, { follow: true, signal: abort.signal })) {
      seen.push(line.line);
      if (seen.length === 3) abort.abort();
    }
    expect(seen.slice(0, 3)).toEqual(['tick 0', 'tick 1', 'tick 2']);
    await removeService(s.ctx, ID);
  });
});
