import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { TAR_END, TarReader, encodeTarHeader, tarDataEntry, type TarHeader } from '../src';
import { tarOf } from './tar-fixtures';

async function headersOf(tar: Buffer): Promise<TarHeader[]> {
  const reader = new TarReader(Readable.from([tar]));
  const out: TarHeader[] = [];
  for (let entry = await reader.next(); entry !== undefined; entry = await reader.next()) out.push(entry.header);
  return out;
}

test('values that do not fit USTAR fields travel in PAX records and read back exactly', async () => {
  const longName = `${'x'.repeat(150)}/naïve-名前`;
  const binary = Buffer.from([0, 1, 2, 0xff, 0x0a, 0x3d]);
  const [header] = await headersOf(
    tarOf([{ name: longName, uid: 3_000_000, gid: 4_000_000, mtime: -5, xattrs: { 'security.capability': binary }, content: 'c' }]),
  );
  expect(header).toMatchObject({ name: longName, uid: 3_000_000, gid: 4_000_000, mtime: { sec: -5, nsec: 0 }, size: 1, format: 'PAX' });
  expect(header?.xattrs['security.capability']?.equals(binary)).toBe(true);
});

test('plain entries are USTAR with no PAX header, and GNU tar lists them', async () => {
  const tar = tarOf([
    { name: 'dir/', type: 'dir' },
    { name: 'dir/file', content: 'hello' },
    { name: 'dir/link', type: 'symlink', linkname: 'file' },
  ]);
  const headers = await headersOf(tar);
  expect(headers.map((h) => [h.name, h.typeflag, h.format])).toEqual([
    ['dir/', '5', 'USTAR'],
    ['dir/file', '0', 'USTAR'],
    ['dir/link', '2', 'USTAR'],
  ]);
  expect(execFileSync('tar', ['-tvf', '-'], { input: tar }).toString()).toMatch(/dir\/link -> file/);
});

test('an in-memory entry is its header sized to the data, the data, then zeros to a whole block', () => {
  const data = Buffer.from('x'.repeat(700));
  const parts = tarDataEntry({ name: 'f', mode: 0o600, mtime: 5 }, data);
  expect(parts[0]?.equals(encodeTarHeader({ name: 'f', type: 'file', mode: 0o600, mtime: 5, size: 700 }))).toBe(true);
  expect(parts[1]).toBe(data);
  expect(parts[2]?.equals(Buffer.alloc(1024 - 700))).toBe(true);
});

test('in-memory entries read back as the files they hold', async () => {
  const tar = Buffer.concat([...tarDataEntry({ name: 'a', mode: 0o644 }, Buffer.from('hello')), ...tarDataEntry({ name: 'empty', mode: 0o600 }, Buffer.alloc(0)), TAR_END]);
  const reader = new TarReader(Readable.from([tar]));
  const read: Array<[string, string, string]> = [];
  for (let entry = await reader.next(); entry !== undefined; entry = await reader.next()) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.data()) chunks.push(Buffer.from(chunk));
    read.push([entry.header.name, entry.header.typeflag, Buffer.concat(chunks).toString()]);
  }
  expect(read).toEqual([['a', '0', 'hello'], ['empty', '0', '']]);
});
