/**
 * The image events dockerd 28 gives with its graphdriver image store (moby's LogImageEvent):
 * each carries the image's labels while the image is there, then `name` — the name given for a
 * `tag`, the image's ID for `untag`, `delete`, `save`, `load` and `import`, the repository for
 * a `pull` or `push` (whose actor is the reference). An `image prune` ends with a `prune` event
 * of the bytes it reclaimed. Pulls and pushes go to ctr's registry server on 127.0.0.1.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { EngineEvent } from '@ctr/engine';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let work: string;
let registry: RegistryServer;
let host: string;

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-engine-image-events-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
  host = registry.host;
}, 60_000);

afterAll(async () => {
  await registry?.close();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

const LABELS = { il: 'iv' };

/** A time (in seconds) after every event emitted so far: events are stamped to the millisecond. */
async function now(): Promise<number> {
  const ms = Date.now();
  while (Date.now() <= ms) await new Promise((resolve) => setTimeout(resolve, 1));
  return Date.now() / 1000;
}

/** The image events from `since` (seconds) to now: action, actor and attributes. */
async function imageEvents(since: number): Promise<Array<Pick<EngineEvent, 'Action'> & EngineEvent['Actor']>> {
  const out: Array<Pick<EngineEvent, 'Action'> & EngineEvent['Actor']> = [];
  for await (const event of t.engine.events({ since, until: await now(), filters: { type: ['image'] } })) {
    out.push({ Action: event.Action, ID: event.Actor.ID, Attributes: event.Actor.Attributes });
  }
  return out;
}

let made = 0;
/** A new one-file image labelled il=iv (and `labels`), named `name`: its ID. */
async function labelled(name: string, labels: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(work, 'rootfs-'));
  await writeFile(join(dir, 'file'), `image ${++made}\n`);
  return (await t.engine.importImage({ dir }, { name, config: { Cmd: ['sh'], Labels: { ...LABELS, ...labels } } })).record.id;
}

async function drain(archive: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

test('tag names the new reference and carries the image labels', async () => {
  const id = await labelled('lab:1');
  const since = await now();
  await t.engine.tag('lab:1', 'lab:2');
  expect(await imageEvents(since)).toEqual([{ Action: 'tag', ID: id, Attributes: { il: 'iv', name: 'lab:2' } }]);
});

test('import tags the image by its name, then announces the import by its ID', async () => {
  const since = await now();
  const id = await labelled('imp:1');
  expect(await imageEvents(since)).toEqual([
    { Action: 'tag', ID: id, Attributes: { il: 'iv', name: 'imp:1' } },
    { Action: 'import', ID: id, Attributes: { il: 'iv', name: id } },
  ]);
});

test('rmi of one name of several untags, naming the image by its ID, with its labels', async () => {
  const id = await labelled('untag:1');
  await t.engine.tag('untag:1', 'untag:2');
  const since = await now();
  await t.engine.removeImage('untag:2');
  expect(await imageEvents(since)).toEqual([{ Action: 'untag', ID: id, Attributes: { il: 'iv', name: id } }]);
});

test('rmi of the last name untags, then deletes the image: the delete named by the ID, without the labels of an image gone', async () => {
  const id = await labelled('last:1');
  const since = await now();
  await t.engine.removeImage('last:1');
  expect(await imageEvents(since)).toEqual([
    { Action: 'untag', ID: id, Attributes: { il: 'iv', name: id } },
    { Action: 'delete', ID: id, Attributes: { name: id } },
  ]);
});

test('rmi by ID untags every name of the image, then deletes it', async () => {
  const id = await labelled('byid:1');
  await t.engine.tag('byid:1', 'byid:2');
  const since = await now();
  await t.engine.removeImage(id, { force: true });
  expect((await imageEvents(since)).map((e) => [e.Action, e.Attributes.name])).toEqual([
    ['untag', id],
    ['untag', id],
    ['delete', id],
  ]);
});

test('image prune untags and deletes each image it removes, then gives the bytes it reclaimed', async () => {
  const id = await labelled('prune:1', { 'prune-me': '1' });
  const since = await now();
  const pruned = await t.engine.pruneImages({ all: true, filters: { label: ['prune-me'] } });
  expect(pruned.SpaceReclaimed).toBeGreaterThan(0);
  expect(await imageEvents(since)).toEqual([
    { Action: 'untag', ID: id, Attributes: { il: 'iv', 'prune-me': '1', name: id } },
    { Action: 'delete', ID: id, Attributes: { name: id } },
    { Action: 'prune', ID: '', Attributes: { reclaimed: String(pruned.SpaceReclaimed) } },
  ]);
});

test('image prune that removes nothing still says so, with nothing reclaimed', async () => {
  const since = await now();
  await t.engine.pruneImages({ all: true, filters: { label: ['no-image-has-this'] } });
  expect(await imageEvents(since)).toEqual([{ Action: 'prune', ID: '', Attributes: { reclaimed: '0' } }]);
});

test('save announces each image saved, by its ID, with its labels', async () => {
  const first = await labelled('save:1');
  const second = await labelled('save:2');
  const since = await now();
  await drain(await t.engine.save(['save:1', 'save:2']));
  expect(await imageEvents(since)).toEqual([
    { Action: 'save', ID: first, Attributes: { il: 'iv', name: first } },
    { Action: 'save', ID: second, Attributes: { il: 'iv', name: second } },
  ]);
});

test('load announces the image loaded by its ID, with no tag event even for a name it takes from another image', async () => {
  const id = await labelled('load:1');
  const archive = await drain(await t.engine.save(['load:1']));
  await t.engine.removeImage('load:1');
  await labelled('load:1');
  const since = await now();
  await t.engine.load(Readable.from([archive]));
  expect(await imageEvents(since)).toEqual([{ Action: 'load', ID: id, Attributes: { il: 'iv', name: id } }]);
});

test('commit tags the new image before the container commit event', async () => {
  const { id: container } = await t.engine.create({ image: 'busybox', network: 'none', labels: { cl: 'cv' } });
  const since = await now();
  const { id } = await t.engine.commit(container, { reference: 'cimg:1', pause: false });
  const events: Array<[string, string, string, Record<string, string>]> = [];
  for await (const e of t.engine.events({ since, until: await now(), filters: { type: ['image', 'container'] } })) events.push([e.Type, e.Action, e.Actor.ID, e.Actor.Attributes]);
  expect(events).toEqual([
    // The container's labels are the committed image's.
    ['image', 'tag', id, { cl: 'cv', name: 'cimg:1' }],
    ['container', 'commit', container, expect.objectContaining({ imageID: id, imageRef: 'cimg:1' })],
  ]);
  await t.engine.remove(container);
});

describe('pull and push', () => {
  let pushedId: string;
  beforeAll(async () => {
    pushedId = await labelled(`${host}/app:1`);
    await t.engine.tag(`${host}/app:1`, `${host}/app:2`);
  });

  test('push is announced by the reference pushed, named by its repository, with the image labels', async () => {
    const since = await now();
    await t.engine.push(`${host}/app:1`);
    expect(await imageEvents(since)).toEqual([{ Action: 'push', ID: `${host}/app:1`, Attributes: { il: 'iv', name: `${host}/app` } }]);
  });

  test('pull is announced by the reference pulled, named by its repository, with the image labels', async () => {
    await t.engine.push(`${host}/app:1`);
    await t.engine.removeImage(pushedId, { force: true });
    const since = await now();
    await t.engine.pull(`${host}/app:1`);
    expect(await imageEvents(since)).toEqual([{ Action: 'pull', ID: `${host}/app:1`, Attributes: { il: 'iv', name: `${host}/app` } }]);
  });

  test('a pull by digest is announced by that digest reference', async () => {
    const { digest } = await t.engine.push(`${host}/app:1`);
    const since = await now();
    await t.engine.pull(`${host}/app@${digest}`);
    expect(await imageEvents(since)).toEqual([{ Action: 'pull', ID: `${host}/app@${digest}`, Attributes: { il: 'iv', name: `${host}/app` } }]);
  });

  test('push --all-tags is one event naming the repository, as is pull --all-tags', async () => {
    await t.engine.tag(`${host}/app:1`, `${host}/app:2`);
    const since = await now();
    await t.engine.pushAllTags(`${host}/app`);
    await t.engine.pullAllTags(`${host}/app`);
    // The repository has no `latest`: no image of that name, so no labels.
    expect(await imageEvents(since)).toEqual([
      { Action: 'push', ID: `${host}/app`, Attributes: { name: `${host}/app` } },
      { Action: 'pull', ID: `${host}/app`, Attributes: { name: `${host}/app` } },
    ]);
  });
});
