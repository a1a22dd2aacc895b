import fs from 'node:fs';
import { invalidArgument } from '@ctr/errors';
import { walkInRoot } from './root-path';

/**
 * Paths inside a layer root. Entry names are normalised (leading `/` and `./` dropped, `..`
 * that would climb above the root rejected), and every directory on the way to an entry is
 * resolved inside the root by `walkInRoot` (symlinks re-rooted) — the rule that keeps a layer
 * from writing through `etc -> /` onto the host (SECURITY-CASES §0.1–0.2).
 */

/** The components of a normalised entry name; [] is the root itself. */
export function entryComponents(name: string, what = 'entry'): string[] {
  if (name.includes('\0')) throw invalidArgument(`layer ${what} name "${name.replace(/\0/g, '\\0')}" contains a NUL byte`);
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) {
        throw invalidArgument(`layer ${what} "${name}" points outside the layer root`, {
          hint: 'the layer is malformed or hostile; it was not applied',
          details: { name },
        });
      }
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}

/**
 * Resolves directories inside a root and remembers the ones it has seen, so a layer with
 * thousands of files under `usr/lib` pays for the lstat walk once. Whoever removes or replaces
 * something must call `forget` for it.
 */
export class LayerRoot {
  /** Relative paths (no symlinks in them) known to be real directories; '' is the root. */
  private readonly dirs = new Set<string>(['']);

  constructor(
    readonly root: string,
    /** Called for every directory created on the way (implicit parents). */
    private readonly onCreate: (rel: string) => void = () => undefined,
  ) {}

  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  isKnownDir(rel: string): boolean {
    return this.dirs.has(rel);
  }

  markDir(rel: string): void {
    this.dirs.add(rel);
  }

  /** Drop what is known about `rel` and everything under it (after removing or replacing it). */
  forget(rel: string): void {
    if (rel === '') {
      this.dirs.clear();
      this.dirs.add('');
      return;
    }
    const prefix = `${rel}/`;
    for (const dir of this.dirs) if (dir === rel || dir.startsWith(prefix)) this.dirs.delete(dir);
  }

  /**
   * Resolve directory components inside the root; returns the resolved relative path, or
   * undefined when a component is missing and `create` is false. With `create`, missing
   * directories are made (mode 0755, as Docker does for implicit parents).
   */
  resolveDir(components: readonly string[], create: boolean): string | undefined {
    return walkInRoot(components.join('/'), (rel) => {
      if (this.dirs.has(rel)) return true;
      const abs = this.abs(rel);
      // Synchronous: these are cache misses only, and one lstat is cheaper than a thread-pool round trip.
      const stat = fs.lstatSync(abs, { throwIfNoEntry: false });
      if (stat === undefined) {
        if (!create) return false;
        fs.mkdirSync(abs, 0o755);
        this.onCreate(rel);
      } else if (stat.isSymbolicLink()) {
        return fs.readlinkSync(abs);
      } else if (!stat.isDirectory()) {
        throw invalidArgument(`layer path "${rel}" is not a directory, but an entry needs it to be one`, {
          details: { path: rel },
        });
      }
      this.dirs.add(rel);
      return true;
    });
  }
}
