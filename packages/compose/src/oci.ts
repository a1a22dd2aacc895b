import { lstat, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { goParseBool } from '@ctr/image';
import { CtrError, isCtrError } from '@ctr/errors';
import { formatReference, parseManifestOrIndex, parseNormalizedReference, type Descriptor, type ImageManifest, type Reference } from '@ctr/image';
import { RegistryClient, type RegistryClientOptions } from '@ctr/registry';

/**
 * Compose projects as OCI artifacts, as docker compose publishes and loads them: one image
 * manifest whose layers are the compose files (and env files), read back through `oci://`.
 */

export const OCI_PREFIX = 'oci://';

/** compose's internal/oci constants: what marks a manifest, and each of its layers, as a compose project's. */
export const ComposeMediaTypes = {
  /** The OCI 1.1 artifactType of a compose project's manifest. */
  project: 'application/vnd.docker.compose.project',
  /** A compose file layer. */
  file: 'application/vnd.docker.compose.file+yaml',
  /** An env file layer (`publish --with-env`). */
  envFile: 'application/vnd.docker.compose.envfile',
  /** The config of an OCI 1.0 push (`{}`): where an artifactType cannot be said, the config's type says it. */
  emptyConfig: 'application/vnd.docker.compose.config.empty.v1+json',
} as const;

export const ComposeAnnotations = {
  /** A compose file layer's file name. */
  file: 'com.docker.compose.file',
  /** An env file layer's file name. */
  envFile: 'com.docker.compose.envfile',
  /** Set on a layer that an `extends: file:` names: it is written beside compose.yaml under its own name. */
  extends: 'com.docker.compose.extends',
  version: 'com.docker.compose.version',
} as const;

/** What a pulled artifact's compose files are merged into, in its cache entry. */
const MERGED_FILE = 'compose.yaml';

/** The variable current compose reads to turn the OCI loader off (it was opt-in before v2.34; it is on unless set false now). */
const OCI_REMOTE_ENABLED = 'COMPOSE_EXPERIMENTAL_OCI_REMOTE';

export function isOciPath(path: string): boolean {
  return path.startsWith(OCI_PREFIX);
}

/** What follows `oci://`, read as compose reads it (reference.ParseDockerRef: no tag is `:latest`). */
export function ociReference(path: string): Reference {
  return parseNormalizedReference(isOciPath(path) ? path.slice(OCI_PREFIX.length) : path);
}

/** compose's check of the variable: Go's strconv.ParseBool, refusing in its words. */
function remoteEnabled(value: string): boolean {
  const enabled = goParseBool(value);
  if (enabled !== undefined) return enabled;
  throw new CtrError('InvalidArgument', `${OCI_REMOTE_ENABLED} environment variable expects boolean value: strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
}

/** compose's cache of pulled artifacts: `$XDG_CACHE_HOME/docker-compose`, else `~/.cache/docker-compose`. */
export function composeCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.XDG_CACHE_HOME !== undefined) return join(env.XDG_CACHE_HOME, 'docker-compose');
  return join(env.HOME ?? homedir(), '.cache', 'docker-compose');
}

export interface OciRemoteOptions {
  /** The registry client's settings (insecure registries, mirrors, docker config), asked for when the first `oci://` resource is met. */
  registry?: () => RegistryClientOptions;
  /** Where artifacts are kept, by manifest digest (default composeCacheDir). */
  cacheDir?: string;
  signal?: AbortSignal;
}

/** A compose file name from an artifact's annotation: a bare name, as compose's validatePathInBase requires, never a path out of the cache directory. */
function plainName(name: string | undefined, layer: Descriptor): string {
  if (name === undefined || name === '' || name === '.' || name === '..' || /[\\/]/.test(name)) {
    throw new CtrError('InvalidArgument', 'invalid OCI artifact', { details: { layer: layer.digest } });
  }
  return name;
}

/**
 * Whether `path`, compose's cache directory or one of its entries, is there. What is there must
 * be a real directory (no symlink), this user's, that no one else can write into: a cache
 * entry is trusted as the artifact its digest names, so one another user could have made or
 * changed is refused, naming it, rather than loaded. It is refused, not pulled again beside it:
 * an entry's name is its digest, and replacing what another wrote there would race them.
 */
async function cacheDirectory(path: string): Promise<boolean> {
  const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (stats === undefined) return false;
  const uid = process.getuid?.();
  const wrong = stats.isSymbolicLink()
    ? 'is a symbolic link'
    : !stats.isDirectory()
      ? 'is not a directory'
      : uid !== undefined && stats.uid !== uid
        ? `belongs to uid ${stats.uid}, not this user (uid ${uid})`
        : (stats.mode & 0o022) !== 0
          ? `can be written by its group or others (mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')})`
          : undefined;
  if (wrong === undefined) return true;
  throw new CtrError('Denied', `refusing compose's OCI cache ${path}: it ${wrong}`, {
    hint: 'Remove it (what was cached is pulled again), or make it a directory of this user\'s that group and others cannot write to.',
    details: { path },
  });
}

/**
 * compose's OCI remote loader: `oci://REF` is pulled once into the cache directory, named by
 * its manifest's digest, as `compose.yaml` (the artifact's compose files as its documents, in
 * order), its `extends` files and env files beside it; what is loaded is that local file. One
 * loader keeps one registry client for a whole project load; `close()` releases it.
 */
export class OciRemoteLoader {
  private client: RegistryClient | undefined;
  private readonly known = new Map<string, string>();

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly options: OciRemoteOptions = {},
  ) {}

  /** The local compose.yaml standing for `path` (`oci://…`). */
  async load(path: string): Promise<string> {
    const setting = this.env[OCI_REMOTE_ENABLED];
    if (setting !== undefined && setting !== '' && !remoteEnabled(setting)) {
      throw new CtrError('Unsupported', `OCI remote resource is disabled by ${JSON.stringify(OCI_REMOTE_ENABLED)}`);
    }
    let local = this.known.get(path);
    if (local === undefined) {
      local = await this.pull(ociReference(path));
      this.known.set(path, local);
    }
    return join(local, MERGED_FILE);
  }

  async close(): Promise<void> {
    await this.client?.close();
  }

  private async pull(ref: Reference): Promise<string> {
    const name = formatReference(ref);
    this.client ??= new RegistryClient(this.options.registry?.() ?? { dockerConfig: { env: this.env } });
    const client = this.client;
    const signal = this.options.signal;
    const fetch = async (target: Reference): Promise<{ descriptor: Descriptor; bytes: Buffer }> => {
      try {
        return await client.fetchManifest(target, signal ? { signal } : {});
      } catch (error) {
        if (!isCtrError(error)) throw error;
        throw new CtrError(error.code, `failed to pull OCI resource ${JSON.stringify(name)}: ${error.message}`, { cause: error, details: error.details });
      }
    };
    let fetched = await fetch(ref);
    const cache = this.options.cacheDir ?? composeCacheDir(this.env);
    const local = join(cache, fetched.descriptor.digest.replace(/^sha256:/, ''));
    await mkdir(cache, { recursive: true, mode: 0o700 });
    await cacheDirectory(cache);
    if (await cacheDirectory(local)) return local;

    let document = parseManifestOrIndex(fetched.bytes, fetched.descriptor.mediaType);
    if (document.kind === 'index') {
      // A compose application (`publish --app`) is an index: its project manifest is the one of compose's artifact type.
      const project = document.index.manifests.filter((m) => m.artifactType === ComposeMediaTypes.project).pop();
      if (!project) throw new CtrError('InvalidArgument', `OCI index ${name} doesn't refer to compose artifacts`);
      fetched = await fetch({ ...ref, digest: project.digest });
      document = parseManifestOrIndex(fetched.bytes, fetched.descriptor.mediaType);
      if (document.kind === 'index') throw new CtrError('InvalidArgument', `${name} is not a compose project OCI artifact, but ${document.mediaType}`);
    }
    const manifest = document.manifest;
    if (!isComposeManifest(manifest)) {
      throw new CtrError('InvalidArgument', `${name} is not a compose project OCI artifact, but ${manifest.artifactType ?? ''}`);
    }

    // Written aside and renamed into place: a cache entry is whole or absent, whatever another load does at the same time.
    const staging = await mkdtemp(join(cache, '.pull-'));
    try {
      await this.writeLayers(ref, manifest.layers, staging);
      await rename(staging, local);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      // Another load's entry, made meanwhile, is held to the same checks as one found at first.
      await cacheDirectory(local);
    }
    return local;
  }

  private async writeLayers(ref: Reference, layers: readonly Descriptor[], dir: string): Promise<void> {
    const signal = this.options.signal;
    const client = this.client as RegistryClient;
    const compose: Buffer[] = [];
    // The files the artifact is written as: one layer's may not take another's place, nor the merged compose.yaml's.
    const named = new Set([MERGED_FILE]);
    const file = (name: string | undefined, layer: Descriptor): string => {
      const plain = plainName(name, layer);
      if (named.has(plain)) {
        const taken = plain === MERGED_FILE ? 'the file its compose files are merged into' : 'as another of its layers is';
        throw new CtrError('InvalidArgument', `invalid OCI artifact: layer ${layer.digest} is named ${plain}, ${taken}`, { details: { layer: layer.digest, file: plain } });
      }
      named.add(plain);
      return join(dir, plain);
    };
    for (const layer of layers) {
      if (layer.mediaType !== ComposeMediaTypes.file && layer.mediaType !== ComposeMediaTypes.envFile) continue;
      const content = await client.fetchSmallBlob(ref, layer.digest, signal ? { signal } : {});
      const annotations = layer.annotations ?? {};
      if (layer.mediaType === ComposeMediaTypes.envFile) {
        if (annotations[ComposeAnnotations.envFile] === undefined) {
          throw new CtrError('InvalidArgument', `missing annotation ${ComposeAnnotations.envFile} in layer ${JSON.stringify(layer.digest)}`);
        }
        await writeFile(file(annotations[ComposeAnnotations.envFile], layer), content, { mode: 0o600 });
      } else if (annotations[ComposeAnnotations.extends] !== undefined) {
        await writeFile(file(annotations[ComposeAnnotations.file], layer), content, { mode: 0o600 });
      } else {
        // Each compose file one YAML document of compose.yaml, merged in order as the files were.
        compose.push(...(compose.length > 0 ? [Buffer.from('\n---\n')] : []), content);
      }
    }
    await writeFile(join(dir, MERGED_FILE), Buffer.concat(compose), { mode: 0o600 });
  }
}

/** compose's test: the OCI 1.1 artifactType, or without one (OCI 1.0) the config's media type. */
function isComposeManifest(manifest: ImageManifest): boolean {
  if (manifest.artifactType !== undefined && manifest.artifactType !== '') return manifest.artifactType === ComposeMediaTypes.project;
  return manifest.config.mediaType === ComposeMediaTypes.emptyConfig;
}
