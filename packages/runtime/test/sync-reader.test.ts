import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { spawnConmon, SyncReader } from '../src/conmon';

test('conmon sync messages are read one JSON line at a time', async () => {
  const pipe = new PassThrough();
  const reader = new SyncReader(pipe);
  pipe.write('{"data": 41');
  pipe.write('}\n{"data": -1, "message": "bad"}\n');
  expect(await reader.next()).toEqual({ data: 41 });
  expect(await reader.next()).toEqual({ data: -1, message: 'bad' });
});

test('a sync pipe that fails gives a failure message saying why, not silence', async () => {
  const pipe = new PassThrough();
  const reader = new SyncReader(pipe, 'cannot start conmon');
  pipe.destroy(new Error('cannot start the program: fork: Resource temporarily unavailable'));
  expect(await reader.next()).toEqual({ data: -1, message: 'cannot start conmon: cannot start the program: fork: Resource temporarily unavailable', pipeFailed: true });
  expect(await reader.next()).toBeUndefined();
});

test('a pipe of a conmon that was started says only that its pipe failed', async () => {
  const pipe = new PassThrough();
  const reader = new SyncReader(pipe);
  pipe.destroy(new Error('read ECONNRESET'));
  expect(await reader.next()).toEqual({ data: -1, message: "conmon's pipe failed: read ECONNRESET", pipeFailed: true });
});

test('an attached exec whose conmon never ran reports on its pipes instead of crashing the process on EPIPE', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-conmon-gone-'));
  try {
    // `true` exits at once, having read none of the start pipe it was handed.
    const conmon = spawnConmon({
      conmon: '/bin/true', runtime: '/usr/sbin/runc', runtimeRoot: dir, id: 'gone', uuid: 'gone', bundle: dir,
      logPath: join(dir, 'log'), runtimeLog: join(dir, 'runc.log'), pidFile: join(dir, 'pid'), exitDir: dir,
      terminal: false, stdin: false, exec: { processSpec: join(dir, 'process.json'), attach: true },
    });
    expect(await conmon.attach?.next()).toBeUndefined();
    expect(await conmon.sync.next()).toBeUndefined();
    await new Promise<void>((resolve) => conmon.start?.write('0', () => resolve()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
