import { startMonitor } from '../src/orchestrator';
import { createService, removeService } from '../src/services';
import { converge } from '../src/updater';
import { ms, sharedSwarm, spec, tasksOf } from './swarm-fixture';

const s = sharedSwarm();
const stop = new AbortController();

beforeAll(async () => {
  await startMonitor(s.ctx, stop.signal);
});
afterAll(async () => {
  const background = s.ctx.background;
  stop.abort();
  await background?.idle();
});

/** Polls `probe` until it is true (or 10 s pass), the way a client waits for the swarm to act. */
async function eventually(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100 && !(await probe()); i++) await new Promise((r) => setTimeout(r, 100));
  expect(await probe()).toBe(true);
}

/** A service whose container takes its whole grace period to stop (busybox as PID 1 ignores SIGTERM). */
const slowToStop = (name: string): ReturnType<typeof spec> => spec(name, ['sleep', '300'], {}, { StopSignal: 'SIGTERM', StopGracePeriod: ms(3000) });

const containersOf = (serviceId: string): Promise<unknown[]> => s.t.engine.ps({ all: true, filters: { label: [`com.docker.swarm.service.id=${serviceId}`] } });

test('under the monitor, service rm answers once the store is updated; the containers stop afterwards', async () => {
  const { ID } = await createService(s.ctx, slowToStop('leaving'));
  await converge(s.ctx, ID, {});
  await removeService(s.ctx, ID);
  expect((await s.swarm.services()).map((svc) => svc.ID)).not.toContain(ID);
  // Answered within the container's grace period: it is still there.
  expect(await containersOf(ID)).toHaveLength(1);
  await eventually(async () => (await containersOf(ID)).length === 0);
});

test('under the monitor, node update --availability drain answers at once; the tasks shut down afterwards', async () => {
  const { ID } = await createService(s.ctx, slowToStop('drained'));
  await converge(s.ctx, ID, {});
  const [node] = await s.swarm.nodes();
  await s.swarm.updateNode(node!.ID, node!.Version.Index, { ...node!.Spec, Availability: 'drain' });
  // Answered within the container's grace period: the task has not shut down yet.
  expect((await tasksOf(s.ctx, ID))[0]?.Status.State).not.toBe('shutdown');
  await eventually(async () => (await tasksOf(s.ctx, ID))[0]?.Status.State === 'shutdown');
  const drained = await s.swarm.inspectNode(node!.ID);
  await s.swarm.updateNode(node!.ID, drained.Version.Index, { ...drained.Spec, Availability: 'active' });
  await removeService(s.ctx, ID);
});

test('under the monitor, a service create answers before its task runs, and the task runs afterwards', async () => {
  const { ID } = await createService(s.ctx, spec('created', ['sleep', '300']));
  await eventually(async () => (await tasksOf(s.ctx, ID)).some((t) => t.Status.State === 'running'));
  await removeService(s.ctx, ID);
});

test("once the monitor stops, the work under way stops waiting on a container's grace period (ctrd's shutdown)", async () => {
  const { ID } = await createService(s.ctx, slowToStop('interrupted'));
  await converge(s.ctx, ID, {});
  const background = s.ctx.background;
  await removeService(s.ctx, ID);
  stop.abort();
  await background?.idle();
  // Still within its grace period: left for the next pass (its task is still recorded, to be removed).
  expect(await containersOf(ID)).toHaveLength(1);
  expect((await tasksOf(s.ctx, ID))[0]?.DesiredState).toBe('remove');
});

test('once the monitor stops, a request does its own work again before answering', async () => {
  const { ID } = await createService(s.ctx, slowToStop('unwatched'));
  await converge(s.ctx, ID, {});
  const background = s.ctx.background;
  stop.abort();
  await background?.idle();
  await removeService(s.ctx, ID);
  expect(await containersOf(ID)).toEqual([]);
});
