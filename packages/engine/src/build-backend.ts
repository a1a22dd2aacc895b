import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { BaseImage, BuildBackend, BuildCache, CachedStep, ImageSpec, PullMessage, PullPolicy, RunIO, RunResult, RunStep, UrlFetch } from '@ctr/dockerfile';
import { invalidArgument, isNotFound } from '@ctr/errors';
import { EMPTY_LAYER_DIFF_ID, applyLayer, createLayerFromOverlay, writeImage, writeLayer, layerCompression, parseNormalizedReference, parsePlatform, type ChainID, type Descriptor, type Digest, type DiffID, type Platform } from '@ctr/image';
import type { AuthConfig } from '@ctr/registry';
import type { RunOptions } from '@ctr/runtime';
import { EMBEDDED_DNS } from '@ctr/network';
import { mountAll, readJson, unmount, writeFileAtomic, type LocalContentStore } from '@ctr/store';
import type { EngineContext } from './context';
import { notForPlatform, type Images, type ResolvedImage } from './images';
import { PullMessages } from './pull-messages';
import { INIT_FILES } from './init-files';
import { registryModule } from './lazy-modules';
import { getTrustingExtraCas } from './trusted-get';
import { buildStepName, buildStepShortId, stepMountsDir } from './scratch';
import { withHostGateway } from './create-extras';
import { prepareStepMounts, type StepMounts } from './build-mounts';
import { keeps, keepStepContainer, type KeptStep } from './build-step-container';
import { noteInitEntries, untouchedInitEntries, type InitEntries } from './init-entries';
import { ownAddress, type CreateContainerOptions } from './containers';
import { parseSecurityOpt } from './security-options';

/**
 * A filesystem state during a build: layers (blobs in the content store) and their diffIDs.
 * Immutable; its snapshot is the committed one named by the top chainID.
 */
export interface BuildState {
  layers: Descriptor[];
  diffIds: DiffID[];
  /**
   * Uncompressed sizes, by diffID, of layers written but not unpacked (a RUN's, a squash's, or
   * a base image's own `ImageRecord.layerSizes`): the build's images record them, so docker's
   * sizes are right before an image first runs, as a commit's are.
   */
  layerSizes?: Record<string, number>;
}

/** `state` with one more layer on top; `size` is its uncompressed size, when it stays packed. */
function withLayer(state: BuildState, descriptor: Descriptor, diffId: DiffID, size?: number): BuildState {
  const layerSizes = size === undefined ? state.layerSizes : { ...state.layerSizes, [diffId]: size };
  return { layers: [...state.layers, descriptor], diffIds: [...state.diffIds, diffId], ...(layerSizes ? { layerSizes } : {}) };
}

/** What `createLayerFromOverlay` measures of the layer it writes (its `onSize`), once written. */
function sizeMeter(): { onSize: (size: number) => void; size: () => number } {
  let measured = 0;
  return {
    onSize: (size) => {
      measured = size;
    },
    size: () => measured,
  };
}

const EMPTY: BuildState = { layers: [], diffIds: [] };

/** What `docker build` gives each RUN step's container: `--add-host`, the limits, `--ulimit`, `--shm-size`, `--cgroup-parent`, `--security-opt`. */
export type BuildStepOptions = Pick<
  RunOptions,
  'extraHosts' | 'memory' | 'memorySwap' | 'cpuShares' | 'cpuPeriod' | 'cpuQuota' | 'cpusetCpus' | 'cpusetMems' | 'shmSize' | 'ulimits' | 'cgroupParent' | 'noNewPrivileges' | 'seccomp'
>;

/** What build steps take of `--security-opt`, for the hint of a refusal. */
const BUILD_SECURITY_HINT = 'Build steps honour no-new-privileges, seccomp=unconfined, apparmor=unconfined and label=disable.';

/**
 * docker build's `--security-opt` values as the step options they mean, each read as a
 * container's is (`parseSecurityOpt`). Honoured: `no-new-privileges[=bool]` and
 * `seccomp=unconfined`; `apparmor=unconfined` and `label=disable` are what ctr does anyway (it
 * applies no AppArmor profile or SELinux label). Anything else (a profile, a label) is refused
 * rather than ignored.
 */
export function buildSecurityOptions(values: readonly string[]): Pick<BuildStepOptions, 'noNewPrivileges' | 'seccomp'> {
  const options: Pick<BuildStepOptions, 'noNewPrivileges' | 'seccomp'> = {};
  for (const value of values) {
    const option = parseSecurityOpt(value, BUILD_SECURITY_HINT);
    if (option.key === 'no-new-privileges') options.noNewPrivileges = option.enabled;
    else if (option.key === 'seccomp' && option.seccomp === 'unconfined') options.seccomp = 'unconfined';
    else if (!((option.key === 'apparmor' && option.value === 'unconfined') || (option.key === 'label' && option.value === 'disable'))) {
      throw invalidArgument(`--security-opt ${value} is not supported for build steps`, { hint: BUILD_SECURITY_HINT });
    }
  }
  return options;
}

/**
 * docker's build `--network` as the network a step joins: `default` and no value are the
 * default bridge, as dockerd's builder makes them. Another container's network is refused:
 * a step has no container record to share it through.
 */
export function buildNetworkMode(network: string | undefined): string {
  if (network === undefined || network === '' || network === 'default') return 'bridge';
  if (network.startsWith('container:')) {
    throw invalidArgument(`network mode ${network} is not supported for builds`, { hint: 'Use default, bridge, none, host or the name of a network.' });
  }
  return network;
}

/** docker's `--isolation` for a build: Linux has only `default` (dockerd's words for any other). */
export function checkBuildIsolation(isolation: string | undefined): void {
  if (isolation && isolation.toLowerCase() !== 'default') {
    throw invalidArgument(`unsupported isolation: "${isolation}"`, { hint: "Linux has only the 'default' isolation." });
  }
}

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
  readonly fetch: UrlFetch = getTrustingExtraCas;
  /**
   * Steps that would not come apart (a container runc would not delete, a mount that stayed, a
   * snapshot the full disk kept): their mount points stay in the scratch directory, which then
   * outlives the build (`withScratch`), so the next sweep (`sweepScratch`) finds and clears them.
   */
  private readonly stranded = new Set<string>();

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
    /** Where a step without `RUN --network` runs: `bridge` (docker's default), `none`, `host` or a user network's name. */
    private readonly network = 'bridge',
    /** The engine's `create`, for the containers of metadata steps `--rm=false` keeps. */
    private readonly createContainer?: (options: CreateContainerOptions) => Promise<{ id: string }>,
  ) {
    this.cache = new FileBuildCache(path.join(ctx.root, 'engine', 'build-cache'), ctx);
  }

  /**
   * dockerd's GetImageAndReleasableLayer: the image here, or pulled as `pull` says (`missing` by
   * default). For a `platform` (`--platform`, or `FROM --platform` for its stage) an image here
   * for another platform is not here, as dockerd's GetImage with a platform finds none: `never`
   * refuses it, the others pull that platform's image, which the name then means.
   */
  async resolveImage(ref: string, options: { platform?: string; signal: AbortSignal; pull?: PullPolicy; onProgress?: (message: PullMessage) => void }): Promise<BaseImage<BuildState>> {
    const pull = options.pull ?? 'missing';
    const platform = options.platform === undefined ? undefined : parsePlatform(options.platform);
    const notHere = (error: unknown): undefined => {
      if (!isNotFound(error) || pull === 'never') throw error;
      return undefined;
    };
    const found = await this.images.resolve(ref, options.signal).catch(notHere);
    const mismatch = found && platform ? notForPlatform(ref, found, platform) : undefined;
    const here = mismatch ? notHere(mismatch) : found;
    const image = here && pull !== 'always' ? here : await this.pull(ref, found?.record.id, platform, options);
    // The build's lease holds its base from here (manifest, and through it config and layers): an rmi meanwhile keeps them.
    await this.content.info(image.record.target.digest);
    return {
      id: image.record.id,
      config: image.config,
      state: { layers: image.layers, diffIds: image.config.rootfs.diff_ids as DiffID[], ...(image.record.layerSizes ? { layerSizes: image.record.layerSizes } : {}) },
    };
  }

  /**
   * dockerd's pullForBuilder: `ref` from its registry (with the build's credentials for it), for
   * `platform` (the host's by default), telling `onProgress` what `docker pull` prints: where
   * from, each layer, the digest, and whether `ref` now names another image than `before`, the
   * one it named until now.
   */
  private async pull(ref: string, before: string | undefined, platform: Platform | undefined, options: { signal: AbortSignal; onProgress?: (message: PullMessage) => void }): Promise<ResolvedImage> {
    const auth = registryModule().authConfigFor(this.registryAuth, parseNormalizedReference(ref).domain);
    const messages = new PullMessages(ref, options.onProgress ?? (() => undefined));
    const image = await this.images.pull(ref, {
      signal: options.signal,
      ...(platform ? { platform } : {}),
      ...(auth ? { auth } : {}),
      onProgress: messages.progress,
    });
    messages.pulled(image, before);
    return image;
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

  /**
   * Mount a fresh snapshot on `parent`, run `use` on its root, always unmount. The snapshot is
   * removed after, unless `keep` says the value `use` gave is a container that stays.
   */
  private async withSnapshot<T>(
    parent: ChainID | undefined,
    kind: 'prepare' | 'view',
    use: (root: string, key: string) => Promise<T>,
    keep: (value: T) => boolean = () => false,
  ): Promise<T> {
    const key = buildStepName();
    const root = path.join(this.scratchDir, key);
    // The mount point first: a sweep finds the snapshot by it.
    await fs.mkdir(root);
    const snapshots = this.ctx.store.snapshots;
    let kept = false;
    try {
      const mounts = kind === 'prepare' ? await snapshots.prepare(key, parent) : await snapshots.view(key, parent);
      await mountAll(mounts, root);
      let failed = false;
      try {
        const value = await use(root, key);
        kept = keep(value);
        return value;
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        // The step's own failure stays the answer: a mount left behind is the sweep's.
        await unmount(root).catch((error: unknown) => {
          this.stranded.add(key);
          if (!failed) throw error;
        });
      }
    } finally {
      // A kept step's mount point stays until its container is one of the engine's: a sweep
      // finds an abandoned step by it.
      if (!kept) await this.takeApart(key, root);
    }
  }

  /**
   * A step's snapshot removed, then its mount point. What would not come apart keeps its mount
   * point, by which the sweep finds it; rmdir, not rm -r: were its unmount to have failed,
   * removing through it would reach into the layers.
   */
  private async takeApart(key: string, root: string): Promise<void> {
    if (this.stranded.has(key)) return;
    const removed = await this.ctx.store.snapshots.remove(key).then(() => true, (error: unknown) => isNotFound(error));
    if (removed) await fs.rmdir(root).catch(() => undefined);
    else this.stranded.add(key);
  }

  async run(state: BuildState, step: RunStep, io: RunIO, signal: AbortSignal): Promise<RunResult<BuildState>> {
    const parent = await this.unpack(state, signal);
    const extraHosts = await (this.extraHosts ??= withHostGateway(this.stepOptions.extraHosts, () => this.ctx.network.defaultGateway({ signal })));
    // What stays of a step whose container is kept: made one of the engine's once its mount is gone.
    let kept: KeptStep | undefined;
    const result = await this.withSnapshot<RunResult<BuildState>>(
      parent,
      'prepare',
      async (rootfs, id) => {
        // Docker's step containers are named by their ID, and their hostname is its short form.
        const hostname = buildStepShortId(id);
        const networkMode = step.network === 'default' ? this.network : step.network;
        const network = await this.stepNetwork(id, networkMode, hostname, signal);
        const upper = await this.ctx.store.snapshots.upperDir(id);
        let init: InitEntries = new Map();
        let exitCode: number;
        let mounts: StepMounts | undefined;
        let failed = false;
        try {
          if (step.mounts?.length) mounts = await prepareStepMounts(this.ctx, rootfs, stepMountsDir(this.scratchDir, id), step.mounts, signal);
          // With a secret in its environment, the container's spec stays on the secrets' tmpfs.
          const runtime = mounts?.containerRoot !== undefined ? this.ctx.runtime.rooted(mounts.containerRoot) : this.ctx.runtime;
          const run: RunOptions = {
            ...this.stepOptions,
            ...(extraHosts ? { extraHosts } : {}),
            cmd: step.args,
            entrypoint: [],
            env: [...step.env, ...(mounts?.env ?? [])],
            ...(step.user ? { user: step.user } : {}),
            workingDir: step.workdir,
            hostname,
            ...network.run,
            ...(mounts ? { mounts: mounts.mounts } : {}),
          };
          const created = await runtime.create(id, { rootfs, run, signal });
          // Before the step runs: what the runtime made to mount over is no change of the step's.
          init = noteInitEntries(upper);
          io.created?.(hostname);
          try {
            const started = await runtime.start(id, { attach: { stdout: io.stdout, stderr: io.stderr }, signal });
            exitCode = (await runtime.wait(id, { signal })).exitCode;
            await started.attached;
            // Only a container of the runtime's own root can stay: one on the step's secrets' tmpfs goes with it.
            if (keeps(step.keep, exitCode) && runtime === this.ctx.runtime) kept = { id, created: created.createdAt, step, run, network: networkMode };
          } finally {
            if (!kept) await runtime.delete(id, { force: true }).catch(() => this.stranded.add(id));
          }
        } catch (error) {
          failed = true;
          throw error;
        } finally {
          // A release that fails is the step's error only when the step itself did not fail.
          const released = await Promise.allSettled([network.release(kept !== undefined), mounts?.release()]);
          const refused = released.find((result): result is PromiseRejectedResult => result.status === 'rejected');
          // A network or mount left behind is the sweep's to take apart.
          if (refused) this.stranded.add(id);
          if (refused && !failed) {
            await this.dropKept(kept);
            kept = undefined;
            throw refused.reason;
          }
        }
        if (exitCode !== 0) return { exitCode, kept: kept !== undefined };
        try {
          const exclude = new Set([...INIT_FILES, ...untouchedInitEntries(upper, init)]);
          const meter = sizeMeter();
          const { descriptor, diffId } = await writeLayer(this.content, createLayerFromOverlay(upper, { signal, exclude, onSize: meter.onSize }), { compression: 'gzip', signal });
          // dockerd's NewChildImage: a step that changed nothing adds no layer, only its history entry.
          if (diffId === EMPTY_LAYER_DIFF_ID) return { exitCode: 0, state, emptyLayer: true, kept: kept !== undefined };
          return { exitCode: 0, state: withLayer(state, descriptor, diffId, meter.size()), kept: kept !== undefined };
        } catch (error) {
          await this.dropKept(kept);
          kept = undefined;
          throw error;
        }
      },
      (done) => done.kept === true,
    );
    if (kept && step.keep) {
      const container = kept;
      try {
        await keepStepContainer(this.ctx, container, step.keep.image);
      } catch (error) {
        await this.dropKept(container, true);
        throw error;
      } finally {
        if (!this.stranded.has(container.id)) await fs.rmdir(path.join(this.scratchDir, container.id)).catch(() => undefined);
      }
    }
    return result;
  }

  /** A metadata step's container, as dockerd creates it (never started) and `--rm=false` keeps it: an ordinary Created container. */
  async keepCommitContainer(image: string, cmd: readonly string[], signal: AbortSignal): Promise<string> {
    if (!this.createContainer) throw invalidArgument('this build cannot keep the containers of metadata steps');
    const { id } = await this.createContainer({ image, cmd: [...cmd], network: this.network, pull: 'never', signal });
    return buildStepShortId(id);
  }

  /** A step container that was to stay, taken apart after all: its runtime state and network, and its snapshot once withSnapshot has let it be. */
  private async dropKept(kept: KeptStep | undefined, snapshot = false): Promise<void> {
    if (!kept) return;
    await this.ctx.runtime.delete(kept.id, { force: true }).catch(() => this.stranded.add(kept.id));
    await this.ctx.network.detach(kept.id).catch(() => this.stranded.add(kept.id));
    if (snapshot && !this.stranded.has(kept.id)) await this.ctx.store.snapshots.remove(kept.id).catch(() => this.stranded.add(kept.id));
  }

  /**
   * A step container's network: `none` and `host` need nothing of ours; the default bridge or
   * a user network is attached for the step and detached by `release`, as a container's is.
   * A kept container's is only released, as a stopped container's: its record stays for its
   * next start (`docker start` of a kept step runs the step again) and goes with its removal.
   */
  private async stepNetwork(id: string, mode: string, hostname: string, signal: AbortSignal): Promise<{ run: Pick<RunOptions, 'network' | 'ipAddress' | 'dns'>; release(kept: boolean): Promise<void> }> {
    if (mode === 'none' || mode === 'host') return { run: { network: { mode } }, release: async () => undefined };
    const attached = await this.ctx.network.attach(id, { mode, hostname, signal });
    const address = ownAddress(attached.settings);
    return {
      run: {
        network: { mode: 'namespace', path: attached.netnsPath as string },
        ...(address ? { ipAddress: address } : {}),
        // On a user network names resolve through the embedded DNS, as a container's there do.
        ...(mode !== 'bridge' ? { dns: [EMBEDDED_DNS] } : {}),
      },
      release: (kept) => (kept ? this.ctx.network.release(id) : this.ctx.network.detach(id)),
    };
  }

  async apply(state: BuildState, layer: Readable, signal: AbortSignal): Promise<BuildState> {
    const written = await writeLayer(this.content, layer, { compression: 'gzip', signal });
    // Unpacked at once: its snapshot knows its size.
    const next = withLayer(state, written.descriptor, written.diffId);
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

  layerPrefix(state: BuildState, layers: number): BuildState {
    return { layers: state.layers.slice(0, layers), diffIds: state.diffIds.slice(0, layers), ...(state.layerSizes ? { layerSizes: state.layerSizes } : {}) };
  }

  /**
   * The layers above `base` applied, in order, onto a fresh snapshot of `base` mounted as an
   * overlay: overlayfs records what they changed together (deletions as whiteouts) in the
   * snapshot's upper directory, which becomes the one layer.
   */
  async squash(base: BuildState, state: BuildState, signal: AbortSignal): Promise<BuildState> {
    const parent = await this.unpack(base, signal);
    const content = this.ctx.store.content;
    return this.withSnapshot(parent, 'prepare', async (root, key) => {
      for (const layer of state.layers.slice(base.layers.length)) {
        await applyLayer(root, await content.read(layer.digest), { compression: layerCompression(layer.mediaType) ?? 'gzip', signal });
      }
      const upper = await this.ctx.store.snapshots.upperDir(key);
      const meter = sizeMeter();
      const { descriptor, diffId } = await writeLayer(this.content, createLayerFromOverlay(upper, { signal, onSize: meter.onSize }), { compression: 'gzip', signal });
      return withLayer(base, descriptor, diffId, meter.size());
    });
  }

  /** An image of the build: its config and manifest (its layers are the state's, shared by content), its parent beside it in the index. */
  async commit(state: BuildState, image: ImageSpec, signal: AbortSignal): Promise<{ id: string }> {
    const { parent, ...spec } = image;
    const config = { ...spec, rootfs: { type: 'layers' as const, diff_ids: state.diffIds } };
    const written = await writeImage(this.content, config, state.layers, { signal });
    // The image's own layers' sizes, not those of layers a squash or a layer prefix left behind.
    const sizes = Object.entries(state.layerSizes ?? {}).filter(([diffId]) => state.diffIds.includes(diffId as DiffID));
    const layerSizes = sizes.length > 0 ? Object.fromEntries(sizes) : undefined;
    // A cached step's image is most often here already, as the last build left it: the index is not rewritten for it.
    const here = await this.ctx.store.images.resolve(written.imageId).catch(() => undefined);
    const sized = sizes.every(([diffId]) => here?.layerSizes?.[diffId] !== undefined);
    if (here?.target.digest === written.manifest.digest && here.parent === parent && sized) return { id: written.imageId };
    await this.ctx.store.images.put(undefined, { id: written.imageId, target: written.manifest, ...(parent !== undefined ? { parent: parent as Digest } : {}), ...(layerSizes ? { layerSizes } : {}) });
    return { id: written.imageId };
  }
}
