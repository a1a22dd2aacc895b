import { PassThrough } from 'node:stream';
import { Collector, eventually, testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

test('with a TTY the process gets a terminal of its own', async () => {
  const stdout = new Collector();
  await bed.runtime.create('tty', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'tty; echo TERM=$TERM'] }, run: { tty: true } });
  const { attached } = await bed.runtime.start('tty', { attach: { stdout } });
  expect((await bed.runtime.wait('tty')).exitCode).toBe(0);
  await attached;
  expect(stdout.text()).toBe('/dev/pts/0\r\nTERM=xterm\r\n');
});

test('an interactive shell on a TTY reads what is typed', async () => {
  const stdin = new PassThrough();
  const stdout = new Collector();
  await bed.runtime.create('shell', { rootfs: await bed.rootfs(), image: { Cmd: ['sh'] }, run: { tty: true, openStdin: true } });
  const { attached } = await bed.runtime.start('shell', { attach: { stdin, stdout } });
  stdin.write('echo $((6*7))\n');
  stdin.write('exit 9\n');
  expect((await bed.runtime.wait('shell')).exitCode).toBe(9);
  stdin.end();
  await attached;
  expect(stdout.text()).toContain('42\r\n');
});

test('resize changes the size of the container\'s terminal', async () => {
  await bed.runtime.create('resize', {
    rootfs: await bed.rootfs(),
    image: { Cmd: ['sh', '-c', 'while true; do stty size; sleep 0.1; done'] },
    run: { tty: true },
  });
  await bed.runtime.start('resize');
  await eventually(async () => {
    await bed.runtime.resize('resize', { height: 33, width: 97 });
    const lines = [];
    for await (const e of bed.runtime.logs('resize', { tail: 1 })) lines.push(e.line.trim());
    expect(lines).toEqual(['33 97']);
  });
});
