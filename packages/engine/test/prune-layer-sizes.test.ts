/**
 * The space an image prune reclaims, as dockerd counts it (daemon/images/image_prune.go): the
 * size of each layer the deleted images released, as `docker images` counts it; a layer an
 * image that stays still holds adds nothing. The blobs and what else a collection frees do not count.
 */
import type { EngineEvent } from '@ctr/engine';
import { testEngine, type TestEngine } from './fixture';

const WRITTEN = 300 * 1024;

let t: TestEngine;

beforeEach(async () => {
  t = await testEngine();
});

afterEach(async () => {
  await t?.cleanup();
});

/** A commit of a busybox container that wrote `bytes` bytes; the container stays, holding busybox. */
async function committed(name: string, bytes: number): Promise<string> {
  const { id } = await t.engine.run({ image: 'busybox', network: 'none', pull: 'never', cmd: ['sh', '-c', `head -c ${bytes} /dev/zero > /data`] });
  return (await t.engine.commit(id, { reference: name })).id;
}

test("image prune reclaims the committed layer's files' bytes; the base layer a container's image keeps adds nothing", async () => {
  const id = await committed('pruned-commit', WRITTEN);
  const result = await t.engine.pruneImages({ all: true });
  expect(result.ImagesDeleted).toContainEqual({ Deleted: id });
  expect(result.SpaceReclaimed).toBe(WRITTEN);
});

test('the prune event gives the same bytes', async () => {
  await committed('pruned-event', WRITTEN);
  const since = Date.now() / 1000 - 1;
  const { SpaceReclaimed } = await t.engine.pruneImages({ all: true });
  const events: EngineEvent[] = [];
  for await (const event of t.engine.events({ since, until: Date.now() / 1000 + 1, filters: { type: ['image'], event: ['prune'] } })) events.push(event);
  expect(events.map((e) => e.Actor.Attributes)).toEqual([{ reclaimed: String(WRITTEN) }]);
  expect(SpaceReclaimed).toBe(WRITTEN);
});

test('a layer two deleted images share counts once', async () => {
  await committed('pruned-shared', WRITTEN);
  const busybox = (await t.engine.inspectImage('busybox')).Size;
  for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id);
  const result = await t.engine.pruneImages({ all: true });
  expect(result.SpaceReclaimed).toBe(busybox + WRITTEN);
});
