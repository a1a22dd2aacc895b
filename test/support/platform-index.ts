import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { formatPlatform, hostPlatform, importRootfs, MediaTypes, MemoryContentStore, parsePlatform, type Descriptor, type Digest, type DiffID, type Platform } from '@ctr/image';
import { RegistryClient, RegistryServer } from '@ctr/registry';

/** This machine's platform. */
export const HOST_PLATFORM = hostPlatform();

/** A platform that is not this machine's: an image for it is pulled and built on here, never run. */
export const OTHER_PLATFORM = parsePlatform(HOST_PLATFORM.architecture === 'arm64' ? 'linux/amd64' : 'linux/arm64');

/** One platform's image of a published index. */
export interface PlatformImage {
  /** Its image ID (config digest). */
  id: Digest;
  /** Its one layer's diffID. */
  diffId: DiffID;
}

/**
 * `ref` pushed (from outside any engine) as a multi-platform image, as `docker buildx build
 * --platform a,b --push` leaves one: an OCI index naming, for each of `platforms`, a one-layer
 * image whose `/platform` file names its platform. Nothing in it runs: a test reads which
 * platform's image it got from its ID, architecture or layer. Each platform's image, by
 * `formatPlatform`.
 */
export async function publishPlatformIndex(ref: string, platforms: readonly Platform[]): Promise<Map<string, PlatformImage>> {
  const store = new MemoryContentStore();
  const work = await mkdtemp(join(tmpdir(), 'ctr-platform-index-'));
  const client = new RegistryClient({ credentials: {} });
  try {
    const images = new Map<string, PlatformImage>();
    const manifests: Descriptor[] = [];
    for (const platform of platforms) {
      const dir = await mkdtemp(join(work, 'rootfs-'));
      await writeFile(join(dir, 'platform'), `${formatPlatform(platform)}\n`);
      const imported = await importRootfs(store, { dir }, { platform });
      images.set(formatPlatform(platform), { id: imported.imageId, diffId: imported.diffId });
      manifests.push({ ...imported.manifest, platform });
    }
    const written = await store.write(Readable.from([Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }))]));
    await client.push(ref, { store, manifest: { mediaType: MediaTypes.ociIndex, digest: written.digest, size: written.size } });
    return images;
  } finally {
    await client.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** A registry on 127.0.0.1 serving `base:1` as `publishPlatformIndex` pushes it. */
export interface PlatformRegistry {
  /** `<host>/base:1`. */
  base: string;
  /** Each platform's image, by `formatPlatform`. */
  images: Map<string, PlatformImage>;
  close(): Promise<void>;
}

/** ctr's registry server, in a directory of its own, holding `base:1` for `platforms` (this machine's and another by default). */
export async function servePlatformIndex(platforms: readonly Platform[] = [HOST_PLATFORM, OTHER_PLATFORM]): Promise<PlatformRegistry> {
  const work = await mkdtemp(join(tmpdir(), 'ctr-platform-registry-'));
  const registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  try {
    await registry.listen();
    const base = `${registry.host}/base:1`;
    return {
      base,
      images: await publishPlatformIndex(base, platforms),
      close: async () => {
        await registry.close();
        await rm(work, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await registry.close();
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}
