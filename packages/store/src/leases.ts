import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { invalidArgument, notFound } from '@ctr/errors';
import { errno, readJson, storageError, writeFileAtomic } from './fs-util';
import { holderRuns, thisProcess, type ProcessHolder } from './holder';
import { withLock } from './lock';

/**
 * A lease protects work in progress from garbage collection: a pull, build or commit
 * takes one, records every blob and snapshot it makes in it, and deletes it once the
 * result is reachable from an image name. An expired lease protects nothing, and neither does
 * one whose holder has ended, so a killed pull's leftovers are collected by the next gc.
 */
export interface Lease {
  id: string;
  createdAt: string;
  /** ISO time after which the lease no longer protects anything. */
  expiresAt: string;
  /** The process whose work it protects: once it has ended, the lease is over. Absent: until `expiresAt`. */
  holder?: ProcessHolder;
  labels: Record<string, string>;
  resources: LeaseResource[];
}

export interface LeaseResource {
  type: 'content' | 'snapshot';
  /** A blob digest, or a snapshot key/name. */
  id: string;
}

export interface CreateLeaseOptions {
  id?: string;
  /** Lifetime in milliseconds (default 24 hours). */
  expiresInMs?: number;
  labels?: Record<string, string>;
  /**
   * Whether the lease ends with this process (default true): the work it protects is this
   * process's. False makes a lease that lasts until it expires, whoever made it.
   */
  heldByProcess?: boolean;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Leases are not synced to disk: one that a machine crash loses only stops protecting the
 * work of a process that died with the machine, which garbage collection may then take —
 * never anything an image name reaches.
 */
const NOT_DURABLE = { durable: false };
const DAY = 24 * 60 * 60 * 1000;

/** Whether a lease protects nothing any more at `now`. A holder that has ended never comes back, so this is final. */
function over(lease: Lease, now: number): boolean {
  return Date.parse(lease.expiresAt) <= now || (lease.holder !== undefined && !holderRuns(lease.holder));
}

export class LeaseManager {
  constructor(
    private readonly dir: string,
    private readonly lockFile: string,
  ) {}

  async create(options: CreateLeaseOptions = {}): Promise<Lease> {
    const id = options.id ?? `lease-${randomBytes(8).toString('hex')}`;
    this.check(id);
    const now = Date.now();
    const lease: Lease = {
      id,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + (options.expiresInMs ?? DAY)).toISOString(),
      ...(options.heldByProcess === false ? {} : { holder: thisProcess() }),
      labels: { ...options.labels },
      resources: [],
    };
    await withLock(this.lockFile, async () => {
      if (await this.read(id)) throw invalidArgument(`lease "${id}" already exists`);
      await writeFileAtomic(this.file(id), JSON.stringify(lease), NOT_DURABLE);
    });
    return lease;
  }

  async get(id: string): Promise<Lease> {
    this.check(id);
    const lease = await this.read(id);
    if (!lease) throw notFound(`lease "${id}" not found in ${this.dir}`);
    return lease;
  }

  async list(): Promise<Lease[]> {
    const leases: Lease[] = [];
    for (const entry of await this.entries()) {
      const lease = await this.read(entry);
      if (lease) leases.push(lease);
    }
    return leases;
  }

  /** Record a resource in a lease (idempotent). */
  async addResource(id: string, resource: LeaseResource): Promise<void> {
    this.check(id);
    await withLock(this.lockFile, async () => {
      const lease = await this.get(id);
      if (lease.resources.some((r) => r.type === resource.type && r.id === resource.id)) return;
      lease.resources.push(resource);
      await writeFileAtomic(this.file(id), JSON.stringify(lease), NOT_DURABLE);
    });
  }

  async delete(id: string): Promise<void> {
    this.check(id);
    await withLock(this.lockFile, async () => {
      try {
        await fs.unlink(this.file(id));
      } catch (error) {
        if (errno(error) === 'ENOENT') throw notFound(`lease "${id}" not found in ${this.dir}`);
        throw storageError(error, `deleting lease ${id}`);
      }
    });
  }

  /** Run `fn` under a fresh lease, deleted afterwards whatever happens. */
  async withLease<T>(fn: (lease: Lease) => Promise<T>, options?: CreateLeaseOptions): Promise<T> {
    const lease = await this.create(options);
    try {
      return await fn(lease);
    } finally {
      await this.delete(lease.id);
    }
  }

  /** Leases still in force at `now`: not expired, and their holder (if any) still runs. */
  async active(now = Date.now()): Promise<Lease[]> {
    return (await this.list()).filter((l) => !over(l, now));
  }

  /**
   * Run `fn` with the leases in force, while no lease can be made, deleted or gain a
   * resource (their lock is held): what they hold cannot grow while a release decides what
   * to free. Keep `fn` short: every pull and build waits on it to record what it writes.
   */
  async frozen<T>(fn: (active: Lease[]) => Promise<T>): Promise<T> {
    return withLock(this.lockFile, async () => fn(await this.active()));
  }

  /** Delete the leases that are over: expired, or their holder has ended. Returns their ids. */
  async expire(now = Date.now()): Promise<string[]> {
    const gone: string[] = [];
    for (const lease of await this.list()) {
      if (over(lease, now)) {
        await fs.rm(this.file(lease.id), { force: true });
        gone.push(lease.id);
      }
    }
    return gone;
  }

  private async entries(): Promise<string[]> {
    try {
      return (await fs.readdir(this.dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw storageError(error, `listing leases in ${this.dir}`);
    }
  }

  private read(id: string): Promise<Lease | undefined> {
    return readJson<Lease>(this.file(id));
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  private check(id: string): void {
    if (!ID.test(id)) throw invalidArgument(`invalid lease id "${id}": use letters, digits, "_", "." and "-"`);
  }
}
