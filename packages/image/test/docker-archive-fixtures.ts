import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { gzipSync } from 'node:zlib';
import {
  digestOf,
  MediaTypes,
  MemoryContentStore,
  type BlobIngester,
  type Descriptor,
  type Digest,
  type DiffID,
} from '@ctr/image';

/** A small image built in memory: layer tars made with tar-stream, a config, a manifest. */
export interface TestImage {
  manifest: Descriptor;
  config: Descriptor;
  configBytes: Buffer;
  layers: Descriptor[];
  layerTars: Buffer[];
  diffIds: DiffID[];
}

export async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) {
    pack.entry({ name, mode: 0o644, mtime: new Date(0) }, content);
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of pack as unknown as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

export async function put(store: BlobIngester, bytes: Buffer | string): Promise<Digest> {
  return (await store.write(Readable.from([Buffer.from(bytes)]))).digest;
}

export interface TestImageOptions {
  layers?: Array<Record<string, string>>;
  compression?: 'gzip' | 'none';
  oci?: boolean;
  cmd?: string[];
}

export async function makeImage(store: BlobIngester, options: TestImageOptions = {}): Promise<TestImage> {
  const layerFiles = options.layers ?? [{ 'hello.txt': 'hello\n' }, { 'etc/motd': 'second layer\n' }];
  const gzip = (options.compression ?? 'gzip') === 'gzip';
  const oci = options.oci ?? true;
  const layerTars: Buffer[] = [];
  const layers: Descriptor[] = [];
  for (const files of layerFiles) {
    const plain = await tarOf(files);
    const stored = gzip ? gzipSync(plain) : plain;
    layerTars.push(plain);
    const mediaType = oci
      ? gzip ? MediaTypes.ociLayerGzip : MediaTypes.ociLayer
      : gzip ? MediaTypes.dockerLayerGzip : MediaTypes.dockerLayer;
    layers.push({ mediaType, digest: await put(store, stored), size: stored.length });
  }
  const diffIds = layerTars.map((t) => digestOf(t) as string as DiffID);
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: options.cmd ?? ['sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: layerFiles.map(() => ({ created_by: 'test' })),
    }),
  );
  const config: Descriptor = {
    mediaType: oci ? MediaTypes.ociConfig : MediaTypes.dockerConfig,
    digest: await put(store, configBytes),
    size: configBytes.length,
  };
  const manifestMediaType = oci ? MediaTypes.ociManifest : MediaTypes.dockerManifest;
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: manifestMediaType, config, layers }));
  const manifest: Descriptor = { mediaType: manifestMediaType, digest: await put(store, manifestBytes), size: manifestBytes.length };
  return { manifest, config, configBytes, layers, layerTars, diffIds };
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

/** The entries of a tar, name → content (for archives small enough for tests). */
export async function untar(bytes: Buffer): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  const out = new Map<string, Buffer>();
  Readable.from([bytes]).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    out.set(entry.header.name, await collect(entry as unknown as AsyncIterable<Uint8Array>));
  }
  return out;
}


export interface TarEntry {
  name: string;
  content?: Buffer | string;
  type?: 'file' | 'symlink' | 'link' | 'directory';
  linkname?: string;
}

/** A tar of the given entries, in the given order. */
export async function tarEntries(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    if (type === 'file') pack.entry({ name: entry.name, mode: 0o644, mtime: new Date(0) }, Buffer.from(entry.content ?? ''));
    else pack.entry({ name: entry.name, type, mode: 0o755, mtime: new Date(0), ...(entry.linkname ? { linkname: entry.linkname } : {}) });
  }
  pack.finalize();
  return collect(pack as unknown as AsyncIterable<Uint8Array>);
}

export interface ClassicArchive {
  entries: TarEntry[];
  configDigest: Digest;
  diffIds: DiffID[];
  layerPaths: string[];
}

/**
 * The entries of a classic `docker save` archive (Docker < 25): `<image id>.json`,
 * `<layer id>/layer.tar` with `VERSION` and `json`, `manifest.json`, `repositories`.
 */
export async function classicArchive(options: { repoTags?: string[]; layers?: Array<Record<string, string>>; gzipLayers?: boolean } = {}): Promise<ClassicArchive> {
  const layerFiles = options.layers ?? [{ 'bin/one': 'one\n' }, { 'bin/two': 'two\n' }];
  const layerTars = await Promise.all(layerFiles.map(tarOf));
  const diffIds = layerTars.map((t) => digestOf(t) as string as DiffID);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }),
  );
  const configDigest = digestOf(config);
  const entries: TarEntry[] = [];
  const layerPaths: string[] = [];
  layerTars.forEach((layer, i) => {
    const id = digestOf(`layer ${i} ${diffIds[i]}`).slice(7);
    layerPaths.push(`${id}/layer.tar`);
    entries.push({ name: `${id}/`, type: 'directory' });
    entries.push({ name: `${id}/VERSION`, content: '1.0' });
    entries.push({ name: `${id}/json`, content: JSON.stringify({ id }) });
    entries.push({ name: `${id}/layer.tar`, content: options.gzipLayers ? gzipSync(layer) : layer });
  });
  entries.push({ name: `${configDigest.slice(7)}.json`, content: config });
  entries.push({
    name: 'manifest.json',
    content: JSON.stringify([{ Config: `${configDigest.slice(7)}.json`, RepoTags: options.repoTags ?? ['busybox:latest'], Layers: layerPaths }]),
  });
  entries.push({ name: 'repositories', content: JSON.stringify({ busybox: { latest: layerPaths[layerPaths.length - 1]!.split('/')[0] } }) });
  return { entries, configDigest, diffIds, layerPaths };
}

/** Digests of every blob a store holds. */
export async function storedDigests(store: MemoryContentStore): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.walk()) out.push(info.digest);
  return out.sort();
}
