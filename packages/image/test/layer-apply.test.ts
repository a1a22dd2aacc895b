import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import * as zlib from 'node:zlib';
import { isCtrError } from '@ctr/errors';
import { applyLayer } from '../src';
import { scratch, streamOf, tarOf, treeOf, type Scratch } from './tar-fixtures';
import { CONFORMANCE } from '../../../test/conformance';

let s: Scratch;
beforeEach(async () => {
  s = await scratch('ctr-layer-apply-');
});
afterEach(async () => {
  await s.remove();
});

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

test('the diffID is the sha256 of the uncompressed tar, for plain and gzip layers alike', async () => {
  const tar = tarOf([{ name: 'a', content: 'x' }]);
  const plain = await applyLayer(s.root, streamOf(tar));
  await fs.rm(s.root, { recursive: true });
  await fs.mkdir(s.root);
  const gzip = await applyLayer(s.root, streamOf(zlib.gzipSync(tar)));
  expect(plain).toEqual({ diffId: sha256(tar), size: tar.length });
  expect(gzip).toEqual(plain);
  expect(readFileSync(join(s.root, 'a'), 'utf8')).toBe('x');
});

test('modes, owners and times come from the layer; directory times are set after their contents', async () => {
  await applyLayer(
    s.root,
    streamOf(
      tarOf([
        { name: 'dir/', type: 'dir', mode: 0o750, uid: 42, gid: 43, mtime: 1000000000 },
        { name: 'dir/file', mode: 0o640, uid: 7, gid: 8, mtime: 1100000000, content: 'f' },
        { name: 'dir/link', type: 'symlink', linkname: 'file', mtime: 1200000000 },
      ]),
    ),
  );
  const dir = await fs.lstat(join(s.root, 'dir'));
  expect([dir.mode & 0o7777, dir.uid, dir.gid, dir.mtimeMs / 1000]).toEqual([0o750, 42, 43, 1000000000]);
  const file = await fs.lstat(join(s.root, 'dir/file'));
  expect([file.mode & 0o7777, file.uid, file.gid, file.mtimeMs / 1000]).toEqual([0o640, 7, 8, 1100000000]);
  expect((await fs.lstat(join(s.root, 'dir/link'))).mtimeMs / 1000).toBe(1200000000);
});

test('a second layer replaces files, deletes whiteouts and links to files of the first', async () => {
  await applyLayer(s.root, streamOf(tarOf([{ name: 'etc/conf', content: 'v1' }, { name: 'old/x', content: 'x' }, { name: 'bin/tool', content: 't' }])));
  await applyLayer(
    s.root,
    streamOf(tarOf([{ name: 'etc/conf', content: 'v2' }, { name: '.wh.old' }, { name: 'bin/alias', type: 'hardlink', linkname: 'bin/tool' }])),
  );
  expect(await treeOf(s.root)).toEqual({ bin: 'd', 'bin/alias': 'f:t', 'bin/tool': 'f:t', etc: 'd', 'etc/conf': 'f:v2' });
});

test('sparse files (all four GNU encodings) are written with their holes', async () => {
  await applyLayer(s.root, streamOf(readFileSync(`${CONFORMANCE}/tar/testdata/sparse-formats.tar`)));
  // The md5 Go's reader test gives for the expanded content ("\0G\0o\0G\0o…").
  for (const name of ['sparse-gnu', 'sparse-posix-0.0', 'sparse-posix-0.1', 'sparse-posix-1.0']) {
    const content = readFileSync(join(s.root, name));
    expect(createHash('md5').update(content).digest('hex')).toBe('6f53234398c2449fe67c1812d993012f');
  }
  expect(readFileSync(join(s.root, 'end'), 'utf8')).toBe('end\n');
});

test('a 60 GB sparse file is applied as holes, not written out', async () => {
  await applyLayer(s.root, streamOf(readFileSync(`${CONFORMANCE}/tar/testdata/pax-sparse-big.tar`)));
  const [name] = await fs.readdir(s.root);
  const stat = await fs.stat(join(s.root, name as string));
  expect(stat.size).toBe(60e9);
  expect(stat.blocks * 512).toBeLessThan(1 << 20);
});

test('cancelling stops the apply with Aborted and leaves no write running', async () => {
  const controller = new AbortController();
  const input = new PassThrough();
  const tar = tarOf(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, content: 'x'.repeat(1000) })));
  input.write(tar.subarray(0, 20000));
  const applying = applyLayer(s.root, input, { signal: controller.signal });
  setTimeout(() => controller.abort(), 20);
  const error = await applying.catch((e: unknown) => e);
  expect(isCtrError(error) && error.code).toBe('Aborted');
  const after = Object.keys(await treeOf(s.root)).length;
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(Object.keys(await treeOf(s.root))).toHaveLength(after);
});

test('a missing target directory is NotFound; a target that is a file is InvalidArgument', async () => {
  const error = await applyLayer(join(s.dir, 'missing'), streamOf(tarOf([{ name: 'a' }]))).catch((e: unknown) => e);
  expect(isCtrError(error) && error.code).toBe('NotFound');
  await fs.writeFile(join(s.dir, 'file'), 'f');
  const notDir = await applyLayer(join(s.dir, 'file'), streamOf(tarOf([{ name: 'a' }]))).catch((e: unknown) => e);
  expect(isCtrError(notDir) && notDir.code).toBe('InvalidArgument');
  expect(readFileSync(join(s.dir, 'file'), 'utf8')).toBe('f');
});

test('a zstd layer applies on any Node (its own decoder from 22.15, the zstd command before)', async () => {
  const layer = execFileSync('zstd', ['-c', '-q'], { input: tarOf([{ name: 'z.txt', content: 'zstd' }]) });
  await applyLayer(s.root, streamOf(layer));
  expect(readFileSync(join(s.root, 'z.txt'), 'utf8')).toBe('zstd');
});

test('corrupt zstd data is an InvalidArgument naming the compression', async () => {
  const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64)]);
  const error = await applyLayer(s.root, streamOf(zstd)).catch((e: unknown) => e);
  expect(isCtrError(error) && error.code).toBe('InvalidArgument');
  expect((error as Error).message).toMatch(/^layer is not valid zstd data: /);
});

test('an entry below a regular file is InvalidArgument, and nothing else changes', async () => {
  await applyLayer(s.root, streamOf(tarOf([{ name: 'a', content: 'file' }])));
  const error = await applyLayer(s.root, streamOf(tarOf([{ name: 'a/b', content: 'x' }]))).catch((e: unknown) => e);
  expect(isCtrError(error) && error.code).toBe('InvalidArgument');
  expect(await treeOf(s.root)).toEqual({ a: 'f:file' });
});

test('overlay-mode whiteouts hide lower files in a real overlayfs mount, as delete mode does on a copy', async () => {
  const [lower, upper, work, merged, flat] = ['lower', 'upper', 'work', 'merged', 'flat'].map((d) => join(s.dir, d)) as [string, string, string, string, string];
  for (const d of [lower, upper, work, merged, flat]) await fs.mkdir(d);
  const base = tarOf([{ name: 'etc/keep', content: 'k' }, { name: 'etc/gone', content: 'g' }, { name: 'opaque/old', content: 'o' }]);
  const change = tarOf([{ name: 'etc/.wh.gone' }, { name: 'opaque/', type: 'dir' }, { name: 'opaque/.wh..wh..opq' }, { name: 'opaque/new', content: 'n' }]);
  await applyLayer(lower, streamOf(base));
  await applyLayer(upper, streamOf(change), { whiteouts: 'overlay' });
  await applyLayer(flat, streamOf(base));
  await applyLayer(flat, streamOf(change));
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
  try {
    expect(await treeOf(merged)).toEqual(await treeOf(flat));
    expect(await treeOf(flat)).toEqual({ etc: 'd', 'etc/keep': 'f:k', opaque: 'd', 'opaque/new': 'f:n' });
  } finally {
    execFileSync('umount', [merged]);
  }
});
