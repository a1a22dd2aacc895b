import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { invalidArgument, isNotFound } from '@ctr/errors';
import { createLayerFromDirectory, digestOf, MediaTypes, parseManifestOrIndex, type Descriptor, type Digest } from '@ctr/image';
import { LocalContentStore, readJson, writeFileAtomic } from '@ctr/store';
import type { PluginConfig } from './plugin-store';

/**
 * Plugins in registries, as moby distributes them: an image manifest (Docker schema 2) whose
 * config is the plugin's config.json, of media type `application/vnd.docker.plugin.v1+json`,
 * and whose one layer is the rootfs as a gzipped tar. The blobs are kept in a content store of
 * the plugins' own (`<root>/plugins/storage`, moby's plugin blob store), apart from images', so
 * image gc and `rmi` never see them.
 */
export const PLUGIN_CONFIG_MEDIA_TYPE = 'application/vnd.docker.plugin.v1+json';

/** The blobs a plugin is made of, as its `content.json` records them. */
export interface PluginContent {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

/** One privilege a plugin asks for (moby's types.PluginPrivilege), as `GET /plugins/privileges` answers. */
export interface PluginPrivilege {
  Name: string;
  Description: string;
  Value: string[];
}

const CONTENT_FILE = 'content.json';

export function pluginBlobStore(pluginsDir: string): LocalContentStore {
  const dir = path.join(pluginsDir, 'storage');
  return new LocalContentStore(path.join(dir, 'blobs', 'sha256'), path.join(dir, 'ingest'));
}

export function readPluginContent(pluginDir: string): Promise<PluginContent | undefined> {
  return readJson<PluginContent>(path.join(pluginDir, CONTENT_FILE));
}

export function writePluginContent(pluginDir: string, content: PluginContent): Promise<void> {
  return writeFileAtomic(path.join(pluginDir, CONTENT_FILE), JSON.stringify(content));
}

/** The rootfs as the plugin's one layer blob, gzipped as it is read: never whole in memory. */
export async function storeRootfsLayer(blobs: LocalContentStore, rootfs: string, signal?: AbortSignal): Promise<Descriptor> {
  let layer: Descriptor | undefined;
  await pipeline(
    createLayerFromDirectory(rootfs),
    createGzip(),
    async (gzipped: AsyncIterable<Uint8Array>) => {
      const info = await blobs.write(gzipped, signal ? { signal } : {});
      layer = { mediaType: MediaTypes.dockerLayerGzip, digest: info.digest, size: info.size };
    },
    ...(signal ? [{ signal }] : []),
  );
  return layer as Descriptor;
}

async function storeDocument(blobs: LocalContentStore, mediaType: string, text: string): Promise<Descriptor> {
  const bytes = Buffer.from(text);
  const digest = digestOf(bytes);
  await blobs.write(Readable.from([bytes]), { digest, size: bytes.length });
  return { mediaType, digest, size: bytes.length };
}

/**
 * The config blob and manifest of a plugin whose layer is stored, as moby's CreateFromContext
 * writes them: the config with `rootfs.diff_ids` naming the layer blob (moby's choice) and the
 * Docker version, then a schema 2 manifest, the media type registries accept plugins under.
 */
export async function storePluginContent(blobs: LocalContentStore, config: PluginConfig, layer: Descriptor, dockerVersion: string): Promise<{ config: PluginConfig; content: PluginContent }> {
  const full: PluginConfig = { ...config, DockerVersion: dockerVersion, rootfs: { diff_ids: [layer.digest], type: 'layers' } };
  // Go's json.Encoder ends what it writes with a newline.
  const configBlob = await storeDocument(blobs, PLUGIN_CONFIG_MEDIA_TYPE, `${JSON.stringify(full)}\n`);
  const manifest = { schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: configBlob, layers: [layer] };
  const manifestBlob = await storeDocument(blobs, MediaTypes.dockerManifest, JSON.stringify(manifest));
  return { config: full, content: { manifest: manifestBlob, config: configBlob, layers: [layer] } };
}

/**
 * A registry manifest as a plugin's: an image manifest whose config is a plugin config. An image
 * (or an index) is refused in moby's words, with what it is instead.
 */
export function pluginManifest(bytes: Buffer, mediaType: string, remote: string): { config: Descriptor; layers: Descriptor[] } {
  const parsed = parseManifestOrIndex(bytes, mediaType);
  const configType = parsed.kind === 'manifest' ? parsed.manifest.config.mediaType : mediaType;
  if (parsed.kind !== 'manifest' || configType !== PLUGIN_CONFIG_MEDIA_TYPE) {
    throw invalidArgument('content is not a plugin', {
      hint: `${remote} is ${parsed.kind === 'manifest' ? `an image (its config is ${configType})` : `an index (${mediaType})`}, not a plugin (config ${PLUGIN_CONFIG_MEDIA_TYPE}): use \`docker image pull\``,
    });
  }
  return { config: parsed.manifest.config, layers: [...parsed.manifest.layers] };
}

/** What a plugin's config asks of the host, as moby's computePrivileges lists it. */
export function computePrivileges(config: PluginConfig): PluginPrivilege[] {
  const privileges: PluginPrivilege[] = [];
  const add = (Name: string, Description: string, Value: string[]): number => privileges.push({ Name, Description, Value });
  const network = config.Network.Type;
  if (network !== 'null' && network !== 'bridge' && network !== '') add('network', 'permissions to access a network', [network]);
  if (config.IpcHost) add('host ipc namespace', 'allow access to host ipc namespace', ['true']);
  if (config.PidHost) add('host pid namespace', 'allow access to host pid namespace', ['true']);
  for (const mount of config.Mounts ?? []) if (mount.Source !== null) add('mount', 'host path to mount', [mount.Source]);
  for (const device of config.Linux.Devices ?? []) if (device.Path !== null) add('device', 'host device to access', [device.Path]);
  if (config.Linux.AllowAllDevices) add('allow-all-devices', "allow 'rwm' access to all devices", ['true']);
  if ((config.Linux.Capabilities ?? []).length > 0) add('capabilities', 'list of additional capabilities required', [...(config.Linux.Capabilities ?? [])]);
  return privileges;
}

function privilegeKey(p: PluginPrivilege): string {
  return JSON.stringify([p.Name, [...(p.Value ?? [])].sort()]);
}

/** moby's validatePrivileges: the privileges granted must be those the config asks for, in any order. */
export function checkPrivileges(required: readonly PluginPrivilege[], granted: readonly PluginPrivilege[]): void {
  const want = required.map(privilegeKey).sort();
  const got = granted.map(privilegeKey).sort();
  if (want.length !== got.length || want.some((key, i) => key !== got[i])) {
    throw invalidArgument('incorrect privileges', {
      hint: `the plugin asks for ${required.map((p) => `${p.Name}: [${p.Value.join(' ')}]`).join(', ') || 'nothing'}; grant exactly those (docker plugin install --grant-all-permissions)`,
    });
  }
}

/**
 * Blobs of `removed` that no plugin in `kept` names: what removing a plugin frees (moby's
 * plugin GC, for that plugin alone, so a pull under way elsewhere keeps what it wrote).
 */
export async function releaseBlobs(blobs: LocalContentStore, removed: PluginContent | undefined, kept: readonly (PluginContent | undefined)[]): Promise<void> {
  if (!removed) return;
  const used = new Set<Digest>(kept.flatMap((c) => (c ? [c.manifest.digest, c.config.digest, ...c.layers.map((l) => l.digest)] : [])));
  for (const digest of [removed.manifest.digest, removed.config.digest, ...removed.layers.map((l) => l.digest)]) {
    if (used.has(digest)) continue;
    await blobs.delete(digest).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }
}

