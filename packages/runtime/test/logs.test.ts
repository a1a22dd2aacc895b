import { eventually, testBed, type TestBed } from './helpers';
import type { LogEntry } from '@ctr/runtime';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
  await bed.runtime.create('talker', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done'] } });
  await bed.runtime.start('talker');
  await bed.runtime.wait('talker');
});
afterAll(async () => {
  await bed.cleanup();
});

async function collect(iterable: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

test('every line carries its stream and its time in UTC, with all nine digits of the nanoseconds', async () => {
  const entries = await collect(bed.runtime.logs('talker'));
  expect(entries).toHaveLength(10);
  expect(entries.filter((e) => e.stream === 'stdout').map((e) => e.line)).toEqual(['out1', 'out2', 'out3', 'out4', 'out5']);
  expect(entries.filter((e) => e.stream === 'stderr').map((e) => e.line)).toEqual(['err1', 'err2', 'err3', 'err4', 'err5']);
  for (const e of entries) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
});

test('tail keeps only the last lines', async () => {
  const entries = await collect(bed.runtime.logs('talker', { tail: 3, stderr: false }));
  expect(entries.map((e) => e.line)).toEqual(['out3', 'out4', 'out5']);
  expect(await collect(bed.runtime.logs('talker', { tail: 0 }))).toEqual([]);
});

test('since and until select lines by time', async () => {
  const all = await collect(bed.runtime.logs('talker'));
  const last = all[all.length - 1] as LogEntry;
  expect(await collect(bed.runtime.logs('talker', { since: new Date(Date.parse(last.time) + 1000) }))).toEqual([]);
  expect(await collect(bed.runtime.logs('talker', { until: new Date(Date.parse(all[0]!.time) - 1000) }))).toEqual([]);
  expect(await collect(bed.runtime.logs('talker', { since: 0 }))).toHaveLength(10);
});

/** A log line's time (`…T01:30:43.476211885Z`) as the docker CLI sends one, `<seconds>.<nanoseconds>`, moved by `deltaNs`. */
function wireTime(time: string, deltaNs = 0n): string {
  const nanos = BigInt(Date.parse(`${time.slice(0, 19)}Z`)) * 1_000_000n + BigInt(time.slice(20, 29)) + deltaNs;
  return `${nanos / 1_000_000_000n}.${String(nanos % 1_000_000_000n).padStart(9, '0')}`;
}

test('since at a line\'s own time, to the nanosecond, includes it; a nanosecond later leaves it out', async () => {
  const all = await collect(bed.runtime.logs('talker'));
  const last = all[all.length - 1] as LogEntry;
  const sameTime = all.filter((e) => e.time === last.time);
  expect(await collect(bed.runtime.logs('talker', { since: wireTime(last.time) }))).toEqual(sameTime);
  expect(await collect(bed.runtime.logs('talker', { since: wireTime(last.time, 1n) }))).toEqual([]);
});

test('until at a line\'s own time, as RFC 3339 with nanoseconds, includes it; a nanosecond earlier leaves it out', async () => {
  const all = await collect(bed.runtime.logs('talker'));
  const first = all[0] as LogEntry;
  const sameTime = all.filter((e) => e.time === first.time);
  expect(await collect(bed.runtime.logs('talker', { until: first.time }))).toEqual(sameTime);
  expect(await collect(bed.runtime.logs('talker', { until: wireTime(first.time, -1n) }))).toEqual([]);
});

test('follow delivers new lines while the container runs and ends when it exits', async () => {
  await bed.runtime.create('ticker', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'for i in 1 2 3; do echo tick$i; sleep 0.2; done'] } });
  await bed.runtime.start('ticker');
  const lines = (await collect(bed.runtime.logs('ticker', { follow: true }))).map((e) => e.line);
  expect(lines).toEqual(['tick1', 'tick2', 'tick3']);
});

test('follow can be stopped with an AbortSignal', async () => {
  await bed.runtime.create('forever', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'echo hello; sleep 1000'] } });
  await bed.runtime.start('forever');
  const controller = new AbortController();
  const seen: string[] = [];
  await eventually(async () => {
    const first = await collect(bed.runtime.logs('forever'));
    expect(first).toHaveLength(1);
  });
  for await (const e of bed.runtime.logs('forever', { follow: true, signal: controller.signal })) {
    seen.push(e.line);
    controller.abort();
  }
  expect(seen).toEqual(['hello']);
});
