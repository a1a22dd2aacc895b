/**
 * Tar headers as Go's archive/tar writes them for layers (what Docker produces): USTAR
 * blocks, with a PAX header first whenever a value does not fit (long or non-ASCII names,
 * big ids, sizes and times) or the entry has xattrs. Records sorted, times in whole seconds,
 * no atime/ctime, no user names: the same tree always gives the same bytes.
 */

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarWriteHeader {
  /** The entry name as stored (directories conventionally end in '/'). */
  name: string;
  type: TarEntryType;
  mode: number;
  uid?: number;
  gid?: number;
  /** Data bytes that follow (regular files only). */
  size?: number;
  /** Seconds since the epoch. */
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
}

const TYPEFLAG: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
const BLOCK = 512;
const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

/** Two zero blocks: the end of an archive. */
export const TAR_END: Buffer = Buffer.alloc(BLOCK * 2);

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/**
 * One entry whose data is already in memory: its header (sized to `data`), the data, and the
 * padding to a whole block. Separate buffers, so that a stream passes the data on uncopied.
 */
export function tarDataEntry(header: Omit<TarWriteHeader, 'type' | 'size'>, data: Buffer): Buffer[] {
  return [encodeTarHeader({ ...header, type: 'file', size: data.length }), data, tarPadding(data.length)];
}

function isAscii(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte >= 0x80 || byte === 0) return false;
  return true;
}

function octal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'latin1');
}

/** One PAX record, "%d %s=%s\n", whose length counts its own digits. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function rawBlock(name: Buffer, typeflag: string, fields: { mode: number; uid: number; gid: number; size: number; mtime: number; linkname: Buffer; devmajor: number; devminor: number }): Buffer {
  const block = Buffer.alloc(BLOCK);
  name.copy(block, 0, 0, Math.min(name.length, 100));
  octal(block, 100, 8, fields.mode);
  octal(block, 108, 8, fields.uid);
  octal(block, 116, 8, fields.gid);
  octal(block, 124, 12, fields.size);
  octal(block, 136, 12, fields.mtime);
  block.write(typeflag, 156, 1, 'latin1');
  fields.linkname.copy(block, 157, 0, Math.min(fields.linkname.length, 100));
  block.write('ustar\x0000', 257, 8, 'latin1');
  octal(block, 329, 8, fields.devmajor);
  octal(block, 337, 8, fields.devminor);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

/** The header block(s) for one entry: a PAX header when needed, then the USTAR block. */
export function encodeTarHeader(header: TarWriteHeader): Buffer {
  const name = Buffer.from(header.name, 'utf8');
  const linkname = Buffer.from(header.linkname ?? '', 'utf8');
  const uid = header.uid ?? 0;
  const gid = header.gid ?? 0;
  const size = header.type === 'file' ? (header.size ?? 0) : 0;
  const mtime = Math.floor(header.mtime ?? 0);
  const records = new Map<string, Buffer>();
  if (name.length > 100 || !isAscii(name)) records.set('path', name);
  if (linkname.length > 100 || !isAscii(linkname)) records.set('linkpath', linkname);
  if (uid > MAX_OCTAL_7) records.set('uid', Buffer.from(String(uid)));
  if (gid > MAX_OCTAL_7) records.set('gid', Buffer.from(String(gid)));
  if (size > MAX_OCTAL_11) records.set('size', Buffer.from(String(size)));
  if (mtime < 0 || mtime > MAX_OCTAL_11) records.set('mtime', Buffer.from(String(mtime)));
  for (const [key, value] of Object.entries(header.xattrs ?? {})) records.set(`SCHILY.xattr.${key}`, value);
  const block = rawBlock(name, TYPEFLAG[header.type], {
    mode: header.mode & 0o7777,
    uid: uid > MAX_OCTAL_7 ? 0 : uid,
    gid: gid > MAX_OCTAL_7 ? 0 : gid,
    size: size > MAX_OCTAL_11 ? 0 : size,
    mtime: records.has('mtime') ? 0 : mtime,
    linkname,
    devmajor: header.devmajor ?? 0,
    devminor: header.devminor ?? 0,
  });
  if (records.size === 0) return block;
  const data = Buffer.concat([...records.keys()].sort().map((key) => paxRecord(key, records.get(key) as Buffer)));
  const trimmed = header.name.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  const paxName = Buffer.from(`${trimmed.slice(0, slash + 1)}PaxHeaders.0/${trimmed.slice(slash + 1)}`, 'utf8').subarray(0, 100);
  const paxBlock = rawBlock(paxName, 'x', { mode: 0, uid: 0, gid: 0, size: data.length, mtime: 0, linkname: Buffer.alloc(0), devmajor: 0, devminor: 0 });
  return Buffer.concat([paxBlock, data, tarPadding(data.length), block]);
}
