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

export async function blobCount(store: MemoryContentStore): Promise<number> {
  let n = 0;
  for await (const _ of store.walk()) n++;
  return n;
}
