import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readLogs } from '../src/logs';

/**
 * A follow that falls behind a rotating log: the file it reads is rotated away twice before it
 * looks again, and deleted as the oldest of `max-file 2`. The file written in between is still
 * among the rotated ones, and read. Written by hand in conmon's k8s-file records, rotated as the
 * writer rotates them (a rename over `.1`), so nothing depends on how fast the reader is.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ctr-logs-follow-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const records = (...lines: string[]): string => lines.map((line) => `2026-11-24T10:00:00.000000000Z stdout F ${line}\n`).join('');

test('a follow two rotations behind, its file deleted as the oldest, reads the file written in between', async () => {
  const log = path.join(dir, 'ctr.log');
  await writeFile(log, records('a1', 'a2'));
  let running = true;
  const follow = readLogs(log, { follow: true }, async () => running);
  const read: string[] = [];
  for (let i = 0; i < 2; i++) read.push(((await follow.next()).value as { line: string }).line);
  await rename(log, `${log}.1`);
  await writeFile(log, records('b1', 'b2'));
  await rename(log, `${log}.1`);
  await writeFile(log, records('c1'));
  running = false;
  for await (const entry of follow) read.push(entry.line);
  expect(read).toEqual(['a1', 'a2', 'b1', 'b2', 'c1']);
});
