import { watch as watchDirectory, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { CtrError } from '@ctr/errors';

/**
 * The file watching under compose's watch: its roots (the rules' paths) followed for every
 * change below them, as compose's naive fsnotify watcher does. Each directory gets one inotify
 * watch of its own (not one per file, as Node 20's `recursive` option makes on Linux), the
 * directories the rules ignore whole (`.git`, a `.dockerignore`'d `node_modules`) none; a
 * directory that appears is watched from then on and its files reported, since they may have
 * been written before its watch began. Each root's nearest existing ancestor is watched too,
 * so a root replaced by an editor's atomic save, removed, or made later is still seen.
 */
export class TreeWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;

  constructor(
    private readonly roots: readonly string[],
    /** A path below (or at) a root changed: written, made, removed or renamed. */
    private readonly onChange: (file: string) => void,
    /** A directory below a root that no rule wants anything of: it is not watched. */
    private readonly pruned: (dir: string) => boolean,
    private readonly onError: (error: Error) => void,
  ) {}

  async start(): Promise<void> {
    for (const root of this.roots) {
      let at = root;
      while (!(await isDirectory(path.dirname(at))) && path.dirname(at) !== at) at = path.dirname(at);
      // The root, when it exists, and what is below it are watched from its ancestor's children.
      await this.watch(path.dirname(at), false);
    }
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /** Below or at a root: what the rules are about. */
  private covered(file: string): boolean {
    return this.roots.some((root) => file === root || file.startsWith(`${root}/`));
  }

  /** On the way to a root that does not exist yet (or is being replaced). */
  private leadsToRoot(dir: string): boolean {
    return this.roots.some((root) => root.startsWith(`${dir}/`));
  }

  /** Watches `dir` and, where it is covered, what is below it; with `report`, its files are changes. */
  private async watch(dir: string, report: boolean): Promise<void> {
    if (this.closed || this.watchers.has(dir) || (this.covered(dir) && !this.leadsToRoot(dir) && this.pruned(dir))) return;
    const identity = await lstat(dir).catch(() => undefined);
    // Closed, or watched by another event's handling, while the lstat was under way.
    if (!identity?.isDirectory() || this.closed || this.watchers.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watchDirectory(dir, { persistent: true }, (_event, name) => {
        if (name) void this.changed(dir, watcher, identity.ino, path.join(dir, name.toString()));
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw watchError(error, dir);
    }
    watcher.on('error', (error) => this.onError(watchError(error, dir)));
    this.watchers.set(dir, watcher);
    const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const child of children) {
      const file = path.join(dir, child.name);
      if (child.isDirectory() && (this.covered(file) || this.leadsToRoot(file))) await this.watch(file, report);
      else if (report && this.covered(file)) this.onChange(file);
    }
  }

  /** An event of `dir`'s `watcher` about `file`: reported when covered; a new directory watched, a gone one's watches closed. */
  private async changed(dir: string, watcher: FSWatcher, ino: number, file: string): Promise<void> {
    if (this.closed) return;
    // inotify also tells a watched directory's own removal, under its name: the parent's watch reports that
    // (and may be watching a new directory of that name already).
    if ((await lstat(dir).catch(() => undefined))?.ino !== ino) {
      watcher.close();
      if (this.watchers.get(dir) === watcher) this.watchers.delete(dir);
      return;
    }
    if (!(this.covered(file) || this.leadsToRoot(file))) return;
    if (this.covered(file)) this.onChange(file);
    const stat = await lstat(file).catch(() => undefined);
    // A watch of that name may be of a directory removed since (made again, perhaps under the
    // same inode number, which no identity check can tell): the directory is watched anew.
    this.unwatch(file);
    if (stat?.isDirectory()) await this.watch(file, true).catch((error: Error) => this.onError(error));
  }

  /** Closes the watches of `dir` and below (it was removed, renamed, or replaced by a file). */
  private unwatch(dir: string): void {
    for (const [watched, watcher] of this.watchers) {
      if (watched !== dir && !watched.startsWith(`${dir}/`)) continue;
      watcher.close();
      this.watchers.delete(watched);
    }
  }
}

/** A failure to watch or read `dir`, in words a user can act on. */
export function watchError(error: unknown, dir: string): CtrError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return new CtrError('ResourceExhausted', `cannot watch ${dir}: the system's limit of inotify watches is reached`, { cause: error, hint: 'raise fs.inotify.max_user_watches (sysctl), or ignore large directories in the watch rules or .dockerignore' });
  if (code === 'EMFILE') return new CtrError('ResourceExhausted', `cannot watch ${dir}: the system's limit of inotify instances or open files is reached`, { cause: error, hint: 'raise fs.inotify.max_user_instances (sysctl) or the open files limit (ulimit -n)' });
  if (code === 'EACCES' || code === 'EPERM') return new CtrError('Denied', `cannot watch ${dir}: permission denied`, { cause: error, hint: 'make it readable, or ignore it in the watch rules or .dockerignore' });
  return new CtrError('Internal', `cannot watch ${dir}: ${(error as Error).message}`, { cause: error });
}

async function isDirectory(dir: string): Promise<boolean> {
  return (await lstat(dir).catch(() => undefined))?.isDirectory() === true;
}

/**
 * compose's batching of file events: changes gathered until none has come for `quietMs`
 * (an editor saving many files, a branch switch, is one batch), each path once. Batches are
 * handled one at a time; what changes meanwhile is the next one.
 */
export class Batcher {
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly quietMs: number,
    /** Never rejects: a batch's failures are its own to report. */
    private readonly handle: (files: string[]) => Promise<void>,
  ) {}

  add(file: string): void {
    // An event whose handling was under way when the watch stopped.
    if (this.closed) return;
    this.pending.add(file);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.quietMs);
  }

  /** Drops what is pending and waits for the batch under way. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.pending.clear();
    await this.running;
  }

  private flush(): void {
    this.timer = undefined;
    const files = [...this.pending];
    this.pending = new Set();
    this.running = this.running.then(() => this.handle(files));
  }
}
