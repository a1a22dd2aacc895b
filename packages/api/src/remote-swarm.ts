import { StringDecoder } from 'node:string_decoder';
import { setTimeout as delay } from 'node:timers/promises';
import { parseLogDetails } from '@ctr/engine';
import { aborted } from '@ctr/errors';
import { parseNormalizedReference } from '@ctr/image';
import type {
  Config,
  ConfigSpec,
  ConvergeProgress,
  InitRequest,
  Node,
  NodeAvailability,
  NodeSpec,
  Secret,
  SecretSpec,
  Service,
  ServiceCreateOptions,
  ServiceLogLine,
  ServiceLogsOptions,
  ServiceSpec,
  ServiceUpdateOptions,
  SwarmApi,
  SwarmFilters,
  SwarmInfo,
  SwarmInspect,
  SwarmSpec,
  SwarmUpdateFlags,
  Task,
  TaskState,
} from '@ctr/swarm';
import { ApiClient, filtersParam, type ApiClientOptions } from './client';
import { encodeJson, type RemoteEngineOptions } from './remote-engine';
import { FrameDecoder } from './stdcopy';

/** How often docker's CLI looks at a service while it waits for it to converge. */
const POLL_INTERVAL_MS = 500;

/**
 * The states docker's CLI ranks a task by while it converges (cli/command/service/progress's
 * numberedStates). Those past `running` only order: a slot whose task ended and was not
 * replaced (restarts exhausted, rejected) shows that task and its error.
 */
const RANKED_STATES: readonly TaskState[] = ['new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running', 'complete', 'shutdown', 'failed', 'rejected'];
const rank = (state: TaskState): number => RANKED_STATES.indexOf(state) + 1;

/** The update states in which the service is still on its way to its spec. */
const UPDATING = new Set(['updating', 'rollback_started']);

/**
 * Each slot's (or, for a global service, each node's) task that says where it stands, as
 * docker's CLI picks it: the lowest desired state, then the least advanced.
 */
function tasksBySlot(service: Service, tasks: Task[], activeNodes: Set<string>): Map<string, Task> {
  const global = service.Spec.Mode.Global !== undefined;
  const bySlot = new Map<string, Task>();
  for (const task of tasks) {
    if (rank(task.DesiredState) === 0 || rank(task.Status.State) === 0) continue;
    if (task.NodeID && !activeNodes.has(task.NodeID)) continue;
    const slot = global ? task.NodeID : String(task.Slot ?? 0);
    const existing = bySlot.get(slot);
    if (existing) {
      if (rank(existing.DesiredState) < rank(task.DesiredState)) continue;
      if (rank(existing.DesiredState) === rank(task.DesiredState) && rank(existing.Status.State) <= rank(task.Status.State)) continue;
    }
    bySlot.set(slot, task);
  }
  return bySlot;
}

/**
 * A job's task per slot (per node, a global job's) as docker's job progress picks it: of the
 * job's current run only, the least advanced (a restarted task's replacement before the task
 * that failed); on any node. A replicated job's task in a state docker does not rank is left out.
 */
function jobTasksBySlot(service: Service, tasks: Task[]): Map<string, Task> {
  const replicated = service.Spec.Mode.ReplicatedJob !== undefined;
  const iteration = service.JobStatus?.JobIteration.Index;
  const bySlot = new Map<string, Task>();
  for (const task of tasks) {
    if (iteration !== undefined && task.JobIteration?.Index !== iteration) continue;
    if (replicated && (rank(task.DesiredState) === 0 || rank(task.Status.State) === 0)) continue;
    const slot = replicated ? String(task.Slot ?? 0) : task.NodeID;
    const existing = bySlot.get(slot);
    if (!existing || rank(existing.Status.State) > rank(task.Status.State)) bySlot.set(slot, task);
  }
  return bySlot;
}

/** Where a service stands against its spec, from one look at it, its up-to-date tasks and the nodes. */
export function convergeProgress(service: Service, tasks: Task[], nodes: Node[]): ConvergeProgress {
  const { Mode } = service.Spec;
  const active = nodes.filter((n) => n.Status.State !== 'down');
  const activeIds = new Set(active.map((n) => n.ID));
  const own = tasks.filter((t) => t.ServiceID === service.ID);
  const update = service.UpdateStatus;
  const job = Mode.ReplicatedJob !== undefined || Mode.GlobalJob !== undefined;
  const current = [...(job ? jobTasksBySlot(service, own) : tasksBySlot(service, own, activeIds))].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
  const slots = current.map(([slot, t]) => ({ slot, state: t.Status.State, message: t.Status.Message, ...(t.Status.Err ? { err: t.Status.Err } : {}) }));
  let running: number;
  let desired: number;
  if (job) {
    // A job converges when its tasks have run to completion: `running` counts the completed ones.
    const iteration = service.JobStatus?.JobIteration.Index;
    const done = own.filter((t) => t.Status.State === 'complete' && (iteration === undefined || t.JobIteration?.Index === iteration));
    running = done.length;
    desired = Mode.ReplicatedJob ? Mode.ReplicatedJob.TotalCompletions ?? Mode.ReplicatedJob.MaxConcurrent ?? 1 : active.filter((n) => n.Spec.Availability === 'active').length;
    const progress = { service: service.ID, tasks: slots, running, desired, converged: running >= desired };
    return update ? { ...progress, update } : progress;
  }
  running = current.filter(([, t]) => t.Status.State === 'running' && t.DesiredState === 'running').length;
  desired = Mode.Global ? active.filter((n) => n.Spec.Availability === 'active').length : Mode.Replicated?.Replicas ?? 1;
  const settled = !update || !UPDATING.has(update.State);
  const progress = { service: service.ID, tasks: slots, running, desired, converged: settled && running === desired };
  return update ? { ...progress, update } : progress;
}

/**
 * Wait for a service to converge the way docker's CLI waits (`service create`/`update` without
 * `--detach`): look at the service, its up-to-date tasks and the nodes every 0.5 s, report each
 * look, and stop when the tasks match the spec or its update has ended (completed or paused: the
 * caller reads `update` to tell). Works over any SwarmApi; the daemon drives the update itself.
 */
export async function pollConvergence(
  swarm: Pick<SwarmApi, 'inspectService' | 'tasks' | 'nodes'>,
  serviceId: string,
  options: { onProgress?: (progress: ConvergeProgress) => void; signal?: AbortSignal; intervalMs?: number } = {},
): Promise<ConvergeProgress> {
  const { signal } = options;
  for (;;) {
    if (signal?.aborted) throw aborted(signal, `waiting for service ${serviceId} to converge`);
    const service = await swarm.inspectService(serviceId);
    const [tasks, nodes] = await Promise.all([swarm.tasks({ service: [service.ID], '_up-to-date': ['true'] }), swarm.nodes()]);
    const progress = convergeProgress(service, tasks, nodes);
    options.onProgress?.(progress);
    const ended = progress.update !== undefined && !UPDATING.has(progress.update.State) && progress.update.State !== 'completed' && progress.update.State !== 'rollback_completed';
    if (progress.converged || ended) return progress;
    try {
      await delay(options.intervalMs ?? POLL_INTERVAL_MS, undefined, signal ? { signal } : {});
    } catch {
      throw aborted(signal, `waiting for service ${serviceId} to converge`);
    }
  }
}

type Query = Record<string, string | number | boolean | undefined>;

const path = (kind: string, id: string, rest = ''): string => `/${kind}/${encodeURIComponent(id)}${rest}`;

export interface RemoteSwarmOptions extends ApiClientOptions {
  /**
   * The client's credentials for a registry, sent (`X-Registry-Auth`) with a service whose
   * create or update names none, so the daemon can pull its image (docker's `--with-registry-auth`).
   */
  registryAuth?: RemoteEngineOptions['registryAuth'];
}

/**
 * Swarm mode over the Engine API (ctrd's or a dockerd's): what `ctr -H … service …` and
 * `stack deploy` call. Waiting for a service (`onProgress`, `converge`) polls as docker's CLI does.
 */
export class RemoteSwarm implements SwarmApi {
  readonly client: ApiClient;
  private readonly registryAuth: RemoteSwarmOptions['registryAuth'];

  /** `client`: share an ApiClient (a RemoteEngine's) or give the options for a new one. */
  constructor(client: ApiClient | RemoteSwarmOptions = {}) {
    if (client instanceof ApiClient) this.client = client;
    else {
      const { registryAuth, ...options } = client;
      this.client = new ApiClient(options);
      this.registryAuth = registryAuth;
    }
  }

  /** `X-Registry-Auth` for the service's image: the caller's, else the client's credentials for its registry, else none. */
  private async authHeader(spec: ServiceSpec, given: string | undefined): Promise<Record<string, string> | undefined> {
    const image = spec.TaskTemplate?.ContainerSpec?.Image;
    if (given) return { 'X-Registry-Auth': given };
    const config = image ? await this.registryAuth?.(parseNormalizedReference(image).domain) : undefined;
    return config ? { 'X-Registry-Auth': encodeJson(config) } : undefined;
  }

  close(): void {
    this.client.close();
  }

  private get<T>(where: string, query?: Query): Promise<T> {
    return this.client.json<T>('GET', where, query ? { query } : {});
  }

  private async post<T = void>(where: string, body?: unknown, query?: Query, headers?: Record<string, string>): Promise<T> {
    return this.client.json<T>('POST', where, { ...(body !== undefined ? { body } : {}), ...(query ? { query } : {}), ...(headers ? { headers } : {}) });
  }

  private async remove(where: string, query?: Query): Promise<void> {
    await this.client.json('DELETE', where, query ? { query } : {});
  }

  private list<T>(kind: string, filters: SwarmFilters | undefined, query: Query = {}): Promise<T[]> {
    return this.get<T[]>(`/${kind}`, { ...query, filters: filtersParam(filters) });
  }

  // The swarm

  init(request: InitRequest): Promise<string> {
    return this.post<string>('/swarm/init', request);
  }

  join(request: { ListenAddr?: string; AdvertiseAddr?: string; RemoteAddrs: string[]; JoinToken: string; Availability?: NodeAvailability }): Promise<void> {
    return this.post('/swarm/join', request);
  }

  leave(force: boolean): Promise<void> {
    return this.post('/swarm/leave', undefined, { force });
  }

  inspect(): Promise<SwarmInspect> {
    return this.get('/swarm');
  }

  update(version: number, spec: SwarmSpec, flags: SwarmUpdateFlags = {}): Promise<void> {
    return this.post('/swarm/update', spec, {
      version,
      rotateWorkerToken: flags.RotateWorkerToken ?? false,
      rotateManagerToken: flags.RotateManagerToken ?? false,
      rotateManagerUnlockKey: flags.RotateManagerUnlockKey ?? false,
    });
  }

  unlockKey(): Promise<{ UnlockKey: string }> {
    return this.get('/swarm/unlockkey');
  }

  unlock(key: string): Promise<void> {
    return this.post('/swarm/unlock', { UnlockKey: key });
  }

  async info(): Promise<SwarmInfo> {
    return ((await this.client.info()) as unknown as { Swarm: SwarmInfo }).Swarm;
  }

  // Nodes

  nodes(filters?: SwarmFilters): Promise<Node[]> {
    return this.list('nodes', filters);
  }

  inspectNode(id: string): Promise<Node> {
    return this.get(path('nodes', id));
  }

  updateNode(id: string, version: number, spec: NodeSpec): Promise<void> {
    return this.post(path('nodes', id, '/update'), spec, { version });
  }

  removeNode(id: string, force: boolean): Promise<void> {
    return this.remove(path('nodes', id), { force });
  }

  // Services

  async createService(spec: ServiceSpec, options: ServiceCreateOptions = {}): Promise<{ ID: string; Warnings?: string[] }> {
    const created = await this.post<{ ID: string; Warnings?: string[] }>('/services/create', spec, undefined, await this.authHeader(spec, options.registryAuth));
    if (options.onProgress) await this.converge(created.ID, { onProgress: options.onProgress, ...signalOf(options) });
    return created;
  }

  services(filters?: SwarmFilters, options: { status?: boolean } = {}): Promise<Service[]> {
    return this.list('services', filters, { status: options.status });
  }

  inspectService(id: string, options: { insertDefaults?: boolean } = {}): Promise<Service> {
    return this.get(path('services', id), { insertDefaults: options.insertDefaults });
  }

  async updateService(id: string, version: number, spec: ServiceSpec, options: ServiceUpdateOptions = {}): Promise<{ Warnings?: string[] }> {
    const updated = await this.post<{ Warnings?: string[] | null }>(path('services', id, '/update'), spec, { version, rollback: options.rollback }, await this.authHeader(spec, options.registryAuth));
    if (options.onProgress) await this.converge(id, { onProgress: options.onProgress, ...signalOf(options) });
    return updated.Warnings ? { Warnings: updated.Warnings } : {};
  }

  removeService(id: string): Promise<void> {
    return this.remove(path('services', id));
  }

  serviceLogs(id: string, options: ServiceLogsOptions = {}): AsyncIterable<ServiceLogLine> {
    return this.logs(path('services', id, '/logs'), options);
  }

  converge(id: string, options: { onProgress?: (progress: ConvergeProgress) => void; signal?: AbortSignal }): Promise<ConvergeProgress> {
    return pollConvergence(this, id, options);
  }

  // Tasks

  tasks(filters?: SwarmFilters): Promise<Task[]> {
    return this.list('tasks', filters);
  }

  inspectTask(id: string): Promise<Task> {
    return this.get(path('tasks', id));
  }

  taskLogs(id: string, options: ServiceLogsOptions = {}): AsyncIterable<ServiceLogLine> {
    return this.logs(path('tasks', id, '/logs'), options);
  }

  // Secrets and configs

  createSecret(spec: SecretSpec): Promise<{ ID: string }> {
    return this.post('/secrets/create', spec);
  }

  secrets(filters?: SwarmFilters): Promise<Secret[]> {
    return this.list('secrets', filters);
  }

  inspectSecret(id: string): Promise<Secret> {
    return this.get(path('secrets', id));
  }

  updateSecret(id: string, version: number, spec: SecretSpec): Promise<void> {
    return this.post(path('secrets', id, '/update'), spec, { version });
  }

  removeSecret(id: string): Promise<void> {
    return this.remove(path('secrets', id));
  }

  createConfig(spec: ConfigSpec): Promise<{ ID: string }> {
    return this.post('/configs/create', spec);
  }

  configs(filters?: SwarmFilters): Promise<Config[]> {
    return this.list('configs', filters);
  }

  inspectConfig(id: string): Promise<Config> {
    return this.get(path('configs', id));
  }

  updateConfig(id: string, version: number, spec: ConfigSpec): Promise<void> {
    return this.post(path('configs', id, '/update'), spec, { version });
  }

  removeConfig(id: string): Promise<void> {
    return this.remove(path('configs', id));
  }

  /**
   * A service's or task's log lines. Details are always asked for, as docker's CLI asks: they
   * name each line's task, whose name (`web.1.<id>`) is looked up once per task.
   */
  private async *logs(where: string, options: ServiceLogsOptions): AsyncGenerator<ServiceLogLine> {
    const res = await this.client.raw('GET', where, {
      query: {
        stdout: true,
        stderr: true,
        details: true,
        follow: options.follow,
        timestamps: options.timestamps,
        tail: options.tail,
        since: options.since,
        until: options.until,
      },
      ...signalOf(options),
    });
    const multiplexed = String(res.headers['content-type'] ?? '').includes('multiplexed');
    const frames = new FrameDecoder();
    const pending = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    const names = new Map<string, Promise<string>>();
    const parse = async (stream: 'stdout' | 'stderr', text: string): Promise<ServiceLogLine> => {
      let rest = text;
      let timestamp: string | undefined;
      if (options.timestamps) [timestamp, rest] = splitOnce(rest);
      const [details, line] = splitOnce(rest);
      const attrs = parseLogDetails(details);
      const id = attrs['com.docker.swarm.task.id'] ?? '';
      if (!names.has(id)) names.set(id, this.taskName(id));
      const task = { id, name: await (names.get(id) as Promise<string>), nodeId: attrs['com.docker.swarm.node.id'] ?? '', serviceId: attrs['com.docker.swarm.service.id'] ?? '' };
      return { stream, task, line, ...(timestamp !== undefined ? { timestamp } : {}) };
    };
    try {
      for await (const chunk of res) {
        const parts = multiplexed ? frames.push(chunk as Buffer).map((f) => ({ stream: f.stream === 2 ? ('stderr' as const) : ('stdout' as const), data: f.data })) : [{ stream: 'stdout' as const, data: chunk as Buffer }];
        for (const part of parts) for (const line of pending[part.stream].push(part.data)) yield await parse(part.stream, line);
      }
      for (const stream of ['stdout', 'stderr'] as const) {
        const last = pending[stream].end();
        if (last !== undefined) yield await parse(stream, last);
      }
    } catch (error) {
      if (!options.signal?.aborted) throw error;
    }
  }

  /** A task's name as its container is named and docker's CLI prints it: `<service>.<slot or node>.<task id>`. */
  private async taskName(id: string): Promise<string> {
    try {
      const task = await this.inspectTask(id);
      const service = await this.inspectService(task.ServiceID);
      return `${service.Spec.Name}.${task.Slot ?? task.NodeID}.${task.ID}`;
    } catch {
      // A task removed since it logged keeps its ID as its name.
      return id;
    }
  }
}

/** Text split into lines as it arrives; a line cut between two chunks waits for its end. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  push(data: Buffer): string[] {
    this.pending += this.decoder.write(data);
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    return lines;
  }

  end(): string | undefined {
    const last = this.pending + this.decoder.end();
    this.pending = '';
    return last === '' ? undefined : last;
  }
}

function splitOnce(text: string): [string, string] {
  const space = text.indexOf(' ');
  return space < 0 ? [text, ''] : [text.slice(0, space), text.slice(space + 1)];
}

function signalOf(options: { signal?: AbortSignal }): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}
