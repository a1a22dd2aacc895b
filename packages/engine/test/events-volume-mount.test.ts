import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineEvent } from '@ctr/engine';
import { testEngine, type TestEngine } from './fixture';
import { afterEverything, eventsSince, line } from './support/event-window';

/**
 * dockerd's `volume mount` and `unmount` events (moby's setupMounts at each start, the
 * container's UnmountVolumes at the cleanup after each exit): one for each volume the
 * container mounts, named or anonymous; none for a bind or a tmpfs.
 */
let t: TestEngine;
let host: string;
beforeAll(async () => {
  t = await testEngine();
  host = await mkdtemp(join(tmpdir(), 'ctr-mount-events-'));
});
afterAll(async () => {
  await t?.cleanup();
  await rm(host, { recursive: true, force: true });
});
afterEach(async () => {
  for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true, volumes: true });
  for (const v of await t.engine.volumes()) await t.engine.removeVolume(v.Name);
});

function sleeper(volumes: string[], extra: { tmpfs?: string[]; network?: string } = {}): ReturnType<TestEngine['engine']['run']> {
  return t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '300'], detach: true, volumes, ...extra });
}

/** The volume events of `action` for container `id`. */
function volumeEvents(events: EngineEvent[], action: string, id: string): EngineEvent[] {
  return events.filter((e) => e.Type === 'volume' && e.Action === action && e.Actor.Attributes.container === id);
}

/** Container `id`'s own events and the volume and network events that name it, in order. */
function containerStory(events: EngineEvent[], id: string): string[] {
  return events.filter((e) => e.Actor.ID === id || e.Actor.Attributes.container === id).map(line);
}

test('a start mounts a named volume with its driver, the container, the destination, no propagation and read/write', async () => {
  const since = await afterEverything();
  const { id } = await sleeper(['mv-named:/data']);
  const [mounted] = volumeEvents(await eventsSince(t.engine, since), 'mount', id);
  expect(mounted?.Actor).toEqual({
    ID: 'mv-named',
    Attributes: { driver: 'local', container: id, destination: '/data', 'read/write': 'true', propagation: '' },
  });
});

test('an anonymous volume is mounted too, under its generated name', async () => {
  const since = await afterEverything();
  const { id } = await sleeper(['/anon']);
  const [volume] = await t.engine.volumes();
  expect(volumeEvents(await eventsSince(t.engine, since), 'mount', id).map((e) => [e.Actor.ID, e.Actor.Attributes.destination])).toEqual([[volume?.Name, '/anon']]);
});

test('a read-only volume is mounted with read/write false', async () => {
  const since = await afterEverything();
  const { id } = await sleeper(['mv-ro:/data:ro']);
  expect(volumeEvents(await eventsSince(t.engine, since), 'mount', id).map((e) => e.Actor.Attributes['read/write'])).toEqual(['false']);
});

test('binds and tmpfs mounts have no volume events', async () => {
  const since = await afterEverything();
  const { id } = await sleeper([`${host}:/host`], { tmpfs: ['/scratch'] });
  await t.engine.stop(id, { timeout: 0 });
  expect((await eventsSince(t.engine, since, { type: ['volume'] })).map(line)).toEqual([]);
});

test('the volumes are mounted after the networks are joined, before the start', async () => {
  const since = await afterEverything();
  const { id } = await sleeper(['mv-order:/data'], { network: 'bridge' });
  const story = containerStory(await eventsSince(t.engine, since), id);
  expect(story.map((entry) => entry.split(' ').slice(0, 2).join(' '))).toEqual(['container create', 'network connect', 'volume mount', 'container start']);
});

test('a stop unmounts the volumes after the network is left and before the die', async () => {
  const { id } = await sleeper(['mv-stop:/data'], { network: 'bridge' });
  const since = await afterEverything();
  await t.engine.stop(id, { timeout: 0 });
  const story = containerStory(await eventsSince(t.engine, since), id);
  expect(story.map((entry) => entry.split(' ').slice(0, 2).join(' '))).toEqual([
    'container kill',
    'container kill',
    'network disconnect',
    'volume unmount',
    'container die',
    'container stop',
  ]);
});

test('an unmount names only the driver and the container', async () => {
  const { id } = await sleeper(['mv-attrs:/data']);
  const since = await afterEverything();
  await t.engine.stop(id, { timeout: 0 });
  const [unmounted] = volumeEvents(await eventsSince(t.engine, since), 'unmount', id);
  expect(unmounted?.Actor).toEqual({ ID: 'mv-attrs', Attributes: { driver: 'local', container: id } });
});

test('each start mounts the volumes again', async () => {
  const { id } = await sleeper(['mv-again:/data']);
  await t.engine.stop(id, { timeout: 0 });
  const since = await afterEverything();
  await t.engine.start(id);
  expect(volumeEvents(await eventsSince(t.engine, since), 'mount', id).map((e) => e.Actor.ID)).toEqual(['mv-again']);
});
