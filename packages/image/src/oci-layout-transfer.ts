import { isNotFound, throwIfAborted } from '@ctr/errors';
import type { BlobIngester, BlobProvider } from './content';
import type { Descriptor } from './descriptor';
import type { LoadedImage } from './docker-archive-load';
import type { ArchiveImage } from './docker-archive-save';
import { imageGraph, type ImageGraph } from './oci-layout-graph';
import { OciLayout } from './oci-layout';
import { mergeByDigest, plainDescriptor } from './oci-layout-index';
import { isManifestType } from './media-types';

export interface CopyImageOptions {
  signal?: AbortSignal;
}

/**
 * Copy an image (manifest or index, and everything under it that `from` has) into `to`,
 * verifying each blob. Blobs `to` already has are skipped when it can say so (`info`).
 */
export async function copyImage(
  from: BlobProvider,
  to: BlobIngester & Partial<Pick<BlobProvider, 'info'>>,
  descriptor: Descriptor,
  options: CopyImageOptions = {},
): Promise<ImageGraph> {
  const signalOption = options.signal ? { signal: options.signal } : {};
  const graph = await imageGraph(from, descriptor, signalOption);
  for (const blob of graph.blobs) {
    throwIfAborted(options.signal, 'copying the image');
    if (await has(to, blob)) continue;
    await to.write(await from.read(blob.digest, signalOption), { digest: blob.digest, size: blob.size, ...signalOption });
  }
  return graph;
}

async function has(store: Partial<Pick<BlobProvider, 'info'>>, blob: Descriptor): Promise<boolean> {
  if (store.info === undefined) return false;
  try {
    return (await store.info(blob.digest)).size === blob.size;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/**
 * Write images into an OCI layout directory (made if absent), each listed in index.json
 * under each of its names — what `skopeo copy … oci:DIR:REF` produces.
 */
export async function saveOciLayout(
  provider: BlobProvider,
  images: readonly ArchiveImage[],
  dir: string,
  options: CopyImageOptions = {},
): Promise<OciLayout> {
  const layout = await OciLayout.open(dir, { create: true });
  for (const image of images) {
    await copyImage(provider, layout, image.descriptor, options);
    const names = image.names ?? [];
    if (names.length === 0) await layout.addImage(image.descriptor);
    for (const name of names) await layout.addImage(image.descriptor, name);
  }
  return layout;
}

/** Copy every image an OCI layout directory lists into `ingester`, verified. */
export async function loadOciLayout(ingester: BlobIngester, dir: string, options: CopyImageOptions = {}): Promise<LoadedImage[]> {
  const layout = await OciLayout.open(dir);
  const loaded: LoadedImage[] = [];
  for (const image of await layout.images()) {
    const graph = await copyImage(layout, ingester, image.descriptor, options);
    const single = isManifestType(image.descriptor.mediaType) ? graph.images[0] : undefined;
    loaded.push({ names: image.names, descriptor: plainDescriptor(image.descriptor), ...(single ? { imageId: single.config.digest } : {}) });
  }
  return mergeByDigest(loaded);
}
