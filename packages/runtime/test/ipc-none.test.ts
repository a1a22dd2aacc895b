/** `--ipc none`: an IPC namespace of its own and no /dev/shm (moby's WithMounts drops it). */
import { generateSpec, type RunOptions, type Spec, type SpecContext } from '@ctr/runtime';
import { Collector, testBed, type TestBed } from './helpers';

const context: SpecContext = { id: 'abcdef0123456789', rootfs: '/rootfs', rlimitCeilings: { nofile: 20000 } };
const spec = (options: RunOptions): Spec => generateSpec({ Cmd: ['sh'] }, options, context);

test('the container has an IPC namespace of its own', () => {
  expect(spec({ ipc: 'none' }).linux.namespaces).toContainEqual({ type: 'ipc' });
});

test('the spec mounts nothing at /dev/shm', () => {
  expect(spec({ ipc: 'none' }).mounts.map((m) => m.destination)).not.toContain('/dev/shm');
});

test('a tmpfs the user mounts at /dev/shm is still mounted', () => {
  expect(spec({ ipc: 'none', mounts: [{ type: 'tmpfs', target: '/dev/shm' }] }).mounts).toContainEqual(expect.objectContaining({ destination: '/dev/shm', type: 'tmpfs' }));
});

describe('in a real container (runc)', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await testBed();
  });
  afterAll(async () => {
    await bed.cleanup();
  });

  test('nothing is mounted at /dev/shm', async () => {
    const stdout = new Collector();
    await bed.runtime.create('no-shm', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'grep -c " /dev/shm " /proc/self/mountinfo; ls -d /dev/shm'] }, run: { ipc: 'none' } });
    const { attached } = await bed.runtime.start('no-shm', { attach: { stdout } });
    await bed.runtime.wait('no-shm');
    await attached;
    expect(stdout.text()).toBe('0\n');
  });
});
