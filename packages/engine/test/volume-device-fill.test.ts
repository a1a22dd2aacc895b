import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountPoints } from '@ctr/store';
import { testEngine, type TestEngine } from './fixture';

// A device volume's copy-up, as dockerd's populateVolume: the volume is mounted for it, the
// image's directory copied in when the volume is empty there, and the mount undone after.

let t: TestEngine;
let hostDir: string;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});
beforeEach(async () => {
  hostDir = await mkdtemp(join(tmpdir(), 'ctr-device-fill-'));
});
afterEach(async () => {
  for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true });
  for (const v of await t.engine.volumes()) await t.engine.removeVolume(v.Name);
  await rm(hostDir, { recursive: true, force: true });
});

/** Create (not start) a busybox container with volume `name` over its /etc. */
async function createOverEtc(name: string): Promise<void> {
  await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', volumes: [`${name}:/etc`] });
}

test("an empty host directory behind a bind-type volume gets the image's directory at the container's create, and is unmounted after", async () => {
  const volume = await t.engine.createVolume({ name: 'vb', options: { type: 'none', o: 'bind', device: hostDir } });
  await createOverEtc('vb');
  expect(await readdir(hostDir)).toEqual(expect.arrayContaining(['group', 'passwd']));
  expect((await stat(hostDir)).mode & 0o7777).toBe(0o755);
  expect(await mountPoints()).not.toContain(volume.Mountpoint);
});

test('a host directory with anything in it is never copied into', async () => {
  await writeFile(join(hostDir, 'mine'), 'host');
  await t.engine.createVolume({ name: 'vb', options: { type: 'none', o: 'bind', device: hostDir } });
  await createOverEtc('vb');
  expect(await readdir(hostDir)).toEqual(['mine']);
});

test("a tmpfs volume's copy goes with its unmount: nothing is left in the volume's directory", async () => {
  const volume = await t.engine.createVolume({ name: 'vt', options: { type: 'tmpfs', device: 'tmpfs' } });
  await createOverEtc('vt');
  expect(await mountPoints()).not.toContain(volume.Mountpoint);
  expect(await readdir(volume.Mountpoint)).toEqual([]);
});

test("with nocopy the host directory stays empty", async () => {
  await t.engine.createVolume({ name: 'vb', options: { type: 'none', o: 'bind', device: hostDir } });
  await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', volumes: ['vb:/etc:nocopy'] });
  expect(await readdir(hostDir)).toEqual([]);
});

test('prune -a leaves the bind-type and tmpfs-type volumes no container uses, and the host directory as it was', async () => {
  await writeFile(join(hostDir, 'mine'), 'host');
  await t.engine.createVolume({ name: 'vb', options: { type: 'none', o: 'bind', device: hostDir } });
  await t.engine.createVolume({ name: 'vt', options: { type: 'tmpfs', device: 'tmpfs' } });
  await t.engine.createVolume({ name: 'plain' });
  expect(await t.engine.pruneVolumes({ all: true })).toEqual({ VolumesDeleted: ['plain'], SpaceReclaimed: 0 });
  expect((await t.engine.volumes()).map((v) => v.Name).sort()).toEqual(['vb', 'vt']);
  expect(await readdir(hostDir)).toEqual(['mine']);
});
