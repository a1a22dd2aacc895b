import { createHash } from 'node:crypto';
import { createReadStream, promises as fs, Stats } from 'node:fs';
import path from 'node:path';
import { invalidArgument, notFound } from '@ctr/errors';
import { resolveInRoot } from '@ctr/image';
import { PatternMatcher } from './dockerignore';
import { componentMatcher, hasWildcard } from './glob';
import type { Ownership } from './layer-writer';

/**
 * One thing a COPY/ADD layer will contain. Names are destination paths relative to `/`. An
 * `owner` is settled (a `--from` source's own, or root's where dockerd makes a directory as
 * root): `--chown` does not change it. Without one, the item is the step's owner's.
 */
export type LayerItem =
  | { kind: 'directory'; name: string; mode: number; mtime: Date; owner?: Ownership }
  /** `linkTo`: the name of an earlier file of the layer this one is a hard link of. */
  | { kind: 'file'; name: string; mode: number; mtime: Date; size: number; source: string; owner?: Ownership; linkTo?: string }
  | { kind: 'data'; name: string; mode: number; data: Buffer }
  | { kind: 'symlink'; name: string; linkname: string; mtime: Date; owner?: Ownership }
  /** ADD of a local archive: its entries go under `name` (a directory), owned as the archive says. */
  | { kind: 'archive'; name: string; source: string };

/** Where COPY/ADD reads from: the context (with .dockerignore) or a stage/image filesystem. */
export interface SourceRoot {
  root: string;
  ignore?: PatternMatcher;
  /** What to call it in errors. */
  what: string;
  /** Files keep the owners they have here (dockerd's preserveOwnership: `COPY --from` without `--chown`). */
  keepOwners?: boolean;
}

/** Root's ownership: what a copy gives when no `--chown` says otherwise, as Docker does. */
export const ROOT_OWNER: Ownership = { uid: 0, gid: 0 };

const ownerOf = (src: SourceRoot, st: Stats): { owner?: Ownership } => (src.keepOwners ? { owner: { uid: st.uid, gid: st.gid } } : {});

/** A regular file of a source, as COPY writes it to `name`. */
export function fileItem(src: SourceRoot, name: string, source: string, st: Stats): Extract<LayerItem, { kind: 'file' }> {
  return { kind: 'file', name, mode: st.mode & 0o7777, mtime: st.mtime, size: st.size, source, ...ownerOf(src, st) };
}

const directoryItem = (src: SourceRoot, name: string, st: Stats): LayerItem => ({ kind: 'directory', name, mode: st.mode & 0o7777, mtime: st.mtime, ...ownerOf(src, st) });

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

/**
 * The items for one matched directory's contents under `destDir` (not following symlinks inside
 * it). A file met again under another name (a hard link: `links`, by device and inode, holds
 * the first name) stays a hard link, as moby's TarWithOptions keeps one within a source.
 */
export async function walkDirectory(
  src: SourceRoot,
  rel: string,
  destDir: string,
  exclude: PatternMatcher | undefined,
  out: LayerItem[],
  links = new Map<string, string>(),
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
      if (!hidden) out.push(directoryItem(src, inner, st));
      await walkDirectory(src, childRel, inner, exclude, out, links);
      if (hidden && out.length > before) out.splice(before, 0, directoryItem(src, inner, st));
    } else if (hidden) continue;
    else if (st.isFile()) {
      const item = fileItem(src, inner, full, st);
      if (st.nlink > 1) {
        const inode = `${st.dev}:${st.ino}`;
        const first = links.get(inode);
        if (first === undefined) links.set(inode, inner);
        else item.linkTo = first;
      }
      out.push(item);
    } else if (st.isSymbolicLink()) out.push({ kind: 'symlink', name: inner, linkname: await fs.readlink(full), mtime: st.mtime, ...ownerOf(src, st) });
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
        if (item.kind === 'file') hash.update(`${item.mode}\0${item.size}\0${item.linkTo !== undefined ? `link\0${item.linkTo}\0` : ''}`);
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

/**
 * Who owns the directories a source makes on its way to where it goes, as dockerd's classic
 * builder makes them: a file's (copyFile: MkdirAllAndChownNew) are the step's owner's, like the
 * file; a directory's (CopyWithTar) root's above its destination and the step's owner's at it;
 * an archive's (UntarPath) and WORKDIR's root's.
 */
export type MadeFor = 'file' | 'directory' | 'root';

/**
 * The directories on the way to `rel` (`rel` included) that neither the state under `root` nor
 * an earlier source of the step (`made`, which this adds to) has: 0755, made at `mtime` (the
 * build's time, as MkdirAll's are), owned as `madeFor` says.
 */
export function createdDirectories(root: string, rel: string, made: Set<string>, mtime: Date, madeFor: MadeFor): LayerItem[] {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  const items: LayerItem[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const name = parts.slice(0, i).join('/');
    if (made.has(name) || resolveInRoot(root, name).stat) continue;
    made.add(name);
    const rootOwned = madeFor === 'root' || (madeFor === 'directory' && i < parts.length);
    items.push({ kind: 'directory', name, mode: 0o755, mtime, ...(rootOwned ? { owner: ROOT_OWNER } : {}) });
  }
  return items;
}
