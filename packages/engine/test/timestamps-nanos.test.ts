/**
 * Docker's nanosecond timestamps: what ctr stamps (containers, runs, health probes, events,
 * images) is RFC 3339 to the nanosecond as Go's RFC3339Nano writes it, orders to the
 * nanosecond, and records an older ctr wrote in milliseconds still read, sort and filter.
 */
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineEvent } from '@ctr/engine';
import { timeNanos } from '@ctr/image';
import { EventLog } from '../src/events';
import { testEngine, type TestEngine } from './fixture';

/**
 * Go's time.RFC3339Nano of a UTC time: up to nine fraction digits, trailing zeros dropped. A
 * stamp can land on a whole millisecond (the clock re-anchors to Date.now()'s tick when the
 * wall clock is slewed, as on a loaded VM), so the sub-millisecond digits themselves are
 * asserted by nowNanos's own tests, over many values.
 */
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/;

describe('events', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ctr-events-nanos-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function replayed(log: EventLog): Promise<EngineEvent[]> {
    const out: EngineEvent[] = [];
    for await (const event of log.events({ since: 0, until: new Date() })) out.push(event);
    return out;
  }

  test('an event is stamped below the millisecond', async () => {
    const event = await new EventLog(root).emit('container', 'start', 'c1');
    expect(event.timeNano % 1_000_000n).not.toBe(0n);
  });

  test('an event read back from the journal keeps every digit of its timeNano', async () => {
    const log = new EventLog(root);
    const event = await log.emit('container', 'start', 'c1');
    expect((await replayed(log)).map((e) => e.timeNano)).toEqual([event.timeNano]);
  });

  test('events emitted one after another have strictly increasing times', async () => {
    const log = new EventLog(root);
    const emitted: bigint[] = [];
    for (let i = 0; i < 50; i++) emitted.push((await log.emit('container', 'start', `c${i}`)).timeNano);
    expect([...emitted].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(emitted);
    expect(new Set(emitted).size).toBe(emitted.length);
  });

  test('an until of now keeps an event stamped later within the same millisecond', async () => {
    const log = new EventLog(root);
    await log.emit('container', 'start', 'c1');
    expect(await replayed(log)).toHaveLength(1);
  });

  test('an event an older ctr wrote in milliseconds reads with its timeNano whole', async () => {
    const line = '{"Type":"container","Action":"start","Actor":{"ID":"old","Attributes":{}},"scope":"local","time":1714558272,"timeNano":1714558272123000000}';
    await appendFile(join(root, 'events.jsonl'), `${line}\n`);
    expect((await replayed(new EventLog(root))).map((e) => e.timeNano)).toEqual([1714558272123000000n]);
  });
});

describe('containers and images', () => {
  let t: TestEngine;

  beforeAll(async () => {
    t = await testEngine();
  }, 120_000);
  afterAll(async () => {
    await t?.cleanup();
  });
  afterEach(async () => {
    for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true });
  });

  /** A created container whose record says it was made at `created`, as an older ctr (or another millisecond) would have written it. */
  async function createdAt(created: string): Promise<string> {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', pull: 'never' });
    const file = join(t.root, 'engine', 'containers', `${id}.json`);
    await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(file, 'utf8')) as object), created }));
    return id;
  }

  test('inspect shows a container\'s Created in Go\'s RFC3339Nano form', async () => {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', pull: 'never' });
    expect((await t.engine.inspect(id)).Created).toMatch(RFC3339_NANO);
  });

  test('inspect shows StartedAt and FinishedAt of a run in Go\'s RFC3339Nano form, in order', async () => {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', pull: 'never', cmd: ['true'] });
    await t.engine.start(id);
    await t.engine.wait(id);
    const { Created, State } = await t.engine.inspect(id);
    expect([State.StartedAt, State.FinishedAt]).toEqual([expect.stringMatching(RFC3339_NANO), expect.stringMatching(RFC3339_NANO)]);
    expect((timeNanos(Created) as bigint) < (timeNanos(State.StartedAt) as bigint)).toBe(true);
  });

  test('a health probe\'s Start and End are in Go\'s RFC3339Nano form', async () => {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', pull: 'never', cmd: ['sleep', '60'], healthcheck: { Test: ['CMD', 'true'] } });
    await t.engine.start(id);
    const [result] = (await t.engine.healthcheck(id)).Log;
    expect([result?.Start, result?.End]).toEqual([expect.stringMatching(RFC3339_NANO), expect.stringMatching(RFC3339_NANO)]);
  });

  test('containers made one after another list newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await t.engine.create({ image: 'busybox', network: 'none', pull: 'never' })).id);
    expect((await t.engine.ps({ all: true })).map((c) => c.Id)).toEqual([...ids].reverse());
  });

  test('containers made within one millisecond list by their nanoseconds, a millisecond record among them', async () => {
    // As text these sort the other way: `12.123Z` after `12.1234Z`.
    const latest = await createdAt('2024-05-01T10:11:12.12345Z');
    const earliest = await createdAt('2024-05-01T10:11:12.123Z');
    const middle = await createdAt('2024-05-01T10:11:12.1234Z');
    expect((await t.engine.ps({ all: true })).map((c) => c.Id)).toEqual([latest, middle, earliest]);
  });

  test('a container record an older ctr wrote in milliseconds reads back as written', async () => {
    const id = await createdAt('2024-05-01T10:11:12.123Z');
    expect((await t.engine.inspect(id)).Created).toBe('2024-05-01T10:11:12.123Z');
    expect((await t.engine.ps({ all: true })).find((c) => c.Id === id)?.Created).toBe(1714558272);
  });

  test('prune until= compares to the nanosecond, millisecond records too', async () => {
    const before = await createdAt('2024-05-01T10:11:12.123Z');
    await createdAt('2024-05-01T10:11:12.1234Z');
    const { ContainersDeleted } = await t.engine.pruneContainers({ filters: { until: ['2024-05-01T10:11:12.1233Z'] } });
    expect(ContainersDeleted).toEqual([before]);
  });

  test('a committed image is created in Go\'s RFC3339Nano form', async () => {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', pull: 'never' });
    const image = await t.engine.commit(id, { reference: 'nanos-commit:latest' });
    try {
      expect((await t.engine.inspectImage(image.id)).Created).toMatch(RFC3339_NANO);
    } finally {
      await t.engine.removeImage(image.id, { force: true });
    }
  });
});
