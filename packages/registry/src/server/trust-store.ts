import { createHash, createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateKey, tufKeyFromPrivate, type TufKey } from '../trust/keys';
import { readFileIfExists, writeFileAtomic } from './atomic-file';

/** One role's metadata to store, its version already validated. */
export interface TrustUpdate {
  role: string;
  version: number;
  bytes: Buffer;
}

interface RoleRecord {
  /** sha256 hex of the current bytes. */
  current: string;
  version: number;
  /** Every stored version → its sha256 hex (for `<version>.<role>.json`). */
  versions: Record<string, string>;
}

interface GunState {
  gun: string;
  roles: Record<string, RoleRecord>;
}

/** A stored version is not newer than the one already there (notary's storage.ErrOldVersion). */
export class OldVersionError extends Error {}

export type ServerKeyRole = 'timestamp' | 'snapshot';

/**
 * The Notary server's storage, one directory per GUN under `<root>/trust/<sha256(gun)>/`
 * (hashed so no GUN, whatever its characters, can reach outside it):
 *   state.json                 → which bytes are current per role, and every version's checksum
 *   meta/<role>.<sha256>.json  → every version ever stored, by checksum (consistent snapshots)
 *   keys/<role>.pem            → the server-managed timestamp/snapshot private keys (mode 0600)
 * An update writes its new files first and commits by replacing state.json atomically, so a
 * reader sees all of an update or none of it, and a failed update leaves the old one served.
 * Writers of one GUN are serialised by `exclusive`.
 */
export class TrustStore {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly root: string) {}

  private dir(gun: string): string {
    return path.join(this.root, 'trust', createHash('sha256').update(gun).digest('hex'));
  }

  /** Run `work` with no other exclusive work on the same GUN in between. */
  async exclusive<T>(gun: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(gun) ?? Promise.resolve();
    const run = previous.then(work, work);
    const settled = run.catch(() => undefined);
    this.locks.set(gun, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(gun) === settled) this.locks.delete(gun);
    }
  }

  async current(gun: string, role: string): Promise<{ bytes: Buffer; version: number } | undefined> {
    const record = (await this.state(gun)).roles[role];
    if (record === undefined) return undefined;
    const bytes = await this.blob(gun, role, record.current);
    return bytes === undefined ? undefined : { bytes, version: record.version };
  }

  async byChecksum(gun: string, role: string, sha256: string): Promise<Buffer | undefined> {
    return this.blob(gun, role, sha256);
  }

  async byVersion(gun: string, role: string, version: number): Promise<Buffer | undefined> {
    const sha = (await this.state(gun)).roles[role]?.versions[String(version)];
    return sha === undefined ? undefined : this.blob(gun, role, sha);
  }

  /**
   * Store every update or none: each must be newer than the role's current version.
   * Call inside `exclusive`.
   */
  async commit(gun: string, updates: TrustUpdate[]): Promise<void> {
    const state = await this.state(gun);
    for (const update of updates) {
      const existing = state.roles[update.role];
      if (existing !== undefined && update.version <= existing.version) {
        throw new OldVersionError(`${update.role}: version ${update.version} is not newer than the stored version ${existing.version}`);
      }
    }
    for (const update of updates) {
      const sha = createHash('sha256').update(update.bytes).digest('hex');
      await writeFileAtomic(this.blobPath(gun, update.role, sha), update.bytes);
      const versions = { ...(state.roles[update.role]?.versions ?? {}), [String(update.version)]: sha };
      state.roles[update.role] = { current: sha, version: update.version, versions };
    }
    await writeFileAtomic(path.join(this.dir(gun), 'state.json'), JSON.stringify({ gun, roles: state.roles }));
  }

  /** Remove every piece of the GUN's trust data, its server keys included. */
  async delete(gun: string): Promise<void> {
    await fs.rm(this.dir(gun), { recursive: true, force: true });
  }

  /** The server's key for a role of this GUN, made (and kept private) on first use when `create`. */
  async serverKey(gun: string, role: ServerKeyRole, create: boolean): Promise<TufKey | undefined> {
    const file = path.join(this.dir(gun), 'keys', `${role}.pem`);
    const pem = await readFileIfExists(file);
    if (pem !== undefined) return tufKeyFromPrivate(createPrivateKey(pem));
    if (!create) return undefined;
    const key = generateKey();
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
    return key;
  }

  private async state(gun: string): Promise<GunState> {
    const text = await readFileIfExists(path.join(this.dir(gun), 'state.json'));
    return text === undefined ? { gun, roles: {} } : (JSON.parse(text) as GunState);
  }

  private blobPath(gun: string, role: string, sha256: string): string {
    return path.join(this.dir(gun), 'meta', `${encodeURIComponent(role)}.${sha256}.json`);
  }

  private async blob(gun: string, role: string, sha256: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.blobPath(gun, role, sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}
