import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  applyLayer,
  createBusyboxRootfs,
  hostPlatform,
  importRootfs,
  MediaTypes,
  MemoryContentStore,
  parseImageConfig,
  parseManifest,
} from '@ctr/image';
import { collect, tarOf } from './docker-archive-fixtures';

const run = promisify(execFile);

describe('importRootfs (docker import)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-import-rootfs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a single-layer OCI image whose config carries the given runtime defaults', async () => {
    await createBusyboxRootfs(join(dir, 'rootfs'));
    const store = new MemoryContentStore();
    const imported = await importRootfs(store, { dir: join(dir, 'rootfs') }, { config: { Cmd: ['sh'], Env: ['PATH=/bin'] } });
    const manifest = parseManifest(await collect(await store.read(imported.manifest.digest)));
    expect(manifest.mediaType).toBe(MediaTypes.ociManifest);
    expect(manifest.layers).toEqual([imported.layer]);
    expect(imported.layer.mediaType).toBe(MediaTypes.ociLayerGzip);
    expect(imported.imageId).toBe(manifest.config.digest);
    const config = parseImageConfig(await collect(await store.read(imported.config.digest)));
    expect(config.rootfs.diff_ids).toEqual([imported.diffId]);
    expect(config.config).toEqual({ Cmd: ['sh'], Env: ['PATH=/bin'] });
    expect({ os: config.os, architecture: config.architecture }).toEqual({ os: hostPlatform().os, architecture: hostPlatform().architecture });
    expect(config.history).toEqual([expect.objectContaining({ comment: 'Imported from -' })]);
  });

  it('gives the same image ID for the same root filesystem and creation time', async () => {
    await createBusyboxRootfs(join(dir, 'a'));
    await createBusyboxRootfs(join(dir, 'b'));
    const created = '2026-01-01T00:00:00Z';
    const first = await importRootfs(new MemoryContentStore(), { dir: join(dir, 'a') }, { created });
    const second = await importRootfs(new MemoryContentStore(), { dir: join(dir, 'b') }, { created });
    expect(second.imageId).toBe(first.imageId);
    expect(second.diffId).toBe(first.diffId);
  });

  it('takes a tar stream, plain or gzipped, and gives the diffID of the plain tar', async () => {
    const tar = await tarOf({ 'bin/hello': 'hello\n', 'etc/hostname': 'box\n' });
    const plain = await importRootfs(new MemoryContentStore(), { tar: Readable.from([tar]) }, { compression: 'none' });
    const gzipped = await importRootfs(new MemoryContentStore(), { tar: Readable.from([gzipSync(tar)]) }, { compression: 'none' });
    expect(gzipped.diffId).toBe(plain.diffId);
    expect(plain.layer.mediaType).toBe(MediaTypes.ociLayer);
    expect(plain.layer.digest).toBe(plain.diffId);
  });

  it('makes a layer that unpacks into a working busybox root', async () => {
    await createBusyboxRootfs(join(dir, 'rootfs'));
    const store = new MemoryContentStore();
    const imported = await importRootfs(store, { dir: join(dir, 'rootfs') });
    await mkdir(join(dir, 'unpacked'));
    const applied = await applyLayer(join(dir, 'unpacked'), await store.read(imported.layer.digest));
    expect(applied.diffId).toBe(imported.diffId);
    expect(await readlink(join(dir, 'unpacked', 'bin', 'sh'))).toBe('busybox');
    const { stdout } = await run(join(dir, 'unpacked', 'bin', 'busybox'), ['echo', 'unpacked']);
    expect(stdout).toBe('unpacked\n');
  });

  it('stops with Aborted when the signal has fired, storing no image', async () => {
    await createBusyboxRootfs(join(dir, 'rootfs'));
    const store = new MemoryContentStore();
    const controller = new AbortController();
    controller.abort();
    await expect(importRootfs(store, { dir: join(dir, 'rootfs') }, { signal: controller.signal })).rejects.toMatchObject({ code: 'Aborted' });
    let blobs = 0;
    for await (const _ of store.walk()) blobs++;
    expect(blobs).toBe(0);
  });
});
