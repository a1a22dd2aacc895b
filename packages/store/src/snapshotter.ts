import { promises as fs, mkdirSync } from 'node:fs';
import path from 'node:path';
import { alreadyExists, conflict, invalidArgument, notFound, throwIfAborted } from '@ctr/errors';
import { run } from './exec';
import { diskFull, diskUsage, errno, storageError, uniqueHex } from './fs-util';
import type { Mount } from './mount';
import { freeingSpace, type SpaceReserve } from './space-reserve';
import { SnapshotMetadata, type SnapshotDb, type SnapshotKind, type SnapshotRecord } from './snapshot-metadata';
import { discardTree, discardTreeBehind } from './trash';

export type { SnapshotKind } from './snapshot-metadata';

/** What `stat` and `walk` tell about a snapshot (containerd's `snapshots.Info`). */
export interface SnapshotInfo {
  /** The key of an active or view snapshot, the name of a committed one. */
  name: string;
  kind: SnapshotKind;
  parent?: string;
  labels: Record<string, string>;
  created: Date;
  updated: Date;
}

export interface SnapshotUsage {
  /** Bytes on disk in this snapshot's own layer (not its parents'). */
  size: number;
  inodes: number;
}

export interface SnapshotOptions {
  labels?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * `false` for an active snapshot nobody needs after a power cut (the root filesystem of a
   * container removed when it exits): it is volatile, recorded apart from the table in a
   * file of its own, without fsync (see SnapshotMetadata), and otherwise an ordinary
   * snapshot. After a crash its record or its directory may be left alone: `fsck` removes
   * them. Committing it makes a durable snapshot. Default true.
   */
  durable?: boolean;
}

/**
 * Layer snapshots on overlayfs, in containerd's words.
 *
 * Importing an image: for each layer, `prepare(key, parentName)` gives an *active*
 * snapshot whose `fs/` is a writable upper directory; the layer is applied into it; then
 * `commit(name, key)` turns it into a read-only *committed* snapshot named by the layer
 * stack's chainID. The next layer is prepared on that name as its `parent`.
 * Running a container: `prepare(containerKey, imageTopChainID)` and mount `mounts(key)`
 * as its root filesystem; `view` is the read-only variant.
 *
 * On disk: `<root>/snapshots/<id>/{fs,work}` with small numeric ids, plus `metadata.json`;
 * volatile snapshots' records are in `volatile/` (SnapshotMetadata).
 */
export class OverlaySnapshotter {
  private readonly metadata: SnapshotMetadata;
  private readonly removing = new Set<Promise<void>>();

  constructor(
    readonly root: string,
    lockFile: string,
    /** What a removal gives up to rewrite the table on a full disk. */
    private readonly reserve?: SpaceReserve,
  ) {
    this.metadata = new SnapshotMetadata(root, lockFile);
  }

  async prepare(key: string, parent?: string, options: SnapshotOptions = {}): Promise<Mount[]> {
    return this.create('active', key, parent, options);
  }

  async view(key: string, parent?: string, options: SnapshotOptions = {}): Promise<Mount[]> {
    return this.create('view', key, parent, options);
  }

  /**
   * Make the active snapshot `key` a committed snapshot `name`. Its files are flushed to
   * disk first, so a committed layer survives a power cut, not only a killed process.
   */
  async commit(name: string, key: string, options: SnapshotOptions = {}): Promise<void> {
    checkKey(name);
    // What adds to the store sets the reserve aside again, once a removal used it and there is room.
    this.reserve?.ensure();
    const record = await this.record(key);
    if (record.kind !== 'active') throw invalidArgument(`snapshot "${key}" is ${record.kind}; only an active snapshot can be committed`);
    throwIfAborted(options.signal, `committing snapshot ${key}`);
    await run('sync', ['-f', this.fsDir(record.id)]);
    await this.metadata.update(async (db) => {
      const current = db.snapshots[key];
      if (!current || current.kind !== 'active') throw notFound(this.missingText(key));
      if (db.snapshots[name]) throw alreadyExists(`snapshot "${name}" already exists in ${this.root}`);
      delete db.snapshots[key];
      const now = new Date().toISOString();
      // A volatile snapshot committed is a layer like any other: in the table, durably.
      const { volatile, ...record } = current;
      db.snapshots[name] = { ...record, kind: 'committed', updated: now, labels: { ...current.labels, ...options.labels } };
    });
    await fs.rm(path.join(this.root, record.id, 'work'), { recursive: true, force: true });
  }

  /**
   * Remove a snapshot; one that others are based on is a Conflict. Its directory is moved to
   * trash first (trash.ts): no other process takes a deletion under way for a leftover. With
   * `background`, the call returns once the snapshot is gone from the table, and its files are
   * deleted behind it by the mount relay's process, which finishes even if this one exits
   * first (`settle()` waits for it; a delete cut short, by a crash, leaves trash, which `fsck`
   * and `gc` finish). Without a relay the files go before the call returns.
   */
  async remove(key: string, options: { background?: boolean } = {}): Promise<void> {
    const forget = (db: SnapshotDb): string => {
      const record = db.snapshots[key];
      if (!record) throw notFound(this.missingText(key));
      const children = Object.entries(db.snapshots).filter(([, r]) => r.parent === key).map(([k]) => k);
      if (children.length > 0) {
        throw conflict(`cannot remove snapshot "${key}": ${children.length} snapshot(s) depend on it (${children.slice(0, 3).join(', ')})`, {
          hint: 'remove the containers and images using it first',
        });
      }
      delete db.snapshots[key];
      return record.id;
    };
    let id: string;
    try {
      id = await freeingSpace(this.reserve, () => this.metadata.update(async (db) => forget(db)));
    } catch (error) {
      if (!diskFull(error, 'removing a snapshot')) throw error;
      // A full disk has no block for the smaller table until the snapshot's files are gone:
      // they go first here (a crash in between leaves a record whose files are gone; removing it again ends it).
      id = await this.metadata.update(async (db) => {
        const gone = forget(db);
        await this.removeDir(gone);
        return gone;
      });
    }
    await this.deleteFiles(id, options.background === true);
  }

  /**
   * Remove those of `names` that are committed layers, last updated before `olderThan` (ms)
   * when given, and that no snapshot left in the table is based on — a child among `names`
   * goes first, so a whole unused chain goes — in one write of the table. Files as `remove`'s.
   * Returns the names removed, children before parents.
   */
  async removeLayers(names: readonly string[], options: { olderThan?: number; background?: boolean } = {}): Promise<string[]> {
    const removed = await freeingSpace(this.reserve, () => this.metadata.update(async (db) => {
      const children = new Map<string, number>();
      for (const record of Object.values(db.snapshots)) {
        if (record.parent !== undefined) children.set(record.parent, (children.get(record.parent) ?? 0) + 1);
      }
      const wanted = new Set(names);
      const removable = (name: string): boolean => {
        const record = db.snapshots[name];
        return (
          record !== undefined &&
          record.kind === 'committed' &&
          !children.get(name) &&
          (options.olderThan === undefined || Date.parse(record.updated) < options.olderThan)
        );
      };
      const gone: Array<{ name: string; id: string }> = [];
      const queue = [...wanted].filter(removable);
      for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
        const record = db.snapshots[name] as SnapshotRecord;
        delete db.snapshots[name];
        gone.push({ name, id: record.id });
        const parent = record.parent;
        if (parent === undefined) continue;
        children.set(parent, (children.get(parent) ?? 1) - 1);
        if (wanted.has(parent) && removable(parent)) queue.push(parent);
      }
      return gone;
    }));
    for (const { id } of removed) await this.deleteFiles(id, options.background === true);
    return removed.map((r) => r.name);
  }

  private async deleteFiles(id: string, background: boolean): Promise<void> {
    const dir = path.join(this.root, id);
    const behind = background ? discardTreeBehind(dir) : undefined;
    if (!behind) return discardTree(dir);
    // A tree that could not be deleted (something still mounted inside) stays, in trash,
    // for fsck: deleting it from here would reach into what is mounted.
    const removing = behind.catch(() => undefined).finally(() => this.removing.delete(removing));
    this.removing.add(removing);
  }

  /** Wait for the files of snapshots removed in the background to be gone. */
  async settle(): Promise<void> {
    await Promise.all([...this.removing]);
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return info(key, await this.record(key));
  }

  async *walk(signal?: AbortSignal): AsyncIterable<SnapshotInfo> {
    const db = await this.metadata.read();
    for (const [key, record] of Object.entries(db.snapshots)) {
      throwIfAborted(signal, 'walking snapshots');
      yield info(key, record);
    }
  }

  /** How to mount a snapshot: bind for a single directory, overlay for a stack. */
  async mounts(key: string): Promise<Mount[]> {
    const db = await this.metadata.read();
    const record = db.snapshots[key];
    if (!record) throw notFound(this.missingText(key));
    return this.mountsOf(db, record);
  }

  async usage(key: string): Promise<SnapshotUsage> {
    const record = await this.record(key);
    try {
      return await diskUsage(this.fsDir(record.id));
    } catch (error) {
      throw storageError(error, `measuring snapshot ${key}`);
    }
  }

  /** The directory of a snapshot's own layer, for reading a committed one without mounting it. */
  async layerDir(key: string): Promise<string> {
    return this.fsDir((await this.record(key)).id);
  }

  /** The writable directory of an active snapshot, for applying a layer without mounting. */
  async upperDir(key: string): Promise<string> {
    const record = await this.record(key);
    if (record.kind !== 'active') throw invalidArgument(`snapshot "${key}" is ${record.kind}, not active`);
    return this.fsDir(record.id);
  }

  /** The raw table, for fsck. */
  async table(): Promise<SnapshotDb> {
    return this.metadata.read();
  }

  /** Edit the table under its lock, for fsck repairs. */
  async repair<T>(fn: (db: SnapshotDb) => Promise<T>): Promise<T> {
    return this.metadata.update(fn);
  }

  async removeDir(id: string): Promise<void> {
    await fs.rm(path.join(this.root, id), { recursive: true, force: true });
  }

  fsDir(id: string): string {
    return path.join(this.root, id, 'fs');
  }

  private async create(kind: SnapshotKind, key: string, parent: string | undefined, options: SnapshotOptions): Promise<Mount[]> {
    checkKey(key);
    throwIfAborted(options.signal, `preparing snapshot ${key}`);
    return this.metadata.update(async (db) => {
      if (db.snapshots[key]) throw alreadyExists(`snapshot "${key}" already exists in ${this.root}`);
      if (parent !== undefined) {
        const p = db.snapshots[parent];
        if (!p) throw notFound(`parent snapshot "${parent}" not found in ${this.root}`);
        if (p.kind !== 'committed') throw invalidArgument(`parent snapshot "${parent}" is ${p.kind}; a parent must be committed`);
      }
      const volatile = options.durable === false && kind === 'active';
      const id = await this.allocate(db, kind, volatile);
      const now = new Date().toISOString();
      const record: SnapshotRecord = {
        id,
        kind,
        ...(parent === undefined ? {} : { parent }),
        created: now,
        updated: now,
        labels: { ...options.labels },
        ...(volatile ? { volatile } : {}),
      };
      db.snapshots[key] = record;
      return this.mountsOf(db, record);
    }, options.signal ? { signal: options.signal } : {});
  }

  /** Make the directories before the record points at them: a crash leaves only an orphan dir fsck removes. */
  private async allocate(db: SnapshotDb, kind: SnapshotKind, volatile: boolean): Promise<string> {
    // Directly, as the store's other metadata calls: each container start makes these four.
    mkdirSync(this.root, { recursive: true });
    for (;;) {
      // A volatile snapshot's id is not the table's to give: taking one would rewrite it.
      const id = volatile ? `v${uniqueHex()}` : String(db.nextId++);
      try {
        mkdirSync(path.join(this.root, id));
      } catch (error) {
        if (errno(error) === 'EEXIST') continue;
        throw storageError(error, `creating snapshot directory ${id}`);
      }
      try {
        mkdirSync(path.join(this.root, id, 'fs'));
        if (kind === 'active') mkdirSync(path.join(this.root, id, 'work'));
      } catch (error) {
        await this.removeDir(id);
        throw storageError(error, `creating snapshot directory ${id}`);
      }
      return id;
    }
  }

  private mountsOf(db: SnapshotDb, record: SnapshotRecord): Mount[] {
    const lowers: string[] = [];
    for (let name = record.parent; name !== undefined; name = db.snapshots[name]?.parent) {
      const parent = db.snapshots[name];
      if (!parent) throw notFound(`parent snapshot "${name}" not found in ${this.root}`);
      lowers.push(this.fsDir(parent.id));
    }
    const own = this.fsDir(record.id);
    if (record.kind === 'active') {
      if (lowers.length === 0) return [{ type: 'bind', source: own, options: ['rw', 'rbind'] }];
      return [
        {
          type: 'overlay',
          source: 'overlay',
          options: [`workdir=${path.join(this.root, record.id, 'work')}`, `upperdir=${own}`, `lowerdir=${lowers.join(':')}`],
        },
      ];
    }
    if (record.kind === 'committed') lowers.unshift(own);
    if (lowers.length === 0) return [{ type: 'bind', source: own, options: ['ro', 'rbind'] }];
    if (lowers.length === 1) return [{ type: 'bind', source: lowers[0] as string, options: ['ro', 'rbind'] }];
    return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`] }];
  }

  private async record(key: string): Promise<SnapshotRecord> {
    const record = (await this.metadata.read()).snapshots[key];
    if (!record) throw notFound(this.missingText(key));
    return record;
  }

  private missingText(key: string): string {
    return `snapshot "${key}" not found in ${this.root}`;
  }
}

function info(name: string, record: SnapshotRecord): SnapshotInfo {
  return {
    name,
    kind: record.kind,
    ...(record.parent === undefined ? {} : { parent: record.parent }),
    labels: { ...record.labels },
    created: new Date(record.created),
    updated: new Date(record.updated),
  };
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024 || key.includes('\0')) {
    throw invalidArgument(`invalid snapshot key ${JSON.stringify(key)}: expected 1 to 1024 characters`);
  }
}
