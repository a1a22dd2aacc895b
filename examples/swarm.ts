/**
 * An orchestrated service — `docker swarm init`, `docker service create --replicas 2 -p …`,
 * `service ps`, `service scale`, a rolling `service update`, `service rm`, `swarm leave`: the
 * swarm keeps two replicas of a web server running, the routing mesh spreads requests to a
 * published port over them, and an update replaces them one at a time.
 *
 *   node examples/run.js swarm
 */
import { Swarm, type ServiceSpec } from '@ctr/swarm';
import { fetchText } from './lib/http';
import { sandbox } from './lib/sandbox';

/** Each replica serves its own hostname (the task container's ID), so the mesh's spreading shows. */
const WEB: ServiceSpec = {
  Name: 'web',
  Labels: {},
  TaskTemplate: {
    ContainerSpec: {
      Image: 'busybox',
      Command: ['sh', '-c', 'mkdir -p /www && echo "$GREETING from $(hostname)" > /www/index.html && exec httpd -f -p 8000 -h /www'],
      Env: ['GREETING=hello'],
      // tini as PID 1 passes the stop signal on to httpd, which a PID 1 would ignore (then killed after the grace period).
      Init: true,
    },
    RestartPolicy: { Condition: 'any', Delay: 100_000_000 },
  },
  Mode: { Replicated: { Replicas: 2 } },
  UpdateConfig: { Parallelism: 1, Monitor: 500_000_000, Order: 'start-first' },
  // PublishedPort left out: the swarm takes one from 30000–32767, as swarmkit does.
  EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 8000 }] },
};

export async function main(
  _args: string[] = [],
  log: (line: string) => void = console.log,
): Promise<{ replicas: string[]; served: string[]; scaledTo: number; updated: string[]; afterRemove: number }> {
  const { engine, cleanup } = await sandbox('swarm');
  const swarm = new Swarm({ engine });
  try {
    const nodeId = await swarm.init({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
    log(`Swarm initialized: current node (${nodeId}) is now a manager.`);

    const { ID } = await swarm.createService(WEB);
    await swarm.converge(ID, { onProgress: (p) => p.converged && log(`overall progress: ${p.running} out of ${p.desired} tasks`) });
    const port = (await swarm.inspectService(ID)).Endpoint.Ports?.[0]?.PublishedPort;
    log(`web published on *:${port}->8000/tcp`);
    const replicas = await running(swarm, ID);
    for (const name of replicas) log(`  ${name}  Running`);

    // The routing mesh: every request to the published port goes to one of the running tasks.
    const served = new Set<string>();
    for (let i = 0; i < 6; i++) served.add(await fetchText(`http://127.0.0.1:${port}/`));
    for (const line of served) log(`GET :${port} -> ${line}`);

    let service = await swarm.inspectService(ID);
    await swarm.updateService(ID, service.Version.Index, { ...service.Spec, Mode: { Replicated: { Replicas: 3 } } });
    const scaled = await swarm.converge(ID, {});
    log(`web scaled to ${scaled.running}`);

    // A rolling update: a new environment, the replicas replaced one at a time (start-first).
    service = await swarm.inspectService(ID);
    const template = service.Spec.TaskTemplate;
    const Env = ['GREETING=bonjour'];
    await swarm.updateService(ID, service.Version.Index, { ...service.Spec, TaskTemplate: { ...template, ContainerSpec: { ...template.ContainerSpec!, Env } } });
    const update = await swarm.converge(ID, {});
    log(`update ${update.update?.State ?? 'done'}: ${update.running} replicas`);
    const updated = new Set<string>();
    for (let i = 0; i < 6; i++) updated.add((await fetchText(`http://127.0.0.1:${port}/`)).split(' ')[0]!);
    log(`after the update the replicas say: ${[...updated].join(', ')}`);

    await swarm.removeService(ID);
    const afterRemove = (await engine.ps({ all: true })).length;
    log(`service removed: ${afterRemove} containers left`);
    return { replicas, served: [...served], scaledTo: scaled.running, updated: [...updated], afterRemove };
  } finally {
    await swarm.leave(true).catch(() => undefined);
    await cleanup();
  }
}

/** The names of the service's running tasks, as `service ps` shows them (`web.1`, `web.2`). */
async function running(swarm: Swarm, service: string): Promise<string[]> {
  const tasks = await swarm.tasks({ service: [service], 'desired-state': ['running'] });
  return tasks.filter((t) => t.Status.State === 'running').map((t) => `web.${t.Slot}`).sort();
}
