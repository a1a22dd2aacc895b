import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isNotFound, throwIfAborted } from '@ctr/errors';
import type { Descriptor, Digest } from '@ctr/image';
import type { IngestStatus, LocalContentStore } from './content-store';
import { errno, exists, TEMP_PREFIX, TRASH_PREFIX } from './fs-util';
import type { ImageIndex } from './image-index';
import { abandonedIngests, removeIngest } from './ingest';
import { abandonedTemps, mountedIn } from './temps';
import { removeLinkIfUnchanged, staleLockText } from './lock';
import { mountPoints } from './mount';
import { tempDirectories, type StorePaths, type TempArea } from './paths';
import { blobReferences } from './references';
import { VOLATILE_DIR, VOLATILE_ID, type SnapshotDb } from './snapshot-metadata';
import type { OverlaySnapshotter } from './snapshotter';
import { extractionAbandoned } from './unpack';
import { damagedVolumes } from './volume-store';

export type FsckArea = TempArea;

export interface FsckIssue {
  area: FsckArea;
  message: string;
  path?: string;
  /** A leftover's description without what was done to it (`message` is `removed <found>`): for reports of what a repair would do. */
  found?: string;
  /** The blob concerned, when one is. */
  digest?: Digest;
  /** The ID of the image concerned, when one is (a blob it is missing, or that is corrupt). */
  image?: string;
  /** The key of the snapshot concerned, when one is (its directory or its parent is missing). */
  snapshot?: string;
}

export interface FsckReport {
  /** True when no problem is left (repaired leftovers do not count). */
  clean: boolean;
  /** Inconsistencies fsck could not explain or repair. */
  problems: FsckIssue[];
  /** Leftovers of interrupted work that fsck removed (or would remove, without `repair`). */
  repaired: FsckIssue[];
  /** Resumable ingests found (not problems). */
  ingests: IngestStatus[];
}

export interface FsckOptions {
  /** Remove explainable leftovers (default true). */
  repair?: boolean;
  /** Re-hash every blob (default true; slow on big stores). */
  verifyContent?: boolean;
  signal?: AbortSignal;
}

export interface FsckParts {
  paths: StorePaths;
  content: LocalContentStore;
  snapshots: OverlaySnapshotter;
  images: ImageIndex;
}

const HEX = /^[a-f0-9]{64}$/;

/** Check a store for consistency; repair what a crash can explain. */
export async function fsck(parts: FsckParts, options: FsckOptions = {}): Promise<FsckReport> {
  const repair = options.repair ?? true;
  const report: FsckReport = { clean: true, problems: [], repaired: [], ingests: [] };
  const problem: Reporter = (area, message, p, about = {}) => {
    report.problems.push({ area, message, ...(p ? { path: p } : {}), ...about });
  };
  const fixed: Fixer = async (area, found, p, action, about = {}) => {
    if (repair) await action();
    report.repaired.push({ area, message: `removed ${found}`, path: p, found, ...about });
  };
  const { paths } = parts;

  await checkLocks(paths.locks, fixed);
  for (const [area, dir] of tempDirectories(paths)) await removeDeadTemps(area, dir, problem, fixed);

  const corrupt = new Set<Digest>();
  for (const name of await list(paths.blobs)) {
    throwIfAborted(options.signal, 'fsck');
    const file = path.join(paths.blobs, name);
    if (name.startsWith(TEMP_PREFIX)) continue;
    if (!HEX.test(name)) {
      problem('content', `unexpected file ${name} among blobs`, file);
      continue;
    }
    if (options.verifyContent ?? true) {
      const actual = await hashFile(file);
      if (actual !== name) {
        const digest = `sha256:${name}` as Digest;
        corrupt.add(digest);
        await fixed('content', `corrupt blob ${digest} (its content hashes to sha256:${actual})`, file, () => fs.rm(file, { force: true }), { digest });
        problem('content', `blob ${digest} was corrupt and ${repair ? 'had to be removed' : 'must be removed'}; pull its image again`, file, { digest });
      }
    }
  }

  // Resumable ones stay for a pull to resume (gc takes them once they are old, a prune at once).
  for (const { dir, resumable } of await abandonedIngests(paths.ingest)) {
    if (!resumable) await fixed('ingest', 'an ingest that was interrupted while being created', dir, () => removeIngest(dir));
  }
  report.ingests = await parts.content.ingests();

  await checkImages(parts, corrupt, problem);
  await checkSnapshots(parts, repair, problem, fixed);
  await checkVolumes(paths.volumes, problem);

  report.clean = report.problems.length === 0;
  return report;
}

type About = Pick<FsckIssue, 'digest' | 'image' | 'snapshot'>;
/** A leftover `found` (a noun phrase) at `p`, which `action` removes when repairing. */
type Fixer = (area: FsckArea, found: string, p: string, action: () => Promise<unknown>, about?: About) => Promise<void>;
type Reporter = (area: FsckArea, message: string, p?: string, about?: About) => void;

async function checkLocks(dir: string, fixed: Fixer): Promise<void> {
  for (const name of await list(dir)) {
    if (!name.endsWith('.lock')) continue;
    const file = path.join(dir, name);
    const stale = staleLockText(file);
    // Only the link read here goes: one a live process made since stays.
    if (stale !== undefined) await fixed('locks', 'a lock left by a process that died', file, async () => removeLinkIfUnchanged(file, stale));
  }
}

/**
 * Temp files and trash say whose they are (`tempName`, `trashName`): those of processes that
 * have ended are leftovers; trash whose deleter still runs is a removal under way. What has
 * a filesystem mounted inside stays (deleting it would reach what that shows).
 */
async function removeDeadTemps(area: FsckArea, dir: string, problem: Reporter, fixed: Fixer): Promise<void> {
  let mounted: string[] | undefined;
  for (const file of await abandonedTemps(dir)) {
    mounted ??= await mountPoints();
    if (mountedIn(file, mounted)) {
      problem(area, `${file} was left unfinished with a filesystem still mounted inside: unmount it, then check again`, file);
      continue;
    }
    const found = path.basename(file).startsWith(TRASH_PREFIX)
      ? 'the rest of a tree whose deletion was cut short (the process deleting it ended)'
      : 'a temporary file left by an interrupted write';
    await fixed(area, found, file, () => fs.rm(file, { recursive: true, force: true }));
  }
}

/** Each image's blobs are here and, among those hashed, none is `corrupt`. */
async function checkImages(parts: FsckParts, corrupt: ReadonlySet<Digest>, problem: Reporter): Promise<void> {
  let images;
  try {
    images = await parts.images.list();
  } catch (error) {
    problem('images', `the image index cannot be read: ${(error as Error).message}`, parts.paths.images);
    return;
  }
  for (const image of images) {
    const seen = new Set<Digest>();
    const queue: { descriptor: Descriptor; optional: boolean }[] = [{ descriptor: image.target, optional: false }];
    for (let next = queue.pop(); next; next = queue.pop()) {
      const d = next.descriptor;
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      if ((d.urls?.length ?? 0) > 0) continue; // foreign layers live elsewhere
      const about = { digest: d.digest, image: image.id };
      if (corrupt.has(d.digest)) {
        problem('images', `image ${image.names[0] ?? image.id} has corrupt blob ${d.digest}`, parts.content.blobPath(d.digest), about);
        continue;
      }
      try {
        const refs = await blobReferences(parts.content, d);
        queue.push(...refs.children.map((descriptor) => ({ descriptor, optional: refs.isIndex })));
      } catch (error) {
        if (!isNotFound(error)) throw error;
        if (!next.optional) problem('images', `image ${image.names[0] ?? image.id} is missing blob ${d.digest}`, parts.content.blobPath(d.digest), about);
      }
    }
  }
}

async function checkSnapshots(parts: FsckParts, repair: boolean, problem: Reporter, fixed: Fixer): Promise<void> {
  const root = parts.paths.snapshots;
  // Without repair, work on a copy of the table that is never written back.
  const edit = async <T>(fn: (db: SnapshotDb) => Promise<T>): Promise<T> =>
    repair ? parts.snapshots.repair(fn) : fn(await parts.snapshots.table());
  let abandoned: { key: string; id: string }[] = [];
  try {
    abandoned = await edit(async (db) => {
      const found: { key: string; id: string }[] = [];
      const readable = new Set(Object.values(db.snapshots).filter((r) => r.volatile).map((r) => `${r.id}.json`));
      for (const [key, record] of Object.entries(db.snapshots)) {
        if (extractionAbandoned(key, record)) {
          found.push({ key, id: record.id });
          delete db.snapshots[key];
          continue;
        }
        if (record.volatile) {
          // A crash between a volatile snapshot's directory and its record, or between a
          // commit of one (written to the table) and its record's removal: the record goes.
          const durableTwin = Object.values(db.snapshots).some((other) => other.id === record.id && !other.volatile);
          if (durableTwin || !(await exists(parts.snapshots.fsDir(record.id)))) {
            await fixed('snapshots', `the record of volatile snapshot "${key}", ${durableTwin ? 'committed' : 'whose directory is gone'}`, path.join(root, VOLATILE_DIR, `${record.id}.json`), async () => {
              delete db.snapshots[key];
            });
            continue;
          }
        }
        if (!(await exists(parts.snapshots.fsDir(record.id)))) problem('snapshots', `snapshot "${key}" has no directory`, path.join(root, record.id), { snapshot: key });
        const work = path.join(root, record.id, 'work');
        if (record.kind === 'committed' && (await exists(work))) {
          await fixed('snapshots', `the overlay work directory left in committed snapshot "${key}"`, work, () => fs.rm(work, { recursive: true, force: true }));
        }
        if (record.parent !== undefined && !db.snapshots[record.parent]) problem('snapshots', `snapshot "${key}" names a missing parent "${record.parent}"`, undefined, { snapshot: key });
      }
      const used = new Set(Object.values(db.snapshots).map((r) => r.id));
      for (const { id } of found) used.delete(id);
      for (const name of await list(root)) {
        if (!(/^\d+$/.test(name) || VOLATILE_ID.test(name)) || used.has(name) || found.some((f) => f.id === name)) continue;
        await fixed('snapshots', 'a snapshot directory that was never recorded (interrupted prepare or remove)', path.join(root, name), () =>
          parts.snapshots.removeDir(name),
        );
      }
      // A volatile record a crash cut short cannot be read: nothing reads it, it goes.
      for (const name of await list(path.join(root, VOLATILE_DIR))) {
        if (readable.has(name)) continue;
        const file = path.join(root, VOLATILE_DIR, name);
        await fixed('snapshots', 'an unreadable or unfinished volatile snapshot record', file, () => fs.rm(file, { force: true }));
      }
      return found;
    });
  } catch (error) {
    problem('snapshots', `the snapshot table cannot be read: ${(error as Error).message}`, root);
    return;
  }
  for (const { key, id } of abandoned) {
    await fixed('snapshots', `layer extraction "${key}" abandoned by a process that died`, path.join(root, id), () => parts.snapshots.removeDir(id));
  }
}

async function checkVolumes(dir: string, problem: Reporter): Promise<void> {
  for (const { name, record } of await damagedVolumes(dir)) {
    problem('volumes', record ? `volume ${name} has no _data directory` : `volume directory ${name} has no readable meta.json`, path.join(dir, name));
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

async function list(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (error) {
    if (errno(error) === 'ENOENT') return [];
    throw error;
  }
}
