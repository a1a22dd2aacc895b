import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { TAR_END, encodeTarHeader, tarPadding, type TarWriteHeader } from '../src';

/** Test data helpers shared by the tar and layer tests. */

/** Every path under `dir`, relative, never descending into symlinks (Node's recursive readdir follows them). */
export async function listAll(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    out.push(rel);
    if (entry.isDirectory()) out.push(...(await listAll(dir, rel)));
  }
  return out.sort();
}

export function bunzip2(data: Buffer): Buffer {
  return execFileSync('bzip2', ['-dc'], { input: data, maxBuffer: 64 << 20 });
}

export type FixtureEntry = Partial<TarWriteHeader> & { name: string; content?: string | Buffer };

/** A tar archive of these entries exactly as given (hostile names included). Defaults: file, 0644, root. */
export function tarOf(entries: FixtureEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    const type = entry.type ?? 'file';
    parts.push(encodeTarHeader({ mode: type === 'dir' ? 0o755 : 0o644, mtime: 1700000000, ...entry, type, size: content.length }));
    if (type === 'file') parts.push(content, tarPadding(content.length));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

export function streamOf(data: Buffer): Readable {
  return Readable.from([data]);
}

/** A scratch area: `root` (the layer target) inside `dir`, so tests can see writes that escape root. */
export interface Scratch {
  dir: string;
  root: string;
  /** Every path under `dir` but outside `root`, relative to `dir`. */
  outside(): Promise<string[]>;
  remove(): Promise<void>;
}

export async function scratch(prefix = 'ctr-layer-test-'): Promise<Scratch> {
  const dir = await fs.mkdtemp(join(tmpdir(), prefix));
  const root = join(dir, 'root');
  await fs.mkdir(root);
  return {
    dir,
    root,
    async outside(): Promise<string[]> {
      const names = await listAll(dir);
      return names.filter((name) => name !== 'root' && !name.startsWith('root/'));
    },
    remove: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

/** Every path under `root` with its type ('d', 'f:<content>', 'l:<target>', 'c', 'p'), for whole-tree comparisons. */
export async function treeOf(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await listAll(root)) {
    const path = join(root, name);
    const stat = await fs.lstat(path);
    if (stat.isDirectory()) out[name] = 'd';
    else if (stat.isSymbolicLink()) out[name] = `l:${await fs.readlink(path)}`;
    else if (stat.isFile()) out[name] = `f:${await fs.readFile(path, 'utf8')}`;
    else if (stat.isCharacterDevice()) out[name] = `c:${stat.rdev}`;
    else if (stat.isFIFO()) out[name] = 'p';
    else out[name] = '?';
  }
  return out;
}
