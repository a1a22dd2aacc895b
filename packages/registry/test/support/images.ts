import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { digestOf, MediaTypes, type BlobIngester, type Descriptor, type Digest } from '@ctr/image';

export interface TestImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  blobs: Map<Digest, Buffer>;
}

/** Store `bytes` and describe them. */
export async function putBlob(store: BlobIngester, bytes: Buffer, mediaType: string): Promise<Descriptor> {
  const digest = digestOf(bytes);
  await store.write(Readable.from([bytes]), { digest, size: bytes.length });
  return { mediaType, digest, size: bytes.length };
}

/** A random OCI image (gzip "layers" of random bytes) written into `store`. */
export async function makeImage(store: BlobIngester, layerSizes: number[] = [3000, 70_000], platform = { os: 'linux', architecture: 'amd64' }): Promise<TestImage> {
  const blobs = new Map<Digest, Buffer>();
  const layers: Descriptor[] = [];
  for (const size of layerSizes) {
    const bytes = gzipSync(randomBytes(size), { level: 0 });
    const d = await putBlob(store, bytes, MediaTypes.ociLayerGzip);
    blobs.set(d.digest, bytes);
    layers.push(d);
  }
  const configBytes = Buffer.from(
    JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: layers.map(() => digestOf(randomBytes(8))) }, config: {} }),
  );
  const config = await putBlob(store, configBytes, MediaTypes.ociConfig);
  blobs.set(config.digest, configBytes);
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers }));
  const manifest = await putBlob(store, manifestBytes, MediaTypes.ociManifest);
  blobs.set(manifest.digest, manifestBytes);
  return { manifest, config, layers, blobs };
}

/** An index over images written into `store`. */
export async function makeIndex(store: BlobIngester, images: { image: TestImage; platform: { os: string; architecture: string } }[]): Promise<Descriptor> {
  const manifests = images.map(({ image, platform }) => ({ ...image.manifest, platform }));
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }));
  return putBlob(store, bytes, MediaTypes.ociIndex);
}

export async function readAll(source: Readable | AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}
