/**
 * `Engine.systemCheck` (podman's `system check`) on real roots damaged by the test: a blob's
 * bytes changed, a layer's directory removed, a container's record deleted, a volume's record
 * lost, what killed processes left. Every finding says what it is and what a repair does; a
 * repair leaves the root consistent (a second check finds nothing) by podman's rules — a
 * damaged image goes unless a container uses it, containers only with `force`, layers nothing
 * uses only past `maxAgeMs`, a volume's data never.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs, readFileSync, symlinkSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { openStore, type Store } from '@ctr/store';
import type { CheckFinding } from '@ctr/engine';
import { killedWorker } from '../../store/test/killed-worker';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let store: Store;
beforeEach(async () => {
  t = await testEngine();
  store = await openStore({ root: t.root });
});
afterEach(async () => {
  await t.cleanup();
});

const create = async (name?: string): Promise<string> =>
  (await t.engine.create({ image: 'busybox', cmd: ['true'], network: 'none', pull: 'never', ...(name ? { name } : {}) })).id;

/** The findings' kinds and IDs, and whether each was repaired. */
const summary = (findings: CheckFinding[]): Array<[string, string, boolean]> => findings.map((f) => [f.kind, f.id, f.repaired]);

async function imageId(): Promise<string> {
  return (await t.engine.inspectImage('busybox')).Id;
}

/** Change a blob's bytes in place: its digest no longer names them. */
async function corrupt(digest: string): Promise<void> {
  const file = store.content.blobPath(digest as never);
  const bytes = readFileSync(file);
  bytes[0] = bytes[0] === 0x20 ? 0x09 : 0x20;
  await fs.writeFile(file, bytes);
}

/** The PID of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

test('a sound root with an image, a container and a volume has nothing to report', async () => {
  await create('sound');
  await t.engine.createVolume({ name: 'data' });
  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
});

test('an aborted signal stops the check', async () => {
  const controller = new AbortController();
  controller.abort();
  await expect(t.engine.systemCheck({ signal: controller.signal })).rejects.toMatchObject({ code: 'Aborted' });
});

test('a blob whose bytes changed damages its image; a repair removes the blob and the image no container uses', async () => {
  const id = await imageId();
  await corrupt(id);
  const report = await t.engine.systemCheck();
  expect(report.errors).toBe(true);
  expect(summary(report.findings)).toEqual([
    ['blob', id, false],
    ['image', id, false],
  ]);
  expect(report.findings[1]).toMatchObject({ errors: [expect.stringContaining(`has corrupt blob ${id}`)], repair: expect.stringContaining('the image is removed') });

  const repaired = await t.engine.systemCheck({ repair: true });
  expect(summary(repaired.findings)).toEqual([
    ['blob', id, true],
    ['image', id, true],
  ]);
  await expect(t.engine.inspectImage('busybox')).rejects.toMatchObject({ code: 'NotFound' });
  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
});

test('--quick does not re-hash blobs, so a changed blob goes unnoticed', async () => {
  await corrupt(await imageId());
  expect((await t.engine.systemCheck({ quick: true })).findings).toEqual([]);
  expect((await t.engine.systemCheck()).errors).toBe(true);
});

test('a damaged image a container uses is left by a repair, and removed with its container by force', async () => {
  const container = await create('user');
  const id = await imageId();
  await corrupt(id);

  const repaired = await t.engine.systemCheck({ repair: true });
  expect(summary(repaired.findings)).toEqual([
    ['blob', id, true],
    ['container', container, false],
    ['image', id, false],
  ]);
  expect(repaired.findings[1]?.repair).toMatch(/^left: --force removes the container/);
  expect(repaired.findings[2]?.repair).toMatch(/^left: used by container [0-9a-f]{12}; --force removes the image and its containers/);
  expect((await t.engine.systemCheck()).errors).toBe(true);

  const forced = await t.engine.systemCheck({ force: true });
  expect(summary(forced.findings)).toEqual([
    ['container', container, true],
    ['image', id, true],
  ]);
  expect(await t.engine.ps({ all: true })).toEqual([]);
  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
});

/** The committed layer snapshots on the root. */
async function layers(): Promise<string[]> {
  const names: string[] = [];
  for await (const s of store.snapshots.walk()) if (s.kind === 'committed') names.push(s.name);
  return names;
}

test('a layer whose directory was removed is removed by a repair, and unpacked again by the next run', async () => {
  await t.engine.remove(await create());
  const [layer] = await layers();
  await fs.rm(path.dirname(await store.snapshots.layerDir(layer as string)), { recursive: true });

  const report = await t.engine.systemCheck();
  expect(summary(report.findings)).toEqual([['layer', layer, false]]);
  expect(report.findings[0]).toMatchObject({ errors: [expect.stringContaining('has no directory')], repair: expect.stringContaining('are removed') });
  expect(summary((await t.engine.systemCheck({ repair: true })).findings)).toEqual([['layer', layer, true]]);
  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
  const again = await t.engine.run({ image: 'busybox', cmd: ['true'], network: 'none', pull: 'never' });
  expect(again.exitCode).toBe(0);
});

test('a container standing on a damaged layer is left by a repair and removed with the layer by force', async () => {
  const container = await create('on-damage');
  const [layer] = await layers();
  await fs.rm(path.dirname(await store.snapshots.layerDir(layer as string)), { recursive: true });

  const repaired = await t.engine.systemCheck({ repair: true });
  expect(summary(repaired.findings)).toEqual([
    ['container', container, false],
    ['layer', layer, false],
  ]);
  expect(repaired.findings[0]?.errors).toEqual(['it stands on a damaged layer']);
  expect(repaired.findings[1]?.repair).toContain(`"container-${container}" is in use on it`);

  expect(summary((await t.engine.systemCheck({ force: true })).findings)).toEqual([
    ['container', container, true],
    ['layer', layer, true],
  ]);
  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
});

test("a container whose writable layer is gone is damaged: only force removes it", async () => {
  const container = await create('no-layer');
  await store.snapshots.remove(`container-${container}`);
  const report = await t.engine.systemCheck({ repair: true });
  expect(summary(report.findings)).toEqual([['container', container, false]]);
  expect(report.findings[0]?.errors).toEqual([`its writable layer (snapshot "container-${container}") is missing`]);
  expect(summary((await t.engine.systemCheck({ force: true })).findings)).toEqual([['container', container, true]]);
  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
});

test('a container whose record was deleted leaves a name a repair releases, with what the container held', async () => {
  const container = await create('lost');
  await fs.rm(path.join(t.root, 'engine', 'containers', `${container}.json`));

  const report = await t.engine.systemCheck();
  expect(summary(report.findings)).toEqual([['container', container, false]]);
  expect(report.findings[0]?.errors).toEqual([expect.stringContaining('container "lost" was never finished')]);
  expect(summary((await t.engine.systemCheck({ repair: true })).findings)).toEqual([['container', container, true]]);
  await expect(store.snapshots.stat(`container-${container}`)).rejects.toMatchObject({ code: 'NotFound' });
  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
  await create('lost');
});

test('a writable layer whose container has neither record nor name is an orphan a repair removes', async () => {
  const container = await create('orphan');
  await fs.rm(path.join(t.root, 'engine', 'containers', `${container}.json`));
  await fs.rm(path.join(t.root, 'engine', 'names', 'orphan'));

  const report = await t.engine.systemCheck();
  expect(summary(report.findings)).toEqual([['layer', `container-${container}`, false]]);
  expect(summary((await t.engine.systemCheck({ repair: true })).findings)).toEqual([['layer', `container-${container}`, true]]);
  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
});

test('layers nothing uses are reported and removed only once older than the maximum age', async () => {
  await t.engine.remove(await create());
  const image = await store.images.get('docker.io/library/busybox:latest');
  // The record alone goes, as a crash between a removal's steps would leave it: its layers stay.
  await store.images.delete(image.id);
  const unused = await layers();
  expect(unused.length).toBeGreaterThan(0);

  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
  const report = await t.engine.systemCheck({ maxAgeMs: 0 });
  expect(summary(report.findings)).toEqual(unused.map((name) => ['layer', name, false]));
  expect(report.findings[0]?.errors).toEqual([expect.stringMatching(/^layer not referenced by any image or container, last used .* ago$/)]);
  expect(summary((await t.engine.systemCheck({ maxAgeMs: 0, repair: true })).findings)).toEqual(unused.map((name) => ['layer', name, true]));
  expect(await layers()).toEqual([]);
  expect(await t.engine.systemCheck({ maxAgeMs: 0 })).toEqual({ errors: false, findings: [] });
});

test("a volume that lost its record keeps its data: a repair writes a new record", async () => {
  const volume = await t.engine.createVolume({ name: 'kept' });
  await fs.writeFile(path.join(volume.Mountpoint, 'precious'), 'user data');
  await fs.rm(path.join(path.dirname(volume.Mountpoint), 'meta.json'));

  const report = await t.engine.systemCheck();
  expect(summary(report.findings)).toEqual([['volume', 'kept', false]]);
  expect(report.findings[0]).toMatchObject({ errors: ['its record (meta.json) is missing or cannot be read'], repair: expect.stringContaining('its data is kept') });
  expect(summary((await t.engine.systemCheck({ repair: true })).findings)).toEqual([['volume', 'kept', true]]);
  expect((await t.engine.inspectVolume('kept')).Mountpoint).toBe(volume.Mountpoint);
  expect(readFileSync(path.join(volume.Mountpoint, 'precious'), 'utf8')).toBe('user data');
  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
});

test('a volume recorded as used by a container that does not exist forgets the use, so it can be removed', async () => {
  await t.engine.createVolume({ name: 'held' });
  const ghost = 'f'.repeat(64);
  await store.volumes.addUser('held', ghost);
  await expect(t.engine.removeVolume('held')).rejects.toMatchObject({ code: 'Conflict' });

  const report = await t.engine.systemCheck({ repair: true });
  expect(summary(report.findings)).toEqual([['volume', 'held', true]]);
  expect(report.findings[0]?.errors).toEqual([`it is recorded as used by container ${ghost}, which does not exist`]);
  await t.engine.removeVolume('held');
});

test("an image-use mark of a create whose process ended is a leftover a repair removes", async () => {
  const dir = path.join(t.root, 'engine', 'image-uses');
  mkdirSync(dir, { recursive: true });
  const mark = path.join(dir, 'e'.repeat(64));
  const id = await imageId();
  symlinkSync(`${id} ${id} ${await deadPid()} 1`, mark);

  const report = await t.engine.systemCheck();
  expect(summary(report.findings)).toEqual([['leftover', mark, false]]);
  expect(report.findings[0]?.errors).toEqual(['image-use mark of a create whose process ended']);
  expect(summary((await t.engine.systemCheck({ repair: true })).findings)).toEqual([['leftover', mark, true]]);
  expect(existsSync(mark)).toBe(false);
});

test("a killed unpack's extraction is a leftover a repair removes", async () => {
  await killedWorker('extract', t.root);
  const report = await t.engine.systemCheck();
  expect(report.findings).toEqual([expect.objectContaining({ kind: 'leftover', errors: [expect.stringMatching(/^layer extraction "extract-.*" abandoned by a process that died$/)] })]);
  expect((await t.engine.systemCheck({ repair: true })).findings.map((f) => f.repaired)).toEqual([true]);
  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
});

test("a killed pull's download is kept for a resume, and counts as abandoned past the maximum age", async () => {
  await killedWorker('ingest', t.root);
  expect(await t.engine.systemCheck()).toEqual({ errors: false, findings: [] });
  const report = await t.engine.systemCheck({ maxAgeMs: 0 });
  expect(report.findings).toEqual([expect.objectContaining({ kind: 'leftover', errors: [expect.stringMatching(/^download interrupted .* ago and not resumed$/)] })]);
  expect((await t.engine.systemCheck({ maxAgeMs: 0, repair: true })).findings.map((f) => f.repaired)).toEqual([true]);
  expect(await fs.readdir(store.paths.ingest)).toEqual([]);
});
