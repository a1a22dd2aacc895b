import { Readable } from 'node:stream';
import { CtrError, digestMismatch, invalidArgument } from '@ctr/errors';
import type { BlobIngester } from './content';
import type { Descriptor } from './descriptor';
import { digestHex, type Digest } from './digest';
import { parseImageConfig } from './config';
import { parseIndex } from './image-index';
import { isJsonObject, MAX_DOCUMENT_BYTES, parseJson } from './json';
import { createManifest, serializeManifest } from './manifest';
import { parseManifestOrIndex, type ManifestOrIndex } from './manifest-or-index';
import { checkLayoutVersion, mergeByDigest, namesFromAnnotations, normalizeNames, plainDescriptor } from './oci-layout-index';
import { archivePath } from './docker-archive-paths';
import { spoolArchive, type SpooledArchive, type SpooledFile } from './docker-archive-spool';
import { decompressArchive } from './decompress';

import { MediaTypes } from './media-types';

/** One image an archive held, ready to be tagged. */
export interface LoadedImage {
  /** Full names (`docker.io/library/busybox:latest`), each once; empty when untagged. */
  names: string[];
  /** The manifest (or index) the names point at; every blob under it is in the store. */
  descriptor: Descriptor;
  /** The image ID (config digest) when `descriptor` is a single-platform manifest. */
  imageId?: Digest;
}

export type ArchiveFormat = 'docker' | 'docker-oci' | 'oci';

export interface LoadResult {
  /** `docker`: classic `docker save`; `docker-oci`: Docker ≥ 25 (an OCI layout plus manifest.json); `oci`: an OCI layout tar. */
  format: ArchiveFormat;
  images: LoadedImage[];
}

export interface LoadArchiveOptions {
  signal?: AbortSignal;
  /** Largest JSON document read into memory; 16 MiB by default. */
  maxJsonBytes?: number;
}

/**
 * `docker load`: read a `docker save` archive (classic, or the OCI form Docker ≥ 25 writes)
 * or an OCI layout tar — plain, or gzip-, bzip2-, xz- or zstd-compressed as a whole (see
 * `decompressArchive`) — front to back, and put every blob into `ingester` as it arrives.
 * Every blob is verified. Classic archives hold uncompressed layers by path and no
 * manifest, so one is written for them (Docker schema 2, layers kept as they are): the
 * image ID (config digest) stays what it was.
 *
 * On failure nothing is tagged; blobs already written are verified content nothing
 * references, for the store's garbage collection (hold a lease around a load).
 */
export async function loadArchive(
  ingester: BlobIngester,
  source: Readable,
  options: LoadArchiveOptions = {},
): Promise<LoadResult> {
  const maxJsonBytes = options.maxJsonBytes ?? MAX_DOCUMENT_BYTES;
  const tar = await decompressArchive(source, options.signal === undefined ? {} : { signal: options.signal });
  const archive = await spoolArchive(ingester, tar, {
    maxJsonBytes,
    maxCachedJsonBytes: 16 * maxJsonBytes,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const dockerManifest = archive.meta.get('manifest.json');
  const index = archive.meta.get('index.json');
  if (index !== undefined) {
    checkLayoutVersion(archive.meta.get('oci-layout'));
    const repoTags = dockerManifest === undefined ? new Map<Digest, string[]>() : repoTagsByConfig(archive, dockerManifest);
    return {
      format: dockerManifest === undefined ? 'oci' : 'docker-oci',
      images: mergeByDigest(parseIndex(index).manifests.map((d) => loadIndexed(archive, d, repoTags))),
    };
  }
  if (dockerManifest !== undefined) {
    const entries = dockerManifestEntries(dockerManifest);
    const images: LoadedImage[] = [];
    for (const entry of entries) images.push(await loadClassic(ingester, archive, entry, options.signal));
    return { format: 'docker', images };
  }
  if (archive.meta.has('repositories')) {
    throw new CtrError('Unsupported', 'this archive has only a "repositories" file: it is from Docker before 1.10', {
      hint: 'save it again with a current docker, or convert it with skopeo',
    });
  }
  throw invalidArgument('not an image archive: it has neither manifest.json (docker save) nor index.json (OCI layout)');
}

interface DockerManifestEntry {
  config: string;
  repoTags: string[];
  layers: string[];
}

function dockerManifestEntries(bytes: Buffer): DockerManifestEntry[] {
  const doc = parseJson(bytes, { what: 'manifest.json' });
  if (!Array.isArray(doc)) throw invalidArgument('manifest.json is not a list of images');
  return doc.map((item, i) => {
    const what = `manifest.json[${i}]`;
    if (!isJsonObject(item)) throw invalidArgument(`${what} is not an object`);
    const { Config, RepoTags, Layers } = item;
    if (!Array.isArray(Layers)) throw invalidArgument(`${what} has no Layers list`);
    if (RepoTags !== undefined && RepoTags !== null && !(Array.isArray(RepoTags) && RepoTags.every((t) => typeof t === 'string'))) {
      throw invalidArgument(`${what}.RepoTags is not a list of names`);
    }
    return {
      config: archivePath(Config, `${what}.Config`),
      repoTags: (RepoTags ?? []) as string[],
      layers: Layers.map((layer, j) => archivePath(layer, `${what}.Layers[${j}]`)),
    };
  });
}

function repoTagsByConfig(archive: SpooledArchive, bytes: Buffer): Map<Digest, string[]> {
  const byConfig = new Map<Digest, string[]>();
  for (const entry of dockerManifestEntries(bytes)) {
    const config = required(archive, entry.config, 'config');
    byConfig.set(config.info.digest, [...(byConfig.get(config.info.digest) ?? []), ...entry.repoTags]);
  }
  return byConfig;
}

function required(archive: SpooledArchive, path: string, what: string): SpooledFile {
  const file = archive.file(path);
  if (file === undefined) throw invalidArgument(`manifest.json lists ${what} "${path}" but the archive does not contain it`);
  return file;
}

function jsonOf(file: SpooledFile, what: string): Buffer {
  if (file.json === undefined) {
    throw invalidArgument(`${what} (${file.info.digest}) is not a JSON document of acceptable size`);
  }
  return file.json;
}

async function loadClassic(
  ingester: BlobIngester,
  archive: SpooledArchive,
  entry: DockerManifestEntry,
  signal: AbortSignal | undefined,
): Promise<LoadedImage> {
  const config = required(archive, entry.config, 'config');
  const named = /^(?:.*\/)?([a-f0-9]{64})\.json$/.exec(entry.config);
  if (named !== null && named[1] !== digestHex(config.info.digest)) {
    throw digestMismatch(`config "${entry.config}" has digest ${config.info.digest}, not the image ID its name says`);
  }
  const diffIds = parseImageConfig(jsonOf(config, `config "${entry.config}"`)).rootfs.diff_ids;
  if (diffIds.length !== entry.layers.length) {
    throw invalidArgument(
      `manifest.json lists ${entry.layers.length} layers for "${entry.config}" but its config has ${diffIds.length} diff_ids`,
    );
  }
  const layers = entry.layers.map((path, i): Descriptor => {
    const layer = required(archive, path, 'layer');
    if (layer.compression === 'zstd') {
      throw new CtrError('Unsupported', `layer "${path}" is zstd-compressed, which a classic archive cannot carry here`);
    }
    if (layer.uncompressed !== diffIds[i]) {
      throw digestMismatch(`layer "${path}" has diffID ${layer.uncompressed ?? '(unreadable gzip)'}, config expects ${diffIds[i]}`, {
        details: { path, expected: diffIds[i], actual: layer.uncompressed },
      });
    }
    return {
      mediaType: layer.compression === 'gzip' ? MediaTypes.dockerLayerGzip : MediaTypes.dockerLayer,
      digest: layer.info.digest,
      size: layer.info.size,
    };
  });
  const manifest = serializeManifest(
    createManifest({
      mediaType: MediaTypes.dockerManifest,
      config: { mediaType: MediaTypes.dockerConfig, digest: config.info.digest, size: config.info.size },
      layers,
    }),
  );
  await ingester.write(Readable.from([manifest.bytes]), { ...manifest.descriptor, ...(signal ? { signal } : {}) });
  return { names: normalizeNames(entry.repoTags, 'manifest.json'), descriptor: manifest.descriptor, imageId: config.info.digest };
}

function loadIndexed(archive: SpooledArchive, descriptor: Descriptor, repoTags: Map<Digest, string[]>): LoadedImage {
  const { kind, configs } = checkGraph(archive, descriptor, true);
  const names = normalizeNames(
    [...namesFromAnnotations(descriptor), ...configs.flatMap((config) => repoTags.get(config) ?? [])],
    'the archive',
  );
  const single = kind === 'manifest' ? configs[0] : undefined;
  return { names, descriptor: plainDescriptor(descriptor), ...(single === undefined ? {} : { imageId: single }) };
}


/**
 * Check that what a descriptor points at is in the archive, and return the config digests
 * found. Children of an index may be absent (an archive may carry some platforms only);
 * a manifest's config and layers may not.
 */
function checkGraph(archive: SpooledArchive, descriptor: Descriptor, mustExist: boolean): { kind: ManifestOrIndex['kind']; configs: Digest[] } {
  const file = archive.byDigest(descriptor.digest);
  if (file === undefined) {
    if (!mustExist) return { kind: 'manifest', configs: [] };
    throw invalidArgument(`the archive's index lists ${descriptor.digest} (${descriptor.mediaType}) but does not contain it`);
  }
  checkSize(file, descriptor);
  const document = parseManifestOrIndex(jsonOf(file, `${descriptor.mediaType} ${descriptor.digest}`), descriptor.mediaType);
  if (document.kind === 'index') {
    const configs = document.index.manifests.flatMap((child) => checkGraph(archive, child, false).configs);
    if (configs.length === 0) throw invalidArgument(`index ${descriptor.digest} has none of its manifests in the archive`);
    return { kind: 'index', configs };
  }
  const { config, layers } = document.manifest;
  for (const blob of [config, ...layers]) {
    const present = archive.byDigest(blob.digest);
    if (present === undefined) {
      if (blob.urls !== undefined && blob.urls.length > 0) continue; // foreign layers live elsewhere by design
      throw invalidArgument(`manifest ${descriptor.digest} needs ${blob.digest} (${blob.mediaType}), which the archive lacks`);
    }
    checkSize(present, blob);
  }
  return { kind: 'manifest', configs: [config.digest] };
}

function checkSize(file: SpooledFile, descriptor: Descriptor): void {
  if (file.info.size !== descriptor.size) {
    throw digestMismatch(`${descriptor.digest} has ${file.info.size} bytes, its descriptor says ${descriptor.size}`);
  }
}
