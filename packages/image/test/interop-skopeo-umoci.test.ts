import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import {
  createBusyboxRootfs,
  importRootfs,
  loadArchive,
  loadOciLayout,
  MemoryContentStore,
  saveArchive,
  saveOciLayout,
} from '@ctr/image';
import { makeImage } from './docker-archive-fixtures';

const run = promisify(execFile);

async function tool(command: string, args: string[]): Promise<string> {
  const { stdout } = await run(command, args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function inspect(transport: string): Promise<{ Digest: string; Layers: string[] }> {
  return JSON.parse(await tool('skopeo', ['inspect', transport]));
}

describe('interop with skopeo and umoci (tools ctr did not write)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-interop-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('skopeo reads an OCI layout ctr wrote, with the same manifest and layer digests', async () => {
    const store = new MemoryContentStore();
    const image = await makeImage(store);
    await saveOciLayout(store, [{ descriptor: image.manifest, names: ['busybox:latest'] }], join(dir, 'layout'));
    const info = await inspect(`oci:${join(dir, 'layout')}:latest`);
    expect(info.Digest).toBe(image.manifest.digest);
    expect(info.Layers).toEqual(image.layers.map((l) => l.digest));
    const config = JSON.parse(await tool('skopeo', ['inspect', '--raw', '--config', `oci:${join(dir, 'layout')}:latest`]));
    expect(config.rootfs.diff_ids).toEqual(image.diffIds);
  });

  it('skopeo reads a docker archive ctr wrote, with the same image ID and diffIDs', async () => {
    const store = new MemoryContentStore();
    const image = await makeImage(store);
    const file = join(dir, 'image.tar');
    await pipeline(saveArchive(store, [{ descriptor: image.manifest, names: ['busybox:latest'] }]), createWriteStream(file));
    const manifest = JSON.parse(await tool('skopeo', ['inspect', '--raw', `docker-archive:${file}`]));
    expect(manifest.config.digest).toBe(image.config.digest);
    const info = await inspect(`docker-archive:${file}`);
    expect(info.Layers).toEqual(image.diffIds);
  });

  it('umoci unpacks an OCI layout ctr wrote', async () => {
    const store = new MemoryContentStore();
    const image = await makeImage(store, { layers: [{ 'hello.txt': 'hello from ctr\n' }] });
    await saveOciLayout(store, [{ descriptor: image.manifest, names: ['busybox:latest'] }], join(dir, 'layout'));
    await tool('umoci', ['unpack', '--rootless', '--image', `${join(dir, 'layout')}:latest`, join(dir, 'bundle')]);
    expect(await readFile(join(dir, 'bundle', 'rootfs', 'hello.txt'), 'utf8')).toBe('hello from ctr\n');
  });

  it('ctr loads a docker archive skopeo wrote from a ctr layout, keeping image ID and diffIDs', async () => {
    const store = new MemoryContentStore();
    const image = await makeImage(store, { compression: 'none' });
    await saveOciLayout(store, [{ descriptor: image.manifest, names: ['busybox:latest'] }], join(dir, 'layout'));
    const file = join(dir, 'skopeo.tar');
    await tool('skopeo', ['copy', `oci:${join(dir, 'layout')}:latest`, `docker-archive:${file}:busybox:latest`]);
    const target = new MemoryContentStore();
    const result = await loadArchive(target, createReadStream(file));
    expect(result.format).toBe('docker');
    expect(result.images).toHaveLength(1);
    expect(result.images[0]!.imageId).toBe(image.config.digest);
    expect(result.images[0]!.names).toEqual(['docker.io/library/busybox:latest']);
    for (const layer of image.layers) expect((await target.info(layer.digest)).size).toBe(layer.size);
  });

  it('ctr loads an OCI layout umoci made, with the digests umoci recorded', async () => {
    const layout = join(dir, 'umoci');
    await tool('umoci', ['init', '--layout', layout]);
    await tool('umoci', ['new', '--image', `${layout}:base`]);
    await writeFile(join(dir, 'hello.txt'), 'hello from umoci\n');
    await tool('umoci', ['insert', '--rootless', '--image', `${layout}:base`, join(dir, 'hello.txt'), '/hello.txt']);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    const target = new MemoryContentStore();
    const loaded = await loadOciLayout(target, layout);
    expect(loaded.map((l) => l.descriptor.digest)).toEqual(index.manifests.map((m: { digest: string }) => m.digest));
    const manifest = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8'));
    expect(manifest.layers).toHaveLength(1);
    expect(loaded[0]!.imageId).toBe(manifest.config.digest);
    for (const blob of [manifest.config, ...manifest.layers]) expect((await target.info(blob.digest)).size).toBe(blob.size);
  });

  it('a busybox image ctr imports is unpacked by umoci and runs, and skopeo sees its image ID in the docker archive', async () => {
    await createBusyboxRootfs(join(dir, 'rootfs'));
    const store = new MemoryContentStore();
    const imported = await importRootfs(store, { dir: join(dir, 'rootfs') }, { config: { Cmd: ['sh'] } });
    await saveOciLayout(store, [{ descriptor: imported.manifest, names: ['busybox:latest'] }], join(dir, 'layout'));
    await tool('umoci', ['unpack', '--image', `${join(dir, 'layout')}:latest`, join(dir, 'bundle')]);
    expect(await tool(join(dir, 'bundle', 'rootfs', 'bin', 'sh'), ['-c', 'echo busybox runs'])).toBe('busybox runs\n');
    const file = join(dir, 'busybox.tar');
    await pipeline(saveArchive(store, [{ descriptor: imported.manifest, names: ['busybox:latest'] }]), createWriteStream(file));
    const manifest = JSON.parse(await tool('skopeo', ['inspect', '--raw', `docker-archive:${file}`]));
    expect(manifest.config.digest).toBe(imported.imageId);
  });
});
