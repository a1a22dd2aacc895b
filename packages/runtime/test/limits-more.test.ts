import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { Collector, eventually, testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

test('a process killed for going over its memory limit is reported as OOMKilled', async () => {
  await bed.runtime.create('oom', {
    rootfs: await bed.rootfs(),
    image: { Cmd: ['sh', '-c', 'head -c 200m /dev/zero | tail'] },
    run: { memory: '16m', memorySwap: '16m' },
  });
  await bed.runtime.start('oom');
  const status = await bed.runtime.wait('oom');
  expect(status.exitCode).not.toBe(0);
  expect(status.oomKilled).toBe(true);
  expect((await bed.runtime.state('oom')).oomKilled).toBe(true);
});

test('the open files limit is the host\'s hard limit, never above it', async () => {
  const stdout = new Collector();
  await bed.runtime.create('nofile', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'ulimit -Hn'] } });
  const { attached } = await bed.runtime.start('nofile', { attach: { stdout } });
  await bed.runtime.wait('nofile');
  await attached;
  const hard = /Max open files\s+\S+\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  expect(stdout.text().trim()).toBe(String(Math.min(1048576, Number(hard))));
});

test('exec with a TTY gets a terminal and reads typed input', async () => {
  await bed.runtime.create('ttyhost', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] } });
  await bed.runtime.start('ttyhost');
  const stdin = new PassThrough();
  const stdout = new Collector();
  const run = bed.runtime.exec('ttyhost', { cmd: ['sh', '-c', 'tty; read x; echo got-$x'], tty: true, stdin, stdout });
  // Type only once the shell has started, or the terminal echoes the input first.
  await eventually(async () => expect(stdout.text()).toMatch(/\/dev\/pts\/\d+\r\n/));
  stdin.end('yes\n');
  expect((await run).exitCode).toBe(0);
  expect(stdout.text()).toContain('got-yes\r\n');
});
