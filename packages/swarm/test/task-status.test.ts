import { startMonitor } from '../src/orchestrator';
import { createService, removeService } from '../src/services';
import { listTasks } from '../src/tasks';
import type { Task } from '../src/types';
import { ms, sharedSwarm, spec, tasksOf } from './swarm-fixture';

const s = sharedSwarm();
const stop = new AbortController();

beforeAll(async () => {
  // The engine runs health checks while its monitor runs; the swarm's follows their status changes.
  await s.t.engine.startMonitor();
  await startMonitor(s.ctx, stop.signal);
});
afterAll(async () => {
  const background = s.ctx.background;
  stop.abort();
  await background?.idle();
});

/** The service's tasks once `done` holds for them (or 15 s pass). */
async function tasksWhen(serviceId: string, done: (tasks: Task[]) => boolean): Promise<Task[]> {
  let tasks = await tasksOf(s.ctx, serviceId);
  for (let i = 0; i < 150 && !done(tasks); i++) {
    await new Promise((r) => setTimeout(r, 100));
    tasks = await tasksOf(s.ctx, serviceId);
  }
  return tasks;
}

/** A service whose health check passes while /tmp/ok exists, failures in its first `startPeriodMs` not counted. */
const checked = (name: string, command: string, startPeriodMs = 0): ReturnType<typeof spec> =>
  spec(name, ['sh', '-c', command], {}, { Healthcheck: { Test: ['CMD-SHELL', 'test -f /tmp/ok'], Interval: ms(500), Retries: 2, StartPeriod: ms(startPeriodMs) } });

test('a task whose container has a health check is starting until it is healthy, then running', async () => {
  const { ID } = await createService(s.ctx, checked('healthy', 'sleep 2; touch /tmp/ok; sleep 300', 10_000));
  const starting = await tasksWhen(ID, (tasks) => tasks[0]?.Status.State === 'starting');
  expect(starting[0]?.Status).toMatchObject({ State: 'starting', Message: 'starting' });
  const running = await tasksWhen(ID, (tasks) => tasks[0]?.Status.State === 'running');
  expect(running[0]?.Status).toMatchObject({ State: 'running', Message: 'started' });
  await removeService(s.ctx, ID);
});

test('an unhealthy container fails its task with "unhealthy container", and the restart policy replaces it', async () => {
  const { ID } = await createService(s.ctx, checked('unhealthy', 'touch /tmp/ok; sleep 1; rm /tmp/ok; sleep 300'));
  const tasks = await tasksWhen(ID, (all) => all.length >= 2);
  expect(tasks[0]?.Status).toMatchObject({ State: 'failed', Message: 'started', Err: 'unhealthy container' });
  expect(tasks[0]?.DesiredState).toBe('shutdown');
  expect(tasks[1]?.Slot).toBe(tasks[0]?.Slot);
  await removeService(s.ctx, ID);
});

test("a host-mode published port is in the task's PortStatus, as the container publishes it", async () => {
  const ports = { Ports: [{ Protocol: 'tcp' as const, TargetPort: 80, PublishedPort: 18195, PublishMode: 'host' as const }] };
  const { ID } = await createService(s.ctx, spec('hostport', ['sleep', '300'], { EndpointSpec: ports }));
  await tasksWhen(ID, (tasks) => tasks[0]?.Status.State === 'running');
  const [task] = await listTasks(s.ctx, { service: [ID] });
  expect(task?.Status.PortStatus?.Ports).toContainEqual(ports.Ports[0]);
  await removeService(s.ctx, ID);
});

test('a task without published ports shows an empty PortStatus, as docker\'s API always has one', async () => {
  const { ID } = await createService(s.ctx, spec('noports', ['sleep', '300']));
  await tasksWhen(ID, (tasks) => tasks[0]?.Status.State === 'running');
  const [task] = await listTasks(s.ctx, { service: [ID] });
  expect(task?.Status.PortStatus).toEqual({});
  await removeService(s.ctx, ID);
});

test('a rejected task is replaced at once, the replacement waiting out the restart delay', async () => {
  const rejected = spec('rejected', ['sleep', '300'], {}, { Mounts: [{ Type: 'bind', Source: '/nonexistent-ctr-test', Target: '/x' }] });
  rejected.TaskTemplate.RestartPolicy = { Condition: 'any', Delay: ms(5000) };
  const { ID } = await createService(s.ctx, rejected);
  const tasks = await tasksWhen(ID, (all) => all.length >= 2);
  expect(tasks[0]?.Status.State).toBe('rejected');
  expect(tasks[1]?.DesiredState).toBe('ready');
  // Well within the delay, and far from the periodic pass (30 s); a replacement rejected in its delay is not replaced before it elapses.
  expect(Date.parse(tasks[1]!.CreatedAt) - Date.parse(tasks[0]!.CreatedAt)).toBeLessThan(3000);
  expect(await tasksOf(s.ctx, ID)).toHaveLength(2);
  await removeService(s.ctx, ID);
});
