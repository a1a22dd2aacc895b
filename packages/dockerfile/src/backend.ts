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
  /**
   * An image to build on (`FROM ref`, `COPY --from=ref`) as `pull` says (default `missing`);
   * `onProgress` is told a pull's progress, as dockerd streams it.
   */
  resolveImage(ref: string, options: { platform?: string; signal: AbortSignal; pull?: PullPolicy; onProgress?: (message: PullMessage) => void }): Promise<BaseImage<S>>;
  /** The empty filesystem (`FROM scratch`). */
  scratch(signal: AbortSignal): Promise<S>;
  /**
   * Run a RUN step in a container whose root is `state`, streaming its output; the changes it
   * made become one new layer. A non-zero exit returns the code (and no state): the builder
   * turns it into Docker's error. The container is removed either way, unless the step asks to
   * keep it (`RunStep.keep`) and the backend can.
   */
  run(state: S, step: RunStep, io: RunIO, signal: AbortSignal): Promise<RunResult<S>>;
  /**
   * docker's classic builder commits a metadata step (ENV, LABEL, WORKDIR…) through a container it
   * creates and never starts, which `--rm=false` keeps: make that container, Created, of `image`
   * with `cmd` (`/bin/sh -c #(nop)  ENV A=1`), and give its short ID (as `RunIO.created`). Without
   * it none is kept.
   */
  keepCommitContainer?(image: string, cmd: readonly string[], signal: AbortSignal): Promise<string>;
  /** Add one layer (an uncompressed tar stream, names relative to `/`) on top of `state`. */
  apply(state: S, layer: Readable, signal: AbortSignal): Promise<S>;
  /**
   * Lend a read-only host directory showing `state`'s filesystem while `use` runs (COPY
   * --from reads from it; COPY checks destinations and resolves `--chown` names in it).
   */
  view<T>(state: S, use: (root: string) => Promise<T>, signal: AbortSignal): Promise<T>;
  /** Step results by cache key (see `cacheKey`); keys are hex sha256 strings. */
  cache: BuildCache<S>;
  /**
   * Write an image (config + rootfs from the state's layers) and return its ID: each step's
   * result (docker's classic builder's intermediate images, each the next one's `parent`) and
   * the final one. The same state and spec give the same ID again.
   */
  commit(state: S, image: ImageSpec, signal: AbortSignal): Promise<{ id: string }>;
  /** The state of `state`'s first `layers` layers: a `--cache-from` image's steps reused. Without it `cacheFrom` is refused. */
  layerPrefix?(state: S, layers: number): S;
  /**
   * `base` plus one layer that changes what all of `state`'s layers above `base`'s change
   * (`--squash`; `base`'s layers are a prefix of `state`'s). Without it `squash` is refused.
   */
  squash?(base: S, state: S, signal: AbortSignal): Promise<S>;
  /**
   * How `ADD <url>` GETs its URLs (called as a plain function); `getUrl` (node:http(s), any
   * port) when absent. The engine's trusts the extra CAs ctr was given, as its registry client does.
   */
  readonly fetch?: UrlFetch;
}

/**
 * dockerd's PullOption for a build's images: `never`, only one already here (`--cache-from`),
 * NotFound otherwise; `missing`, pulled when not here; `always`, pulled from its registry even
 * when here (`docker build --pull`), a failed pull failing the build.
 */
export type PullPolicy = 'never' | 'missing' | 'always';

/**
 * One message of a pull during a build, as dockerd's JSON stream has it: `Pulling from
 * library/busybox` (`id` the tag), a layer's status (`id` its short digest, `progress` its
 * bytes so far, `{}` when the status has none), then `Digest: …` and the outcome (no `id`).
 */
export interface PullMessage {
  status: string;
  id?: string;
  progress?: { current?: number; total?: number };
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
  /**
   * `RUN --network=…` as allowed; `default` (no flag) is the backend's default network for the
   * build — the engine's is docker's `--network` (the default bridge unless told otherwise).
   */
  network: 'none' | 'default' | 'host';
  /** `RUN --mount`s and the stage's VOLUMEs, resolved by the builder; shown to this step only, never part of its layer. */
  mounts?: RunMount[];
  /**
   * docker's `--rm` / `--force-rm`: the step's container stays once the step is over (exited, a
   * container like any other, to inspect, diff or commit) `always` (`--rm=false`) or
   * `on-failure` (the default: a failed step's stays); without it, it is removed (`--force-rm`).
   * `image` is the ID of what a kept container is a container of: the stage so far, the
   * previous step's image (docker's intermediate image).
   */
  keep?: { when: 'always' | 'on-failure'; image: string };
}

/** A `RUN --mount` as the backend makes it. `target` is absolute and cleaned (a secret given only as a variable has none). */
export type RunMount = RunBindMount | RunCacheMount | RunTmpfsMount | RunSecretMount | RunSshMount;

export interface RunBindMount {
  type: 'bind';
  target: string;
  /** A host file or directory lent for the step: part of the context, or of a state's `view`. */
  source: string;
  /** Writable mounts let the step write, and throw its writes away afterwards: `source` never changes. */
  readOnly: boolean;
}

/** A directory the backend keeps across builds, found again by `key`. */
export interface RunCacheMount {
  type: 'cache';
  target: string;
  /** The Dockerfile's `id` (default: the target), for listings. */
  id: string;
  /** Which directory: the id with what the directory starts as (seed, owner, mode); hex. */
  key: string;
  /** `shared`: used by any number of steps at once; `locked`: one at a time; `private`: another directory while one is busy. */
  sharing: 'shared' | 'private' | 'locked';
  readOnly: boolean;
  /** The part of the cache the step sees ('' for all of it): a directory it holds, never reached through a symlink. */
  subpath: string;
  /** A host directory whose contents a new cache directory starts with (`from=`). */
  seed?: string;
  uid: number;
  gid: number;
  mode: number;
}

export interface RunTmpfsMount {
  type: 'tmpfs';
  target: string;
  /** Bytes, with an optional unit (`64m`), as written in the Dockerfile. */
  size?: string;
}

/**
 * A secret's bytes, kept off the disk by the backend: a read-only file at `target`, and with
 * `env` also that variable of the step's process (the builder never puts a secret in `env`).
 */
export interface RunSecretMount {
  type: 'secret';
  /** Absent for a secret that is only a variable. */
  target?: string;
  env?: string;
  data: Uint8Array;
  uid: number;
  gid: number;
  mode: number;
}

/** A socket at `target` that leads to an ssh agent's `socket` on the host. */
export interface RunSshMount {
  type: 'ssh';
  target: string;
  socket: string;
  uid: number;
  gid: number;
  mode: number;
}

export interface RunIO {
  stdout: Writable;
  stderr: Writable;
  /**
   * Told the ID of the container the step runs in (docker's 12-character short form) once it
   * exists, before its process starts: the builder prints ` ---> Running in <id>`.
   */
  created?(id: string): void;
}

/**
 * `kept`: the step's container stayed (`RunStep.keep`); the builder says it was removed only when
 * told `false`, or on success when not told. `emptyLayer`: the step changed nothing, so `state`
 * is the one it ran on, no layer added (dockerd's NewChildImage records it as an empty layer).
 */
export type RunResult<S> = { exitCode: 0; state: S; kept?: boolean; emptyLayer?: boolean } | { exitCode: number; state?: undefined; kept?: boolean };

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
  /** The ID of the image this one is one step on from (docker's `Parent`); kept beside the image, not in its config. */
  parent?: string;
}
