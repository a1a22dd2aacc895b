import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { launchDetached, openStore, removeTreeBehind, spreadSubdirectories, type CreateVolumeOptions, type VolumeInfo } from '@ctr/store';
import { Runtime, cgroupFeatures, detachOnKeys, detachedError, parseDetachKeys, type ExecResult } from '@ctr/runtime';
import { NetworkManager, type NetworkCreateOptions, type NetworkInspect } from '@ctr/network';
import type { RegistryClient, RegistryClientOptions } from '@ctr/registry';
import type { RootfsSource } from '@ctr/image';
import type { AuthConfig, SearchResult } from '@ctr/registry';
import type { BuildOptions, BuildResult } from '@ctr/dockerfile';
import { EngineBuildBackend, buildNetworkMode, checkBuildIsolation, type BuildState, type BuildStepOptions } from './build-backend';
import { importBusybox, type ImportBusyboxOptions } from './busybox-image';
import { sweepScratch, withScratch } from './scratch';
import { sweepLeftovers, systemCheck, type SweepReport, type SystemCheckOptions, type SystemCheckReport } from './check';
import { commitContainer, type CommitOptions } from './commit';
import type { EngineContext } from './context';
import {
  AUTO_REMOVAL,
  Containers,
  type AttachIo,
  type ContainerExecOptions,
  type ContainerInspect,
  type ContainerLogEntry,
  type ContainerLogsOptions,
  type ContainerSummary,
  type CreateContainerOptions,
  type CreatedContainer,
  type InspectOptions,
  type ListOptions,
  type RemoveOptions,
  type StopOptions,
} from './containers';
import { EventLog, type EngineEvent, type EventScope, type EventsOptions } from './events';
import { reloadAttributes, withContainerDefaults, type DaemonSettings, type ReloadableSettings } from './daemon-config';
import { dockerfileModule, ipamPluginsModule, networkPluginsModule, pluginDirectoryModule, pluginsModule, registryModule } from './lazy-modules';
import type { PluginDirectory, PluginOptions } from './plugins/directory';
import type { PluginClient } from './plugins/client';
import type { PluginEndpoint } from './plugins/source';
import type { ManagedPlugins, PluginEnableOptions, PluginInspect, PluginListOptions, PluginPrivilege, PluginPullOptions, PluginPushOptions, PluginRegistryOptions, PushedPlugin } from './plugins/managed';
import { exportContainer, getArchive, putArchive, statPath, type PathStat, type PutArchiveOptions } from './archive';
import { containerChanges, type FilesystemChange } from './changes';
import { isRunning, useEmbeddedDns } from './container-network';
import { RestartMonitor, handleExit, recoverContainers } from './restart';
import { probe, type HealthState, type ProbeOptions } from './health';
import {
  buildInfo,
  engineId,
  goTimeNow,
  hostOsRelease,
  hostWarnings,
  initCommit,
  ipv4Forwarding,
  openFileDescriptors,
  overlayDriverStatus,
  platformComponents,
  proxyFromEnv,
  registryConfig,
  runtimeCommit,
  type ComponentVersion,
  type EngineInfo,
  type PluginsInfo,
} from './host-info';
import type { UpdateOptions } from './resources';
import {
  diskUsage,
  pruneBuildCache,
  pruneImages,
  systemPrune,
  type BuildCachePruneOptions,
  type DiskUsage,
  type ImagePruneOptions,
  type SystemPruneOptions,
  type SystemPruneResult,
} from './system';
import {
  createVolume,
  inspectVolume,
  listNetworks,
  listVolumes,
  pruneNetworks,
  pruneVolumes,
  removeVolume,
  type NetworkConnectOptions,
  type NetworkListOptions,
  type PruneOptions,
  type VolumeListOptions,
  type VolumePruneOptions,
} from './volumes-networks';
import { stats, top, type ContainerStats, type StatsOptions, type TopResult } from './top-stats';
import { searchImages, type SearchOptions } from './search';
import {
  Images,
  normalizeImageName,
  type HistoryItem,
  type HistoryOptions,
  type ImageInspect,
  type ImageListOptions,
  type ImageSummary,
  type ImportOptions,
  type LoadOptions,
  type PullAllTagsOptions,
  type PulledTags,
  type PullOptions,
  type PushAllTagsOptions,
  type PushedImage,
  type PushedTag,
  type PushOptions,
  type RemovedImage,
  type RemoveImageOptions,
  type ResolvedImage,
  type SaveOptions,
} from './images';

/** The engine's roots, registry settings and the rest: `DaemonSettings` are daemon.json's engine-wide ones (see `engineOptionsFromConfig`). */
export interface EngineOptions extends DaemonSettings {
  /** Persistent state (default `$CTR_ROOT` or `/var/lib/ctr`). */
  root?: string;
  /** State that dies with the machine (default `$CTR_RUNROOT` or `/run/ctr`). */
  runRoot?: string;
  /** How registries are reached: insecure registries, mirrors, credentials. */
  registry?: RegistryClientOptions;
  /**
   * The host's resolver configuration containers' resolv.conf is made from and the embedded
   * DNS forwards by (default `$CTR_RESOLV_CONF` or `/etc/resolv.conf`): on a host whose file
   * names only a local stub (systemd-resolved's 127.0.0.53), the file with the real servers.
   */
  hostResolvConf?: string;
  /** The OCI runtime binary (default `runc` on PATH). */
  runtimePath?: string;
  conmonPath?: string;
  /**
   * Daemonless restart policies and `--rm`: a program (and arguments) conmon runs when a
   * container with a restart policy, auto-remove or host mounts to release (a device volume,
   * a shareable /dev/shm) exits while no monitor of this engine runs; the container ID is appended. It should call `engine.handleExit(id)` on the same
   * root — the ctr command passes its own `container cleanup`.
   */
  exitCommand?: string[];
  /**
   * Daemonless health checks: a program (and arguments) a detached timer runs every interval
   * for a started container with a health check while no monitor of this engine runs; then
   * `--started-at <start> <id>` are appended. It should call `engine.healthcheck(id,
   * { startedAt })` on the same root and exit with RUN_OVER_EXIT_CODE when that says the run
   * is over — the ctr command passes its own `healthcheck run`.
   */
  healthcheckCommand?: string[];
  /** Where plugins are found (legacy plugins' directories: docker's by default) and how long activating one is retried. */
  plugins?: PluginOptions;
}

export interface RunOptions extends CreateContainerOptions, AttachIo {
  /** Start and return at once (`-d`); otherwise wait for the exit code. */
  detach?: boolean;
  /**
   * Attached with stdin and a TTY: the keys that detach (Docker's grammar, `ctrl-p,ctrl-q`
   * when absent). Typed, the run rejects with `detachedError` and the container runs on.
   */
  detachKeys?: string;
  /** Told once the container exists, before its process starts (to show create's warnings, or ready a terminal). */
  onCreated?: (created: CreatedContainer) => void;
  /**
   * Awaited once the container exists, after `onCreated`, before its process starts: what
   * must be in it first (docker's CLI copies `--use-api-socket`'s credentials in then). Its
   * failure takes the container apart again.
   */
  beforeStart?: (id: string) => Promise<void>;
  /** Told once its process has started, before the wait for its exit. */
  onStarted?: () => void;
}

export interface RunResult {
  id: string;
  name: string;
  /** The exit code, when not detached. */
  exitCode?: number;
  /** What create accepted but could not honour fully (Docker's `Warnings`). */
  warnings?: string[];
}

export interface BuildImageOptions extends Omit<BuildOptions<BuildState>, 'backend'> {
  /** Names for the built image (`-t`). */
  tags?: string[];
  /** Credentials for `FROM` pulls, by registry (`X-Registry-Config`), for this build only. */
  registryAuth?: Record<string, AuthConfig>;
  /** Hosts and limits for every RUN step's container. */
  steps?: BuildStepOptions;
  /**
   * docker's `--network`: where RUN steps run unless `RUN --network` says otherwise —
   * `default` (the default bridge, as docker), `bridge`, `none`, `host` (which also grants
   * `RUN --network=host`, as docker's does) or a user network's name.
   */
  network?: string;
  /** docker's `--isolation`: Linux has only `default` (the same as none given). */
  isolation?: string;
  /** docker's `--compress`: gzip the context a remote daemon is sent; an engine in this process reads it where it is. */
  compress?: boolean;
}

interface Detaching {
  /** What the attachment gets instead: its input without the keys, and a signal that also fires when they are typed. */
  io: { stdin: Readable; signal: AbortSignal };
  /** Aborted, with `detachedError` as its reason, once the keys are typed. */
  typed: AbortSignal;
  /** The attachment is over: stop watching its input. */
  close(): void;
}

/**
 * Watch an attachment's stdin for its detach keys, as dockerd does: a TTY's only (a pipe's
 * bytes are all the program's). Keys given are checked even when there is nothing to watch,
 * as dockerd checks them, so bad ones fail before anything is made or started.
 */
function watchDetachKeys(io: AttachIo, tty: boolean | undefined, what?: 'detach' | 'escape'): Detaching | undefined {
  const stdin = tty === true ? io.stdin : undefined;
  if (!stdin) {
    if (io.detachKeys !== undefined) parseDetachKeys(io.detachKeys, what);
    return undefined;
  }
  const watched = detachOnKeys(stdin, parseDetachKeys(io.detachKeys, what));
  const typed = new AbortController();
  void watched.detached.then(() => typed.abort(detachedError()));
  return {
    io: { stdin: watched.stream, signal: io.signal ? AbortSignal.any([io.signal, typed.signal]) : typed.signal },
    typed: typed.signal,
    close: watched.close,
  };
}

/** An attachment's end, or `detachedError` if it ended because its detach keys were typed. */
async function untilDetached<T>(attachment: Promise<T>, detaching: Detaching | undefined): Promise<T> {
  if (!detaching) return attachment;
  const value = await attachment
    .catch((error: unknown) => {
      if (!detaching.typed.aborted) throw error;
    })
    .finally(detaching.close);
  if (detaching.typed.aborted) throw detaching.typed.reason;
  return value as T;
}

/**
 * `docker info`'s Plugins: the built-in drivers with the volume, network and log plugins there
 * are — managed ones enabled, legacy ones found — each list in name order, as dockerd's.
 */
async function pluginsInfo(ctx: EngineContext): Promise<PluginsInfo> {
  const directory = ctx.plugins();
  const named = async (capability: string, builtIn: string[]): Promise<string[]> => [...builtIn, ...(await directory.all(capability)).map((p) => p.name)].sort();
  const [volume, network, log] = await Promise.all([
    named('VolumeDriver', ['local']),
    named('NetworkDriver', ['bridge', 'host', 'null']),
    named('LogDriver', ['fluentd', 'gelf', 'json-file', 'local', 'syslog']),
  ]);
  return { Volume: volume, Network: network, Authorization: null, Log: log };
}

/**
 * A `network connect`/`disconnect` event as dockerd emits it: the network (by its ID) is the
 * actor; the attributes name the container, the network and its driver.
 */
async function networkEvent(ctx: EngineContext, action: 'connect' | 'disconnect', network: NetworkInspect, container: string): Promise<void> {
  await ctx.events.emit('network', action, network.Id, { container, name: network.Name, type: network.Driver });
}

/** Remove an auto-remove container its user detached from once it exits (while this process runs). */
async function removeAtExit(containers: Containers, id: string): Promise<void> {
  await containers
    .wait(id)
    .then(() => containers.remove(id, AUTO_REMOVAL))
    .catch(() => undefined);
}

export const ENGINE_VERSION = '0.1.0';
/** The Docker Engine API version whose shapes ctr follows. */
export const API_VERSION = '1.47';

/**
 * The daemon's job as a library: pull, build, run and ship containers from one object.
 * Several engines (in several processes) on one root cooperate: all state is on disk.
 */
export class Engine {
  readonly root: string;
  readonly runRoot: string;
  private parts: Promise<{ ctx: EngineContext; images: Images; containers: Containers }> | undefined;
  private monitor: RestartMonitor | undefined;
  private managedPlugins: ManagedPlugins | undefined;
  private registryClient: RegistryClient | undefined;

  constructor(private options: EngineOptions = {}) {
    this.root = options.root ?? process.env.CTR_ROOT ?? '/var/lib/ctr';
    this.runRoot = options.runRoot ?? process.env.CTR_RUNROOT ?? '/run/ctr';
  }

  private ready(): Promise<{ ctx: EngineContext; images: Images; containers: Containers }> {
    this.parts ??= (async () => {
      mkdirSync(this.root, { recursive: true, mode: 0o711 });
      mkdirSync(this.runRoot, { recursive: true, mode: 0o711 });
      const store = await openStore({ root: this.root });
      let plugins: PluginDirectory | undefined;
      let network: NetworkManager | undefined;
      const { root, runRoot } = this;
      const networks = this.options.networks;
      const hostResolvConf = this.options.hostResolvConf !== undefined ? { hostResolvConf: this.options.hostResolvConf } : {};
      const ctx: EngineContext = {
        root: this.root,
        runRoot: this.runRoot,
        store,
        runtime: new Runtime({
          root: this.root,
          runRoot: this.runRoot,
          ...(this.options.runtimePath ? { runtimePath: this.options.runtimePath } : {}),
          ...(this.options.conmonPath ? { conmonPath: this.options.conmonPath } : {}),
          removeTree: removeTreeBehind,
          launch: launchDetached,
          spreadSubdirectories,
          ...hostResolvConf,
        }),
        // Made when first wanted: a container on network `none` never asks, and making it
        // parses the address pools and hashes the root (node:crypto, which `run` otherwise skips).
        get network(): NetworkManager {
          // A network's driver that is not built in is a network plugin, looked up (and its code loaded) only then.
          network ??= new NetworkManager({ root, runRoot, ...hostResolvConf, ...networks, drivers: (name, signal) => networkPluginsModule().networkDriver(ctx, name, signal), ipamDrivers: (name, signal) => ipamPluginsModule().ipamDriver(ctx, name, signal) });
          return network;
        },
        events: new EventLog(this.root),
        // A reload replaces the client, with the settings it reads (mirrors, insecure registries, limits).
        registry: () => (this.registryClient ??= new (registryModule().RegistryClient)(this.options.registry ?? {})),
        plugins: () => (plugins ??= new (pluginDirectoryModule().PluginDirectory)(this.options.plugins ?? {}, this.managedPluginsOf(ctx))),
        exitCommand: this.options.exitCommand,
        healthcheckCommand: this.options.healthcheckCommand,
        monitoring: () => this.monitor !== undefined,
      };
      const images = new Images(ctx);
      const containers = new Containers(ctx, images);
      images.containerImage = (id) => containers.imageOf(id);
      await containers.init();
      return { ctx, images, containers };
    })();
    return this.parts;
  }

  // Images

  async pull(ref: string, options: PullOptions = {}): Promise<ResolvedImage> {
    return (await this.ready()).images.pull(ref, options);
  }

  async push(ref: string, options: PushOptions = {}): Promise<PushedImage> {
    return (await this.ready()).images.push(ref, options);
  }

  /** `docker pull --all-tags`: every tag the registry lists for a repository (named without tag or digest). */
  async pullAllTags(repository: string, options: PullAllTagsOptions = {}): Promise<PulledTags> {
    return (await this.ready()).images.pullAllTags(repository, options);
  }

  /** `docker push --all-tags`: every local tag of a repository (named without tag or digest). */
  async pushAllTags(repository: string, options: PushAllTagsOptions = {}): Promise<PushedTag[]> {
    return (await this.ready()).images.pushAllTags(repository, options);
  }

  /**
   * `docker login` (`POST /auth`): check credentials against a registry (`serveraddress`,
   * default Docker Hub) with `GET /v2/`, through its token service if it has one. Nothing
   * is stored; a refusal is Unauthorized in dockerd's words.
   */
  async login(auth: AuthConfig, options: { signal?: AbortSignal } = {}): Promise<{ Status: string; IdentityToken: string }> {
    const { ctx } = await this.ready();
    const registry = registryModule();
    const credentials = registry.credentialsFromAuthConfig(auth, 'the login request');
    await ctx.registry().ping(registry.registryHostOf(auth.serveraddress || registry.DOCKER_HUB_SERVER), {
      credentials: credentials ?? {},
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { Status: 'Login Succeeded', IdentityToken: '' };
  }

  /**
   * `docker search` (`GET /images/search`): the index of the registry TERM names
   * (`127.0.0.1:5000/busy`; a bare term asks Docker Hub's), filtered as dockerd filters.
   */
  async searchImages(term: string, options: SearchOptions = {}): Promise<SearchResult[]> {
    return searchImages((await this.ready()).ctx.registry(), term, options);
  }

  /** `docker images`: every image, or those `filters` select (dockerd's keys and rules; an unknown key is InvalidArgument). */
  async images(options: ImageListOptions = {}): Promise<ImageSummary[]> {
    return (await this.ready()).images.list(options);
  }

  async inspectImage(ref: string): Promise<ImageInspect> {
    return (await this.ready()).images.inspect(ref);
  }

  async history(ref: string, options: HistoryOptions = {}): Promise<HistoryItem[]> {
    return (await this.ready()).images.history(ref, options);
  }

  async tag(source: string, target: string): Promise<void> {
    return (await this.ready()).images.tag(source, target);
  }

  async removeImage(ref: string, options: RemoveImageOptions = {}): Promise<RemovedImage[]> {
    return (await this.ready()).images.remove(ref, options);
  }

  async save(refs: readonly string[], options: SaveOptions = {}): Promise<Readable> {
    return (await this.ready()).images.save(refs, options);
  }

  async load(archive: Readable, options: LoadOptions = {}): Promise<{ loaded: string[] }> {
    return (await this.ready()).images.load(archive, options);
  }

  async importImage(source: RootfsSource, options: ImportOptions = {}): Promise<ResolvedImage> {
    return (await this.ready()).images.import(source, options);
  }

  /**
   * `busybox:latest` (or `name`) with `Cmd: ["sh"]` from the host's static busybox, with no
   * registry: a base image for tests, examples and offline hosts. Same result and events as
   * `importImage`; its scratch directory is under the root and removed even on failure.
   */
  async importBusybox(options: ImportBusyboxOptions = {}): Promise<ResolvedImage> {
    const { ctx, images } = await this.ready();
    return importBusybox(ctx, images, options);
  }

  /** `docker build`: a Dockerfile and its context (a directory or a tar stream) into an image, tagged with `tags`. */
  async build(options: BuildImageOptions): Promise<BuildResult> {
    const { ctx, images, containers } = await this.ready();
    const { tags, registryAuth, steps, network, isolation, ...rest } = options;
    checkBuildIsolation(isolation);
    const names = (tags ?? []).map(normalizeImageName);
    const stepNetwork = buildNetworkMode(network);
    const buildOptions = stepNetwork === 'host' ? { ...rest, allow: { ...rest.allow, networkHost: true } } : rest;
    await sweepScratch(ctx);
    // A context sent as a tar, ADD's downloads and each step's mount go on the store's
    // filesystem, not /tmp, in one directory that whoever finds it abandoned can clear.
    return withScratch(ctx, 'build', (scratch) =>
      ctx.store.leases.withLease(
        async (lease) => {
          const backend = new EngineBuildBackend(ctx, images, ctx.store.content.withLease(lease.id), scratch, registryAuth, steps, stepNetwork, (create) => containers.create(create));
          const result = await dockerfileModule().build({ ...buildOptions, scratchDir: buildOptions.scratchDir ?? scratch, backend });
          // Written to a directory or a tar, the build is no image of anyone's (buildx's local and tar exporters name none).
          // Each name's `tag` event is the build's only one: dockerd has no image `build` action.
          if (!options.output) for (const name of names) await images.tag(result.id, name);
          return result;
        },
        { expiresInMs: 6 * 3600_000 },
      ),
    );
  }

  async commit(container: string, options: CommitOptions = {}): Promise<{ id: string }> {
    const { ctx, containers, images } = await this.ready();
    return commitContainer(ctx, containers, images, container, options);
  }

  // Containers

  async create(options: CreateContainerOptions): Promise<CreatedContainer> {
    return (await this.ready()).containers.create(withContainerDefaults(options, this.options.containerDefaults));
  }

  /**
   * Start the container; with streams, attached before its process runs, and `attached`
   * resolves once all its output is delivered — or rejects with `detachedError` when the
   * detach keys are typed (stdin and a TTY).
   */
  async start(container: string, io: AttachIo = {}): Promise<{ attached?: Promise<void> }> {
    const { containers } = await this.ready();
    const detaching = watchDetachKeys(io, io.stdin ? (await containers.find(container)).run.tty : undefined);
    const started = await containers.start(container, { ...io, ...detaching?.io }).catch((error: unknown) => {
      detaching?.close();
      throw error;
    });
    if (!started.attached) detaching?.close();
    return started.attached ? { attached: untilDetached(started.attached, detaching) } : {};
  }

  /**
   * `docker run`: create and start. Attached (the default), it streams the container's
   * output to the given streams and resolves with its exit code once it has exited and all
   * output is delivered; `autoRemove` then removes it.
   */
  async run(options: RunOptions): Promise<RunResult> {
    const { containers } = await this.ready();
    const { detach, stdin, stdout, stderr, detachKeys, onCreated, beforeStart, onStarted, ...create } = options;
    const streams: AttachIo = detach
      ? {}
      : { ...(stdin ? { stdin } : {}), ...(stdout ? { stdout } : {}), ...(stderr ? { stderr } : {}), ...(options.signal ? { signal: options.signal } : {}) };
    // Bad keys fail before anything is made; the input is watched (and read) once the container
    // exists, as docker attaches after its create: a run that fails before (an image to pull
    // first) leaves the input for the next try, and keys typed meanwhile stop no start.
    if (!detach && detachKeys !== undefined) parseDetachKeys(detachKeys);
    let detaching = undefined as Detaching | undefined;
    const attach = (): AttachIo => {
      if (!detach) detaching = watchDetachKeys({ ...streams, ...(detachKeys !== undefined ? { detachKeys } : {}) }, create.tty);
      return { ...streams, ...detaching?.io };
    };
    let id: string | undefined;
    let result: RunResult;
    try {
      const started = await containers.run(withContainerDefaults(create, this.options.containerDefaults), attach, {
        onCreated: (made) => {
          id = made.id;
          onCreated?.(made);
        },
        beforeStart,
        exitAwaited: !detach,
      });
      onStarted?.();
      if (detach) return started.created;
      result = { ...started.created, exitCode: (await containers.wait(started.created.id, detaching?.typed)).StatusCode };
      await untilDetached(started.attached ?? Promise.resolve(), detaching);
      await started.release?.();
    } catch (error) {
      if (detaching?.typed.aborted) {
        // The container runs on: removed once it exits, by this process while it runs (conmon's exit command once it is gone).
        if (options.autoRemove && id !== undefined) void removeAtExit(containers, id);
        throw detaching.typed.reason;
      }
      if (options.autoRemove && id !== undefined) await containers.remove(id, AUTO_REMOVAL).catch(() => undefined);
      throw error;
    } finally {
      detaching?.close();
    }
    if (options.autoRemove) await containers.remove(result.id, AUTO_REMOVAL);
    return result;
  }

  async wait(container: string, signal?: AbortSignal): Promise<{ StatusCode: number; OOMKilled: boolean }> {
    return (await this.ready()).containers.wait(container, signal);
  }

  async stop(container: string, options: StopOptions = {}): Promise<void> {
    return (await this.ready()).containers.stop(container, options);
  }

  async kill(container: string, signal?: string | number): Promise<void> {
    return (await this.ready()).containers.kill(container, signal);
  }

  /** `start`: how it starts again, when not as `start` does (a daemon's own, which attaches the clients waiting for it). */
  async restart(container: string, options: StopOptions = {}, start?: (id: string) => Promise<unknown>): Promise<void> {
    return (await this.ready()).containers.restart(container, options, start);
  }

  async pause(container: string): Promise<void> {
    return (await this.ready()).containers.pause(container);
  }

  async unpause(container: string): Promise<void> {
    return (await this.ready()).containers.unpause(container);
  }

  /** `docker rm`; with `waitForOther`, the caller's own removal of a container (a daemon's, for `--rm`): see `RemoveOptions`. */
  async remove(container: string, options: RemoveOptions = {}): Promise<void> {
    await (await this.ready()).containers.remove(container, options);
  }

  async ps(options: ListOptions = {}): Promise<ContainerSummary[]> {
    return (await this.ready()).containers.list(options);
  }

  async inspect(container: string, options: InspectOptions = {}): Promise<ContainerInspect> {
    return (await this.ready()).containers.inspect(container, options);
  }

  async *logs(container: string, options: ContainerLogsOptions = {}): AsyncGenerator<ContainerLogEntry> {
    yield* (await this.ready()).containers.logs(container, options);
  }

  /**
   * `docker exec`: run a process in a running container; `onStart` gives its controls
   * (terminal resize). With stdin and a TTY, the detach keys end the session with
   * `detachedError` (Docker's exec wording for bad keys: "Invalid escape keys"); the process runs on.
   */
  async exec(container: string, options: ContainerExecOptions & Pick<AttachIo, 'detachKeys'>): Promise<ExecResult> {
    const { containers } = await this.ready();
    const { detachKeys, ...exec } = options;
    const detaching = watchDetachKeys({ ...exec, ...(detachKeys !== undefined ? { detachKeys } : {}) }, exec.tty, 'escape');
    return untilDetached(containers.exec(container, { ...exec, ...detaching?.io }), detaching);
  }

  /** `docker attach`: resolves when the container closes its streams; rejects with `detachedError` when the detach keys are typed. */
  async attach(container: string, io: AttachIo): Promise<void> {
    const { containers } = await this.ready();
    const detaching = watchDetachKeys(io, io.stdin ? (await containers.find(container)).run.tty : undefined);
    return untilDetached(containers.attach(container, { ...io, ...detaching?.io }), detaching);
  }

  async resize(container: string, size: { height: number; width: number }): Promise<void> {
    return (await this.ready()).containers.resize(container, size);
  }

  async rename(container: string, name: string): Promise<void> {
    return (await this.ready()).containers.rename(container, name);
  }

  /** `docker update`: change a container's resource limits (live, if it runs) and its restart policy; warns of what the kernel cannot take. */
  async update(container: string, options: UpdateOptions): Promise<{ warnings: string[] }> {
    return (await this.ready()).containers.update(container, options);
  }

  /** `docker container prune`: stopped containers, or those of them `filters` select (`label`, `label!`, `until`). */
  async pruneContainers(options: PruneOptions = {}): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    return (await this.ready()).containers.prune(options);
  }

  /** `docker cp`'s stat of a path, resolved as its source is: a link at the end is followed (in the container) only after a trailing `/` or `/.`. */
  async statPath(container: string, path: string): Promise<PathStat> {
    const { ctx, containers } = await this.ready();
    return statPath(ctx, await containers.find(container), container, path);
  }

  /** `docker cp CONTAINER:PATH -`: a tar of the path, resolved inside the container's root. */
  async getArchive(container: string, path: string, options: { signal?: AbortSignal } = {}): Promise<{ stat: PathStat; tar: Readable }> {
    const { ctx, containers } = await this.ready();
    const record = await containers.find(container);
    const archive = await getArchive(ctx, record, container, path, options);
    await ctx.events.container('archive-path', record);
    return archive;
  }

  /** `docker cp - CONTAINER:DIR`: extract a tar into a directory of the container, never outside its root. */
  async putArchive(container: string, path: string, tar: Readable, options: PutArchiveOptions = {}): Promise<void> {
    const { ctx, containers } = await this.ready();
    const record = await containers.find(container).catch((error) => {
      tar.destroy();
      throw error;
    });
    await putArchive(ctx, record, container, path, tar, options);
    await ctx.events.container('extract-to-dir', record);
  }

  /** `docker export`: the container's filesystem as a tar stream. */
  async export(container: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    const { ctx, containers } = await this.ready();
    const record = await containers.find(container);
    const tar = await exportContainer(ctx, record, options);
    await ctx.events.container('export', record);
    return tar;
  }

  /** `docker diff`: paths the container added (1), changed (0) or deleted (2). */
  async changes(container: string): Promise<FilesystemChange[]> {
    const { ctx, containers } = await this.ready();
    return containerChanges(ctx, await containers.find(container));
  }

  /** `docker top`: the container's processes through the host's `ps` (default `-ef`). */
  async top(container: string, psArgs?: string): Promise<TopResult> {
    const { ctx, containers } = await this.ready();
    const record = await containers.find(container);
    const processes = await top(ctx, record, psArgs);
    await ctx.events.container('top', record);
    return processes;
  }

  /** `docker stats`: one sample (default) or a sample a second while `stream` until the signal aborts. */
  async *stats(container: string, options: StatsOptions = {}): AsyncGenerator<ContainerStats> {
    const { ctx, containers } = await this.ready();
    yield* stats(ctx, await containers.find(container), options);
  }

  // Volumes

  /**
   * `docker volume create [-d DRIVER]`: `local` (the default) takes `options` as its own
   * (`type`, `device`, `o`: see @ctr/store's CreateVolumeOptions); any other driver is a volume
   * plugin (see `EngineOptions.plugins`), given the options as its Create's `Opts`.
   */
  async createVolume(options: CreateVolumeOptions & { signal?: AbortSignal } = {}): Promise<VolumeInfo> {
    const { signal, ...create } = options;
    return createVolume((await this.ready()).ctx, create, signal);
  }

  /** `docker volume ls`, with docker's filters (`dangling`, `driver`, `label`, `name`). */
  async volumes(options: VolumeListOptions = {}): Promise<VolumeInfo[]> {
    return listVolumes((await this.ready()).ctx, options);
  }

  async inspectVolume(name: string): Promise<VolumeInfo> {
    return inspectVolume((await this.ready()).ctx, name);
  }

  async removeVolume(name: string, options: { force?: boolean } = {}): Promise<void> {
    return removeVolume((await this.ready()).ctx, name, options);
  }

  /** `docker volume prune [-a]`: unused anonymous volumes (every unused one with `all`), with docker's filters (`label`, `label!`, `all`). */
  async pruneVolumes(options: VolumePruneOptions = {}): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    return pruneVolumes((await this.ready()).ctx, options);
  }

  // Networks

  async createNetwork(options: NetworkCreateOptions): Promise<NetworkInspect> {
    const { ctx } = await this.ready();
    const network = await ctx.network.createNetwork(options);
    await ctx.events.emit('network', 'create', network.Id, { name: network.Name, type: network.Driver });
    return network;
  }

  /** `docker network ls`, with docker's filters (`dangling`, `driver`, `id`, `label`, `name`, `scope`, `type`). */
  async networks(options: NetworkListOptions = {}): Promise<NetworkInspect[]> {
    return listNetworks((await this.ready()).ctx, options);
  }

  async inspectNetwork(name: string): Promise<NetworkInspect> {
    return (await this.ready()).ctx.network.inspectNetwork(name);
  }

  async removeNetwork(name: string): Promise<void> {
    const { ctx } = await this.ready();
    const network = await ctx.network.inspectNetwork(name);
    await ctx.network.removeNetwork(name);
    await ctx.events.emit('network', 'destroy', network.Id, { name: network.Name, type: network.Driver });
  }

  async connect(network: string, container: string, options: NetworkConnectOptions = {}): Promise<void> {
    const { ctx, containers } = await this.ready();
    const record = await containers.find(container);
    // A swarm task may join its service's networks, attachable or not.
    const request = { name: network, ...options, ...(record.labels['com.docker.swarm.task.id'] !== undefined ? { task: true } : {}) };
    const running = await isRunning(ctx, record.id);
    // A stopped container's file is made at its next start.
    await ctx.network.connect(record.id, request, { running, ...(running ? { onResolver: (resolvConf: string) => useEmbeddedDns(ctx, record, resolvConf) } : {}) });
    // dockerd only records a stopped container's new network; it joins it, and says so, at its next start.
    if (running) await networkEvent(ctx, 'connect', await ctx.network.inspectNetwork(network), record.id);
  }

  async disconnect(network: string, container: string): Promise<void> {
    const { ctx, containers } = await this.ready();
    const record = await containers.find(container);
    // Looked up first: the endpoint that names it goes with the disconnect.
    const named = await ctx.network.inspectNetwork(network);
    await ctx.network.disconnect(record.id, network, { running: await isRunning(ctx, record.id) });
    await networkEvent(ctx, 'disconnect', named, record.id);
  }

  // System

  /**
   * Honour restart policies while this engine lives: watch containers with a policy (or
   * detached auto-remove ones, or ones holding host mounts) and restart or remove them (or
   * release their mounts) when they exit. Stopped by `close()`.
   */
  async startMonitor(options: { scanIntervalMs?: number } = {}): Promise<void> {
    if (this.monitor) return;
    const { ctx, containers } = await this.ready();
    this.monitor = new RestartMonitor(ctx, containers, options);
    await this.monitor.start();
  }

  /**
   * Run container `ref`'s health check once and record its result (`podman healthcheck
   * run`): Conflict when it has none or is not running (or, with `startedAt`, when the run
   * that started then is over).
   */
  async healthcheck(ref: string, options: ProbeOptions = {}): Promise<HealthState> {
    const { ctx, containers } = await this.ready();
    return probe(ctx, await containers.find(ref), options);
  }

  /**
   * Act on container `id`'s exit once, as a monitor would: what it held on the host released,
   * the die event, then removal (`--rm`) or a restart its policy asks for. What `exitCommand` programs call.
   */
  async handleExit(id: string): Promise<void> {
    const { ctx, containers } = await this.ready();
    // conmon gives the full ID, perhaps of a container whose record `run` is still writing.
    await handleExit(ctx, containers, /^[0-9a-f]{64}$/.test(id) ? id : (await containers.find(id)).id);
  }

  /**
   * After a reboot-like loss of the run directory: start `always`/`unless-stopped` containers
   * again, remove exited `--rm` ones, and start the managed plugins that were enabled (as dockerd
   * restores them; one that will not start is left disabled).
   */
  async recover(): Promise<{ restarted: string[]; removed: string[] }> {
    const { ctx, containers } = await this.ready();
    const recovered = await recoverContainers(ctx, containers);
    if (existsSync(path.join(this.root, 'plugins'))) await (await this.plugins()).restore(true);
    return recovered;
  }

  // Plugins

  /** The managed plugins, loaded when first asked for: `run` never pays for them. */
  private async plugins(): Promise<ManagedPlugins> {
    return this.managedPluginsOf((await this.ready()).ctx);
  }

  /** The one manager of this engine's managed plugins (its commands' and its plugin lookups'), run under its runtime and conmon. */
  private managedPluginsOf(ctx: EngineContext): ManagedPlugins {
    this.managedPlugins ??= new (pluginsModule().ManagedPlugins)({
      root: this.root,
      runRoot: this.runRoot,
      ...(this.options.runtimePath ? { runtimePath: this.options.runtimePath } : {}),
      ...(this.options.conmonPath ? { conmonPath: this.options.conmonPath } : {}),
      registry: () => ctx.registry(),
      version: ENGINE_VERSION,
      // dockerd counts the volumes and networks that acquired the plugin; ctr asks who names it as
      // their driver, from its own records: asked under the plugins' lock, this must not ask the
      // plugins themselves (a plugin lookup may restore one, which takes that lock).
      inUse: async (name) => {
        const names = new Set([name, name.replace(/:latest$/, '')]);
        const [volumes, networks] = await Promise.all([ctx.store.volumes.list(), ctx.network.listNetworks()]);
        return volumes.some((v) => names.has(v.Driver)) || networks.some((n) => names.has(n.Driver));
      },
      onEvent: async (action, id, name) => {
        await ctx.events.emit('plugin', action, id, { name });
      },
    });
    return this.managedPlugins;
  }

  /**
   * The plugin `name` implementing `capability`, found as dockerd's plugin getter finds it
   * (managed first, then legacy), with a client for its calls: how ctrd reaches its
   * authorization plugins.
   */
  async plugin(name: string, capability: string, signal?: AbortSignal): Promise<{ endpoint: PluginEndpoint; client: PluginClient }> {
    const directory = (await this.ready()).ctx.plugins();
    const endpoint = await directory.get(name, capability, signal);
    return { endpoint, client: directory.client(endpoint) };
  }

  /** `docker plugin ls`, with docker's filters (`enabled`, `capability`). */
  async listPlugins(options: PluginListOptions = {}): Promise<PluginInspect[]> {
    return (await this.plugins()).list(options);
  }

  async inspectPlugin(name: string): Promise<PluginInspect> {
    return (await this.plugins()).inspect(name);
  }

  /** `docker plugin create NAME DIR`: `tar` holds the plugin's `config.json` and `rootfs/` (gzip or not). */
  async createPlugin(name: string, tar: Readable, options: { signal?: AbortSignal } = {}): Promise<void> {
    await (await this.plugins()).create(name, tar, options);
  }

  async enablePlugin(name: string, options: PluginEnableOptions = {}): Promise<void> {
    return (await this.plugins()).enable(name, options);
  }

  async disablePlugin(name: string, options: { force?: boolean } = {}): Promise<void> {
    return (await this.plugins()).disable(name, options);
  }

  async removePlugin(name: string, options: { force?: boolean } = {}): Promise<void> {
    return (await this.plugins()).remove(name, options);
  }

  /** `docker plugin set PLUGIN KEY=VALUE…` of a disabled plugin. */
  async setPlugin(name: string, settings: readonly string[]): Promise<void> {
    return (await this.plugins()).set(name, settings);
  }

  /** `docker plugin push NAME`: to the registry its name says, as an image manifest of the plugin's config and rootfs. */
  async pushPlugin(name: string, options: PluginPushOptions = {}): Promise<PushedPlugin> {
    return (await this.plugins()).push(name, options);
  }

  /** What installing `remote` asks the user to grant (`GET /plugins/privileges`). */
  async pluginPrivileges(remote: string, options: PluginRegistryOptions = {}): Promise<PluginPrivilege[]> {
    return (await this.plugins()).privileges(remote, options);
  }

  /** `docker plugin install`'s pull: `remote` made a disabled plugin, once the privileges granted match its config's. */
  async pullPlugin(remote: string, options: PluginPullOptions): Promise<PluginInspect> {
    return (await this.plugins()).pull(remote, options);
  }

  /** `docker plugin upgrade PLUGIN REMOTE` of a disabled plugin: its rootfs and config become the remote's; settings stay. */
  async upgradePlugin(name: string, remote: string, options: Omit<PluginPullOptions, 'name'>): Promise<PluginInspect> {
    return (await this.plugins()).upgrade(name, remote, options);
  }

  /**
   * dockerd's reload (SIGHUP): the reloadable settings replaced (the registry client is made
   * again with them), announced as its `daemon reload` event with every one's new value.
   */
  async reload(settings: ReloadableSettings): Promise<EngineEvent> {
    const { ctx } = await this.ready();
    this.options = { ...this.options, ...settings, registry: { ...this.options.registry, ...settings.registry } };
    this.registryClient = undefined;
    return ctx.events.emit('daemon', 'reload', await engineId(this.root), { ...reloadAttributes(this.options), name: os.hostname() });
  }

  /** Stop the background work (the restart monitor, file deletions under way). Containers keep running. */
  async close(): Promise<void> {
    const monitor = this.monitor;
    this.monitor = undefined;
    await monitor?.close();
    if (this.parts) await (await this.parts).ctx.store.snapshots.settle();
  }

  /** `docker system prune [-a] [--volumes]`. */
  async prune(options: SystemPruneOptions = {}): Promise<SystemPruneResult> {
    const { ctx, containers, images } = await this.ready();
    return systemPrune(ctx, containers, images, options);
  }

  /** `docker image prune [-a]`: dangling images (with `all`, every image no container uses), with docker's filters (`dangling`, `label`, `label!`, `until`). */
  async pruneImages(options: ImagePruneOptions = {}): Promise<{ ImagesDeleted: RemovedImage[]; SpaceReclaimed: number }> {
    const { ctx, containers, images } = await this.ready();
    return pruneImages(ctx, containers, images, options);
  }

  /** `docker network prune`: user networks no container is connected to, with docker's filters (`label`, `label!`, `until`). */
  async pruneNetworks(options: PruneOptions = {}): Promise<{ NetworksDeleted: string[] }> {
    return pruneNetworks((await this.ready()).ctx, options);
  }

  /** `docker builder prune`: the build cache, or the entries `filters` (`until`, `id`) and `keepStorage` leave to go. */
  async pruneBuildCache(options: BuildCachePruneOptions = {}): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    return pruneBuildCache((await this.ready()).ctx, options);
  }

  /**
   * `podman system check`: the store's consistency and that of the containers, names, marks
   * and volumes above it; with `repair` (and `force`), repaired by podman's rules. Every
   * finding says what a repair does with it. A second check tells whether anything is left.
   */
  async systemCheck(options: SystemCheckOptions = {}): Promise<SystemCheckReport> {
    const { ctx, containers, images } = await this.ready();
    // This engine's own removals still deleting their files behind would read as unrecorded leftovers.
    await ctx.store.snapshots.settle();
    return systemCheck(ctx, containers, images, options);
  }

  /** What dockerd clears as it starts: what processes that have ended left (`sweepLeftovers`). */
  async sweep(options: { signal?: AbortSignal } = {}): Promise<SweepReport> {
    return sweepLeftovers((await this.ready()).ctx, options.signal);
  }

  /** `docker system df`. */
  async df(): Promise<DiskUsage> {
    const { ctx, containers, images } = await this.ready();
    return diskUsage(ctx, containers, images);
  }

  /**
   * Appends an event for another part of ctr that changes what `docker events` reports on (the
   * swarm's services, nodes, secrets and configs): every engine on this root sees it.
   */
  async emitEvent(event: Pick<EngineEvent, 'Type' | 'Action' | 'Actor'> & { scope?: EventScope }): Promise<EngineEvent> {
    const { ctx } = await this.ready();
    return ctx.events.emit(event.Type, event.Action, event.Actor.ID, event.Actor.Attributes, event.scope);
  }

  events(options: EventsOptions = {}): AsyncIterable<EngineEvent> {
    const self = this;
    return (async function* () {
      yield* (await self.ready()).ctx.events.events(options);
    })();
  }

  version(): { Version: string; ApiVersion: string; Os: string; Arch: string; KernelVersion: string; GoVersion: string; GitCommit: string; BuildTime: string; Experimental?: true } {
    return {
      // daemon.json's `experimental`, omitted when off as moby's omitempty does.
      ...(this.options.experimental === true ? { Experimental: true as const } : {}),
      Version: ENGINE_VERSION,
      ApiVersion: API_VERSION,
      Os: 'linux',
      Arch: process.arch === 'x64' ? 'amd64' : process.arch,
      KernelVersion: os.release(),
      GoVersion: `node${process.versions.node}`,
      ...buildInfo(),
    };
  }

  /** What `GET /version` lists after the engine: the programs containers run under, each asked once per process (never by `run`). */
  components(): Promise<ComponentVersion[]> {
    return platformComponents({ runtime: this.options.runtimePath ?? 'runc', monitor: this.options.conmonPath ?? 'conmon' });
  }

  /** `docker info`: dockerd's system.Info, true of this host and of ctr. */
  async info(): Promise<EngineInfo> {
    const { ctx } = await this.ready();
    const states = await ctx.runtime.list();
    const images = await ctx.store.images.list();
    const runtime = this.options.runtimePath ?? 'runc';
    const [id, cgroups, forwarding, { operatingSystem, osVersion }, runcCommit, tiniCommit] = await Promise.all([
      engineId(this.root),
      cgroupFeatures(),
      ipv4Forwarding(),
      hostOsRelease(),
      runtimeCommit(runtime),
      initCommit(),
    ]);
    return {
      ID: id,
      Containers: states.length,
      ContainersRunning: states.filter((s) => s.status === 'running').length,
      ContainersPaused: states.filter((s) => s.status === 'paused').length,
      ContainersStopped: states.filter((s) => s.status === 'exited' || s.status === 'created').length,
      Images: images.length,
      Driver: 'overlay2',
      DriverStatus: overlayDriverStatus(this.root),
      Plugins: await pluginsInfo(ctx),
      MemoryLimit: cgroups.memoryLimit,
      SwapLimit: cgroups.swapLimit,
      CpuCfsPeriod: cgroups.cpuCfsPeriod,
      CpuCfsQuota: cgroups.cpuCfsQuota,
      CPUShares: cgroups.cpuShares,
      CPUSet: cgroups.cpuSet,
      PidsLimit: cgroups.pidsLimit,
      IPv4Forwarding: forwarding,
      Debug: this.options.debug === true,
      NFd: openFileDescriptors(),
      OomKillDisable: cgroups.oomKillDisable,
      // Node runs no goroutines.
      NGoroutines: 0,
      SystemTime: goTimeNow(),
      LoggingDriver: this.options.containerDefaults?.log?.driver || 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cgroups.version,
      // Events are a file every process on the root follows; no engine counts their readers.
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: operatingSystem,
      OSVersion: osVersion,
      OSType: 'linux',
      // The kernel's name for the machine (`uname -m`: x86_64, aarch64), as dockerd reports it.
      Architecture: os.machine(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: registryConfig(this.options.registry),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      GenericResources: null,
      DockerRootDir: this.root,
      HttpProxy: proxyFromEnv(process.env, 'HTTP_PROXY'),
      HttpsProxy: proxyFromEnv(process.env, 'HTTPS_PROXY'),
      NoProxy: proxyFromEnv(process.env, 'NO_PROXY'),
      Name: os.hostname(),
      Labels: this.options.labels ?? [],
      ExperimentalBuild: this.options.experimental === true,
      ServerVersion: ENGINE_VERSION,
      Runtimes: { runc: { path: runtime } },
      DefaultRuntime: 'runc',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      // Containers run under conmon, not under the daemon: they outlive a ctrd that stops.
      LiveRestoreEnabled: true,
      Isolation: '',
      // `--init` mounts tini as /sbin/docker-init, dockerd's name for it.
      InitBinary: 'docker-init',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: runcCommit },
      InitCommit: { ID: tiniCommit },
      SecurityOptions: ['name=seccomp,profile=builtin', ...(cgroups.version === '2' ? ['name=cgroupns'] : [])],
      CDISpecDirs: [],
      Warnings: hostWarnings(cgroups, forwarding),
    };
  }
}
