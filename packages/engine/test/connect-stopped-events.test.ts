import { testEngine, type TestEngine } from './fixture';
import { afterEverything, eventsSince } from './support/event-window';

/**
 * Connecting a container that is not running only records the network in its config
 * (moby daemon/container_operations.go ConnectToNetwork): no event then; the connect
 * event comes when its next start joins it, as for the networks it was created with.
 */
let t: TestEngine;
const first = `cse-a-${process.pid}`;
const second = `cse-b-${process.pid}`;

beforeAll(async () => {
  t = await testEngine();
  await t.engine.createNetwork({ name: first });
  await t.engine.createNetwork({ name: second });
});
afterAll(async () => {
  for (const c of (await t?.engine.ps({ all: true })) ?? []) await t.engine.remove(c.Id, { force: true }).catch(() => undefined);
  await t?.engine.removeNetwork(first).catch(() => undefined);
  await t?.engine.removeNetwork(second).catch(() => undefined);
  await t?.cleanup();
});

/** The network events naming container `id` from `since`, as `Action network-name`. */
async function networkStory(since: number, id: string): Promise<string[]> {
  const events = await eventsSince(t.engine, since, { type: ['network'] });
  return events.filter((e) => e.Actor.Attributes.container === id).map((e) => `${e.Action} ${e.Actor.Attributes.name ?? ''}`);
}

test('connecting a stopped container emits no network event', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: first, cmd: ['sleep', '100'] });
  const since = await afterEverything();
  await t.engine.connect(second, id);
  expect(await networkStory(since, id)).toEqual([]);
  await t.engine.remove(id, { force: true });
});

test('the start after it emits one connect per network, the added one included', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: first, cmd: ['sleep', '100'] });
  const since = await afterEverything();
  await t.engine.connect(second, id);
  await t.engine.start(id);
  expect((await networkStory(since, id)).sort()).toEqual([`connect ${first}`, `connect ${second}`]);
  await t.engine.remove(id, { force: true });
});

test('connecting a running container emits its connect at once', async () => {
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: first, cmd: ['sleep', '100'], detach: true });
  const since = await afterEverything();
  await t.engine.connect(second, id);
  expect(await networkStory(since, id)).toEqual([`connect ${second}`]);
  await t.engine.remove(id, { force: true });
});
