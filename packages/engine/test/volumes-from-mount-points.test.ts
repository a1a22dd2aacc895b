import { collector, testEngine, type TestEngine } from './fixture';

// `--volumes-from` copies the other container's mount points as dockerd's registerMountPoints
// does: every one of them (a `--mount` tmpfs is one; a `--tmpfs` is not), each without its mode.

let t: TestEngine;
let source: string;
beforeAll(async () => {
  t = await testEngine();
  source = (
    await t.engine.create({
      image: 'busybox',
      pull: 'never',
      name: 'mp-source',
      network: 'none',
      volumes: ['mp-named:/named:z', '/anon'],
      tmpfs: ['/flag-tmpfs'],
      mountSpecs: [{ Type: 'tmpfs', Target: '/spec-tmpfs', TmpfsOptions: { SizeBytes: 1024 * 1024 } }],
    })
  ).id;
});
afterAll(async () => {
  await t?.cleanup();
});

test("a --mount tmpfs of the other container is mounted in this one; its --tmpfs is not", async () => {
  const stdout = collector();
  const { exitCode } = await t.engine.run({
    image: 'busybox',
    pull: 'never',
    network: 'none',
    autoRemove: true,
    volumesFrom: ['mp-source'],
    cmd: ['sh', '-c', 'grep -c " /spec-tmpfs tmpfs " /proc/mounts; grep -c " /flag-tmpfs " /proc/mounts || true'],
    stdout,
  });
  expect(exitCode).toBe(0);
  expect(stdout.text()).toBe('1\n0\n');
});

test('inspect shows the inherited --mount tmpfs in Mounts, and no HostConfig.Tmpfs', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', volumesFrom: ['mp-source'] });
  const info = await t.engine.inspect(id);
  expect(info.Mounts.find((m) => m.Destination === '/spec-tmpfs')).toEqual({ Type: 'tmpfs', Source: '', Destination: '/spec-tmpfs', Mode: '', RW: true, Propagation: '' });
  expect(info.Mounts.map((m) => m.Destination)).not.toContain('/flag-tmpfs');
  expect(info.HostConfig.Tmpfs).toBeUndefined();
  await t.engine.remove(id);
});

test("the inherited mounts have an empty Mode, whatever mode the other container's had", async () => {
  const sourceModes = (await t.engine.inspect(source)).Mounts.map((m) => [m.Destination, m.Mode]);
  expect(sourceModes).toContainEqual(['/named', 'z']);
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', volumesFrom: ['mp-source:ro'] });
  const mounts = (await t.engine.inspect(id)).Mounts;
  expect(mounts.map((m) => [m.Destination, m.Mode]).sort()).toEqual([
    ['/anon', ''],
    ['/named', ''],
    ['/spec-tmpfs', ''],
  ]);
  await t.engine.remove(id);
});
