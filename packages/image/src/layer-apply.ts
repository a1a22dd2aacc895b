import { createHash } from 'node:crypto';
import fsc from 'node:fs';
import { promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { CtrError, aborted, asCtrError, type ErrorCode, digestMismatch, invalidArgument, notFound, unsupported } from '@ctr/errors';
import type { DiffID } from './digest';
import { decompressArchive } from './decompress';
import { makeDevice, makeFifo, setXattrs } from './layer-host-tools';
import { LayerRoot, entryComponents } from './layer-path';
import type { LayerCompression } from './media-types';
import type { TarHeader, TarTime } from './tar-header';
import { TarReader, type TarEntry } from './tar-reader';

/**
 * Apply a layer tar onto a directory, the way `docker pull` unpacks a layer into a snapshot.
 *
 * Safety (SECURITY-CASES §0–1): entry names are normalised and `..` escapes rejected; every
 * parent directory is resolved inside the target with symlinks re-rooted; leaves are never
 * followed (O_NOFOLLOW, lchown, lutimes, `setfattr -h`); an existing leaf is removed before
 * it is replaced (unless both are directories); hard links must point inside the target.
 *
 * Speed: entries are applied in stream order. Small files, directories and links use
 * synchronous syscalls (measured here: a thread-pool round trip per syscall costs about six
 * times the CPU of the syscall itself, and a layer is mostly small files); only large files
 * stream through asynchronous writes. The event loop is blocked for one small file at a time.
 * On failure the target is left partly applied — apply into a fresh snapshot and remove it.
 */

export type WhiteoutMode = 'delete' | 'overlay';

export interface ApplyLayerOptions {
  /** How the stream is compressed; 'auto' (the default) sniffs gzip/zstd magic. */
  compression?: LayerCompression | 'auto';
  /**
   * 'delete' (default): whiteouts remove lower files (the target is a merged view or a full
   * copy). 'overlay': the target is an overlay upper dir; whiteouts become 0/0 character
   * devices and opaque directories get `trusted.overlay.opaque=y`.
   */
  whiteouts?: WhiteoutMode;
  /** Create device nodes (default: when running as root). When false they are skipped. */
  devices?: boolean;
  /** Apply ownership from the layer (default: when running as root). */
  chown?: boolean;
  /** Keep `trusted.*` xattrs from the layer (default false: they control overlayfs). */
  trustedXattrs?: boolean;
  /** Fail with DigestMismatch unless the uncompressed stream has this digest. */
  diffId?: DiffID;
  /** Most uncompressed bytes accepted (default 256 GiB): a cap against decompression bombs. */
  maxSize?: number;
  /** Most entries accepted (default 10 million). */
  maxEntries?: number;
  signal?: AbortSignal;
}

export interface AppliedLayer {
  /** sha256 of the uncompressed tar, as `rootfs.diff_ids` lists it. */
  diffId: DiffID;
  /** Uncompressed bytes. */
  size: number;
}

const SMALL_FILE = 1 << 20;
const WRITE_BATCH = 1 << 20;
const DEFAULT_MAX_SIZE = 256 * 2 ** 30;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fsc.constants;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

const open = promisify(fsc.open);
const close = promisify(fsc.close);
const writev = promisify(fsc.writev);
const ftruncate = promisify(fsc.ftruncate);

/** What a system error while applying means to the caller. */
const ERRNO_CODES: Record<string, ErrorCode> = {
  ENOSPC: 'ResourceExhausted',
  EDQUOT: 'ResourceExhausted',
  EACCES: 'Denied',
  EPERM: 'Denied',
  EROFS: 'Denied',
  // The layer contradicts itself or the layers below (e.g. a path through a file).
  ENOTDIR: 'InvalidArgument',
  EEXIST: 'InvalidArgument',
  ELOOP: 'InvalidArgument',
  ENAMETOOLONG: 'InvalidArgument',
};

const seconds = (t: TarTime): number => t.sec + t.nsec / 1e9;

/** Apply a layer (tar, gzip or zstd stream) onto `target`; resolves with its diffID once everything is on disk. */
export async function applyLayer(target: string, layer: Readable, options: ApplyLayerOptions = {}): Promise<AppliedLayer> {
  const signal = options.signal;
  if (signal?.aborted) {
    layer.destroy();
    throw aborted(signal, 'applying the layer');
  }
  let root: string;
  let fresh: boolean;
  try {
    root = await fs.realpath(target);
    fresh = (await fs.readdir(root)).length === 0;
  } catch (error) {
    layer.destroy();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw notFound(`layer target directory ${target} does not exist`);
    if (code === 'ENOTDIR') throw invalidArgument(`layer target ${target} is not a directory`);
    throw asCtrError(error, 'Internal', `opening layer target ${target}`);
  }
  const applier = new Applier(root, options, fresh);
  const onAbort = (): void => void layer.destroy(aborted(signal, 'applying the layer'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await applier.run(layer);
  } catch (error) {
    layer.destroy();
    if (signal?.aborted) throw aborted(signal, 'applying the layer');
    throw asCtrError(error, ERRNO_CODES[(error as NodeJS.ErrnoException).code ?? ''] ?? 'Internal', `applying the layer to ${target}`);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

class Applier {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private readonly root: LayerRoot;
  private readonly whiteouts: WhiteoutMode;
  private readonly devices: boolean;
  private readonly chown: boolean;
  private readonly uid = process.getuid?.() ?? 0;
  private readonly gid = process.getgid?.() ?? 0;
  private readonly umask = process.umask();
  /** Paths (resolved, relative) this layer created, and every directory above them: whiteouts never hide these. */
  private readonly written = new Set<string>();
  private readonly ancestors = new Set<string>();
  /** Directory metadata, applied deepest first at the end (so adding children does not disturb mtimes). */
  private readonly dirMeta = new Map<string, TarHeader>();
  private readonly xattrs = new Map<string, Record<string, Buffer>>();

  constructor(
    rootPath: string,
    private readonly options: ApplyLayerOptions,
    /** The target started empty, so nothing exists that this layer did not create. */
    private fresh: boolean,
  ) {
    this.root = new LayerRoot(rootPath, (rel) => this.record(rel));
    this.whiteouts = options.whiteouts ?? 'delete';
    const root = this.uid === 0;
    this.devices = options.devices ?? root;
    this.chown = options.chown ?? root;
  }

  async run(layer: Readable): Promise<AppliedLayer> {
    const maxSize = this.options.maxSize ?? DEFAULT_MAX_SIZE;
    const compression = this.options.compression ?? 'auto';
    const source = await decompressArchive(layer, { what: 'layer', ...(compression === 'auto' ? {} : { compression }) });
    const reader = new TarReader(source, {
      maxEntries: this.options.maxEntries,
      observe: (chunk) => {
        this.bytes += chunk.length;
        if (this.bytes > maxSize) {
          throw new CtrError('ResourceExhausted', `layer is larger than ${maxSize} bytes uncompressed`, {
            hint: 'a decompression bomb, or raise maxSize',
          });
        }
        this.hash.update(chunk);
      },
    });
    for (let entry = await reader.next(); entry !== undefined; entry = await reader.next()) {
      if (this.options.signal?.aborted) throw aborted(this.options.signal, 'applying the layer');
      await this.apply(entry);
    }
    await reader.drain();
    await this.finish();
    const diffId = `sha256:${this.hash.digest('hex')}` as DiffID;
    if (this.options.diffId !== undefined && this.options.diffId !== diffId) {
      throw digestMismatch(`layer diffID is ${diffId}, expected ${this.options.diffId}`, {
        details: { expected: this.options.diffId, actual: diffId },
      });
    }
    return { diffId, size: this.bytes };
  }

  private record(rel: string): void {
    this.written.add(rel);
    for (let slash = rel.lastIndexOf('/'); slash > 0; slash = rel.lastIndexOf('/', slash - 1)) {
      const parent = rel.slice(0, slash);
      if (this.ancestors.has(parent)) break;
      this.ancestors.add(parent);
    }
  }

  private async apply(entry: TarEntry): Promise<void> {
    const header = entry.header;
    if (header.typeflag === 'g') return;
    if (!Buffer.from(header.name, 'utf8').equals(header.nameBytes)) {
      throw unsupported(`layer entry name ${JSON.stringify(header.nameBytes.toString('latin1'))} is not valid UTF-8`);
    }
    const components = entryComponents(header.name);
    const base = components[components.length - 1];
    components.slice(0, -1).forEach((part) => {
      if (part.startsWith(WHITEOUT)) throw invalidArgument(`layer entry "${header.name}" has a whiteout name as a directory`);
    });
    if (base !== undefined && base.startsWith(WHITEOUT)) return this.whiteout(components.slice(0, -1), base, header.name);
    if (base === undefined) {
      if (kindOf(header) !== 'dir') throw invalidArgument(`layer entry "${header.name}" would replace the layer root`);
      this.dirMeta.set('', header);
      this.keepXattrs('', header);
      return;
    }
    const kind = kindOf(header);
    const parent = this.root.resolveDir(components.slice(0, -1), true) as string;
    const rel = parent === '' ? base : `${parent}/${base}`;
    const abs = this.root.abs(rel);
    const existingDir = this.clearLeaf(rel, abs, kind === 'dir');
    this.record(rel);
    switch (kind) {
      case 'dir':
        if (!existingDir) fsc.mkdirSync(abs, 0o700);
        this.root.markDir(rel);
        this.dirMeta.set(rel, header);
        break;
      case 'file':
        await this.file(entry, abs);
        break;
      case 'symlink':
        fsc.symlinkSync(header.linkname, abs);
        this.metadata(abs, header, false);
        break;
      case 'hardlink':
        this.hardlink(header, abs);
        break;
      case 'device':
        if (!this.devices) return;
        await makeDevice(abs, header.typeflag === '3' ? 'c' : 'b', header.devmajor, header.devminor, 0o600, this.options.signal);
        this.metadata(abs, header, true);
        break;
      case 'fifo':
        await makeFifo(abs, 0o600, this.options.signal);
        this.metadata(abs, header, true);
        break;
    }
    this.keepXattrs(rel, header);
  }

  /** Make room for a new leaf: remove whatever is there (unless both are directories). True when an existing directory is kept. */
  private clearLeaf(rel: string, abs: string, isDir: boolean): boolean {
    if (this.fresh && !this.written.has(rel)) return false;
    const stat = fsc.lstatSync(abs, { throwIfNoEntry: false });
    if (stat === undefined) return false;
    if (stat.isDirectory() && isDir) return true;
    this.remove(rel, abs, stat.isDirectory());
    return false;
  }

  private remove(rel: string, abs: string, isDir: boolean): void {
    // What this layer created below a removed directory is gone: stop assuming absence means "never existed".
    if (isDir) this.fresh = false;
    this.root.forget(rel);
    for (const key of [...this.xattrs.keys()]) if (key === rel || key.startsWith(`${rel}/`)) this.xattrs.delete(key);
    for (const key of [...this.dirMeta.keys()]) if (key === rel || key.startsWith(`${rel}/`)) this.dirMeta.delete(key);
    fsc.rmSync(abs, { recursive: true, force: true });
  }

  private async whiteout(dirComponents: string[], base: string, name: string): Promise<void> {
    if (base.startsWith('.wh..wh.') && base !== OPAQUE) return; // aufs bookkeeping (.wh..wh.plnk…), as Docker skips it
    const overlay = this.whiteouts === 'overlay';
    const dir = this.root.resolveDir(dirComponents, overlay);
    if (dir === undefined) return;
    if (base === OPAQUE) {
      if (overlay) this.xattrs.set(dir, { ...this.xattrs.get(dir), 'trusted.overlay.opaque': Buffer.from('y') });
      else this.clearOpaque(dir);
      return;
    }
    const hidden = base.slice(WHITEOUT.length);
    if (hidden === '' || hidden === '.' || hidden === '..') {
      throw invalidArgument(`layer has an invalid whiteout "${name}"`, { hint: 'a whiteout must name a file: .wh.<name>' });
    }
    const rel = dir === '' ? hidden : `${dir}/${hidden}`;
    // Whiteouts hide lower layers only, never what this layer adds (image-spec layer.md).
    if (this.written.has(rel) || this.ancestors.has(rel)) return;
    const abs = this.root.abs(rel);
    if (overlay) {
      this.clearLeaf(rel, abs, false);
      this.record(rel);
      await makeDevice(abs, 'c', 0, 0, 0o600, this.options.signal);
      return;
    }
    const stat = fsc.lstatSync(abs, { throwIfNoEntry: false });
    if (stat !== undefined) this.remove(rel, abs, stat.isDirectory());
  }

  /** An opaque directory in 'delete' mode: remove everything below it that this layer did not add. */
  private clearOpaque(dir: string): void {
    const walk = (rel: string): void => {
      for (const child of fsc.readdirSync(this.root.abs(rel), { withFileTypes: true })) {
        const childRel = rel === '' ? child.name : `${rel}/${child.name}`;
        const keep = this.written.has(childRel) || this.ancestors.has(childRel);
        if (!keep) this.remove(childRel, this.root.abs(childRel), child.isDirectory());
        else if (child.isDirectory()) walk(childRel);
      }
    };
    walk(dir);
  }

  private hardlink(header: TarHeader, abs: string): void {
    const components = entryComponents(header.linkname, 'hard link target');
    const base = components[components.length - 1];
    const parent = base === undefined ? undefined : this.root.resolveDir(components.slice(0, -1), false);
    const targetRel = parent === undefined ? undefined : parent === '' ? base : `${parent}/${base}`;
    const targetAbs = targetRel === undefined ? undefined : this.root.abs(targetRel);
    const stat = targetAbs === undefined ? undefined : fsc.lstatSync(targetAbs, { throwIfNoEntry: false });
    if (targetAbs === undefined || stat === undefined || stat.isDirectory()) {
      throw invalidArgument(`layer hard link "${header.name}" points to "${header.linkname}", which is not a file in this layer or below`, {
        details: { name: header.name, linkname: header.linkname },
      });
    }
    fsc.linkSync(targetAbs, abs);
  }

  private async file(entry: TarEntry, abs: string): Promise<void> {
    const header = entry.header;
    if (header.sparse !== undefined || header.size > SMALL_FILE) return this.streamFile(entry, abs);
    const chunks: Buffer[] = [];
    for await (const chunk of entry.data()) chunks.push(chunk);
    const fd = fsc.openSync(abs, CREATE_FLAGS, header.mode & 0o777);
    try {
      let pending = chunks;
      while (pending.length > 0) pending = unwritten(pending, fsc.writevSync(fd, pending));
      this.fdMetadata(fd, header);
    } finally {
      fsc.closeSync(fd);
    }
  }

  /** Large and sparse files stream straight to disk (in order, batched into big writes). */
  private async streamFile(entry: TarEntry, abs: string): Promise<void> {
    const header = entry.header;
    const fd = await open(abs, CREATE_FLAGS, header.mode & 0o777);
    try {
      const regions = header.sparse ?? [{ offset: 0, length: header.size }];
      let region = 0;
      let position = regions[0]?.offset ?? 0;
      let left = regions[0]?.length ?? 0;
      let batch: Buffer[] = [];
      let batchBytes = 0;
      let batchAt = position;
      const flush = async (): Promise<void> => {
        if (batchBytes > 0) await writevAt(fd, batch, batchAt);
        batch = [];
        batchBytes = 0;
      };
      for await (let chunk of entry.data()) {
        while (chunk.length > 0) {
          while (left === 0) {
            await flush();
            if (++region >= regions.length) throw invalidArgument(`sparse file "${header.name}" has more data than its map`);
            position = (regions[region] as { offset: number }).offset;
            left = (regions[region] as { length: number }).length;
            batchAt = position;
          }
          const part = chunk.subarray(0, Math.min(left, chunk.length));
          chunk = chunk.subarray(part.length);
          batch.push(part);
          batchBytes += part.length;
          position += part.length;
          left -= part.length;
          if (batchBytes >= WRITE_BATCH) {
            await flush();
            batchAt = position;
          }
        }
      }
      await flush();
      if (header.sparse !== undefined) await ftruncate(fd, header.size);
      this.fdMetadata(fd, header);
    } finally {
      await close(fd);
    }
  }

  private fdMetadata(fd: number, header: TarHeader): void {
    const mode = header.mode & 0o7777;
    if (this.chown && (header.uid !== this.uid || header.gid !== this.gid)) fsc.fchownSync(fd, header.uid, header.gid);
    // chown clears set-id bits, so the mode goes after it; skip it when open() already got it right.
    if (mode !== (mode & 0o777 & ~this.umask)) fsc.fchmodSync(fd, mode);
    fsc.futimesSync(fd, seconds(header.atime ?? header.mtime), seconds(header.mtime));
  }

  /** Ownership, mode and times of something at a path that is not a directory (never followed). */
  private metadata(abs: string, header: TarHeader, chmod: boolean): void {
    if (this.chown && (header.uid !== this.uid || header.gid !== this.gid)) fsc.lchownSync(abs, header.uid, header.gid);
    if (chmod) fsc.chmodSync(abs, header.mode & 0o7777);
    fsc.lutimesSync(abs, seconds(header.atime ?? header.mtime), seconds(header.mtime));
  }

  private keepXattrs(rel: string, header: TarHeader): void {
    const keys = Object.keys(header.xattrs).filter((key) => this.options.trustedXattrs === true || !key.startsWith('trusted.'));
    if (keys.length === 0) return;
    const kept = this.xattrs.get(rel) ?? {};
    for (const key of keys) kept[key] = header.xattrs[key] as Buffer;
    this.xattrs.set(rel, kept);
  }

  /** Directory metadata deepest first, then xattrs — only on paths still known to be ours and unmoved. */
  private async finish(): Promise<void> {
    const dirs = [...this.dirMeta.entries()].sort(([a], [b]) => depth(b) - depth(a));
    for (const [rel, header] of dirs) {
      if (!this.root.isKnownDir(rel)) continue;
      const abs = this.root.abs(rel);
      this.metadata(abs, header, true);
    }
    const targets = [];
    for (const [rel, xattrs] of this.xattrs) {
      const slash = rel.lastIndexOf('/');
      if (this.root.isKnownDir(slash < 0 ? '' : rel.slice(0, slash))) targets.push({ path: this.root.abs(rel), xattrs });
    }
    await setXattrs(targets, this.options.signal);
  }
}

function depth(rel: string): number {
  if (rel === '') return 0;
  let n = 1;
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) n++;
  return n;
}

async function writevAt(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let at = position;
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await writev(fd, pending, at);
    at += bytesWritten;
    pending = unwritten(pending, bytesWritten);
  }
}

/** What is left of `buffers` after a short write of `written` bytes. */
function unwritten(buffers: Buffer[], written: number): Buffer[] {
  let skip = written;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) skip -= buffer.length;
    else {
      rest.push(buffer.subarray(skip));
      skip = 0;
    }
  }
  return rest;
}

type EntryKind = 'dir' | 'file' | 'symlink' | 'hardlink' | 'device' | 'fifo';

function kindOf(header: TarHeader): EntryKind {
  switch (header.typeflag) {
    case '0':
    case '7':
    case 'S':
      return 'file';
    case '5':
    case 'D':
      return 'dir';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    case '3':
    case '4':
      return 'device';
    case '6':
      return 'fifo';
    default:
      throw unsupported(`layer entry "${header.name}" has tar type "${header.typeflag}", which a layer cannot contain`);
  }
}
