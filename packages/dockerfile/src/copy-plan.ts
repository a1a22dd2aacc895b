import { createHash } from 'node:crypto';
import { createReadStream, promises as fs, Stats } from 'node:fs';
import path from 'node:path';
import { invalidArgument, notFound } from '@ctr/errors';
import { resolveInRoot } from '@ctr/image';
import { PatternMatcher } from './dockerignore';
import { componentMatcher, hasWildcard } from './glob';

/** One thing a COPY/ADD layer will contain. Names are destination paths relative to `/`. */
export type LayerItem =
  | { kind: 'directory'; name: string; mode: number; mtime: Date }
  | { kind: 'file'; name: string; mode: number; mtime: Date; size: number; source: string }
  | { kind: 'data'; name: string; mode: number; data: Buffer }
  | { kind: 'symlink'; name: string; linkname: string; mtime: Date }
  /** ADD of a local archive: its entries go under `name` (a directory). */
  | { kind: 'archive'; name: string; source: string };

/** Where COPY/ADD reads from: the context (with .dockerignore) or a stage/image filesystem. */
export interface SourceRoot {
  root: string;
  ignore?: PatternMatcher;
  /** What to call it in errors. */
  what: string;
}

/** A source after wildcard expansion: resolved inside the root. */
export interface SourceMatch {
  rel: string;
  stat: Stats;
}

const isIgnored = (src: SourceRoot, rel: string): boolean => rel !== '' && (src.ignore?.matches(rel) ?? false);

/**
 * Expand one COPY source (wildcards per component, `..` clamped, absolute paths taken as
 * relative to the root, symlinks re-rooted) into the paths it names.
 */
export async function matchSource(src: SourceRoot, pattern: string, instruction: string): Promise<SourceMatch[]> {
  const parts = pattern.split('/').filter((p) => p !== '' && p !== '.');
  let candidates: string[] = [''];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const next: string[] = [];
    for (const base of candidates) {
      if (part === '..') {
        next.push(path.posix.dirname('/' + base).slice(1));
        continue;
      }
      if (!hasWildcard(part)) {
        next.push(base === '' ? part : `${base}/${part}`);
        continue;
      }
      const dir = resolveInRoot(src.root, base);
      const names = await fs.readdir(dir.abs).catch(() => [] as string[]);
      const re = componentMatcher(part);
      for (const name of names.sort()) {
        const rel = dir.rel === '' ? name : `${dir.rel}/${name}`;
        if (re.test(name) && !isIgnored(src, rel)) next.push(rel);
      }
    }
    candidates = next;
  }
  const matches: SourceMatch[] = [];
  for (const candidate of candidates) {
    const { rel, stat } = resolveInRoot(src.root, candidate);
    if (stat && !isIgnored(src, rel)) matches.push({ rel, stat });
  }
  if (matches.length === 0) {
    if (parts.some(hasWildcard)) throw invalidArgument(`${instruction} failed: no source files were specified`);
    throw notFound(`${instruction} failed: file not found in ${src.what} or excluded by .dockerignore: stat ${pattern}: file does not exist`);
  }
  return matches;
}

/** The items for one matched directory's contents under `destDir` (not following symlinks inside it). */
export async function walkDirectory(
  src: SourceRoot,
  rel: string,
  destDir: string,
  exclude: PatternMatcher | undefined,
  out: LayerItem[],
): Promise<void> {
  const names = (await fs.readdir(path.join(src.root, rel))).sort();
  for (const name of names) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const inner = destDir === '' ? name : `${destDir}/${name}`;
    if (isIgnored(src, childRel) && !src.ignore?.hasExclusions) continue;
    const full = path.join(src.root, childRel);
    const st = await fs.lstat(full);
    const relToSource = childRel.slice(rel === '' ? 0 : rel.length + 1);
    if (exclude?.matches(relToSource)) continue;
    const hidden = isIgnored(src, childRel);
    if (st.isDirectory()) {
      // an ignored directory may still hold re-included (`!pattern`) files: walk, add it only if used
      const before = out.length;
      if (!hidden) out.push({ kind: 'directory', name: inner, mode: st.mode & 0o7777, mtime: st.mtime });
      await walkDirectory(src, childRel, inner, exclude, out);
      if (hidden && out.length > before) out.splice(before, 0, { kind: 'directory', name: inner, mode: st.mode & 0o7777, mtime: st.mtime });
    } else if (hidden) continue;
    else if (st.isFile()) out.push({ kind: 'file', name: inner, mode: st.mode & 0o7777, mtime: st.mtime, size: st.size, source: full });
    else if (st.isSymbolicLink()) out.push({ kind: 'symlink', name: inner, linkname: await fs.readlink(full), mtime: st.mtime });
    // sockets, fifos and devices are not copied, as Docker does not
  }
}

/**
 * The content hash of what a COPY will write: names, types, modes and bytes — not times or
 * owners of the source, so touching a file does not invalidate the cache but editing it does.
 */
export async function hashItems(items: readonly LayerItem[]): Promise<string> {
  const hash = createHash('sha256');
  for (const item of items) {
    hash.update(`${item.kind}\0${item.name}\0`);
    switch (item.kind) {
      case 'directory':
        hash.update(`${item.mode}\0`);
        break;
      case 'file':
      case 'archive':
        if (item.kind === 'file') hash.update(`${item.mode}\0${item.size}\0`);
        for await (const chunk of createReadStream(item.source)) hash.update(chunk as Buffer);
        break;
      case 'data':
        hash.update(`${item.mode}\0`).update(item.data);
        break;
      case 'symlink':
        hash.update(item.linkname);
        break;
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** Directories on the way to `rel` that the state lacks (COPY creates them, 0755). */
export async function missingParents(root: string, rel: string): Promise<string[]> {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  const missing: string[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (!resolveInRoot(root, prefix).stat) missing.push(prefix);
  }
  return missing;
}
