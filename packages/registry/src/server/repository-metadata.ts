import { promises as fs } from 'node:fs';
import path from 'node:path';
import { digestHex, type Descriptor, type Digest } from '@ctr/image';
import { listDirectory, readFileIfExists, writeFileAtomic } from './atomic-file';

/** What the server remembers about a manifest beyond its bytes (which live in the content store). */
export interface ManifestRecord {
  mediaType: string;
  size: number;
  /** The descriptor this manifest appears as in a referrers list, when it has a subject. */
  subject?: Digest;
}

/**
 * The registry's own small metadata: which repositories exist, their tags, which manifests
 * and blobs each repository holds, and referrers by subject. Blob and manifest bytes live
 * in the shared content store; a repository only holds links, so a blob pushed to two
 * repositories is stored once and deleting it from one leaves the other intact.
 *
 * Layout under `<root>/repositories/<name>/`:
 *   tags/<tag>                      → manifest digest
 *   manifests/<hex>                 → ManifestRecord JSON
 *   blobs/<hex>                     → empty link file
 *   referrers/<subject hex>/<hex>   → the referrer's descriptor JSON
 * Every caller has validated names, tags and digests before they reach this class.
 */
export class RepositoryMetadata {
  constructor(private readonly root: string) {}

  private dir(repository: string): string {
    return path.join(this.root, 'repositories', repository);
  }

  async exists(repository: string): Promise<boolean> {
    return (await fs.stat(this.dir(repository)).catch(() => undefined))?.isDirectory() ?? false;
  }

  async hasBlob(repository: string, digest: Digest): Promise<boolean> {
    return (await readFileIfExists(path.join(this.dir(repository), 'blobs', digestHex(digest)))) !== undefined;
  }

  async linkBlob(repository: string, digest: Digest): Promise<void> {
    await writeFileAtomic(path.join(this.dir(repository), 'blobs', digestHex(digest)), '');
  }

  /** False when the repository did not hold the blob. */
  async unlinkBlob(repository: string, digest: Digest): Promise<boolean> {
    return removeFile(path.join(this.dir(repository), 'blobs', digestHex(digest)));
  }

  async manifest(repository: string, digest: Digest): Promise<ManifestRecord | undefined> {
    const text = await readFileIfExists(path.join(this.dir(repository), 'manifests', digestHex(digest)));
    return text === undefined ? undefined : (JSON.parse(text) as ManifestRecord);
  }

  async putManifest(repository: string, digest: Digest, record: ManifestRecord, referrer?: Descriptor): Promise<void> {
    if (record.subject !== undefined && referrer !== undefined) {
      const file = path.join(this.dir(repository), 'referrers', digestHex(record.subject), digestHex(digest));
      await writeFileAtomic(file, JSON.stringify(referrer));
    }
    await writeFileAtomic(path.join(this.dir(repository), 'manifests', digestHex(digest)), JSON.stringify(record));
  }

  /** Remove a manifest, the tags that point at it and its referrers entry. False when absent. */
  async deleteManifest(repository: string, digest: Digest): Promise<boolean> {
    const record = await this.manifest(repository, digest);
    if (record === undefined) return false;
    for (const tag of await this.tags(repository)) {
      if ((await this.tag(repository, tag)) === digest) await this.deleteTag(repository, tag);
    }
    if (record.subject !== undefined) {
      await removeFile(path.join(this.dir(repository), 'referrers', digestHex(record.subject), digestHex(digest)));
    }
    return removeFile(path.join(this.dir(repository), 'manifests', digestHex(digest)));
  }

  async tag(repository: string, tag: string): Promise<Digest | undefined> {
    const text = await readFileIfExists(path.join(this.dir(repository), 'tags', tag));
    return text as Digest | undefined;
  }

  async setTag(repository: string, tag: string, digest: Digest): Promise<void> {
    await writeFileAtomic(path.join(this.dir(repository), 'tags', tag), digest);
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return removeFile(path.join(this.dir(repository), 'tags', tag));
  }

  /**
   * Every repository that holds a manifest, in byte order (the search index's listing).
   * Every directory is walked, records included: repositories nest (`a` and `a/b`).
   */
  async repositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (name: string): Promise<void> => {
      const entries = await fs.readdir(path.join(this.root, 'repositories', name), { withFileTypes: true }).catch(() => []);
      if (name !== '' && entries.some((e) => e.isDirectory() && e.name === 'manifests')) out.push(name);
      for (const entry of entries) if (entry.isDirectory()) await walk(name === '' ? entry.name : `${name}/${entry.name}`);
    };
    await walk('');
    return out.sort(byteOrder);
  }

  /** Tags in byte order, as the spec's pagination (`last`) assumes. */
  async tags(repository: string): Promise<string[]> {
    return (await listDirectory(path.join(this.dir(repository), 'tags'))).sort(byteOrder);
  }

  async referrers(repository: string, subject: Digest): Promise<Descriptor[]> {
    const dir = path.join(this.dir(repository), 'referrers', digestHex(subject));
    const out: Descriptor[] = [];
    for (const name of await listDirectory(dir)) {
      const text = await readFileIfExists(path.join(dir, name));
      if (text !== undefined) out.push(JSON.parse(text) as Descriptor);
    }
    return out;
  }
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function removeFile(file: string): Promise<boolean> {
  try {
    await fs.unlink(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
