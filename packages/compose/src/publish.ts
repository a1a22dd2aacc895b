import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import * as YAML from 'yaml';
import { CtrError, isCtrError, isNotFound } from '@ctr/errors';
import {
  createManifest,
  digestOf,
  formatReference,
  goRfc3339,
  isIndexType,
  MediaTypes,
  MemoryContentStore,
  OciLayout,
  parseManifestOrIndex,
  serializeIndex,
  serializeManifest,
  type BlobInfo,
  type BlobProvider,
  type ContentStore,
  type Descriptor,
  type Digest,
  type ReadOptions,
  type Reference,
} from '@ctr/image';
import type { RegistryClient, RequestOptions } from '@ctr/registry';
import { toMapping } from './canonical';
import type { ComposeProgress } from './compose';
import { pushBuiltImages } from './images';
import { isPlainObject, substitute } from './interpolate';
import { COMPOSE_VERSION, type ComposeEngine } from './labels';
import type { ComposeProject, ServiceConfig, ServiceVolume } from './model';
import { ComposeAnnotations, ComposeMediaTypes, isOciPath, ociReference } from './oci';
import { flattenTree, isKeywordSecret, scanEntries, scanFile, type DetectedSecret } from './secret-scan';

/**
 * `docker compose publish`: the project's compose files (and, with `--with-env`, its env
 * files) pushed to a registry as one OCI artifact, after compose's checks and questions.
 */

/** `--oci-version`: the manifest's shape. 1.1 says `artifactType`; 1.0 marks the config's media type instead. */
export type OciVersion = '1.0' | '1.1';

export interface PublishOptions {
  /** What pushes the artifact (and resolves image digests): the caller's, with its registries' settings and credentials. */
  client: RegistryClient;
  /** Where the images of services with both `build:` and `image:` are pushed from first, failures only warned about, as compose does. */
  engine?: ComposeEngine;
  /** The manifest's shape; none tries 1.1 and falls back to 1.0 when the registry refuses it (a 4xx other than auth). */
  ociVersion?: OciVersion;
  /** `--with-env`: the services' env files go in the artifact, and env declarations are published without a question. */
  withEnv?: boolean;
  /** `--resolve-image-digests`: a last compose file pins every service's image to the digest its registry has now. */
  resolveImageDigests?: boolean;
  /**
   * `--app`: the services' images go along, copied into the repository, under an image index
   * whose subject is the artifact (pushed by digest, found through the referrers API); the
   * images are pinned as with `resolveImageDigests`.
   */
  app?: boolean;
  /**
   * Asked (compose's words, a yes/no question) before publishing bind mount declarations,
   * what its secret scan finds, env declarations or literal inline config content. None:
   * every such question is answered no.
   */
  confirm?: (question: string) => Promise<boolean>;
  /** `--dry-run`: every check and layer, no push. */
  dryRun?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: ComposeProgress) => void;
}

export interface PublishResult {
  /** The repository as normalised (`127.0.0.1:5000/app:latest`). */
  reference: string;
  /** The artifact's manifest. */
  descriptor: Descriptor;
  /** The manifest shape the registry took. */
  ociVersion: OciVersion;
  /** With `app`: the index of the services' images, pushed by digest with the artifact as its subject. */
  application?: Descriptor;
}

export function checkOciVersion(value: string): OciVersion {
  if (value === '1.0' || value === '1.1') return value;
  throw new CtrError('InvalidArgument', `unsupported OCI version: ${value}`);
}

/** What compose asks before publishing, refused unless the answer is yes (compose's api.ErrCanceled, its status 130). */
export function isPublishCanceled(error: unknown): boolean {
  return isCtrError(error) && error.code === 'Aborted' && error.details.publishCanceled === true;
}

type Tree = Record<string, unknown>;

/** One compose file as it will be published: its bytes, with env_file and extends paths renamed to the artifact's names. */
interface PublishedFile {
  path: string;
  /** Its layer's `com.docker.compose.file`: a project file's base name, an extended file's hashed name. */
  name: string;
  /** Named by an `extends:` (not one of the project's files): its layer is written beside compose.yaml, not into it. */
  extended: boolean;
  bytes: Buffer;
  /** Its YAML documents as plain values, before renaming: what the checks read. */
  documents: Tree[];
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The artifact's name for a local env file or extended compose file: a hash of its path, as compose names them. */
const hashedName = (path: string, extension: '.env' | '.yaml'): string => `${sha256(path)}${extension}`;

/** Walks the compose files to publish: the project's, then each local file an `extends:` names, renaming their paths. */
class ArtifactFiles {
  readonly files: PublishedFile[] = [];
  /** Env files by absolute path → their name in the artifact. */
  readonly envFiles = new Map<string, string>();
  private readonly extended = new Set<string>();

  constructor(private readonly project: ComposeProject) {}

  /** A file and, after it, the local files its services extend; relative env_file paths are from `baseDir`, as the loader reads them. */
  async add(path: string, baseDir: string, extended = false): Promise<void> {
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new CtrError('NotFound', `open ${path}: no such file or directory`);
      throw error;
    });
    const documents = YAML.parseAllDocuments(text, { merge: true });
    // Read before any renaming: the checks see the paths and values as the user wrote them.
    const plain = documents.map((document) => (document.toJS() ?? {}) as Tree);
    const extendedHere = new Set<string>();
    let renamed = false;
    const rename = (node: unknown, dir: string, extension: '.env' | '.yaml'): string => {
      const target = this.localPath(node, dir);
      if (extension === '.env') this.envFiles.set(target, hashedName(target, extension));
      renamed = true;
      return hashedName(target, extension);
    };
    for (const document of documents) {
      const services = document.get('services');
      if (!YAML.isMap(services)) continue;
      for (const { value: service } of services.items) {
        if (!YAML.isMap(service)) continue;
        const envFile = service.get('env_file', true);
        if (YAML.isScalar(envFile)) service.set('env_file', rename(envFile, baseDir, '.env'));
        if (YAML.isSeq(envFile)) {
          envFile.items.forEach((item, index) => {
            if (YAML.isMap(item)) item.set('path', rename(item.get('path', true), baseDir, '.env'));
            else envFile.set(index, rename(item, baseDir, '.env'));
          });
        }
        const extend = service.get('extends', true);
        const file = YAML.isMap(extend) ? extend.get('file', true) : undefined;
        if (!YAML.isMap(extend) || file === undefined) continue;
        const target = this.localPath(file, dirname(path));
        // An extends that names no file here is a remote resource: it stays as written.
        if (!(await stat(target).then(() => true, () => false))) continue;
        extend.set('file', rename(file, dirname(path), '.yaml'));
        extendedHere.add(target);
      }
    }
    const name = extended ? hashedName(path, '.yaml') : basename(path);
    this.files.push({ path, name, extended, bytes: renamed ? Buffer.from(documents.map(String).join('')) : Buffer.from(text), documents: plain });
    for (const target of extendedHere) {
      if (this.extended.has(target)) continue;
      this.extended.add(target);
      await this.add(target, dirname(target), true);
    }
  }

  /** A path as the files write it (interpolated from the project's environment), made absolute from `dir`. */
  private localPath(node: unknown, dir: string): string {
    return resolve(dir, substitute(String(YAML.isScalar(node) ? node.value : node), (name) => this.project.environment[name]));
  }
}

/** A layer whose bytes travel in the manifest too (`data`), as compose's descriptors do. */
function layer(mediaType: string, bytes: Buffer, annotations: Record<string, string>): { descriptor: Descriptor; bytes: Buffer } {
  return { descriptor: { mediaType, digest: digestOf(bytes), size: bytes.length, annotations, data: bytes.toString('base64') }, bytes };
}

const composeFileLayer = (name: string, bytes: Buffer, annotations: Record<string, string> = {}): { descriptor: Descriptor; bytes: Buffer } =>
  layer(ComposeMediaTypes.file, bytes, { [ComposeAnnotations.file]: name, [ComposeAnnotations.version]: COMPOSE_VERSION, ...annotations });

/** Every service, those profiles leave out too: compose publishes with all profiles on. */
function allServices(project: ComposeProject): ServiceConfig[] {
  return Object.values({ ...project.services, ...(project.disabled_services ?? {}) }).sort((a, b) => (a.name < b.name ? -1 : 1));
}

function buildOnlyRefusal(project: ComposeProject): CtrError | undefined {
  const names = allServices(project).filter((service) => service.image === undefined && service.build !== undefined).map((service) => service.name);
  if (names.length === 0) return undefined;
  return new CtrError('InvalidArgument', `your Compose stack cannot be published as it only contains a build section for service(s):\n${names.map((name) => `- ${JSON.stringify(name)}`).join('\n')}`);
}

function hasLocalInclude(files: readonly PublishedFile[]): boolean {
  for (const document of files.flatMap((file) => file.documents)) {
    for (const entry of Array.isArray(document.include) ? document.include : []) {
      const paths: unknown[] = isPlainObject(entry) ? (Array.isArray(entry.path) ? entry.path : [entry.path]) : [entry];
      if (paths.some((path) => !isOciPath(String(path)))) return true;
    }
  }
  return false;
}

/** A volume as compose-go's ServiceVolumeConfig.String writes it. */
function volumeText(volume: ServiceVolume): string {
  const options = [volume.read_only ? 'ro' : 'rw', ...(volume.bind?.selinux ? [volume.bind.selinux] : [])];
  return `${volume.source ?? ''}:${volume.target}:${options.join(',')}`;
}

function bindMountQuestion(project: ComposeProject): string | undefined {
  const found = allServices(project)
    .map((service) => ({ name: service.name, binds: service.volumes.filter((volume) => volume.type === 'bind') }))
    .filter((entry) => entry.binds.length > 0);
  if (found.length === 0) return undefined;
  const lines = found.map(({ name, binds }) => `${name}${binds.map((volume) => `${volumeText(volume)}\n`).join('')}`);
  return (
    'you are about to publish bind mounts declaration within your OCI artifact.\n' +
    'only the bind mount declarations will be added to the OCI artifact (not content)\n' +
    "please double check that you are not mounting potential user's sensitive directories or data\n" +
    `${lines.join('')}Are you ok to publish these bind mount declarations?`
  );
}

/** Lists compose's loader reads as mappings: `- TOKEN=…` is scanned under the key TOKEN. */
const withMappings = (tree: Tree, keys: readonly string[]): Tree => ({
  ...tree,
  ...Object.fromEntries(keys.filter((key) => Array.isArray(tree[key])).map((key) => [key, toMapping(tree[key])])),
});

/**
 * A compose file as compose's scan reads it (its model as loaded, not interpolated, then
 * flattened): key=value lists as mappings, and the files of secrets and configs absolute,
 * the paths their keys (`secrets.db_password.file`) make the keyword detector look at.
 */
function scannedEntries(file: PublishedFile, baseDir: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const document of file.documents) {
    const tree: Tree = { ...document };
    if (isPlainObject(document.services)) {
      tree.services = Object.fromEntries(
        Object.entries(document.services).map(([name, service]) => {
          if (!isPlainObject(service)) return [name, service];
          const build = isPlainObject(service.build) ? { build: withMappings(service.build, ['args', 'labels']) } : {};
          return [name, withMappings({ ...service, ...build }, ['environment', 'labels', 'annotations'])];
        }),
      );
    }
    for (const kind of ['secrets', 'configs']) {
      const section = document[kind];
      if (!isPlainObject(section)) continue;
      tree[kind] = Object.fromEntries(
        Object.entries(section).map(([name, entry]) => [name, isPlainObject(entry) && typeof entry.file === 'string' ? { ...entry, file: resolve(baseDir, entry.file) } : entry]),
      );
    }
    flattenTree(tree, '', entries);
  }
  return entries;
}

/** A file compose's scan reads whole, its failures in compose's words (`failed to scan env file …: …`). */
async function scannedFile(kind: 'env' | 'config' | 'secret', path: string): Promise<DetectedSecret[]> {
  try {
    return await scanFile(path);
  } catch (error) {
    // The project loaded, so a missing env file is an optional one: nothing of it is published.
    if (kind === 'env' && isNotFound(error)) return [];
    if (!isCtrError(error)) throw error;
    throw new CtrError(error.code, `failed to scan ${kind} file ${path}: ${error.message}`, { cause: error });
  }
}

/**
 * compose's sensitive-data question: its secret scan of the project's compose files, the
 * services' env files, and the files of its configs and secrets, each find named by its
 * detector, then its key and value.
 */
async function sensitiveDataQuestion(project: ComposeProject, files: ArtifactFiles): Promise<string | undefined> {
  const found: DetectedSecret[] = [];
  for (const file of files.files.filter((published) => !published.extended)) found.push(...scanEntries(scannedEntries(file, project.working_dir)));
  for (const path of [...files.envFiles.keys()].sort()) found.push(...(await scannedFile('env', path)));
  for (const [kind, section] of [['config', project.configs], ['secret', project.secrets]] as const) {
    for (const name of Object.keys(section).sort()) {
      const path = section[name]?.file;
      if (path !== undefined) found.push(...(await scannedFile(kind, path)));
    }
  }
  if (found.length === 0) return undefined;
  return (
    'you are about to publish sensitive data within your OCI artifact.\n' +
    'please double check that you are not leaking sensitive data\n' +
    `${found.map((secret) => `${secret.type}\n${JSON.stringify(secret.key)}: ${secret.value}\n`).join('')}Are you ok to publish these sensitive data?`
  );
}

/**
 * compose's env and config checks: the keyword detector on a key and value as written, its
 * `$$` (a literal `$`) read as an ordinary character, so an escaped literal still counts as one.
 */
const literalSecret = (key: string, value: string): boolean => isKeywordSecret(key, value.replaceAll('$$', 'X'));

function environmentEntries(environment: unknown): [string, string][] {
  if (Array.isArray(environment)) {
    return environment.map(String).flatMap((entry) => (entry.includes('=') ? [[entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)] as [string, string]] : []));
  }
  if (!isPlainObject(environment)) return [];
  return Object.entries(environment).flatMap(([key, value]) => (value === null || value === undefined ? [] : [[key, String(value)] as [string, string]]));
}

/** compose's env question: services declaring env_file, and literal values of sensitive-looking variables, as written in the files. */
function environmentQuestion(files: readonly PublishedFile[]): string | undefined {
  const findings = new Map<string, { envFile: boolean; keys: Set<string> }>();
  for (const document of files.flatMap((file) => file.documents)) {
    for (const [name, service] of Object.entries(isPlainObject(document.services) ? document.services : {})) {
      if (!isPlainObject(service)) continue;
      const keys = environmentEntries(service.environment).filter(([key, value]) => literalSecret(key, value)).map(([key]) => key);
      const envFile = service.env_file !== undefined && service.env_file !== null;
      if (!envFile && keys.length === 0) continue;
      const entry = findings.get(name) ?? { envFile: false, keys: new Set<string>() };
      entry.envFile ||= envFile;
      for (const key of keys) entry.keys.add(key);
      findings.set(name, entry);
    }
  }
  if (findings.size === 0) return undefined;
  const lines = [...findings.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .flatMap(([name, { envFile, keys }]) => [
      ...(envFile ? [`  service ${JSON.stringify(name)}: env_file declared\n`] : []),
      ...(keys.size > 0 ? [`  service ${JSON.stringify(name)}: literal value for ${[...keys].sort().map((key) => JSON.stringify(key)).join(', ')}\n`] : []),
    ]);
  return (
    'you are about to publish env-related declarations within your OCI artifact.\n' +
    'env_file paths and literal values for sensitive-looking keys are embedded as-is in the published YAML;\n' +
    'interpolated values like "${VAR}" are kept symbolic and have already been excluded.\n' +
    `${lines.join('')}Use --with-env to silence this prompt and always publish env declarations.\nAre you ok to publish these env declarations?`
  );
}

/** compose's question on configs whose inline `content:` is a literal: it is published as written, whatever --with-env says. */
function configContentQuestion(files: readonly PublishedFile[]): string | undefined {
  const names = new Set<string>();
  for (const document of files.flatMap((file) => file.documents)) {
    for (const [name, config] of Object.entries(isPlainObject(document.configs) ? document.configs : {})) {
      // compose asks the detector with a made-up `password` key: only its test of the value counts.
      if (isPlainObject(config) && typeof config.content === 'string' && config.content !== '' && literalSecret('password', config.content)) names.add(name);
    }
  }
  if (names.size === 0) return undefined;
  return `you are about to publish literal inline config content within your OCI artifact.\n${[...names].sort().map((name) => `  config ${JSON.stringify(name)}\n`).join('')}Are you ok to publish these config contents?`;
}

async function ask(question: string | undefined, options: PublishOptions): Promise<void> {
  if (question === undefined) return;
  if (options.confirm && (await options.confirm(question))) return;
  throw new CtrError('Aborted', 'canceled', { details: { publishCanceled: true } });
}

const requestOf = (options: PublishOptions): RequestOptions => (options.signal ? { signal: options.signal } : {});

/** An image's descriptor as its registry resolves it now. */
type ImageResolver = (image: Reference) => Promise<Descriptor>;

/** Each image resolved once, whichever step asks first: the pinned digests and the copied images agree. */
function imageResolver(options: PublishOptions): ImageResolver {
  const resolved = new Map<string, Promise<Descriptor>>();
  return (image) => {
    const key = formatReference(image);
    let descriptor = resolved.get(key);
    if (descriptor === undefined) {
      descriptor = options.client.resolve(image, requestOf(options));
      resolved.set(key, descriptor);
    }
    return descriptor;
  };
}

/** `--resolve-image-digests`' compose file: each service's image as `name:tag@digest`, what its registry holds now. */
async function imageDigestsFile(project: ComposeProject, resolve: ImageResolver): Promise<Buffer> {
  const services: Record<string, { image: string }> = {};
  for (const service of allServices(project)) {
    if (service.image === undefined) continue;
    const ref = ociReference(service.image);
    const digest = ref.digest ?? (await resolve(ref)).digest;
    services[service.name] = { image: formatReference({ ...ref, digest }) };
  }
  return Buffer.from(YAML.stringify({ services }));
}

/** The manifest of each shape, over the same layers, and the blobs a push of it reads. */
function artifact(layers: readonly { descriptor: Descriptor; bytes: Buffer }[], version: OciVersion): { store: MemoryContentStore; manifest: Descriptor; blobs: Buffer[] } {
  const empty = Buffer.from('{}');
  const config: Descriptor = { mediaType: version === '1.1' ? MediaTypes.ociEmpty : ComposeMediaTypes.emptyConfig, digest: digestOf(empty), size: empty.length, data: empty.toString('base64') };
  const { bytes, descriptor } = serializeManifest(
    createManifest({
      config,
      layers: layers.map((l) => l.descriptor),
      ...(version === '1.1' ? { artifactType: ComposeMediaTypes.project } : {}),
      annotations: { 'org.opencontainers.image.created': goRfc3339(new Date()) },
    }),
  );
  return { store: new MemoryContentStore(), manifest: descriptor, blobs: [empty, ...layers.map((l) => l.bytes), bytes] };
}

/** containerd's distribution-source annotation, which compose's oci.Copy sets on each image it copies: the host (no port) and repository it came from. */
function distributionSource(image: Reference): Record<string, string> {
  const host = image.domain.replace(/^\[(.*)\](?::\d+)?$/, '$1').replace(/^([^:]*):\d+$/, '$1');
  return { [`containerd.io/distribution.source.${host}`]: image.path };
}

/** The copy's store as the push reads it: a blob left in its registry for a mount is NotFound, and says so. */
class LeftForMounts implements BlobProvider {
  constructor(
    private readonly store: ContentStore,
    private readonly left: ReadonlyMap<Digest, Reference>,
  ) {}

  info(digest: Digest): Promise<BlobInfo> {
    return this.store.info(digest);
  }

  async read(digest: Digest, options?: ReadOptions): Promise<Readable> {
    try {
      return await this.store.read(digest, options);
    } catch (error) {
      if (!isNotFound(error) || !this.left.has(digest)) throw error;
      throw new CtrError('NotFound', `blob ${digest} was left in its repository for a mount`, { cause: error, details: { leftForMount: true } });
    }
  }
}

/**
 * compose's oci.Copy of the services' images into the artifact's repository (containerd's
 * CopyChain): every manifest of an image's chain fetched once, every platform's. A blob of an
 * image on the artifact's registry is not fetched: the push finds it in the repository (HEAD)
 * or mounts it from the image's own. An image of another registry, which no mount reaches, is
 * pulled through.
 */
class ImageCopy {
  /** The repositories each blob left in the registry may be mounted from. */
  private readonly mountFrom = new Map<Digest, string[]>();
  /** An image manifest (by digest) naming each blob left in the registry: what to pull should the mounts be refused. */
  private readonly left = new Map<Digest, Reference>();

  constructor(
    private readonly store: ContentStore,
    private readonly target: Reference,
    private readonly options: PublishOptions,
  ) {}

  /** The chain of an image from the descriptor it resolved to. */
  async add(image: Reference, descriptor: Descriptor): Promise<void> {
    const byDigest: Reference = { domain: image.domain, path: image.path, digest: descriptor.digest };
    if (image.domain !== this.target.domain && !isIndexType(descriptor.mediaType)) {
      await this.options.client.pull(byDigest, { store: this.store, ...requestOf(this.options) });
      return;
    }
    const fetched = await this.options.client.fetchManifest(byDigest, requestOf(this.options));
    const parsed = parseManifestOrIndex(fetched.bytes, fetched.descriptor.mediaType);
    if (parsed.kind === 'index') {
      for (const child of parsed.index.manifests) await this.add(image, child);
    } else {
      for (const { digest } of [parsed.manifest.config, ...parsed.manifest.layers]) {
        const from = this.mountFrom.get(digest) ?? [];
        if (!from.includes(image.path)) this.mountFrom.set(digest, [...from, image.path]);
        if (!this.left.has(digest)) this.left.set(digest, byDigest);
      }
    }
    await this.store.write(Readable.from([fetched.bytes]), { digest: fetched.descriptor.digest, size: fetched.descriptor.size });
  }

  /** Pushes `manifest` (which the store has) by digest, with the images it names. */
  async push(manifest: Descriptor): Promise<void> {
    const target: Reference = { domain: this.target.domain, path: this.target.path, digest: manifest.digest };
    const request = requestOf(this.options);
    try {
      await this.options.client.push(target, { store: new LeftForMounts(this.store, this.left), manifest, mountFrom: this.mountFrom, ...request });
    } catch (error) {
      if (!isCtrError(error) || error.details.leftForMount !== true) throw error;
      // A registry may refuse mounts (by policy, or a token that does not reach the source): it takes uploads instead, as dockerd falls back to.
      for (const source of new Map([...this.left.values()].map((ref) => [ref.digest, ref])).values()) {
        await this.options.client.pull(source, { store: this.store, ...request });
      }
      await this.options.client.push(target, { store: this.store, manifest, ...request });
    }
  }
}

/**
 * compose's `publish --app`: every service's image copied into the artifact's repository,
 * under an image index whose subject is the artifact, pushed by digest. What is pulled passes
 * through a temporary OCI layout, not memory.
 */
async function pushApplication(project: ComposeProject, ref: Reference, published: PublishResult, resolve: ImageResolver, options: PublishOptions): Promise<Descriptor> {
  const versioned = { [ComposeAnnotations.version]: COMPOSE_VERSION };
  const subject: Descriptor = { ...published.descriptor, annotations: versioned, ...(published.ociVersion === '1.1' ? { artifactType: ComposeMediaTypes.project } : {}) };
  const dir = await mkdtemp(join(tmpdir(), 'ctr-compose-app-'));
  try {
    const store = await OciLayout.open(dir, { create: true });
    const copy = new ImageCopy(store, ref, options);
    const manifests: Descriptor[] = [];
    // Each service names an image here: the loader wants an image or a build, and build-only services were refused.
    for (const image of allServices(project).flatMap((service) => (service.image === undefined ? [] : [ociReference(service.image)]))) {
      const { mediaType, digest, size } = await resolve(image);
      await copy.add(image, { mediaType, digest, size });
      manifests.push({ mediaType, digest, size, annotations: distributionSource(image) });
    }
    const index = serializeIndex({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests, subject, annotations: versioned });
    await store.write(Readable.from([index.bytes]));
    // By digest, under no tag: clients find it from the artifact, through the referrers API.
    await copy.push(index.descriptor);
    return { ...index.descriptor, artifactType: ComposeMediaTypes.project, annotations: versioned };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A refusal compose takes for a registry without OCI 1.1 support: a client error other than authentication's. */
function refusesShape(error: unknown): boolean {
  const status = isCtrError(error) ? error.details.status : undefined;
  return typeof status === 'number' && status >= 400 && status < 500 && ![401, 403, 407].includes(status);
}

/**
 * Publishes `project` to `repository` (`REPOSITORY[:TAG]`) as compose does: refuses what compose
 * refuses (local includes, services with only a build section), asks what compose asks (bind
 * mounts; what its secret scan finds; env_file and sensitive-looking literal env values unless
 * `withEnv`; literal inline config content), pushes the services' built images, then the
 * artifact: each compose file a layer (env_file and local `extends` paths renamed to the layers
 * that carry them), the extended files, the env files with `withEnv`, and the pinned images with
 * `resolveImageDigests` or `app`; with `app`, the images themselves under an index after it.
 */
export async function publish(project: ComposeProject, repository: string, options: PublishOptions): Promise<PublishResult> {
  const ref = ociReference(repository);
  const files = new ArtifactFiles(project);
  for (const path of project.config_files) await files.add(path, project.working_dir);
  if (hasLocalInclude(files.files)) throw new CtrError('InvalidArgument', 'cannot publish compose file with local includes');
  const buildOnly = buildOnlyRefusal(project);
  if (buildOnly) throw buildOnly;
  await ask(bindMountQuestion(project), options);
  await ask(await sensitiveDataQuestion(project, files), options);
  if (!options.withEnv) await ask(environmentQuestion(files.files), options);
  await ask(configContentQuestion(files.files), options);

  if (options.engine) {
    // Every service's, those profiles leave out too: the artifact (and its pinned digests) names them all.
    await pushBuiltImages(options.engine, allServices(project), {
      ignorePushFailures: true,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }

  // The project's files first, in order (they become compose.yaml's documents), then the files they extend.
  const ordered = [...files.files.filter((file) => !file.extended), ...files.files.filter((file) => file.extended)];
  const layers = ordered.map((file) => composeFileLayer(file.name, file.bytes, file.extended ? { [ComposeAnnotations.extends]: 'true' } : {}));
  if (options.withEnv) {
    for (const [path, name] of [...files.envFiles.entries()].sort(([, a], [, b]) => (a < b ? -1 : 1))) {
      // An env file that cannot be read is left out, as compose leaves it.
      const bytes = await readFile(path).catch(() => undefined);
      if (bytes) layers.push(layer(ComposeMediaTypes.envFile, bytes, { [ComposeAnnotations.envFile]: name, [ComposeAnnotations.version]: COMPOSE_VERSION }));
    }
  }
  const resolve = imageResolver(options);
  if (options.resolveImageDigests || options.app) layers.push(composeFileLayer('image-digests.yaml', await imageDigestsFile(project, resolve)));

  const name = formatReference(ref);
  const emit = (status: string, done: boolean): void => options.onProgress?.({ resource: '', name: repository, status, done });
  emit('publishing', false);
  const pushAs = async (version: OciVersion): Promise<PublishResult> => {
    const made = artifact(layers, version);
    for (const blob of made.blobs) await made.store.write(Readable.from([blob]));
    if (!options.dryRun) await options.client.push(ref, { store: made.store, manifest: made.manifest, ...requestOf(options) });
    return { reference: name, descriptor: made.manifest, ociVersion: version };
  };
  try {
    let result: PublishResult;
    if (options.ociVersion) result = await pushAs(options.ociVersion);
    else {
      try {
        result = await pushAs('1.1');
      } catch (error) {
        if (!refusesShape(error)) throw error;
        result = await pushAs('1.0');
      }
    }
    if (options.app && !options.dryRun) result = { ...result, application: await pushApplication(project, ref, result, resolve, options) };
    emit('published', true);
    return result;
  } catch (error) {
    emit('Error', true);
    throw error;
  }
}
