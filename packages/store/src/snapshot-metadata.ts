import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { readJson, storageError, writeFileAtomic } from './fs-util';
import { withLock, type LockOptions } from './lock';

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface SnapshotRecord {
  /**
   * Directory name under `<root>/snapshots/`: numeric for the table's records, short so
   * overlay options stay short; `v` and hex for a volatile one.
   */
  id: string;
  kind: SnapshotKind;
  parent?: string;
  created: string;
  updated: string;
  labels: Record<string, string>;
  /** Kept apart from the table, in a file of its own written without fsync (see SnapshotMetadata). */
  volatile?: true;
}

export interface SnapshotDb {
  version: 1;
  nextId: number;
  snapshots: Record<string, SnapshotRecord>;
}

/** The directory name of a volatile snapshot (and of its record, with `.json`). */
export const VOLATILE_ID = /^v[0-9a-f]+$/;

/** Where the volatile records are, beside the table. */
export const VOLATILE_DIR = 'volatile';

/**
 * The snapshot table: one JSON file, replaced atomically and durably (file and directory
 * fsynced) under a lock. Readers take no lock; rename guarantees they see a whole old or
 * whole new table.
 *
 * A snapshot nobody needs after a power cut (the root filesystem of a container removed
 * when it exits) is *volatile*: its record is a small file of its own in `volatile/`,
 * written and removed without fsync, and the table is not touched — making and removing
 * one is then a couple of metadata calls instead of two rewrites and four fsyncs of a
 * table that holds every layer. Readers see the table and the volatile records as one;
 * writers change both under the same lock, so a parent cannot be removed from under a
 * volatile child. After a crash a volatile record or its directory may be left alone,
 * which `fsck` removes.
 */
export class SnapshotMetadata {
  constructor(
    private readonly dir: string,
    private readonly lockFile: string,
  ) {}

  get file(): string {
    return path.join(this.dir, 'metadata.json');
  }

  private get volatileDir(): string {
    return path.join(this.dir, VOLATILE_DIR);
  }

  async read(): Promise<SnapshotDb> {
    const db = await readJson<SnapshotDb>(this.file);
    // Null prototype: a key like "__proto__" or "constructor" is just a key.
    const snapshots = Object.assign(Object.create(null) as Record<string, SnapshotRecord>, db?.snapshots);
    for (const [key, record] of this.readVolatile()) snapshots[key] ??= record;
    return { version: 1, nextId: db?.nextId ?? 1, snapshots };
  }

  /**
   * Read-modify-write under the lock. The table is written when `fn` changed its records;
   * a volatile record `fn` added or changed is written, one it removed (or made durable,
   * once the table holding it is written) is deleted.
   */
  async update<T>(fn: (db: SnapshotDb) => Promise<T>, options: LockOptions = {}): Promise<T> {
    return withLock(
      this.lockFile,
      async () => {
        const db = await this.read();
        const before = tableText(db);
        const volatileBefore = volatileTexts(db);
        const result = await fn(db);
        const after = tableText(db);
        if (after !== before) await writeFileAtomic(this.file, after);
        const volatileAfter = volatileTexts(db);
        const kept = new Set([...volatileAfter.values()].map(({ id }) => id));
        try {
          for (const { id } of volatileBefore.values()) if (!kept.has(id)) rmSync(this.volatileFile(id), { force: true });
          for (const [key, { id, text }] of volatileAfter) {
            if (volatileBefore.get(key)?.text === text) continue;
            mkdirSync(this.volatileDir, { recursive: true });
            await writeFileAtomic(this.volatileFile(id), text, { durable: false });
          }
        } catch (error) {
          throw storageError(error, 'recording a volatile snapshot');
        }
        return result;
      },
      options,
    );
  }

  private volatileFile(id: string): string {
    return path.join(this.volatileDir, `${id}.json`);
  }

  /** Direct calls, as the store's other small metadata: a container start reads these. */
  private readVolatile(): Array<[string, SnapshotRecord]> {
    const found: Array<[string, SnapshotRecord]> = [];
    let names: string[];
    try {
      names = readdirSync(this.volatileDir);
    } catch {
      return found;
    }
    for (const name of names) {
      if (!VOLATILE_ID.test(path.basename(name, '.json')) || !name.endsWith('.json')) continue;
      try {
        const { key, ...record } = JSON.parse(readFileSync(path.join(this.volatileDir, name), 'utf8')) as SnapshotRecord & { key: string };
        if (typeof key === 'string' && record.id === path.basename(name, '.json')) found.push([key, { ...record, volatile: true }]);
      } catch {
        // removed meanwhile, or cut short by a crash: fsck's to remove
      }
    }
    return found;
  }
}

/** The table as written: every record but the volatile ones. */
function tableText(db: SnapshotDb): string {
  const snapshots = Object.fromEntries(Object.entries(db.snapshots).filter(([, record]) => !record.volatile));
  return JSON.stringify({ version: db.version, nextId: db.nextId, snapshots });
}

/** Each volatile record's id and file contents, by key. */
function volatileTexts(db: SnapshotDb): Map<string, { id: string; text: string }> {
  const texts = new Map<string, { id: string; text: string }>();
  for (const [key, { volatile, ...record }] of Object.entries(db.snapshots)) {
    if (volatile) texts.set(key, { id: record.id, text: JSON.stringify({ key, ...record }) });
  }
  return texts;
}
