import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;

beforeAll(async () => {
  t = await testEngine();
});

afterAll(async () => {
  await t.cleanup();
});

/** The mount options of the container's root filesystem on the host. */
function rootfsMountOptions(rootfs: string): string[] {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === rootfs);
  if (!line) throw new Error(`${rootfs} is not mounted`);
  return (line.split(' - ')[1] ?? '').split(' ')[2]?.split(',') ?? [];
}

test('the root filesystem of a container removed at exit (--rm) is mounted volatile', async () => {
  // Looked at while it runs: a created container's root filesystem is not mounted.
  const { id } = await t.engine.run({ image: 'busybox', cmd: ['sleep', '600'], network: 'none', autoRemove: true, detach: true });
  const rootfs = (await t.engine.inspect(id)).GraphDriver.Data.MergedDir;
  // Newer kernels show the option as fsync=volatile.
  expect(rootfsMountOptions(rootfs).some((o) => o === 'volatile' || o === 'fsync=volatile')).toBe(true);
});

test('the root filesystem of a container that is kept is synced like any other (not volatile)', async () => {
  const { id } = await t.engine.run({ image: 'busybox', cmd: ['sleep', '600'], network: 'none', detach: true });
  const rootfs = (await t.engine.inspect(id)).GraphDriver.Data.MergedDir;
  expect(rootfsMountOptions(rootfs).some((o) => o.includes('volatile'))).toBe(false);
});

test('a --rm container runs, writes to its root filesystem and leaves nothing mounted', async () => {
  const result = await t.engine.run({ image: 'busybox', cmd: ['sh', '-c', 'echo kept > /file && cat /file'], network: 'none', autoRemove: true });
  expect(result.exitCode).toBe(0);
  await expect(t.engine.inspect(result.id)).rejects.toMatchObject({ code: 'NotFound' });
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(result.id);
});

test("a new root's directories of one subdirectory per container or snapshot spread them (ext4's chattr +T)", async () => {
  await t.engine.run({ image: 'busybox', cmd: ['true'], network: 'none', autoRemove: true });
  const dirs = [path.join(t.root, 'containers'), path.join(t.root, 'snapshots'), path.join(t.root, 'engine', 'rootfs'), path.join(t.runRoot, 'runc')];
  for (const dir of dirs) expect(execFileSync('lsattr', ['-d', dir], { encoding: 'utf8' }).split(' ')[0]).toContain('T');
});
