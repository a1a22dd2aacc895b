import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountPoints } from '@ctr/store';
import type { ApiMount } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let host: string;

beforeAll(async () => {
  t = await testEngine();
  host = await mkdtemp(join(tmpdir(), 'ctr-subpath-host-'));
  await writeFile(join(host, 'mark'), 'host');
}, 60_000);

afterAll(async () => {
  await t.cleanup();
  await rm(host, { recursive: true, force: true });
});

/** A volume `name` whose directory `sub` holds `mark` ("inside"), and a `--mount` of that subpath at /x. */
async function volumeWithSub(name: string): Promise<{ Mountpoint: string; mount: ApiMount }> {
  const { Mountpoint } = await t.engine.createVolume({ name });
  await mkdir(join(Mountpoint, 'sub'));
  await writeFile(join(Mountpoint, 'sub', 'mark'), 'inside');
  return { Mountpoint, mount: { Type: 'volume', Source: name, Target: '/x', VolumeOptions: { Subpath: 'sub' } } };
}

/** Mounts left on the engine's staging points. */
async function stagingMounts(): Promise<string[]> {
  return (await mountPoints()).filter((point) => point.startsWith(join(t.runRoot, 'subpaths')));
}

test('the runtime is given a staging point in the run root for a subpath, never a path inside the volume', async () => {
  const { Mountpoint, mount } = await volumeWithSub('staged-spec');
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], network: 'none', mountSpecs: [mount] });
  const spec = JSON.parse(await readFile(join(t.root, 'containers', id, 'config.json'), 'utf8')) as { mounts: Array<{ destination: string; source: string }> };
  const source = spec.mounts.find((m) => m.destination === '/x')?.source ?? '';
  expect(source.startsWith(join(t.runRoot, 'subpaths', id))).toBe(true);
  expect(source.startsWith(Mountpoint)).toBe(false);
  await t.engine.remove(id);
});

test('the container keeps seeing its subpath after the staging mount is taken down at its start', async () => {
  const { mount } = await volumeWithSub('staged-run');
  const stdout = collector();
  const { exitCode } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', autoRemove: true, mountSpecs: [mount], cmd: ['sh', '-c', 'sleep 1; cat /x/mark'], stdout });
  expect(exitCode).toBe(0);
  expect(stdout.text()).toBe('inside');
  expect(await stagingMounts()).toEqual([]);
});

test('a subpath made a symbolic link to a host directory after the create is refused at the start, and nothing is mounted', async () => {
  const { Mountpoint, mount } = await volumeWithSub('staged-swap');
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', cmd: ['cat', '/x/mark'], network: 'none', mountSpecs: [mount] });
  // What a container running with the whole volume could do: `sub` becomes a link to the host.
  await rm(join(Mountpoint, 'sub'), { recursive: true });
  await symlink(host, join(Mountpoint, 'sub'));
  await expect(t.engine.start(id)).rejects.toMatchObject({ code: 'NotFound', message: `cannot access path ${Mountpoint}/sub: too many levels of symbolic links` });
  expect(await stagingMounts()).toEqual([]);
  expect(existsSync(join(t.runRoot, 'subpaths', id))).toBe(false);
  await t.engine.remove(id);
});
