import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procStat, START_TIME } from '@ctr/runtime';
import { openStore } from '@ctr/store';
import { testEngine, type TestEngine } from './fixture';

describe('system prune and df (store, snapshots, runc)', () => {
  let t: TestEngine;
  let context: string;
  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-prune-ctx-'));
  });
  afterAll(async () => {
    await t?.cleanup();
    await rm(context, { recursive: true, force: true });
  });

  test('df counts images, containers with their writable layer, volumes and build cache', async () => {
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', volumes: ['df-data:/data'], cmd: ['sh', '-c', 'head -c 5000 /dev/zero > /big; head -c 700 /dev/zero > /data/v'] });
    const usage = await t.engine.df();
    expect(usage.Images.map((i) => i.RepoTags)).toContainEqual(['busybox:latest']);
    expect(usage.LayersSize).toBeGreaterThan(0);
    const container = usage.Containers.find((c) => c.Id === id);
    expect(container?.SizeRw).toBeGreaterThanOrEqual(5000);
    expect(usage.Volumes.find((v) => v.Name === 'df-data')).toMatchObject({ UsageData: { Size: 700, RefCount: 1 } });
    await t.engine.remove(id);
    await t.engine.removeVolume('df-data');
  });

  test('prune removes stopped containers, dangling images and the build cache, and keeps what is in use', async () => {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo one > /one\n');
    const built = await t.engine.build({ context });
    const stopped = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['true'] });
    const running = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '60'], detach: true });
    expect((await t.engine.df()).BuildCache.length).toBeGreaterThan(0);

    const result = await t.engine.prune();
    expect(result.ContainersDeleted).toEqual([stopped.id]);
    expect(result.ImagesDeleted).toContainEqual({ Deleted: built.id });
    expect(result.CachesDeleted.length).toBeGreaterThan(0);
    expect(result.SpaceReclaimed).toBeGreaterThan(0);
    const after = await t.engine.df();
    expect(after.BuildCache).toEqual([]);
    expect(after.Containers.map((c) => c.Id)).toEqual([running.id]);
    expect(after.Images.map((i) => i.RepoTags)).toEqual([['busybox:latest']]);
    await t.engine.remove(running.id, { force: true });
  });

  test('prune -a removes unused tagged images; --volumes removes unused anonymous volumes only', async () => {
    await t.engine.tag('busybox', 'prune-me:1');
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', volumes: ['/anon', 'kept-named:/named'] });
    const anonymous = (await t.engine.inspect(id)).Mounts.find((m) => m.Destination === '/anon')?.Name as string;
    await t.engine.remove(id);
    const result = await t.engine.prune({ all: true, volumes: true });
    expect(result.VolumesDeleted).toEqual([anonymous]);
    expect((await t.engine.volumes()).map((v) => v.Name)).toContain('kept-named');
    expect(await t.engine.images()).toEqual([]);
    await t.engine.removeVolume('kept-named');
  });
});

describe('container prune and containers never finished', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  /** A process's PID and start time, as a name claim of its carries them. */
  const claimer = (pid: number): string => `${pid} ${procStat(pid)?.[START_TIME]}`;

  /** A process that has ended, as a name claim of its would name it. */
  async function endedProcess(): Promise<string> {
    const proc = spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise((resolve) => proc.once('spawn', resolve));
    const ended = claimer(proc.pid as number);
    proc.kill('SIGKILL');
    await new Promise((resolve) => proc.once('close', resolve));
    return ended;
  }

  /**
   * A container as a process killed while it made one leaves it: the name claimed (by that
   * process), the root filesystem mounted, the snapshot and the runtime's state made, no record.
   */
  async function unfinishedContainer(name: string, claimedBy: string): Promise<string> {
    // A run's (detached, its exit seen by nobody): a create alone unmounts its root filesystem once done.
    const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', name, volumes: [`${name}-data:/data`], cmd: ['true'], detach: true });
    rmSync(join(t.root, 'engine', 'containers', `${id}.json`));
    rmSync(join(t.root, 'engine', 'names', name));
    symlinkSync(`${id} ${claimedBy}`, join(t.root, 'engine', 'names', name));
    return id;
  }

  const mounted = (dir: string): boolean => readFileSync('/proc/mounts', 'utf8').split('\n').some((line) => line.split(' ')[1] === dir);
  const snapshotKeys = async (): Promise<string[]> => {
    const keys: string[] = [];
    for await (const info of (await openStore({ root: t.root })).snapshots.walk()) keys.push(info.name);
    return keys;
  };

  test('prune removes what a container whose maker was killed left: mount, snapshot, runtime state, volume use and name', async () => {
    const id = await unfinishedContainer('unfinished', await endedProcess());
    const rootfs = join(t.root, 'engine', 'rootfs', id);
    expect(mounted(rootfs)).toBe(true);
    expect(await t.engine.ps({ all: true })).toEqual([]);

    expect((await t.engine.pruneContainers()).ContainersDeleted).toEqual([id]);
    expect(mounted(rootfs)).toBe(false);
    expect(await snapshotKeys()).not.toContain(`container-${id}`);
    expect(existsSync(join(t.root, 'containers', id))).toBe(false);
    expect(existsSync(join(t.root, 'engine', 'names', 'unfinished'))).toBe(false);
    await t.engine.removeVolume('unfinished-data');
  });

  test('a name taken over from a container whose maker was killed takes that container apart with it', async () => {
    const stale = await unfinishedContainer('taken-over', await endedProcess());
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', name: 'taken-over', cmd: ['true'] });
    expect(id).not.toBe(stale);
    expect(mounted(join(t.root, 'engine', 'rootfs', stale))).toBe(false);
    expect(await snapshotKeys()).not.toContain(`container-${stale}`);
    await t.engine.remove(id);
    // Its use of the volume went with it: the volume is free to remove.
    await expect(t.engine.removeVolume('taken-over-data')).resolves.toBeUndefined();
  });

  test('prune leaves a container another live process is still making', async () => {
    const maker = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => maker.once('spawn', resolve));
      const id = await unfinishedContainer('in-progress', claimer(maker.pid as number));
      expect((await t.engine.pruneContainers()).ContainersDeleted).toEqual([]);
      expect(mounted(join(t.root, 'engine', 'rootfs', id))).toBe(true);
      expect(await snapshotKeys()).toContain(`container-${id}`);
      expect(readlinkSync(join(t.root, 'engine', 'names', 'in-progress')).split(' ')[0]).toBe(id);
      // Its maker is gone now: the next prune clears it.
      maker.kill('SIGKILL');
      await new Promise((resolve) => maker.once('close', resolve));
      expect((await t.engine.pruneContainers()).ContainersDeleted).toEqual([id]);
      expect(mounted(join(t.root, 'engine', 'rootfs', id))).toBe(false);
      await t.engine.removeVolume('in-progress-data');
    } finally {
      maker.kill('SIGKILL');
    }
  });
});
