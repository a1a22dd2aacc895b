import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEngine, type TestEngine } from './fixture';

/** A moment later than anything made so far, in whole milliseconds: creation times are compared to the millisecond. */
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

/** A Unix timestamp (seconds) `ms` from now, as `until=` takes one. */
const unixIn = (ms: number): string => ((Date.now() + ms) / 1000).toFixed(3);

describe('image list filters (store, build)', () => {
  let t: TestEngine;
  let context: string;
  let labelled: string;
  let dangling: string;

  /** Build a one-step image (no RUN: no container) from `dockerfile`. */
  async function build(dockerfile: string, tags: string[] = []): Promise<string> {
    await writeFile(join(context, 'Dockerfile'), dockerfile);
    await tick();
    return (await t.engine.build({ context, tags })).id;
  }

  const ids = async (filters: Record<string, string[]>): Promise<string[]> => (await t.engine.images({ filters })).map((i) => i.Id).sort();

  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-filters-ctx-'));
    labelled = await build('FROM busybox\nLABEL tier=web team=a\n', ['web:1', 'web:latest']);
    dangling = await build('FROM busybox\nLABEL tier=db\n');
  });
  afterAll(async () => {
    await t?.cleanup();
    await rm(context, { recursive: true, force: true });
  });

  test('dangling=true lists only images without a tag, dangling=false only tagged ones', async () => {
    const busybox = (await t.engine.inspectImage('busybox')).Id;
    expect(await ids({ dangling: ['true'] })).toEqual([dangling]);
    expect(await ids({ dangling: ['false'] })).toEqual([busybox, labelled].sort());
  });

  test('label=key selects images having the label, label=key=value those with that value', async () => {
    expect(await ids({ label: ['tier'] })).toEqual([labelled, dangling].sort());
    expect(await ids({ label: ['tier=web'] })).toEqual([labelled]);
    expect(await ids({ label: ['tier=web', 'team=b'] })).toEqual([]);
  });

  test('before= and since= select images made before or after a named one', async () => {
    const busybox = (await t.engine.inspectImage('busybox')).Id;
    expect(await ids({ before: ['web:1'] })).toEqual([busybox]);
    expect(await ids({ since: ['web:1'] })).toEqual([dangling]);
  });

  test('reference= globs match name:tag or the name, and list only the matching names of an image', async () => {
    expect((await t.engine.images({ filters: { reference: ['busy*'] } })).map((i) => i.RepoTags)).toEqual([['busybox:latest']]);
    expect((await t.engine.images({ filters: { reference: ['*:1'] } })).map((i) => i.RepoTags)).toEqual([['web:1']]);
    expect((await t.engine.images({ filters: { reference: ['web'] } })).map((i) => i.RepoTags.sort())).toEqual([['web:1', 'web:latest']]);
    // docker's FamiliarMatch: the familiar name only, never `library/…`.
    expect(await ids({ reference: ['library/busybox'] })).toEqual([]);
  });

  test('until= takes a duration back from now or a timestamp', async () => {
    // busybox is dated by its binary, long before this hour; the builds are not.
    expect(await ids({ until: ['1h'] })).toEqual([(await t.engine.inspectImage('busybox')).Id]);
    expect((await ids({ until: [unixIn(60_000)] })).length).toBe(3);
    expect((await ids({ until: [new Date(Date.now() + 60_000).toISOString()] })).length).toBe(3);
  });

  test('an unknown filter is refused with dockerd\'s words', async () => {
    await expect(t.engine.images({ filters: { foo: ['bar'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: "invalid filter 'foo'" });
  });

  test('a dangling value that is not a boolean is refused', async () => {
    await expect(t.engine.images({ filters: { dangling: ['maybe'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: "invalid filter 'dangling=[maybe]'" });
  });

  test('an until that is neither a time nor a duration is refused', async () => {
    await expect(t.engine.images({ filters: { until: ['yesterday'] } })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'failed to parse value as time or duration: "yesterday"',
    });
  });

  test('before= an image that does not exist is NotFound', async () => {
    await expect(t.engine.images({ filters: { before: ['ghost:1'] } })).rejects.toMatchObject({ code: 'NotFound' });
  });
});

describe('volume list filters (store, containers)', () => {
  let t: TestEngine;
  let user: string;
  const names = async (filters: Record<string, string[]>): Promise<string[]> => (await t.engine.volumes({ filters })).map((v) => v.Name).sort();

  beforeAll(async () => {
    t = await testEngine();
    await t.engine.createVolume({ name: 'vf-free', labels: { keep: 'no' } });
    await t.engine.createVolume({ name: 'vf-used', labels: { keep: 'yes' } });
    user = (await t.engine.create({ image: 'busybox', network: 'none', volumes: ['vf-used:/data'] })).id;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('dangling=true lists volumes no container uses, dangling=false the used ones', async () => {
    expect(await names({ dangling: ['true'] })).toEqual(['vf-free']);
    expect(await names({ dangling: ['1'] })).toEqual(['vf-free']);
    expect(await names({ dangling: ['false'] })).toEqual(['vf-used']);
    expect(user).toMatch(/^[a-f0-9]{64}$/);
  });

  test('driver= matches the driver exactly', async () => {
    expect(await names({ driver: ['local'] })).toEqual(['vf-free', 'vf-used']);
    expect(await names({ driver: ['nfs'] })).toEqual([]);
  });

  test('label= selects by label, with or without its value', async () => {
    expect(await names({ label: ['keep'] })).toEqual(['vf-free', 'vf-used']);
    expect(await names({ label: ['keep=yes'] })).toEqual(['vf-used']);
  });

  test('name= matches a part of the name (a pattern, as dockerd)', async () => {
    expect(await names({ name: ['free'] })).toEqual(['vf-free']);
    expect(await names({ name: ['^vf-u'] })).toEqual(['vf-used']);
  });

  test('an unknown filter or a bad dangling value is refused', async () => {
    await expect(t.engine.volumes({ filters: { until: ['1h'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: "invalid filter 'until'" });
    await expect(t.engine.volumes({ filters: { dangling: ['maybe'] } })).rejects.toMatchObject({ message: "invalid filter 'dangling=[maybe]'" });
  });
});

describe('network list filters (bridges)', () => {
  let t: TestEngine;
  let custom: string;
  const names = async (filters: Record<string, string[]>): Promise<string[]> => (await t.engine.networks({ filters })).map((n) => n.Name).sort();

  beforeAll(async () => {
    t = await testEngine();
    custom = (await t.engine.createNetwork({ name: 'nf-front', labels: { zone: 'dmz' } })).Id;
  });
  afterAll(async () => {
    await t?.engine.removeNetwork('nf-front').catch(() => undefined);
    await t?.cleanup();
  });

  test('type=builtin lists bridge, host and none; type=custom the networks made', async () => {
    expect(await names({ type: ['builtin'] })).toEqual(['bridge', 'host', 'none']);
    expect(await names({ type: ['custom'] })).toEqual(['nf-front']);
  });

  test('name=, id= (a part of them) and label= select networks', async () => {
    expect(await names({ name: ['front'] })).toEqual(['nf-front']);
    expect(await names({ id: [custom.slice(0, 10)] })).toEqual(['nf-front']);
    expect(await names({ label: ['zone=dmz'] })).toEqual(['nf-front']);
  });

  test('driver= and scope= match exactly', async () => {
    expect(await names({ driver: ['null'] })).toEqual(['none']);
    expect(await names({ scope: ['local'], driver: ['bridge'] })).toEqual(['bridge', 'nf-front']);
    expect(await names({ scope: ['swarm'] })).toEqual([]);
  });

  test('dangling=true lists custom networks no container is connected to', async () => {
    expect(await names({ dangling: ['true'] })).toEqual(['nf-front']);
    expect(await names({ dangling: ['false'] })).toEqual(['bridge', 'host', 'none']);
  });

  test('a bad type, a bad dangling value and an unknown key are refused in dockerd\'s words', async () => {
    await expect(t.engine.networks({ filters: { type: ['bogus'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: "invalid filter: 'type'='bogus'" });
    await expect(t.engine.networks({ filters: { dangling: ['maybe'] } })).rejects.toMatchObject({
      message: 'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")',
    });
    await expect(t.engine.networks({ filters: { foo: ['1'] } })).rejects.toMatchObject({ message: "invalid filter 'foo'" });
  });
});

describe('prune filters (containers, images, networks, volumes, build cache)', () => {
  let t: TestEngine;
  let context: string;
  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-prune-filters-ctx-'));
  });
  afterAll(async () => {
    await t?.cleanup();
    await rm(context, { recursive: true, force: true });
  });

  test('container prune with label= removes only the stopped containers with the label', async () => {
    const marked = await t.engine.create({ image: 'busybox', network: 'none', labels: { prune: 'me' } });
    const other = await t.engine.create({ image: 'busybox', network: 'none' });
    expect((await t.engine.pruneContainers({ filters: { label: ['prune=me'] } })).ContainersDeleted).toEqual([marked.id]);
    expect((await t.engine.ps({ all: true })).map((c) => c.Id)).toEqual([other.id]);
    await t.engine.remove(other.id);
  });

  test('container prune with label!= keeps the containers with the label', async () => {
    const kept = await t.engine.create({ image: 'busybox', network: 'none', labels: { keep: '1' } });
    const gone = await t.engine.create({ image: 'busybox', network: 'none' });
    expect((await t.engine.pruneContainers({ filters: { 'label!': ['keep'] } })).ContainersDeleted).toEqual([gone.id]);
    await t.engine.remove(kept.id);
  });

  test('container prune with until= removes only containers created by then', async () => {
    const made = await t.engine.create({ image: 'busybox', network: 'none' });
    expect((await t.engine.pruneContainers({ filters: { until: ['1h'] } })).ContainersDeleted).toEqual([]);
    expect((await t.engine.pruneContainers({ filters: { until: [unixIn(60_000)] } })).ContainersDeleted).toEqual([made.id]);
  });

  test('a prune refuses an unknown filter, two untils and a bad until, removing nothing', async () => {
    const made = await t.engine.create({ image: 'busybox', network: 'none' });
    await expect(t.engine.pruneContainers({ filters: { dangling: ['true'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: "invalid filter 'dangling'" });
    await expect(t.engine.pruneNetworks({ filters: { until: ['1h', '2h'] } })).rejects.toMatchObject({ message: 'more than one until filter specified' });
    await expect(t.engine.pruneImages({ filters: { until: ['soon'] } })).rejects.toMatchObject({ message: 'failed to parse value as time or duration: "soon"' });
    expect((await t.engine.ps({ all: true })).map((c) => c.Id)).toEqual([made.id]);
    await t.engine.remove(made.id);
  });

  test('image prune with label= removes only the unused images with the label', async () => {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nLABEL prune=yes\n');
    const marked = await t.engine.build({ context, tags: ['marked:1'] });
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nLABEL prune=no\n');
    const other = await t.engine.build({ context, tags: ['other:1'] });
    const result = await t.engine.pruneImages({ all: true, filters: { label: ['prune=yes'] } });
    expect(result.ImagesDeleted).toContainEqual({ Deleted: marked.id });
    expect((await t.engine.images()).map((i) => i.Id)).toContain(other.id);
    await t.engine.removeImage('other:1');
  });

  test('image prune with until= keeps images made after it', async () => {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nLABEL fresh=1\n');
    const fresh = await t.engine.build({ context });
    expect((await t.engine.pruneImages({ filters: { until: ['1h'] } })).ImagesDeleted).toEqual([]);
    expect((await t.engine.pruneImages({ filters: { until: [unixIn(60_000)] } })).ImagesDeleted).toContainEqual({ Deleted: fresh.id });
  });

  test('image prune dangling=false is -a: unused tagged images go too, used ones stay', async () => {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nLABEL spare=1\n');
    const spare = await t.engine.build({ context, tags: ['spare:1'] });
    const user = await t.engine.create({ image: 'busybox', network: 'none' });
    const result = await t.engine.pruneImages({ filters: { dangling: ['false'] } });
    expect(result.ImagesDeleted).toContainEqual({ Deleted: spare.id });
    expect((await t.engine.images()).map((i) => i.RepoTags)).toEqual([['busybox:latest']]);
    await t.engine.remove(user.id);
  });

  test('image prune refuses a dangling filter given both ways', async () => {
    await expect(t.engine.pruneImages({ filters: { dangling: ['true', 'false'] } })).rejects.toMatchObject({ message: "invalid filter 'dangling=[true false]'" });
  });

  test('network prune with label= and until= removes only matching unused networks', async () => {
    await t.engine.createNetwork({ name: 'pf-a', labels: { prune: 'yes' } });
    await t.engine.createNetwork({ name: 'pf-b' });
    try {
      expect((await t.engine.pruneNetworks({ filters: { label: ['prune=yes'], until: ['1h'] } })).NetworksDeleted).toEqual([]);
      expect((await t.engine.pruneNetworks({ filters: { label: ['prune=yes'] } })).NetworksDeleted).toEqual(['pf-a']);
      expect((await t.engine.networks({ filters: { type: ['custom'] } })).map((n) => n.Name)).toEqual(['pf-b']);
    } finally {
      for (const name of ['pf-a', 'pf-b']) await t.engine.removeNetwork(name).catch(() => undefined);
    }
  });

  test('volume prune with label= and all=true removes only matching unused volumes, named ones too', async () => {
    await t.engine.createVolume({ name: 'pv-a', labels: { prune: 'yes' } });
    await t.engine.createVolume({ name: 'pv-b' });
    expect((await t.engine.pruneVolumes({ filters: { label: ['prune=yes'] } })).VolumesDeleted).toEqual([]);
    expect((await t.engine.pruneVolumes({ filters: { label: ['prune=yes'], all: ['true'] } })).VolumesDeleted).toEqual(['pv-a']);
    expect((await t.engine.volumes()).map((v) => v.Name)).toEqual(['pv-b']);
    await t.engine.removeVolume('pv-b');
  });

  test('volume prune refuses until= and an all= that is not a boolean', async () => {
    await expect(t.engine.pruneVolumes({ filters: { until: ['1h'] } })).rejects.toMatchObject({ message: "invalid filter 'until'" });
    await expect(t.engine.pruneVolumes({ filters: { all: ['maybe'] } })).rejects.toMatchObject({ message: 'invalid filter \'all\': strconv.ParseBool: parsing "maybe": invalid syntax' });
  });

  test('builder prune with until= keeps entries used after it; keepStorage keeps the newest that fit', async () => {
    await t.engine.pruneBuildCache();
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo first > /f\n');
    await t.engine.build({ context });
    await tick();
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo second > /s\n');
    await t.engine.build({ context });
    const cache = (await t.engine.df()).BuildCache.sort((a, b) => a.LastUsedAt.localeCompare(b.LastUsedAt));
    expect(cache.length).toBe(2);
    expect((await t.engine.pruneBuildCache({ filters: { until: ['1h'] } })).CachesDeleted).toEqual([]);
    const newest = cache[1] as { ID: string; Size: number };
    expect((await t.engine.pruneBuildCache({ keepStorage: newest.Size })).CachesDeleted).toEqual([cache[0]?.ID]);
    expect((await t.engine.pruneBuildCache({ filters: { until: [unixIn(60_000)] } })).CachesDeleted).toEqual([newest.ID]);
  });

  test('builder prune refuses an unknown filter and a bad until in buildkit\'s words', async () => {
    await expect(t.engine.pruneBuildCache({ filters: { foo: ['1'] } })).rejects.toMatchObject({ message: "invalid filter 'foo'" });
    await expect(t.engine.pruneBuildCache({ filters: { until: ['later'] } })).rejects.toMatchObject({
      message: '"until" filter expects a duration (e.g., \'24h\') or a timestamp: failed to parse value as time or duration: "later"',
    });
    await expect(t.engine.pruneBuildCache({ filters: { until: ['1h'], 'unused-for': ['2h'] } })).rejects.toMatchObject({ message: 'conflicting filters: "until" and "unused-for"' });
  });

  test('system prune with label= prunes only what has the label', async () => {
    const marked = await t.engine.create({ image: 'busybox', network: 'none', labels: { sweep: '1' } });
    const other = await t.engine.create({ image: 'busybox', network: 'none' });
    const result = await t.engine.prune({ filters: { label: ['sweep'] } });
    expect(result.ContainersDeleted).toEqual([marked.id]);
    await t.engine.remove(other.id);
  });

  test('system prune refuses until= with volumes, and a filter one part does not know, before removing anything', async () => {
    const made = await t.engine.create({ image: 'busybox', network: 'none' });
    await expect(t.engine.prune({ volumes: true, filters: { until: ['1h'] } })).rejects.toMatchObject({ message: 'The "until" filter is not supported with "--volumes"' });
    await expect(t.engine.prune({ filters: { dangling: ['true'] } })).rejects.toMatchObject({ message: "invalid filter 'dangling'" });
    expect((await t.engine.ps({ all: true })).map((c) => c.Id)).toEqual([made.id]);
    await t.engine.remove(made.id);
  });
});

describe('container list filters', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('an unknown filter is refused; one dockerd knows but ctr does not filter on is accepted', async () => {
    await expect(t.engine.ps({ filters: { foo: ['1'] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: "invalid filter 'foo'" });
    await expect(t.engine.ps({ filters: { 'is-task': ['false'] } })).resolves.toEqual([]);
  });

  test('name= is a pattern, matched with and without the leading slash', async () => {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', name: 'cf-web-1' });
    expect((await t.engine.ps({ all: true, filters: { name: ['^/cf-web'] } })).map((c) => c.Id)).toEqual([id]);
    expect((await t.engine.ps({ all: true, filters: { name: ['^cf-web'] } })).map((c) => c.Id)).toEqual([id]);
    expect((await t.engine.ps({ all: true, filters: { name: ['web-2'] } })).map((c) => c.Id)).toEqual([]);
    await t.engine.remove(id);
  });
});
