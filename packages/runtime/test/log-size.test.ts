import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LogEntry } from '@ctr/runtime';
import { testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

async function collect(iterable: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

// 2,000 numbered lines of 100 bytes: about 260 KiB of log with conmon's prefixes.
const CHATTY = ['sh', '-c', 'i=0; while [ $i -lt 2000 ]; do printf "%04d %095d\\n" $i 0; i=$((i+1)); done'];

test('a log size limit keeps the log under it and the newest lines in it', async () => {
  await bed.runtime.create('small-log', { rootfs: await bed.rootfs(), image: { Cmd: CHATTY }, run: { logSizeMax: '64k' } });
  await bed.runtime.start('small-log');
  await bed.runtime.wait('small-log');
  const info = await bed.runtime.inspect('small-log');
  expect((await fs.stat(info.logPath)).size).toBeLessThanOrEqual(64 * 1024);
  const lines = await collect(bed.runtime.logs('small-log'));
  expect(lines.length).toBeGreaterThan(0);
  expect(lines[lines.length - 1]?.line.slice(0, 4)).toBe('1999');
  await bed.runtime.delete('small-log');
});

test('without a limit the whole log is kept', async () => {
  await bed.runtime.create('whole-log', { rootfs: await bed.rootfs(), image: { Cmd: CHATTY } });
  await bed.runtime.start('whole-log');
  await bed.runtime.wait('whole-log');
  expect(await collect(bed.runtime.logs('whole-log'))).toHaveLength(2000);
  await bed.runtime.delete('whole-log');
});

test('a log size that is not a size is InvalidArgument, and no container is made', async () => {
  await expect(bed.runtime.create('bad-log', { rootfs: await bed.rootfs(), run: { logSizeMax: 'lots' } })).rejects.toMatchObject({ code: 'InvalidArgument' });
  await expect(fs.access(path.join(bed.base, 'root', 'containers', 'bad-log'))).rejects.toMatchObject({ code: 'ENOENT' });
});
