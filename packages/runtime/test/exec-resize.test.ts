/**
 * An exec's terminal size: the size it starts with (docker's ConsoleSize) and resizes while
 * it runs (`docker exec -it` window changes), through the exec's own conmon — what
 * `stty size` inside the exec reports.
 */
import { PassThrough } from 'node:stream';
import type { ExecControl } from '@ctr/runtime';
import { Collector, eventually, testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
  await bed.runtime.create('resizehost', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] } });
  await bed.runtime.start('resizehost');
});
afterAll(async () => {
  await bed.cleanup();
});

/** A shell that prints its terminal's size for every line it reads, until the line `end`. */
const SIZE_PRINTER = ['sh', '-c', 'while read x; do [ "$x" = end ] && exit 0; stty size; done'];

/** conmon applies a size it has read from its control fifo in its own time: ask the shell until it reports `size`. */
async function untilReported(stdin: PassThrough, stdout: Collector, size: string): Promise<void> {
  await eventually(async () => {
    stdin.write('\n');
    expect(stdout.text()).toContain(`${size}\r\n`);
  });
}

test('an exec with a TTY starts with the console size asked for', async () => {
  const stdout = new Collector();
  const result = await bed.runtime.exec('resizehost', { cmd: ['stty', 'size'], tty: true, consoleSize: { height: 20, width: 60 }, stdout });
  expect(result.exitCode).toBe(0);
  expect(stdout.text()).toBe('20 60\r\n');
});

test('resizing a running exec changes the size its terminal reports', async () => {
  const stdin = new PassThrough();
  const stdout = new Collector();
  let control: ExecControl | undefined;
  const run = bed.runtime.exec('resizehost', {
    cmd: SIZE_PRINTER,
    tty: true,
    consoleSize: { height: 24, width: 80 },
    stdin,
    stdout,
    onStart: (exec) => (control = exec),
  });
  await untilReported(stdin, stdout, '24 80');
  await control?.resize({ height: 33, width: 77 });
  await untilReported(stdin, stdout, '33 77');
  await control?.resize({ height: 50, width: 132 });
  await untilReported(stdin, stdout, '50 132');
  stdin.end('end\n');
  expect((await run).exitCode).toBe(0);
  const sizes = stdout.text().split('\r\n').filter((line) => /^\d+ \d+$/.test(line));
  expect(sizes.filter((size, i) => size !== sizes[i - 1])).toEqual(['24 80', '33 77', '50 132']);
});

test('a burst of resizes leaves the terminal at the newest size', async () => {
  const stdin = new PassThrough();
  const stdout = new Collector();
  let control: ExecControl | undefined;
  const run = bed.runtime.exec('resizehost', {
    cmd: SIZE_PRINTER,
    tty: true,
    consoleSize: { height: 24, width: 80 },
    stdin,
    stdout,
    onStart: (exec) => (control = exec),
  });
  await eventually(async () => expect(control).toBeDefined());
  // As `stty rows 42 cols 123` in the client's terminal does: one window change per setting.
  await Promise.all([control?.resize({ height: 42, width: 80 }), control?.resize({ height: 42, width: 97 }), control?.resize({ height: 42, width: 123 })]);
  await untilReported(stdin, stdout, '42 123');
  stdin.end('end\n');
  expect((await run).exitCode).toBe(0);
});

test('resizing an exec that has ended is a Conflict', async () => {
  let control: ExecControl | undefined;
  await bed.runtime.exec('resizehost', { cmd: ['true'], tty: true, onStart: (exec) => (control = exec) });
  await expect(control?.resize({ height: 10, width: 10 })).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('is not running') });
});

test('a terminal size no terminal has is InvalidArgument, and no exec runs', async () => {
  let started = false;
  await expect(
    bed.runtime.exec('resizehost', { cmd: ['true'], tty: true, consoleSize: { height: 0, width: 5000 }, onStart: () => (started = true) }),
  ).rejects.toMatchObject({ code: 'InvalidArgument' });
  expect(started).toBe(false);
});
