import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CtrError, invalidArgument, isCtrError, notFound } from '@ctr/errors';
import { withLock, writeFileAtomic } from '@ctr/store';
import type { ClusterObjects, ClusterStore, ClusterTx, NewObject, ObjectKind } from './context';
import type { Meta } from './types';

/** Each kind's name in swarmkit's messages (`secret x not found`). */
const NOUN: Record<ObjectKind, string> = { cluster: 'cluster', nodes: 'node', services: 'service', tasks: 'task', secrets: 'secret', configs: 'config' };

/** Secrets' data and the join tokens live in these files: only root reads them, as dockerd's swarm directory. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** How often a change wait looks at the index. */
const CHANGE_POLL_MS = 200;

/** A transaction's writes, kept whole on disk until every object file is in place (`journal.json`). */
interface Journal {
  index: number;
  writes: Array<{ kind: ObjectKind; id: string; object: ClusterObjects[ObjectKind] | null }>;
}

/**
 * Go's RFC3339Nano of a UTC time, as swarmkit's timestamps read (`2016-06-07T20:28:06.418513598Z`):
 * the fraction without trailing zeros. Node's clock gives milliseconds.
 */
export function swarmTime(date = new Date()): string {
  const iso = date.toISOString();
  const [whole = iso, fraction = ''] = iso.slice(0, -1).split('.');
  const digits = fraction.replace(/0+$/, '');
  return `${whole}${digits ? `.${digits}` : ''}Z`;
}

/**
 * Two swarm times in order, for sorting (negative when `a` is earlier). Never their strings'
 * order: with trailing zeros trimmed, `…:11.12Z` sorts after `…:11.123Z`, though earlier.
 */
export function byTime(a: string, b: string): number {
  return Date.parse(a) - Date.parse(b);
}

/**
 * An error as dockerd passes swarmkit's on (`rpc error: code = AlreadyExists desc = …`), what
 * the docker CLI prints after "Error response from daemon:".
 */
export function rpcError(code: CtrError['code'], grpcCode: string, desc: string, hint?: string): CtrError {
  return new CtrError(code, `rpc error: code = ${grpcCode} desc = ${desc}`, hint ? { hint } : {});
}

/**
 * dockerd's lookup of a swarm object by what a user typed (daemon/cluster/helpers.go): the full
 * ID, else the exact name, else an ID prefix; none is `<noun> x not found`, several are ambiguous.
 */
export function findObject<T extends { ID: string }>(objects: readonly T[], input: string, noun: string, nameOf: (object: T) => string | undefined): T {
  const byId = objects.find((o) => o.ID === input);
  if (byId) return byId;
  let matches = objects.filter((o) => nameOf(o) === input);
  if (matches.length === 0 && input !== '') matches = objects.filter((o) => o.ID.startsWith(input));
  if (matches.length === 0) throw notFound(`${noun} ${input} not found`);
  if (matches.length > 1) throw invalidArgument(`${noun} ${input} is ambiguous (${matches.length} matches found)`);
  return matches[0] as T;
}

/** One object a committed transaction created, changed or removed, as swarmkit's store watch reports it. */
export interface ClusterChange {
  kind: ObjectKind;
  action: 'create' | 'update' | 'remove';
  /** The object as committed; the removed one for `remove`. */
  object: ClusterObjects[ObjectKind];
  /** The object before the transaction, for `update`. */
  old?: ClusterObjects[ObjectKind];
}

export interface ClusterStoreOptions {
  /** Told of each transaction's changes once they are on disk, still under the lock: watchers see them in the store's order. */
  onCommit?: (changes: ClusterChange[]) => void | Promise<void>;
}

/** The cluster store over `<root>/swarm/` (context.ts's ClusterStore): one JSON file per object. */
export function openClusterStore(root: string, options: ClusterStoreOptions = {}): ClusterStore {
  return new FileClusterStore(root, options);
}

class FileClusterStore implements ClusterStore {
  private readonly dir: string;
  /** Beside the directory, not in it: `destroy` moves the directory away while waiters still queue on the lock. */
  private readonly lockFile: string;
  private readonly journal: string;
  private readonly indexFile: string;

  constructor(
    private readonly root: string,
    private readonly options: ClusterStoreOptions,
  ) {
    this.dir = path.join(root, 'swarm');
    this.lockFile = path.join(root, 'swarm.lock');
    this.journal = path.join(this.dir, 'journal.json');
    this.indexFile = path.join(this.dir, 'index.json');
  }

  active(): boolean {
    return listIds(path.join(this.dir, 'cluster')).length > 0;
  }

  async list<K extends ObjectKind>(kind: K): Promise<Array<ClusterObjects[K]>> {
    await this.settle();
    return readKind(this.dir, kind);
  }

  async get<K extends ObjectKind>(kind: K, id: string): Promise<ClusterObjects[K] | undefined> {
    await this.settle();
    return readObject(this.dir, kind, id);
  }

  async transaction<T>(fn: (tx: ClusterTx) => T | Promise<T>, signal?: AbortSignal): Promise<T> {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    return withLock(
      this.lockFile,
      async () => {
        mkdirSync(this.dir, { recursive: true, mode: DIR_MODE });
        await this.replayJournal();
        const tx = new FileTx(this.dir, readIndex(this.indexFile));
        const result = await fn(tx);
        await this.commit(tx.journal());
        const changes = tx.changes();
        if (changes.length > 0) await this.options.onCommit?.(changes);
        return result;
      },
      { signal },
    );
  }

  async destroy(): Promise<void> {
    const doomed = path.join(this.root, 'swarm.removing');
    await withLock(this.lockFile, async () => {
      // Renamed first, so that a crash part way through the removal never leaves a store that
      // looks active with half its objects.
      rmSync(doomed, { recursive: true, force: true });
      if (existsSync(this.dir)) renameSync(this.dir, doomed);
      rmSync(doomed, { recursive: true, force: true });
    });
  }

  index(): number {
    return readIndex(this.indexFile);
  }

  async changed(since: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    // Polled, not told: the writers are other processes too (the ctr command, conmon's exit commands).
    const until = Date.now() + timeoutMs;
    while (!signal.aborted && this.index() <= since && Date.now() < until) {
      await delay(Math.min(CHANGE_POLL_MS, until - Date.now()), undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * A journal on disk is a transaction that was committing (in another process, or in one that
   * died): a reader waits for the lock, so that it never sees half of one.
   */
  private async settle(): Promise<void> {
    if (existsSync(this.journal)) await withLock(this.lockFile, () => this.replayJournal());
  }

  /** The journal is written whole first, so a crash while the object files are written is finished by the next writer. */
  private async commit(journal: Journal | undefined): Promise<void> {
    if (!journal) return;
    await writeFileAtomic(this.journal, JSON.stringify(journal), { mode: FILE_MODE });
    await this.apply(journal);
  }

  private async replayJournal(): Promise<void> {
    let text: string;
    try {
      text = readFileSync(this.journal, 'utf8');
    } catch {
      return;
    }
    await this.apply(JSON.parse(text) as Journal);
  }

  /** Idempotent: replaying a journal whose writes were all made rewrites the same files. */
  private async apply(journal: Journal): Promise<void> {
    for (const { kind, id, object } of journal.writes) {
      const file = objectFile(this.dir, kind, id);
      if (object === null) rmSync(file, { force: true });
      else {
        mkdirSync(path.dirname(file), { recursive: true, mode: DIR_MODE });
        await writeFileAtomic(file, JSON.stringify(object), { mode: FILE_MODE });
      }
    }
    await writeFileAtomic(this.indexFile, JSON.stringify({ Index: journal.index }), { mode: FILE_MODE });
    rmSync(this.journal, { force: true });
  }
}

/** Reads see the transaction's own writes; writes are kept until the transaction commits. */
class FileTx implements ClusterTx {
  private readonly pending = new Map<string, { kind: ObjectKind; id: string; object: ClusterObjects[ObjectKind] | null }>();
  /** Each written object as it was before the transaction (undefined: it did not exist). */
  private readonly before = new Map<string, ClusterObjects[ObjectKind] | undefined>();

  constructor(
    private readonly dir: string,
    private index: number,
  ) {}

  list<K extends ObjectKind>(kind: K): Array<ClusterObjects[K]> {
    const ids = new Set(listIds(path.join(this.dir, kind)));
    for (const write of this.pending.values()) if (write.kind === kind) ids.add(write.id);
    const out: Array<ClusterObjects[K]> = [];
    for (const id of [...ids].sort()) {
      const object = this.get(kind, id);
      if (object) out.push(object);
    }
    return out;
  }

  get<K extends ObjectKind>(kind: K, id: string): ClusterObjects[K] | undefined {
    const write = this.pending.get(key(kind, id));
    if (write) return write.object === null ? undefined : (structuredClone(write.object) as ClusterObjects[K]);
    return readObject(this.dir, kind, id);
  }

  create<K extends ObjectKind>(kind: K, object: NewObject<K>): ClusterObjects[K] {
    if (this.get(kind, object.ID) !== undefined) throw rpcError('AlreadyExists', 'AlreadyExists', `${NOUN[kind]} ${object.ID} already exists`);
    const now = swarmTime();
    const created = stamp(object, ++this.index, now, now) as ClusterObjects[K];
    this.remember(kind, object.ID, undefined);
    this.pending.set(key(kind, object.ID), { kind, id: object.ID, object: structuredClone(created) });
    return created;
  }

  update<K extends ObjectKind>(kind: K, object: ClusterObjects[K], expectedVersion?: number): ClusterObjects[K] {
    const current = this.get(kind, object.ID);
    if (current === undefined) throw notFound(`${NOUN[kind]} ${object.ID} not found`);
    // swarmkit's store.ErrSequenceConflict: the caller read an older version than the one stored.
    if (expectedVersion !== undefined && expectedVersion !== (current as Meta).Version.Index) {
      throw new CtrError('Conflict', 'rpc error: code = Unknown desc = update out of sequence', {
        hint: 'the object changed since it was read: inspect it again and retry',
        details: { expected: expectedVersion, stored: (current as Meta).Version.Index },
      });
    }
    const updated = stamp(object, ++this.index, (current as Meta).CreatedAt, swarmTime()) as ClusterObjects[K];
    this.remember(kind, object.ID, current);
    this.pending.set(key(kind, object.ID), { kind, id: object.ID, object: structuredClone(updated) });
    return updated;
  }

  /** Deleting what is already gone does nothing: two reconcilers may remove the same task. */
  delete(kind: ObjectKind, id: string): void {
    const current = this.get(kind, id);
    if (current === undefined) return;
    this.remember(kind, id, current);
    this.pending.set(key(kind, id), { kind, id, object: null });
  }

  /** The first write of an object in the transaction sees it as it was before. */
  private remember(kind: ObjectKind, id: string, current: ClusterObjects[ObjectKind] | undefined): void {
    if (!this.before.has(key(kind, id))) this.before.set(key(kind, id), current);
  }

  /** What the transaction did, object by object: an object made and removed within it did nothing. */
  changes(): ClusterChange[] {
    const out: ClusterChange[] = [];
    for (const [k, { kind, object }] of this.pending) {
      const old = this.before.get(k);
      if (object !== null) out.push(old === undefined ? { kind, action: 'create', object } : { kind, action: 'update', object, old });
      else if (old !== undefined) out.push({ kind, action: 'remove', object: old });
    }
    return out;
  }

  journal(): Journal | undefined {
    if (this.pending.size === 0) return undefined;
    return { index: this.index, writes: [...this.pending.values()] };
  }
}

/** The object with its version and times, in the order Go writes swarm objects' fields (ID, Version, CreatedAt, UpdatedAt, the rest). */
function stamp(object: { ID: string }, index: number, createdAt: string, updatedAt: string): ClusterObjects[ObjectKind] {
  const { ID, Version: _version, CreatedAt: _created, UpdatedAt: _updated, ...rest } = structuredClone(object) as { ID: string } & Partial<Meta>;
  return { ID, Version: { Index: index }, CreatedAt: createdAt, UpdatedAt: updatedAt, ...rest } as unknown as ClusterObjects[ObjectKind];
}

function key(kind: ObjectKind, id: string): string {
  return `${kind}/${id}`;
}

function objectFile(dir: string, kind: ObjectKind, id: string): string {
  // IDs come from requests too (a lookup by ID): one that could leave the kind's directory is no object's.
  if (!/^[A-Za-z0-9_.-]+$/.test(id) || id.startsWith('.')) throw notFound(`${NOUN[kind]} ${id} not found`);
  return path.join(dir, kind, `${id}.json`);
}

function listIds(kindDir: string): string[] {
  try {
    return readdirSync(kindDir)
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .map((name) => name.slice(0, -'.json'.length));
  } catch {
    return [];
  }
}

function readObject<K extends ObjectKind>(dir: string, kind: K, id: string): ClusterObjects[K] | undefined {
  let text: string;
  try {
    text = readFileSync(objectFile(dir, kind, id), 'utf8');
  } catch (error) {
    if (isCtrError(error) || (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as ClusterObjects[K];
}

function readKind<K extends ObjectKind>(dir: string, kind: K): Array<ClusterObjects[K]> {
  const out: Array<ClusterObjects[K]> = [];
  // A file removed between the listing and its read was deleted meanwhile: it is skipped.
  for (const id of listIds(path.join(dir, kind)).sort()) {
    const object = readObject(dir, kind, id);
    if (object) out.push(object);
  }
  return out;
}

function readIndex(file: string): number {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { Index: number }).Index;
  } catch {
    return 0;
  }
}

/**
 * swarmkit's filterMatchLabels over docker's `label=` values (`key` or `key=value`): every key is
 * there, with that value when one is given; `key=` matches any value, as convertKVStringsToMap reads it.
 */
export function labelsMatch(wanted: readonly string[] | undefined, labels: Record<string, string> | undefined): boolean {
  return (wanted ?? []).every((w) => {
    const eq = w.indexOf('=');
    const name = eq === -1 ? w : w.slice(0, eq);
    const value = eq === -1 ? '' : w.slice(eq + 1);
    return labels !== undefined && Object.prototype.hasOwnProperty.call(labels, name) && (value === '' || labels[name] === value);
  });
}

/** swarmkit's filterContainsPrefix: no values, or the text starts with one of them. */
export function prefixMatch(values: readonly string[] | undefined, text: string): boolean {
  return !values || values.length === 0 || values.some((v) => text.startsWith(v));
}
