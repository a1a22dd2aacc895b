import { CtrError } from '@ctr/errors';
import { ByteSource } from './tar-byte-source';
import { cstring, cstringBytes, parseDecimal, parseNumeric, parsePaxRecords, parsePaxTime } from './tar-fields';
import { isHeaderOnlyType, tarError, type SparseRegion, type TarFormat, type TarHeader } from './tar-header';

/**
 * A streaming tar reader that reads what GNU tar, star, PAX writers and Go's archive/tar
 * write — PAX (local and global), GNU long names, all four GNU sparse encodings, base-256
 * numbers — with Go's archive/tar results, and with bounded memory on hostile input.
 */

export interface TarReaderOptions {
  /** Largest PAX header or GNU long name accepted (default 1 MiB, as Go). */
  maxMetadataSize?: number;
  /** Most entries accepted before failing with ResourceExhausted (default 10 million). */
  maxEntries?: number;
  /** Sees every byte of the stream once, in order (how the diffID is computed while reading). */
  observe?: (chunk: Buffer) => void;
}

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
const DEFAULT_MAX_METADATA = 1 << 20;
const DEFAULT_MAX_ENTRIES = 10_000_000;

// Format bits, combined while guessing as Go does.
const F_USTAR = 2;
const F_PAX = 4;
const F_GNU = 8;
const F_STAR = 16;
const F_V7 = 1;

function formatName(bits: number): TarFormat {
  if (bits === F_PAX) return 'PAX';
  if (bits === F_USTAR) return 'USTAR';
  if (bits === F_GNU) return 'GNU';
  return 'unknown';
}

/** An entry being read: its header, and its data (read it before asking for the next entry, or it is skipped). */
export interface TarEntry {
  header: TarHeader;
  /**
   * The bytes as stored: for a sparse file the data regions back to back (see `header.sparse`).
   * Yields zero-copy slices valid until the next read.
   */
  data(): AsyncIterable<Buffer>;
  /** The logical content: like `data()`, with a sparse file's holes filled with zeros. */
  content(): AsyncIterable<Buffer>;
}

interface RawHeader {
  header: TarHeader;
  block: Buffer;
  /** Format bits this header allows. */
  formatBits: number;
}

export class TarReader {
  private readonly source: ByteSource;
  private readonly maxMetadata: number;
  private readonly maxEntries: number;
  /** Physical data bytes of the current entry not yet read, and its padding. */
  private remaining = 0;
  private padding = 0;
  private entries = 0;
  private current = 0;
  private finished = false;

  constructor(source: AsyncIterable<Uint8Array>, options: TarReaderOptions = {}) {
    this.source = new ByteSource(source, options.observe);
    this.maxMetadata = options.maxMetadataSize ?? DEFAULT_MAX_METADATA;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  /** The next entry, or undefined at the end of the archive. Throws a CtrError on malformed input. */
  async next(): Promise<TarEntry | undefined> {
    if (this.finished) return undefined;
    let pax: ReturnType<typeof parsePaxRecords> | undefined;
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    let format = F_USTAR | F_PAX | F_GNU;
    for (;;) {
      if (!(await this.skipRest())) return this.finish();
      const raw = await this.readHeader();
      if (raw === undefined) return this.finish();
      const { header } = raw;
      if (++this.entries > this.maxEntries) {
        throw new CtrError('ResourceExhausted', `tar archive has more than ${this.maxEntries} entries`);
      }
      this.startData(header);
      format &= raw.formatBits;
      if (header.typeflag === 'x' || header.typeflag === 'g') {
        format &= F_PAX;
        const records = parsePaxRecords(await this.readMetadata(header.size, 'PAX header'));
        if (header.typeflag === 'g') {
          mergePax(header, records);
          const global: TarHeader = { ...emptyHeader(), name: header.name, nameBytes: header.nameBytes, typeflag: 'g' };
          global.paxRecords = header.paxRecords;
          global.xattrs = header.xattrs;
          global.format = formatName(format);
          return this.entry(global);
        }
        pax = records;
        continue;
      }
      if (header.typeflag === 'L' || header.typeflag === 'K') {
        format &= F_GNU;
        const value = cstringBytes(await this.readMetadata(header.size, 'GNU long name'));
        if (header.typeflag === 'L') longName = Buffer.from(value);
        else longLink = Buffer.from(value);
        continue;
      }
      if (pax !== undefined) mergePax(header, pax);
      if (longName !== undefined && longName.length > 0) setName(header, longName);
      if (longLink !== undefined && longLink.length > 0) header.linkname = longLink.toString('utf8');
      if (header.typeflag === '\0') header.typeflag = header.name.endsWith('/') ? '5' : '0';
      this.startData(header);
      await this.readSparse(header, raw.block);
      if ((format & F_USTAR) !== 0 && (format & F_PAX) !== 0) format &= F_USTAR;
      header.format = formatName(format);
      return this.entry(header);
    }
  }

  /** Read (and hash) whatever follows the end of the archive. */
  async drain(): Promise<void> {
    await this.source.drain();
  }

  private finish(): undefined {
    this.finished = true;
    return undefined;
  }

  private entry(header: TarHeader): TarEntry {
    const id = ++this.current;
    const data = (): AsyncIterable<Buffer> => this.dataOf(id);
    const content = (): AsyncIterable<Buffer> =>
      header.sparse === undefined ? data() : expandSparse(data(), header.sparse, header.size);
    return { header, data, content };
  }

  private async *dataOf(id: number): AsyncGenerator<Buffer> {
    while (this.remaining > 0) {
      if (id !== this.current) throw new CtrError('Internal', 'tar entry data read after moving to the next entry');
      const chunk = await this.source.chunk(this.remaining);
      if (chunk.length === 0) throw tarError('truncated', 'the archive ends inside an entry');
      this.remaining -= chunk.length;
      yield chunk;
    }
  }

  private startData(header: TarHeader): void {
    const physical = isHeaderOnlyType(header.typeflag) ? 0 : header.size;
    if (physical < 0) throw tarError('header', `negative size for "${header.name}"`);
    this.remaining = physical;
    this.padding = (BLOCK - (physical % BLOCK)) % BLOCK;
  }

  /** Skip unread data and padding of the previous entry; false when the stream ended cleanly inside the padding. */
  private async skipRest(): Promise<boolean> {
    if (this.remaining > 0) {
      const skipped = await this.source.skip(this.remaining);
      if (skipped < this.remaining) throw tarError('truncated', 'the archive ends inside an entry');
      this.remaining = 0;
    }
    if (this.padding > 0) {
      const skipped = await this.source.skip(this.padding);
      // Like Go, a stream that ends inside the last padding is a clean end.
      if (skipped < this.padding) return false;
      this.padding = 0;
    }
    return true;
  }

  private async readMetadata(size: number, what: string): Promise<Buffer> {
    if (size > this.maxMetadata) {
      throw tarError('too-long', `${what} of ${size} bytes exceeds the ${this.maxMetadata}-byte limit`);
    }
    const data = await this.source.read(size);
    if (data.length < size) throw tarError('truncated', `the archive ends inside a ${what}`);
    this.remaining = 0;
    return Buffer.from(data);
  }

  private async readBlock(): Promise<Buffer | undefined> {
    const block = await this.source.read(BLOCK);
    if (block.length === 0) return undefined;
    if (block.length < BLOCK) throw tarError('truncated', 'the archive ends inside a header');
    return block;
  }

  private async readHeader(): Promise<RawHeader | undefined> {
    const block = await this.readBlock();
    if (block === undefined) return undefined;
    if (block.equals(ZERO_BLOCK)) {
      const second = await this.readBlock();
      if (second === undefined || second.equals(ZERO_BLOCK)) return undefined;
      throw tarError('header', 'a zero block followed by data');
    }
    return parseHeaderBlock(Buffer.from(block));
  }

  private async readSparse(header: TarHeader, block: Buffer): Promise<void> {
    let regions: SparseRegion[] | undefined;
    if (header.typeflag === 'S') regions = await this.readOldGnuSparse(header, block);
    else regions = await this.readPaxSparse(header);
    if (regions === undefined) return;
    if (isHeaderOnlyType(header.typeflag) || !validSparse(regions, header.size)) {
      throw tarError('header', `invalid sparse map for "${header.name}"`);
    }
    header.sparse = regions;
  }

  private async readOldGnuSparse(header: TarHeader, block: Buffer): Promise<SparseRegion[]> {
    if (detectFormat(block) !== F_GNU) throw tarError('header', 'GNU sparse entry without a GNU header');
    header.size = numeric(block.subarray(483, 495));
    const regions: SparseRegion[] = [];
    let area = block.subarray(386, 483);
    let entries = 4;
    for (;;) {
      for (let i = 0; i < entries; i++) {
        const at = i * 24;
        if (area[at] === 0) break;
        regions.push({ offset: numeric(area.subarray(at, at + 12)), length: numeric(area.subarray(at + 12, at + 24)) });
      }
      if ((area[entries * 24] as number) === 0) return regions;
      const extension = await this.source.read(BLOCK);
      if (extension.length < BLOCK) throw tarError('truncated', 'the archive ends inside a sparse header');
      area = Buffer.from(extension);
      entries = 21;
    }
  }

  private async readPaxSparse(header: TarHeader): Promise<SparseRegion[] | undefined> {
    const records = header.paxRecords;
    const major = records['GNU.sparse.major'];
    const minor = records['GNU.sparse.minor'];
    let v1: boolean;
    if (major === '0' && (minor === '0' || minor === '1')) v1 = false;
    else if (major === '1' && minor === '0') v1 = true;
    else if (major !== undefined || minor !== undefined) return undefined;
    else if ((records['GNU.sparse.map'] ?? '') !== '') v1 = false;
    else return undefined;
    const name = records['GNU.sparse.name'];
    if (name !== undefined && name !== '') setName(header, Buffer.from(name, 'utf8'));
    const sizeText = records['GNU.sparse.size'] ?? records['GNU.sparse.realsize'];
    if (sizeText !== undefined && sizeText !== '') {
      const size = parseDecimal(sizeText);
      if (size === undefined) throw tarError('header', `invalid GNU sparse size "${sizeText}"`);
      header.size = size;
    }
    return v1 ? this.readSparseMap1x0() : sparseMap0x1(records);
  }

  /** GNU sparse 1.0 keeps its map at the start of the data: decimal numbers, one per line, in whole blocks. */
  private async readSparseMap1x0(): Promise<SparseRegion[]> {
    const tokens: string[] = [];
    let partial = '';
    let consumed = 0;
    const need = async (count: number): Promise<void> => {
      while (tokens.length < count) {
        if (this.remaining < BLOCK) throw tarError('truncated', 'the archive ends inside a sparse map');
        consumed += BLOCK;
        if (consumed > this.maxMetadata) throw tarError('too-long', 'GNU sparse map exceeds the size limit');
        const block = await this.source.read(BLOCK);
        if (block.length < BLOCK) throw tarError('truncated', 'the archive ends inside a sparse map');
        this.remaining -= BLOCK;
        const lines = (partial + block.toString('latin1')).split('\n');
        partial = lines.pop() as string;
        tokens.push(...lines);
      }
    };
    await need(1);
    const count = parseDecimal(tokens[0] as string);
    if (count === undefined || count < 0) throw tarError('header', 'invalid GNU sparse map entry count');
    await need(1 + 2 * count);
    const regions: SparseRegion[] = [];
    for (let i = 0; i < count; i++) {
      const offset = parseDecimal(tokens[1 + 2 * i] as string);
      const length = parseDecimal(tokens[2 + 2 * i] as string);
      if (offset === undefined || length === undefined) throw tarError('header', 'invalid GNU sparse map entry');
      regions.push({ offset, length });
    }
    return regions;
  }
}

function sparseMap0x1(records: Record<string, string>): SparseRegion[] {
  const count = parseDecimal(records['GNU.sparse.numblocks'] ?? '');
  if (count === undefined || count < 0) throw tarError('header', 'invalid GNU.sparse.numblocks');
  const text = records['GNU.sparse.map'] ?? '';
  const parts = text === '' ? [] : text.split(',');
  if (parts.length !== 2 * count) throw tarError('header', 'GNU.sparse.map does not match GNU.sparse.numblocks');
  const regions: SparseRegion[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const offset = parseDecimal(parts[i] as string);
    const length = parseDecimal(parts[i + 1] as string);
    if (offset === undefined || length === undefined) throw tarError('header', 'invalid GNU.sparse.map entry');
    regions.push({ offset, length });
  }
  return regions;
}

function validSparse(regions: SparseRegion[], size: number): boolean {
  if (size < 0) return false;
  let previousEnd = 0;
  for (const region of regions) {
    if (region.offset < 0 || region.length < 0) return false;
    const end = region.offset + region.length;
    if (!Number.isSafeInteger(end) || end > size || previousEnd > region.offset) return false;
    previousEnd = end;
  }
  return true;
}

async function* expandSparse(data: AsyncIterable<Buffer>, regions: SparseRegion[], size: number): AsyncGenerator<Buffer> {
  const HOLE_CHUNK = 64 * 1024;
  let position = 0;
  const zeros = function* (until: number): Generator<Buffer> {
    while (position < until) {
      const n = Math.min(HOLE_CHUNK, until - position);
      position += n;
      yield Buffer.alloc(n);
    }
  };
  const iterator = data[Symbol.asyncIterator]();
  let pending: Buffer = Buffer.alloc(0);
  for (const region of regions) {
    yield* zeros(region.offset);
    let left = region.length;
    while (left > 0) {
      if (pending.length === 0) {
        const next = await iterator.next();
        if (next.done === true) throw tarError('truncated', 'sparse data ends early');
        pending = next.value;
      }
      const part = pending.subarray(0, Math.min(left, pending.length));
      pending = pending.subarray(part.length);
      left -= part.length;
      position += part.length;
      yield part;
    }
  }
  yield* zeros(size);
}

function emptyHeader(): TarHeader {
  return {
    name: '',
    nameBytes: Buffer.alloc(0),
    linkname: '',
    typeflag: '0',
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: { sec: 0, nsec: 0 },
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
    paxRecords: {},
    xattrs: {},
    format: 'unknown',
  };
}

function setName(header: TarHeader, bytes: Buffer): void {
  header.nameBytes = bytes;
  header.name = bytes.toString('utf8');
}

function numeric(field: Buffer): number {
  const value = parseNumeric(field);
  if (value === undefined) throw tarError('header', 'malformed numeric field');
  return value;
}

function checksumOk(block: Buffer): boolean {
  const stored = parseNumeric(block.subarray(148, 156));
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += c;
    signed += c >= 0x80 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

function detectFormat(block: Buffer): number {
  if (!checksumOk(block)) return 0;
  const magic = block.toString('latin1', 257, 263);
  const version = block.toString('latin1', 263, 265);
  const trailer = block.toString('latin1', 508, 512);
  if (magic === 'ustar\0' && trailer === 'tar\0') return F_STAR;
  if (magic === 'ustar\0') return F_USTAR | F_PAX;
  if (magic === 'ustar ' && version === ' \0') return F_GNU;
  return F_V7;
}

function parseHeaderBlock(block: Buffer): RawHeader {
  const detected = detectFormat(block);
  if (detected === 0) throw tarError('header', 'header checksum mismatch (not a tar archive, or corrupted)');
  const header = emptyHeader();
  header.typeflag = String.fromCharCode(block[156] as number);
  setName(header, Buffer.from(cstringBytes(block.subarray(0, 100))));
  header.linkname = cstring(block.subarray(157, 257));
  header.size = numeric(block.subarray(124, 136));
  header.mode = numeric(block.subarray(100, 108));
  header.uid = numeric(block.subarray(108, 116));
  header.gid = numeric(block.subarray(116, 124));
  header.mtime = { sec: numeric(block.subarray(136, 148)), nsec: 0 };
  let formatBits = 0;
  if (detected !== F_V7) {
    header.uname = cstring(block.subarray(265, 297));
    header.gname = cstring(block.subarray(297, 329));
    header.devmajor = numeric(block.subarray(329, 337));
    header.devminor = numeric(block.subarray(337, 345));
    let prefix: Buffer = Buffer.alloc(0);
    if (detected === (F_USTAR | F_PAX)) {
      formatBits = detected;
      prefix = cstringBytes(block.subarray(345, 500));
      if (!strictUstar(block)) formatBits = 0;
    } else if (detected === F_STAR) {
      prefix = cstringBytes(block.subarray(345, 476));
      header.atime = { sec: numeric(block.subarray(476, 488)), nsec: 0 };
      header.ctime = { sec: numeric(block.subarray(488, 500)), nsec: 0 };
    } else {
      formatBits = F_GNU;
      const atime = block[345] !== 0 ? parseNumeric(block.subarray(345, 357)) : 0;
      const ctime = block[357] !== 0 ? parseNumeric(block.subarray(357, 369)) : 0;
      if (atime === undefined || ctime === undefined) {
        // Go before 1.8 wrote a USTAR prefix into a GNU header; read it back as written.
        const old = cstringBytes(block.subarray(345, 500));
        if (!old.some((c) => c >= 0x80)) prefix = old;
        formatBits = 0;
      } else {
        if (block[345] !== 0) header.atime = { sec: atime, nsec: 0 };
        if (block[357] !== 0) header.ctime = { sec: ctime, nsec: 0 };
      }
    }
    if (prefix.length > 0) setName(header, Buffer.concat([prefix, Buffer.from('/'), header.nameBytes]));
  }
  return { header, block, formatBits };
}

/** A USTAR header as the standard says it: ASCII only and NUL-terminated numbers (else the format is "unknown"). */
function strictUstar(block: Buffer): boolean {
  if (block.some((c) => c >= 0x80)) return false;
  const ends = [108, 116, 124, 136, 148, 337, 345];
  return ends.every((end) => block[end - 1] === 0);
}

function mergePax(header: TarHeader, pax: ReturnType<typeof parsePaxRecords>): void {
  for (const [key, value] of Object.entries(pax.records)) {
    if (value === '') continue;
    switch (key) {
      case 'path':
        setName(header, Buffer.from(value, 'utf8'));
        break;
      case 'linkpath':
        header.linkname = value;
        break;
      case 'uname':
        header.uname = value;
        break;
      case 'gname':
        header.gname = value;
        break;
      case 'uid':
        header.uid = paxNumber(key, value);
        break;
      case 'gid':
        header.gid = paxNumber(key, value);
        break;
      case 'size':
        header.size = paxNumber(key, value);
        break;
      case 'mtime':
        header.mtime = parsePaxTime(value);
        break;
      case 'atime':
        header.atime = parsePaxTime(value);
        break;
      case 'ctime':
        header.ctime = parsePaxTime(value);
        break;
      default:
        break;
    }
  }
  for (const [key, value] of Object.entries(pax.xattrs)) {
    if (value.length > 0) header.xattrs[key] = value;
  }
  header.paxRecords = pax.records;
}

function paxNumber(key: string, value: string): number {
  const n = parseDecimal(value);
  if (n === undefined) throw tarError('header', `invalid PAX ${key} "${value}"`);
  return n;
}
