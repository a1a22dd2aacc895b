import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { BaseImage, BuildBackend, BuildCache, CachedStep, ImageSpec, RunIO, RunResult, RunStep, UrlFetch } from '@ctr/dockerfile';
import { isNotFound } from '@ctr/errors';
import { createLayerFromOverlay, writeImage, writeLayer, layerCompression, parseNormalizedReference, type ChainID, type Descriptor, type DiffID } from '@ctr/image';
import type { AuthConfig } from '@ctr/registry';
import type { RunOptions } from '@ctr/runtime';
import { mountAll, readJson, unmount, writeFileAtomic, type LocalContentStore } from '@ctr/store';
import type { EngineContext } from './context';
import type { Images } from './images';
import { INIT_FILES } from './init-files';
import { registryModule } from './lazy-modules';
import { buildStepName } from './scratch';
import { withHostGateway } from './create-extras';

/**
 * A filesystem state during a build: layers (blobs in the content store) and their diffIDs.
 * Immutable; its snapshot is the committed one named by the top chainID.
 */
export interface BuildState {
  layers: Descriptor[];
  diffIds: DiffID[];
}

const EMPTY: BuildState = { layers: [], diffIds: [] };

/** What `docker build` gives each RUN step's container: `--add-host`, the limits, `--ulimit`, `--shm-size`, `--cgroup-parent`. */
export type BuildStepOptions = Pick<
  RunOptions,
  'extraHosts' | 'memory' | 'memorySwap' | 'cpuShares' | 'cpuPeriod' | 'cpuQuota' | 'cpusetCpus' | 'cpusetMems' | 'shmSize' | 'ulimits' | 'cgroupParent'
>;

/** Build-step results by cache key, one small JSON file each under `<root>/engine/build-cache/`. */
class FileBuildCache implements BuildCache<BuildState> {
  constructor(
    private readonly dir: string,
    private readonly ctx: EngineContext,
  ) {}

  async get(key: string): Promise<CachedStep<BuildState> | undefined> {
    const file = path.join(this.dir, `${key}.json`);
    const step = await readJson<CachedStep<BuildState>>(file).catch(() => undefined);
    if (!step) return undefined;
    // A cached step whose layers were garbage-collected is a miss, not a broken build.
    for (const layer of step.state.layers) {
      if (!(await this.ctx.store.content.info(layer.digest).then(() => true, () => false))) return undefined;
    }
    // The file's mtime is the entry's last use: `builder prune --filter until=` goes by it.
    const now = new Date();
    await fs.utimes(file, now, now).catch(() => undefined);
    return step;
  }

  async put(key: string, step: CachedStep<BuildState>): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await writeFileAtomic(path.join(this.dir, `${key}.json`), JSON.stringify(step));
  }
}

/** @ctr/dockerfile's backend on real parts: snapshots from @ctr/store, RUN steps under runc. */
export class EngineBuildBackend implements BuildBackend<BuildState> {
  readonly cache: BuildCache<BuildState>;
  /** The steps' `--add-host` entries, `host-gateway` resolved once for the build. */
  private extraHosts: Promise<string[] | undefined> | undefined;
  /** `ADD https://…` trusts the CAs pulls trust (CTR_EXTRA_CA_CERTS); the registry module loads only when a build fetches a URL. */
  readonly fetch: UrlFetch = (url, init) => registryModule().fetchTrustingExtraCas(url, init);

  /**
   * @param content where the build writes its layers and image: the store's content store
   *   under the build's lease, so a concurrent gc cannot collect them mid-build.
   */
  constructor(
    private readonly ctx: EngineContext,
    private readonly images: Images,
    private readonly content: LocalContentStore,
    /** The build's scratch directory (`withScratch`): each step's snapshot is mounted in it. */
    private readonly scratchDir: string,
    /** Credentials for `FROM` pulls by registry (`X-Registry-Config`), for this build only. */
    private readonly registryAuth: Record<string, AuthConfig> = {},
    private readonly stepOptions: BuildStepOptions = {},
  ) {
    this.cache = new FileBuildCache(path.join(ctx.root, 'engine', 'build-cache'), ctx);
  }

  async resolveImage(ref: string, options: { platform?: string; signal: AbortSignal }): Promise<BaseImage<BuildState>> {
    const image = await this.images.resolve(ref, options.signal).catch((error) => {
      if (!isNotFound(error)) throw error;
      const auth = registryModule().authConfigFor(this.registryAuth, parseNormalizedReference(ref).domain);
      return this.images.pull(ref, { signal: options.signal, ...(auth ? { auth } : {}) });
    });
    return {
      id: image.record.id,
      config: image.config,
      state: { layers: image.layers, diffIds: image.config.rootfs.diff_ids as DiffID[] },
    };
  }

  async scratch(): Promise<BuildState> {
    return EMPTY;
  }

  /** Make sure every layer of the state is unpacked; the top chainID's snapshot is the state's filesystem. */
  private async unpack(state: BuildState, signal: AbortSignal): Promise<ChainID | undefined> {
    if (state.layers.length === 0) return undefined;
    const content = this.ctx.store.content;
    return this.ctx.store.unpackLayers(
      state.layers.map((layer, i) => ({
        diffId: state.diffIds[i] as DiffID,
        compression: layerCompression(layer.mediaType) ?? 'gzip',
        read: () => content.read(layer.digest),
      })),
      { signal },
    );
  }

  /** Mount a fresh snapshot on `parent`, run `use` on its root, always unmount. */
  private async withSnapshot<T>(
    parent: ChainID | undefined,
    kind: 'prepare' | 'view',
    use: (root: string, key: string) => Promise<T>,
  ): Promise<T> {
    const key = buildStepName();
    const root = path.join(this.scratchDir, key);
    // The mount point first: a sweep finds the snapshot by it.
    await fs.mkdir(root);
    const snapshots = this.ctx.store.snapshots;
    try {
      const mounts = kind === 'prepare' ? await snapshots.prepare(key, parent) : await snapshots.view(key, parent);
      await mountAll(mounts, root);
      try {
        return await use(root, key);
      } finally {
        await unmount(root);
      }
    } finally {
      // rmdir, not rm -r: were the unmount to have failed, removing through it would reach into the layers.
      await fs.rmdir(root).catch(() => undefined);
      await snapshots.remove(key).catch(() => undefined);
    }
  }

  async run(state: BuildState, step: RunStep, io: RunIO, signal: AbortSignal): Promise<RunResult<BuildState>> {
    const parent = await this.unpack(state, signal);
    const extraHosts = await (this.extraHosts ??= withHostGateway(this.stepOptions.extraHosts, () => this.ctx.network.defaultGateway({ signal })));
    return this.withSnapshot(parent, 'prepare', async (rootfs, id) => {
      await this.ctx.runtime.create(id, {
        rootfs,
        run: {
          ...this.stepOptions,
          ...(extraHosts ? { extraHosts } : {}),
          cmd: step.args,
          entrypoint: [],
          env: step.env,
          ...(step.user ? { user: step.user } : {}),
          workingDir: step.workdir,
          network: step.network === 'host' ? { mode: 'host' } : { mode: 'none' },
        },
        signal,
      });
      let exitCode: number;
      try {
        const started = await this.ctx.runtime.start(id, { attach: { stdout: io.stdout, stderr: io.stderr }, signal });
        exitCode = (await this.ctx.runtime.wait(id, { signal })).exitCode;
        await started.attached;
      } finally {
        await this.ctx.runtime.delete(id, { force: true }).catch(() => undefined);
      }
      if (exitCode !== 0) return { exitCode };
      const upper = await this.ctx.store.snapshots.upperDir(id);
      const { descriptor, diffId } = await writeLayer(this.content, createLayerFromOverlay(upper, { signal, exclude: INIT_FILES }), { compression: 'gzip', signal });
      return { exitCode: 0, state: { layers: [...state.layers, descriptor], diffIds: [...state.diffIds, diffId] } };
    });
  }

  async apply(state: BuildState, layer: Readable, signal: AbortSignal): Promise<BuildState> {
    const written = await writeLayer(this.content, layer, { compression: 'gzip', signal });
    const next = { layers: [...state.layers, written.descriptor], diffIds: [...state.diffIds, written.diffId] };
    await this.unpack(next, signal);
    return next;
  }

  async view<T>(state: BuildState, use: (root: string) => Promise<T>, signal: AbortSignal): Promise<T> {
    const parent = await this.unpack(state, signal);
    if (parent === undefined) {
      const empty = await fs.mkdtemp(path.join(this.scratchDir, 'empty-'));
      try {
        return await use(empty);
      } finally {
        await fs.rm(empty, { recursive: true, force: true });
      }
    }
    return this.withSnapshot(parent, 'view', (root) => use(root));
  }

  async commit(state: BuildState, image: ImageSpec, signal: AbortSignal): Promise<{ id: string }> {
    const config = { ...image, rootfs: { type: 'layers' as const, diff_ids: state.diffIds } };
    const written = await writeImage(this.content, config, state.layers, { signal });
    await this.ctx.store.images.put(undefined, { id: written.imageId, target: written.manifest });
    return { id: written.imageId };
  }
}
