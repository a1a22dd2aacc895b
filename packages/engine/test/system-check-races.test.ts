/**
 * `Engine.systemCheck` repairing while a create runs beside it: a create holds no lock across
 * its steps (its name claim says it is at work), so a repair must judge a volume use or a
 * writable layer ownerless only from claims and records read after seeing it, a container
 * damaged only from parts read after its record, and a name's claim abandoned only when its
 * claimer has ended, read before its record. Each interleaving is made deterministic by
 * running the create's step inside the check's own read of the store (jest spies on the real
 * objects); the last test races real `ctr create` processes.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OverlaySnapshotter, VolumeStore, openStore, type SnapshotInfo, type Store } from '@ctr/store';
import type { CreateContainerOptions, CreatedContainer } from '@ctr/engine';
import { ContainerRecords } from '../src/container-records';
import { testEngine, type TestEngine } from './fixture';

const CLEAN = { errors: false, findings: [] };
const CTR = path.resolve(__dirname, '../../cli/bin/ctr');

let t: TestEngine;
let store: Store;
/** Creates a test started inside the check: finished before the root goes, whatever the test found. */
const started: Array<Promise<unknown>> = [];
beforeEach(async () => {
  t = await testEngine();
  store = await openStore({ root: t.root });
});
afterEach(async () => {
  jest.restoreAllMocks();
  await Promise.allSettled(started.splice(0));
  await t.cleanup();
});

/** A container `name` mounting volume `data`, its image imported (never pulled). */
const withData = (name: string): CreateContainerOptions => ({ name, image: 'busybox', cmd: ['true'], network: 'none', pull: 'never', volumes: ['data:/d'] });

/** The image's top layer: what a container's writable layer is prepared on. */
async function topLayer(): Promise<string> {
  const committed: SnapshotInfo[] = [];
  for await (const s of store.snapshots.walk()) if (s.kind === 'committed') committed.push(s);
  const parents = new Set(committed.map((s) => s.parent));
  const [top] = committed.filter((s) => !parents.has(s.name));
  return (top as SnapshotInfo).name;
}

test('a volume use a create adds while the check reads the volumes is kept by a repair', async () => {
  await t.engine.createVolume({ name: 'data' });
  const users = VolumeStore.prototype.users;
  const addUser = VolumeStore.prototype.addUser;
  let added!: () => void;
  const useAdded = new Promise<void>((resolve) => (added = resolve));
  jest.spyOn(VolumeStore.prototype, 'addUser').mockImplementation(async function (this: VolumeStore, name: string, user: string) {
    await addUser.call(this, name, user);
    added();
  });
  let creating: Promise<CreatedContainer> | undefined;
  jest.spyOn(VolumeStore.prototype, 'users').mockImplementation(async function (this: VolumeStore, name: string) {
    // The check is about to read data's users: a create claims its name and adds its use first.
    if (name === 'data' && creating === undefined) {
      creating = t.engine.create(withData('racer'));
      started.push(creating);
      await useAdded;
    }
    return users.call(this, name);
  });

  expect(await t.engine.systemCheck({ repair: true })).toEqual(CLEAN);
  const { id } = await (creating as NonNullable<typeof creating>);
  jest.restoreAllMocks();
  expect(await store.volumes.users('data')).toEqual([id]);
  expect(await t.engine.systemCheck()).toEqual(CLEAN);
});

test('a writable layer a create prepares while the check walks the snapshots is kept by a repair', async () => {
  const records = new ContainerRecords(t.root);
  const id = randomBytes(32).toString('hex');
  const parent = await topLayer();
  const walk = OverlaySnapshotter.prototype.walk;
  let armed = false;
  const abandonedClaims = ContainerRecords.prototype.abandonedClaims;
  // The walk after the check reads abandoned claims is its search for orphaned writable layers.
  jest.spyOn(ContainerRecords.prototype, 'abandonedClaims').mockImplementation(async function (this: ContainerRecords) {
    const claims = await abandonedClaims.call(this);
    armed = true;
    return claims;
  });
  let raced = false;
  jest.spyOn(OverlaySnapshotter.prototype, 'walk').mockImplementation(async function* (this: OverlaySnapshotter, signal?: AbortSignal) {
    if (armed && !raced) {
      raced = true;
      await records.claimName('racer', id);
      await store.snapshots.prepare(`container-${id}`, parent);
    }
    yield* walk.call(this, signal);
  });

  try {
    expect(await t.engine.systemCheck({ repair: true })).toEqual(CLEAN);
    expect(raced).toBe(true);
    expect(await store.snapshots.stat(`container-${id}`)).toMatchObject({ kind: 'active', parent });
  } finally {
    jest.restoreAllMocks();
    await store.snapshots.remove(`container-${id}`).catch(() => undefined);
    await records.releaseName('racer', id);
  }
  expect(await t.engine.systemCheck()).toEqual(CLEAN);
});

test('--force keeps a container whose create finished after the check listed the containers', async () => {
  const list = ContainerRecords.prototype.list;
  let id: string | undefined;
  jest.spyOn(ContainerRecords.prototype, 'list').mockImplementationOnce(async function (this: ContainerRecords) {
    id = (await t.engine.create(withData('racer'))).id;
    return list.call(this);
  });

  expect(await t.engine.systemCheck({ repair: true, force: true })).toEqual(CLEAN);
  expect(id).toBeDefined();
  await t.engine.start('racer');
  expect(await t.engine.wait('racer')).toMatchObject({ StatusCode: 0 });
  expect(await t.engine.systemCheck()).toEqual(CLEAN);
});

test("a create that writes its record and ends while the check reads its name's claim is not judged never finished", async () => {
  const { id } = await t.engine.create(withData('racer'));
  const records = new ContainerRecords(t.root);
  // Back to the create's last step: its name claimed by this process, its record not yet written.
  const record = readFileSync(records.file(id));
  rmSync(records.file(id));
  rmSync(path.join(t.root, 'engine', 'names', 'racer'));
  await records.claimName('racer', id);
  let finished = false;
  const finish = (): void => {
    finished = true;
    writeFileSync(records.file(id), record);
    // Synchronous in effect (it awaits nothing): the claim is confirmed before the check reads on.
    void records.confirmName('racer', id);
  };
  const recorded = ContainerRecords.prototype as unknown as { has(id: string): boolean };
  const has = recorded.has;
  // Right after the check finds no record, the create writes it and its claim ends.
  jest.spyOn(recorded, 'has').mockImplementation(function (this: ContainerRecords, asked: string) {
    const there = has.call(this, asked);
    if (asked === id && !finished) finish();
    return there;
  });

  try {
    expect(await t.engine.systemCheck({ repair: true })).toEqual(CLEAN);
  } finally {
    jest.restoreAllMocks();
    if (!finished) finish();
  }
  await t.engine.start('racer');
  expect(await t.engine.wait('racer')).toMatchObject({ StatusCode: 0 });
  expect(await t.engine.systemCheck()).toEqual(CLEAN);
});

/** `ctr create` in another process on the test's root; resolves with its exit code and output. */
function ctrCreate(): Promise<{ code: number | null; out: string; err: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, CTR_ROOT: t.root, CTR_RUNROOT: t.runRoot };
  delete env.NODE_EXTRA_CA_CERTS;
  const child = spawn(CTR, ['create', '--pull', 'never', '--network', 'none', '-v', 'data:/d', 'busybox', 'true'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out: out.trim(), err })));
}

test('repairs run over and over while other processes create containers take nothing of theirs', async () => {
  await t.engine.createVolume({ name: 'data' });
  let running = true;
  const creates = Promise.all([ctrCreate(), ctrCreate(), ctrCreate(), ctrCreate()]).finally(() => (running = false));
  const findings: unknown[] = [];
  let checks = 0;
  while (running) {
    findings.push(...(await t.engine.systemCheck({ repair: true, quick: true })).findings);
    checks++;
  }
  const results = await creates;
  expect(results.map((r) => [r.code, r.err])).toEqual(results.map(() => [0, '']));
  expect(checks).toBeGreaterThan(0);
  expect(findings).toEqual([]);

  const ids = results.map((r) => r.out).sort();
  expect((await t.engine.ps({ all: true })).map((c) => c.Id).sort()).toEqual(ids);
  expect((await store.volumes.users('data')).sort()).toEqual(ids);
  for (const id of ids) await expect(store.snapshots.stat(`container-${id}`)).resolves.toMatchObject({ kind: 'active' });
  expect(await t.engine.systemCheck()).toEqual(CLEAN);
});
