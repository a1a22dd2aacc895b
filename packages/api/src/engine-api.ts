import type { ComponentVersion, CreateContainerOptions, Engine, PluginInspect, PluginPullOptions, PluginPushOptions, PullAllTagsOptions, PullOptions, PushAllTagsOptions, PushOptions, PushedPlugin, RunOptions } from '@ctr/engine';
import { MIN_API_VERSION } from './api-version';

type Progress<O> = O extends { onProgress?: (event: infer E) => void } ? Omit<E, 'digest'> : never;

/** A pull or push progress event as a daemon reports it: the layer's short ID, not its full digest. */
export type LayerProgress = Progress<PullOptions>;
export type PushLayerProgress = Progress<NonNullable<Parameters<Engine['push']>[1]>>;

/** Create or run options whose pull progress (a missing image) comes as a daemon reports it. */
type WithLayerProgress<O> = Omit<O, 'onPullProgress'> & { onPullProgress?: (event: LayerProgress) => void };
export type CreateOptions = WithLayerProgress<CreateContainerOptions>;
export type RunContainerOptions = WithLayerProgress<RunOptions>;

/** What `docker version` reports about the engine. */
export type EngineVersion = ReturnType<Engine['version']>;

/**
 * What a daemon answers `GET /version` with (moby's types.Version): the engine's version, the
 * server's platform, its components (the engine first, then what it runs containers with)
 * and the oldest API version it serves.
 */
export type ServerVersion = EngineVersion & { Platform: { Name: string }; Components: ComponentVersion[]; MinAPIVersion: string };

/** ctr's engine as a server: what ctrd serves as `GET /version`, and what in-process ctr shows as its server. */
export function serverVersion(v: EngineVersion, components: readonly ComponentVersion[]): ServerVersion {
  // Details is a map to dockerd, whose JSON writes its keys sorted.
  const details = { ApiVersion: v.ApiVersion, Arch: v.Arch, BuildTime: v.BuildTime, Experimental: String(v.Experimental === true), GitCommit: v.GitCommit, GoVersion: v.GoVersion, KernelVersion: v.KernelVersion, MinAPIVersion: MIN_API_VERSION, Os: v.Os };
  return { Platform: { Name: 'ctr' }, Components: [{ Name: 'Engine', Version: v.Version, Details: details }, ...components], ...v, MinAPIVersion: MIN_API_VERSION };
}

/** An image an import produced, as far as a daemon tells its client: its ID. */
export interface ImageRef {
  record: { id: string };
}

/** A pulled image: its ID and the digest of the manifest it was pulled as. */
export interface PulledImage {
  record: { id: string; target: { digest: string } };
}

/**
 * The engine as the `ctr` command uses it: @ctr/engine's `Engine` in-process, or
 * `RemoteEngine` over the Docker Engine API. Both satisfy it (the compiler checks), so each
 * command runs unchanged against either. Where a daemon tells less than the engine knows,
 * the result is the part both can give (an image's ID and manifest digest; a layer's short ID).
 */
export type EngineApi = Pick<
  Engine,
  | 'start'
  | 'wait'
  | 'stop'
  | 'kill'
  | 'restart'
  | 'pause'
  | 'unpause'
  | 'remove'
  | 'ps'
  | 'inspect'
  | 'logs'
  | 'exec'
  | 'attach'
  | 'resize'
  | 'rename'
  | 'update'
  | 'pruneContainers'
  | 'statPath'
  | 'getArchive'
  | 'putArchive'
  | 'export'
  | 'changes'
  | 'top'
  | 'stats'
  | 'commit'
  | 'images'
  | 'inspectImage'
  | 'history'
  | 'tag'
  | 'removeImage'
  | 'save'
  | 'load'
  | 'build'
  | 'createVolume'
  | 'volumes'
  | 'inspectVolume'
  | 'removeVolume'
  | 'pruneVolumes'
  | 'listPlugins'
  | 'inspectPlugin'
  | 'createPlugin'
  | 'enablePlugin'
  | 'disablePlugin'
  | 'removePlugin'
  | 'setPlugin'
  | 'pluginPrivileges'
  | 'createNetwork'
  | 'networks'
  | 'inspectNetwork'
  | 'removeNetwork'
  | 'connect'
  | 'disconnect'
  | 'prune'
  | 'pruneImages'
  | 'pruneNetworks'
  | 'pruneBuildCache'
  | 'df'
  | 'events'
  | 'info'
  | 'login'
  | 'searchImages'
  | 'components'
> & {
  create(options: CreateOptions): ReturnType<Engine['create']>;
  run(options: RunContainerOptions): ReturnType<Engine['run']>;
  pull(ref: string, options?: Omit<PullOptions, 'onProgress'> & { onProgress?: (event: LayerProgress) => void }): Promise<PulledImage>;
  push(ref: string, options?: Omit<PushOptions, 'onProgress'> & { onProgress?: (event: PushLayerProgress) => void }): Promise<{ digest: string; size: number }>;
  pullAllTags(repository: string, options?: Omit<PullAllTagsOptions, 'onProgress'> & { onProgress?: (event: LayerProgress) => void }): ReturnType<Engine['pullAllTags']>;
  pushAllTags(repository: string, options?: Omit<PushAllTagsOptions, 'onProgress'> & { onProgress?: (event: PushLayerProgress) => void }): ReturnType<Engine['pushAllTags']>;
  pushPlugin(name: string, options?: Omit<PluginPushOptions, 'onProgress'> & { onProgress?: (event: PushLayerProgress) => void }): Promise<PushedPlugin>;
  /** The plugin pulled, as far as a daemon tells: the name it was given. */
  pullPlugin(remote: string, options: Omit<PluginPullOptions, 'onProgress'> & { onProgress?: (event: LayerProgress) => void }): Promise<Pick<PluginInspect, 'Name'>>;
  upgradePlugin(name: string, remote: string, options: Omit<PluginPullOptions, 'name' | 'onProgress'> & { onProgress?: (event: LayerProgress) => void }): Promise<PluginInspect>;
  importImage(source: Parameters<Engine['importImage']>[0], options?: Parameters<Engine['importImage']>[1]): Promise<ImageRef>;
  /** The engine's own version; a daemon's answer is the whole ServerVersion, the engine's is completed by serverVersion. */
  version(): EngineVersion | Promise<EngineVersion | ServerVersion>;
};
