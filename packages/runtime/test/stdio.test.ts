import { PassThrough } from 'node:stream';
import { Collector, testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

test('stdout and stderr reach an attached client apart', async () => {
  const stdout = new Collector();
  const stderr = new Collector();
  await bed.runtime.create('apart', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'echo to-out; echo to-err >&2'] } });
  const { attached } = await bed.runtime.start('apart', { attach: { stdout, stderr } });
  await bed.runtime.wait('apart');
  await attached;
  expect(stdout.text()).toBe('to-out\n');
  expect(stderr.text()).toBe('to-err\n');
});

test('stdout and stderr are kept apart in the log', async () => {
  await bed.runtime.create('logapart', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'echo to-out; echo to-err >&2'] } });
  await bed.runtime.start('logapart');
  await bed.runtime.wait('logapart');
  const entries = [];
  for await (const e of bed.runtime.logs('logapart')) entries.push({ stream: e.stream, line: e.line });
  expect(entries).toEqual(expect.arrayContaining([{ stream: 'stdout', line: 'to-out' }, { stream: 'stderr', line: 'to-err' }]));
  expect(entries).toHaveLength(2);
});

test('stdin is piped to the process and its end closes the process stdin', async () => {
  const stdin = new PassThrough();
  const stdout = new Collector();
  await bed.runtime.create('stdin', {
    rootfs: await bed.rootfs(),
    image: { Cmd: ['sh', '-c', 'while read l; do echo got:$l; done; echo eof'] },
    run: { openStdin: true },
  });
  const { attached } = await bed.runtime.start('stdin', { attach: { stdin, stdout } });
  stdin.write('one\n');
  stdin.end('two\n');
  const status = await bed.runtime.wait('stdin');
  await attached;
  expect(status.exitCode).toBe(0);
  expect(stdout.text()).toBe('got:one\ngot:two\neof\n');
});

test('a client can attach to a running container and see its new output', async () => {
  await bed.runtime.create('later', {
    rootfs: await bed.rootfs(),
    image: { Cmd: ['sh', '-c', 'read go; echo after:$go'] },
    run: { openStdin: true },
  });
  await bed.runtime.start('later');
  const stdout = new Collector();
  const stdin = new PassThrough();
  const done = bed.runtime.attach('later', { stdin, stdout });
  stdin.end('now\n');
  await done;
  expect((await bed.runtime.wait('later')).exitCode).toBe(0);
  expect(stdout.text()).toBe('after:now\n');
});
