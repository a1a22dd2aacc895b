import type { CreateContainerOptions, Engine, PullAllTagsOptions, PullOptions, PushAllTagsOptions, PushOptions, RunOptions } from '@ctr/engine';

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
> & {
  create(options: CreateOptions): ReturnType<Engine['create']>;
  run(options: RunContainerOptions): ReturnType<Engine['run']>;
  pull(ref: string, options?: Omit<PullOptions, 'onProgress'> & { onProgress?: (event: LayerProgress) => void }): Promise<PulledImage>;
  push(ref: string, options?: Omit<PushOptions, 'onProgress'> & { onProgress?: (event: PushLayerProgress) => void }): Promise<{ digest: string; size: number }>;
  pullAllTags(repository: string, options?: Omit<PullAllTagsOptions, 'onProgress'> & { onProgress?: (event: LayerProgress) => void }): ReturnType<Engine['pullAllTags']>;
  pushAllTags(repository: string, options?: Omit<PushAllTagsOptions, 'onProgress'> & { onProgress?: (event: PushLayerProgress) => void }): ReturnType<Engine['pushAllTags']>;
  importImage(source: Parameters<Engine['importImage']>[0], options?: Parameters<Engine['importImage']>[1]): Promise<ImageRef>;
  version(): EngineVersion | Promise<EngineVersion>;
};
