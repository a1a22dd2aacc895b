import { once } from 'node:events';
import { Readable } from 'node:stream';
import { digestMismatch, invalidArgument, throwIfAborted } from '@ctr/errors';
import * as tar from 'tar-stream';
import type { BlobProvider } from './content';
import type { Descriptor, Platform } from './descriptor';
import { layoutEntry } from './oci-layout-index';
import { digestHex, DigestStream, type Digest } from './digest';
import { blobPath } from './docker-archive-paths';
import { MediaTypes } from './media-types';
import { imageGraph, type PlatformImage } from './oci-layout-graph';
import { platformMatcher } from './platform';
import { familiarName, familiarString, parseNormalizedReference, type Reference } from './reference';

/** An image to write into an archive or layout: its top descriptor and the names it goes by. */
export interface ArchiveImage {
  /** A manifest or an index. */
  descriptor: Descriptor;
  /** References such as `busybox:latest` or `docker.io/library/busybox:latest`; may be empty. */
  names?: string[];
}

export interface SaveArchiveOptions {
  /**
   * `docker` (default): what `docker save` writes since Docker 25 — an OCI layout plus
   * `manifest.json` and `repositories`, readable by every `docker load` and by skopeo.
   * `oci`: an OCI image layout only.
   */
  format?: 'docker' | 'oci';
  /** For an index, the platform manifest.json describes; the host by default. */
  platform?: Platform;
  signal?: AbortSignal;
}

const EPOCH = new Date(0);

/**
 * `docker save`: a tar stream of the images' blobs as they are stored (so every digest,
 * and the image ID, survives), `index.json` naming them, and for the docker format the
 * `manifest.json` every `docker load` reads. Nothing is buffered but small JSON; each blob
 * is verified as it streams out.
 */
export function saveArchive(provider: BlobProvider, images: readonly ArchiveImage[], options: SaveArchiveOptions = {}): Readable {
  const pack = tar.pack();
  writeArchive(pack, provider, images, options).then(
    () => pack.finalize(),
    (error: unknown) => pack.destroy(error as Error),
  );
  return Readable.from(pack, { objectMode: false });
}

async function writeArchive(pack: tar.Pack, provider: BlobProvider, images: readonly ArchiveImage[], options: SaveArchiveOptions): Promise<void> {
  if (images.length === 0) throw invalidArgument('nothing to save: no images given');
  const graphOptions = options.signal ? { signal: options.signal } : {};
  const named = images.map((image) => ({ ...image, references: (image.names ?? []).map(parseNormalizedReference) }));
  const graphs = await Promise.all(named.map((image) => imageGraph(provider, image.descriptor, graphOptions)));
  await addFile(pack, 'oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await addDirectory(pack, 'blobs/');
  await addDirectory(pack, 'blobs/sha256/');
  const written = new Set<Digest>();
  for (const graph of graphs) {
    for (const blob of graph.blobs) {
      if (written.has(blob.digest)) continue;
      throwIfAborted(options.signal, 'saving the images');
      await addBlob(pack, provider, blob, options.signal);
      written.add(blob.digest);
    }
  }
  await addFile(pack, 'index.json', JSON.stringify(layoutIndex(named)));
  if ((options.format ?? 'docker') === 'oci') return;
  const entries = named.map((image, i) => {
    const chosen = choosePlatformImage(graphs[i]?.images ?? [], options.platform, image.descriptor);
    return { image, chosen };
  });
  await addFile(
    pack,
    'manifest.json',
    JSON.stringify(
      entries.map(({ image, chosen }) => ({
        Config: blobPath(chosen.config.digest),
        RepoTags: image.references.filter((r) => r.tag !== undefined).map(familiarString),
        Layers: chosen.layers.map((layer) => blobPath(layer.digest)),
      })),
    ),
  );
  await addFile(pack, 'repositories', JSON.stringify(repositories(entries.map(({ image, chosen }) => ({ references: image.references, chosen })))));
}

/** `index.json`: one entry per name (as Docker and containerd write it), or one unnamed entry. */
function layoutIndex(images: ReadonlyArray<{ descriptor: Descriptor; references: Reference[] }>): object {
  const manifests = images.flatMap(({ descriptor, references }) =>
    references.length === 0 ? [layoutEntry(descriptor)] : references.map((reference) => layoutEntry(descriptor, reference)),
  );
  return { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
}

function choosePlatformImage(candidates: PlatformImage[], platform: Platform | undefined, top: Descriptor): PlatformImage {
  const matcher = platformMatcher(platform);
  const ranked = candidates
    .filter((c) => c.platform === undefined || matcher.match(c.platform))
    .sort((a, b) => (a.platform && b.platform ? matcher.compare(a.platform, b.platform) : 0));
  const chosen = ranked[0] ?? candidates[0];
  if (chosen === undefined) throw invalidArgument(`image ${top.digest} has no manifest available to save`);
  return chosen;
}

function repositories(entries: ReadonlyArray<{ references: Reference[]; chosen: PlatformImage }>): Record<string, Record<string, string>> {
  const repos: Record<string, Record<string, string>> = {};
  for (const { references, chosen } of entries) {
    const top = chosen.layers[chosen.layers.length - 1];
    for (const reference of references) {
      if (reference.tag === undefined || top === undefined) continue;
      (repos[familiarName(reference)] ??= {})[reference.tag] = digestHex(top.digest);
    }
  }
  return repos;
}

async function addBlob(pack: tar.Pack, provider: BlobProvider, blob: Descriptor, signal: AbortSignal | undefined): Promise<void> {
  const source = await provider.read(blob.digest, signal ? { signal } : {});
  const hasher = new DigestStream();
  await addEntry(pack, { name: blobPath(blob.digest), size: blob.size, mode: 0o644, mtime: EPOCH }, source.pipe(hasher));
  if (hasher.digest !== blob.digest) {
    throw digestMismatch(`blob ${blob.digest} read from the store with digest ${hasher.digest}`, {
      details: { digest: blob.digest, actual: hasher.digest },
    });
  }
}

async function addFile(pack: tar.Pack, name: string, text: string): Promise<void> {
  const bytes = Buffer.from(text);
  await addEntry(pack, { name, size: bytes.length, mode: 0o644, mtime: EPOCH }, Readable.from([bytes]));
}

async function addDirectory(pack: tar.Pack, name: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    pack.entry({ name, type: 'directory', mode: 0o755, mtime: EPOCH }, (error) => (error ? reject(error) : resolve()));
  });
}

/** Copy a stream into one tar entry, honouring the pack's back-pressure. */
async function addEntry(pack: tar.Pack, header: Parameters<tar.Pack['entry']>[0], source: Readable): Promise<void> {
  let sink!: ReturnType<tar.Pack['entry']>;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (error) => (error ? reject(error) : resolve()));
  });
  done.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  // A pack destroyed mid-entry (its reader gone: `docker save | head`) fails the entry through its
  // callback, `done`; the entry's 'error' event besides would end the process, unheard.
  sink.on('error', () => undefined);
  try {
    for await (const chunk of source) {
      // A destroyed entry never drains: its failure ends the wait.
      if (!sink.write(chunk)) await Promise.race([once(sink, 'drain'), done]);
    }
  } catch (error) {
    sink.destroy(error as Error);
    throw error;
  }
  sink.end(undefined);
  await done;
}
