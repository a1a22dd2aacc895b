import { randomBytes } from 'node:crypto';
import type { CreateOptions, EngineApi, PulledImage, RunContainerOptions } from '@ctr/api';
import type { ContainerInspect, ContainerSummary, CreatedContainer, InspectOptions, ListOptions, RunResult } from '@ctr/engine';
import { type CtrError, notFound, unsupported } from '@ctr/errors';
import type { ComposeEngine } from './labels';

/**
 * docker compose's `--dry-run` (its DryRunClient): an engine whose reads are the real one's
 * and whose writes are only pretended. A pretended write answers as the engine would (a new
 * container's ID, a network's inspect), so a verb goes on to its end and reports every step it
 * would take, and nothing changes. The containers it pretends to create, start, stop, rename
 * or remove are listed so by its later `ps`, as compose's client keeps the containers it made,
 * and inspected so: a made one runs, healthy where it has a health check (compose's client
 * answers so, for `--wait` and `depends_on` conditions), a real one is as it is but for the
 * state pretended for it.
 */

/** The writes compose's verbs make, pretended; `ps`, `inspect` and `wait`, which must see what was pretended. */
const PRETENDED = [
  'create',
  'run',
  'start',
  'stop',
  'kill',
  'restart',
  'pause',
  'unpause',
  'remove',
  'rename',
  'connect',
  'disconnect',
  'putArchive',
  'exec',
  'attach',
  'commit',
  'createNetwork',
  'removeNetwork',
  'createVolume',
  'removeVolume',
  'pull',
  'push',
  'build',
  'removeImage',
  'ps',
  'inspect',
  'wait',
] as const satisfies readonly (keyof EngineApi)[];
type Pretended = (typeof PRETENDED)[number];

/** What is read as it is. Every other write (plugins, logins, prunes, tags…) is refused: no compose verb makes it. */
const READS: ReadonlySet<string> = new Set<keyof EngineApi>([
  'logs',
  'top',
  'stats',
  'statPath',
  'getArchive',
  'export',
  'changes',
  'images',
  'inspectImage',
  'history',
  'save',
  'volumes',
  'inspectVolume',
  'networks',
  'inspectNetwork',
  'listPlugins',
  'inspectPlugin',
  'pluginPrivileges',
  'df',
  'events',
  'info',
  'searchImages',
  'components',
  'version',
]);

/** The states docker's `ps` lists without `--all`. */
const UP = ['running', 'paused', 'restarting'];

const fakeId = (): string => randomBytes(32).toString('hex');

/** inspect's flags for a pretended state. */
const running = (state: string): Pick<ContainerInspect['State'], 'Status' | 'Running' | 'Paused' | 'Restarting'> => ({
  Status: state,
  Running: state === 'running' || state === 'paused',
  Paused: state === 'paused',
  Restarting: false,
});

/** A pretended process with a health check (`test`, not `NONE`) passes it, as compose's client answers: there is nothing to probe. */
function healthy(state: string, test: readonly string[] | undefined): ContainerInspect['State']['Health'] {
  if (!test || test.length === 0 || test[0] === 'NONE' || (state !== 'running' && state !== 'paused')) return undefined;
  return { Status: 'healthy', FailingStreak: 0, Log: [] };
}

/** compose's words for what its dry-run client cannot pretend: a process to talk to. */
const interactive = (what: 'run' | 'exec'): CtrError =>
  unsupported(`interactive ${what} is not supported in dry-run mode`, { hint: 'a dry run starts no process: leave out --dry-run to talk to one' });

/** The label filters (the only ones compose lists by) a pretended container is matched against; any other filter matches none. */
function matches(filters: ListOptions['filters'], labels: Record<string, string>): boolean {
  return Object.entries(filters ?? {}).every(
    ([key, values]) =>
      key === 'label' &&
      values.every((value) => {
        const eq = value.indexOf('=');
        return eq === -1 ? Object.hasOwn(labels, value) : labels[value.slice(0, eq)] === value.slice(eq + 1);
      }),
  );
}

type NetworkOptions = Parameters<EngineApi['createNetwork']>[0];
type NetworkInspect = Awaited<ReturnType<EngineApi['createNetwork']>>;
type VolumeOptions = NonNullable<Parameters<EngineApi['createVolume']>[0]>;
type VolumeInfo = Awaited<ReturnType<EngineApi['createVolume']>>;

class Pretense implements Pick<EngineApi, Pretended> {
  /** The containers pretended created, as `ps` shows them. */
  private readonly made = new Map<string, ContainerSummary>();
  /** What each of them was made with, which its inspect shows. */
  private readonly madeWith = new Map<string, CreateOptions>();
  /** The real containers' pretended states; null for one pretended removed. */
  private readonly states = new Map<string, string | null>();

  constructor(private readonly engine: ComposeEngine) {}

  readonly create = async (options: CreateOptions): Promise<CreatedContainer> => {
    const id = fakeId();
    const name = options.name ?? id.slice(0, 12);
    this.made.set(id, {
      Id: id,
      Names: [`/${name}`],
      Image: options.image,
      ImageID: '',
      Command: (options.cmd ?? []).join(' '),
      Created: Math.floor(Date.now() / 1000),
      Ports: [],
      Labels: { ...options.labels },
      State: 'created',
      Status: 'Created',
      HostConfig: { NetworkMode: options.network ?? 'bridge' },
      NetworkSettings: { Networks: {} },
      Mounts: [],
    });
    this.madeWith.set(id, options);
    return { id, name, warnings: [] };
  };

  readonly run = async (options: RunContainerOptions): Promise<RunResult> => {
    if (!options.detach) throw interactive('run');
    const { id, name } = await this.create(options);
    await options.beforeStart?.(id);
    this.pretend(id, 'running');
    return { id, name };
  };

  readonly start = async (container: string): Promise<{ attached?: Promise<void> }> => {
    this.pretend(container, 'running');
    return {};
  };

  readonly stop = async (container: string): Promise<void> => this.pretend(container, 'exited');
  readonly kill = async (container: string): Promise<void> => this.pretend(container, 'exited');
  readonly restart = async (container: string): Promise<void> => this.pretend(container, 'running');
  readonly pause = async (container: string): Promise<void> => this.pretend(container, 'paused');
  readonly unpause = async (container: string): Promise<void> => this.pretend(container, 'running');
  readonly remove = async (container: string): Promise<void> => this.pretend(container, null);

  /** Compose renames only containers it has just made (a recreation's temporary name). */
  readonly rename = async (container: string, name: string): Promise<void> => {
    const made = this.made.get(container);
    if (made) made.Names = [`/${name}`];
  };

  readonly connect = async (): Promise<void> => undefined;
  readonly disconnect = async (): Promise<void> => undefined;
  readonly putArchive = async (): Promise<void> => undefined;

  readonly exec = async (_container: string, options: { detach?: boolean }): Promise<{ exitCode: number }> => {
    if (!options.detach) throw interactive('exec');
    return { exitCode: 0 };
  };

  readonly attach = async (): Promise<void> => {
    throw interactive('run');
  };

  readonly commit = async (): Promise<{ id: string }> => ({ id: `sha256:${fakeId()}` });

  readonly createNetwork = async (options: NetworkOptions): Promise<NetworkInspect> => ({
    Name: options.name,
    Id: fakeId(),
    Created: new Date().toISOString(),
    Scope: 'local',
    Driver: options.driver ?? 'bridge',
    EnableIPv4: true,
    EnableIPv6: options.ipv6 === true,
    IPAM: { Driver: options.ipamDriver ?? 'default', Options: options.ipamOptions ?? {}, Config: [] },
    Internal: options.internal === true,
    Attachable: options.attachable === true,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: options.options ?? {},
    Labels: options.labels ?? {},
  });

  readonly removeNetwork = async (): Promise<void> => undefined;

  readonly createVolume = async (options: VolumeOptions = {}): Promise<VolumeInfo> => ({
    CreatedAt: new Date().toISOString(),
    Driver: options.driver ?? 'local',
    Labels: options.labels ?? {},
    Mountpoint: '',
    Name: options.name ?? fakeId(),
    Options: options.options ?? {},
    Scope: 'local',
  });

  readonly removeVolume = async (): Promise<void> => undefined;
  readonly pull = async (): Promise<PulledImage> => ({ record: { id: `sha256:${fakeId()}`, target: { digest: `sha256:${fakeId()}` } } });
  readonly push = async (): Promise<{ digest: string; size: number }> => ({ digest: `sha256:${fakeId()}`, size: 0 });
  readonly build = async (): Promise<{ id: string; warnings: string[] }> => ({ id: `sha256:${fakeId()}`, warnings: [] });
  readonly removeImage = async (ref: string): Promise<Array<{ Untagged?: string; Deleted?: string }>> => [{ Untagged: ref }];

  readonly ps = async (options: ListOptions = {}): Promise<ContainerSummary[]> => {
    if (this.made.size === 0 && this.states.size === 0) return this.engine.ps(options);
    // All of them: a stopped container pretended started is listed as running.
    const real = await this.engine.ps({ ...options, all: true });
    const listed = [
      ...real.flatMap((c) => {
        const state = this.states.get(c.Id);
        return state === null ? [] : state === undefined ? [c] : [{ ...c, State: state }];
      }),
      ...[...this.made.values()].filter((c) => matches(options.filters, c.Labels)),
    ];
    return options.all ? listed : listed.filter((c) => UP.includes(c.State));
  };

  readonly inspect = async (container: string, options?: InspectOptions): Promise<ContainerInspect> => {
    const made = this.made.get(container) ?? [...this.made.values()].find((c) => c.Names[0] === `/${container}`);
    if (made) return this.madeInspect(made, this.madeWith.get(made.Id)!);
    const real = await this.engine.inspect(container, options);
    const state = this.states.get(real.Id);
    if (state === null) throw notFound(`No such container: ${container}`);
    if (state === undefined) return real;
    // Pretended started, it is healthy as a made one is; still running, its health is its own.
    const health = real.State.Running ? real.State.Health : healthy(state, real.Config.Healthcheck?.Test);
    return { ...real, State: { ...real.State, ...running(state), ...(health ? { Health: health } : {}) } };
  };

  /**
   * What compose's client answers for a container it made up, the state aside: its name, image,
   * command and labels, nothing of a process (which there is none of) nor of its mounts and networks.
   */
  private async madeInspect(made: ContainerSummary, options: CreateOptions): Promise<ContainerInspect> {
    // Its own check, else its image's (when the image is there: a dry run pulls none).
    const test = options.healthcheck?.Test?.length ? options.healthcheck.Test : (await this.engine.inspectImage(options.image).catch(() => undefined))?.Config.Healthcheck?.Test;
    const health = healthy(made.State, test);
    const inspect: Pick<ContainerInspect, 'Id' | 'Created' | 'Path' | 'Args' | 'Image' | 'Name' | 'RestartCount' | 'ExecIDs' | 'Mounts'> & Record<'State' | 'Config', object> = {
      Id: made.Id,
      Created: new Date(made.Created * 1000).toISOString(),
      Path: options.cmd?.[0] ?? '',
      Args: options.cmd?.slice(1) ?? [],
      State: { ...running(made.State), Pid: 0, ExitCode: 0, Error: '', OOMKilled: false, Dead: false, StartedAt: '', FinishedAt: '', ...(health ? { Health: health } : {}) },
      Image: '',
      Name: made.Names[0]!,
      RestartCount: 0,
      ExecIDs: null,
      Config: { Image: options.image, Cmd: options.cmd ?? null, Env: options.env ?? null, Labels: made.Labels, ...(test ? { Healthcheck: { Test: test } } : {}) },
      Mounts: [],
    };
    return inspect as ContainerInspect;
  }

  /** A container whose state was pretended has no process to wait for. */
  readonly wait = async (container: string, signal?: AbortSignal): Promise<{ StatusCode: number; OOMKilled: boolean }> =>
    this.made.has(container) || this.states.has(container) ? { StatusCode: 0, OOMKilled: false } : this.engine.wait(container, signal);

  private pretend(id: string, state: string | null): void {
    const made = this.made.get(id);
    if (!made) this.states.set(id, state);
    else if (state === null) {
      this.made.delete(id);
      this.madeWith.delete(id);
    } else made.State = state;
  }
}

const dryRunEngines = new WeakSet<ComposeEngine>();

function isPretended(property: string | symbol): property is Pretended {
  return (PRETENDED as readonly (string | symbol)[]).includes(property);
}

/** `engine` in compose's dry-run mode: reads as they are, compose's writes pretended, any other write refused. */
export function dryRunEngine(engine: ComposeEngine): ComposeEngine {
  const pretense = new Pretense(engine);
  const dry = new Proxy(engine, {
    get(target, property): unknown {
      if (isPretended(property)) return pretense[property];
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (typeof property === 'string' && READS.has(property)) return value.bind(target);
      return (): Promise<never> => Promise.reject(unsupported(`${String(property)} is not supported in dry-run mode`));
    },
  });
  dryRunEngines.add(dry);
  return dry;
}

/** Whether `engine` is one `dryRunEngine` made: the verbs then neither attach to nor wait for what is only pretended. */
export function isDryRun(engine: ComposeEngine): boolean {
  return dryRunEngines.has(engine);
}
