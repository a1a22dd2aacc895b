import type { ContainerInspect, EngineEvent } from '@ctr/engine';
import { eventually, testEngine, type TestEngine } from './fixture';

/**
 * A container in its restart wait (exited, its policy's restart pending) under an engine's
 * monitor, as ctrd runs one: dockerd's "restarting" state, which counts as running, and which
 * stop, kill, rm and restart end for good (the pending restart is cancelled).
 */
let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
  await t.engine.startMonitor({ scanIntervalMs: 200 });
});
afterAll(async () => {
  await t?.engine.close();
  await t?.cleanup();
});

/** A container that fails quickly, again and again: each failure doubles its restart wait. */
async function crashLooping(): Promise<string> {
  const { id } = await t.engine.run({ image: 'busybox', network: 'none', restart: 'always', cmd: ['sh', '-c', 'sleep 0.2; exit 1'], detach: true });
  return id;
}

/** Caught in its restart wait (by its second failure the wait is 200 ms, then 400 ms…): what inspect said then. */
async function inRestartWait(id: string): Promise<ContainerInspect> {
  const seen = await eventually(() => t.engine.inspect(id), (c) => c.State.Restarting);
  expect(seen.State.Restarting).toBe(true);
  return seen;
}

/** It stays as it is now: no restart comes (the backoff by then is well under this). */
async function settled(id: string): Promise<{ status: string; restarts: number }> {
  const before = (await t.engine.inspect(id)).RestartCount;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const after = await t.engine.inspect(id);
  expect(after.RestartCount).toBe(before);
  return { status: after.State.Status, restarts: after.RestartCount };
}

async function eventsOf(id: string, since: number): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const event of t.engine.events({ since, until: Date.now() / 1000, filters: { container: [id] } })) out.push(event);
  return out;
}

test("a restarting container is running and restarting, as dockerd's state has it, and ps lists it", async () => {
  const id = await crashLooping();
  expect((await inRestartWait(id)).State).toMatchObject({ Status: 'restarting', Running: true, Restarting: true });
  await eventually(
    async () => (await t.engine.ps()).find((c) => c.Id === id)?.State,
    (listed) => listed === 'restarting',
  );
  await t.engine.remove(id, { force: true });
});

test('stop in the restart wait cancels the restart: the container stays exited, with a stop event', async () => {
  const id = await crashLooping();
  await inRestartWait(id);
  const since = Date.now() / 1000;
  await t.engine.stop(id);
  expect(await settled(id)).toMatchObject({ status: 'exited' });
  expect((await eventsOf(id, since)).map((e) => e.Action)).toContain('stop');
  await t.engine.remove(id);
});

test('kill in the restart wait cancels the restart', async () => {
  const id = await crashLooping();
  await inRestartWait(id);
  await t.engine.kill(id);
  expect(await settled(id)).toMatchObject({ status: 'exited' });
  await t.engine.remove(id);
});

test('kill with SIGKILL of a running container is final: its policy does not restart it', async () => {
  const { id } = await t.engine.run({ image: 'busybox', network: 'none', restart: 'always', cmd: ['sleep', '300'], detach: true });
  await t.engine.kill(id, 'SIGKILL');
  await t.engine.wait(id);
  expect(await settled(id)).toEqual({ status: 'exited', restarts: 0 });
  await t.engine.remove(id);
});

test('a signal other than SIGKILL or the stop signal leaves the policy in place', async () => {
  const { id } = await t.engine.run({
    image: 'busybox',
    network: 'none',
    restart: 'on-failure:1',
    cmd: ['sh', '-c', 'trap "exit 3" HUP; while :; do sleep 0.1; done'],
    detach: true,
  });
  await t.engine.kill(id, 'SIGHUP');
  const restarted = await eventually(() => t.engine.inspect(id), (c) => c.RestartCount === 1 && c.State.Running);
  expect(restarted.RestartCount).toBe(1);
  await t.engine.remove(id, { force: true });
});

test('rm of a restarting container is refused in docker\'s words', async () => {
  const id = await crashLooping();
  await inRestartWait(id);
  await expect(t.engine.remove(id)).rejects.toMatchObject({
    code: 'Conflict',
    message: expect.stringMatching(/^cannot remove container "\/[\w.-]+": container is (restarting|running): stop the container before removing or force remove$/),
  });
  await t.engine.remove(id, { force: true });
});

test('rm -f in the restart wait removes the container, and no restart brings it back', async () => {
  const id = await crashLooping();
  await inRestartWait(id);
  await t.engine.remove(id, { force: true });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
});

test('restart in the restart wait runs the container again at once', async () => {
  const { id } = await t.engine.run({ image: 'busybox', network: 'none', restart: 'always', cmd: ['sh', '-c', 'sleep 1; exit 1'], detach: true });
  await inRestartWait(id);
  const since = Date.now() / 1000;
  await t.engine.restart(id, { timeout: 0 });
  expect((await t.engine.inspect(id)).State).toMatchObject({ Status: 'running', Running: true, Restarting: false });
  expect((await eventsOf(id, since)).map((e) => e.Action)).toContain('restart');
  await t.engine.remove(id, { force: true });
});

test('the monitor emits die for the exit of a container without a restart policy', async () => {
  const since = Date.now() / 1000;
  const { id } = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sh', '-c', 'exit 9'], detach: true });
  const died = await eventually(
    async () => (await eventsOf(id, since)).filter((e) => e.Action === 'die'),
    (events) => events.length > 0,
  );
  expect(died.map((e) => e.Actor.Attributes.exitCode)).toEqual(['9']);
  await t.engine.remove(id);
});
