/**
 * `system df`'s images as dockerd reports them: each image's SharedSize (the bytes of its
 * layers another image holds too, layers counted by chainID), its containers (any state), and
 * LayersSize (every layer once) — from which docker's CLI computes UNIQUE SIZE (Size −
 * SharedSize) and RECLAIMABLE (LayersSize − what the images in use hold alone).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageSummary } from '@ctr/engine';
import { testEngine, type TestEngine } from './fixture';

const ADDED = 1_000_000;
let t: TestEngine;
let work: string;
let base: ImageSummary;
let derived: ImageSummary;
let alone: ImageSummary;
let layersSize: number;

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-engine-df-shared-'));
  // `derived` is busybox plus a layer of its own; `alone` shares nothing.
  const context = join(work, 'context');
  await mkdir(context);
  await writeFile(join(context, 'f'), Buffer.alloc(ADDED, 1));
  await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nCOPY f /f\n');
  await t.engine.build({ context, tags: ['derived:1'] });
  const other = join(work, 'alone');
  await mkdir(other);
  await writeFile(join(other, 'g'), Buffer.alloc(5_000, 2));
  await t.engine.importImage({ dir: other }, { name: 'alone:1' });
  await t.engine.create({ image: 'derived:1', cmd: ['true'], network: 'none' });
  const usage = await t.engine.df();
  const byTag = (tag: string): ImageSummary => usage.Images.find((i) => i.RepoTags.includes(tag)) as ImageSummary;
  [base, derived, alone, layersSize] = [byTag('busybox:latest'), byTag('derived:1'), byTag('alone:1'), usage.LayersSize];
}, 60_000);

afterAll(async () => {
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

test('an image whose layers another image is built on shares all of them', () => {
  expect(base.SharedSize).toBe(base.Size);
});

test('an image built on another shares the base’s layers and holds its own alone', () => {
  expect(derived.SharedSize).toBe(base.Size);
  expect(derived.Size - derived.SharedSize).toBe(ADDED);
});

test('an image that shares no layer has SharedSize 0, not -1', () => {
  expect(alone.SharedSize).toBe(0);
});

test('Containers counts the containers made from each image, created ones included', () => {
  expect([base.Containers, derived.Containers, alone.Containers]).toEqual([0, 1, 0]);
});

test('LayersSize counts each layer once, however many images hold it', () => {
  expect(layersSize).toBe(base.Size + ADDED + alone.Size);
});

test('what docker’s CLI reclaims is all but the bytes only an image in use holds', () => {
  const used = [base, derived, alone].filter((i) => i.Containers > 0).reduce((sum, i) => sum + i.Size - i.SharedSize, 0);
  expect(layersSize - used).toBe(base.Size + alone.Size);
});

test('images lists SharedSize only when asked (`shared-size`), as dockerd: -1 otherwise', async () => {
  const plain = await t.engine.images({ filters: { reference: ['derived:1'] } });
  const shared = await t.engine.images({ filters: { reference: ['derived:1'] }, sharedSize: true });
  expect([plain[0]?.SharedSize, shared[0]?.SharedSize]).toEqual([-1, base.Size]);
});
