import { randomBytes } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as delay } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import type {
  AttachIo,
  AuthConfig,
  BuildCachePruneOptions,
  BuildImageOptions,
  CommitOptions,
  ComponentVersion,
  ContainerInspect,
  ContainerStats,
  ContainerSummary,
  DiskUsage,
  EngineEvent,
  EngineInfo,
  EventsOptions,
  FilesystemChange,
  HistoryItem,
  HistoryOptions,
  ImageInspect,
  ImageListOptions,
  ImagePruneOptions,
  ImageSummary,
  InspectOptions,
  ImportOptions,
  ListOptions,
  LoadOptions,
  NetworkListOptions,
  PathStat,
  PluginEnableOptions,
  PluginInspect,
  PluginListOptions,
  PluginPrivilege,
  PluginPullOptions,
  PluginPushOptions,
  PluginRegistryOptions,
  PushedPlugin,
  PruneOptions,
  PullAllTagsOptions,
  PulledTags,
  PullOptions,
  PushAllTagsOptions,
  PushedTag,
  PushOptions,
  PutArchiveOptions,
  RemovedImage,
  RemoveImageOptions,
  RunResult,
  SaveOptions,
  SearchOptions,
  SearchResult,
  StatsOptions,
  SystemPruneOptions,
  SystemPruneResult,
  TopResult,
  UpdateOptions,
  StopOptions,
  VolumeListOptions,
  VolumePruneOptions,
} from '@ctr/engine';
import { allTagsRepository, auxOfFamily, checkSystemPruneOptions, driverOptions, familiarImageName, getTrustingExtraCas, isDetached, normalizeImageName, parseDetachKeys, parseLogDetails, readPullMessage, runExitStatus, splitRepoTag, tarTree } from '@ctr/engine';
import { CtrError, aborted, isConflict, isNotFound, unsupported } from '@ctr/errors';
import type { ContainerConfig, RootfsSource } from '@ctr/image';
import { familiarName, formatPlatform, parseNormalizedReference, parseReference } from '@ctr/image';
import type { ProgressMessage, WaitResponse } from './api-types';
import { searchTarget } from '@ctr/registry';
import { ApiClient, type ApiClientOptions } from './client';
import { contextTar } from './context-tar';
import { isRemoteContextSource, openRemoteContext } from '@ctr/dockerfile';
import { createRequest, updateRequest } from './create-request';
import type { CreateOptions, EngineApi, ImageRef, LayerProgress, PulledImage, PushLayerProgress, RunContainerOptions, ServerVersion } from './engine-api';
import { buildEvents } from './build-progress';
import { pumpSession } from './session-io';

type ExecOptions = Parameters<EngineApi['exec']>[1];
type LogEntry = EngineApi['logs'] extends (...args: never[]) => AsyncGenerator<infer E> ? E : never;
type VolumeInfo = Awaited<ReturnType<EngineApi['inspectVolume']>>;
type NetworkInspect = Awaited<ReturnType<EngineApi['inspectNetwork']>>;
type NetworkCreateOptions = Parameters<EngineApi['createNetwork']>[0];
type CreateVolumeOptions = NonNullable<Parameters<EngineApi['createVolume']>[0]>;

export interface RemoteEngineOptions extends ApiClientOptions {
  /**
   * Credentials for a registry host when a pull or push names none, the way the docker CLI
   * reads them from its own `config.json` (the daemon never sees the client's files).
   */
  registryAuth?: (registry: string) => Promise<AuthConfig | undefined>;
  /** Every registry's credentials the client knows, sent with a build for its FROM pulls (`X-Registry-Config`). */
  registryConfig?: () => Promise<Record<string, AuthConfig>>;
}

/** moby's refusal of a removal while another is under way, and how soon a run --rm asks again. */
const REMOVAL_IN_PROGRESS = /^removal of container .* is already in progress$/;
const REMOVAL_RETRY_MS = 50;

export const encodeJson = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A daemon's pull or push line as the engine's layer event (its 12-hex ID; a daemon shows
 * layers only): the image-level lines around them give none. The status is the daemon's word.
 */
function layerEvent<E extends LayerProgress | PushLayerProgress>(message: ProgressMessage): E | undefined {
  if (!message.id || !message.status || !/^[0-9a-f]{12}$/.test(message.id)) return undefined;
  const { current, total } = message.progressDetail ?? {};
  return { kind: 'layer', id: message.id, status: message.status, ...(total ? { current: current ?? 0, total } : {}) } as E;
}

/** A progress listener that hands `onProgress` the layer events among the daemon's messages. */
function layerEvents<E extends LayerProgress | PushLayerProgress>(onProgress: ((event: E) => void) | undefined): (message: ProgressMessage) => void {
  return (message) => {
    const layer = layerEvent<E>(message);
    if (layer) onProgress?.(layer);
  };
}

/** One of `GET /version`'s Components as the daemon sent it; none for what is not one (no name, no version). */
function componentVersion(item: unknown): ComponentVersion[] {
  const { Name, Version, Details } = (item ?? {}) as { Name?: unknown; Version?: unknown; Details?: unknown };
  if (typeof Name !== 'string' || typeof Version !== 'string') return [];
  const details = Details !== null && typeof Details === 'object' ? Object.entries(Details).filter((entry): entry is [string, string] => typeof entry[1] === 'string') : undefined;
  return [{ Name, Version, ...(details ? { Details: Object.fromEntries(details) } : {}) }];
}

function seconds(at: Date | string | number | undefined): number | undefined {
  if (at === undefined) return undefined;
  if (typeof at === 'number') return at;
  return (typeof at === 'string' ? new Date(at) : at).getTime() / 1000;
}

/** A logs bound for the daemon: Unix seconds given as text (`dockerTimestamp`'s) go as they are, their nanoseconds whole. */
function logBound(at: Date | string | number | undefined): string | number | undefined {
  return typeof at === 'string' && /^-?\d+(\.\d+)?$/.test(at) ? at : seconds(at);
}

/** The attach request for these streams, as the docker CLI makes it. */
function attachQuery(io: AttachIo): { stdin: boolean; stdout: boolean; stderr: boolean; detachKeys?: string } {
  return { stdin: !!io.stdin, stdout: !!io.stdout, stderr: !!io.stderr, ...(io.detachKeys ? { detachKeys: io.detachKeys } : {}) };
}

/** `--change` instructions that set what a config holds (the daemon applies them to an import). */
function configChanges(config: ContainerConfig | undefined): string[] {
  if (!config) return [];
  const changes: string[] = [];
  if (config.Cmd) changes.push(`CMD ${JSON.stringify(config.Cmd)}`);
  if (config.Entrypoint) changes.push(`ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`);
  // `ENV key value` carries the value as it is (spaces included); only an empty one needs `key=`.
  for (const env of config.Env ?? []) {
    const [key, value] = env.includes('=') ? [env.slice(0, env.indexOf('=')), env.slice(env.indexOf('=') + 1)] : [env, ''];
    changes.push(value ? `ENV ${key} ${value}` : `ENV ${key}=`);
  }
  if (config.WorkingDir) changes.push(`WORKDIR ${config.WorkingDir}`);
  if (config.User) changes.push(`USER ${config.User}`);
  for (const port of Object.keys(config.ExposedPorts ?? {})) changes.push(`EXPOSE ${port}`);
  for (const [key, value] of Object.entries(config.Labels ?? {})) changes.push(`LABEL ${JSON.stringify(key)}=${JSON.stringify(value)}`);
  for (const volume of Object.keys(config.Volumes ?? {})) changes.push(`VOLUME ${JSON.stringify([volume])}`);
  if (config.StopSignal) changes.push(`STOPSIGNAL ${config.StopSignal}`);
  return changes;
}

/** docker run's exit codes for a container that could not start: 127 not found, 126 not executable, else 125. */
function startFailure(error: unknown): unknown {
  if (!(error instanceof CtrError)) return error;
  return new CtrError(error.code, error.message, { cause: error, details: { ...error.details, exitCode: runExitStatus(error.message) } });
}

/** `docker.io/library/busybox:latest` → the repository and the tag (or digest) a daemon's query takes. */
function repoAndTag(ref: string): { repo: string; tag: string } {
  const full = normalizeImageName(ref);
  const at = full.indexOf('@');
  if (at !== -1) return { repo: familiarImageName(full.slice(0, at)), tag: full.slice(at + 1) };
  const { repo, tag } = splitRepoTag(familiarImageName(full));
  return { repo, tag };
}

/**
 * The engine's face over the Docker Engine API: every `Engine` method the `ctr` command
 * uses, with the same signatures and result shapes, done the way the docker CLI does it
 * against a daemon (ctrd or dockerd) on a unix socket, TCP+TLS or ssh://. `run` creates,
 * attaches (hijacked), starts and waits; `build` streams a tar of the context; pulls,
 * pushes and builds turn the daemon's JSON progress back into the engine's events.
 */
export class RemoteEngine implements EngineApi {
  readonly client: ApiClient;
  private readonly registryAuth: RemoteEngineOptions['registryAuth'];
  private readonly registryConfig: RemoteEngineOptions['registryConfig'];
  /** Waits registered before an attached start, for `wait` to answer from (by container). */
  private readonly exits = new Map<string, Promise<WaitResponse>>();

  constructor(options: RemoteEngineOptions = {}) {
    const { registryAuth, registryConfig, ...client } = options;
    this.client = new ApiClient(client);
    this.registryAuth = registryAuth;
    this.registryConfig = registryConfig;
  }

  close(): void {
    this.client.close();
  }

  /** `X-Registry-Auth` for the image's registry: the caller's credentials, else the local config's, else none. */
  private async authHeader(ref: string, auth: AuthConfig | undefined): Promise<string | undefined> {
    const config = auth ?? (await this.registryAuth?.(parseNormalizedReference(ref).domain));
    return config ? encodeJson(config) : undefined;
  }

  /** `docker login`: the daemon checks the credentials (`POST /auth`); the caller stores them. */
  async login(auth: AuthConfig, options: { signal?: AbortSignal } = {}): Promise<{ Status: string; IdentityToken: string }> {
    const answer = await this.client.auth(auth, options);
    return { Status: answer.Status, IdentityToken: answer.IdentityToken ?? '' };
  }

  /** `docker search`: the daemon asks the index; the credentials sent are for the registry the term names, as the docker CLI's. */
  async searchImages(term: string, options: SearchOptions = {}): Promise<SearchResult[]> {
    const config = options.auth ?? (await this.registryAuth?.(searchTarget(term).registry));
    return this.client.searchImages(term, {
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.filters ? { filters: options.filters } : {}),
      ...(config ? { registryAuth: encodeJson(config) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  // Images

  async pull(ref: string, options: Omit<PullOptions, 'onProgress'> & { onProgress?: (event: LayerProgress) => void } = {}): Promise<PulledImage> {
    let digest = '';
    const registryAuth = await this.authHeader(ref, options.auth);
    await this.client.pull(normalizeImageName(ref), {
      ...(options.platform ? { platform: formatPlatform(options.platform) } : {}),
      ...(registryAuth ? { registryAuth } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (message) => {
        const news = readPullMessage(message);
        if (news?.kind === 'digest') digest = news.digest;
        const layer = layerEvent<LayerProgress>(message);
        if (layer) options.onProgress?.(layer);
      },
    });
    const image = await this.client.inspectImage(normalizeImageName(ref));
    return { record: { id: image.Id, target: { digest } } };
  }

  /** `docker pull --all-tags`: the repository alone goes to the daemon, whose lines come back as the engine's events. */
  async pullAllTags(repository: string, options: Omit<PullAllTagsOptions, 'onProgress'> & { onProgress?: (event: LayerProgress) => void } = {}): Promise<PulledTags> {
    const name = allTagsRepository(repository);
    const registryAuth = await this.authHeader(name, options.auth);
    const tags: string[] = [];
    let updated = false;
    await this.client.pull(name, {
      allTags: true,
      ...(options.platform ? { platform: formatPlatform(options.platform) } : {}),
      ...(registryAuth ? { registryAuth } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (message) => {
        const layer = layerEvent<LayerProgress>(message);
        const news = readPullMessage(message);
        if (layer) options.onProgress?.(layer);
        else if (news?.kind === 'pulling') {
          tags.push(news.id);
          options.onTag?.({ tag: news.id, status: 'Pulling' });
        } else if (news?.kind === 'digest') options.onTag?.({ tag: tags[tags.length - 1] ?? '', status: 'Pulled', digest: news.digest });
        else if (news?.kind === 'outcome') updated ||= news.updated;
      },
    });
    return { tags, updated };
  }

  async push(ref: string, options: Omit<PushOptions, 'onProgress'> & { onProgress?: (event: PushLayerProgress) => void } = {}): Promise<{ digest: string; size: number }> {
    const { repo, tag } = repoAndTag(ref);
    const registryAuth = await this.authHeader(ref, options.auth);
    const [pushed] = await this.client.push(repo, {
      tag,
      ...(options.platform ? { platform: options.platform } : {}),
      ...(registryAuth ? { registryAuth } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: layerEvents<PushLayerProgress>(options.onProgress),
    });
    return pushed as PushedTag;
  }

  /** `docker push --all-tags`: the repository without a tag goes to the daemon, which pushes every tag it has. */
  async pushAllTags(repository: string, options: Omit<PushAllTagsOptions, 'onProgress'> & { onProgress?: (event: PushLayerProgress) => void } = {}): Promise<PushedTag[]> {
    const name = allTagsRepository(repository);
    const registryAuth = await this.authHeader(name, options.auth);
    return this.client.push(familiarName(parseReference(name)), {
      ...(options.platform ? { platform: options.platform } : {}),
      ...(registryAuth ? { registryAuth } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onPushed ? { onPushed: options.onPushed } : {}),
      onProgress: layerEvents<PushLayerProgress>(options.onProgress),
    });
  }

  images(options: ImageListOptions = {}): Promise<ImageSummary[]> {
    return this.client.listImages(options);
  }

  inspectImage(ref: string): Promise<ImageInspect> {
    return this.client.inspectImage(ref);
  }

  history(ref: string, options: HistoryOptions = {}): Promise<HistoryItem[]> {
    return this.client.imageHistory(ref, options);
  }

  async tag(source: string, target: string): Promise<void> {
    const { repo, tag } = repoAndTag(target);
    await this.client.tagImage(source, repo, tag);
  }

  removeImage(ref: string, options: RemoveImageOptions = {}): Promise<RemovedImage[]> {
    return this.client.removeImage(ref, options);
  }

  save(refs: readonly string[], options: SaveOptions = {}): Promise<Readable> {
    const { format, ...rest } = options;
    if (format === 'oci') throw unsupported('an OCI layout cannot be saved through the Docker API: it sends docker archives');
    return this.client.saveImages(refs, rest);
  }

  async load(archive: Readable, options: LoadOptions = {}): Promise<{ loaded: string[] }> {
    return { loaded: await this.client.loadImages(archive, options) };
  }

  async importImage(source: RootfsSource, options: ImportOptions = {}): Promise<ImageRef> {
    // A root filesystem goes up whole: owners, devices and links as they are (no .dockerignore here).
    const tar = 'dir' in source ? tarTree(source.dir, '', options.signal ? { signal: options.signal } : {}) : source.tar;
    const target = options.name ? repoAndTag(options.name) : undefined;
    const id = await this.client.importImage(tar, {
      ...(target ? { repo: target.repo, tag: target.tag } : {}),
      ...(options.comment ? { message: options.comment } : {}),
      ...(options.platform ? { platform: formatPlatform(options.platform) } : {}),
      changes: configChanges(options.config),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { record: { id } };
  }

  /** `docker build`: the context goes up as a tar (`.dockerignore` applied here, as the docker CLI does). */
  async build(options: BuildImageOptions): Promise<{ id: string; warnings: string[] }> {
    const { context, dockerfileContent, signal } = options;
    // BuildKit hands secrets and agents over its session; the classic POST /build has no such channel.
    if (Object.keys(options.secrets ?? {}).length > 0 || Object.keys(options.ssh ?? {}).length > 0) {
      throw unsupported('--secret and --ssh need the builder in this process: the Docker API\'s POST /build has no channel for them', {
        hint: 'Build without -H/DOCKER_HOST (ctr builds in-process), or pass the value another way.',
      });
    }
    // The same for what BuildKit's session carries back (an export) or up (a named context's files).
    if (options.output || Object.keys(options.buildContexts ?? {}).length > 0) {
      throw unsupported('--output and --build-context need the builder in this process: the Docker API\'s POST /build has no channel for them', {
        hint: 'Build without -H/DOCKER_HOST (ctr builds in-process).',
      });
    }
    if (isRemoteContextSource(context)) {
      // docker's CLI fetches a git or URL context itself (its credentials, its network, the CAs it trusts) and sends it up as a tar.
      const fetched = await openRemoteContext(context.remote, {
        ...(options.dockerfile ? { dockerfile: options.dockerfile } : {}),
        fetch: getTrustingExtraCas,
        client: true,
        signal: signal ?? new AbortController().signal,
      });
      try {
        return await this.build({ ...options, context: fetched.root });
      } finally {
        await fetched.dispose();
      }
    }
    let dockerfile = options.dockerfile;
    let tar: Readable;
    if (typeof context === 'string') {
      // A Dockerfile from stdin or from outside the context travels inside it under a random name, as docker sends it (AddDockerfileToBuildContext).
      const extra = dockerfileContent !== undefined ? { [(dockerfile = `.dockerfile.${randomBytes(10).toString('hex')}`)]: Buffer.from(dockerfileContent) } : undefined;
      tar = contextTar(context, { ...(dockerfile ? { dockerfile } : {}), ...(extra ? { extra } : {}), ...(signal ? { signal } : {}) });
    } else {
      if (dockerfileContent !== undefined) throw unsupported('a Dockerfile from stdin needs a context directory, not a context tar');
      tar = context;
    }
    const events = buildEvents(options.onEvent);
    const auths = options.registryAuth ?? (await this.registryConfig?.());
    const registryConfig = auths && Object.keys(auths).length > 0 ? encodeJson(auths) : undefined;
    // `--compress`: the daemon reads a gzip context as it reads a plain one.
    const body = options.compress ? pipeline(tar, createGzip(), () => undefined) : tar;
    const id = await this.client.build(body, {
      tags: options.tags ?? [],
      ...(dockerfile ? { dockerfile } : {}),
      ...(options.buildArgs ? { buildArgs: options.buildArgs } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
      ...(options.target ? { target: options.target } : {}),
      ...(options.platform ? { platform: options.platform } : {}),
      // As docker's client: `default` is the daemon's own default, so it is not sent.
      ...(options.network && options.network !== 'default' ? { networkMode: options.network } : {}),
      ...(options.isolation ? { isolation: options.isolation } : {}),
      ...(options.cacheFrom?.length ? { cacheFrom: options.cacheFrom } : {}),
      ...(options.squash ? { squash: true } : {}),
      ...(options.remove === false ? { remove: false } : {}),
      ...(options.forceRemove ? { forceRemove: true } : {}),
      ...(options.steps ? { steps: options.steps } : {}),
      noCache: options.noCache === true,
      ...(options.pull ? { pull: true } : {}),
      ...(registryConfig ? { registryConfig } : {}),
      ...(signal ? { signal } : {}),
      onProgress: events,
    });
    return { id, warnings: [] };
  }

  async commit(container: string, options: CommitOptions = {}): Promise<{ id: string }> {
    const target = options.reference ? repoAndTag(options.reference) : undefined;
    const id = await this.client.commit(container, {
      ...(target ? { repo: target.repo, tag: target.tag } : {}),
      ...(options.comment ? { comment: options.comment } : {}),
      ...(options.author ? { author: options.author } : {}),
      pause: options.pause !== false,
      ...(options.config ? { config: { ...options.config } } : {}),
      ...(options.changes?.length ? { changes: options.changes } : {}),
    });
    return { id };
  }

  // Containers

  /** `docker create`: a missing image is pulled first (per `pull`), as the docker CLI does. */
  async create(options: CreateOptions): Promise<{ id: string; name: string; warnings: string[] }> {
    const { onPullProgress, imagePlatform: platform, ...create } = options;
    const pull = options.pull ?? 'missing';
    const fetch = (): Promise<PulledImage> =>
      this.pull(options.image, { ...(platform ? { platform } : {}), ...(options.signal ? { signal: options.signal } : {}), ...(onPullProgress ? { onProgress: onPullProgress } : {}) });
    if (pull === 'always') await fetch();
    const body = createRequest(create);
    const created = await this.client.createContainer(body, options.name, platform).catch(async (error: unknown) => {
      if (pull !== 'missing' || !isNotFound(error) || !/image/i.test((error as Error).message)) throw error;
      await fetch();
      return this.client.createContainer(body, options.name, platform);
    });
    const name = options.name ?? (await this.client.inspectContainer(created.Id)).Name.replace(/^\//, '');
    return { id: created.Id, name, warnings: created.Warnings ?? [] };
  }

  /**
   * Start the container; with streams, attach first (so no output is missed) and resolve
   * `attached` once all of it is delivered.
   */
  async start(container: string, io: AttachIo = {}): Promise<{ attached?: Promise<void> }> {
    if (!io.stdin && !io.stdout && !io.stderr) {
      await this.client.startContainer(container).catch((error: unknown) => Promise.reject(startFailure(error)));
      return {};
    }
    const session = await this.client.attachContainer(container, attachQuery(io));
    // The exit is waited for before the start, as docker does: a quick container (or one the
    // daemon removes, --rm) may be gone before a wait sent afterwards arrives. A detach (the
    // keys) ends that wait: docker's CLI waits for nothing after one.
    const waiting = new AbortController();
    let exit: Promise<WaitResponse> | undefined;
    let detached = false;
    const endWait = (): void => {
      if (!exit) return;
      waiting.abort();
      if (this.exits.get(container) === exit) this.exits.delete(container);
    };
    const attached = pumpSession(session, io).catch((error: unknown) => {
      if (isDetached(error)) {
        detached = true;
        endWait();
      }
      throw error;
    });
    // Keys typed while the container starts end the session before anyone awaits it.
    attached.catch(() => undefined);
    try {
      exit = (await this.client.waitRegistered(container, 'next-exit', waiting.signal)).status;
      await this.client.startContainer(container);
    } catch (error) {
      endWait();
      session.stream.destroy();
      throw startFailure(error);
    }
    this.exits.set(container, exit);
    if (detached) endWait();
    return { attached };
  }

  /** `docker run`: as the engine's run, one request at a time. */
  async run(options: RunContainerOptions): Promise<RunResult> {
    const { detach, stdin, stdout, stderr, detachKeys, onCreated, beforeStart, onStarted, ...create } = options;
    // Bad keys are refused before anything is made (the daemon would refuse only the attach).
    if (!detach && detachKeys !== undefined) parseDetachKeys(detachKeys);
    const autoRemove = create.autoRemove === true;
    // A client that may go before the exit (detached, or able to detach with the keys: stdin
    // and a TTY) leaves the removal to the daemon; otherwise we remove it once its output is in.
    const daemonRemoves = detach === true || (stdin !== undefined && create.tty === true);
    const created = await this.create({ ...create, autoRemove: autoRemove && daemonRemoves });
    try {
      onCreated?.(created);
      if (beforeStart) await beforeStart(created.id);
    } catch (error) {
      // As the engine's run: a container its caller could not take is taken apart again.
      await this.remove(created.id, { force: true, volumes: true }).catch(() => undefined);
      throw error;
    }
    // Another removal (a user's `rm`) under way is refused (moby's Conflict): asked again until
    // one of the two has removed it, so run returns once it is gone, even if that one failed.
    // The first request is made even when the signal has fired (a cancelled run still cleans
    // up); only the asking again, which can last as long as the other removal, stops on it.
    const remove = async (): Promise<void> => {
      if (!autoRemove) return;
      const { signal } = options;
      for (;;) {
        try {
          return await this.remove(created.id, { force: true, volumes: true });
        } catch (error) {
          if (isNotFound(error)) return;
          if (!(isConflict(error) && REMOVAL_IN_PROGRESS.test((error as Error).message))) throw error;
        }
        await delay(REMOVAL_RETRY_MS, undefined, signal ? { signal } : {}).catch(() => Promise.reject(aborted(signal, `removing container ${created.id}`)));
      }
    };
    let exitCode: number;
    try {
      const io: AttachIo = detach
        ? {}
        : {
            ...(stdin ? { stdin } : {}),
            ...(stdout ? { stdout } : {}),
            ...(stderr ? { stderr } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
            ...(detachKeys !== undefined ? { detachKeys } : {}),
          };
      const started = await this.start(created.id, io);
      onStarted?.();
      if (detach) return created;
      const attached = started.attached ?? Promise.resolve();
      const exit = this.wait(created.id);
      // A detach (the keys) ends the attachment before the exit, which nothing waits for then.
      exit.catch(() => undefined);
      exitCode = (await Promise.race([exit, attached.then(() => exit)])).StatusCode;
      await attached;
    } catch (error) {
      // A container its user detached from runs on (the daemon removes it at its exit).
      if (!detach && !isDetached(error)) await remove().catch(() => undefined);
      throw error;
    }
    await remove();
    return { ...created, exitCode };
  }

  async wait(container: string, signal?: AbortSignal): Promise<{ StatusCode: number; OOMKilled: boolean }> {
    const registered = this.exits.get(container);
    this.exits.delete(container);
    const { StatusCode } = await (registered ?? this.client.waitContainer(container, 'not-running', signal));
    const oom = await this.client.inspectContainer(container).then((info) => info.State.OOMKilled, () => false);
    return { StatusCode, OOMKilled: oom };
  }

  stop(container: string, options: StopOptions = {}): Promise<void> {
    return this.client.stopContainer(container, options);
  }

  kill(container: string, signal?: string | number): Promise<void> {
    return this.client.killContainer(container, signal === undefined ? undefined : String(signal));
  }

  restart(container: string, options: StopOptions = {}): Promise<void> {
    return this.client.restartContainer(container, options);
  }

  pause(container: string): Promise<void> {
    return this.client.pauseContainer(container);
  }

  unpause(container: string): Promise<void> {
    return this.client.unpauseContainer(container);
  }

  remove(container: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return this.client.removeContainer(container, options);
  }

  ps(options: ListOptions = {}): Promise<ContainerSummary[]> {
    return this.client.listContainers({
      all: options.all === true || options.last !== undefined,
      ...(options.filters ? { filters: options.filters } : {}),
      ...(options.last !== undefined ? { limit: options.last } : {}),
      ...(options.size ? { size: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  inspect(container: string, options: InspectOptions = {}): Promise<ContainerInspect> {
    return this.client.inspectContainer(container, options);
  }

  /** `docker logs`: the daemon's frames back into lines, with the times it adds for `-t` and, with `details`, the attributes before the text. */
  async *logs(container: string, options: NonNullable<Parameters<EngineApi['logs']>[1]> = {}): AsyncGenerator<LogEntry> {
    const since = logBound(options.since);
    const until = logBound(options.until);
    const pending = { stdout: '', stderr: '' };
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    const entry = (stream: 'stdout' | 'stderr', text: string): LogEntry => {
      const space = text.indexOf(' ');
      const time = text.slice(0, space);
      if (!options.details) return { stream, time, line: text.slice(space + 1) };
      // The attributes are query-escaped: the first space after them ends them.
      const end = text.indexOf(' ', space + 1);
      return { stream, time, attrs: parseLogDetails(text.slice(space + 1, end)), line: text.slice(end + 1) };
    };
    for await (const chunk of this.client.logs(container, {
      timestamps: true,
      ...(options.details ? { details: true } : {}),
      ...(options.follow ? { follow: true } : {}),
      ...(options.stdout === false ? { stdout: false } : {}),
      ...(options.stderr === false ? { stderr: false } : {}),
      ...(options.tail !== undefined ? { tail: options.tail } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    })) {
      const lines = (pending[chunk.stream] + decoders[chunk.stream].write(chunk.data)).split('\n');
      pending[chunk.stream] = lines.pop() as string;
      for (const line of lines) yield entry(chunk.stream, line);
    }
    for (const stream of ['stdout', 'stderr'] as const) if (pending[stream]) yield entry(stream, pending[stream]);
  }

  /** `docker exec`: attached through a hijacked session and its exit code read back; detached when no stream is given. */
  async exec(container: string, options: ExecOptions): Promise<{ exitCode: number }> {
    const tty = options.tty === true;
    const id = await this.client.createExec(container, {
      Cmd: options.cmd,
      Tty: tty,
      AttachStdin: !!options.stdin,
      AttachStdout: !!options.stdout,
      AttachStderr: !!options.stderr,
      ...(options.env ? { Env: options.env } : {}),
      ...(options.user ? { User: options.user } : {}),
      ...(options.workingDir ? { WorkingDir: options.workingDir } : {}),
      ...(options.privileged ? { Privileged: true } : {}),
      ...(options.detachKeys ? { DetachKeys: options.detachKeys } : {}),
    });
    const start = { tty, ...(tty && options.consoleSize ? { consoleSize: options.consoleSize } : {}) };
    if (!options.stdin && !options.stdout && !options.stderr) {
      await this.client.startExec(id, { ...start, detach: true });
      return { exitCode: 0 };
    }
    const session = await this.client.startExec(id, start);
    options.onStart?.({ resize: (size) => this.client.resizeExec(id, size) });
    await pumpSession(session, options);
    const { ExitCode } = await this.client.inspectExec(id);
    return { exitCode: ExitCode ?? 126 };
  }

  /** `docker attach`: resolves when the container's output ends. */
  async attach(container: string, io: AttachIo): Promise<void> {
    const session = await this.client.attachContainer(container, attachQuery(io));
    await pumpSession(session, io);
  }

  resize(container: string, size: { height: number; width: number }): Promise<void> {
    return this.client.resizeContainer(container, size);
  }

  rename(container: string, name: string): Promise<void> {
    return this.client.renameContainer(container, name);
  }

  async update(container: string, options: UpdateOptions): Promise<{ warnings: string[] }> {
    const { Warnings } = await this.client.updateContainer(container, updateRequest(options));
    return { warnings: Warnings ?? [] };
  }

  async pruneContainers(options: PruneOptions = {}): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    return this.client.pruneContainers(options);
  }

  statPath(container: string, path: string): Promise<PathStat> {
    return this.client.statPath(container, path);
  }

  getArchive(container: string, path: string, options: { signal?: AbortSignal } = {}): Promise<{ stat: PathStat; tar: Readable }> {
    return this.client.getArchive(container, path, options);
  }

  putArchive(container: string, path: string, tar: Readable, options: PutArchiveOptions = {}): Promise<void> {
    return this.client.putArchive(container, path, tar, options);
  }

  export(container: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    return this.client.exportContainer(container, options);
  }

  changes(container: string): Promise<FilesystemChange[]> {
    return this.client.containerChanges(container);
  }

  top(container: string, psArgs?: string): Promise<TopResult> {
    return this.client.topContainer(container, psArgs);
  }

  stats(container: string, options: StatsOptions = {}): AsyncGenerator<ContainerStats> {
    return this.client.containerStats(container, options);
  }

  // Volumes and networks

  createVolume(options: CreateVolumeOptions = {}): Promise<VolumeInfo> {
    return this.client.createVolume({
      ...(options.driver ? { Driver: options.driver } : {}),
      ...(options.name ? { Name: options.name } : {}),
      ...(options.labels ? { Labels: options.labels } : {}),
      ...(options.options ? { DriverOpts: options.options } : {}),
    });
  }

  volumes(options: VolumeListOptions = {}): Promise<VolumeInfo[]> {
    return this.client.listVolumes(options);
  }

  inspectVolume(name: string): Promise<VolumeInfo> {
    return this.client.inspectVolume(name);
  }

  removeVolume(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.client.removeVolume(name, options);
  }

  pruneVolumes(options: VolumePruneOptions = {}): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    return this.client.pruneVolumes(options);
  }

  // Plugins

  listPlugins(options: PluginListOptions = {}): Promise<PluginInspect[]> {
    return this.client.listPlugins(options);
  }

  inspectPlugin(name: string): Promise<PluginInspect> {
    return this.client.inspectPlugin(name);
  }

  createPlugin(name: string, tar: Readable, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.client.createPlugin(name, tar, options);
  }

  enablePlugin(name: string, options: PluginEnableOptions = {}): Promise<void> {
    return this.client.enablePlugin(name, options);
  }

  disablePlugin(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.client.disablePlugin(name, options);
  }

  removePlugin(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.client.removePlugin(name, options);
  }

  setPlugin(name: string, settings: readonly string[]): Promise<void> {
    return this.client.setPlugin(name, settings);
  }

  async pluginPrivileges(remote: string, options: PluginRegistryOptions = {}): Promise<PluginPrivilege[]> {
    const registryAuth = await this.authHeader(remote, options.auth);
    return this.client.pluginPrivileges(remote, { ...(registryAuth ? { registryAuth } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  }

  async pullPlugin(remote: string, options: Omit<PluginPullOptions, 'onProgress'> & { onProgress?: (event: LayerProgress) => void }): Promise<Pick<PluginInspect, 'Name'>> {
    const registryAuth = await this.authHeader(remote, options.auth);
    const name = await this.client.pullPlugin(remote, {
      privileges: options.privileges,
      ...(options.name ? { name: options.name } : {}),
      ...(registryAuth ? { registryAuth } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: layerEvents<LayerProgress>(options.onProgress),
    });
    return { Name: name };
  }

  async upgradePlugin(name: string, remote: string, options: Omit<PluginPullOptions, 'name' | 'onProgress'> & { onProgress?: (event: LayerProgress) => void }): Promise<PluginInspect> {
    const registryAuth = await this.authHeader(remote, options.auth);
    await this.client.upgradePlugin(name, remote, {
      privileges: options.privileges,
      ...(registryAuth ? { registryAuth } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: layerEvents<LayerProgress>(options.onProgress),
    });
    return this.client.inspectPlugin(name);
  }

  async pushPlugin(name: string, options: Omit<PluginPushOptions, 'onProgress'> & { onProgress?: (event: PushLayerProgress) => void } = {}): Promise<PushedPlugin> {
    const plugin = await this.client.inspectPlugin<PluginInspect>(name);
    const registryAuth = await this.authHeader(plugin.Name, options.auth);
    return this.client.pushPlugin(name, {
      ...(registryAuth ? { registryAuth } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: layerEvents<PushLayerProgress>(options.onProgress),
    });
  }

  async createNetwork(options: NetworkCreateOptions): Promise<NetworkInspect> {
    const ipam = [
      ...(options.subnet ? [{ Subnet: options.subnet, Gateway: options.gateway, IPRange: options.ipRange, ...auxOfFamily(options.auxAddresses, 4) }] : []),
      ...(options.subnet6 ? [{ Subnet: options.subnet6, Gateway: options.gateway6, IPRange: options.ipRange6, ...auxOfFamily(options.auxAddresses, 6) }] : []),
    ];
    const id = await this.client.createNetwork({
      Name: options.name,
      Driver: options.driver ?? 'bridge',
      Internal: options.internal === true,
      ...(options.ipv6 ? { EnableIPv6: true } : {}),
      ...(options.labels ? { Labels: options.labels } : {}),
      ...(ipam.length > 0 || options.ipamDriver || options.ipamOptions
        ? { IPAM: { ...(options.ipamDriver ? { Driver: options.ipamDriver } : {}), ...(options.ipamOptions ? { Options: options.ipamOptions } : {}), Config: ipam } }
        : {}),
      ...(options.attachable ? { Attachable: true } : {}),
      ...(options.ingress ? { Ingress: true } : {}),
      ...(options.scope ? { Scope: options.scope } : {}),
      ...(options.configOnly ? { ConfigOnly: true } : {}),
      ...(options.configFrom ? { ConfigFrom: { Network: options.configFrom } } : {}),
      ...(options.ipv4 === false ? { EnableIPv4: false } : {}),
      ...(options.options || options.bridgeName || options.mtu ? { Options: driverOptions(options) } : {}),
    });
    return this.client.inspectNetwork(id);
  }

  networks(options: NetworkListOptions = {}): Promise<NetworkInspect[]> {
    return this.client.listNetworks(options);
  }

  inspectNetwork(name: string): Promise<NetworkInspect> {
    return this.client.inspectNetwork(name);
  }

  removeNetwork(name: string): Promise<void> {
    return this.client.removeNetwork(name);
  }

  connect(network: string, container: string, options: { aliases?: string[]; ip?: string; ip6?: string; linkLocalIps?: string[] } = {}): Promise<void> {
    const ipam = {
      ...(options.ip ? { IPv4Address: options.ip } : {}),
      ...(options.ip6 ? { IPv6Address: options.ip6 } : {}),
      ...(options.linkLocalIps?.length ? { LinkLocalIPs: options.linkLocalIps } : {}),
    };
    return this.client.connectNetwork(network, container, {
      ...(options.aliases?.length ? { Aliases: options.aliases } : {}),
      ...(Object.keys(ipam).length > 0 ? { IPAMConfig: ipam } : {}),
    });
  }

  disconnect(network: string, container: string): Promise<void> {
    return this.client.disconnectNetwork(network, container);
  }

  // System

  /** `docker system prune`: the docker CLI's sequence of prunes; parts a daemon does not offer are skipped. */
  async prune(options: SystemPruneOptions = {}): Promise<SystemPruneResult> {
    checkSystemPruneOptions(options);
    const optional = <T>(promise: Promise<T>, empty: T): Promise<T> => promise.catch((error: unknown) => (isNotFound(error) ? empty : Promise.reject(error)));
    const filters = options.filters ?? {};
    const containers = await this.client.pruneContainers({ filters });
    const networks = await optional(this.client.pruneNetworks({ filters }), []);
    const volumes = options.volumes ? await this.client.pruneVolumes({ filters }) : { VolumesDeleted: [], SpaceReclaimed: 0 };
    const images = await this.client.pruneImages({ all: options.all === true, filters });
    const cache = await optional(this.client.pruneBuildCache({ filters }), { CachesDeleted: [], SpaceReclaimed: 0 });
    return {
      ContainersDeleted: containers.ContainersDeleted,
      NetworksDeleted: networks,
      VolumesDeleted: volumes.VolumesDeleted,
      ImagesDeleted: images.ImagesDeleted ?? [],
      CachesDeleted: cache.CachesDeleted,
      SpaceReclaimed: containers.SpaceReclaimed + volumes.SpaceReclaimed + images.SpaceReclaimed + cache.SpaceReclaimed,
    };
  }

  async pruneImages(options: ImagePruneOptions = {}): Promise<{ ImagesDeleted: RemovedImage[]; SpaceReclaimed: number }> {
    const result = await this.client.pruneImages(options);
    return { ImagesDeleted: result.ImagesDeleted ?? [], SpaceReclaimed: result.SpaceReclaimed };
  }

  async pruneNetworks(options: PruneOptions = {}): Promise<{ NetworksDeleted: string[] }> {
    return { NetworksDeleted: await this.client.pruneNetworks(options) };
  }

  pruneBuildCache(options: BuildCachePruneOptions = {}): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    return this.client.pruneBuildCache(options);
  }

  df(): Promise<DiskUsage> {
    return this.client.diskUsage();
  }

  /** `docker events`: the engine's event shape (the legacy `status`/`id`/`from` fields left out). */
  async *events(options: EventsOptions = {}): AsyncGenerator<EngineEvent> {
    const since = seconds(options.since);
    const until = seconds(options.until);
    for await (const event of this.client.events({
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(options.filters ? { filters: options.filters as Record<string, string[]> } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    })) {
      const { status: _status, id: _id, from: _from, ...rest } = event as EngineEvent & { status?: unknown; id?: unknown; from?: unknown };
      yield rest;
    }
  }

  info(): Promise<EngineInfo> {
    return this.client.info();
  }

  /** The daemon's whole answer: its platform, components and oldest API are what `ctr version` shows of it. */
  async version(): Promise<ServerVersion> {
    const v = await this.client.version();
    const text = (key: string): string => (typeof v[key] === 'string' ? (v[key] as string) : '');
    const platform = v.Platform as { Name?: unknown } | undefined;
    return {
      Platform: { Name: typeof platform?.Name === 'string' ? platform.Name : '' },
      Components: Array.isArray(v.Components) ? (v.Components as unknown[]).flatMap(componentVersion) : [],
      Version: v.Version,
      ApiVersion: v.ApiVersion,
      MinAPIVersion: text('MinAPIVersion'),
      Os: text('Os'),
      Arch: text('Arch'),
      KernelVersion: text('KernelVersion'),
      GoVersion: text('GoVersion'),
      GitCommit: text('GitCommit'),
      BuildTime: text('BuildTime'),
    };
  }

  /** What the daemon runs containers with: its components after the engine itself. */
  async components(): Promise<ComponentVersion[]> {
    return (await this.version()).Components.filter((component) => component.Name !== 'Engine');
  }
}
