import { digestMismatch, isNotFound, throwIfAborted } from '@ctr/errors';
import type { BlobProvider } from './content';
import type { Descriptor, Platform } from './descriptor';
import { digestOf } from './digest';
import { readCapped } from './docker-archive-json';
import { MAX_DOCUMENT_BYTES } from './json';
import { parseManifestOrIndex } from './manifest-or-index';

/** A single-platform image found under a descriptor. */
export interface PlatformImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** The platform its index gave it, when it came from an index. */
  platform?: Platform;
}

/** Everything an image (manifest or index) needs, as read from a provider. */
export interface ImageGraph {
  /** Every blob, each once, children before the manifests and indexes that name them. */
  blobs: Descriptor[];
  /** The single-platform images; for an index, those whose manifest the provider has. */
  images: PlatformImage[];
}

export interface GraphOptions {
  signal?: AbortSignal;
  maxJsonBytes?: number;
  /**
   * False for a provider that checked every digest as it stored the blob (a local content
   * store, whose ingest refuses bytes that do not match): what is read back is not hashed
   * again, as containerd does not; a wrong length is still refused. Anything else (a
   * registry, an archive, a layout directory) is always checked.
   */
  checkDigests?: boolean;
}

/** Read a manifest or index from `provider`, verified, capped in size. */
export async function readJsonBlob(provider: BlobProvider, descriptor: Descriptor, options: GraphOptions = {}): Promise<Buffer> {
  const max = options.maxJsonBytes ?? MAX_DOCUMENT_BYTES;
  throwIfAborted(options.signal, `reading ${descriptor.digest}`);
  const bytes = provider.readBytes
    ? await provider.readBytes(descriptor.digest, { maxSize: max })
    : await readCapped(await provider.read(descriptor.digest, options.signal ? { signal: options.signal } : {}), max, `${descriptor.mediaType} ${descriptor.digest}`);
  if (options.checkDigests === false) {
    if (bytes.length !== descriptor.size) {
      throw digestMismatch(`blob ${descriptor.digest} read back with ${bytes.length} bytes, not ${descriptor.size}`, { details: { digest: descriptor.digest } });
    }
    return bytes;
  }
  const actual = digestOf(bytes);
  if (actual !== descriptor.digest) {
    throw digestMismatch(`blob ${descriptor.digest} read back with digest ${actual}`, { details: { digest: descriptor.digest, actual } });
  }
  return bytes;
}

/**
 * Walk an image from its top descriptor. Manifests an index names but the provider lacks
 * are skipped (a store often holds one platform of many); a manifest's own config and
 * layers are not checked here — reading them fails later with NotFound if absent.
 */
export async function imageGraph(provider: BlobProvider, top: Descriptor, options: GraphOptions = {}): Promise<ImageGraph> {
  const blobs = new Map<string, Descriptor>();
  const images: PlatformImage[] = [];
  const visit = async (descriptor: Descriptor, platform: Platform | undefined, optional: boolean): Promise<void> => {
    throwIfAborted(options.signal, 'walking the image');
    let bytes: Buffer;
    try {
      bytes = await readJsonBlob(provider, descriptor, options);
    } catch (error) {
      if (optional && isNotFound(error)) return;
      throw error;
    }
    const document = parseManifestOrIndex(bytes, descriptor.mediaType);
    if (document.kind === 'index') {
      for (const child of document.index.manifests) await visit(child, child.platform, true);
    } else {
      const { config, layers } = document.manifest;
      for (const blob of [...layers, config]) if (!blobs.has(blob.digest)) blobs.set(blob.digest, blob);
      images.push({ manifest: descriptor, config, layers, ...(platform ? { platform } : {}) });
    }
    blobs.set(descriptor.digest, descriptor);
  };
  await visit(top, top.platform, false);
  return { blobs: [...blobs.values()], images };
}
