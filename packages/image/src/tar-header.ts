import { CtrError } from '@ctr/errors';

/** A time as tar stores it: whole seconds since the epoch plus nanoseconds (PAX keeps both). */
export interface TarTime {
  sec: number;
  nsec: number;
}

/** Which header format a reader recognised (as Go's archive/tar reports it). */
export type TarFormat = 'unknown' | 'USTAR' | 'PAX' | 'GNU';

/** One data region of a sparse file: `length` bytes of real data at `offset`; the rest are holes. */
export interface SparseRegion {
  offset: number;
  length: number;
}

/**
 * One tar entry's header after PAX and GNU extensions are merged. Field names follow tar
 * (and Go's `tar.Header`), so readers of either will recognise them.
 */
export interface TarHeader {
  /** The path, decoded as UTF-8 (invalid bytes become U+FFFD; `nameBytes` keeps them). */
  name: string;
  /** The path exactly as the archive stored it. */
  nameBytes: Buffer;
  linkname: string;
  /** The raw type byte: '0' file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' fifo, 'S' GNU sparse, 'D' GNU dumpdir, 'g' PAX global header. */
  typeflag: string;
  /** The mode field as stored (may include S_IFMT bits; permissions are `mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Logical size: for sparse files the expanded size, for links and devices what the header says. */
  size: number;
  mtime: TarTime;
  atime?: TarTime;
  ctime?: TarTime;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** The entry's own PAX records, merged (global records come as their own 'g' entries). */
  paxRecords: Record<string, string>;
  /** Extended attributes from `SCHILY.xattr.*` records, values as raw bytes. */
  xattrs: Record<string, Buffer>;
  format: TarFormat;
  /** Present for sparse files: where the data regions go; everything else reads as zeros. */
  sparse?: SparseRegion[];
}

/** Why reading a tar failed, matching Go's archive/tar errors (ErrHeader, io.ErrUnexpectedEOF, ErrFieldTooLong). */
export type TarErrorReason = 'header' | 'truncated' | 'too-long';

export function tarError(reason: TarErrorReason, message: string): CtrError {
  const code = reason === 'too-long' ? 'ResourceExhausted' : 'InvalidArgument';
  const prefix = reason === 'truncated' ? 'truncated tar archive' : 'invalid tar archive';
  return new CtrError(code, `${prefix}: ${message}`, { details: { tar: reason } });
}

/** The reason recorded on an error thrown by the tar reader, if it is one. */
export function tarErrorReason(error: unknown): TarErrorReason | undefined {
  if (!(error instanceof CtrError)) return undefined;
  const reason = error.details['tar'];
  return reason === 'header' || reason === 'truncated' || reason === 'too-long' ? reason : undefined;
}

/** Typeflags whose size field is never followed by data. */
export function isHeaderOnlyType(typeflag: string): boolean {
  return typeflag === '1' || typeflag === '2' || typeflag === '3' || typeflag === '4' || typeflag === '5' || typeflag === '6';
}
