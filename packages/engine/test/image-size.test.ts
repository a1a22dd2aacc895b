/**
 * An image's size as docker 28's classic store reports it, the same in `images` and
 * `inspect` (and under `system df` and `SizeRootFs`): its layers unpacked, each counted as
 * moby's directory.Size counts its files — apparent sizes, a symlink its target's length,
 * directories nothing — not its compressed blobs, nor its config.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let work: string;

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-engine-image-size-'));
  // 100 000 zero bytes (a blob of a few hundred), a symlink of 4 and a directory.
  await mkdir(join(work, 'dir'));
  await writeFile(join(work, 'dir', 'zeros'), Buffer.alloc(100_000));
  await symlink('dir/', join(work, 'link'));
  await t.engine.importImage({ dir: work }, { name: 'sized:1' });
});

afterAll(async () => {
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

test("an image's size is its unpacked files' bytes, not its blobs'", async () => {
  expect((await t.engine.inspectImage('sized:1')).Size).toBe(100_004);
});

test("images' Size is inspect's Size", async () => {
  const [listed] = await t.engine.images({ filters: { reference: ['sized:1'] } });
  expect(listed?.Size).toBe((await t.engine.inspectImage('sized:1')).Size);
});

test("system df's LayersSize counts the same layers' bytes", async () => {
  const images = await t.engine.images();
  const usage = await t.engine.df();
  expect(usage.LayersSize).toBe(images.reduce((sum, image) => sum + image.Size, 0));
});
