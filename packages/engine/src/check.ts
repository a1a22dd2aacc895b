import { throwIfAborted } from '@ctr/errors';
import { abandonedIngests, removeIngest, type FsckIssue, type SnapshotInfo, type SweepResult } from '@ctr/store';
import type { EngineContext } from './context';
import type { ContainerRecord } from './container-records';
import type { Containers } from './containers';
import { humanDuration } from './human';
import { deadImageUses, descendantsOf, engineRoots, removeDeadImageUses, type Images } from './images';

/**
 * `podman system check`: the store's consistency (store `fsck`) and that of what lives above
 * it — container records, name claims, image-use marks, volumes and the layers nothing owns.
 * Podman's rules for what a repair may take: damaged images go with `repair` unless a
 * container uses them, containers (and what their writable layers held) only with `force`;
 * layers nothing uses only once older than `maxAgeMs`; a volume's data never.
 */
export interface SystemCheckOptions {
  /** Skip what is slow: re-hashing every blob (podman's `--quick`). */
  quick?: boolean;
  /** Repair what can be without losing what a user may want (podman's `--repair`). */
  repair?: boolean;
  /** Repair, also removing the containers that depend on damaged images or layers (podman's `--force`). */
  force?: boolean;
  /**
   * How old a layer nothing uses, or a download nothing resumed, must be to count as what a
   * cancelled pull left (podman's `--max`): default a day, as podman's.
   */
  maxAgeMs?: number;
  signal?: AbortSignal;
}

/** What a finding is about, in podman's words where it has them (`Damaged layer …`). */
export type CheckKind = 'layer' | 'image' | 'container' | 'volume' | 'blob' | 'leftover';

export interface CheckFinding {
  kind: CheckKind;
  /** A layer's chainID (or snapshot key), an image's or container's ID, a volume's name, a blob's digest, a leftover's path. */
  id: string;
  /** What is wrong, a line each. */
  errors: string[];
  /** What a repair does with it — or, when it cannot, why not and what would. */
  repair: string;
  /** The repair was made (only with `repair` or `force`). */
  repaired: boolean;
}

export interface SystemCheckReport {
  /** Anything was found (podman's `Errors`): a repair run says what it repaired, and a second check tells whether anything is left. */
  errors: boolean;
  findings: CheckFinding[];
}

const DAY = 24 * 60 * 60 * 1000;

/** The snapshot holding container `id`'s writable layer (as `Containers` names it). */
const CONTAINER_SNAPSHOT = /^container-([0-9a-f]{64})$/;

interface Run {
  ctx: EngineContext;
  containers: Containers;
  images: Images;
  repair: boolean;
  force: boolean;
  maxAgeMs: number;
  now: number;
  signal: AbortSignal | undefined;
  findings: CheckFinding[];
}

/** Check the root and, as asked, repair it; every step reads what the steps before it left. */
export async function systemCheck(ctx: EngineContext, containers: Containers, images: Images, options: SystemCheckOptions = {}): Promise<SystemCheckReport> {
  const run: Run = {
    ctx,
    containers,
    images,
    repair: options.repair === true || options.force === true,
    force: options.force === true,
    maxAgeMs: options.maxAgeMs ?? DAY,
    now: Date.now(),
    signal: options.signal,
    findings: [],
  };
  const fsck = await ctx.store.fsck({ repair: run.repair, verifyContent: options.quick !== true, ...(run.signal ? { signal: run.signal } : {}) });
  storeLeftovers(run, fsck.repaired);
  const damaged = storeDamage(run, fsck.problems);
  throwIfAborted(run.signal, 'system check');
  // First: every other reading of the marks (an image's users, gc's roots) removes the dead ones.
  await checkImageUses(run);
  await checkContainers(run, damaged);
  await checkImages(run, damaged.images);
  await checkLayers(run, damaged.layers);
  await checkUnfinishedContainers(run);
  const disowned = await checkOrphanSnapshots(run);
  await checkUnreferencedLayers(run, disowned);
  await checkVolumes(run);
  await checkDownloads(run);
  await ctx.store.snapshots.settle();
  return { errors: run.findings.length > 0, findings: run.findings };
}

/** Add a finding, repairing it first when the run repairs and `fix` is given (a fix that says false did not happen). */
async function found(run: Run, finding: Omit<CheckFinding, 'repaired'>, fix?: () => Promise<boolean | void>): Promise<void> {
  const repaired = run.repair && fix !== undefined ? (await fix()) !== false : false;
  run.findings.push({ ...finding, repaired });
}

/** What processes that ended left, as fsck found (and, repairing, removed) it. */
function storeLeftovers(run: Run, issues: readonly FsckIssue[]): void {
  for (const issue of issues) {
    const blob = issue.digest !== undefined;
    run.findings.push({
      kind: blob ? 'blob' : 'leftover',
      id: issue.digest ?? issue.path ?? issue.area,
      errors: [issue.found ?? issue.message],
      repair: blob ? 'the blob is removed: its bytes are not those its digest names (a pull fetches it again)' : 'it is removed',
      repaired: run.repair,
    });
  }
}

interface StoreDamage {
  /** Damaged images by ID, with what is wrong. */
  images: Map<string, string[]>;
  /** Damaged snapshots by key, with what is wrong. */
  layers: Map<string, string[]>;
}

/** fsck's problems: sorted by image and layer for the steps that weigh who depends on them; the rest reported as they are. */
function storeDamage(run: Run, problems: readonly FsckIssue[]): StoreDamage {
  const damage: StoreDamage = { images: new Map(), layers: new Map() };
  const add = (map: Map<string, string[]>, key: string, error: string): void => {
    map.set(key, [...(map.get(key) ?? []), error]);
  };
  for (const problem of problems) {
    if (problem.image !== undefined) add(damage.images, problem.image, problem.message);
    else if (problem.snapshot !== undefined) add(damage.layers, problem.snapshot, problem.message);
    // A corrupt blob is among the leftovers already (removed when repairing); volumes are `checkVolumes`'.
    else if (problem.digest !== undefined || problem.area === 'volumes') continue;
    else {
      run.findings.push({
        kind: problem.area === 'content' ? 'blob' : problem.area === 'images' ? 'image' : problem.area === 'snapshots' ? 'layer' : 'leftover',
        id: problem.path ?? problem.area,
        errors: [problem.message],
        repair: 'left as it is: nothing ctr wrote explains it; look at it, restore it from a backup or remove it by hand',
        repaired: false,
      });
    }
  }
  return damage;
}

/** Every snapshot, as the table has them now. */
async function snapshotList(run: Run): Promise<SnapshotInfo[]> {
  const all: SnapshotInfo[] = [];
  for await (const snapshot of run.ctx.store.snapshots.walk(run.signal)) all.push(snapshot);
  return all;
}

/** The snapshot keys of `roots` and of every snapshot in `all` based on them. */
function snapshotsOn(roots: Iterable<string>, all: readonly SnapshotInfo[]): Set<string> {
  return descendantsOf(roots, all, (snapshot) => ({ id: snapshot.name, parent: snapshot.parent }));
}

/**
 * Containers that cannot run as recorded: their writable layer gone, a layer under it or
 * their image damaged, a volume they mount gone, or their record unreadable. Removed only
 * with `force`: what their writable layers hold may still be wanted.
 */
async function checkContainers(run: Run, damaged: StoreDamage): Promise<void> {
  // Records first: a create writes its record last, so what a listed record names was made
  // before the views below are read, and a create finishing meanwhile is not listed at all.
  const records = await run.containers.records.list();
  const view = await containersView(run, damaged);
  const lossy = 'its writable layer and record are lost';
  for (const listed of records) {
    throwIfAborted(run.signal, 'system check');
    if (containerErrors(listed, view, damaged).length === 0) continue;
    // Judged again from what is there now: a remove under way (its layer gone, its record not
    // yet) or a rename since the list must not make a sound container look damaged.
    const record = await run.containers.records.read(listed.id).catch(() => undefined);
    const errors = record ? containerErrors(record, await containersView(run, damaged), damaged) : [];
    if (record === undefined || errors.length === 0) continue;
    await found(
      run,
      { kind: 'container', id: record.id, errors, repair: run.force ? `the container is removed (${lossy})` : `left: --force removes the container (${lossy})` },
      run.force ? () => run.containers.remove(record.id, { force: true }) : undefined,
    );
  }
  for (const id of await run.containers.records.unreadable()) {
    await found(
      run,
      { kind: 'container', id, errors: ['its record cannot be read'], repair: run.force ? 'the record is removed; what the container held goes with its name' : 'left: --force removes the record, then what the container held' },
      run.force ? async () => {
        await run.containers.records.remove(id);
        await run.containers.clearUnrecorded(id);
      } : undefined,
    );
  }
}

/** What containers stand on, as it is when read: the snapshots, those on damaged layers, the volumes. */
interface ContainersView {
  snapshots: Set<string>;
  underDamage: Set<string>;
  volumes: Set<string>;
}

async function containersView(run: Run, damaged: StoreDamage): Promise<ContainersView> {
  const all = await snapshotList(run);
  const snapshots = new Set(all.map((snapshot) => snapshot.name));
  const underDamage = snapshotsOn(damaged.layers.keys(), all);
  const volumes = new Set((await run.ctx.store.volumes.list()).map((v) => v.Name));
  for (const { name } of await run.ctx.store.volumes.damaged()) volumes.add(name);
  return { snapshots, underDamage, volumes };
}

/** Why `record`'s container cannot run as recorded, a line each (none when it can). */
function containerErrors(record: ContainerRecord, view: ContainersView, damaged: StoreDamage): string[] {
  const errors: string[] = [];
  if (!view.snapshots.has(record.snapshot)) errors.push(`its writable layer (snapshot "${record.snapshot}") is missing`);
  else if (damaged.layers.has(record.snapshot)) errors.push(...(damaged.layers.get(record.snapshot) ?? []));
  else if (view.underDamage.has(record.snapshot)) errors.push('it stands on a damaged layer');
  if (damaged.images.has(record.imageId)) errors.push(`its image ${record.imageId} is damaged`);
  for (const mount of record.mounts) if (mount.name !== undefined && !view.volumes.has(mount.name)) errors.push(`volume "${mount.name}" it mounts is missing`);
  return errors;
}

/** Damaged images: removed when repairing, unless a container uses one (`force` removed those containers first). */
async function checkImages(run: Run, damaged: ReadonlyMap<string, string[]>): Promise<void> {
  if (damaged.size === 0) return;
  const records = await run.containers.records.list();
  for (const [id, errors] of damaged) {
    const users = records.filter((record) => record.imageId === id).map((record) => record.id);
    if (users.length > 0) {
      const named = users.map((user) => user.slice(0, 12)).join(', ');
      await found(run, { kind: 'image', id, errors, repair: `left: used by container ${named}; --force removes the image and its containers` });
      continue;
    }
    await found(run, { kind: 'image', id, errors, repair: 'the image is removed (no container uses it); pull or build it again' }, async () => {
      const { removed } = await run.images.removeUnused([id]);
      return removed.length > 0;
    });
  }
}

/**
 * Damaged layers (a snapshot whose directory or parent is missing): removed with every layer
 * based on them, which an image unpacks again from its blobs; a container on one makes it a
 * container's to remove first (`checkContainers`, with `force`). A container's own writable
 * layer is reported with the container.
 */
async function checkLayers(run: Run, damaged: ReadonlyMap<string, string[]>): Promise<void> {
  for (const [key, errors] of damaged) {
    // A container's writable layer is its container's (or, without a record, an orphan's) finding.
    if (CONTAINER_SNAPSHOT.test(key)) continue;
    const all = await snapshotList(run);
    const affected = snapshotsOn([key], all);
    const active = all.filter((snapshot) => affected.has(snapshot.name) && snapshot.kind !== 'committed').map((snapshot) => snapshot.name);
    if (active.length > 0) {
      const named = active.slice(0, 3).map((s) => `"${s}"`).join(', ');
      await found(run, { kind: 'layer', id: key, errors, repair: `left: snapshot ${named} is in use on it; --force removes the containers using it` });
      continue;
    }
    await found(run, { kind: 'layer', id: key, errors, repair: 'the layer and those based on it are removed (images unpack them again from their blobs)' }, async () => {
      const removed = await run.ctx.store.snapshots.removeLayers([...affected], { background: true });
      return removed.includes(key);
    });
  }
}

/**
 * Names claimed for containers that were never finished: their makers ended before the
 * records were written. Nothing a user made is there, so a repair takes them apart (as
 * `container prune` does).
 */
async function checkUnfinishedContainers(run: Run): Promise<void> {
  for (const { name, id } of await run.containers.records.abandonedClaims()) {
    await found(
      run,
      { kind: 'container', id, errors: [`container "${name}" was never finished: the process creating it ended before its record was written, or its record was lost`], repair: 'what it left (its writable layer, mounts, network) is removed and its name released' },
      async () => {
        await run.containers.clearUnrecorded(id);
        await run.containers.records.releaseName(name, id);
      },
    );
  }
}

/**
 * Containers' writable layers whose container has neither a record nor a name: nothing can
 * reach them. Returns the keys of those left, which hold no layer under them.
 */
async function checkOrphanSnapshots(run: Run): Promise<Set<string>> {
  const left = new Set<string>();
  for await (const snapshot of run.ctx.store.snapshots.walk(run.signal)) {
    const id = CONTAINER_SNAPSHOT.exec(snapshot.name)?.[1];
    if (id === undefined || !(await unowned(run, id))) continue;
    left.add(snapshot.name);
    await found(run, { kind: 'layer', id: snapshot.name, errors: ['writable layer of a container that has no record and no name'], repair: 'it is removed with what else its container left' }, async () => {
      await run.containers.clearUnrecorded(id);
      left.delete(snapshot.name);
    });
  }
  return left;
}

/**
 * No container `id` is, or is being, made: it has no record and no name points at it. Asked
 * only once what `id` left (a volume use, a snapshot) has been seen, and just before that is
 * taken apart: a create claims its name before it makes anything and keeps it until its record
 * is written (create holds no lock across its steps; the claim is what says it is at work), so
 * a create that made what was seen is always found here. An ID whose name and record are both
 * gone is never claimed again: what it left stays left.
 */
async function unowned(run: Run, id: string): Promise<boolean> {
  return !(await run.containers.records.exists(id)) && !(await run.containers.records.claimed()).has(id);
}

/** Layers nothing uses, older than `maxAgeMs`: podman's "layer not referenced", what a cancelled pull or a lost container left. */
async function checkUnreferencedLayers(run: Run, disowned: ReadonlySet<string>): Promise<void> {
  const olderThan = run.now - run.maxAgeMs;
  const unreferenced = (await run.ctx.store.unreferencedLayers({ roots: () => engineRoots(run.ctx, { readOnly: !run.repair }), disowned, ...(run.signal ? { signal: run.signal } : {}) })).filter(
    (layer) => layer.updated.getTime() < olderThan,
  );
  if (unreferenced.length === 0) return;
  const removed = run.repair ? new Set(await run.ctx.store.snapshots.removeLayers(unreferenced.map((l) => l.name), { olderThan, background: true })) : new Set<string>();
  for (const layer of unreferenced) {
    await found(
      run,
      { kind: 'layer', id: layer.name, errors: [`layer not referenced by any image or container, last used ${humanDuration(run.now - layer.updated.getTime())} ago`], repair: 'the layer is removed' },
      async () => removed.has(layer.name),
    );
  }
}

/** Volumes missing their record or data directory, or recorded as used by containers that are gone. Never is a volume's data removed. */
async function checkVolumes(run: Run): Promise<void> {
  const volumes = run.ctx.store.volumes;
  for (const { name, record, data } of await volumes.damaged()) {
    const errors = [...(record ? [] : ['its record (meta.json) is missing or cannot be read']), ...(data ? [] : ['its data directory (_data) is missing'])];
    const repair = record ? 'an empty data directory is made for it' : 'a new record is written for its data (a local volume without labels or options); its data is kept';
    await found(run, { kind: 'volume', id: name, errors, repair }, () => volumes.restore(name));
  }
  for (const volume of await volumes.list()) {
    const gone: string[] = [];
    for (const user of await volumes.users(volume.Name)) if (await unowned(run, user)) gone.push(user);
    if (gone.length === 0) continue;
    const errors = gone.map((user) => `it is recorded as used by container ${user}, which does not exist`);
    await found(run, { kind: 'volume', id: volume.Name, errors, repair: 'the uses of containers that do not exist are forgotten; its data is kept' }, async () => {
      for (const user of gone) await volumes.removeUser(volume.Name, user);
    });
  }
}

/** Image-use marks of creates whose processes ended (what a killed `create` left). */
async function checkImageUses(run: Run): Promise<void> {
  // Read once: repairing, the marks found are those removed.
  const dead = run.repair ? removeDeadImageUses(run.ctx) : deadImageUses(run.ctx);
  for (const link of dead) {
    await found(run, { kind: 'leftover', id: link, errors: ['image-use mark of a create whose process ended'], repair: 'it is removed' }, async () => true);
  }
}

/** Downloads no pull resumed within `maxAgeMs` (what fsck leaves, being resumable). */
async function checkDownloads(run: Run): Promise<void> {
  for (const ingest of await abandonedIngests(run.ctx.store.paths.ingest)) {
    if (!ingest.resumable || ingest.updated >= run.now - run.maxAgeMs) continue;
    await found(
      run,
      { kind: 'leftover', id: ingest.dir, errors: [`download interrupted ${humanDuration(run.now - ingest.updated)} ago and not resumed`], repair: 'it is removed (a pull downloads it again)' },
      async () => (await removeIngest(ingest.dir)) !== undefined,
    );
  }
}

/** What `sweepLeftovers` removed. */
export interface SweepReport extends SweepResult {
  /** Image-use marks of creates whose processes ended. */
  removedImageUses: string[];
}

/**
 * What dockerd clears as it starts: leftovers of processes that have ended — their temporary
 * files, layer extractions, downloads that cannot be resumed (or that were not for a day) and
 * image-use marks. Only what a crash explains; `systemCheck` is for the rest.
 */
export async function sweepLeftovers(ctx: EngineContext, signal?: AbortSignal): Promise<SweepReport> {
  const swept = await ctx.store.sweep(signal ? { signal } : {});
  return { ...swept, removedImageUses: removeDeadImageUses(ctx) };
}
