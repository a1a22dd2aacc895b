import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { EngineEvent, EventFilters } from '@ctr/engine';
import { EventLog } from '../src/events';
import { collector, eventually, testEngine, type TestEngine } from './fixture';

/**
 * The events dockerd emits for containers and networks (`docker events`' reference), from the
 * engine in this process alone: no monitor, no exit command. What sees an exit here is the
 * caller that waits for it, stop, rm -f, or a later start.
 */
let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

/** A time (in seconds) after every event emitted so far: events are stamped to the millisecond. */
async function now(): Promise<number> {
  const ms = Date.now();
  while (Date.now() <= ms) await new Promise((resolve) => setTimeout(resolve, 1));
  return Date.now() / 1000;
}

/** What was emitted from `since` (seconds) to now that `filters` select. */
async function eventsSince(since: number, filters: EventFilters): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const event of t.engine.events({ since, until: Date.now() / 1000, filters })) out.push(event);
  return out;
}

/** The container's events from `since`, by action. */
async function actions(since: number, id: string): Promise<string[]> {
  return (await eventsSince(since, { container: [id] })).map((e) => e.Action);
}

function detached(cmd: string[], extra: { labels?: Record<string, string>; name?: string; tty?: boolean } = {}): ReturnType<TestEngine['engine']['run']> {
  return t.engine.run({ image: 'busybox', network: 'none', cmd, detach: true, ...extra });
}

describe('container events', () => {
  test("every event of a container carries its labels, its image and its name, as dockerd's do", async () => {
    const since = await now();
    const { id } = await detached(['sh', '-c', 'exit 3'], { labels: { 'com.docker.compose.project': 'evproj' }, name: 'ev-labelled' });
    await t.engine.wait(id);
    await t.engine.remove(id);
    const events = await eventsSince(since, { container: [id] });
    expect(events.map((e) => e.Action)).toEqual(['create', 'start', 'die', 'destroy']);
    for (const event of events) {
      expect(event.Actor.Attributes).toMatchObject({ 'com.docker.compose.project': 'evproj', image: 'busybox', name: 'ev-labelled' });
    }
  });

  test('a container without a restart policy has a die event with its exit code when its waiter sees the exit', async () => {
    const since = await now();
    const { id } = await detached(['sh', '-c', 'exit 3']);
    await t.engine.wait(id);
    const died = await eventsSince(since, { container: [id], event: ['die'] });
    expect(died.map((e) => e.Actor.Attributes.exitCode)).toEqual(['3']);
    expect(died[0]?.Actor.Attributes.execDuration).toMatch(/^\d+$/);
    await t.engine.remove(id);
  });

  test('an exit seen by several observers has one die event', async () => {
    const since = await now();
    const { id } = await detached(['sh', '-c', 'exit 6']);
    await Promise.all([t.engine.wait(id), t.engine.wait(id), t.engine.wait(id)]);
    await t.engine.handleExit(id);
    await t.engine.wait(id);
    expect((await eventsSince(since, { container: [id], event: ['die'] })).length).toBe(1);
    await t.engine.remove(id);
  });

  test('a start reports the exit before it that nobody saw', async () => {
    const since = await now();
    const { id } = await detached(['sh', '-c', 'exit 4']);
    // Watched through inspect, which reports nothing.
    await eventually(() => t.engine.inspect(id), (c) => c.State.Status === 'exited');
    expect(await actions(since, id)).toEqual(['create', 'start']);
    await t.engine.start(id);
    const events = await eventsSince(since, { container: [id] });
    expect(events.map((e) => e.Action)).toEqual(['create', 'start', 'die', 'start']);
    expect(events[2]?.Actor.Attributes.exitCode).toBe('4');
    await t.engine.wait(id);
    await t.engine.remove(id);
  });

  test("stop emits kill with its signal's number, the SIGKILL that ends its grace, then die and stop", async () => {
    const { id } = await detached(['sleep', '300']);
    const since = await now();
    await t.engine.stop(id, { timeout: 0 });
    const events = await eventsSince(since, { container: [id] });
    expect(events.map((e) => e.Action)).toEqual(['kill', 'kill', 'die', 'stop']);
    expect(events.slice(0, 2).map((e) => e.Actor.Attributes.signal)).toEqual(['15', '9']);
    expect(events[2]?.Actor.Attributes.exitCode).toBe('137');
    await t.engine.remove(id);
  });

  test("kill emits kill with the signal's number", async () => {
    const { id } = await detached(['sleep', '300']);
    const since = await now();
    await t.engine.kill(id, 'SIGKILL');
    await t.engine.wait(id);
    const events = await eventsSince(since, { container: [id] });
    expect(events.map((e) => e.Action)).toEqual(['kill', 'die']);
    expect(events[0]?.Actor.Attributes.signal).toBe('9');
    await t.engine.remove(id);
  });

  test('rm -f of a running container emits kill, die and destroy', async () => {
    const { id } = await detached(['sleep', '300']);
    const since = await now();
    await t.engine.remove(id, { force: true });
    const events = await eventsSince(since, { container: [id] });
    expect(events.map((e) => e.Action)).toEqual(['kill', 'die', 'destroy']);
    expect(events[0]?.Actor.Attributes.signal).toBe('9');
    expect(events[1]?.Actor.Attributes.exitCode).toBe('137');
  });

  test('restart emits stop, start and restart', async () => {
    const { id } = await detached(['sleep', '300']);
    const since = await now();
    await t.engine.restart(id, { timeout: 0 });
    expect(await actions(since, id)).toEqual(['kill', 'kill', 'die', 'stop', 'start', 'restart']);
    await t.engine.remove(id, { force: true });
  });

  test('exec emits exec_create and exec_start naming the command, then exec_die with its exit code, all with its exec ID', async () => {
    const { id } = await detached(['sleep', '300']);
    const since = await now();
    await t.engine.exec(id, { cmd: ['sh', '-c', 'exit 5'], execId: 'e'.repeat(64) });
    const events = await eventsSince(since, { container: [id] });
    expect(events.map((e) => e.Action)).toEqual(['exec_create: sh -c exit 5', 'exec_start: sh -c exit 5', 'exec_die']);
    expect(events.map((e) => e.Actor.Attributes.execID)).toEqual(['e'.repeat(64), 'e'.repeat(64), 'e'.repeat(64)]);
    expect(events[2]?.Actor.Attributes.exitCode).toBe('5');
    await t.engine.remove(id, { force: true });
  });

  test('the event filter exec_start finds an exec_start of any command', async () => {
    const { id } = await detached(['sleep', '300']);
    const since = await now();
    await t.engine.exec(id, { cmd: ['true'] });
    expect((await eventsSince(since, { container: [id], event: ['exec_start'] })).map((e) => e.Action)).toEqual(['exec_start: true ']);
    await t.engine.remove(id, { force: true });
  });

  test('pause and unpause are events', async () => {
    const { id } = await detached(['sleep', '300']);
    const since = await now();
    await t.engine.pause(id);
    await t.engine.unpause(id);
    expect(await actions(since, id)).toEqual(['pause', 'unpause']);
    await t.engine.remove(id, { force: true });
  });

  test('rename names the container by its new name, with the old one as oldName', async () => {
    const { id } = await detached(['true'], { name: 'ev-before' });
    const since = await now();
    await t.engine.rename(id, 'ev-after');
    const [renamed] = await eventsSince(since, { container: [id], event: ['rename'] });
    expect(renamed?.Actor.Attributes).toMatchObject({ name: 'ev-after', oldName: '/ev-before' });
    await t.engine.wait(id);
    await t.engine.remove(id);
  });

  test('update is an event with the container\'s labels', async () => {
    const { id } = await detached(['sleep', '300'], { labels: { tier: 'back' } });
    const since = await now();
    await t.engine.update(id, { restart: 'on-failure:1' });
    const [updated] = await eventsSince(since, { container: [id], event: ['update'] });
    expect(updated?.Actor.Attributes).toMatchObject({ tier: 'back', image: 'busybox' });
    await t.engine.remove(id, { force: true });
  });

  test('a run attached to its output emits attach before start', async () => {
    const since = await now();
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['true'], stdout: collector() });
    expect(await actions(since, id)).toEqual(['create', 'attach', 'start', 'die']);
    await t.engine.remove(id);
  });

  test('a resize of the terminal is an event with its height and width', async () => {
    const { id } = await detached(['sleep', '300'], { tty: true });
    const since = await now();
    await t.engine.resize(id, { height: 30, width: 100 });
    const [resized] = await eventsSince(since, { container: [id], event: ['resize'] });
    expect(resized?.Actor.Attributes).toMatchObject({ height: '30', width: '100' });
    await t.engine.remove(id, { force: true });
  });

  test('top, export, and copies out of and into a container are events', async () => {
    const { id } = await detached(['sleep', '300']);
    const since = await now();
    await t.engine.top(id);
    await finished((await t.engine.export(id)).resume());
    const { tar } = await t.engine.getArchive(id, '/etc/hostname');
    await t.engine.putArchive(id, '/tmp', Readable.from(tar));
    expect(await actions(since, id)).toEqual(['top', 'export', 'archive-path', 'extract-to-dir']);
    await t.engine.remove(id, { force: true });
  });

  test('commit names the comment, the new image and its reference', async () => {
    const { id } = await detached(['true']);
    await t.engine.wait(id);
    const since = await now();
    const image = await t.engine.commit(id, { reference: 'ev-committed:1', comment: 'snapshot' });
    const [committed] = await eventsSince(since, { container: [id], event: ['commit'] });
    expect(committed?.Actor.Attributes).toMatchObject({ comment: 'snapshot', imageID: image.id, imageRef: 'ev-committed:1', image: 'busybox' });
    await t.engine.remove(id);
    await t.engine.removeImage('ev-committed:1');
  });
});

describe('network events', () => {
  const network = 'ev-net';
  afterAll(async () => {
    await t.engine.removeNetwork(network).catch(() => undefined);
    await t.engine.removeNetwork(`${network}-2`).catch(() => undefined);
  });

  test('connect and disconnect name the network by its ID, with the container, the network name and its driver', async () => {
    const net = await t.engine.createNetwork({ name: network });
    const other = await t.engine.createNetwork({ name: `${network}-2` });
    const since = await now();
    const { id } = await t.engine.run({ image: 'busybox', network, cmd: ['sleep', '300'], detach: true });
    await t.engine.connect(other.Name, id);
    await t.engine.disconnect(other.Name, id);
    await t.engine.remove(id, { force: true });
    const events = await eventsSince(since, { type: ['network'] });
    expect(events.map((e) => [e.Action, e.Actor.ID])).toEqual([
      ['connect', net.Id],
      ['connect', other.Id],
      ['disconnect', other.Id],
      ['disconnect', net.Id],
    ]);
    expect(events[0]?.Actor.Attributes).toEqual({ container: id, name: network, type: 'bridge' });
    expect(events[2]?.Actor.Attributes).toEqual({ container: id, name: `${network}-2`, type: 'bridge' });
  });

  test('a container leaves its networks at each stop and joins them again at each start', async () => {
    const net = await t.engine.inspectNetwork(network);
    const { id } = await t.engine.run({ image: 'busybox', network, cmd: ['sleep', '300'], detach: true });
    const since = await now();
    await t.engine.stop(id, { timeout: 0 });
    await t.engine.start(id);
    const events = await eventsSince(since, { network: [network] });
    expect(events.map((e) => [e.Action, e.Actor.ID, e.Actor.Attributes.container])).toEqual([
      ['disconnect', net.Id, id],
      ['connect', net.Id, id],
    ]);
    await t.engine.remove(id, { force: true });
  });
});

describe('the event journal', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ctr-events-complete-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function collect(log: EventLog, filters: EventFilters): Promise<string[]> {
    const out: string[] = [];
    for await (const event of log.events({ since: 0, until: Date.now() / 1000, filters })) out.push(event.Actor.ID);
    return out;
  }

  test('a label filter selects the events that carry every label asked for', async () => {
    const log = new EventLog(root);
    await log.emit('container', 'start', 'both', { project: 'p', oneoff: 'False' });
    await log.emit('container', 'start', 'project-only', { project: 'p' });
    await log.emit('container', 'start', 'oneoff', { project: 'p', oneoff: 'True' });
    expect(await collect(log, { label: ['project=p', 'oneoff=False'] })).toEqual(['both']);
  });

  test('the values of one other filter are alternatives', async () => {
    const log = new EventLog(root);
    await log.emit('container', 'start', 'id-1', { name: 'web' });
    await log.emit('container', 'start', 'id-2', { name: 'db' });
    await log.emit('container', 'start', 'id-3', { name: 'cache' });
    expect(await collect(log, { container: ['web', 'cache'] })).toEqual(['id-1', 'id-3']);
  });

  test('an event time is whole seconds, and nanoseconds that begin with those seconds', async () => {
    const log = new EventLog(root);
    const event = await log.emit('container', 'start', 'c1');
    const digits = String(event.timeNano);
    expect(digits).toMatch(/^\d{19}$/);
    expect(digits.slice(0, -9)).toBe(String(event.time));
  });
});
