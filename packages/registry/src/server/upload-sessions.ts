import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { listDirectory, readFileIfExists, writeFileAtomic } from './atomic-file';

export interface UploadSession {
  id: string;
  repository: string;
  /** Bytes received so far. */
  size: number;
  startedAt: number;
}

const ID = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;

/**
 * Blob uploads in progress (POST → PATCH… → PUT). Chunks are appended to a file under
 * `<root>/uploads/<id>/data`; the bytes become a blob only when the final PUT names a digest
 * and the content store verifies it. A session that fails verification, is cancelled or
 * expires is removed with everything it received, so nothing partial is ever visible.
 */
export class UploadSessions {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly root: string) {}

  private dir(id: string): string {
    return path.join(this.root, 'uploads', id);
  }

  async create(repository: string): Promise<UploadSession> {
    const id = randomUUID();
    const session: UploadSession = { id, repository, size: 0, startedAt: Date.now() };
    await fs.mkdir(this.dir(id), { recursive: true });
    await fs.writeFile(path.join(this.dir(id), 'data'), '');
    await writeFileAtomic(path.join(this.dir(id), 'info.json'), JSON.stringify({ repository, startedAt: session.startedAt }));
    return session;
  }

  /** The session, if it exists and belongs to `repository`. */
  async get(id: string, repository: string): Promise<UploadSession | undefined> {
    if (!ID.test(id)) return undefined;
    const text = await readFileIfExists(path.join(this.dir(id), 'info.json'));
    if (text === undefined) return undefined;
    const info = JSON.parse(text) as { repository: string; startedAt: number };
    if (info.repository !== repository) return undefined;
    const stat = await fs.stat(path.join(this.dir(id), 'data')).catch(() => undefined);
    if (stat === undefined) return undefined;
    return { id, repository, size: stat.size, startedAt: info.startedAt };
  }

  /**
   * Append a chunk. `check` runs under the session's lock with the current size, so two
   * racing PATCHes cannot both pass an offset check. A chunk cut short (client gone) is
   * rolled back, keeping the session at its last complete chunk.
   */
  async append(session: UploadSession, source: Readable, check: (size: number) => void): Promise<number> {
    return this.exclusive(session.id, async () => {
      const file = path.join(this.dir(session.id), 'data');
      const before = (await fs.stat(file)).size;
      check(before);
      try {
        await pipeline(source, createWriteStream(file, { flags: 'a' }));
      } catch (error) {
        await fs.truncate(file, before).catch(() => undefined);
        throw error;
      }
      return (await fs.stat(file)).size;
    });
  }

  read(session: UploadSession): Readable {
    return createReadStream(path.join(this.dir(session.id), 'data'));
  }

  async delete(id: string): Promise<void> {
    if (!ID.test(id)) return;
    await fs.rm(this.dir(id), { recursive: true, force: true });
  }

  /** Remove sessions older than `maxAgeMs` (abandoned uploads must not fill the disk). */
  async purge(maxAgeMs: number): Promise<number> {
    let removed = 0;
    for (const id of await listDirectory(path.join(this.root, 'uploads'))) {
      if (this.locks.has(id)) continue;
      const text = await readFileIfExists(path.join(this.dir(id), 'info.json'));
      const startedAt = text === undefined ? 0 : (JSON.parse(text) as { startedAt: number }).startedAt;
      if (Date.now() - startedAt > maxAgeMs) {
        await this.delete(id);
        removed += 1;
      }
    }
    return removed;
  }

  private async exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(id, settled);
    try {
      return await next;
    } finally {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    }
  }
}
