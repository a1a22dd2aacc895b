import { isUtf8 } from 'node:buffer';
import { tarError, type TarTime } from './tar-header';

/**
 * Field codecs of the tar formats, with Go archive/tar's tolerance rules: octal padded with
 * spaces or NULs, base-256 for values that do not fit, decimal text in PAX records.
 */

/** A NUL-terminated field's bytes (everything before the first NUL). */
export function cstringBytes(field: Buffer): Buffer {
  const nul = field.indexOf(0);
  return nul >= 0 ? field.subarray(0, nul) : field;
}

export function cstring(field: Buffer): string {
  return cstringBytes(field).toString('utf8');
}

export function isValidUtf8(bytes: Buffer): boolean {
  return isUtf8(bytes);
}

const OCTAL = /^[0-7]+$/;
const DECIMAL = /^[+-]?[0-9]+$/;

/** A numeric header field: base-256 when the high bit is set, octal otherwise. Undefined when malformed. */
export function parseNumeric(field: Buffer): number | undefined {
  if (field.length > 0 && ((field[0] as number) & 0x80) !== 0) return parseBase256(field);
  return parseOctal(field);
}

function parseBase256(field: Buffer): number | undefined {
  const negative = ((field[0] as number) & 0x40) !== 0;
  const inv = negative ? 0xff : 0;
  let x = 0n;
  for (let i = 0; i < field.length; i++) {
    let c = (field[i] as number) ^ inv;
    if (i === 0) c &= 0x7f;
    if (x >> 56n > 0n) return undefined;
    x = (x << 8n) | BigInt(c);
  }
  if (x >> 63n > 0n) return undefined;
  const value = negative ? -x - 1n : x;
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) return undefined;
  return Number(value);
}

function parseOctal(field: Buffer): number | undefined {
  let start = 0;
  let end = field.length;
  while (start < end && (field[start] === 0x20 || field[start] === 0)) start++;
  while (end > start && (field[end - 1] === 0x20 || field[end - 1] === 0)) end--;
  if (start === end) return 0;
  const text = cstring(field.subarray(start, end));
  if (!OCTAL.test(text)) return undefined;
  const value = parseInt(text, 8);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A decimal integer as in a PAX record (Go's strconv.ParseInt: optional sign, digits only). */
export function parseDecimal(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A PAX time: seconds with an optional fraction ("1350244992.023960108"). */
export function parsePaxTime(text: string): TarTime {
  const dot = text.indexOf('.');
  const secText = dot >= 0 ? text.slice(0, dot) : text;
  const fraction = dot >= 0 ? text.slice(dot + 1) : '';
  const sec = parseDecimal(secText);
  if (sec === undefined || !/^[0-9]*$/.test(fraction)) throw tarError('header', `invalid PAX time "${text}"`);
  if (fraction.length === 0) return { sec, nsec: 0 };
  const nsec = Number(fraction.padEnd(9, '0').slice(0, 9));
  if (secText.startsWith('-') && nsec > 0) return { sec: sec - 1, nsec: 1e9 - nsec };
  return { sec, nsec };
}

export interface PaxRecords {
  /** Records as text (last one wins, like Go). */
  records: Record<string, string>;
  /** The raw values of `SCHILY.xattr.*` records (xattr values are bytes, not text). */
  xattrs: Record<string, Buffer>;
}

const PATH_KEYS = new Set(['path', 'linkpath', 'uname', 'gname']);
const SCHILY_XATTR = 'SCHILY.xattr.';

/** Parse the body of a PAX extended header ("%d %s=%s\n" records). */
export function parsePaxRecords(data: Buffer): PaxRecords {
  const records: Record<string, string> = {};
  const xattrs: Record<string, Buffer> = {};
  const sparseMap: string[] = [];
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) throw tarError('header', 'malformed PAX record (no length)');
    const lengthText = data.toString('latin1', pos, space);
    const length = parseDecimal(lengthText);
    if (length === undefined || !/^[0-9]+$/.test(lengthText) || length < 5 || pos + length > data.length || length <= lengthText.length + 1) {
      throw tarError('header', `malformed PAX record length "${lengthText}"`);
    }
    const record = data.subarray(space + 1, pos + length);
    if (record[record.length - 1] !== 0x0a) throw tarError('header', 'malformed PAX record (no newline)');
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw tarError('header', 'malformed PAX record (no key)');
    const keyBytes = record.subarray(0, equals);
    const valueBytes = record.subarray(equals + 1, record.length - 1);
    const key = keyBytes.toString('utf8');
    if (keyBytes.includes(0)) throw tarError('header', 'PAX record key contains a NUL byte');
    if (PATH_KEYS.has(key) && valueBytes.includes(0)) throw tarError('header', `PAX record "${key}" contains a NUL byte`);
    const value = valueBytes.toString('utf8');
    if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') {
      const expected = sparseMap.length % 2 === 0 ? 'GNU.sparse.offset' : 'GNU.sparse.numbytes';
      if (key !== expected || value.includes(',')) throw tarError('header', 'malformed GNU sparse PAX records');
      sparseMap.push(value);
    } else {
      records[key] = value;
      if (key.startsWith(SCHILY_XATTR)) xattrs[key.slice(SCHILY_XATTR.length)] = Buffer.from(valueBytes);
    }
    pos += length;
  }
  if (sparseMap.length > 0) records['GNU.sparse.map'] = sparseMap.join(',');
  return { records, xattrs };
}
