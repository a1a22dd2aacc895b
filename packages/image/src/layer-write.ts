import { pipeline, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { aborted } from '@ctr/errors';
import type { BlobIngester } from './content';
import type { Descriptor } from './descriptor';
import { DigestStream, type DiffID } from './digest';
import { MediaTypes } from './media-types';

export interface WriteLayerOptions {
  /** Compression in the store (default gzip). */
  compression?: 'gzip' | 'none';
  /** gzip level 1–9 (default 6, what Docker uses). */
  level?: number;
  /** Media types of the OCI image spec (default) or of Docker schema 2. */
  mediaTypes?: 'oci' | 'docker';
  signal?: AbortSignal;
}

export interface WrittenLayer {
  /** The stored (compressed) blob, for the manifest's `layers`. */
  descriptor: Descriptor;
  /** The uncompressed tar's digest, for the config's `rootfs.diff_ids`. */
  diffId: DiffID;
}

function mediaTypeOf(compression: 'gzip' | 'none', family: 'oci' | 'docker'): string {
  if (family === 'docker') return compression === 'gzip' ? MediaTypes.dockerLayerGzip : MediaTypes.dockerLayer;
  return compression === 'gzip' ? MediaTypes.ociLayerGzip : MediaTypes.ociLayer;
}

/**
 * Compress, hash and store a layer tar in one pass: the diffID is taken from the bytes going
 * into the compressor, the digest and size from what the store received.
 */
export async function writeLayer(store: BlobIngester, tar: Readable, options: WriteLayerOptions = {}): Promise<WrittenLayer> {
  const compression = options.compression ?? 'gzip';
  if (options.signal?.aborted) {
    tar.destroy();
    throw aborted(options.signal, 'writing the layer');
  }
  const diff = new DigestStream();
  const done = (): undefined => undefined;
  const body: Readable =
    compression === 'gzip'
      ? pipeline(tar, diff, createGzip({ level: options.level ?? 6, chunkSize: 1 << 20 }), done)
      : pipeline(tar, diff, done);
  try {
    const info = await store.write(body, { signal: options.signal });
    return {
      descriptor: { mediaType: mediaTypeOf(compression, options.mediaTypes ?? 'oci'), digest: info.digest, size: info.size },
      diffId: diff.digest as string as DiffID,
    };
  } catch (error) {
    body.destroy();
    tar.destroy();
    if (options.signal?.aborted) throw aborted(options.signal, 'writing the layer');
    throw error;
  }
}
