import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { isCtrError, type CtrError } from '@ctr/errors';
import { applyLayer, encodeTarHeader, tarPadding, type ApplyLayerOptions } from '../src';
import { bunzip2, scratch, streamOf, tarOf, treeOf, type FixtureEntry, type Scratch } from './tar-fixtures';
import { CONFORMANCE } from '../../../test/conformance';

/**
 * SECURITY-CASES.md §0–1 (T1–T15) as they apply to layers: each hostile layer is rejected
 * with a typed CtrError or contained inside the target, and nothing outside it changes.
 */

let s: Scratch;
beforeEach(async () => {
  s = await scratch('ctr-layer-sec-');
});
afterEach(async () => {
  await s.remove();
});

const apply = (entries: FixtureEntry[], options?: ApplyLayerOptions): ReturnType<typeof applyLayer> =>
  applyLayer(s.root, streamOf(tarOf(entries)), options);

async function rejection(promise: Promise<unknown>): Promise<CtrError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isCtrError(error)) throw new Error(`expected a CtrError, got ${String(error)}`);
  return error;
}

const unique = (): string => `ctr-sec-${randomBytes(6).toString('hex')}`;

test('T1: a ../ entry name is rejected and nothing is written outside the root', async () => {
  const error = await rejection(apply([{ name: '../../../../tmp/pwned-t1' }, { name: '../escaped' }]));
  expect(error.code).toBe('InvalidArgument');
  expect(error.message).toMatch(/outside the layer root/);
  expect(await s.outside()).toEqual([]);
  expect(existsSync('/tmp/pwned-t1')).toBe(false);
});

test('T2: an absolute entry name lands inside the root', async () => {
  const name = unique();
  await apply([{ name: `/${name}/cron.d/x`, content: 'job' }]);
  expect(readFileSync(join(s.root, name, 'cron.d/x'), 'utf8')).toBe('job');
  expect(existsSync(`/${name}`)).toBe(false);
});

test('T3: a symlink to / does not let a later entry write to the host', async () => {
  const name = unique();
  await apply([
    { name: 'etc', type: 'symlink', linkname: '/' },
    { name: `etc/${name}`, content: 'x' },
    { name: 'out', type: 'symlink', linkname: s.dir },
    { name: 'out/escaped', content: 'x' },
  ]);
  expect(existsSync(`/${name}`)).toBe(false);
  expect(readFileSync(join(s.root, name), 'utf8')).toBe('x');
  expect(await s.outside()).toEqual([]);
  expect(readFileSync(join(s.root, s.dir, 'escaped'), 'utf8')).toBe('x');
  expect(await fs.readlink(join(s.root, 'etc'))).toBe('/');
});

test('T4: a relative symlink climbing above the root is clamped at the root', async () => {
  await apply([
    { name: 'a', type: 'symlink', linkname: '../../../../' },
    { name: 'a/b', content: 'inside' },
  ]);
  expect(readFileSync(join(s.root, 'b'), 'utf8')).toBe('inside');
  expect(await s.outside()).toEqual([]);
});

test('T5: a file over a symlink from a lower layer replaces the symlink, never writes through it', async () => {
  const secret = join(s.dir, 'secret');
  await fs.writeFile(secret, 'host');
  await apply([
    { name: 'x', type: 'symlink', linkname: secret },
    { name: 'dangling', type: 'symlink', linkname: join(s.dir, 'made-by-layer') },
  ]);
  await apply([
    { name: 'x', content: 'pwned' },
    { name: 'dangling', content: 'pwned' },
  ]);
  expect(readFileSync(secret, 'utf8')).toBe('host');
  expect(await s.outside()).toEqual(['secret']);
  expect((await fs.lstat(join(s.root, 'x'))).isFile()).toBe(true);
  expect(readFileSync(join(s.root, 'dangling'), 'utf8')).toBe('pwned');
});

test('T6: hard links to host files are rejected (absolute names are re-rooted, ../ refused)', async () => {
  const secret = join(s.dir, 'secret');
  await fs.writeFile(secret, 'host');
  const absolute = await rejection(apply([{ name: 'link', type: 'hardlink', linkname: secret }]));
  expect(absolute.code).toBe('InvalidArgument');
  expect(absolute.message).toMatch(/not a file in this layer or below/);
  const relative = await rejection(apply([{ name: 'link2', type: 'hardlink', linkname: '../secret' }]));
  expect(relative.code).toBe('InvalidArgument');
  expect((await fs.stat(secret)).nlink).toBe(1);
  expect(await s.outside()).toEqual(['secret']);
  expect(await treeOf(s.root)).toEqual({});
});

test('T7: hard links and whiteouts through a symlinked directory stay inside the root', async () => {
  await fs.writeFile(join(s.dir, 'y'), 'host');
  await apply([
    { name: 'somefile', content: 'data' },
    { name: 'd', type: 'symlink', linkname: s.dir },
    { name: 'd/x', type: 'hardlink', linkname: 'somefile' },
    { name: 'd/.wh.y' },
  ]);
  expect(readFileSync(join(s.dir, 'y'), 'utf8')).toBe('host');
  expect(await s.outside()).toEqual(['y']);
  expect((await fs.stat(join(s.root, s.dir, 'x'))).ino).toBe((await fs.stat(join(s.root, 'somefile'))).ino);
});

describe('T8: whiteouts with odd names are errors and remove nothing', () => {
  for (const name of ['.wh.', 'a/.wh..', 'a/.wh...', '.wh.../x', '../.wh.x']) {
    test(`"${name}"`, async () => {
      await apply([{ name: 'a/keep', content: 'k' }]);
      const error = await rejection(apply([{ name }]));
      expect(error.code).toBe('InvalidArgument');
      expect(await treeOf(s.root)).toEqual({ a: 'd', 'a/keep': 'f:k' });
      expect(await s.outside()).toEqual([]);
    });
  }
});

test('T9: an opaque marker in a directory that is a symlink clears only inside the root', async () => {
  await fs.writeFile(join(s.dir, 'host-file'), 'host');
  await apply([{ name: 'd', type: 'symlink', linkname: s.dir }]);
  await apply([{ name: 'd/.wh..wh..opq' }]);
  expect(readFileSync(join(s.dir, 'host-file'), 'utf8')).toBe('host');
  expect(await s.outside()).toEqual(['host-file']);
});

describe('T10: whiteouts hide only lower layers', () => {
  const lower: FixtureEntry[] = [
    { name: 'a/', type: 'dir' },
    { name: 'a/old', content: 'lower' },
    { name: 'a/sub/deep', content: 'lower' },
    { name: 'gone', content: 'lower' },
  ];

  test('an opaque directory keeps children added by the same layer, before or after the marker', async () => {
    await apply(lower);
    await apply([{ name: 'a/before', content: 'new' }, { name: 'a/.wh..wh..opq' }, { name: 'a/after', content: 'new' }]);
    expect(await treeOf(join(s.root, 'a'))).toEqual({ after: 'f:new', before: 'f:new' });
  });

  test('a file and its whiteout in the same layer: the file stays, in either order', async () => {
    await apply(lower);
    await apply([{ name: 'x', content: '1' }, { name: '.wh.x' }, { name: '.wh.y' }, { name: 'y', content: '2' }, { name: '.wh.gone' }]);
    expect(await treeOf(s.root)).toMatchObject({ x: 'f:1', y: 'f:2' });
    expect(existsSync(join(s.root, 'gone'))).toBe(false);
  });

  test('overlay mode writes 0/0 character devices and trusted.overlay.opaque=y', async () => {
    await apply([{ name: 'a/.wh..wh..opq' }, { name: 'a/new', content: 'n' }, { name: '.wh.gone' }], { whiteouts: 'overlay' });
    const whiteout = await fs.lstat(join(s.root, 'gone'));
    expect(whiteout.isCharacterDevice()).toBe(true);
    expect(whiteout.rdev).toBe(0);
    expect(execFileSync('getfattr', ['-h', '--only-values', '-n', 'trusted.overlay.opaque', join(s.root, 'a')], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()).toBe('y');
    expect(readFileSync(join(s.root, 'a/new'), 'utf8')).toBe('n');
  });
});

describe('T11: device nodes and fifos', () => {
  const hdrOnly = (): Buffer => readFileSync(`${CONFORMANCE}/tar/testdata/hdr-only.tar`);

  test('are created inside the root when running as root', async () => {
    expect(process.getuid?.()).toBe(0);
    await applyLayer(s.root, streamOf(hdrOnly()));
    const nul = await fs.lstat(join(s.root, 'null'));
    expect(nul.isCharacterDevice()).toBe(true);
    expect(nul.rdev).toBe(0x103);
    expect((await fs.lstat(join(s.root, 'sda'))).isBlockDevice()).toBe(true);
    expect((await fs.lstat(join(s.root, 'fifo'))).isFIFO()).toBe(true);
    expect(await fs.readlink(join(s.root, 'badlink'))).toBe('missing');
    expect(await s.outside()).toEqual([]);
  });

  test('are skipped when devices are not allowed', async () => {
    await applyLayer(s.root, streamOf(hdrOnly()), { devices: false });
    expect(existsSync(join(s.root, 'null'))).toBe(false);
    expect(existsSync(join(s.root, 'sda'))).toBe(false);
    expect((await fs.lstat(join(s.root, 'file'))).isFile()).toBe(true);
  });
});

test('T12: setuid bits and security.capability are kept, trusted.* xattrs are dropped', async () => {
  const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex');
  await apply([
    { name: 'bin/su', mode: 0o4755, uid: 0, content: 'su' },
    { name: 'bin/ping', mode: 0o755, content: 'ping', xattrs: { 'security.capability': capability, 'user.note': Buffer.from('hi') } },
    { name: 'dir/', type: 'dir', xattrs: { 'trusted.overlay.opaque': Buffer.from('y') } },
  ]);
  expect((await fs.stat(join(s.root, 'bin/su'))).mode & 0o7777).toBe(0o4755);
  const dump = execFileSync('getfattr', ['-d', '-m', '-', '-e', 'hex', join(s.root, 'bin/ping'), join(s.root, 'dir')], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  expect(dump).toContain(`security.capability=0x${capability.toString('hex')}`);
  expect(dump).toContain('user.note=0x6869');
  expect(dump).not.toContain('trusted.overlay');
});

test('T13: a name repeated as dir, file, then symlink to / — last wins and T3 still holds', async () => {
  const name = unique();
  await apply([
    { name: 'a/', type: 'dir' },
    { name: 'a/inner', content: 'old' },
    { name: 'a', content: 'file' },
    { name: 'a', type: 'symlink', linkname: '/' },
    { name: `a/${name}`, content: 'x' },
  ]);
  expect(await fs.readlink(join(s.root, 'a'))).toBe('/');
  expect(readFileSync(join(s.root, name), 'utf8')).toBe('x');
  expect(existsSync(`/${name}`)).toBe(false);
});

describe('T14: huge or malformed headers fail cleanly', () => {
  const testdata = (file: string): Buffer => readFileSync(join(`${CONFORMANCE}/tar/testdata`, file));

  test('a 1 MiB PAX header is refused with ResourceExhausted', async () => {
    const error = await rejection(applyLayer(s.root, streamOf(bunzip2(testdata('pax-bad-hdr-large.tar.bz2')))));
    expect(error.code).toBe('ResourceExhausted');
    expect(await treeOf(s.root)).toEqual({});
  });

  for (const file of ['neg-size.tar', 'issue10968.tar', 'issue11169.tar', 'issue12435.tar', 'pax-bad-hdr-file.tar']) {
    test(`${file} is an invalid archive`, async () => {
      const error = await rejection(applyLayer(s.root, streamOf(testdata(file))));
      expect(error.code).toBe('InvalidArgument');
      expect(await s.outside()).toEqual([]);
    });
  }

  test('a 16 GiB entry in a truncated archive is reported as truncated, not allocated', async () => {
    const error = await rejection(applyLayer(s.root, streamOf(testdata('writer-big.tar'))));
    expect(error.code).toBe('InvalidArgument');
    expect(error.message).toMatch(/truncated/);
  });

  test('a GNU sparse 1.0 map claiming 1e9 regions is refused once the map passes 1 MiB', async () => {
    const record = (text: string): string => {
      let length = text.length + 3;
      while (`${length} ${text}\n`.length !== length) length = `${length} ${text}\n`.length;
      return `${length} ${text}\n`;
    };
    const pax = Buffer.from(['GNU.sparse.major=1', 'GNU.sparse.minor=0', 'GNU.sparse.name=big', 'GNU.sparse.realsize=4096'].map(record).join(''));
    const paxHeader = encodeTarHeader({ name: 'PaxHeaders.0/big', type: 'file', mode: 0, size: pax.length });
    paxHeader.write('x', 156, 'latin1');
    paxHeader.fill(0x20, 148, 156);
    const sum = paxHeader.reduce((a, b) => a + b, 0);
    paxHeader.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const map = Buffer.from(`1000000000\n${'1\n'.repeat(2 << 20)}`);
    const tar = Buffer.concat([paxHeader, pax, tarPadding(pax.length), tarOf([{ name: 'big', content: map }])]);
    const error = await rejection(applyLayer(s.root, streamOf(tar)));
    expect(error.code).toBe('ResourceExhausted');
    expect(error.message).toMatch(/sparse map/);
  });

  test('too many entries are refused with ResourceExhausted', async () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}` }));
    const error = await rejection(apply(entries, { maxEntries: 10 }));
    expect(error.code).toBe('ResourceExhausted');
  });
});

describe('T15: decompression bombs and mislabelled compression', () => {
  test('output beyond maxSize stops with ResourceExhausted', async () => {
    const bomb = gzipSync(tarOf([{ name: 'zeros', content: Buffer.alloc(8 << 20) }]));
    expect(bomb.length).toBeLessThan(64 << 10);
    const error = await rejection(applyLayer(s.root, streamOf(bomb), { maxSize: 1 << 20 }));
    expect(error.code).toBe('ResourceExhausted');
  });

  test('a plain tar declared as gzip is an invalid layer', async () => {
    const error = await rejection(apply([{ name: 'f' }], { compression: 'gzip' }));
    expect(error.code).toBe('InvalidArgument');
    expect(error.message).toMatch(/not valid gzip/);
  });

  test('corrupt xz data is an invalid layer, in the words of xz', async () => {
    const xz = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(100)]);
    const error = await rejection(applyLayer(s.root, streamOf(xz)));
    expect(error.code).toBe('InvalidArgument');
    expect(error.message).toMatch(/^layer is not valid xz data: /);
  });

  test('a diffID that does not match is a DigestMismatch', async () => {
    const error = await rejection(apply([{ name: 'f', content: 'x' }], { diffId: `sha256:${'0'.repeat(64)}` as never }));
    expect(error.code).toBe('DigestMismatch');
  });
});
