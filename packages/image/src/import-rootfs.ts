import { Readable } from 'node:stream';
import { throwIfAborted } from '@ctr/errors';
import type { ContainerConfig } from './config';
import { appendLayer, createImageConfig } from './config-mutate';
import type { BlobIngester } from './content';
import type { Descriptor, Platform } from './descriptor';
import type { Digest, DiffID } from './digest';
import { nowRfc3339Nano } from './go-time';
import { historyEntry } from './history';
import { createLayerFromDirectory } from './layer-create';
import { decompressArchive } from './decompress';
import { writeLayer } from './layer-write';
import { writeImage } from './image-write';
import { hostPlatform } from './platform';

/** A root filesystem to import: a directory, or a tar stream of one (plain, gzip or zstd). */
export type RootfsSource = { dir: string } | { tar: Readable };

export interface ImportRootfsOptions {
  /** Runtime defaults: `Cmd`, `Env`, `Entrypoint`, `WorkingDir`, `User`, … (`docker import --change`). */
  config?: ContainerConfig;
  /** The platform the image is for; the host by default. */
  platform?: Platform;
  /** The image's creation time; now by default. Fix it for a reproducible image ID. */
  created?: Date | string;
  /** Layer compression in the store; gzip by default. */
  compression?: 'gzip' | 'none';
  /** The history comment (`docker import -m`); Docker's own "Imported from -" by default. */
  comment?: string;
  signal?: AbortSignal;
}

/** What an import made: the manifest to tag, and its parts. */
export interface ImportedImage {
  manifest: Descriptor;
  config: Descriptor;
  /** The image ID (the config digest). */
  imageId: Digest;
  layer: Descriptor;
  diffId: DiffID;
}

/**
 * `docker import`: a root filesystem becomes a single-layer image. The layer, config and
 * manifest (OCI) land in `store`; tag `manifest` to give the image a name. Used with
 * `createBusyboxRootfs`, this makes a base image with no registry at all.
 */
export async function importRootfs(store: BlobIngester, source: RootfsSource, options: ImportRootfsOptions = {}): Promise<ImportedImage> {
  const signal = options.signal;
  const signalOption = signal ? { signal } : {};
  // A tar given to import may be compressed (`docker import rootfs.tar.gz`); the layer's diffID is of the plain tar.
  const tar =
    'dir' in source
      ? createLayerFromDirectory(source.dir, signalOption)
      : await decompressArchive(source.tar, { what: 'the root filesystem tar', ...signalOption });
  const { descriptor: layer, diffId } = await writeLayer(store, tar, { compression: options.compression ?? 'gzip', ...signalOption });
  throwIfAborted(signal, 'importing the root filesystem');
  const created = options.created ?? nowRfc3339Nano();
  const base = createImageConfig({
    platform: options.platform ?? hostPlatform(),
    created,
    ...(options.config ? { config: options.config } : {}),
  });
  const config = appendLayer(base, diffId, historyEntry('', { created, comment: options.comment ?? 'Imported from -' }));
  const written = await writeImage(store, config, [layer], signalOption);
  return { ...written, layer, diffId };
}
