import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { conflict, invalidArgument, notFound } from '@ctr/errors';
import { digestHex, parseDigest, type Descriptor, type Digest } from '@ctr/image';
import { errno, readJson, storageError, writeFileAtomic } from './fs-util';
import { withLock } from './lock';
import { freeingSpace, type SpaceReserve } from './space-reserve';

/** An image as the store knows it: what it points at and the names it goes by. */
export interface ImageRecord {
  /** The image ID: the digest of its config (what `docker images` shows, shortened). */
  id: Digest;
  /** The manifest (or index) the image was pulled, loaded or built as. */
  target: Descriptor;
  /** Full normalised names (`docker.io/library/busybox:latest`, `…@sha256:…`), sorted. */
  names: string[];
  /** When the image entered this store. */
  created: string;
  /**
   * The image this one was built on, one build step before (docker's `Parent`: the classic
   * builder's intermediate images chain so). Absent for pulled, loaded and imported images.
   */
  parent?: Digest;
  /**
   * Uncompressed sizes (as `layerSize` measures an unpacked layer) of layers this store
   * wrote but has not unpacked, by diffID: a commit's, so that docker's sizes are right
   * before the image first runs, without unpacking it for them.
   */
  layerSizes?: Record<string, number>;
}

export interface PutImage {
  id: Digest;
  target: Descriptor;
  created?: string;
  /** See `ImageRecord.parent`; an image stored again without one keeps the one it had. */
  parent?: Digest;
  /**
   * Digest references (`docker.io/library/busybox@sha256:…`) the image is also known by, as a
   * pull records the manifest digest it resolved; one another image holds already stays its.
   */
  digestReferences?: string[];
  /** See `ImageRecord.layerSizes`; added to those the image has. */
  layerSizes?: Record<string, number>;
}

export interface UntagResult {
  untagged: string;
  /**
   * The digest references of the same repository that went with the name: its last tag
   * there takes them (moby's rule), so a repository is not left with digests only.
   */
  digestReferences?: string[];
  /** The image ID, when the name was its last and the image was deleted with it. */
  deleted?: Digest;
}

interface ImageDb {
  version: 1;
  images: Record<string, Omit<ImageRecord, 'names'>>;
  names: Record<string, Digest>;
}

const HEX_PREFIX = /^(?:sha256:)?([a-f0-9]{1,64})$/;

/**
 * Names → images (`<root>/images/index.json`). Names arrive already normalised: parsing
 * `busybox` into `docker.io/library/busybox:latest` is the caller's job. Lookups read the
 * file without a lock (it is replaced atomically) and are cached by inode.
 */
export class ImageIndex {
  private cache: { key: string; db: ImageDb } | undefined;

  constructor(
    private readonly dir: string,
    private readonly lockFile: string,
    /** What a removal gives up to rewrite the index on a full disk. */
    private readonly reserve?: SpaceReserve,
  ) {}

  private get file(): string {
    return path.join(this.dir, 'index.json');
  }

  /** Store an image and, when `name` is given, point the name at it (moving it from any other image). */
  async put(name: string | undefined, image: PutImage): Promise<ImageRecord> {
    if (name !== undefined) checkName(name);
    // What adds to the store sets the reserve aside again, once a removal used it and there is room.
    this.reserve?.ensure();
    const references = image.digestReferences ?? [];
    references.forEach(checkDigestReference);
    const id = parseDigest(image.id);
    parseDigest(image.target.digest);
    return this.update((db) => {
      const existing = db.images[id];
      const named = image.parent === undefined ? existing?.parent : parseDigest(image.parent);
      // A parent another process removed meanwhile (an rmi pruning the chain while a build re-commits a cached step) is not named: the link would lead nowhere.
      const parent = named !== undefined && own(db.images, named) ? named : undefined;
      const layerSizes = existing?.layerSizes || image.layerSizes ? { ...existing?.layerSizes, ...image.layerSizes } : undefined;
      db.images[id] = {
        id,
        target: image.target,
        created: existing?.created ?? image.created ?? new Date().toISOString(),
        ...(parent ? { parent } : {}),
        ...(layerSizes ? { layerSizes } : {}),
      };
      if (name !== undefined) db.names[name] = id;
      addReferences(db, id, references);
      return record(db, id);
    });
  }

  /**
   * Record digest references (`repo@sha256:…`) for an image here, as a push records the
   * digest the registry now knows it by. One another image holds already stays its: moby's
   * reference store does not move a digest.
   */
  async addDigestReferences(id: Digest, references: readonly string[]): Promise<ImageRecord> {
    references.forEach(checkDigestReference);
    return this.update((db) => {
      if (!own(db.images, id)) throw notFound(`No such image: ${id}`, { hint: `no image has that ID in ${this.dir}` });
      addReferences(db, id, references);
      return record(db, id);
    });
  }

  /** `docker tag SOURCE NAME`: give the image `source` resolves to another name. */
  async tag(source: string, name: string): Promise<ImageRecord> {
    checkName(name);
    return this.update((db) => {
      const id = this.find(db, source);
      db.names[name] = id;
      return record(db, id);
    });
  }

  /**
   * Remove a name. A tag that was its repository's last for the image takes the image's
   * digest references of that repository with it. The image goes too when that leaves it
   * no name, unless `keepImage` or another image was built on it.
   */
  async untag(name: string, options: { keepImage?: boolean } = {}): Promise<UntagResult> {
    return freeingSpace(this.reserve, () => this.update((db) => {
      const id = own(db.names, name);
      if (id === undefined) throw notFound(`No such image: ${name}`, { hint: `no image has that name in ${this.dir}` });
      delete db.names[name];
      const repo = repoOf(name);
      const remaining = record(db, id).names.filter((n) => repoOf(n) === repo);
      const digests = isDigestReference(name) || remaining.some((n) => !isDigestReference(n)) ? [] : remaining;
      for (const digest of digests) delete db.names[digest];
      const result: UntagResult = { untagged: name, ...(digests.length > 0 ? { digestReferences: digests } : {}) };
      const orphan = !Object.values(db.names).includes(id);
      // An image another was built on stays, nameless (moby's quiet delete after an untag).
      if (orphan && !options.keepImage && !hasChildren(db, id)) {
        delete db.images[id];
        return { ...result, deleted: id };
      }
      return result;
    }));
  }

  /**
   * Delete an image and all its names. Names of more than one repository, or more than one
   * tag, need `force` (as `docker rmi`: digest references beside one tag do not). An image
   * another was built on (its parent) is never deleted: moby's hard conflict.
   */
  async delete(ref: string, options: { force?: boolean } = {}): Promise<ImageRecord> {
    return freeingSpace(this.reserve, () => this.update((db) => {
      const id = this.find(db, ref);
      const gone = record(db, id);
      if (hasChildren(db, id)) throw conflict(`conflict: unable to delete ${digestHex(id).slice(0, 12)} (cannot be forced) - image has dependent child images`);
      if (gone.names.length > 1 && !isSingleReference(gone.names) && !options.force) {
        throw conflict(`unable to delete ${digestHex(id).slice(0, 12)} (must be forced) - image is referenced in multiple repositories`, {
          hint: `untag one name at a time, or force: ${gone.names.join(', ')}`,
        });
      }
      for (const name of gone.names) delete db.names[name];
      delete db.images[id];
      return gone;
    }));
  }

  /** The image with exactly this name. */
  async get(name: string): Promise<ImageRecord> {
    const db = await this.read();
    const id = own(db.names, name);
    if (id === undefined) throw notFound(`No such image: ${name}`, { hint: `no image has that name in ${this.dir}` });
    return record(db, id);
  }

  /**
   * Find an image by exact name, by `name@sha256:…` or bare manifest digest, or by ID or a
   * unique ID prefix (as docker). An ambiguous prefix is InvalidArgument.
   */
  async resolve(ref: string): Promise<ImageRecord> {
    const db = await this.read();
    return record(db, this.find(db, ref));
  }

  async list(): Promise<ImageRecord[]> {
    const db = await this.read();
    // Names grouped once: a record's own lookup goes through every name, for each image.
    const names = new Map<Digest, string[]>();
    for (const [name, id] of Object.entries(db.names)) {
      const held = names.get(id);
      if (held) held.push(name);
      else names.set(id, [name]);
    }
    return Object.values(db.images)
      .map((image) => ({ ...image, names: (names.get(image.id) ?? []).sort() }))
      .sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  }

  private find(db: ImageDb, ref: string): Digest {
    if (typeof ref !== 'string' || ref.length === 0) throw invalidArgument('an image reference must not be empty');
    const named = own(db.names, ref);
    if (named !== undefined) return named;
    const at = ref.lastIndexOf('@');
    const digestText = at >= 0 ? ref.slice(at + 1) : ref.startsWith('sha256:') && ref.length === 71 ? ref : undefined;
    if (digestText !== undefined) {
      const digest = parseDigest(digestText);
      const repo = at >= 0 ? ref.slice(0, at) : undefined;
      const candidates = Object.values(db.images).filter((i) => i.target.digest === digest);
      const inRepo = candidates.find((i) => repo !== undefined && record(db, i.id).names.some((n) => repoOf(n) === repo));
      const hit = inRepo ?? (repo === undefined || candidates.length > 0 ? candidates[0] : undefined);
      if (hit) return hit.id;
      if (at >= 0) throw notFound(`No such image: ${ref}`, { hint: `no image in ${this.dir} has manifest ${digest}` });
    }
    const prefix = HEX_PREFIX.exec(ref)?.[1];
    if (prefix !== undefined) {
      const ids = Object.keys(db.images).filter((id) => digestHex(id as Digest).startsWith(prefix));
      if (ids.length === 1) return ids[0] as Digest;
      if (ids.length > 1) {
        throw invalidArgument(`image ID prefix "${ref}" is ambiguous: it matches ${ids.length} images`, {
          hint: 'give more characters of the ID',
        });
      }
    }
    throw notFound(`No such image: ${ref}`, { hint: `no image name, digest or ID matches it in ${this.dir}` });
  }

  private async read(): Promise<ImageDb> {
    let key: string;
    try {
      // Directly, as the store's other small metadata files: every container start asks.
      const st = statSync(this.file);
      key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (error) {
      if (errno(error) === 'ENOENT') return emptyDb();
      throw storageError(error, `reading ${this.file}`);
    }
    if (this.cache?.key === key) return normalise(this.cache.db);
    const raw = await readJson<ImageDb>(this.file);
    const db = normalise(raw);
    this.cache = { key, db };
    return normalise(db);
  }

  private async update<T>(fn: (db: ImageDb) => T): Promise<T> {
    return withLock(this.lockFile, async () => {
      this.cache = undefined;
      const db = await this.read();
      const result = fn(db);
      await fs.mkdir(this.dir, { recursive: true });
      await writeFileAtomic(this.file, JSON.stringify(db));
      return result;
    });
  }
}

function record(db: ImageDb, id: Digest): ImageRecord {
  const image = own(db.images, id);
  if (!image) throw notFound(`No such image: ${id}`);
  const names = Object.entries(db.names)
    .filter(([, target]) => target === id)
    .map(([name]) => name)
    .sort();
  return { ...image, names };
}

/** Whether another image was built on `id` (names it its parent). */
function hasChildren(db: ImageDb, id: Digest): boolean {
  return Object.values(db.images).some((image) => image.parent === id);
}

function own<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A fresh copy with null-prototype tables, so a name like "__proto__" is just a name. */
function normalise(raw: ImageDb | undefined): ImageDb {
  const db = emptyDb();
  Object.assign(db.images, raw?.images);
  Object.assign(db.names, raw?.names);
  return db;
}

/**
 * Whether names are of one repository, with at most one tag among them (moby's
 * `isSingleReference`): what `docker rmi` removes without force. None is false.
 */
export function isSingleReference(names: readonly string[]): boolean {
  if (names.length === 0) return false;
  const repos = new Set(names.map(repoOf));
  return repos.size === 1 && names.filter((n) => !isDigestReference(n)).length <= 1;
}

/** `…@sha256:…`: a name by manifest digest rather than by tag. */
function isDigestReference(name: string): boolean {
  return name.includes('@');
}

/** Point each digest reference at `id`, unless it points at another image already. */
function addReferences(db: ImageDb, id: Digest, references: readonly string[]): void {
  for (const reference of references) if (own(db.names, reference) === undefined) db.names[reference] = id;
}

function checkDigestReference(reference: string): void {
  checkName(reference);
  const at = reference.lastIndexOf('@');
  if (at <= 0) throw invalidArgument(`invalid digest reference ${JSON.stringify(reference)}: expected repository@sha256:…`);
  parseDigest(reference.slice(at + 1));
}

/** `docker.io/library/busybox:latest` → `docker.io/library/busybox` (a port's colon is not a tag). */
function repoOf(name: string): string {
  const at = name.indexOf('@');
  const base = at >= 0 ? name.slice(0, at) : name;
  const colon = base.lastIndexOf(':');
  return colon > base.lastIndexOf('/') ? base.slice(0, colon) : base;
}

function emptyDb(): ImageDb {
  return { version: 1, images: Object.create(null) as ImageDb['images'], names: Object.create(null) as ImageDb['names'] };
}

function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 1024 || /[\s\0]/.test(name)) {
    throw invalidArgument(`invalid image name ${JSON.stringify(name)}: expected a normalised reference without spaces`);
  }
}
