import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountPoints } from '@ctr/store';
import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let hostDir: string;
const volumes = ['dev-tmpfs', 'dev-bind', 'dev-missing', 'dev-busy'];

beforeAll(async () => {
  t = await testEngine();
  hostDir = await mkdtemp(join(tmpdir(), 'ctr-volume-device-'));
});
afterAll(async () => {
  // Volumes first: a device still mounted under the root would be reached by the root's removal.
  for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true });
  for (const name of volumes) await t.engine.removeVolume(name).catch(() => undefined);
  await t.cleanup();
  await rm(hostDir, { recursive: true, force: true });
});

async function run(volume: string, script: string): Promise<string> {
  const stdout = collector();
  const { exitCode } = await t.engine.run({ image: 'busybox', pull: 'never', cmd: ['sh', '-c', script], volumes: [`${volume}:/data`], network: 'none', autoRemove: true, stdout });
  expect(exitCode).toBe(0);
  return stdout.text();
}

test('a volume made with type=tmpfs is a tmpfs of that size, mounted when a container using it starts', async () => {
  const volume = await t.engine.createVolume({ name: 'dev-tmpfs', options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
  expect(volume.Options).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
  expect(await mountPoints()).not.toContain(volume.Mountpoint);
  expect(await run('dev-tmpfs', "df -k /data | awk 'NR==2 {print $1, $2}'")).toBe('tmpfs 1024\n');
});

test('removing a device volume unmounts it first, and never while a container uses it', async () => {
  const { Mountpoint } = await t.engine.inspectVolume('dev-tmpfs');
  // No monitor or exit command here: the exit goes unseen, and the mount stays.
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: ['dev-tmpfs:/data'], network: 'none', detach: true });
  await t.engine.wait(id);
  expect(await mountPoints()).toContain(Mountpoint);
  // Forced or not, a volume a container uses stays (moby's store refuses it), mounted as it was.
  await expect(t.engine.removeVolume('dev-tmpfs', { force: true })).rejects.toMatchObject({ code: 'Conflict' });
  expect(await mountPoints()).toContain(Mountpoint);
  await t.engine.remove(id);
  await t.engine.removeVolume('dev-tmpfs');
  expect(await mountPoints()).not.toContain(Mountpoint);
});

test('a volume made with type=none o=bind is the host directory, which its removal leaves as it is', async () => {
  await t.engine.createVolume({ name: 'dev-bind', options: { type: 'none', o: 'bind', device: hostDir } });
  await run('dev-bind', 'echo from-container > /data/written');
  expect(await readFile(join(hostDir, 'written'), 'utf8')).toBe('from-container\n');
  await t.engine.removeVolume('dev-bind');
  expect(await readdir(hostDir)).toEqual(['written']);
});

test("a container whose volume's device is missing fails to start with the volume's error, and stays created", async () => {
  await t.engine.createVolume({ name: 'dev-missing', options: { type: 'none', o: 'bind', device: join(hostDir, 'absent') } });
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: ['dev-missing:/data'], network: 'none' });
  await expect(t.engine.start(id)).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(new RegExp(`^error while mounting volume '.*${join(hostDir, 'absent')}`)) });
  expect((await t.engine.inspect(id)).State.Status).toBe('created');
});

test.each([
  [{ foo: 'bar' }, 'invalid option: "foo"'],
  [{ type: 'tmpfs' }, 'missing required option: "device"'],
  [{ device: '/srv' }, 'missing required option: "type"'],
  [{ o: 'size=1m', type: 'tmpfs' }, 'missing required option: "device"'],
  [{ size: '10G' }, 'quota size requested but no quota support'],
])('driver options %j are refused in dockerd\'s words, and no volume is made', async (options, message) => {
  await expect(t.engine.createVolume({ name: 'dev-refused', options })).rejects.toMatchObject({ code: 'InvalidArgument', message });
  expect((await t.engine.volumes()).map((v) => v.Name)).not.toContain('dev-refused');
});

test('a volume driver no plugin answers to is refused as dockerd refuses it', async () => {
  await expect(t.engine.createVolume({ name: 'dev-nfs', driver: 'nfs' })).rejects.toMatchObject({
    code: 'NotFound',
    message: 'create dev-nfs: error looking up volume plugin nfs: plugin "nfs" not found',
  });
});

test('a volume with something still mounted inside is not removed, and the mount is left alone', async () => {
  const volume = await t.engine.createVolume({ name: 'dev-busy' });
  const inner = join(volume.Mountpoint, 'inner');
  await mkdir(inner);
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', inner]);
  try {
    await expect(t.engine.removeVolume('dev-busy')).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('is still mounted') });
    expect((await t.engine.inspectVolume('dev-busy')).Name).toBe('dev-busy');
  } finally {
    execFileSync('umount', [inner]);
  }
  await t.engine.removeVolume('dev-busy');
});
