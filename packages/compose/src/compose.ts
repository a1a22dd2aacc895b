import type { Readable, Writable } from 'node:stream';
import type { ContainerSummary } from '@ctr/engine';
import * as extras from './extras';
import type { AttachOptions, CommitOptions, ComposeEvent, CopyTargetsOptions, EventsOptions, ReplicaOptions, WaitOptions } from './extras';
import { checkParallel } from './concurrency';
import type { ComposeEngine } from './labels';
import type { ComposeProject } from './model';
import * as images from './images';
import * as lifecycle from './lifecycle';
import * as operations from './operations';
import * as watching from './watch';
import type { WatchOptions } from './watch';

/**
 * One step of a long Compose operation, in `docker compose`'s words: the resource (`Network
 * app_default`, `Container app-web-1`, `Volume app_data`, `Image busybox`, `Service web`)
 * and what is happening to it. `done` marks its last event; the CLI draws these as docker
 * compose's `[+] Running 3/3` lines.
 */
export interface ComposeProgress {
  /** '' for what compose names alone, with no kind before it (publish's repository). */
  resource: 'Network' | 'Volume' | 'Container' | 'Image' | 'Service' | '';
  name: string;
  /**
   * Creating, Created, Recreate, Recreated, Starting, Started, Running, Waiting, Healthy,
   * Exited, Stopping, Stopped, Killing, Killed, Removing, Removed, Pausing, Paused,
   * Unpausing, Unpaused, Restarting, Restarted, Pulling, Pulled, Building, Built, Skipped,
   * Warning, Error.
   */
  status: string;
  done: boolean;
  /** A warning's or an error's text, a pull's layer progress. */
  detail?: string;
}

export interface ComposeOptions {
  signal?: AbortSignal;
  onProgress?: (event: ComposeProgress) => void;
  /**
   * compose's `--parallel`: at most this many services acted on at once (created, started,
   * stopped, removed in dependency order) and images pulled, built or pushed at once; none, -1, 0 or
   * any negative for no limit, as compose takes them. A fraction is refused.
   */
  parallel?: number;
}

export interface ServicesOptions extends ComposeOptions {
  /** Only these services (default: all the project's). */
  services?: string[];
}

export interface CreateOptions extends ServicesOptions {
  /** `--build`: always; `--no-build`: never; default: build what has a `build:` and no image yet. */
  build?: 'always' | 'never' | 'missing';
  /** `--pull`: always, missing, never, build, or (default) each service's `pull_policy`. */
  pull?: 'always' | 'missing' | 'never' | 'build' | 'policy';
  /** `--force-recreate` (force), `--no-recreate` (never); default: recreate when the config hash differs. */
  recreate?: 'diverged' | 'force' | 'never';
  /** `--always-recreate-deps`. */
  recreateDependencies?: boolean;
  /** `--remove-orphans`: remove containers of services the project no longer has (else warn). */
  removeOrphans?: boolean;
  /** `--scale SERVICE=N`. */
  scale?: Record<string, number>;
  /** `--no-deps`: the named services alone, not what they depend on. */
  noDeps?: boolean;
  /** `-V`, `--renew-anon-volumes`: new anonymous volumes instead of the previous containers'. */
  renewAnonVolumes?: boolean;
  /** The output lines of the builds the verb makes (steps, RUN output), by service. */
  onBuildOutput?: (service: string, line: string) => void;
}

/** What `up` attaches to and reports, in order: every line of a service's output, and each container's exit. */
export type AttachEvent =
  | { type: 'log'; service: string; container: string; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'exit'; service: string; container: string; exitCode: number };

export interface UpOptions extends CreateOptions {
  /** `--no-start`: create only. */
  noStart?: boolean;
  /** `--wait`: return once every service is running (healthy when it has a health check), or fail. */
  wait?: boolean;
  /** `--wait-timeout` in seconds. */
  waitTimeout?: number;
  /**
   * Attached `up` (no `-d`): the services' containers are attached before they start, and
   * their output and exits come here (the services with `attach: false` excepted, and all
   * but `attachTo` when it is given). On a `dryRunEngine`, as compose's `--dry-run`, the
   * containers are only created: nothing would run to attach to.
   */
  onAttach?: (event: AttachEvent) => void;
  /** `--attach SERVICE`, `--attach-dependencies`, `--no-attach SERVICE`. */
  attachTo?: string[];
  attachDependencies?: boolean;
  noAttach?: string[];
}

export interface UpResult {
  /** With `onAttach`: settles once every attached container has exited (and will not be restarted). */
  attached?: Promise<void>;
}

export interface StartOptions extends ServicesOptions {
  wait?: boolean;
  waitTimeout?: number;
}

export interface StopOptions extends ServicesOptions {
  /** `-t`: seconds to wait before killing (default each container's stop_grace_period, else 10). */
  timeout?: number;
}

export interface DownOptions extends StopOptions {
  /** `--remove-orphans`. */
  removeOrphans?: boolean;
  /** `-v`: named volumes the project declares and anonymous volumes of its containers. */
  volumes?: boolean;
  /** `--rmi local` (images with no custom tag: built ones) or `--rmi all`. */
  images?: 'local' | 'all';
}

export interface RemoveOptions extends ServicesOptions {
  /** `-s`: stop running containers first (else they are skipped). */
  stop?: boolean;
  /** `-v`: their anonymous volumes too. */
  volumes?: boolean;
}

export interface KillOptions extends ServicesOptions {
  /** `-s`: the signal to send (default SIGKILL). */
  killSignal?: string;
  removeOrphans?: boolean;
}

export interface PsOptions extends ServicesOptions {
  /** `-a`: stopped containers too (and `run`'s one-off ones). */
  all?: boolean;
  /** `--status`: only containers in these states. */
  status?: string[];
}

/** A project's container as `docker compose ps --format json` prints it. */
export interface ComposeContainer {
  ID: string;
  Name: string;
  Names: string;
  Image: string;
  Command: string;
  Project: string;
  Service: string;
  Created: number;
  RunningFor: string;
  State: string;
  Status: string;
  Health: string;
  ExitCode: number;
  Labels: string;
  LocalVolumes: string;
  Mounts: string;
  Networks: string;
  Ports: string;
  Publishers: { URL: string; TargetPort: number; PublishedPort: number; Protocol: string }[];
  Size: string;
}

/** A project as `docker compose ls --format json` lists it. */
export interface ComposeProjectSummary {
  Name: string;
  /** `running(2)`, `exited(1), running(1)`. */
  Status: string;
  ConfigFiles: string;
}

export interface LogsOptions extends ServicesOptions {
  follow?: boolean;
  tail?: number | 'all';
  since?: string;
  until?: string;
  timestamps?: boolean;
  /** `--index`: one replica. */
  index?: number;
}

export interface ComposeLogLine {
  service: string;
  container: string;
  stream: 'stdout' | 'stderr';
  line: string;
  /** With `timestamps`: RFC 3339 with nanoseconds, as docker's. */
  timestamp?: string;
}

export interface BuildOptions extends ServicesOptions {
  noCache?: boolean;
  /** `--pull`: always try to pull a newer base image. */
  pull?: boolean;
  buildArgs?: Record<string, string>;
  /** The build's output lines (steps, RUN output), by service. */
  onOutput?: (service: string, line: string) => void;
}

export interface PullOptions extends ServicesOptions {
  ignorePullFailures?: boolean;
  /** `--include-deps`. */
  includeDeps?: boolean;
  /** `--ignore-buildable`: skip services that have a `build:`. */
  ignoreBuildable?: boolean;
  policy?: 'always' | 'missing';
}

export interface PushOptions extends ServicesOptions {
  ignorePushFailures?: boolean;
  includeDeps?: boolean;
}

export interface StdioOptions {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  tty?: boolean;
  interactive?: boolean;
  detachKeys?: string;
}

export interface ExecOptions extends StdioOptions {
  /** `--index`: which replica (default 1). */
  index?: number;
  command: string[];
  user?: string;
  workdir?: string;
  env?: string[];
  privileged?: boolean;
  detach?: boolean;
  signal?: AbortSignal;
}

export interface RunOptions extends StdioOptions, ComposeOptions {
  /** The command (default the service's). */
  command?: string[];
  entrypoint?: string[];
  /** `--name` (default `<project>-<service>-run-<12 hex>`). */
  name?: string;
  rm?: boolean;
  detach?: boolean;
  env?: string[];
  labels?: Record<string, string>;
  user?: string;
  workdir?: string;
  /** `-p`. */
  publish?: string[];
  /** `--service-ports`: the service's own ports. */
  servicePorts?: boolean;
  /** `-v`. */
  volumes?: string[];
  noDeps?: boolean;
  build?: boolean;
  pull?: 'always' | 'missing' | 'never' | 'policy';
  /** The output lines of the builds the run makes, by service. */
  onBuildOutput?: (service: string, line: string) => void;
}

export interface ImageRow {
  Container: string;
  Repository: string;
  Tag: string;
  ID: string;
  Size: number;
}

export interface TopRow {
  container: string;
  titles: string[];
  processes: string[][];
}

export interface PortOptions {
  protocol?: 'tcp' | 'udp';
  index?: number;
}

/**
 * A Compose project bound to an engine: `docker compose`'s verbs as methods. Every resource
 * it makes carries compose's labels, so a later `Compose` of the same project (another
 * process, another session) finds and reconciles it; nothing else is stored.
 */
export interface ComposeApi {
  readonly project: ComposeProject;
  create(options?: CreateOptions): Promise<void>;
  up(options?: UpOptions): Promise<UpResult>;
  down(options?: DownOptions): Promise<void>;
  start(options?: StartOptions): Promise<void>;
  stop(options?: StopOptions): Promise<void>;
  restart(options?: StopOptions & { noDeps?: boolean }): Promise<void>;
  kill(options?: KillOptions): Promise<void>;
  pause(options?: ServicesOptions): Promise<void>;
  unpause(options?: ServicesOptions): Promise<void>;
  remove(options?: RemoveOptions): Promise<string[]>;
  ps(options?: PsOptions): Promise<ComposeContainer[]>;
  logs(options?: LogsOptions): AsyncGenerator<ComposeLogLine>;
  build(options?: BuildOptions): Promise<void>;
  pull(options?: PullOptions): Promise<void>;
  push(options?: PushOptions): Promise<void>;
  images(options?: ServicesOptions): Promise<ImageRow[]>;
  /** The exec's exit code (0 when detached). */
  exec(service: string, options: ExecOptions): Promise<number>;
  /** The one-off container's name and, unless detached, its exit code. */
  run(service: string, options?: RunOptions): Promise<{ container: string; exitCode?: number }>;
  top(options?: ServicesOptions): Promise<TopRow[]>;
  /** `host:port` a service's private port is published on. */
  port(service: string, privatePort: number, options?: PortOptions): Promise<string>;
  /** The exit code of the last of the services' containers to stop. */
  wait(options?: WaitOptions): Promise<number>;
  events(options?: EventsOptions): AsyncGenerator<ComposeEvent>;
  copyTargets(service: string, options: CopyTargetsOptions): Promise<ContainerSummary[]>;
  replica(service: string, options?: ReplicaOptions): Promise<ContainerSummary>;
  attach(service: string, options?: AttachOptions): Promise<void>;
  scale(replicas: Record<string, number>, options?: ComposeOptions & { noDeps?: boolean }): Promise<void>;
  commit(service: string, options?: CommitOptions): Promise<{ id: string }>;
  export(service: string, options?: ReplicaOptions & { signal?: AbortSignal }): Promise<Readable>;
  /** `compose watch`: acts on the services' `develop.watch` rules until `signal` aborts. */
  watch(options?: WatchOptions): Promise<void>;
}

export type { ComposeEngine };
export type { AttachOptions, CommitOptions, ComposeEvent, CopyTargetsOptions, EventsOptions, ReplicaOptions, WaitOptions };

/** What holds for every verb of a `Compose`, as compose's backend options do. */
export interface ComposeSettings {
  /** compose's `--parallel` (see `ComposeOptions.parallel`): each verb's unless the verb is given its own. */
  parallel?: number;
}

/** The project's verbs on an engine. */
export class Compose implements ComposeApi {
  constructor(
    readonly engine: ComposeEngine,
    readonly project: ComposeProject,
    private readonly settings: ComposeSettings = {},
  ) {
    if (settings.parallel !== undefined) checkParallel(settings.parallel);
  }

  /** A verb's options with the settings it did not override. */
  private with<T extends ComposeOptions>(options: T): T {
    const { parallel } = this.settings;
    return parallel === undefined || options.parallel !== undefined ? options : { ...options, parallel };
  }

  create(options: CreateOptions = {}): Promise<void> {
    return lifecycle.create(this.engine, this.project, this.with(options));
  }

  up(options: UpOptions = {}): Promise<UpResult> {
    return lifecycle.up(this.engine, this.project, this.with(options));
  }

  down(options: DownOptions = {}): Promise<void> {
    return lifecycle.down(this.engine, this.project, this.with(options));
  }

  start(options: StartOptions = {}): Promise<void> {
    return lifecycle.start(this.engine, this.project, this.with(options));
  }

  stop(options: StopOptions = {}): Promise<void> {
    return lifecycle.stop(this.engine, this.project, this.with(options));
  }

  restart(options: StopOptions & { noDeps?: boolean } = {}): Promise<void> {
    return lifecycle.restart(this.engine, this.project, this.with(options));
  }

  kill(options: KillOptions = {}): Promise<void> {
    return lifecycle.kill(this.engine, this.project, options);
  }

  pause(options: ServicesOptions = {}): Promise<void> {
    return lifecycle.pause(this.engine, this.project, options);
  }

  unpause(options: ServicesOptions = {}): Promise<void> {
    return lifecycle.unpause(this.engine, this.project, options);
  }

  remove(options: RemoveOptions = {}): Promise<string[]> {
    return lifecycle.remove(this.engine, this.project, this.with(options));
  }

  ps(options: PsOptions = {}): Promise<ComposeContainer[]> {
    return lifecycle.ps(this.engine, this.project, options);
  }

  logs(options: LogsOptions = {}): AsyncGenerator<ComposeLogLine> {
    return operations.logs(this.engine, this.project, options);
  }

  build(options: BuildOptions = {}): Promise<void> {
    return images.build(this.engine, this.project, this.with(options));
  }

  pull(options: PullOptions = {}): Promise<void> {
    return images.pull(this.engine, this.project, this.with(options));
  }

  push(options: PushOptions = {}): Promise<void> {
    return images.push(this.engine, this.project, this.with(options));
  }

  images(options: ServicesOptions = {}): Promise<ImageRow[]> {
    return images.images(this.engine, this.project, options);
  }

  exec(service: string, options: ExecOptions): Promise<number> {
    return operations.exec(this.engine, this.project, service, options);
  }

  run(service: string, options: RunOptions = {}): Promise<{ container: string; exitCode?: number }> {
    return operations.run(this.engine, this.project, service, this.with(options));
  }

  top(options: ServicesOptions = {}): Promise<TopRow[]> {
    return operations.top(this.engine, this.project, options);
  }

  port(service: string, privatePort: number, options: PortOptions = {}): Promise<string> {
    return operations.port(this.engine, this.project, service, privatePort, options);
  }

  wait(options: WaitOptions = {}): Promise<number> {
    return extras.wait(this.engine, this.project, this.with(options));
  }

  events(options: EventsOptions = {}): AsyncGenerator<ComposeEvent> {
    return extras.events(this.engine, this.project, options);
  }

  copyTargets(service: string, options: CopyTargetsOptions): Promise<ContainerSummary[]> {
    return extras.copyTargets(this.engine, this.project, service, options);
  }

  replica(service: string, options: ReplicaOptions = {}): Promise<ContainerSummary> {
    return extras.replica(this.engine, this.project, service, options);
  }

  attach(service: string, options: AttachOptions = {}): Promise<void> {
    return extras.attach(this.engine, this.project, service, options);
  }

  scale(replicas: Record<string, number>, options: ComposeOptions & { noDeps?: boolean } = {}): Promise<void> {
    return extras.scale(this.engine, this.project, replicas, this.with(options));
  }

  commit(service: string, options: CommitOptions = {}): Promise<{ id: string }> {
    return extras.commit(this.engine, this.project, service, options);
  }

  export(service: string, options: ReplicaOptions & { signal?: AbortSignal } = {}): Promise<Readable> {
    return extras.exportContainer(this.engine, this.project, service, options);
  }

  watch(options: WatchOptions = {}): Promise<void> {
    return watching.watch(this.engine, this.project, this.with(options));
  }
}
