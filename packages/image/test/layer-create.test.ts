import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { isCtrError } from '@ctr/errors';
import {
  MemoryContentStore,
  TarReader,
  applyLayer,
  createLayerFromDiff,
  createLayerFromDirectory,
  createLayerFromOverlay,
  writeLayer,
  type TarHeader,
} from '../src';
import { scratch, treeOf, type Scratch } from './tar-fixtures';

let s: Scratch;
beforeEach(async () => {
  s = await scratch('ctr-layer-create-');
});
afterEach(async () => {
  await s.remove();
});

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function headersOf(tar: Buffer): Promise<TarHeader[]> {
  const reader = new TarReader(Readable.from([tar]));
  const out: TarHeader[] = [];
  for (let entry = await reader.next(); entry !== undefined; entry = await reader.next()) out.push(entry.header);
  return out;
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A small tree with every kind of thing a layer carries. */
async function sampleTree(dir: string): Promise<void> {
  await fs.mkdir(join(dir, 'etc/app'), { recursive: true });
  await fs.writeFile(join(dir, 'etc/app/config'), 'key=value\n');
  await fs.writeFile(join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  await fs.chmod(join(dir, 'run.sh'), 0o4755);
  await fs.symlink('etc/app/config', join(dir, 'config-link'));
  await fs.link(join(dir, 'etc/app/config'), join(dir, 'hard'));
  const long = `${'deep-directory-name/'.repeat(6)}file-with-a-long-name-é.txt`;
  await fs.mkdir(join(dir, long, '..'), { recursive: true });
  await fs.writeFile(join(dir, long), 'long');
  await fs.writeFile(join(dir, 'owned'), 'o');
  await fs.chown(join(dir, 'owned'), 1234, 5678);
  execFileSync('mkfifo', [join(dir, 'pipe')]);
  execFileSync('setfattr', ['-n', 'user.origin', '-v', 'test', join(dir, 'etc/app/config')]);
  await fs.writeFile(join(dir, 'big'), Buffer.alloc(3 << 20, 7));
  for (const path of ['etc/app/config', 'run.sh', 'etc/app', 'etc', 'big']) await fs.utimes(join(dir, path), 1600000000, 1600000000);
}

async function statsOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(await treeOf(dir))) {
    const st = await fs.lstat(join(dir, name));
    const mtime = st.isSymbolicLink() ? '' : Math.floor(st.mtimeMs / 1000);
    out[name] = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${mtime}`;
  }
  return out;
}

test('a directory layer applied to an empty directory reproduces the tree, metadata and xattrs', async () => {
  const src = join(s.dir, 'src');
  const dst = join(s.dir, 'dst');
  await fs.mkdir(src);
  await fs.mkdir(dst);
  await sampleTree(src);
  const tar = await bytesOf(createLayerFromDirectory(src));
  const applied = await applyLayer(dst, Readable.from([tar]));
  expect(applied).toEqual({ diffId: sha256(tar), size: tar.length });
  expect(await treeOf(dst)).toEqual(await treeOf(src));
  expect(await statsOf(dst)).toEqual(await statsOf(src));
  expect((await fs.stat(join(dst, 'hard'))).ino).toBe((await fs.stat(join(dst, 'etc/app/config'))).ino);
  expect(execFileSync('getfattr', ['--only-values', '-n', 'user.origin', join(dst, 'etc/app/config')], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()).toBe('test');
});

test('layers are reproducible: the same tree gives the same bytes, entries sorted, parents first', async () => {
  const src = join(s.dir, 'src');
  await fs.mkdir(src);
  await sampleTree(src);
  const copy = join(s.dir, 'copy');
  execFileSync('cp', ['-a', src, copy]);
  const first = await bytesOf(createLayerFromDirectory(src));
  expect((await bytesOf(createLayerFromDirectory(src))).equals(first)).toBe(true);
  expect(sha256(await bytesOf(createLayerFromDirectory(copy)))).toBe(sha256(first));
  const names = (await headersOf(first)).map((h) => h.name);
  expect(names.slice(0, 4)).toEqual(['big', 'config-link', 'deep-directory-name/', 'deep-directory-name/deep-directory-name/']);
  const headers = await headersOf(first);
  expect(headers.find((h) => h.name === 'hard')).toMatchObject({ typeflag: '1', linkname: 'etc/app/config' });
  expect(headers.every((h) => h.atime === undefined && h.uname === '')).toBe(true);
});

test('GNU tar reads our layers, long and non-ASCII names included', async () => {
  const src = join(s.dir, 'src');
  await fs.mkdir(src);
  await sampleTree(src);
  await fs.writeFile(join(s.dir, 'layer.tar'), await bytesOf(createLayerFromDirectory(src)));
  const listing = execFileSync('tar', ['-tf', join(s.dir, 'layer.tar')]).toString().split('\n');
  expect(listing).toContain(`${'deep-directory-name/'.repeat(6)}file-with-a-long-name-é.txt`);
  expect(listing).toContain('etc/app/config');
});

test('an overlay upper dir becomes a layer with .wh. whiteouts and opaque markers (real overlayfs)', async () => {
  const [lower, upper, work, merged, copy] = ['lower', 'upper', 'work', 'merged', 'copy'].map((d) => join(s.dir, d)) as [string, string, string, string, string];
  for (const d of [lower, upper, work, merged]) await fs.mkdir(d);
  await fs.mkdir(join(lower, 'keep'));
  await fs.writeFile(join(lower, 'keep/a'), 'a');
  await fs.writeFile(join(lower, 'gone'), 'g');
  await fs.mkdir(join(lower, 'replaced'));
  await fs.writeFile(join(lower, 'replaced/old'), 'old');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
  try {
    await fs.rm(join(merged, 'gone'));
    await fs.rm(join(merged, 'replaced'), { recursive: true });
    await fs.mkdir(join(merged, 'replaced'));
    await fs.writeFile(join(merged, 'replaced/new'), 'new');
    await fs.writeFile(join(merged, 'keep/b'), 'b');
  } finally {
    execFileSync('umount', [merged]);
  }
  const tar = await bytesOf(createLayerFromOverlay(upper));
  const names = (await headersOf(tar)).map((h) => h.name);
  expect(names).toEqual(['.wh.gone', 'keep/', 'keep/b', 'replaced/', 'replaced/.wh..wh..opq', 'replaced/new']);
  expect((await headersOf(tar)).some((h) => Object.keys(h.xattrs).some((k) => k.startsWith('trusted.')))).toBe(false);
  execFileSync('cp', ['-a', lower, copy]);
  await applyLayer(copy, Readable.from([tar]));
  expect(await treeOf(copy)).toEqual({ keep: 'd', 'keep/a': 'f:a', 'keep/b': 'f:b', replaced: 'd', 'replaced/new': 'f:new' });
});

test('a diff of two directories holds only changes, and applying it to the lower gives the upper', async () => {
  const lower = join(s.dir, 'lower');
  await fs.mkdir(lower);
  await sampleTree(lower);
  const upper = join(s.dir, 'upper');
  execFileSync('cp', ['-a', lower, upper]);
  await fs.writeFile(join(upper, 'etc/app/config'), 'changed\n');
  await fs.writeFile(join(upper, 'etc/new'), 'new');
  await fs.rm(join(upper, 'run.sh'));
  await fs.rm(join(upper, 'deep-directory-name'), { recursive: true });
  const tar = await bytesOf(createLayerFromDiff(lower, upper));
  const names = (await headersOf(tar)).map((h) => h.name);
  expect(names).toEqual(['.wh.deep-directory-name', '.wh.run.sh', 'etc/', 'etc/app/', 'etc/app/config', 'etc/new', 'hard']);
  const target = join(s.dir, 'target');
  execFileSync('cp', ['-a', lower, target]);
  await applyLayer(target, Readable.from([tar]));
  expect(await treeOf(target)).toEqual(await treeOf(upper));
});

test('writeLayer stores the gzip blob and returns its descriptor and the diffID of the tar', async () => {
  const src = join(s.dir, 'src');
  await fs.mkdir(src);
  await sampleTree(src);
  const tar = await bytesOf(createLayerFromDirectory(src));
  const store = new MemoryContentStore();
  const { descriptor, diffId } = await writeLayer(store, createLayerFromDirectory(src));
  expect(diffId).toBe(sha256(tar));
  expect(descriptor.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
  const blob = await bytesOf(await store.read(descriptor.digest));
  expect(descriptor).toMatchObject({ digest: sha256(blob), size: blob.length });
  expect(gunzipSync(blob).equals(tar)).toBe(true);
  const plain = await writeLayer(store, createLayerFromDirectory(src), { compression: 'none', mediaTypes: 'docker' });
  expect(plain.descriptor).toMatchObject({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: diffId, size: tar.length });
});

test('creating a layer from a missing directory is NotFound; a cancelled one is Aborted', async () => {
  const missing = await bytesOf(createLayerFromDirectory(join(s.dir, 'nope'))).catch((e: unknown) => e);
  expect(isCtrError(missing) && missing.code).toBe('NotFound');
  const controller = new AbortController();
  controller.abort();
  const cancelled = await bytesOf(createLayerFromDirectory(s.root, { signal: controller.signal })).catch((e: unknown) => e);
  expect(isCtrError(cancelled) && cancelled.code).toBe('Aborted');
});
