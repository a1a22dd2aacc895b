/**
 * Docker's nanosecond timestamps through the Engine API: an event's `timeNano` goes out and
 * comes back whole (past a double's exact integers), and inspect shows what the engine stamped.
 */
import { ApiClient } from '@ctr/api';
import type { EngineEvent } from '@ctr/engine';
import { json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();

/** Go's time.RFC3339Nano of a UTC time (trailing zeros dropped; a stamp may land on a whole millisecond). */
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/;

/** The engine's own events of a container so far, replayed in process. */
async function engineEvents(id: string): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const event of t.daemon.engine.events({ since: 0, until: new Date(), filters: { container: [id] } })) out.push(event);
  return out;
}

test('GET /events writes each timeNano with every digit the engine stamped', async () => {
  const { id } = await t.daemon.engine.create({ image: 'busybox', network: 'none', pull: 'never' });
  const until = (Date.now() + 1000) / 1000;
  const res = await request(t.socket, 'GET', `/events?since=0&until=${until}&filters=${encodeURIComponent(JSON.stringify({ container: [id] }))}`);
  const written = res.body.toString('utf8').split('\n').filter(Boolean).map((line) => /"timeNano":(\d+)/.exec(line)?.[1]);
  expect(written).toEqual([expect.stringMatching(/^\d{19}$/)]); // the create event
  expect(written).toEqual((await engineEvents(id)).map((e) => String(e.timeNano)));
});

test('the API client reads an event\'s timeNano whole', async () => {
  const { id } = await t.daemon.engine.create({ image: 'busybox', network: 'none', pull: 'never' });
  const client = new ApiClient({ host: `unix://${t.socket}` });
  const read: bigint[] = [];
  for await (const event of client.events({ since: 0, until: (Date.now() + 1000) / 1000, filters: { container: [id] } })) read.push(event.timeNano);
  expect(read).toHaveLength(1);
  expect(read).toEqual((await engineEvents(id)).map((e) => e.timeNano));
});

test('GET /containers/{id}/json shows Created in Go\'s RFC3339Nano form', async () => {
  const { id } = await t.daemon.engine.create({ image: 'busybox', network: 'none', pull: 'never' });
  const inspect = json(await request(t.socket, 'GET', `/containers/${id}/json`)) as { Created: string };
  expect(inspect.Created).toMatch(RFC3339_NANO);
});
