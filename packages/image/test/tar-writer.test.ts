import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { TarReader, type TarHeader } from '../src';
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
