import { lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { conflict, invalidArgument, isAborted, isConflict, isNotFound, notFound, throwIfAborted } from '@ctr/errors';
import {
  countBytes,
  EMPTY_LAYER_DIFF_ID,
  familiarName,
  familiarString,
  formatPlatform,
  formatReference,
  imageGraph,
  importRootfs,
  isIndexType,
  layerCompression,
  loadArchive,
  normalizePlatform,
  parseImageConfig,
  parseNameOrId,
  parseIndex,
  parseNormalizedReference,
  parseReference,
  platformMatcher,
  readJsonBlob,
  referenceName,
  saveArchive,
  shortId,
  withTag,
  type ContainerConfig,
  type Descriptor,
  type Digest,
  type DiffID,
  type ImageConfig,
  type Platform,
  type Reference,
  type RootfsSource,
  withDefaultTag,
  withDigest,
} from '@ctr/image';
import { isSingleReference, LAYER_SIZE_LABEL, layerSize, withLock, type GcRoots, type ImageRecord, type PutImage, type ReleaseResult } from '@ctr/store';
import type { AuthConfig, PullProgress, PushProgress, RegistryCredentials } from '@ctr/registry';
import { registryModule } from './lazy-modules';
import { boolFilter, checkFilterKeys, labelsMatch, pathMatch, timestampNanos, type Filters } from './filters';
import { chainIdOf, timeNanos, type ChainID } from '@ctr/image';
import { buildCacheRoots } from './build-cache';
import type { EngineContext } from './context';
import { noteHolderRuns, ownNote, readNote } from './process-notes';

/** An image read from the store: its record, the platform manifest, its config and layers. */
export interface ResolvedImage {
  record: ImageRecord;
  manifest: Descriptor;
  configDescriptor: Descriptor;
  config: ImageConfig;
  layers: Descriptor[];
}

/** `docker images` / `GET /images/json`, Docker's field names. */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

/** `docker image inspect`, Docker's field names. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  VirtualSize: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  Descriptor: Descriptor;
}

/** `docker images` / `GET /images/json` options. */
export interface ImageListOptions {
  /** Intermediate images too (`-a`): untagged ones another image was built on (a classic build's steps). */
  all?: boolean;
  /** Docker's: `dangling`, `label`, `label!`, `before`, `since`, `reference`, `until`. */
  filters?: Filters;
  /** Each image's `SharedSize`: the bytes of its layers other images hold too (`shared-size=1`); -1 without. */
  sharedSize?: boolean;
  /** Each image's `Containers`: how many containers use it (moby's ContainerCount, `system df`'s); -1 without, as dockerd's list. */
  containerCount?: boolean;
}

/** `system df`'s images: each with its shared size, and the layers they are made of, each once. */
export interface ImageDiskUsage {
  images: ImageSummary[];
  /** The bytes of every layer an image here holds, each counted once (dockerd's `LayersSize`). */
  layersSize: number;
  /** Those layers' blob digests. */
  layerDigests: ReadonlySet<string>;
}

const IMAGE_LIST_FILTERS = ['dangling', 'label', 'label!', 'before', 'since', 'reference', 'until'] as const;

/**
 * Docker's `reference.FamiliarMatch`: the glob against `name:tag` (or `name@digest`), or
 * against the name alone. As dockerd lists images, a tagged pattern is held against a digest
 * reference's repository only: `busybox:latest` selects `busybox@sha256:…` too.
 */
function referenceMatches(pattern: string, familiar: string): boolean {
  const query = familiar.includes('@') ? taggedPatternName(pattern) ?? pattern : pattern;
  return pathMatch(query, familiar) || pathMatch(query, familiar.replace(/@.*$/, '').replace(/:[^/:]*$/, ''));
}

/** The familiar repository of a pattern that is a reference with a tag (`busybox:1` → `busybox`); a glob is none. */
function taggedPatternName(pattern: string): string | undefined {
  try {
    const reference = parseReference(pattern);
    return reference.tag === undefined ? undefined : familiarName(reference);
  } catch {
    return undefined;
  }
}

/** A layer the images here are made of (dockerd counts them by chainID). */
interface LayerUse {
  digest: Digest;
  size: number;
  /** How many images are made with the layer. */
  images: number;
}

/** The layers of a set of images, each once by chainID, and each image's layers' keys. */
interface LayerUses {
  layers: Map<string, LayerUse>;
  byImage: Map<Digest, string[]>;
}

/** dockerd's `SharedSize`: the bytes of an image's layers that other images hold too. */
function sharedSize(uses: LayerUses, id: Digest): number {
  return (uses.byImage.get(id) ?? []).reduce((sum, key) => {
    const use = uses.layers.get(key);
    return use !== undefined && use.images > 1 ? sum + use.size : sum;
  }, 0);
}

export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface PullOptions {
  platform?: Platform;
  signal?: AbortSignal;
  onProgress?: (event: PullProgress) => void;
  /** Credentials for the image's registry, for this pull only (`X-Registry-Auth`); never stored. */
  auth?: AuthConfig;
}

/** How `Images.unpack` reports and keeps what it unpacks. */
export interface UnpackImageOptions {
  /** A pull's progress, and the layers it downloaded. */
  progress?: { onProgress: (event: PullProgress) => void; downloaded: ReadonlySet<string> };
  /** The lease each unpacked layer is recorded in (its snapshot), until the image is named. */
  lease?: string;
}

export interface PushOptions {
  /**
   * Docker's `push --platform`: only the image's manifest for this platform, as a
   * single-platform image (the index is not pushed). Its content must be here.
   */
  platform?: Platform;
  signal?: AbortSignal;
  onProgress?: (event: PushProgress) => void;
  /** Credentials for the image's registry, for this push only (`X-Registry-Auth`); never stored. */
  auth?: AuthConfig;
}

/** A tag's turn in `pullAllTags`: its pull starting, then done with the manifest digest it names. */
export type TagPullEvent = { tag: string; status: 'Pulling' } | { tag: string; status: 'Pulled'; digest: string };

export interface PullAllTagsOptions extends PullOptions {
  /** Each tag as its pull starts (before its layers' progress) and ends. */
  onTag?: (event: TagPullEvent) => void;
}

/** What `pullAllTags` did. */
export interface PulledTags {
  /** The tags pulled, in the registry's order. */
  tags: string[];
  /** Whether some tag names another image than before (docker's "Downloaded newer image"). */
  updated: boolean;
}

/** What a push sent: the manifest (or index) the registry now holds under the tag. */
export interface PushedImage {
  digest: string;
  size: number;
  /**
   * Set when not every platform the image's index names is here and the manifest of the one
   * that is (or of this host's, of several) went instead: dockerd's `ManifestPushedInsteadOfIndex`.
   */
  pushedInsteadOfIndex?: { originalIndex: Descriptor; selectedManifest: Descriptor };
}

/** One tag `pushAllTags` pushed. */
export interface PushedTag extends PushedImage {
  tag: string;
}

export interface PushAllTagsOptions extends PushOptions {
  /** Each tag as its push ends (after its layers' progress). */
  onPushed?: (pushed: PushedTag) => void;
}

/** `docker rmi` options. */
export interface RemoveImageOptions {
  /** Remove an image even when containers use it or it has other names. */
  force?: boolean;
  /**
   * Docker's `--no-prune`: keep the untagged parents of a removed image (the intermediate
   * images of its build), which otherwise go with it while no name, other child or container holds them.
   */
  noPrune?: boolean;
  /**
   * Docker's `rmi --platform`: only the content of the image's manifests for these
   * platforms (see `Images.remove`).
   */
  platforms?: Platform[];
}

/**
 * The `platform` option of history, save and load: ctr keeps one platform of each image,
 * so a platform selects nothing; it checks that the image is for it.
 */
export interface PlatformOption {
  platform?: Platform;
}

export type HistoryOptions = PlatformOption;

export interface SaveOptions extends PlatformOption {
  signal?: AbortSignal;
  format?: 'docker' | 'oci';
}

export interface LoadOptions extends PlatformOption {
  signal?: AbortSignal;
}

/** `docker import` options. */
export interface ImportOptions {
  name?: string;
  config?: ContainerConfig;
  comment?: string;
  /** The platform the image is recorded for (its config's os, architecture and variant); the host's by default. */
  platform?: Platform;
  /** The image's `created` time (and its history entry's); now by default, as `docker import`. */
  created?: Date;
  signal?: AbortSignal;
}

/** The per-call credentials an AuthConfig holds, in the registry client's option shape. */
export function credentialsOption(auth: AuthConfig | undefined): { credentials?: RegistryCredentials } {
  const credentials = auth === undefined ? undefined : registryModule().credentialsFromAuthConfig(auth, 'the registry auth');
  return credentials === undefined ? {} : { credentials };
}

export interface RemovedImage {
  Untagged?: string;
  Deleted?: string;
}

/** One image's removal: its lines, and `target` when the image itself went (its content then released). */
interface Removal {
  lines: RemovedImage[];
  target?: Descriptor;
}

/**
 * How many `untag` events dockerd gives as it deletes an image by ID with `names`: one a name;
 * in a prune, which removes the names one by one, none for a digest reference of a repository
 * the image has a tag in too, which that tag's removal takes with it silently.
 */
function untagEvents(names: readonly string[], prune: boolean): number {
  const repository = (name: string): string => referenceName(parseReference(name));
  const tagged = new Set(names.filter((name) => parseReference(name).digest === undefined).map(repository));
  return names.filter((name) => !prune || parseReference(name).digest === undefined || !tagged.has(repository(name))).length;
}

/** The images another here was built on (docker's images with children). */
export function parentIds(records: readonly ImageRecord[]): Set<Digest> {
  return new Set(records.flatMap((record) => (record.parent !== undefined ? [record.parent] : [])));
}

/** `roots` and everything based on one, however deep, by `items`' parent links (images on images, snapshots on snapshots). */
export function descendantsOf<T>(roots: Iterable<string>, items: Iterable<T>, link: (item: T) => { id: string; parent: string | undefined }): Set<string> {
  const children = new Map<string, string[]>();
  for (const item of items) {
    const { id, parent } = link(item);
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), id]);
  }
  const found = new Set(roots);
  // A Set's iteration reaches what is added during it: each child is visited in turn.
  for (const id of found) for (const child of children.get(id) ?? []) found.add(child);
  return found;
}

/** Full normalised name for a user's image reference: `busybox` → `docker.io/library/busybox:latest`. */
export function normalizeImageName(text: string): string {
  return formatReference(parseNormalizedReference(text));
}

/** The name as `docker images` shows it. */
export function familiarImageName(name: string): string {
  try {
    return familiarString(parseNormalizedReference(name));
  } catch {
    return name;
  }
}

function splitRepoTag(name: string): { repo: string; tag: string } {
  const familiar = familiarImageName(name);
  const at = familiar.indexOf('@');
  if (at >= 0) return { repo: familiar.slice(0, at), tag: '<none>' };
  const colon = familiar.lastIndexOf(':');
  return colon > familiar.lastIndexOf('/') ? { repo: familiar.slice(0, colon), tag: familiar.slice(colon + 1) } : { repo: familiar, tag: '<none>' };
}

export { splitRepoTag };

/**
 * The repository an all-tags pull or push is of, normalised (`busybox` →
 * `docker.io/library/busybox`). A tag or digest in it is docker's error.
 */
export function allTagsRepository(text: string): string {
  const reference = parseReference(text);
  if (reference.tag !== undefined || reference.digest !== undefined) throw invalidArgument("tag can't be used with --all-tags/-a");
  return referenceName(reference);
}

/** The platform an image's config says it is for. */
function platformOf(config: ImageConfig): Platform {
  return { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
}

/** The same, as `--platform` writes it: `linux/arm/v7`. */
function configPlatform(config: ImageConfig): string {
  return formatPlatform(platformOf(config));
}

/**
 * Whether an image is for `wanted`, exactly (containerd's OnlyStrict, which dockerd's save
 * and load use) once both are normalised: `linux/arm64` is `linux/arm64/v8`.
 */
function isFor(config: ImageConfig, wanted: Platform): boolean {
  return samePlatform(platformOf(config), wanted);
}

function samePlatform(a: Platform, b: Platform): boolean {
  return formatPlatform(normalizePlatform(a)) === formatPlatform(normalizePlatform(b));
}

/**
 * NotFound in dockerd's words for a single-platform image: the image `ref` names is not for
 * `wanted`. It is the image that is missing (a create's 404, which docker's CLI pulls for).
 */
function platformMismatch(ref: string, config: ImageConfig, wanted: Platform): Error {
  return notFound(`image with reference ${ref} was found but does not match the specified platform: wanted ${formatPlatform(wanted)}, actual: ${configPlatform(config)}`, {
    details: { missing: 'image' },
  });
}

/**
 * dockerd's GetImage for `wanted`: NotFound in its words when `image` (which `ref` names) cannot
 * run on it; undefined when it can: its config's platform is one `wanted` runs (containerd's
 * platforms.Only), or has no variant and is `wanted`'s OS and architecture (dockerd's
 * OnlyPlatformWithFallback), or the index it came through lists its manifest for one.
 */
export function notForPlatform(ref: string, image: ResolvedImage, wanted: Platform): Error | undefined {
  const matcher = platformMatcher(wanted);
  const own = platformOf(image.config);
  const normalized = normalizePlatform(own);
  const sameMachine = own.variant === undefined && normalized.os === matcher.platform.os && normalized.architecture === matcher.platform.architecture;
  const listed = image.manifest.platform !== undefined && matcher.match(image.manifest.platform);
  return matcher.match(own) || sameMachine || listed ? undefined : platformMismatch(ref, image.config, wanted);
}

function checkPlatform(ref: string, config: ImageConfig, wanted: Platform | undefined): void {
  if (wanted !== undefined && !isFor(config, wanted)) throw platformMismatch(ref, config, wanted);
}

/**
 * An image's config as dockerd's inspect shows it: an empty `Env` is left out (its
 * DockerOCIImageConfig omits empty fields), which a client reads as null.
 */
function imageInspectConfig(config: ContainerConfig): ContainerConfig {
  if (config.Env === undefined || config.Env.length > 0) return config;
  const { Env: _empty, ...rest } = config;
  return rest;
}

/** buildx's attestations ride in an index as manifests of their own, for no platform: never one to push alone. */
function isAttestation(manifest: Descriptor): boolean {
  return manifest.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
}

/** One platform's manifest of an image, all of whose content is here. */
interface HeldManifest {
  manifest: Descriptor;
  config: Digest;
  platform: Platform;
}

/** A container that uses an image, and whether it runs: what decides a removal's conflict. */
interface ImageUser {
  id: string;
  running: boolean;
}

/**
 * moby's imageDeleteConflict: `conflict: unable to delete <short ID> (must be forced) - …`,
 * or `(cannot be forced)` for what force cannot override (a running container).
 */
function deleteConflict(id: string, hard: boolean, reason: string): Error {
  return conflict(`conflict: unable to delete ${shortId(id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${reason}`);
}

/** dockerd's words for a push of a repository with no name here at all. */
function noLocalTag(repository: Reference): Error {
  return notFound(`An image does not exist locally with the tag: ${familiarName(repository)}`);
}

/**
 * The normalised name a push sends (`app` → `docker.io/library/app:latest`). A digest is
 * refused as docker's client refuses it: a push names the tag it is to be found under.
 */
export function pushName(text: string): string {
  const name = normalizeImageName(text);
  if (parseReference(name).digest !== undefined) throw invalidArgument('cannot push a digest reference');
  return name;
}

/**
 * The names a pull of `name` (normalised) records, as dockerd's: by tag, the tag (moved to
 * the image) and `repo@<the digest it resolved>` (an index's, for a multi-platform image;
 * kept by an image that holds it already); by digest, that digest reference alone, moved to
 * the image (a tag beside the digest names nothing).
 */
function pulledNames(name: string, target: Descriptor): { name: string; digestReferences: string[] } {
  const reference = parseReference(name);
  if (reference.digest !== undefined) return { name: formatReference(withDigest(reference, reference.digest)), digestReferences: [] };
  return { name, digestReferences: [formatReference(withDigest(reference, target.digest))] };
}

/** Each of an image's layers (its blob digest, its chainID) and its size, as `Images.layerSizer` counts it. */
export type LayerSizer = (image: ResolvedImage) => Promise<Array<{ digest: Digest; chainId: ChainID | undefined; size: number }>>;

/** An image resolved for a container being made of it (`Images.resolveInUse`). */
export interface ImageInUse {
  image: ResolvedImage;
  /** The container is no longer being made (its record is written, or it was undone): the mark goes. */
  endUse: () => void;
}

/**
 * A container being made, marked under `<root>/engine/image-uses/` from before its image's
 * content is read until its record is written (the record then says what it uses): a link
 * `<container ID> → <image ID> <target digest> <pid> <start time>`, made in one syscall. A
 * removal counts it among the image's users, and what a forced one releases keeps what the
 * create reads. No lock on `run`'s path: a removal puts up its notice (`REMOVING`) before it
 * reads the marks, and a create looks for the image only after its mark is made and no notice
 * for the image stands. So a create that finds the image was marked before the removal read
 * the marks, and the removal sees it; one marked after finds the image as the removal left it.
 */
interface ImageUse {
  container: string;
  image: Digest;
  target: Digest;
}

function usesDir(ctx: EngineContext): string {
  return path.join(ctx.root, 'engine', 'image-uses');
}

/** The removal under way's notice, among the marks: `<image ID> <pid> <start time>` (not a container ID, so never a mark). */
const REMOVING = '.removing';

/** Run `fn` as the only removal of an image on the root: one notice at a time. */
function underRemovalLock<T>(ctx: EngineContext, fn: () => Promise<T>): Promise<T> {
  return withLock(path.join(ctx.root, 'engine', 'image-removal.lock'), fn);
}

/**
 * Once no removal of `image` that may not have seen a mark made before this call is under
 * way: its notice is down, or its remover was killed. A removal takes milliseconds; only a
 * create racing one waits.
 */
async function removalSettled(ctx: EngineContext, image: Digest): Promise<void> {
  const notice = path.join(usesDir(ctx), REMOVING);
  for (;;) {
    const [removing, ...holder] = (readNote(notice) ?? '').split(' ');
    if (removing !== image || !noteHolderRuns(holder.join(' '))) return;
    await sleep(5);
  }
}

function writeMark(mark: string, text: string): void {
  try {
    symlinkSync(text, mark);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // The root's first create: the directory is made once, not asked after at every create.
    mkdirSync(path.dirname(mark), { recursive: true, mode: 0o700 });
    symlinkSync(text, mark);
  }
}

/** The marks of containers being made by processes that still run; those of ended ones go. */
function imageUses(ctx: EngineContext): ImageUse[] {
  const { live, dead } = readImageUses(ctx);
  // Their makers were killed mid-create: they never come back, and no record of theirs has anything to keep.
  for (const link of dead) rmSync(link, { force: true });
  return live;
}

/** The marks left by creates whose processes have ended (paths), which any reading of the marks removes. */
export function deadImageUses(ctx: EngineContext): string[] {
  return readImageUses(ctx).dead;
}

/** Remove the marks of ended creates (what a daemon does at its start); the paths removed. */
export function removeDeadImageUses(ctx: EngineContext): string[] {
  const { dead } = readImageUses(ctx);
  for (const link of dead) rmSync(link, { force: true });
  return dead;
}

function readImageUses(ctx: EngineContext): { live: ImageUse[]; dead: string[] } {
  const dir = usesDir(ctx);
  const found = { live: [] as ImageUse[], dead: [] as string[] };
  let containers: string[];
  try {
    containers = readdirSync(dir);
  } catch {
    return found;
  }
  for (const container of containers) {
    if (container === REMOVING) continue;
    const link = path.join(dir, container);
    const note = readNote(link);
    // Gone between the listing and the read: its create ended, as creates do (not a dead one's mark).
    if (note === undefined && lstatSync(link, { throwIfNoEntry: false }) === undefined) continue;
    const [image, target, ...holder] = (note ?? '').split(' ');
    if (image && target && noteHolderRuns(holder.join(' '))) found.live.push({ container, image: image as Digest, target: target as Digest });
    else found.dead.push(link);
  }
  return found;
}

/**
 * What the store's gc and release keep besides images and leases: the build cache's content,
 * and what containers being made read, whose image a forced `rmi` may have taken meanwhile.
 */
export async function engineRoots(ctx: EngineContext, options: { readOnly?: boolean } = {}): Promise<GcRoots> {
  const roots = await buildCacheRoots(ctx);
  // Read-only (a check that repairs nothing): the dead marks are left for it to report.
  for (const use of options.readOnly === true ? readImageUses(ctx).live : imageUses(ctx)) roots.blobs.push({ digest: use.target, mediaType: '' });
  return roots;
}

/** moby's words for an image not here: a name is shown with the tag it was taken to mean (`nope:latest`). */
function noSuchImage(ref: string, cause: unknown): Error {
  const parsed = parseNameOrId(ref);
  const shown = parsed.kind === 'reference' ? familiarString(withDefaultTag(parsed.reference)) : ref;
  return notFound(`No such image: ${shown}`, { cause, details: { missing: 'image' } });
}

/** How many images' parsed manifests and configs one engine keeps (they never change for a digest). */
const PARSED_IMAGES = 64;

export class Images {
  private readonly parsed = new Map<string, Omit<ResolvedImage, 'record'>>();
  /** Sizes of layers unpacked before their size was kept, by chainID: measured once. */
  private readonly measured = new Map<string, Promise<number>>();

  constructor(private readonly ctx: EngineContext) {}

  /** Find an image by name, ID, ID prefix or digest, like `docker image inspect`. */
  async find(ref: string): Promise<ImageRecord> {
    const parsed = parseNameOrId(ref);
    const images = this.ctx.store.images;
    try {
      if (parsed.kind === 'reference') {
        const { reference } = parsed;
        // moby's graphdriver GetImage: a name with a digest is the reference `name@digest` here
        // (a tag beside the digest left out, as its reference store does) or no image — never
        // another repository's image that has the digest. A pull's "newer" depends on it.
        if (reference.digest !== undefined) return await images.get(formatReference(withDigest(reference, reference.digest)));
        try {
          return await images.get(formatReference(withDefaultTag(reference)));
        } catch (error) {
          if (!isNotFound(error)) throw error;
          return await images.resolve(ref);
        }
      }
      return await images.resolve(ref);
    } catch (error) {
      if (isNotFound(error)) throw noSuchImage(ref, error);
      throw error;
    }
  }

  /**
   * `ref` resolved for container `container`, which is being made of it: marked as the
   * image's user (see `imageUses`) before its content is read, until `endUse`: once the
   * container's record is written, or its create undone. An image removed before the mark
   * is NotFound, so a removal either sees the container or the create fails having read nothing.
   */
  async resolveInUse(ref: string, container: string, signal?: AbortSignal): Promise<ImageInUse> {
    const record = await this.find(ref);
    const mark = path.join(usesDir(this.ctx), container);
    writeMark(mark, `${record.id} ${record.target.digest} ${ownNote()}`);
    // A plain unlink (rmSync would lstat first): this is on `run`'s path.
    const endUse = (): void => {
      try {
        unlinkSync(mark);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    };
    try {
      // Looked for again now that it is marked: one removed since `find` is not used.
      await removalSettled(this.ctx, record.id);
      await this.ctx.store.images.resolve(record.id).catch((error: unknown) => {
        throw isNotFound(error) ? noSuchImage(ref, error) : error;
      });
      return { image: await this.resolve(record, signal), endUse };
    } catch (error) {
      endUse();
      throw error;
    }
  }

  /** Read an image's manifest (for this platform), config and layers. */
  async resolve(ref: string | ImageRecord, signal?: AbortSignal): Promise<ResolvedImage> {
    const record = typeof ref === 'string' ? await this.find(ref) : ref;
    // Content is addressed by digest: what a name points at was read once, it is the same now.
    const key = `${record.target.digest} ${record.id}`;
    let parsed = this.parsed.get(key);
    if (!parsed) {
      const content = this.ctx.store.content;
      // The store checked each digest as it took the blob in: a start reads them back unhashed.
      const options = { checkDigests: false, ...(signal ? { signal } : {}) };
      const graph = await imageGraph(content, record.target, options);
      const image = graph.images.find((i) => i.config.digest === record.id) ?? graph.images[0];
      if (!image) throw notFound(`image ${shortId(record.id)} has no manifest for this platform in the store`);
      const config = parseImageConfig(await readJsonBlob(content, image.config, options));
      parsed = { manifest: image.manifest, configDescriptor: image.config, config, layers: image.layers };
      this.parsed.set(key, parsed);
      if (this.parsed.size > PARSED_IMAGES) this.parsed.delete(this.parsed.keys().next().value as string);
    }
    // A caller may change what it is given; the kept copy stays as read.
    return { record, ...structuredClone(parsed) };
  }

  /**
   * Image sizes as docker's classic store counts them (`images`, `inspect`, `system df`,
   * `SizeRootFs`): each layer unpacked, the bytes of its own files (its snapshot's
   * `LAYER_SIZE_LABEL`; a layer unpacked before that was kept is measured here). A layer not
   * unpacked here counts at the size recorded when it was written (a commit's, see
   * `ImageRecord.layerSizes`), else at its blob's size, unless it is empty (`RUN true`):
   * nothing, as it would be unpacked. One sizer reads the snapshot table once.
   */
  async layerSizer(signal?: AbortSignal): Promise<LayerSizer> {
    const labels = new Map<string, string | undefined>();
    for await (const info of this.ctx.store.snapshots.walk(signal)) if (info.kind === 'committed') labels.set(info.name, info.labels[LAYER_SIZE_LABEL]);
    const unpacked = async (chainId: string | undefined, written: number): Promise<number> => {
      if (chainId === undefined || !labels.has(chainId)) return written;
      const label = labels.get(chainId);
      if (label !== undefined) return Number(label);
      let size = this.measured.get(chainId);
      if (!size) {
        size = this.ctx.store.snapshots.layerDir(chainId).then((dir) => layerSize(dir, signal));
        this.measured.set(chainId, size);
        // A failed measure (the layer pruned meanwhile, an abort) is not kept: the next asks again.
        size.catch(() => this.measured.delete(chainId));
      }
      return size;
    };
    return async (image) => {
      const diffIds = image.config.rootfs.diff_ids as DiffID[];
      const chain = chainIdOf(diffIds);
      return Promise.all(
        image.layers.map(async (layer, i) => ({
          digest: layer.digest,
          chainId: chain[i],
          size: diffIds[i] === EMPTY_LAYER_DIFF_ID ? 0 : await unpacked(chain[i], image.record.layerSizes?.[diffIds[i] as string] ?? layer.size),
        })),
      );
    };
  }

  /** An image's size: its layers' (see `layerSizer`). */
  async size(image: ResolvedImage, sizer?: LayerSizer): Promise<number> {
    const layers = await (sizer ?? (await this.layerSizer()))(image);
    return layers.reduce((sum, layer) => sum + layer.size, 0);
  }

  /**
   * Unpack an image's layers into snapshots (each layer once) and give the top chainID.
   * With `onProgress` (a pull's), each layer unpacked here is "Extracting" (compressed bytes
   * read, as dockerd counts them) then "Pull complete", and so is each of `downloaded` (the
   * layers this pull fetched) whose snapshot was here already: dockerd ends every layer it
   * downloads so. A layer the image names twice is shown once. With `lease`, each layer is
   * recorded in it: what unpacks an image before naming it keeps its layers from a gc so.
   */
  async unpack(image: ResolvedImage, signal?: AbortSignal, options: UnpackImageOptions = {}): Promise<ChainID> {
    const { progress, lease } = options;
    const content = this.ctx.store.content;
    const diffIds = image.config.rootfs.diff_ids as DiffID[];
    if (diffIds.length === 0) throw conflict(`image ${shortId(image.record.id)} has no layers to run`);
    const shown = (index: number): ((status: 'Extracting' | 'Pull complete', current?: number) => void) | undefined => {
      const layer = image.layers[index];
      if (!progress || !layer || image.layers.findIndex((other) => other.digest === layer.digest) !== index) return undefined;
      return (status, current) =>
        progress.onProgress({ id: shortId(layer.digest), digest: layer.digest, kind: 'layer', status, ...(current === undefined ? {} : { current, total: layer.size }) });
    };
    return this.ctx.store.unpackLayers(
      image.layers.map((layer, i) => ({
        diffId: diffIds[i] as DiffID,
        compression: layerCompression(layer.mediaType) ?? 'gzip',
        read: async () => {
          const stream = await content.read(layer.digest);
          const report = shown(i);
          return report ? countExtracted(stream, (current) => report('Extracting', current)) : stream;
        },
      })),
      {
        ...(signal ? { signal } : {}),
        ...(lease !== undefined ? { lease } : {}),
        ...(progress
          ? {
              onProgress: ({ index, status }: { index: number; status: 'exists' | 'extracting' | 'done' }) => {
                const layer = image.layers[index];
                if (status === 'done' || (status === 'exists' && layer && progress.downloaded.has(layer.digest))) shown(index)?.('Pull complete');
              },
            }
          : {}),
      },
    );
  }

  /** Name an image in the store and announce it, as dockerd's TagImage does; `record` is what the store keeps beside it (a commit's parent and layer sizes). */
  async tagDescriptor(name: string | undefined, id: Digest, target: Descriptor, record: Pick<PutImage, 'parent' | 'layerSizes'> = {}): Promise<ImageRecord> {
    const stored = await this.ctx.store.images.put(name, { id, target, ...record });
    if (name) await this.imageEvent('tag', id, familiarImageName(name));
    return stored;
  }

  /**
   * An image event as dockerd's LogImageEvent makes it: `actor` (an image ID, or for a pull or
   * push the reference), the image's labels, then `name`. The labels are those of the image
   * `actor` finds, unless given: an untag's, read before the image went with its last name;
   * a delete's, none, the image being gone.
   */
  private async imageEvent(action: string, actor: string, name: string, labels?: Record<string, string>): Promise<void> {
    await this.ctx.events.emit('image', action, actor, { ...(labels ?? (await this.labelsOf(actor))), name });
  }

  /** An image's labels for its events; none when it cannot be read (gone), as dockerd's LogImageEvent ignores a failed lookup. */
  private labelsOf(ref: string | ImageRecord): Promise<Record<string, string>> {
    return this.resolve(ref).then(
      (image) => ({ ...image.config.config?.Labels }),
      () => ({}),
    );
  }

  /** `docker pull`: announced as dockerd announces it, by the reference pulled and its repository's name. */
  async pull(ref: string, options: PullOptions = {}): Promise<ResolvedImage> {
    const name = normalizeImageName(ref);
    await this.sweepBeforePull(options.signal);
    const image = await this.pullOne(name, options);
    await this.imageEvent('pull', familiarImageName(name), familiarName(parseReference(name)));
    return image;
  }

  /**
   * What pulls killed meanwhile left (their layer extractions above all, hundreds of MB each)
   * goes before a pull downloads, as at a daemon's start: retries do not pile them up. A
   * sweep that fails leaves them to the next one (or to gc) and keeps no pull from going on.
   */
  private async sweepBeforePull(signal: AbortSignal | undefined): Promise<void> {
    await this.ctx.store.sweep(signal ? { signal } : {}).catch((error: unknown) => {
      if (isAborted(error)) throw error;
    });
  }

  /** `pull` of `name` (normalized), unannounced. */
  private async pullOne(name: string, options: PullOptions): Promise<ResolvedImage> {
    // The lease keeps what is downloaded safe from a concurrent gc until the image is named.
    return this.ctx.store.leases.withLease(async (lease) => {
      // The layers this pull downloads: once unpacked, each is "Pull complete" (dockerd's last word on them).
      const downloaded = new Set<string>();
      const onProgress = options.onProgress;
      const result = await this.ctx.registry().pull(name, {
        store: this.ctx.store.content.withLease(lease.id),
        ...(options.platform ? { platform: options.platform } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(onProgress
          ? {
              onProgress: (event: PullProgress) => {
                if (event.kind === 'layer' && event.status === 'Download complete') downloaded.add(event.digest);
                onProgress(event);
              },
            }
          : {}),
        ...credentialsOption(options.auth),
      });
      const target = result.index ?? result.manifest;
      // Named only once its layers are unpacked, as dockerd tags what it has registered: a pull
      // cancelled or killed while extracting leaves no name (its lease keeps the layers till then).
      const unnamed: ImageRecord = { id: result.config.digest, target, names: [], created: new Date().toISOString() };
      const image = await this.resolve(unnamed, options.signal);
      await this.unpack(image, options.signal, { lease: lease.id, ...(onProgress ? { progress: { onProgress, downloaded } } : {}) });
      throwIfAborted(options.signal, 'pull');
      const names = pulledNames(name, target);
      const record = await this.ctx.store.images.put(names.name, { id: result.config.digest, target, digestReferences: names.digestReferences });
      return { ...image, record };
    });
  }

  /** `docker push`: announced as dockerd announces it, by the reference pushed and its repository's name. */
  async push(ref: string, options: PushOptions = {}): Promise<PushedImage> {
    const name = pushName(ref);
    const pushed = await this.pushOne(ref, name, options);
    await this.imageEvent('push', familiarImageName(name), familiarName(parseReference(name)));
    return pushed;
  }

  /** `push` of `name` (`ref` as given, for the words of a refusal), unannounced. */
  private async pushOne(ref: string, name: string, options: PushOptions): Promise<PushedImage> {
    const record = await this.tagged(name);
    const image = await this.resolve(record, options.signal);
    const manifest = options.platform ? (await this.heldManifest(ref, image, options.platform)).manifest : await this.pushTarget(image);
    const result = await this.ctx.registry().push(name, {
      store: this.ctx.store.content,
      manifest,
      mountFrom: await this.mountSources(name, record, manifest, options.signal),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...credentialsOption(options.auth),
    });
    // As dockerd, the repository now knows the image by the digest it was pushed as; another
    // platform's manifest (`--platform`) is not this image, and an image gone meanwhile has no names to add.
    if (manifest.digest === record.target.digest || manifest.digest === image.manifest.digest) {
      const reference = formatReference(withDigest(parseReference(name), result.descriptor.digest));
      await this.ctx.store.images.addDigestReferences(record.id, [reference]).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
    const index = record.target;
    const pushedInsteadOfIndex = !options.platform && manifest.digest !== index.digest ? { originalIndex: index, selectedManifest: manifest } : undefined;
    return { digest: result.descriptor.digest, size: result.descriptor.size, ...(pushedInsteadOfIndex ? { pushedInsteadOfIndex } : {}) };
  }

  /**
   * What a push with no platform sends (dockerd's `getPushDescriptor`): the image as it is
   * named when that is a manifest, or an index every manifest of which is here; else the
   * one platform's manifest it holds, or of several, the one for this host — a pull keeps
   * one platform of an index, which is what pushing a pulled image sends. Several held and
   * none for this host is dockerd's Conflict. None held pushes the index, to fail on what is
   * missing.
   */
  private async pushTarget(image: ResolvedImage): Promise<Descriptor> {
    const index = image.record.target;
    if (!isIndexType(index.mediaType)) return index;
    const held = await this.heldManifests(image);
    if (await this.holdsEveryManifest(index, held)) return index;
    const platforms = held.filter((entry) => !isAttestation(entry.manifest));
    const host = platformMatcher();
    const [chosen] = platforms.length === 1 ? platforms : platforms.filter((entry) => host.match(entry.platform)).sort((a, b) => host.compare(a.platform, b.platform));
    if (chosen) return chosen.manifest;
    if (platforms.length === 0) return index;
    throw conflict('multiple matching manifests found but no specific platform requested', { hint: 'choose the platform to push with --platform' });
  }

  /** Whether the image holds, in full, every manifest `index` names (through nested indexes). */
  private async holdsEveryManifest(index: Descriptor, held: readonly HeldManifest[]): Promise<boolean> {
    const content = this.ctx.store.content;
    const have = new Set(held.map((entry) => entry.manifest.digest));
    const complete = async (descriptor: Descriptor): Promise<boolean> => {
      if (!isIndexType(descriptor.mediaType)) return have.has(descriptor.digest);
      let bytes: Buffer;
      try {
        bytes = await readJsonBlob(content, descriptor, { checkDigests: false });
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
      for (const child of parseIndex(bytes, descriptor.mediaType).manifests) if (!(await complete(child))) return false;
      return true;
    };
    return complete(index);
  }

  /**
   * Where a push to `name` may mount each blob of `manifest` from, as dockerd mounts from
   * the repositories its blobs came from: the other repositories of the same registry that
   * images here are named in, for those images' blobs — the pushed image's own names first
   * (where it was pulled from, or pushed to before). ctr keeps no record of where a blob
   * came from apart from these names: an image pulled, or pushed, under a name it no
   * longer has is not a source. A mount the registry refuses costs a request, then the
   * blob is uploaded.
   */
  private async mountSources(name: string, pushed: ImageRecord, manifest: Descriptor, signal: AbortSignal | undefined): Promise<Map<Digest, string[]>> {
    const target = parseReference(name);
    const content = this.ctx.store.content;
    const options = { checkDigests: false, ...(signal ? { signal } : {}) };
    const wanted = new Set((await imageGraph(content, manifest, options)).blobs.map((blob) => blob.digest));
    const sources = new Map<Digest, string[]>();
    const others = (await this.ctx.store.images.list()).filter((record) => record.id !== pushed.id);
    for (const record of [pushed, ...others]) {
      const repositories = record.names.map(parseReference).filter((ref) => ref.domain === target.domain && ref.path !== target.path).map((ref) => ref.path);
      if (repositories.length === 0) continue;
      // Another image that cannot be read is no source, and no reason to fail this push.
      const graph = await imageGraph(content, record.target, options).catch((error: unknown) => {
        if (isAborted(error)) throw error;
        return undefined;
      });
      for (const blob of graph?.blobs ?? []) {
        if (!wanted.has(blob.digest)) continue;
        const known = sources.get(blob.digest) ?? [];
        sources.set(blob.digest, [...new Set([...known, ...repositories])]);
      }
    }
    return sources;
  }

  /**
   * The image a push of `name` (normalised, with a tag) sends, or NotFound in dockerd's words:
   * one for a repository with no name here at all, another for one without this tag.
   */
  private async tagged(name: string): Promise<ImageRecord> {
    try {
      return await this.ctx.store.images.get(name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const repository = parseReference(name);
      const names = (await this.ctx.store.images.list()).flatMap((record) => record.names);
      if (!names.some((other) => referenceName(parseReference(other)) === referenceName(repository))) throw noLocalTag(repository);
      throw notFound(`tag does not exist: ${familiarImageName(name)}`, { cause: error });
    }
  }

  /**
   * The platforms an image holds: each manifest (of its index, or the one it is) whose config
   * and layers are all here. Pulls keep one platform; a loaded archive's index may hold more.
   */
  private async heldManifests(image: ResolvedImage): Promise<HeldManifest[]> {
    const content = this.ctx.store.content;
    const graph = await imageGraph(content, image.record.target, { checkDigests: false });
    const held: HeldManifest[] = [];
    for (const entry of graph.images) {
      if (!(await Promise.all([entry.config, ...entry.layers].map((blob) => content.has(blob.digest)))).every(Boolean)) continue;
      const platform = entry.platform ?? platformOf(parseImageConfig(await readJsonBlob(content, entry.config, { checkDigests: false })));
      held.push({ manifest: entry.manifest, config: entry.config.digest, platform });
    }
    return held;
  }

  /** The manifest an image holds for `wanted`; none is dockerd's NotFound for a single-platform image. */
  private async heldManifest(ref: string, image: ResolvedImage, wanted: Platform): Promise<HeldManifest> {
    const found = (await this.heldManifests(image)).find((held) => samePlatform(held.platform, wanted));
    if (!found) throw platformMismatch(ref, image.config, wanted);
    return found;
  }

  /**
   * `docker pull --all-tags`: every tag the registry lists for `repository` (a name with
   * no tag or digest), pulled one after the other as `pull` pulls one. A listed tag that
   * is not a valid tag fails the pull before any is pulled.
   */
  async pullAllTags(repository: string, options: PullAllTagsOptions = {}): Promise<PulledTags> {
    const name = allTagsRepository(repository);
    const tags = await this.ctx.registry().listTags(name, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...credentialsOption(options.auth),
    });
    const repo = parseReference(name);
    const refs = tags.map((tag) => ({ tag, ref: formatReference(withTag(repo, tag)) }));
    let updated = false;
    await this.sweepBeforePull(options.signal);
    for (const { tag, ref } of refs) {
      options.onTag?.({ tag, status: 'Pulling' });
      const before = await this.find(ref).then((record) => record.id, () => undefined);
      const image = await this.pullOne(ref, options);
      updated ||= image.record.id !== before;
      options.onTag?.({ tag, status: 'Pulled', digest: image.record.target.digest });
    }
    // dockerd announces the repository's pull once, by its name.
    await this.imageEvent('pull', familiarName(repo), familiarName(repo));
    return { tags, updated };
  }

  /**
   * `docker push --all-tags`: every tag of `repository` (a name with no tag or digest) in
   * the store, pushed one after the other in name order as `push` pushes one.
   */
  async pushAllTags(repository: string, options: PushAllTagsOptions = {}): Promise<PushedTag[]> {
    const name = allTagsRepository(repository);
    const repo = parseReference(name);
    const tags = (await this.ctx.store.images.list())
      .flatMap((record) => record.names.map(parseReference))
      .filter((ref) => referenceName(ref) === name && ref.digest === undefined)
      .flatMap((ref) => ref.tag ?? [])
      .sort();
    if (tags.length === 0) throw noLocalTag(repo);
    const pushed: PushedTag[] = [];
    for (const tag of tags) {
      const ref = formatReference(withTag(repo, tag));
      const result = { tag, ...(await this.pushOne(ref, ref, options)) };
      pushed.push(result);
      options.onPushed?.(result);
    }
    // dockerd announces the repository's push once, by its name.
    await this.imageEvent('push', familiarName(repo), familiarName(repo));
    return pushed;
  }

  /** `docker images`: every image, or those the filters select (dockerd's rules: see ImageListOptions). */
  async list(options: ImageListOptions = {}): Promise<ImageSummary[]> {
    return (await this.listing(options)).images;
  }

  /** `list`, with the layers of every image here when `sharedSize` asked for them. */
  private async listing(options: ImageListOptions): Promise<{ images: ImageSummary[]; shared: LayerUses | undefined }> {
    const filters = options.filters ?? {};
    checkFilterKeys(filters, IMAGE_LIST_FILTERS);
    const dangling = boolFilter(filters, 'dangling');
    const references = filters.reference ?? [];
    // dockerd's: with only tagged patterns, an image none of whose tags match shows no digests either.
    const allTagged = references.length > 0 && references.every((pattern) => taggedPatternName(pattern) !== undefined);
    // Several `before`s (and `until`s) are ANDed: the earliest wins; several `since`s, the latest.
    // In nanoseconds, as dockerd compares: images made within one millisecond keep their order.
    const bounds = await Promise.all((filters.before ?? []).map((ref) => this.createdNanos(ref)));
    const before = [...bounds, ...(filters.until ?? []).map((v) => timestampNanos(v))].reduce<bigint | undefined>((min, at) => (min === undefined || at < min ? at : min), undefined);
    const since = (await Promise.all((filters.since ?? []).map((ref) => this.createdNanos(ref)))).reduce<bigint | undefined>((max, at) => (max === undefined || at > max ? at : max), undefined);
    const records = await this.ctx.store.images.list();
    const parents = parentIds(records);
    const containers = options.containerCount ? await this.usage() : undefined;
    const sizer = await this.layerSizer();
    const shared = options.sharedSize ? await this.layerUse(records, sizer) : undefined;
    const out: ImageSummary[] = [];
    for (const record of records) {
      // dockerd's: an image another was built on is no head, never dangling; untagged, it is an intermediate one, for `-a` only.
      if (parents.has(record.id) && (dangling === true || (record.names.length === 0 && !options.all))) continue;
      const image = await this.resolve(record).catch(() => undefined);
      const created = timeNanos(image?.config.created ?? record.created);
      const labels = image?.config.config?.Labels ?? {};
      const inWindow = (before === undefined && since === undefined) || (created !== undefined && (before === undefined || created < before) && (since === undefined || created > since));
      if (!(inWindow && labelsMatch(filters, labels))) continue;
      // Like dockerd, a reference filter lists only the names of an image that match it.
      const names = record.names.map(familiarImageName).filter((n) => references.length === 0 || references.some((r) => referenceMatches(r, n)));
      const tags = names.filter((n) => !n.includes('@'));
      const digests = allTagged && tags.length === 0 ? [] : names.filter((n) => n.includes('@'));
      // dockerd's: dangling means no tag (digests alone leave an image dangling); `dangling=false` drops only the nameless.
      if (tags.length === 0 && digests.length === 0 ? references.length > 0 || dangling === false : dangling === true && tags.length > 0) continue;
      const size = image ? await this.size(image, sizer) : 0;
      out.push({
        Id: record.id,
        ParentId: record.parent ?? '',
        RepoTags: tags,
        RepoDigests: digests,
        Created: created === undefined ? 0 : Number(created / 1_000_000_000n),
        Size: size,
        SharedSize: shared ? sharedSize(shared, record.id) : -1,
        VirtualSize: size,
        Labels: labels,
        Containers: containers ? (containers.get(record.id) ?? 0) : -1,
      });
    }
    return { images: out, shared };
  }

  /**
   * `docker system df`'s images (every one, with its shared size and the containers that use
   * it) and the layers they hold, each once, as dockerd's image and layer disk usage count them.
   */
  async diskUsage(): Promise<ImageDiskUsage> {
    const { images, shared } = await this.listing({ sharedSize: true, containerCount: true });
    const all = [...(shared?.layers.values() ?? [])];
    return { images, layersSize: all.reduce((sum, layer) => sum + layer.size, 0), layerDigests: new Set(all.map((layer) => layer.digest)) };
  }

  /**
   * Each layer (by chainID) the images of `records` are made of: its blob, its size and how
   * many of them hold it; and each image's layers. An image that cannot be read holds none.
   */
  private async layerUse(records: readonly ImageRecord[], sizer: LayerSizer): Promise<LayerUses> {
    const layers = new Map<string, LayerUse>();
    const byImage = new Map<Digest, string[]>();
    for (const record of records) {
      const image = await this.resolve(record).catch(() => undefined);
      const keys: string[] = [];
      for (const layer of image ? await sizer(image) : []) {
        const key = layer.chainId ?? layer.digest;
        if (keys.includes(key)) continue;
        keys.push(key);
        const use = layers.get(key) ?? { digest: layer.digest, size: layer.size, images: 0 };
        use.images += 1;
        layers.set(key, use);
      }
      byImage.set(record.id, keys);
    }
    return { layers, byImage };
  }

  /** When an image was made (its config's `created`), for `before=`/`since=`; an unreadable time is the epoch's start. */
  private async createdNanos(ref: string): Promise<bigint> {
    const image = await this.resolve(ref);
    return timeNanos(image.config.created ?? image.record.created) ?? 0n;
  }

  async inspect(ref: string): Promise<ImageInspect> {
    const image = await this.resolve(ref);
    const { record, config } = image;
    const size = await this.size(image);
    return {
      Id: record.id,
      RepoTags: record.names.filter((n) => !n.includes('@')).map(familiarImageName),
      RepoDigests: record.names.filter((n) => n.includes('@')).map(familiarImageName),
      Parent: record.parent ?? '',
      Comment: config.history?.[config.history.length - 1]?.comment ?? '',
      Created: config.created ?? record.created,
      DockerVersion: config.docker_version ?? '',
      Author: config.author ?? '',
      Config: imageInspectConfig(config.config ?? {}),
      Architecture: config.architecture,
      ...(config.variant ? { Variant: config.variant } : {}),
      Os: config.os,
      Size: size,
      VirtualSize: size,
      GraphDriver: { Name: 'overlay2', Data: await this.layerDirs(config.rootfs.diff_ids as DiffID[]) },
      RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
      Metadata: { LastTagTime: record.created },
      Descriptor: record.target,
    };
  }

  /**
   * overlay2's `GraphDriver.Data` for an image, as its layers' snapshots are here: the top
   * layer's directory as `UpperDir`, those under it (nearest first) as `LowerDir`. An image
   * has no merged or work directory (only a container's rootfs does); and no data at all while
   * a layer of it is not unpacked, as dockerd's containerd store gives none.
   */
  private async layerDirs(diffIds: readonly DiffID[]): Promise<Record<string, string> | null> {
    let dirs: string[];
    try {
      dirs = await Promise.all(chainIdOf(diffIds).map((chainId) => this.ctx.store.snapshots.layerDir(chainId)));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    const upper = dirs.pop();
    if (upper === undefined) return null;
    return { ...(dirs.length > 0 ? { LowerDir: dirs.reverse().join(':') } : {}), UpperDir: upper };
  }

  async history(ref: string, options: HistoryOptions = {}): Promise<HistoryItem[]> {
    const image = await this.resolve(ref);
    checkPlatform(ref, image.config, options.platform);
    // Each layer's size as the image's is counted (its files', not its blob's), as docker's history shows it.
    const sizes = (await (await this.layerSizer())(image)).map((layer) => layer.size);
    const history = image.config.history ?? [];
    let layer = 0;
    const rows: HistoryItem[] = history.map((entry) => {
      const size = entry.empty_layer ? 0 : sizes[layer++] ?? 0;
      return {
        Id: '<missing>',
        Created: Math.floor(new Date(entry.created ?? 0).getTime() / 1000),
        CreatedBy: entry.created_by ?? '',
        Tags: null,
        Size: size,
        Comment: entry.comment ?? '',
      };
    });
    rows.reverse();
    // moby's: the newest entry is the image's, each older one its parent's (a build step's
    // image), as far as the chain goes here; the rest (a pulled base's own history) is `<missing>`.
    const byId = image.record.parent === undefined ? undefined : new Map((await this.ctx.store.images.list()).map((r) => [r.id, r]));
    let at: ImageRecord | undefined = image.record;
    for (const row of rows) {
      if (!at) break;
      row.Id = at.id;
      row.Tags = at.names.map(familiarImageName);
      at = at.parent === undefined ? undefined : byId?.get(at.parent);
    }
    return rows;
  }

  /** The images `refs` name (those here) and every image built on them, child by child: `ps --filter ancestor=`. */
  async withDescendants(refs: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const ref of refs) {
      const record = await this.find(ref).catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
      if (record) found.add(record.id);
    }
    if (found.size === 0) return found;
    return descendantsOf(found, await this.ctx.store.images.list(), (record) => ({ id: record.id, parent: record.parent }));
  }

  async tag(source: string, target: string): Promise<void> {
    const record = await this.find(source);
    const name = normalizeImageName(target);
    await this.ctx.store.images.tag(record.id, name);
    await this.imageEvent('tag', record.id, familiarImageName(name));
  }

  /**
   * `docker rmi`: a name is untagged (and the image deleted with its last name); an ID
   * deletes the image. An image a container uses is a Conflict unless forced. A deleted
   * image's blobs and layers that nothing else holds are freed at once (see `removeAll`).
   */
  async remove(ref: string, options: RemoveImageOptions = {}): Promise<RemovedImage[]> {
    if (options.platforms?.length) return this.removePlatforms(ref, options.platforms, options);
    return (await this.removeAll([ref], options)).removed;
  }

  /**
   * Remove each image as `remove` does (an error goes to `failed`, when given, instead of
   * ending the call), then free together what the deleted ones alone held — their manifests,
   * configs, layer blobs and snapshots, but nothing another image, a container's snapshot, a
   * lease (a pull or build at work), a container being made or the build cache holds — as
   * moby's layer store releases an image's layers: after each deleted image's `Deleted` line,
   * one per layer it released, its chainID, top layer first. `reclaimed`: bytes of blobs freed.
   */
  async removeAll(
    refs: readonly string[],
    options: RemoveImageOptions = {},
    failed?: (ref: string, error: unknown) => void,
  ): Promise<{ removed: RemovedImage[]; reclaimed: number }> {
    return this.removeEach(refs, (ref) => this.removeRecord(ref, options), failed);
  }

  /**
   * `image prune`'s removal of images by ID: each forced past its names, but kept when a
   * container uses it or is being made of it, as judged at its removal (one made since the
   * prune listed the containers included): dockerd's prune never removes a used image.
   * `reclaimed` is dockerd's: the size of each layer released (a `Deleted` chainID), as
   * `layerSizer` counts it, measured before it went; a layer another image keeps adds nothing.
   */
  async removeUnused(ids: readonly string[]): Promise<{ removed: RemovedImage[]; reclaimed: number }> {
    const sizes = await this.layerSizesOf(ids);
    const { removed } = await this.removeEach(ids, (id) => this.removeRecord(id, { force: true }, true), () => undefined);
    const reclaimed = removed.reduce((sum, line) => sum + (line.Deleted === undefined ? 0 : (sizes.get(line.Deleted) ?? 0)), 0);
    return { removed, reclaimed };
  }

  /** The sizes of the layers of images `ids` (their parents' are among them), by chainID; an image gone or unreadable adds none. */
  private async layerSizesOf(ids: readonly string[]): Promise<Map<string, number>> {
    const sizer = await this.layerSizer();
    const sizes = new Map<string, number>();
    for (const id of ids) {
      const image = await this.resolve(id).catch(() => undefined);
      for (const layer of image ? await sizer(image) : []) if (layer.chainId !== undefined) sizes.set(layer.chainId, layer.size);
    }
    return sizes;
  }

  /** `removeAll` with each image's record (and its pruned parents') removed by `removeRecord`. */
  private async removeEach(
    refs: readonly string[],
    removeRecord: (ref: string) => Promise<Removal[]>,
    failed?: (ref: string, error: unknown) => void,
  ): Promise<{ removed: RemovedImage[]; reclaimed: number }> {
    const done: Removal[] = [];
    for (const ref of refs) {
      try {
        done.push(...(await removeRecord(ref)));
      } catch (error) {
        if (!failed) throw error;
        failed(ref, error);
      }
    }
    const targets = done.flatMap((d) => (d.target ? [d.target] : []));
    if (targets.length === 0) return { removed: done.flatMap((d) => d.lines), reclaimed: 0 };
    // Released last-deleted first: a layer several deleted images held is said after the last
    // of them, where moby's one-by-one delete frees it (a build step's layer: after its own image, not its children's).
    const released = await this.release([...targets].reverse());
    let next = targets.length;
    const removed = done.flatMap((d) => (d.target ? [...d.lines, ...(released.layers[--next] ?? []).map((id) => ({ Deleted: id }))] : d.lines));
    return { removed, reclaimed: released.reclaimed };
  }

  /** Free what only `targets` held (children of `index`, which stays); the build cache's layers stay, as BuildKit's do. */
  private release(targets: readonly Descriptor[], index?: Digest): Promise<ReleaseResult> {
    return this.ctx.store.release(targets, { roots: () => engineRoots(this.ctx), ...(index ? { index } : {}) });
  }

  /**
   * Untag or delete one image's record, then, unless `noPrune`, its parents' (see
   * `pruneParent`); each deletion's `target` when the image itself went. Users are judged
   * with the removal's notice up for the image judged (see `ImageUse`), and its record
   * changed before the notice moves on or comes down. `unused`: a prune's, which no user
   * lets through (forced past the image's names only).
   */
  private removeRecord(ref: string, options: RemoveImageOptions, unused = false): Promise<Removal[]> {
    return underRemovalLock(this.ctx, async () => {
      const record = await this.find(ref);
      const notice = path.join(usesDir(this.ctx), REMOVING);
      const announce = (id: Digest): void => {
        // Under the lock, a notice there is a killed remover's, or this removal's last one.
        rmSync(notice, { force: true });
        writeMark(notice, `${id} ${ownNote()}`);
      };
      announce(record.id);
      try {
        const removed = [await this.removeFound(ref, record, options, unused)];
        let parent = removed[0]?.target !== undefined && !options.noPrune ? record.parent : undefined;
        while (parent !== undefined) {
          announce(parent);
          const pruned = await this.pruneParent(parent);
          if (!pruned) break;
          removed.push(pruned);
          parent = pruned.parent;
        }
        return removed;
      } finally {
        rmSync(notice, { force: true });
      }
    });
  }

  /**
   * moby's prune of a deleted image's parent: deleted too when nothing wants it (no name, no
   * other child, no container, none being made of it); otherwise it stays, and so do its own,
   * without a word. `parent`: the next to judge.
   */
  private async pruneParent(id: Digest): Promise<(Removal & { parent?: Digest }) | undefined> {
    const record = await this.ctx.store.images.resolve(id).catch(() => undefined);
    if (!record || record.names.length > 0 || ((await this.users()).get(id)?.length ?? 0) > 0) return undefined;
    // The store refuses an image with children: one a build made meanwhile keeps it.
    const gone = await this.ctx.store.images.delete(id).catch((error: unknown) => {
      if (isNotFound(error) || isConflict(error)) return undefined;
      throw error;
    });
    if (!gone) return undefined;
    await this.imageEvent('delete', id, id, {});
    return { lines: [{ Deleted: id }], target: gone.target, ...(gone.parent !== undefined ? { parent: gone.parent } : {}) };
  }

  private async removeFound(ref: string, record: ImageRecord, options: RemoveImageOptions, unused: boolean): Promise<Removal> {
    const users = (await this.users()).get(record.id) ?? [];
    const parsed = parseNameOrId(ref);
    const name = parsed.kind === 'reference' ? formatReference(withDefaultTag(parsed.reference)) : undefined;
    const out: RemovedImage[] = [];
    if (name !== undefined && record.names.includes(name)) {
      // dockerd's: untagging what would leave a used image without a repository needs force.
      const user = users[0];
      if (user && isSingleReference(record.names) && !options.force) throw this.referenceInUse(ref, record, user.id);
      // The last name gone, the image goes too, as dockerd's delete after an untag: forced, only
      // a running container keeps it (stopped ones keep their layers, and show its ID).
      // Read first: the untag can take the image with it, and dockerd's untag still finds it.
      const labels = await this.labelsOf(record);
      const result = await this.ctx.store.images.untag(name, { keepImage: users.some((user) => user.running) || (!options.force && users.length > 0) });
      for (const untagged of [name, ...(result.digestReferences ?? [])]) out.push({ Untagged: familiarImageName(untagged) });
      // dockerd's graphdriver store names the image by its ID in both events, not by the name removed.
      await this.imageEvent('untag', record.id, record.id, labels);
      if (!result.deleted) return { lines: out };
      out.push({ Deleted: result.deleted });
      await this.imageEvent('delete', record.id, record.id, {});
      return { lines: out, target: record.target };
    }
    // moby's first conflict, a hard one: an image another was built on stays while that one does.
    if (parentIds(await this.ctx.store.images.list()).has(record.id)) throw deleteConflict(record.id, true, 'image has dependent child images');
    this.checkDelete(record, users, options.force === true, unused);
    const labels = await this.labelsOf(record);
    const gone = await this.ctx.store.images.delete(record.id, options.force ? { force: true } : {});
    for (const name of gone.names) out.push({ Untagged: familiarImageName(name) });
    out.push({ Deleted: gone.id });
    for (let n = untagEvents(gone.names, unused); n > 0; n--) await this.imageEvent('untag', gone.id, gone.id, labels);
    await this.imageEvent('delete', gone.id, gone.id, {});
    return { lines: out, target: gone.target };
  }

  /**
   * dockerd's conflicts of an image deleted by ID, in its order: a running container using it
   * (not even force deletes it), then, unless forced, names in more than one repository (or
   * several tags), then a stopped container using it (even forced, when `unused`).
   */
  private checkDelete(record: ImageRecord, users: readonly ImageUser[], force: boolean, unused: boolean): void {
    const running = users.find((user) => user.running);
    if (running) throw deleteConflict(record.id, true, `image is being used by running container ${shortId(running.id)}`);
    if (force && !unused) return;
    if (!force && record.names.length > 0 && !isSingleReference(record.names)) throw deleteConflict(record.id, false, 'image is referenced in multiple repositories');
    const stopped = users[0];
    if (stopped) throw deleteConflict(record.id, false, `image is being used by stopped container ${shortId(stopped.id)}`);
  }

  /**
   * `docker rmi --platform`: the image's manifests for those platforms go, each `Deleted` (with
   * their configs and layers, as far as nothing else holds them). Asked for every platform it holds,
   * that is the image, removed as without `--platform`. ctr runs an image as one platform (its
   * ID's config): that one cannot go alone, nor a manifest another image holds too.
   */
  private async removePlatforms(ref: string, platforms: readonly Platform[], options: RemoveImageOptions): Promise<RemovedImage[]> {
    const image = await this.resolve(ref);
    const held = await this.heldManifests(image);
    const chosen = held.filter((entry) => platforms.some((platform) => samePlatform(entry.platform, platform)));
    if (chosen.length === 0) throw platformMismatch(ref, image.config, platforms[0] as Platform);
    if (chosen.length === held.length) return this.remove(ref, { ...options, platforms: [] });
    if (chosen.some((entry) => entry.config === image.record.id)) {
      throw conflict(`unable to remove the ${configPlatform(image.config)} content of ${ref} alone: it is the platform ctr runs the image as`, {
        hint: 'remove the image itself (without --platform), or its other platforms',
      });
    }
    const content = this.ctx.store.content;
    for (const other of await this.ctx.store.images.list()) {
      if (other.id === image.record.id) continue;
      const { blobs } = await imageGraph(content, other.target, { checkDigests: false });
      const shared = chosen.find((entry) => blobs.some((blob) => blob.digest === entry.manifest.digest));
      if (shared) throw conflict(`unable to remove the ${formatPlatform(shared.platform)} content of ${ref}: image ${shortId(other.id)} uses it too`);
    }
    // Manifests only, as dockerd's containerd store (the one with `--platform`) says what it deleted.
    await this.release(chosen.map((entry) => entry.manifest), image.record.target.digest);
    return chosen.map(({ manifest }) => ({ Deleted: manifest.digest }));
  }

  /** moby's refusal to untag the last name of an image a container uses. */
  private referenceInUse(ref: string, record: ImageRecord, container: string): Error {
    return conflict(`conflict: unable to remove repository reference "${ref}" (must force) - container ${shortId(container)} is using its referenced image ${shortId(record.id)}`);
  }

  /** How many containers (any state) use each image ID. */
  private async usage(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const [image, users] of await this.users()) counts.set(image, users.length);
    return counts;
  }

  /** The containers (any state) using each image ID, and those being made of it. */
  private async users(): Promise<Map<string, ImageUser[]>> {
    const users = new Map<string, ImageUser[]>();
    const add = (image: string, user: ImageUser): void => {
      users.set(image, [...(users.get(image) ?? []), user]);
    };
    // The marks first: a create that ends between the two readings wrote its record before its mark went.
    const making = imageUses(this.ctx);
    const states = await this.ctx.runtime.list().catch(() => []);
    for (const { id, running } of states) {
      const image = await this.containerImage(id);
      if (image) add(image, { id, running });
    }
    // Not started yet: as dockerd's, a created container is a stopped one.
    for (const use of making) if (!users.get(use.image)?.some((user) => user.id === use.container)) add(use.image, { id: use.container, running: false });
    return users;
  }

  /** Set by the container service so image removal can see what containers use. */
  containerImage: (containerId: string) => Promise<string | undefined> = async () => undefined;

  /** `docker save`: a tar stream of the named images. */
  async save(refs: readonly string[], options: SaveOptions = {}): Promise<Readable> {
    // One entry per image, with every name the refs gave it (moby's tarexport parseNames).
    const images = new Map<string, { descriptor: ImageRecord['target']; names: string[] }>();
    const add = async (ref: string, record: ImageRecord, names: readonly string[]): Promise<void> => {
      if (options.platform) checkPlatform(ref, (await this.resolve(record, options.signal)).config, options.platform);
      const entry = images.get(record.id) ?? { descriptor: record.target, names: [] };
      // As dockerd's, an archive names an image by its tags only: a digest is the registry's.
      for (const name of names) if (!name.includes('@') && !entry.names.includes(familiarImageName(name))) entry.names.push(familiarImageName(name));
      images.set(record.id, entry);
    };
    for (const ref of refs) {
      const parsed = parseNameOrId(ref);
      const reference = parsed.kind === 'reference' ? parsed.reference : undefined;
      // A repository without tag: every tag of it, each with its image.
      const repository = reference && reference.tag === undefined && reference.digest === undefined ? `${formatReference(reference)}:` : undefined;
      const tagged = repository ? (await this.ctx.store.images.list()).filter((record) => record.names.some((name) => name.startsWith(repository))) : [];
      for (const record of tagged) await add(ref, record, record.names.filter((name) => name.startsWith(repository ?? '')));
      if (tagged.length > 0) continue;
      const record = await this.find(ref);
      const name = reference ? formatReference(withDefaultTag(reference)) : undefined;
      // Found by its tag: named so; found by its ID (full or short): no name, as dockerd writes it.
      await add(ref, record, name && record.names.includes(name) ? [name] : []);
    }
    const archive = await saveArchive(this.ctx.store.content, [...images.values()], {
      ...(options.format ? { format: options.format } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // dockerd's `save` of each image, by its ID, before the archive streams.
    for (const id of images.keys()) await this.imageEvent('save', id, id);
    return archive;
  }

  /**
   * `docker load`: every image in the archive, tagged as the archive names it. With a
   * platform, only the images for it (as dockerd skips the others); none is NotFound.
   */
  async load(archive: Readable, options: LoadOptions = {}): Promise<{ loaded: string[] }> {
    // The lease keeps what is loaded safe from a concurrent gc until it is named; what a failed
    // load wrote is left to the next gc, with nothing named after it.
    return this.ctx.store.leases.withLease((lease) => this.loadLeased(archive, lease.id, options));
  }

  private async loadLeased(archive: Readable, lease: string, options: LoadOptions): Promise<{ loaded: string[] }> {
    const content = this.ctx.store.content;
    const result = await loadArchive(content.withLease(lease), archive, options.signal ? { signal: options.signal } : {});
    const loaded: string[] = [];
    for (const image of result.images) {
      const graph = await imageGraph(content, image.descriptor);
      const id = image.imageId ?? graph.images[0]?.config.digest;
      if (!id) continue;
      const config = graph.images.find((i) => i.config.digest === id)?.config;
      if (options.platform && !(config && isFor(parseImageConfig(await readJsonBlob(content, config)), options.platform))) continue;
      if (image.names.length === 0) {
        await this.ctx.store.images.put(undefined, { id, target: image.descriptor });
        loaded.push(`Loaded image ID: ${id}`);
      }
      // dockerd's load names an image without a `tag` event (a name it takes from another image included): its `load` says it all.
      for (const name of image.names) {
        const full = normalizeImageName(name);
        // moby's setLoadedTag: a name that took another image says so before it moves (its words, "renaming" included).
        const previous = await this.ctx.store.images.get(full).then((record) => record.id, () => undefined);
        if (previous !== undefined && previous !== id) loaded.push(`The image ${familiarImageName(full)} already exists, renaming the old one with ID ${previous} to empty string`);
        await this.ctx.store.images.put(full, { id, target: image.descriptor });
        loaded.push(`Loaded image: ${familiarImageName(full)}`);
      }
      await this.unpack(await this.resolve(await this.ctx.store.images.resolve(id)), options.signal);
      await this.imageEvent('load', id, id);
    }
    if (options.platform && loaded.length === 0) throw notFound(`no images providing the requested platform ${formatPlatform(options.platform)} found`);
    return { loaded };
  }

  /** `docker import`: a root filesystem (directory or tar) as a one-layer image. */
  async import(source: RootfsSource, options: ImportOptions = {}): Promise<ResolvedImage> {
    throwIfAborted(options.signal, 'import');
    // dockerd's check: an image for another OS could never run here.
    if (options.platform && normalizePlatform(options.platform).os !== 'linux') {
      throw invalidArgument('operating system is not supported', { hint: `ctr imports images for linux only, not ${formatPlatform(options.platform)}` });
    }
    const imported = await importRootfs(this.ctx.store.content, source, {
      ...(options.config ? { config: options.config } : {}),
      ...(options.comment ? { comment: options.comment } : {}),
      ...(options.platform ? { platform: options.platform } : {}),
      ...(options.created ? { created: options.created } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const name = options.name ? normalizeImageName(options.name) : undefined;
    const record = await this.tagDescriptor(name, imported.imageId, imported.manifest);
    const image = await this.resolve(record);
    await this.unpack(image, options.signal);
    // After the name's `tag`, as dockerd's: the import names the image by its ID.
    await this.imageEvent('import', imported.imageId, imported.imageId);
    return image;
  }
}

/** Bytes between two "Extracting" events of a layer (as between two "Downloading" ones). */
const EXTRACT_STEP = 512 * 1024;

/**
 * `stream` (a layer's compressed blob) with the bytes read of it reported as they go, as
 * dockerd reports "Extracting": every `EXTRACT_STEP` bytes and at the end (the blob's size).
 */
function countExtracted(stream: Readable, report: (current: number) => void): Readable {
  return pipeline(stream, countBytes(0, EXTRACT_STEP, report), () => undefined);
}
