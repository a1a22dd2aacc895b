import { Readable } from 'node:stream';
import type { ImageConfig } from './config';
import { serializeImageConfig } from './config-mutate';
import type { BlobIngester } from './content';
import type { Descriptor } from './descriptor';
import type { Digest } from './digest';
import { createManifest, serializeManifest } from './manifest';

export interface WrittenImage {
  manifest: Descriptor;
  config: Descriptor;
  /** The image ID (the config digest). */
  imageId: Digest;
}

/**
 * Store an image whose layers are already in `store`: its config, then an OCI manifest
 * naming the config and `layers` (base first). Tag `manifest` to give it a name.
 */
export async function writeImage(
  store: BlobIngester,
  config: ImageConfig,
  layers: readonly Descriptor[],
  options: { signal?: AbortSignal } = {},
): Promise<WrittenImage> {
  const signal = options.signal ? { signal: options.signal } : {};
  const configDoc = serializeImageConfig(config);
  await store.write(Readable.from([configDoc.bytes]), { ...configDoc.descriptor, ...signal });
  const manifest = serializeManifest(createManifest({ config: configDoc.descriptor, layers }));
  await store.write(Readable.from([manifest.bytes]), { ...manifest.descriptor, ...signal });
  return { manifest: manifest.descriptor, config: configDoc.descriptor, imageId: configDoc.descriptor.digest };
}
