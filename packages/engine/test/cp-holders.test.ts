/**
 * What a copy from or into a container holds while it is open, and what it gives back after.
 * A stopped container's device volumes are held mounted as a running container holds them,
 * not under the volumes' lock: starts, creates and exit-time releases go on meanwhile, and the
 * mount comes off when its last holder ends (also a holder that was killed). A running
 * container is frozen for the copy, and only that freeze is undone: its user's pause stays.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { mountPoints } from '@ctr/store';
import { childBuild, engineAndHostDir, eventually } from './fixture';
import { entriesOf, tarOf } from './tar-fixture';

const s = engineAndHostDir('ctr-cp-holders-', { clean: true });

const mounted = async (dir: string): Promise<boolean> => (await mountPoints()).includes(dir);

/** A stopped container whose volume `name` (at /data) binds a host directory holding `hello`, as a device (`type=none o=bind`); the volume's mount point. */
async function stoppedWithDevice(name: string): Promise<{ id: string; mountpoint: string }> {
  const device = join(s.host, name);
  await mkdir(device);
  await writeFile(join(device, 'hello'), 'hi\n');
  const { Mountpoint } = await s.t.engine.createVolume({ name, options: { type: 'none', o: 'bind', device } });
  const { id } = await s.t.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'], volumes: [`${name}:/data`] });
  return { id, mountpoint: Mountpoint };
}

async function runAttached(volumes: string[], cmd: string[]): Promise<number | undefined> {
  return (await s.t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd, volumes })).exitCode;
}

describe("a copy from a stopped container's device volume", () => {
  test('lets a volume create and the start and exit of a container using the device go on while it is open, and keeps the device mounted for it', async () => {
    const { id, mountpoint } = await stoppedWithDevice('held');
    const { tar } = await s.t.engine.getArchive(id, '/data');
    try {
      await expect(s.t.engine.createVolume({ name: 'made-meanwhile' })).resolves.toMatchObject({ Name: 'made-meanwhile' });
      await s.t.engine.createVolume({ name: 'other-device', options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
      expect(await runAttached(['held:/data', 'other-device:/other'], ['cat', '/data/hello'])).toBe(0);
      // That container's exit released what it used, but not what the copy holds.
      expect(await mounted(mountpoint)).toBe(true);
    } catch (error) {
      tar.destroy();
      throw error;
    }
    expect((await entriesOf(tar)).map((entry) => entry.name)).toContain('data/hello');
    expect(await mounted(mountpoint)).toBe(false);
  });

  test('holds the device until its stream is destroyed unread', async () => {
    const { id, mountpoint } = await stoppedWithDevice('destroyed');
    const { tar } = await s.t.engine.getArchive(id, '/data');
    expect(await mounted(mountpoint)).toBe(true);
    const closed = new Promise((resolve) => tar.once('close', resolve));
    tar.destroy();
    await closed;
    // The release runs after the close, in the background.
    expect(await eventually(() => mounted(mountpoint), (still) => !still)).toBe(false);
  });

  test('makes the volume in use: its removal is refused until the copy ends, then succeeds', async () => {
    const { id } = await stoppedWithDevice('in-use');
    const { tar } = await s.t.engine.getArchive(id, '/data');
    // The container's removal waits for the copy (as dockerd's waits for its archive operations).
    const removal = s.t.engine.remove(id);
    try {
      await expect(s.t.engine.removeVolume('in-use')).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('volume is in use') });
    } finally {
      await entriesOf(tar);
    }
    await removal;
    await expect(s.t.engine.removeVolume('in-use')).resolves.toBeUndefined();
  });

  test('mounts the device for a copy into it, and releases it after', async () => {
    const { id, mountpoint } = await stoppedWithDevice('into');
    const input = new PassThrough();
    const copied = s.t.engine.putArchive(id, '/data', input);
    const archive = tarOf({ name: 'put', type: 'file', data: 'put\n' });
    input.write(archive.subarray(0, 512));
    try {
      expect(await eventually(() => mounted(mountpoint), (now) => now)).toBe(true);
      await expect(s.t.engine.createVolume({ name: 'made-while-putting' })).resolves.toMatchObject({ Name: 'made-while-putting' });
    } finally {
      input.end(archive.subarray(512));
      await copied;
    }
    expect(await mounted(mountpoint)).toBe(false);
    expect(await runAttached(['into:/data'], ['grep', '-q', 'put', '/data/put'])).toBe(0);
  });
});

describe('a copy whose process was killed', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  /** A child Node process with its own Engine on the same root: it opens `cp <container>:/data -`, reads nothing, says `running` and waits. */
  const copier = `
const { Engine } = require(${JSON.stringify(require.resolve('@ctr/engine').replace(/src(\/index\.ts)?$/, 'dist'))});
const engine = new Engine({ root: process.argv[1], runRoot: process.argv[2] });
engine.getArchive(process.argv[3], '/data')
  .then(() => { process.stdout.write('running\\n'); setInterval(() => undefined, 60000); })
  .catch((e) => { process.stdout.write('failed ' + (e && e.message) + '\\n'); process.exit(1); });
`;

  test('holds the device while its process runs, and not after it was killed', async () => {
    const { id, mountpoint } = await stoppedWithDevice('killed');
    const { child } = await childBuild(copier, [s.t.root, s.t.runRoot, id], children);
    // The container's removal waits for the copy: until its process is gone.
    const removal = s.t.engine.remove(id);
    expect(await mounted(mountpoint)).toBe(true);
    await expect(s.t.engine.removeVolume('killed')).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('volume is in use') });
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
    await removal;
    await expect(s.t.engine.removeVolume('killed')).resolves.toBeUndefined();
    expect(await mounted(mountpoint)).toBe(false);
  });
});

describe('a copy from or into a running container', () => {
  const sleeping = async (): Promise<string> => (await s.t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sleep', '600'], detach: true })).id;

  async function pausedEverywhere(id: string): Promise<{ paused: boolean; status: string; listed: string | undefined }> {
    const { State } = await s.t.engine.inspect(id);
    const [listed] = await s.t.engine.ps({ filters: { id: [id] } });
    return { paused: State.Paused, status: State.Status, listed: listed?.State };
  }

  test('leaves it running after a copy out', async () => {
    const id = await sleeping();
    const { tar } = await s.t.engine.getArchive(id, '/bin');
    await entriesOf(tar);
    expect(await pausedEverywhere(id)).toEqual({ paused: false, status: 'running', listed: 'running' });
  });

  test('leaves it paused when its user paused it during a copy out', async () => {
    const id = await sleeping();
    const { tar } = await s.t.engine.getArchive(id, '/bin');
    try {
      expect((await pausedEverywhere(id)).paused).toBe(true);
      await expect(s.t.engine.pause(id)).resolves.toBeUndefined();
    } finally {
      await entriesOf(tar);
    }
    expect(await pausedEverywhere(id)).toEqual({ paused: true, status: 'paused', listed: 'paused' });
  });

  test('leaves it paused when its user paused it during a copy in', async () => {
    const id = await sleeping();
    const input = new PassThrough();
    const copied = s.t.engine.putArchive(id, '/tmp', input);
    const archive = tarOf({ name: 'put', type: 'file', data: 'put\n' });
    input.write(archive.subarray(0, 512));
    try {
      // Frozen by the copy first: the user's pause comes during it.
      expect((await eventually(() => pausedEverywhere(id), (now) => now.paused)).paused).toBe(true);
      await expect(s.t.engine.pause(id)).resolves.toBeUndefined();
    } finally {
      input.end(archive.subarray(512));
      await copied;
    }
    expect(await pausedEverywhere(id)).toEqual({ paused: true, status: 'paused', listed: 'paused' });
  });

  test('leaves it paused when its user paused it before the copy', async () => {
    const id = await sleeping();
    await s.t.engine.pause(id);
    await entriesOf((await s.t.engine.getArchive(id, '/bin')).tar);
    expect(await pausedEverywhere(id)).toEqual({ paused: true, status: 'paused', listed: 'paused' });
  });

  test('a second pause of a container its user paused during a copy is refused as already paused', async () => {
    const id = await sleeping();
    const { tar } = await s.t.engine.getArchive(id, '/bin');
    try {
      await s.t.engine.pause(id);
      await expect(s.t.engine.pause(id)).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('is already paused') });
    } finally {
      await entriesOf(tar);
    }
  });
});
