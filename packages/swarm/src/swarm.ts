import type { Engine } from '@ctr/engine';
import { initSwarm, inspectSwarm, joinSwarm, leaveSwarm, requireManager, swarmInfo, swarmUnlockKey, unlockSwarm, updateSwarm } from './cluster';
import { ensureAgent, runAgent, superviseAgent } from './agent';
import type { BackgroundWork, SwarmContext } from './context';
import type { SwarmLog } from './log';
import { isWorker } from './membership';
import { emitClusterEvents } from './events';
import { inspectNode, listNodes, removeNode, updateNode } from './nodes';
import { containerExited, reconcile, startMonitor } from './orchestrator';
import { serviceLogs, taskLogs } from './service-logs';
import { converge, createService, inspectService, listServices, removeService, updateService } from './services';
import { createConfig, createSecret, inspectConfig, inspectSecret, listConfigs, listSecrets, removeConfig, removeSecret, updateConfig, updateSecret } from './secrets';
import { openClusterStore } from './store';
import { inspectTask, listTasks } from './tasks';
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
} from './types';

export interface SwarmOptions {
  /** The engine whose containers run the swarm's tasks; the swarm's state lives under its root and run root. */
  engine: Engine;
  /**
   * The command line of this root's node agent, started detached when the root is in a swarm
   * and none runs (the CLI's hidden `ctr swarm agent`). Without it (ctrd, which runs the agent
   * in-process through `superviseAgent`, or a library user) no process is started.
   */
  agentCommand?: readonly string[];
  /** Where the node agent and the manager's passes tell what happened and what failed (ctrd's log, the detached agent's); nowhere unless given. */
  log?: SwarmLog;
  /** What `init` advertises when the request names no address (dockerd's `--swarm-default-advertise-addr`). */
  defaultAdvertiseAddr?: string;
}

/**
 * Swarm mode in this process (SwarmApi): the ctr command and ctrd each make one over their
 * engine; several processes on one root share the state on disk. Every verb but init, join,
 * leave, unlock and info needs this engine to be the manager of an unlocked swarm.
 */
export class Swarm implements SwarmApi {
  private ctx: SwarmContext | undefined;
  /** ctrd's in-process agent, when `superviseAgent` runs. */
  private supervisor: { kick(): Promise<void> } | undefined;
  /** ctrd's monitor's queue of work after requests, while one was started. */
  private background: BackgroundWork | undefined;

  constructor(private readonly options: SwarmOptions) {}

  /** What the swarm's modules share; the store is opened when first wanted (opening it touches no file). */
  context(): SwarmContext {
    const { engine, log, defaultAdvertiseAddr } = this.options;
    this.ctx ??= {
      engine,
      store: openClusterStore(engine.root, { onCommit: (changes) => emitClusterEvents(engine, changes) }),
      root: engine.root,
      runRoot: engine.runRoot,
      ...(log ? { log } : {}),
      ...(defaultAdvertiseAddr ? { defaultAdvertiseAddr } : {}),
    };
    return this.ctx;
  }

  /** The context, once this engine is known to manage an unlocked swarm; its node agent is started if it is not running. */
  private async manager(): Promise<SwarmContext> {
    const ctx = this.context();
    try {
      await requireManager(ctx);
    } catch (error) {
      // A worker refuses the verb, and its agent is kept going all the same.
      if (isWorker(ctx)) await this.agent();
      throw error;
    }
    await this.agent();
    return ctx;
  }

  /** This root's node agent running (when the root is in a swarm): ctrd's in-process one, else the detached `agentCommand`. */
  private async agent(): Promise<void> {
    if (this.supervisor) await this.supervisor.kick();
    else if (this.options.agentCommand) await ensureAgent(this.context(), this.options.agentCommand);
  }

  // ---------------------------------------------------------------- the swarm

  /**
   * The agent of a swarm this engine just made or joined; when it cannot serve (its port taken),
   * the swarm is left again and the error stands, as dockerd's init and join fail and leave no swarm.
   */
  private async agentOrLeave(): Promise<void> {
    try {
      await this.agent();
    } catch (error) {
      await leaveSwarm(this.context(), true).catch(() => undefined);
      throw error;
    }
  }

  async init(request: InitRequest): Promise<string> {
    const nodeId = await initSwarm(this.context(), request);
    await this.agentOrLeave();
    return nodeId;
  }

  async join(request: { ListenAddr?: string; AdvertiseAddr?: string; DataPathAddr?: string; RemoteAddrs: string[]; JoinToken: string; Availability?: NodeAvailability }): Promise<void> {
    await joinSwarm(this.context(), request);
    await this.agentOrLeave();
  }

  leave(force: boolean): Promise<void> {
    return leaveSwarm(this.context(), force);
  }

  inspect(): Promise<SwarmInspect> {
    return inspectSwarm(this.context());
  }

  update(version: number, spec: SwarmSpec, flags?: SwarmUpdateFlags): Promise<void> {
    return updateSwarm(this.context(), version, spec, flags);
  }

  unlockKey(): Promise<{ UnlockKey: string }> {
    return swarmUnlockKey(this.context());
  }

  unlock(key: string): Promise<void> {
    return unlockSwarm(this.context(), key);
  }

  info(): Promise<SwarmInfo> {
    return swarmInfo(this.context());
  }

  // ---------------------------------------------------------------- nodes

  async nodes(filters?: SwarmFilters): Promise<Node[]> {
    return listNodes(await this.manager(), filters);
  }

  async inspectNode(id: string): Promise<Node> {
    return inspectNode(await this.manager(), id);
  }

  async updateNode(id: string, version: number, spec: NodeSpec): Promise<void> {
    return updateNode(await this.manager(), id, version, spec);
  }

  async removeNode(id: string, force: boolean): Promise<void> {
    return removeNode(await this.manager(), id, force);
  }

  // ---------------------------------------------------------------- services and tasks

  async createService(spec: ServiceSpec, options: ServiceCreateOptions = {}): Promise<{ ID: string; Warnings?: string[] }> {
    return createService(await this.manager(), spec, options);
  }

  async services(filters: SwarmFilters = {}, options: { status?: boolean } = {}): Promise<Service[]> {
    return listServices(await this.manager(), filters, options);
  }

  async inspectService(id: string, options: { insertDefaults?: boolean } = {}): Promise<Service> {
    return inspectService(await this.manager(), id, options);
  }

  async updateService(id: string, version: number, spec: ServiceSpec, options: ServiceUpdateOptions = {}): Promise<{ Warnings?: string[] }> {
    return updateService(await this.manager(), id, version, spec, options);
  }

  async removeService(id: string): Promise<void> {
    return removeService(await this.manager(), id);
  }

  serviceLogs(id: string, options: ServiceLogsOptions = {}): AsyncIterable<ServiceLogLine> {
    const manager = (): Promise<SwarmContext> => this.manager();
    return (async function* () {
      yield* serviceLogs(await manager(), id, options);
    })();
  }

  async converge(id: string, options: { onProgress?: (progress: ConvergeProgress) => void; signal?: AbortSignal }): Promise<ConvergeProgress> {
    return converge(await this.manager(), id, options);
  }

  async tasks(filters: SwarmFilters = {}): Promise<Task[]> {
    return listTasks(await this.manager(), filters);
  }

  async inspectTask(id: string): Promise<Task> {
    return inspectTask(await this.manager(), id);
  }

  taskLogs(id: string, options: ServiceLogsOptions = {}): AsyncIterable<ServiceLogLine> {
    const manager = (): Promise<SwarmContext> => this.manager();
    return (async function* () {
      yield* taskLogs(await manager(), id, options);
    })();
  }

  // ---------------------------------------------------------------- secrets and configs

  async createSecret(spec: SecretSpec): Promise<{ ID: string }> {
    return createSecret(await this.manager(), spec);
  }

  async secrets(filters?: SwarmFilters): Promise<Secret[]> {
    return listSecrets(await this.manager(), filters);
  }

  async inspectSecret(id: string): Promise<Secret> {
    return inspectSecret(await this.manager(), id);
  }

  async updateSecret(id: string, version: number, spec: SecretSpec): Promise<void> {
    return updateSecret(await this.manager(), id, version, spec);
  }

  async removeSecret(id: string): Promise<void> {
    return removeSecret(await this.manager(), id);
  }

  async createConfig(spec: ConfigSpec): Promise<{ ID: string }> {
    return createConfig(await this.manager(), spec);
  }

  async configs(filters?: SwarmFilters): Promise<Config[]> {
    return listConfigs(await this.manager(), filters);
  }

  async inspectConfig(id: string): Promise<Config> {
    return inspectConfig(await this.manager(), id);
  }

  async updateConfig(id: string, version: number, spec: ConfigSpec): Promise<void> {
    return updateConfig(await this.manager(), id, version, spec);
  }

  async removeConfig(id: string): Promise<void> {
    return removeConfig(await this.manager(), id);
  }

  // ---------------------------------------------------------------- keeping the tasks going

  /**
   * A task's container exited (conmon's exit command, or ctrd's monitor): the orchestrator
   * records it and replaces the task as its restart policy says. Outside a swarm (it was
   * left since the container started) there is nothing to do.
   */
  async containerExited(containerId: string): Promise<void> {
    const ctx = this.context();
    if (!ctx.store.active()) return;
    await containerExited(ctx, containerId);
  }

  /** ctrd: follow the engine's container exits until `signal` fires, for whichever swarm this engine is in then; a pass that fails is told to `onError`, one that works to `onPass`. */
  startMonitor(signal: AbortSignal, onError?: (error: unknown) => void, onPass?: () => void): Promise<void> {
    const started = startMonitor(this.context(), signal, onError, onPass);
    // Kept past the monitor's stop (which takes it off the context) for idle().
    this.background = this.context().background;
    return started;
  }

  /** Resolves once the work requests left to ctrd's monitor (a removed service's containers) is done. */
  async idle(): Promise<void> {
    await this.background?.idle();
  }

  /** After a start (ctrd's, or the first verb after a reboot): make the tasks and the routing mesh match the specs again. */
  async recover(): Promise<void> {
    const ctx = this.context();
    if (isWorker(ctx)) return this.agent();
    if (!ctx.store.active()) return;
    await requireManager(ctx);
    await reconcile(ctx);
    await this.agent();
  }

  /** The hidden `ctr swarm agent`: this root's node agent in this process, until `signal` fires or the root leaves its swarm. */
  runAgent(signal: AbortSignal): Promise<void> {
    return runAgent(this.context(), signal);
  }

  /** ctrd: runs the node agent in this process whenever the root is in a swarm (and no detached agent already serves it), until `signal` fires. */
  superviseAgent(signal: AbortSignal): Promise<void> {
    const supervisor = superviseAgent(this.context(), signal);
    this.supervisor = supervisor;
    return supervisor.done;
  }
}
