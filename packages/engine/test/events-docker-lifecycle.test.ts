import { Engine } from '@ctr/engine';
import { collector, eventually, testEngine, type TestEngine } from './fixture';
import { afterEverything, eventsSince, line } from './support/event-window';

/**
 * The event sequences dockerd 28 gives a container's stop, restart, attached run and start,
 * its removal with its volumes, a probe after a rename, and the prunes of containers,
 * volumes and networks (moby daemon/stop.go, kill.go, attach.go, prune.go, volume/service).
 */
let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

/** Container `id`'s own events and the volume and network events that name it, as `Type Action`. */
async function story(since: number, id: string): Promise<string[]> {
  return (await eventsSince(t.engine, since)).filter((e) => e.Actor.ID === id || e.Actor.Attributes.container === id).map((e) => `${e.Type} ${e.Action}`);
}

/** Container `id`'s kill signals from `since`, in order. */
async function killSignals(since: number, id: string): Promise<string[]> {
  return (await eventsSince(t.engine, since, { container: [id], event: ['kill'] })).map((e) => e.Actor.Attributes.signal ?? '');
}

function sleeper(cmd: string[] = ['sleep', '300']): ReturnType<TestEngine['engine']['run']> {
  return t.engine.run({ image: 'busybox', network: 'none', cmd, detach: true });
}

describe('stop and restart', () => {
  test('a stop whose grace runs out emits the SIGKILL it ends with as a second kill, before the die', async () => {
    const { id } = await sleeper();
    const since = await afterEverything();
    await t.engine.stop(id, { timeout: 1 });
    expect(await story(since, id)).toEqual(['container kill', 'container kill', 'container die', 'container stop']);
    expect(await killSignals(since, id)).toEqual(['15', '9']);
    await t.engine.remove(id);
  });

  test('a stop that its signal ends within the grace emits one kill', async () => {
    const { id } = await sleeper(['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done']);
    // Its trap is set once its shell runs: a signal before that would end it all the same.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const since = await afterEverything();
    await t.engine.stop(id, { timeout: 10 });
    expect(await killSignals(since, id)).toEqual(['15']);
    await t.engine.remove(id);
  });

  test('a restart with no grace emits kill 15, kill 9, die, stop, start and restart', async () => {
    const { id } = await sleeper();
    const since = await afterEverything();
    await t.engine.restart(id, { timeout: 0 });
    expect(await story(since, id)).toEqual(['container kill', 'container kill', 'container die', 'container stop', 'container start', 'container restart']);
    expect(await killSignals(since, id)).toEqual(['15', '9']);
    await t.engine.remove(id, { force: true });
  });
});

describe('attach', () => {
  test('an attached run emits attach after the create, before it joins its network and starts', async () => {
    const since = await afterEverything();
    const { id } = await t.engine.run({ image: 'busybox', cmd: ['true'], stdout: collector() });
    expect((await story(since, id)).slice(0, 4)).toEqual(['container create', 'container attach', 'network connect', 'container start']);
    await t.engine.remove(id);
  });

  test('an attached start emits attach before it joins its network and starts', async () => {
    const { id } = await t.engine.create({ image: 'busybox', cmd: ['true'] });
    const since = await afterEverything();
    const { attached } = await t.engine.start(id, { stdout: collector() });
    await attached;
    await t.engine.wait(id);
    expect((await story(since, id)).slice(0, 3)).toEqual(['container attach', 'network connect', 'container start']);
    await t.engine.remove(id);
  });
});

describe('volumes a container makes and removes', () => {
  test("an anonymous volume's making is a volume create event with its driver", async () => {
    const since = await afterEverything();
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', volumes: ['/anon'] });
    const [volume] = (await t.engine.inspect(id)).Mounts;
    const created = await eventsSince(t.engine, since, { type: ['volume'], event: ['create'] });
    expect(created.map((e) => [e.Actor.ID, e.Actor.Attributes.driver])).toEqual([[volume?.Name, 'local']]);
    await t.engine.remove(id, { volumes: true });
  });

  test("rm -v destroys the container's anonymous volume before the container", async () => {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', volumes: ['/anon'] });
    const [volume] = (await t.engine.inspect(id)).Mounts;
    const since = await afterEverything();
    await t.engine.remove(id, { volumes: true });
    expect((await eventsSince(t.engine, since)).map(line)).toEqual([`volume destroy ${volume?.Name}`, `container destroy ${id}`]);
  });
});

test('a volume create emits create once: creating a volume that exists answers with it and says nothing, as moby', async () => {
  const since = await afterEverything();
  await t.engine.createVolume({ name: 'made-once' });
  await t.engine.createVolume({ name: 'made-once' });
  const events = await eventsSince(t.engine, since, { type: ['volume'] });
  expect(events.map((e) => [e.Action, e.Actor.ID])).toEqual([['create', 'made-once']]);
  await t.engine.removeVolume('made-once');
});

describe('prunes', () => {
  test('a container prune emits a destroy for each container, then prune with the space reclaimed', async () => {
    const { id } = await sleeper(['true']);
    await t.engine.wait(id);
    const since = await afterEverything();
    const { SpaceReclaimed } = await t.engine.pruneContainers();
    const events = await eventsSince(t.engine, since, { type: ['container'] });
    expect(events.map((e) => `${e.Action} ${e.Actor.ID}`)).toEqual([`destroy ${id}`, 'prune ']);
    expect(events[1]?.Actor.Attributes).toEqual({ reclaimed: String(SpaceReclaimed) });
  });

  test('a volume prune emits a destroy with its driver for each volume, then prune with the space reclaimed', async () => {
    await t.engine.createVolume({ name: 'pruned-vol' });
    const since = await afterEverything();
    const { SpaceReclaimed } = await t.engine.pruneVolumes({ all: true });
    const events = await eventsSince(t.engine, since, { type: ['volume'] });
    expect(events.map((e) => [e.Action, e.Actor.ID, e.Actor.Attributes])).toEqual([
      ['destroy', 'pruned-vol', { driver: 'local' }],
      ['prune', '', { reclaimed: String(SpaceReclaimed) }],
    ]);
  });

  test('a network prune emits a destroy for each network, then prune with nothing reclaimed', async () => {
    const network = await t.engine.createNetwork({ name: 'pruned-net' });
    const since = await afterEverything();
    await t.engine.pruneNetworks();
    const events = await eventsSince(t.engine, since, { type: ['network'] });
    expect(events.map((e) => [e.Action, e.Actor.ID, e.Actor.Attributes])).toEqual([
      ['destroy', network.Id, { name: 'pruned-net', type: 'bridge' }],
      ['prune', '', { reclaimed: '0' }],
    ]);
  });
});

test("a monitor's probes after a rename name the container by its new name", async () => {
  const monitor = new Engine({ root: t.root, runRoot: t.runRoot });
  await monitor.startMonitor({ scanIntervalMs: 100 });
  try {
    const { id } = await t.engine.create({ image: 'busybox', name: 'probed-before', cmd: ['sleep', '60'], network: 'none', healthcheck: { Test: ['CMD', 'true'], Interval: 200e6 } });
    await t.engine.start(id);
    const probes = async (since: number): Promise<string[]> => (await eventsSince(t.engine, since, { container: [id], event: ['exec_create'] })).map((e) => e.Actor.Attributes.name ?? '');
    await eventually(() => probes(0), (names) => names.length > 0);
    await t.engine.rename(id, 'probed-after');
    const since = await afterEverything();
    expect((await eventually(() => probes(since), (names) => names.length > 0))[0]).toBe('probed-after');
    await t.engine.remove(id, { force: true });
  } finally {
    await monitor.close();
  }
});
