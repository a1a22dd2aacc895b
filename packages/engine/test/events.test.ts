import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog, type EngineEvent } from '../src/events';

describe('the event journal', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ctr-events-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function collect(log: EventLog, options: Parameters<EventLog['events']>[0]): Promise<EngineEvent[]> {
    const out: EngineEvent[] = [];
    for await (const e of log.events(options)) out.push(e);
    return out;
  }

  test('replays past events between since and until', async () => {
    const log = new EventLog(root);
    await log.emit('container', 'create', 'c1', { name: 'web', image: 'busybox' });
    await log.emit('container', 'start', 'c1', { name: 'web', image: 'busybox' });
    const events = await collect(log, { since: 0, until: Date.now() / 1000 + 1 });
    expect(events.map((e) => e.Action)).toEqual(['create', 'start']);
    expect(events[0]).toMatchObject({ Type: 'container', Actor: { ID: 'c1', Attributes: { name: 'web' } }, scope: 'local' });
  });

  test('filters by type, event, container name and label', async () => {
    const log = new EventLog(root);
    await log.emit('container', 'start', 'c1', { name: 'web', tier: 'front' });
    await log.emit('container', 'start', 'c2', { name: 'db' });
    await log.emit('image', 'tag', 'sha256:1', { name: 'busybox:latest' });
    const until = Date.now() / 1000 + 1;
    expect((await collect(log, { since: 0, until, filters: { type: ['image'] } })).map((e) => e.Action)).toEqual(['tag']);
    expect((await collect(log, { since: 0, until, filters: { container: ['db'] } })).map((e) => e.Actor.ID)).toEqual(['c2']);
    expect((await collect(log, { since: 0, until, filters: { label: ['tier=front'] } })).map((e) => e.Actor.ID)).toEqual(['c1']);
  });

  test('an until before since is refused in dockerd\'s words, as the docker CLI would send the times', async () => {
    const log = new EventLog(root);
    await expect(collect(log, { since: 4070908800, until: new Date(Date.UTC(2098, 0, 1)) })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: '`since` time (4070908800.000000000) cannot be after `until` time (4039372800.000000000)',
    });
  });

  test('follows events written by another writer until aborted', async () => {
    const reader = new EventLog(root);
    const writer = new EventLog(root);
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of reader.events({ signal: ac.signal })) {
        seen.push(e.Action);
        if (seen.length === 2) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    await writer.emit('container', 'die', 'c1', { exitCode: '3' });
    await writer.emit('container', 'destroy', 'c1');
    await done;
    expect(seen).toEqual(['die', 'destroy']);
  });
});
