import { existsSync, mkdirSync, promises as fs, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { conflict, invalidArgument, isCtrError, notFound } from '@ctr/errors';
import { readJson, writeFileAtomic } from '@ctr/store';
import type { MountSpec, RunOptions } from '@ctr/runtime';
import type { LogConfig } from './log-config';
import { isValidContainerName, randomName } from './names';

/** Generated names tried before the ID's short form (Docker tries six). */
const GENERATED_NAME_TRIES = 6;

/** What a Docker user set when creating a container, kept for inspect, ps and restarts. */
export interface ContainerRecord {
  id: string;
  /** Without the leading slash Docker shows in inspect. */
  name: string;
  created: string;
  /** As the user wrote it (`busybox`), and what it resolved to. */
  image: string;
  imageId: string;
  path: string;
  args: string[];
  /** The snapshot holding the container's writable layer. */
  snapshot: string;
  rootfs: string;
  run: RunOptions;
  mounts: Array<MountSpec & { name?: string }>;
  /** Anonymous volumes made for this container (removed with `rm -v`). */
  anonymousVolumes: string[];
  labels: Record<string, string>;
  network: { mode: string; aliases: string[]; ip?: string; ports: string[]; publishAll: boolean };
  restartPolicy: { name: 'no' | 'always' | 'on-failure' | 'unless-stopped'; maximumRetryCount: number };
  autoRemove: boolean;
  restartCount: number;
  /** Set by `stop`, so `unless-stopped` knows a user stopped it. */
  stoppedByUser?: boolean;
  /** Its restart policy has decided to start it again, and the start has not happened yet. */
  restarting?: boolean;
  log?: LogConfig;
}

/**
 * Container records and the names that point at them, under `<root>/engine/`. A name is
 * claimed by creating a symlink `names/<name> → <id>`: creation is atomic, so two engine
 * processes can never give one name to two containers. Links and records are small and
 * local: they are made and read directly, not through the thread pool (store's fs-util says why).
 */
export class ContainerRecords {
  private readonly dir: string;
  private readonly namesDir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'engine', 'containers');
    this.namesDir = path.join(root, 'engine', 'names');
  }

  async init(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    mkdirSync(this.namesDir, { recursive: true, mode: 0o700 });
  }

  /** Claim a name for a container (returned); Docker's Conflict message when it is taken. */
  async claimName(name: string, id: string): Promise<string> {
    if (!isValidContainerName(name)) {
      throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    try {
      symlinkSync(id, path.join(this.namesDir, name));
      return name;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readLink(path.join(this.namesDir, name)) ?? '';
      // A name left by a container whose record is gone (a crash between the two writes) is free.
      if (owner && !this.has(owner)) {
        rmSync(path.join(this.namesDir, name), { force: true });
        return this.claimName(name, id);
      }
      throw conflict(
        `Conflict. The container name "/${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
  }

  /**
   * Claim a generated name: on a clash another is tried (six in all), then the ID's short
   * form — Docker's way, so a container asked for without a name never fails for its name.
   */
  async claimGeneratedName(id: string): Promise<string> {
    for (let retry = 0; retry < GENERATED_NAME_TRIES; retry++) {
      const name = randomName(retry);
      try {
        return await this.claimName(name, id);
      } catch (error) {
        if (!isCtrError(error) || error.code !== 'Conflict') throw error;
      }
    }
    return this.claimName(id.slice(0, 12), id);
  }

  async releaseName(name: string, id: string): Promise<void> {
    const link = path.join(this.namesDir, name);
    if (readLink(link) === id) rmSync(link, { force: true });
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  async exists(id: string): Promise<boolean> {
    return this.has(id);
  }

  private has(id: string): boolean {
    return existsSync(this.file(id));
  }

  async write(record: ContainerRecord): Promise<void> {
    await writeFileAtomic(this.file(record.id), JSON.stringify(record));
  }

  async read(id: string): Promise<ContainerRecord> {
    const record = await readJson<ContainerRecord>(this.file(id));
    if (!record) throw notFound(`No such container: ${id}`);
    return record;
  }

  async remove(id: string): Promise<void> {
    rmSync(this.file(id), { force: true });
  }

  async list(): Promise<ContainerRecord[]> {
    const files = await fs.readdir(this.dir).catch(() => [] as string[]);
    const records = await Promise.all(
      files.filter((f) => f.endsWith('.json')).map((f) => readJson<ContainerRecord>(path.join(this.dir, f)).catch(() => undefined)),
    );
    return records.filter((r): r is ContainerRecord => r !== undefined);
  }

  /** Find by full ID, name (with or without `/`), or unique ID prefix — like docker. */
  async find(ref: string): Promise<ContainerRecord> {
    if (!ref) throw invalidArgument('a container name or ID must not be empty');
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    if (/^[a-f0-9]{64}$/.test(ref) && this.has(ref)) return this.read(ref);
    const byName = readLink(path.join(this.namesDir, name));
    if (byName && this.has(byName)) return this.read(byName);
    if (/^[a-f0-9]+$/.test(ref)) {
      const matches = (await fs.readdir(this.dir).catch(() => [] as string[])).filter((f) => f.startsWith(ref) && f.endsWith('.json'));
      if (matches.length === 1) return this.read((matches[0] as string).slice(0, -5));
      if (matches.length > 1) throw invalidArgument(`multiple IDs found with provided prefix: ${ref}`);
    }
    throw notFound(`No such container: ${ref}`);
  }
}

function readLink(link: string): string | undefined {
  try {
    return readlinkSync(link);
  } catch {
    return undefined;
  }
}
