import type { Readable, Writable } from 'node:stream';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '@ctr/image';
import type { UrlFetch } from './fetch-url';

/**
 * What the builder needs from the machine. The builder owns the Dockerfile's meaning (stages,
 * expansion, config, history, cache keys, which files COPY reads); the backend owns
 * filesystems and processes. `S` is the backend's handle for a filesystem *state*: an image's
 * layers plus the layers the build added (e.g. a chain of snapshot names). States are
 * immutable: `run` and `apply` return a new state one layer higher and leave the input usable.
 *
 * The engine implements this with @ctr/store (snapshots, blobs) and @ctr/runtime (runc);
 * tests use a directory-per-state fake.
 */
export interface BuildBackend<S> {
  /** An image to build on (`FROM ref`, `COPY --from=ref`), pulled if missing. */
  resolveImage(ref: string, options: { platform?: string; signal: AbortSignal }): Promise<BaseImage<S>>;
  /** The empty filesystem (`FROM scratch`). */
  scratch(signal: AbortSignal): Promise<S>;
  /**
   * Run a RUN step in a container whose root is `state`, streaming its output; the changes it
   * made become one new layer. A non-zero exit returns the code (and no state): the builder
   * turns it into Docker's error. The container is removed either way.
   */
  run(state: S, step: RunStep, io: RunIO, signal: AbortSignal): Promise<RunResult<S>>;
  /** Add one layer (an uncompressed tar stream, names relative to `/`) on top of `state`. */
  apply(state: S, layer: Readable, signal: AbortSignal): Promise<S>;
  /**
   * Lend a read-only host directory showing `state`'s filesystem while `use` runs (COPY
   * --from reads from it; COPY checks destinations and resolves `--chown` names in it).
   */
  view<T>(state: S, use: (root: string) => Promise<T>, signal: AbortSignal): Promise<T>;
  /** Step results by cache key (see `cacheKey`); keys are hex sha256 strings. */
  cache: BuildCache<S>;
  /** Write the final image (config + rootfs from the state's layers) and return its ID. */
  commit(state: S, image: ImageSpec, signal: AbortSignal): Promise<{ id: string }>;
  /**
   * How `ADD <url>` GETs its URLs (called as a plain function); Node's global `fetch` when
   * absent. The engine's trusts the extra CAs ctr was given, as its registry client does.
   */
  readonly fetch?: UrlFetch;
}

export interface BaseImage<S> {
  /** The image ID (config digest); cache keys of steps built on it start from this. */
  id: string;
  config: ImageConfig;
  state: S;
}

export interface RunStep {
  /** argv: `["/bin/sh", "-c", "make"]` for the shell form. */
  args: string[];
  /** `KEY=value`, ENV and build args in scope. */
  env: string[];
  /** `user[:group]` as in USER; '' means root. */
  user: string;
  /** Absolute; '/' when no WORKDIR was set. The backend creates it if missing. */
  workdir: string;
  /** `none` unless the Dockerfile asked otherwise (`RUN --network=…`) and it was allowed. */
  network: 'none' | 'default' | 'host';
}

export interface RunIO {
  stdout: Writable;
  stderr: Writable;
}

export type RunResult<S> = { exitCode: 0; state: S } | { exitCode: number; state?: undefined };

/** What a cached step gives back: its resulting state and its history entry (its `created` time keeps rebuilt image IDs identical). */
export interface CachedStep<S> {
  state: S;
  history: HistoryEntry;
}

export interface BuildCache<S> {
  get(key: string): Promise<CachedStep<S> | undefined>;
  put(key: string, step: CachedStep<S>): Promise<void>;
}

/** Everything of the final image config except `rootfs`, which the backend knows from the state. */
export interface ImageSpec {
  architecture: string;
  os: string;
  variant?: string;
  created: string;
  author?: string;
  config: ContainerConfig;
  history: HistoryEntry[];
}
