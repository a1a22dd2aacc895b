import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
