import path from 'node:path';
import { readJson, writeFileAtomic } from './fs-util';
import { withLock, type LockOptions } from './lock';

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface SnapshotRecord {
  /** Numeric directory name under `<root>/snapshots/`: short, so overlay options stay short. */
  id: string;
  kind: SnapshotKind;
  parent?: string;
  created: string;
  updated: string;
  labels: Record<string, string>;
}

export interface SnapshotDb {
  version: 1;
  nextId: number;
  snapshots: Record<string, SnapshotRecord>;
}

/**
 * The snapshot table: one JSON file, replaced atomically under a lock. Readers take no lock;
 * rename guarantees they see a whole old or whole new table.
 */
export class SnapshotMetadata {
  constructor(
    private readonly dir: string,
    private readonly lockFile: string,
  ) {}

  get file(): string {
    return path.join(this.dir, 'metadata.json');
  }

  async read(): Promise<SnapshotDb> {
    const db = await readJson<SnapshotDb>(this.file);
    // Null prototype: a key like "__proto__" or "constructor" is just a key.
    const snapshots = Object.assign(Object.create(null) as Record<string, SnapshotRecord>, db?.snapshots);
    return { version: 1, nextId: db?.nextId ?? 1, snapshots };
  }

  /**
   * Read-modify-write under the lock; the table is written when `fn` changed it, durably
   * (file and directory fsynced). With `durable` false only the directory's fsync is left
   * out: the table holds every snapshot, so after a power cut it must be whole (old or new)
   * even when this change is lost.
   */
  async update<T>(fn: (db: SnapshotDb) => Promise<T>, options: LockOptions & { durable?: boolean } = {}): Promise<T> {
    return withLock(
      this.lockFile,
      async () => {
        const db = await this.read();
        const before = JSON.stringify(db);
        const result = await fn(db);
        const after = JSON.stringify(db);
        if (after !== before) await writeFileAtomic(this.file, after, { durable: options.durable === false ? 'contents' : true });
        return result;
      },
      options,
    );
  }
}
