/**
 * Docker's json-file rotation: with `logSizeMax` and `logMaxFiles` above 1, the log keeps
 * that many files (`ctr.log`, `ctr.log.1`, …), a file at the size becoming `.1` before the next
 * record; `logCompress` gzips the rotated ones; `logs` reads them all, oldest first.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LogEntry } from '@ctr/runtime';
import { commandLines } from '../../../test/support/processes';
import { eventually, testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

async function lines(iterable: AsyncIterable<LogEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of iterable) out.push(entry.line);
  return out;
}

/** `count` numbered lines (`line0`…), `pause` seconds apart. */
function numbered(count: number, pause = 0): string[] {
  const sleep = pause > 0 ? `; sleep ${pause}` : '';
  return ['sh', '-c', `i=0; while [ $i -lt ${count} ]; do echo line$i; i=$((i+1))${sleep}; done`];
}

/** Consecutive numbered lines ending at line{last}. */
function lastOf(last: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `line${last - count + 1 + i}`);
}

async function logFiles(id: string): Promise<string[]> {
  const dir = path.dirname((await bed.runtime.inspect(id)).logPath);
  return (await fs.readdir(dir)).filter((name) => name.startsWith('ctr.log')).sort();
}

/** The log writers (one per running rotating container) still running for `id`. */
function writersOf(id: string): string[] {
  return commandLines().filter((args) => args.startsWith('perl -e') && args.includes(`/${id}/log.fifo`));
}

async function runToEnd(id: string, cmd: string[], run: Record<string, unknown>): Promise<void> {
  await bed.runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: cmd }, run });
  await bed.runtime.start(id);
  await bed.runtime.wait(id);
}

test('max-file 2 keeps two files of about max-size, and logs reads both, oldest first, up to the last line', async () => {
  await runToEnd('two-files', numbered(200), { logSizeMax: '1k', logMaxFiles: 2 });
  // Read first: logs waits for the writer to have written the last lines.
  const read = await lines(bed.runtime.logs('two-files'));
  expect(read.length).toBeGreaterThan(30);
  expect(read).toEqual(lastOf(199, read.length));
  expect(await logFiles('two-files')).toEqual(['ctr.log', 'ctr.log.1']);
  const dir = path.dirname((await bed.runtime.inspect('two-files')).logPath);
  for (const name of ['ctr.log', 'ctr.log.1']) {
    // A file is rotated once it has reached the size: it passes it by less than one record.
    expect((await fs.stat(path.join(dir, name))).size).toBeLessThan(1024 + 64);
  }
});

test('max-file 3 keeps three files; tail reads across them', async () => {
  await runToEnd('three-files', numbered(200), { logSizeMax: '1k', logMaxFiles: 3 });
  const read = await lines(bed.runtime.logs('three-files'));
  expect(read.length).toBeGreaterThan(50);
  expect(read).toEqual(lastOf(199, read.length));
  expect(await logFiles('three-files')).toEqual(['ctr.log', 'ctr.log.1', 'ctr.log.2']);
  expect(await lines(bed.runtime.logs('three-files', { tail: read.length - 5 }))).toEqual(read.slice(5));
});

test('compress gzips the rotated files, and logs reads them', async () => {
  await runToEnd('gzipped', numbered(200), { logSizeMax: '1k', logMaxFiles: 3, logCompress: true });
  const read = await lines(bed.runtime.logs('gzipped'));
  expect(read.length).toBeGreaterThan(50);
  expect(read).toEqual(lastOf(199, read.length));
  // The last rotated file is gzipped behind the writer: the plain one goes once its copy is complete.
  await eventually(async () => expect(await logFiles('gzipped')).toEqual(['ctr.log', 'ctr.log.1.gz', 'ctr.log.2.gz']));
  expect(await lines(bed.runtime.logs('gzipped'))).toEqual(read);
});

test('following a rotating log misses no line', async () => {
  // Three files: a follower the machine holds back for a whole file's writing (≈ 0.2 s here) still finds it.
  await bed.runtime.create('followed', { rootfs: await bed.rootfs(), image: { Cmd: numbered(150, 0.01) }, run: { logSizeMax: '1k', logMaxFiles: 3 } });
  await bed.runtime.start('followed');
  expect(await lines(bed.runtime.logs('followed', { follow: true }))).toEqual(lastOf(149, 150));
});

test("following conmon's own single-file limit misses no line either", async () => {
  await bed.runtime.create('one-file', { rootfs: await bed.rootfs(), image: { Cmd: numbered(150, 0.01) }, run: { logSizeMax: '1k' } });
  await bed.runtime.start('one-file');
  expect(await lines(bed.runtime.logs('one-file', { follow: true }))).toEqual(lastOf(149, 150));
});

test('logs right after the exit has the last lines, which the writer may still be writing', async () => {
  for (let round = 0; round < 5; round++) {
    await runToEnd(`last-lines-${round}`, numbered(100), { logSizeMax: '1k', logMaxFiles: 2 });
    expect((await lines(bed.runtime.logs(`last-lines-${round}`))).pop()).toBe('line99');
  }
});

test('a restarted container appends to its rotating log', async () => {
  await runToEnd('restarted', numbered(5), { logSizeMax: '1k', logMaxFiles: 2 });
  await bed.runtime.start('restarted');
  await bed.runtime.wait('restarted');
  expect(await lines(bed.runtime.logs('restarted'))).toEqual([...lastOf(4, 5), ...lastOf(4, 5)]);
});

test('the writer goes with the container, and a start that fails leaves none', async () => {
  await runToEnd('writer-ends', numbered(3), { logSizeMax: '1k', logMaxFiles: 2 });
  await eventually(async () => expect(writersOf('writer-ends')).toEqual([]));
  await bed.runtime.create('never-starts', { rootfs: await bed.rootfs(), image: { Cmd: ['no-such-program'] }, run: { logSizeMax: '1k', logMaxFiles: 2 } });
  await expect(bed.runtime.start('never-starts')).rejects.toMatchObject({ details: { exitCode: 127 } });
  await eventually(async () => expect(writersOf('never-starts')).toEqual([]));
});

test('max-file below 1, and compress without files to rotate, are refused as moby refuses them', async () => {
  const rootfs = await bed.rootfs();
  await expect(bed.runtime.create('zero-files', { rootfs, run: { logSizeMax: '1k', logMaxFiles: 0 } })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'max-file cannot be less than 1',
  });
  await expect(bed.runtime.create('lone-gzip', { rootfs, run: { logSizeMax: '1k', logCompress: true } })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'compress cannot be true when max-file is less than 2 or max-size is not set',
  });
});
