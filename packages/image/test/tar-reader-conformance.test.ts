import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { bunzip2 } from './tar-fixtures';
import { TarReader, tarErrorReason, type TarEntry, type TarHeader } from '../src';
import { CONFORMANCE } from '../../../test/conformance';

/**
 * Go archive/tar's reader tests, transcribed in shared/conformance/tar/reader-expected.json,
 * run against our reader on the test data files as they are.
 */

const DIR = `${CONFORMANCE}/tar`;
const expected = JSON.parse(readFileSync(join(DIR, 'reader-expected.json'), 'utf8')) as Expected;

interface ExpectedTime {
  unix: number;
  nsec: number;
}
interface ExpectedHeader {
  Name?: string | { hex: string };
  Linkname?: string;
  Mode?: string;
  Uid?: number;
  Gid?: number;
  Size?: number;
  ModTime?: ExpectedTime;
  AccessTime?: ExpectedTime;
  ChangeTime?: ExpectedTime;
  Typeflag?: string;
  Uname?: string;
  Gname?: string;
  Devmajor?: number;
  Devminor?: number;
  PAXRecords?: Record<string, string>;
  Xattrs?: Record<string, string>;
  Format?: string;
}
interface Vector {
  file: string;
  headers?: ExpectedHeader[];
  md5?: (string | null)[];
  expectError?: 'ErrHeader' | 'ErrFieldTooLong';
}
type Part = { file: string; from: number; to: number | null; appendZeroBytes?: number } | { trash: number };
interface Expected {
  vectors: Vector[];
  truncation: { vectors: { input: Part[]; headers: number; error: 'EOF' | 'UnexpectedEOF' | 'ErrHeader' }[] };
  partialRead: { vectors: { file: string; cases: { cnt: number; output: string }[] }[] };
  headerOnly: { file: string };
}

function fileBytes(name: string): Buffer {
  const raw = readFileSync(join(DIR, 'testdata', name));
  return name.endsWith('.bz2') ? bunzip2(raw) : raw;
}

function readerOf(bytes: Buffer): TarReader {
  // Feed in odd-sized chunks so headers straddle chunk boundaries.
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 333) chunks.push(bytes.subarray(i, i + 333));
  return new TarReader(Readable.from(chunks));
}

async function md5Of(entry: TarEntry): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of entry.content()) hash.update(chunk);
  return hash.digest('hex');
}

const time = (t: { sec: number; nsec: number } | undefined): ExpectedTime | undefined =>
  t === undefined ? undefined : { unix: t.sec, nsec: t.nsec };

function asGo(header: TarHeader, want: ExpectedHeader): ExpectedHeader {
  const valid = Buffer.from(header.name, 'utf8').equals(header.nameBytes);
  const got: ExpectedHeader = {
    Name: valid ? header.name : { hex: header.nameBytes.toString('hex') },
    Linkname: header.linkname,
    Mode: `0${header.mode.toString(8)}`,
    Uid: header.uid,
    Gid: header.gid,
    Size: header.size,
    Typeflag: header.typeflag,
    Uname: header.uname,
    Gname: header.gname,
    Devmajor: header.devmajor,
    Devminor: header.devminor,
    PAXRecords: header.paxRecords,
    Xattrs: Object.fromEntries(Object.entries(header.xattrs).map(([k, v]) => [k, v.toString('utf8')])),
    Format: header.format === 'unknown' ? undefined : header.format,
  };
  if (want.ModTime !== undefined) got.ModTime = time(header.mtime);
  if (header.atime !== undefined) got.AccessTime = time(header.atime);
  if (header.ctime !== undefined) got.ChangeTime = time(header.ctime);
  return got;
}

function withZeroValues(want: ExpectedHeader): ExpectedHeader {
  return {
    Name: '',
    Linkname: '',
    Mode: '00',
    Uid: 0,
    Gid: 0,
    Size: 0,
    Typeflag: '',
    Uname: '',
    Gname: '',
    Devmajor: 0,
    Devminor: 0,
    PAXRecords: {},
    Xattrs: {},
    Format: undefined,
    ...want,
  };
}

function errorClass(error: unknown): string {
  const reason = tarErrorReason(error);
  if (reason === 'header') return 'ErrHeader';
  if (reason === 'too-long') return 'ErrFieldTooLong';
  if (reason === 'truncated') return 'UnexpectedEOF';
  throw error;
}

describe('the tar reader reads Go archive/tar test vectors as Go does', () => {
  for (const vector of expected.vectors) {
    test(`${vector.file}${vector.expectError ? ` fails with ${vector.expectError}` : ''}`, async () => {
      const reader = readerOf(fileBytes(vector.file));
      const headers: ExpectedHeader[] = [];
      const md5s: string[] = [];
      let failure: string | undefined;
      try {
        for (let entry = await reader.next(); entry !== undefined; entry = await reader.next()) {
          const wantMd5 = vector.md5?.[headers.length];
          headers.push(asGo(entry.header, vector.headers?.[headers.length] ?? {}));
          md5s.push(typeof wantMd5 === 'string' ? await md5Of(entry) : '');
        }
      } catch (error) {
        failure = errorClass(error);
      }
      if (vector.expectError !== undefined) {
        expect(failure).toBe(vector.expectError);
        return;
      }
      expect(failure).toBeUndefined();
      expect(headers).toEqual((vector.headers ?? []).map(withZeroValues));
      (vector.md5 ?? []).forEach((md5, i) => {
        if (md5 !== null) expect(md5s[i]).toBe(md5);
      });
    });
  }
});

describe('the tar reader ends truncated and trailing-garbage archives as Go does', () => {
  const build = (parts: Part[]): Buffer =>
    Buffer.concat(
      parts.map((part) => {
        if ('trash' in part) return Buffer.from('garbage '.repeat(64)).subarray(0, part.trash);
        let bytes = fileBytes(part.file);
        if (part.appendZeroBytes !== undefined) bytes = Buffer.concat([bytes, Buffer.alloc(part.appendZeroBytes)]);
        return bytes.subarray(part.from, part.to ?? bytes.length);
      }),
    );
  expected.truncation.vectors.forEach((vector, i) => {
    const label = vector.input.map((p) => ('trash' in p ? `trash ${p.trash}` : `${p.file}[${p.from}:${p.to ?? ''}]`)).join(' + ');
    test(`#${i} ${label || '(empty)'} → ${vector.headers} headers, ${vector.error}`, async () => {
      const reader = readerOf(build(vector.input));
      let headers = 0;
      let end = 'EOF';
      try {
        while ((await reader.next()) !== undefined) headers++;
      } catch (error) {
        end = errorClass(error);
      }
      expect({ headers, end }).toEqual({ headers: vector.headers, end: vector.error });
    });
  });
});

describe('partial reads of an entry leave the next entry intact', () => {
  for (const vector of expected.partialRead.vectors) {
    test(vector.file, async () => {
      const reader = readerOf(fileBytes(vector.file));
      for (const { cnt, output } of vector.cases) {
        const entry = await reader.next();
        expect(entry).toBeDefined();
        let got = Buffer.alloc(0);
        for await (const chunk of (entry as TarEntry).content()) {
          got = Buffer.concat([got, chunk]);
          if (got.length >= cnt) break;
        }
        expect(got.subarray(0, cnt).toString('latin1')).toBe(Buffer.from(output, 'utf8').toString('latin1'));
      }
      expect(await reader.next()).toBeUndefined();
    });
  }
});

test('hdr-only.tar: non-regular entries carry no data whatever their size field says', async () => {
  const reader = readerOf(fileBytes(expected.headerOnly.file));
  const headers: TarHeader[] = [];
  for (let entry = await reader.next(); entry !== undefined; entry = await reader.next()) {
    let bytes = 0;
    for await (const chunk of entry.content()) bytes += chunk.length;
    if (entry.header.typeflag !== '0') expect(bytes).toBe(0);
    headers.push(entry.header);
  }
  expect(headers).toHaveLength(16);
  for (let i = 0; i < 8; i++) {
    const { size: _a, ...first } = headers[i] as TarHeader;
    const { size: _b, ...second } = headers[i + 8] as TarHeader;
    expect(second).toEqual(first);
  }
});
