/**
 * `docker logs --follow --until`: a follow stops at `until`, though the container runs on —
 * no line written later can be before it.
 */
import type { LogEntry } from '@ctr/runtime';
import { testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
  // A line every 0.2 s, for a minute.
  await bed.runtime.create('ticking', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo tick$i; i=$((i+1)); sleep 0.2; done'] } });
  await bed.runtime.start('ticking');
});
afterAll(async () => {
  await bed.cleanup();
});

async function collect(iterable: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

test('a follow with until in the future ends at until, with the lines up to it', async () => {
  const until = new Date(Date.now() + 1500);
  const entries = await collect(bed.runtime.logs('ticking', { follow: true, until }));
  const ended = Date.now();
  expect(ended).toBeGreaterThanOrEqual(until.getTime());
  expect(ended).toBeLessThan(until.getTime() + 1500);
  expect(entries.length).toBeGreaterThan(3);
  for (const entry of entries) expect(Date.parse(entry.time)).toBeLessThanOrEqual(until.getTime());
  expect((await bed.runtime.state('ticking')).running).toBe(true);
});

test('a follow with until in the past ends once the log is read', async () => {
  const until = new Date(Date.now() - 500);
  const started = Date.now();
  const entries = await collect(bed.runtime.logs('ticking', { follow: true, until }));
  expect(Date.now() - started).toBeLessThan(1000);
  expect(entries.length).toBeGreaterThan(0);
  for (const entry of entries) expect(Date.parse(entry.time)).toBeLessThanOrEqual(until.getTime());
});
