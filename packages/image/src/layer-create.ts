import fsc from 'node:fs';
import { promises as fs, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { aborted, conflict, notFound } from '@ctr/errors';
import { readXattrs } from './layer-host-tools';
import { TAR_END, encodeTarHeader, tarPadding, type TarWriteHeader } from './tar-writer';

/**
 * Turn a directory tree into a layer tar: a whole directory, the changes between two
 * directories, or an overlay upper directory (whose 0/0 character devices are whiteouts and
 * whose `trusted.overlay.opaque=y` directories are opaque). Output is reproducible: entries
 * sorted by name, parents before children, times in whole seconds, no user names; hard links
 * are found by inode within the layer. File contents are streamed, never held whole.
 */

export interface CreateLayerOptions {
  /** Carry extended attributes (default true; overlayfs' own `trusted.overlay.*` never). */
  xattrs?: boolean;
  /**
   * Paths (relative, like `etc/hosts`) left out of a directory or overlay layer: what a
   * runtime mounts over and no image should carry.
   */
  exclude?: ReadonlySet<string>;
  signal?: AbortSignal;
  /**
   * Told, once the tar has ended, the layer's size as an unpacked layer's is measured
   * (`layerSize` in @ctr/store, moby's `directory.Size`): a file's length, a symlink's
   * target's, a hard link once. What writes a layer it does not unpack (a commit) knows so
   * the size docker shows for it.
   */
  onSize?: (size: number) => void;
}

/** One thing the layer will contain, before it becomes tar bytes. */
interface Change {
  /** Entry name, relative, without a trailing slash. */
  rel: string;
  abs: string;
  stat: Stats;
  /** Emit `.wh.<name>` for this path instead of its content. */
  whiteout?: boolean;
  /** An overlay directory marked opaque: emit `<dir>/.wh..wh..opq` after it. */
  opaque?: boolean;
}

type Xattrs = Map<string, Record<string, Buffer>>;

const READ_CHUNK = 1 << 20;
const open = promisify(fsc.open);
const read = promisify(fsc.read);
const close = promisify(fsc.close);

/** A layer holding all of `dir` (a diff from nothing). */
export function createLayerFromDirectory(dir: string, options: CreateLayerOptions = {}): Readable {
  return layerStream(dir, options, (xattrs) => walkAll(dir, '', xattrs, 'plain', options.signal, options.exclude));
}

/** A layer of what an overlay upper directory changed: whiteout devices and opaque markers become `.wh.` entries. */
export function createLayerFromOverlay(upper: string, options: CreateLayerOptions = {}): Readable {
  return layerStream(upper, options, (xattrs) => walkAll(upper, '', xattrs, 'overlay', options.signal, options.exclude));
}

/**
 * A layer of what `upper` changed relative to `lower` (undefined: nothing). Like Docker, a
 * file counts as changed when its type, mode, owner, size, mtime, device or link target
 * differ; a directory is included when it changed or anything below it did.
 */
export function createLayerFromDiff(lower: string | undefined, upper: string, options: CreateLayerOptions = {}): Readable {
  if (lower === undefined) return createLayerFromDirectory(upper, options);
  return layerStream(upper, options, async function* () {
    yield* await diffDir(lower, upper, '', options.signal);
  });
}

function layerStream(
  root: string,
  options: CreateLayerOptions,
  changes: (xattrs: Xattrs) => AsyncIterable<Change>,
): Readable {
  return Readable.from(tarBytes(root, options, changes), { objectMode: false, highWaterMark: 1 << 20 });
}

async function* tarBytes(root: string, options: CreateLayerOptions, changes: (xattrs: Xattrs) => AsyncIterable<Change>): AsyncGenerator<Buffer> {
  const stat = await fs.stat(root).catch(() => undefined);
  if (stat === undefined || !stat.isDirectory()) throw notFound(`layer source directory ${root} does not exist`);
  const xattrs: Xattrs = options.xattrs === false ? new Map() : await readXattrs(root, options.signal);
  const links = new Map<string, string>();
  let size = 0;
  for await (const change of changes(xattrs)) {
    if (options.signal?.aborted) throw aborted(options.signal, 'creating the layer');
    size += yield* entryBytes(change, xattrs, links);
  }
  yield TAR_END;
  options.onSize?.(size);
}

/** One change's tar entries; returns the bytes it adds to the layer's size (see `onSize`). */
async function* entryBytes(change: Change, xattrs: Xattrs, links: Map<string, string>): AsyncGenerator<Buffer, number> {
  const { rel, abs, stat } = change;
  const base: Omit<TarWriteHeader, 'name' | 'type'> = {
    mode: stat.mode & 0o7777,
    uid: stat.uid,
    gid: stat.gid,
    mtime: Math.floor(stat.mtimeMs / 1000),
  };
  if (change.whiteout === true) {
    yield encodeTarHeader({ ...base, name: whiteoutName(rel), type: 'file', mode: 0o600 });
    return 0;
  }
  const attrs = keptXattrs(xattrs.get(abs));
  if (stat.isDirectory()) {
    yield encodeTarHeader({ ...base, name: `${rel}/`, type: 'dir', xattrs: attrs });
    if (change.opaque === true) yield encodeTarHeader({ ...base, name: `${rel}/.wh..wh..opq`, type: 'file', mode: stat.mode & 0o777 });
    return 0;
  }
  if (stat.nlink > 1) {
    const key = `${stat.dev}:${stat.ino}`;
    const first = links.get(key);
    if (first !== undefined) {
      yield encodeTarHeader({ ...base, name: rel, type: 'hardlink', linkname: first });
      return 0;
    }
    links.set(key, rel);
  }
  if (stat.isSymbolicLink()) {
    yield encodeTarHeader({ ...base, name: rel, type: 'symlink', linkname: await fs.readlink(abs), xattrs: attrs });
  } else if (stat.isCharacterDevice() || stat.isBlockDevice()) {
    const { major, minor } = deviceNumbers(stat.rdev);
    yield encodeTarHeader({ ...base, name: rel, type: stat.isCharacterDevice() ? 'char' : 'block', devmajor: major, devminor: minor, xattrs: attrs });
  } else if (stat.isFIFO()) {
    yield encodeTarHeader({ ...base, name: rel, type: 'fifo', xattrs: attrs });
  } else if (stat.isFile()) {
    yield encodeTarHeader({ ...base, name: rel, type: 'file', size: stat.size, xattrs: attrs });
    yield* fileBytes(abs, rel, stat.size);
    yield tarPadding(stat.size);
  }
  // A symlink's size is its target's length; a device's or a FIFO's is 0.
  // Sockets cannot be carried in a tar; like Docker, they are left out.
  return stat.isSocket() ? 0 : stat.size;
}

async function* fileBytes(abs: string, rel: string, size: number): AsyncGenerator<Buffer> {
  if (size <= READ_CHUNK) {
    yield smallFile(abs, rel, size);
    return;
  }
  const fd = await open(abs, fsc.constants.O_RDONLY | fsc.constants.O_NOFOLLOW);
  try {
    let left = size;
    while (left > 0) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, left));
      const { bytesRead } = await read(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) throw conflict(`"${rel}" shrank while the layer was being written`);
      left -= bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await close(fd);
  }
}

/**
 * Small files are read with synchronous syscalls: a thread-pool round trip per syscall costs
 * several times the syscall itself, and a layer is mostly small files.
 */
function smallFile(abs: string, rel: string, size: number): Buffer {
  const fd = fsc.openSync(abs, fsc.constants.O_RDONLY | fsc.constants.O_NOFOLLOW);
  try {
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const n = fsc.readSync(fd, buffer, filled, size - filled, null);
      if (n === 0) throw conflict(`"${rel}" shrank while the layer was being written`);
      filled += n;
    }
    return buffer;
  } finally {
    fsc.closeSync(fd);
  }
}

function whiteoutName(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return `${rel.slice(0, slash + 1)}.wh.${rel.slice(slash + 1)}`;
}

function keptXattrs(attrs: Record<string, Buffer> | undefined): Record<string, Buffer> | undefined {
  if (attrs === undefined) return undefined;
  const kept = Object.entries(attrs).filter(([key]) => !key.startsWith('trusted.overlay.'));
  return kept.length === 0 ? undefined : Object.fromEntries(kept.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function deviceNumbers(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function sortedChildren(abs: string): string[] {
  return fsc.readdirSync(abs).sort(byName);
}

/** The emitted name's sort key: whiteouts sort as `.wh.<name>`, like everything else by what the tar will say. */
function emittedOrder(changes: Change[]): Change[] {
  const key = (change: Change): string => (change.whiteout === true ? whiteoutName(change.rel) : change.rel);
  return changes.sort((a, b) => byName(key(a), key(b)));
}

/** Everything under `dir`, parents first; in overlay mode whiteout devices and opaque markers are translated. */
async function* walkAll(
  root: string,
  rel: string,
  xattrs: Xattrs,
  mode: 'plain' | 'overlay',
  signal?: AbortSignal,
  exclude?: ReadonlySet<string>,
): AsyncGenerator<Change> {
  const dirAbs = rel === '' ? root : `${root}/${rel}`;
  const children: Change[] = [];
  for (const name of sortedChildren(dirAbs)) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    if (exclude?.has(childRel)) continue;
    const abs = `${root}/${childRel}`;
    const stat = fsc.lstatSync(abs);
    const change: Change = { rel: childRel, abs, stat };
    if (mode === 'overlay') {
      if (stat.isCharacterDevice() && stat.rdev === 0) change.whiteout = true;
      else if (stat.isDirectory() && xattrs.get(abs)?.['trusted.overlay.opaque']?.toString() === 'y') change.opaque = true;
    }
    children.push(change);
  }
  for (const change of emittedOrder(children)) {
    if (signal?.aborted) throw aborted(signal, 'creating the layer');
    yield change;
    if (change.stat.isDirectory() && change.whiteout !== true) yield* walkAll(root, change.rel, xattrs, mode, signal, exclude);
  }
}

async function collect(iterable: AsyncIterable<Change>): Promise<Change[]> {
  const out: Change[] = [];
  for await (const change of iterable) out.push(change);
  return out;
}

function differs(a: Stats, b: Stats): boolean {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.rdev !== b.rdev) return true;
  return !a.isDirectory() && (a.size !== b.size || a.mtimeMs !== b.mtimeMs);
}

/** The changes under `rel`, in emission order (computed before emitting: a directory is only included if something below it changed). */
async function diffDir(lowerRoot: string, upperRoot: string, rel: string, signal?: AbortSignal): Promise<Change[]> {
  if (signal?.aborted) throw aborted(signal, 'creating the layer');
  const at = (root: string, name: string): string => (rel === '' ? `${root}/${name}` : `${root}/${rel}/${name}`);
  const lowerDir = rel === '' ? lowerRoot : `${lowerRoot}/${rel}`;
  const lowerNames = new Set(fsc.existsSync(lowerDir) ? sortedChildren(lowerDir) : []);
  const upperNames = sortedChildren(rel === '' ? upperRoot : `${upperRoot}/${rel}`);
  const here: Change[] = [];
  const below = new Map<string, Change[]>();
  for (const name of upperNames) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const abs = at(upperRoot, name);
    const stat = fsc.lstatSync(abs);
    const lowerStat = lowerNames.has(name) ? fsc.lstatSync(at(lowerRoot, name)) : undefined;
    lowerNames.delete(name);
    const change: Change = { rel: childRel, abs, stat };
    if (lowerStat === undefined || (lowerStat.mode & fsc.constants.S_IFMT) !== (stat.mode & fsc.constants.S_IFMT)) {
      here.push(change);
      if (stat.isDirectory()) below.set(childRel, await collect(walkAll(upperRoot, childRel, new Map(), 'plain', signal)));
      continue;
    }
    let changed = differs(lowerStat, stat);
    if (!changed && stat.isSymbolicLink()) changed = (await fs.readlink(abs)) !== (await fs.readlink(at(lowerRoot, name)));
    if (stat.isDirectory()) {
      const inner = await diffDir(lowerRoot, upperRoot, childRel, signal);
      if (changed || inner.length > 0) {
        here.push(change);
        below.set(childRel, inner);
      }
    } else if (changed) {
      here.push(change);
    }
  }
  for (const name of lowerNames) {
    const abs = at(lowerRoot, name);
    here.push({ rel: rel === '' ? name : `${rel}/${name}`, abs, stat: fsc.lstatSync(abs), whiteout: true });
  }
  const out: Change[] = [];
  for (const change of emittedOrder(here)) {
    out.push(change);
    out.push(...(below.get(change.rel) ?? []));
  }
  return out;
}
