import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { BuildEvent } from '@ctr/dockerfile';
import type { BuildImageOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';

/**
 * docker's classic builder: every step's result is an image, the next step's parent; `images`
 * hides those untagged parents (`-a` shows them), `rmi` takes them with their child and `image
 * prune` with their top, `history` names them, `ps --filter ancestor=` follows them.
 */
describe('a build leaves an intermediate image per step (real engine, overlay snapshots, runc)', () => {
  let t: TestEngine;
  let context: string;
  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-build-intermediate-'));
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await t?.cleanup();
  });

  const APP = 'FROM busybox\nENV X=1\nRUN echo hi > /f\nCOPY Dockerfile /d\nCMD ["cat", "/f"]\n';

  /** Build `dockerfile` (on no network); the image, and each step's image in the order the events gave them. */
  async function build(dockerfile: string, options: Partial<BuildImageOptions> = {}): Promise<{ id: string; images: string[]; events: BuildEvent[] }> {
    await writeFile(join(context, 'Dockerfile'), dockerfile);
    const events: BuildEvent[] = [];
    const { id } = await t.engine.build({ context, network: 'none', ...options, onEvent: (event) => events.push(event) });
    return { id, images: events.flatMap((e) => (e.type === 'image' ? [e.id] : [])), events };
  }

  const parentOf = async (id: string): Promise<string> => (await t.engine.inspectImage(id)).Parent;
  const exists = (id: string): Promise<boolean> => t.engine.inspectImage(id).then(() => true, () => false);
  const listed = async (options: Parameters<TestEngine['engine']['images']>[0] = {}): Promise<string[]> => (await t.engine.images(options)).map((i) => i.Id);

  test("each step's image is the next one's parent, from the base to the build's own", async () => {
    const busybox = (await t.engine.inspectImage('busybox')).Id;
    const { id, images } = await build(APP, { tags: ['chain:1'] });
    expect(images).toHaveLength(5);
    expect(images[0]).toBe(busybox);
    expect(images[4]).toBe(id);
    for (let i = 1; i < images.length; i++) expect(await parentOf(images[i]!)).toBe(images[i - 1]);
    expect(await parentOf(busybox)).toBe('');
    await t.engine.removeImage('chain:1');
  });

  test("a step's image has the config and history that step left", async () => {
    const { images } = await build(APP, { tags: ['chain:2'] });
    const env = await t.engine.inspectImage(images[1]!);
    expect(env.Config.Env).toContain('X=1');
    expect(env.Config.Cmd).toEqual(['sh']);
    const history = await t.engine.history(images[2]!);
    expect(history.map((h) => h.CreatedBy)[0]).toBe('/bin/sh -c echo hi > /f');
    expect(history).toHaveLength(3);
    await t.engine.removeImage('chain:2');
  });

  test('a cached rebuild reuses the same images and says each step came from the cache', async () => {
    const first = await build(APP, { tags: ['chain:3'] });
    const again = await build(APP, { tags: ['chain:3'] });
    expect(again.images).toEqual(first.images);
    const afterSteps = again.events.filter((e) => e.type === 'cache-hit' || e.type === 'image' || e.type === 'container').map((e) => e.type);
    expect(afterSteps).toEqual(['image', ...Array<string[]>(4).fill(['cache-hit', 'image']).flat()]);
    await t.engine.removeImage('chain:3');
  });

  test('a metadata step is said to run in a container removed before its image, as dockerd commits one', async () => {
    const { events } = await build('FROM busybox\nLABEL step=meta\n', { noCache: true, tags: ['meta:1'] });
    const step = events.filter((e) => 'step' in e && e.step === 2).map((e) => e.type);
    expect(step).toEqual(['step', 'container', 'container-removed', 'image']);
    await t.engine.removeImage('meta:1');
  });

  test('images hides the untagged parents, -a shows them, dangling=true is only the heads', async () => {
    const { id, images } = await build(APP, { tags: ['chain:4'] });
    const middle = images.slice(1, 4);
    const summary = (await t.engine.images({ all: true })).find((i) => i.Id === id);
    expect(summary?.ParentId).toBe(images[3]);
    expect(await listed()).not.toEqual(expect.arrayContaining([middle[0]]));
    expect(await listed({ all: true })).toEqual(expect.arrayContaining([...middle, id]));
    expect((await t.engine.images({ all: true })).filter((i) => middle.includes(i.Id)).map((i) => i.RepoTags)).toEqual([[], [], []]);
    await t.engine.removeImage('chain:4', { noPrune: true });
    // Its last step's image is a head now, dangling; the ones below it still are not.
    expect(await listed({ filters: { dangling: ['true'] } })).toEqual([images[3]]);
    await t.engine.pruneImages();
  });

  test("history names each step's image, and <missing> only for the base's own older entries", async () => {
    const { id: baseId } = await build('FROM busybox\nLABEL layer=base\n', { tags: ['hist-base:1'] });
    // Saved and loaded back, the base keeps its two entries but no parent: a pulled image's shape.
    const archive = await toBuffer(await t.engine.save(['hist-base:1']));
    await t.engine.removeImage('hist-base:1');
    await t.engine.load(Readable.from(archive));
    expect(await parentOf('hist-base:1')).toBe('');
    const { id, images } = await build('FROM hist-base:1\nENV Y=2\nRUN true\n', { tags: ['hist:1'] });
    const rows = await t.engine.history(id);
    expect(rows.map((r) => r.Id)).toEqual([id, images[1], baseId, '<missing>']);
    expect(rows[0]!.Tags).toEqual(['hist:1']);
    expect(rows[2]!.Tags).toEqual(['hist-base:1']);
    await t.engine.removeImage('hist:1');
    await t.engine.removeImage('hist-base:1');
  });

  test('rmi of the build deletes its untagged parents after it, newest first, and leaves the base', async () => {
    const { id, images } = await build(APP, { tags: ['chain:5'] });
    const removed = await t.engine.removeImage('chain:5');
    const deleted = removed.flatMap((r) => (r.Deleted && images.includes(r.Deleted) ? [r.Deleted] : []));
    expect(removed[0]).toEqual({ Untagged: 'chain:5' });
    expect(deleted).toEqual([id, images[3], images[2], images[1]]);
    expect(await exists(images[0]!)).toBe(true);
  });

  test("a step's layer is said deleted after that step's image, not its child's, as moby's one-by-one delete frees it", async () => {
    const { id, images } = await build('FROM busybox\nRUN echo own > /own\nENV AFTER=1\n', { tags: ['order:1'] });
    // Without the build cache nothing but the images holds the layer.
    await t.engine.pruneBuildCache({ all: true });
    const removed = await t.engine.removeImage('order:1');
    expect(removed.slice(0, 3)).toEqual([{ Untagged: 'order:1' }, { Deleted: id }, { Deleted: images[1] }]);
    expect(removed).toHaveLength(4);
  });

  test('rmi --no-prune deletes only the image itself', async () => {
    const { id, images } = await build(APP, { tags: ['chain:6'] });
    const removed = await t.engine.removeImage('chain:6', { noPrune: true });
    expect(removed.flatMap((r) => (r.Deleted?.startsWith('sha256:') && images.includes(r.Deleted) ? [r.Deleted] : []))).toEqual([id]);
    for (const parent of images.slice(1, 4)) expect(await exists(parent)).toBe(true);
    await t.engine.pruneImages();
    for (const parent of images.slice(1, 4)) expect(await exists(parent)).toBe(false);
  });

  test('an image with children cannot be deleted, even forced, in dockerd words', async () => {
    const { images } = await build(APP, { tags: ['chain:7'] });
    const short = images[2]!.slice(7, 19);
    const expected = `conflict: unable to delete ${short} (cannot be forced) - image has dependent child images`;
    await expect(t.engine.removeImage(images[2]!)).rejects.toMatchObject({ code: 'Conflict', message: expected });
    await expect(t.engine.removeImage(images[2]!, { force: true })).rejects.toMatchObject({ code: 'Conflict', message: expected });
    await t.engine.removeImage('chain:7');
  });

  test('the prune of parents stops at one another image was built on, whose content stays whole', async () => {
    const a = await build('FROM busybox\nRUN echo shared > /s\nRUN echo a > /a\n', { tags: ['fork:a'] });
    const b = await build('FROM busybox\nRUN echo shared > /s\nRUN echo b > /b\n', { tags: ['fork:b'] });
    expect(b.images[1]).toBe(a.images[1]);
    // Without the build cache nothing but the images holds the layers.
    await t.engine.pruneBuildCache({ all: true });
    const removed = await t.engine.removeImage('fork:a');
    // The build's own image (its last step's) and that step's layer; the shared step's image stays with its other child.
    expect(removed.slice(0, 2)).toEqual([{ Untagged: 'fork:a' }, { Deleted: a.id }]);
    expect(removed).toHaveLength(3);
    expect(await exists(a.images[1]!)).toBe(true);
    const stdout = collector();
    await t.engine.run({ image: 'fork:b', cmd: ['cat', '/s', '/b'], network: 'none', autoRemove: true, stdout });
    expect(stdout.text()).toBe('shared\nb\n');
    await t.engine.removeImage('fork:b');
    expect(await exists(a.images[1]!)).toBe(false);
  });

  test('the prune of parents stops at one a container uses', async () => {
    const { images } = await build(APP, { tags: ['chain:8'] });
    const { id: container } = await t.engine.create({ image: images[2]!, cmd: ['true'], network: 'none' });
    await t.engine.removeImage('chain:8');
    expect(await exists(images[3]!)).toBe(false);
    expect(await exists(images[2]!)).toBe(true);
    await t.engine.remove(container);
    await t.engine.pruneImages();
    expect(await exists(images[2]!)).toBe(false);
    expect(await exists(images[1]!)).toBe(false);
  });

  test("image prune takes a failed build's steps, its last image on top", async () => {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nENV FAILED=1\nRUN echo kept > /k\nRUN exit 3\n');
    const events: BuildEvent[] = [];
    await expect(t.engine.build({ context, network: 'none', forceRemove: true, onEvent: (e) => events.push(e) })).rejects.toThrow(/returned a non-zero code: 3/);
    const made = events.flatMap((e) => (e.type === 'image' ? [e.id] : [])).slice(1);
    expect(made).toHaveLength(2);
    expect(await listed({ filters: { dangling: ['true'] } })).toEqual(expect.arrayContaining([made[1]]));
    const { ImagesDeleted } = await t.engine.pruneImages();
    expect(ImagesDeleted.map((d) => d.Deleted)).toEqual(expect.arrayContaining(made));
  });

  test('ps --filter ancestor= matches containers of images built on it', async () => {
    await build(APP, { tags: ['chain:9'] });
    const { id: container } = await t.engine.create({ image: 'chain:9', cmd: ['true'], network: 'none' });
    try {
      expect((await t.engine.ps({ all: true, filters: { ancestor: ['busybox'] } })).map((c) => c.Id)).toContain(container);
      expect((await t.engine.ps({ all: true, filters: { ancestor: ['chain:9'] } })).map((c) => c.Id)).toContain(container);
    } finally {
      await t.engine.remove(container);
      await t.engine.removeImage('chain:9');
    }
  });

  test("with --rm=false a kept step's container is one of the previous step's image", async () => {
    const { images } = await build('FROM busybox\nENV KEEP=1\nRUN true\n', { remove: false, noCache: true, tags: ['keep:1'] });
    const kept = (await t.engine.ps({ all: true })).find((c) => c.ImageID === images[1]);
    expect(kept).toBeDefined();
    await t.engine.remove(kept!.Id);
    await t.engine.removeImage('keep:1');
  });
});

async function toBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
