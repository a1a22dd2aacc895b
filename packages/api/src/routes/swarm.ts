import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '@ctr/engine';
import { logLine } from '@ctr/engine';
import { invalidArgument, isNotFound } from '@ctr/errors';
import type { ServiceLogLine, ServiceLogsOptions, SwarmApi, SwarmContext, SwarmInfo, SwarmLog } from '@ctr/swarm';
import { clientGone, sendEmpty, sendJson, startStream, type Call } from '../call';
import { readJsonObject } from '../request-body';
import { route, type Route } from '../router';
import type { Services } from '../services';
import { framedWriter, STDERR, STDOUT } from '../stdcopy';

/** What the daemon needs of the in-process swarm beyond the API: its recovery, its exit monitor, its state for networks. */
export interface LocalSwarm extends SwarmApi {
  recover(): Promise<void>;
  startMonitor(signal: AbortSignal, onError?: (error: unknown) => void, onPass?: () => void): Promise<void> | void;
  /** The node agent in the daemon's process while the root is in a swarm (the cluster port, or a worker's session). */
  superviseAgent?(signal: AbortSignal): Promise<void>;
  /** Resolves once the work requests left to the monitor is done, after the monitor stopped too. */
  idle?(): Promise<void>;
  context(): SwarmContext;
}

type NetworkCreateOptions = Parameters<Engine['createNetwork']>[0];
type NetworkInspect = Awaited<ReturnType<Engine['createNetwork']>>;

/** Loaded on first use: a daemon that never runs a swarm never pays for the module. */
function swarmModule(): typeof import('@ctr/swarm') {
  return require('@ctr/swarm') as typeof import('@ctr/swarm');
}

/**
 * The daemon's swarm over an engine, its node agent and passes telling `log` (ctrd's) what they
 * do, its `init` advertising `defaultAdvertiseAddr` when not told.
 */
export function swarmLoader(log?: SwarmLog, defaultAdvertiseAddr?: string): (engine: Engine) => LocalSwarm {
  return (engine) => new (swarmModule().Swarm)({ engine, ...(log ? { log } : {}), ...(defaultAdvertiseAddr ? { defaultAdvertiseAddr } : {}) });
}

/**
 * The daemon's one swarm for its engine, made on first need: a swarm route, or a root that has
 * a swarm (`<root>/swarm/`, one stat). While the daemon runs it follows task exits (restarts)
 * and drives the rolling updates the API starts, as dockerd's manager does for its clients.
 */
export class DaemonSwarm {
  private swarm: LocalSwarm | undefined;
  private readonly stopping = new AbortController();
  /** Rolling updates under way, by service: one at a time each, the next after the last. */
  private readonly updates = new Map<string, Promise<void>>();
  /** The node agent's supervision: close waits for it, so the cluster port and the agent's pid file are free once the daemon stops (a daemon started again in this process takes them). */
  private agent: Promise<void> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly create: (engine: Engine) => LocalSwarm = swarmLoader(),
    private readonly onError: (error: unknown, what: string) => void = () => undefined,
    /** Told that background work worked (a monitor pass, an update done), as onError is told that it failed. */
    private readonly onSuccess: (what: string) => void = () => undefined,
  ) {}

  /** The swarm, made (and its monitor started) on first use. */
  get(): LocalSwarm {
    if (!this.swarm) {
      const swarm = this.create(this.engine);
      this.swarm = swarm;
      const monitor = 'the swarm task monitor';
      const monitorError = (error: unknown): void => this.onError(error, monitor);
      Promise.resolve(swarm.startMonitor(this.stopping.signal, monitorError, () => this.onSuccess(monitor))).catch(monitorError);
      // What it does and what fails (a manager unreachable, a task that cannot start) goes to the swarm's log: the daemon's, given to swarmLoader.
      this.agent = swarm.superviseAgent?.(this.stopping.signal).catch((error: unknown) => this.onError(error, 'the swarm node agent'));
    }
    return this.swarm;
  }

  private onDisk(): boolean {
    return this.swarm !== undefined || existsSync(join(this.engine.root, 'swarm'));
  }

  /** At the daemon's start: a swarm the root has comes back (its tasks reconciled). */
  async start(): Promise<void> {
    if (this.onDisk()) await this.get().recover();
  }

  /** `info`'s Swarm section, or undefined when this root has no swarm (the engine's inactive one stands). */
  async info(): Promise<SwarmInfo | undefined> {
    return this.onDisk() ? this.get().info() : undefined;
  }

  /**
   * `network create`: in a swarm, a swarm-scoped request (`-d overlay`, `--scope swarm`,
   * `--ingress`) makes the swarm's network; anything else, or any request on a root in no
   * swarm, is the engine's (which refuses the swarm's in dockerd's words).
   */
  createNetwork(options: NetworkCreateOptions): Promise<NetworkInspect> {
    if (!this.onDisk()) return this.engine.createNetwork(options);
    return swarmModule().createSwarmNetwork(this.get().context(), options);
  }

  /** `network rm`: in a swarm, a network a service uses (or ingress, while a service publishes through it) stays, as swarmkit refuses it. */
  removeNetwork(name: string): Promise<void> {
    if (!this.onDisk()) return this.engine.removeNetwork(name);
    return swarmModule().removeSwarmNetwork(this.get().context(), name);
  }

  /**
   * Drive a service's convergence (a rolling update) in the daemon, as swarmkit's updater runs in
   * the manager: the client only polls. It outlives the request and stops with the daemon.
   */
  converge(serviceId: string): void {
    const swarm = this.get();
    const previous = this.updates.get(serviceId) ?? Promise.resolve();
    const what = `the update of service ${serviceId}`;
    const next = previous
      .then(() => swarm.converge(serviceId, { signal: this.stopping.signal }))
      .then(
        () => this.onSuccess(what),
        (error: unknown) => {
          // A service removed while its update ran has nothing left to converge.
          if (!this.stopping.signal.aborted && !isNotFound(error)) this.onError(error, what);
        },
      )
      .finally(() => {
        if (this.updates.get(serviceId) === next) this.updates.delete(serviceId);
      });
    this.updates.set(serviceId, next);
  }

  /** Stop following the swarm; what runs in it keeps running under conmon. */
  async close(): Promise<void> {
    this.stopping.abort();
    // The work requests left to the monitor (a removed service's containers) is finished first.
    await Promise.all([...this.updates.values(), this.agent, this.swarm?.idle?.()]);
  }
}

/** A `version` query parameter (the object's Version.Index the client read), in dockerd's words when it is none. */
function versionOf(call: Call, what: string): number {
  const raw = call.query.string('version') ?? '';
  const version = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(version)) throw invalidArgument(`invalid ${what} version '${raw}': strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return version;
}

function body<T>(call: Call): Promise<T> {
  return readJsonObject(call.req) as Promise<T>;
}

/** Go's `omitempty` on a Warnings list: none is no field. */
function warnings(list: string[] | undefined): { Warnings?: string[] } {
  return list && list.length > 0 ? { Warnings: list } : {};
}

function logsOptions(call: Call, signal: AbortSignal): ServiceLogsOptions {
  if (!call.query.bool('stdout') && !call.query.bool('stderr')) throw invalidArgument('Bad parameters: you must choose at least one stream');
  const tail = call.query.string('tail');
  const since = call.query.string('since');
  const until = call.query.string('until');
  return {
    follow: call.query.bool('follow'),
    timestamps: call.query.bool('timestamps'),
    details: call.query.bool('details'),
    signal,
    ...(tail ? { tail } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
  };
}

/**
 * A service's or task's log as dockerd's swarm logs write it: stdcopy frames (raw for a TTY
 * service), each line after its time and, with `details`, the task's context — which the
 * docker CLI requires (it asks for details unless `--raw`) to print `web.1.x@node | line`.
 */
async function streamLogs(call: Call, tty: boolean, lines: (options: ServiceLogsOptions) => AsyncIterable<ServiceLogLine>): Promise<void> {
  const gone = clientGone(call);
  const options = logsOptions(call, gone);
  const stdout = call.query.bool('stdout');
  const stderr = call.query.bool('stderr');
  const res = startStream(call, tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
  const out = framedWriter(res, STDOUT, tty);
  const err = framedWriter(res, STDERR, tty);
  try {
    for await (const entry of lines(options)) {
      if (!(entry.stream === 'stderr' ? stderr : stdout)) continue;
      const attrs = { 'com.docker.swarm.node.id': entry.task.nodeId, 'com.docker.swarm.service.id': entry.task.serviceId, 'com.docker.swarm.task.id': entry.task.id };
      (entry.stream === 'stderr' ? err : out).write(`${logLine({ time: entry.timestamp ?? '', line: entry.line, attrs }, { timestamps: options.timestamps === true, details: options.details === true })}\n`);
    }
  } catch (error) {
    if (!gone.aborted) throw error;
  }
  res.end();
}

/**
 * Swarm mode's part of the Engine API (moby's api/server/router/swarm): the cluster, nodes,
 * services and their logs, tasks, secrets and configs, over the daemon's swarm.
 */
export function swarmRoutes({ swarm: daemonSwarm }: Services): Route[] {
  const swarm = (): LocalSwarm => daemonSwarm.get();
  const id = (call: Call): string => call.params[0] as string;
  return [
    route('GET', '/swarm', async (call) => sendJson(call, 200, await swarm().inspect())),
    route('POST', '/swarm/init', async (call) => sendJson(call, 200, await swarm().init(await body(call)))),
    route('POST', '/swarm/join', async (call) => {
      await swarm().join(await body(call));
      sendEmpty(call, 200);
    }),
    route('POST', '/swarm/leave', async (call) => {
      await swarm().leave(call.query.bool('force'));
      sendEmpty(call, 200);
    }),
    route('POST', '/swarm/update', async (call) => {
      const version = versionOf(call, 'swarm');
      await swarm().update(version, await body(call), {
        RotateWorkerToken: call.query.bool('rotateWorkerToken'),
        RotateManagerToken: call.query.bool('rotateManagerToken'),
        RotateManagerUnlockKey: call.query.bool('rotateManagerUnlockKey'),
      });
      sendEmpty(call, 200);
    }),
    route('GET', '/swarm/unlockkey', async (call) => sendJson(call, 200, await swarm().unlockKey())),
    route('POST', '/swarm/unlock', async (call) => {
      const { UnlockKey } = await body<{ UnlockKey?: unknown }>(call);
      await swarm().unlock(typeof UnlockKey === 'string' ? UnlockKey : '');
      sendEmpty(call, 200);
    }),

    route('GET', '/nodes', async (call) => sendJson(call, 200, await swarm().nodes(call.query.filters()))),
    route('GET', '/nodes/:id', async (call) => sendJson(call, 200, await swarm().inspectNode(id(call)))),
    route('POST', '/nodes/:id/update', async (call) => {
      const version = versionOf(call, 'node');
      await swarm().updateNode(id(call), version, await body(call));
      sendEmpty(call, 200);
    }),
    route('DELETE', '/nodes/:id', async (call) => {
      await swarm().removeNode(id(call), call.query.bool('force'));
      sendEmpty(call, 200);
    }),

    route('GET', '/services', async (call) => sendJson(call, 200, await swarm().services(call.query.filters(), { status: call.query.bool('status') }))),
    route('POST', '/services/create', async (call) => {
      const registryAuth = call.req.headers['x-registry-auth'];
      const created = await swarm().createService(await body(call), typeof registryAuth === 'string' && registryAuth ? { registryAuth } : {});
      sendJson(call, 201, { ID: created.ID, ...warnings(created.Warnings) });
    }),
    route('GET', '/services/:id', async (call) => sendJson(call, 200, await swarm().inspectService(id(call), { insertDefaults: call.query.bool('insertDefaults') }))),
    route('POST', '/services/:id/update', async (call) => {
      const version = versionOf(call, 'service');
      const rollback = call.query.string('rollback');
      if (rollback && rollback !== 'previous') throw invalidArgument(`invalid rollback parameter '${rollback}': use 'previous'`);
      const registryAuth = call.req.headers['x-registry-auth'];
      const updated = await swarm().updateService(id(call), version, await body(call), {
        ...(rollback ? { rollback: 'previous' as const } : {}),
        ...(typeof registryAuth === 'string' && registryAuth ? { registryAuth } : {}),
      });
      daemonSwarm.converge(id(call));
      sendJson(call, 200, warnings(updated.Warnings));
    }),
    route('DELETE', '/services/:id', async (call) => {
      await swarm().removeService(id(call));
      sendEmpty(call, 200);
    }),
    route('GET', '/services/:id/logs', async (call) => {
      const service = await swarm().inspectService(id(call));
      await streamLogs(call, service.Spec.TaskTemplate.ContainerSpec?.TTY === true, (options) => swarm().serviceLogs(service.ID, options));
    }),

    route('GET', '/tasks', async (call) => sendJson(call, 200, await swarm().tasks(call.query.filters()))),
    route('GET', '/tasks/:id', async (call) => sendJson(call, 200, await swarm().inspectTask(id(call)))),
    route('GET', '/tasks/:id/logs', async (call) => {
      const task = await swarm().inspectTask(id(call));
      await streamLogs(call, task.Spec.ContainerSpec?.TTY === true, (options) => swarm().taskLogs(task.ID, options));
    }),

    route('GET', '/secrets', async (call) => sendJson(call, 200, await swarm().secrets(call.query.filters()))),
    route('POST', '/secrets/create', async (call) => sendJson(call, 201, await swarm().createSecret(await body(call)))),
    route('GET', '/secrets/:id', async (call) => sendJson(call, 200, await swarm().inspectSecret(id(call)))),
    route('POST', '/secrets/:id/update', async (call) => {
      const version = versionOf(call, 'secret');
      await swarm().updateSecret(id(call), version, await body(call));
      sendEmpty(call, 200);
    }),
    route('DELETE', '/secrets/:id', async (call) => {
      await swarm().removeSecret(id(call));
      sendEmpty(call, 204);
    }),

    route('GET', '/configs', async (call) => sendJson(call, 200, await swarm().configs(call.query.filters()))),
    route('POST', '/configs/create', async (call) => sendJson(call, 201, await swarm().createConfig(await body(call)))),
    route('GET', '/configs/:id', async (call) => sendJson(call, 200, await swarm().inspectConfig(id(call)))),
    route('POST', '/configs/:id/update', async (call) => {
      const version = versionOf(call, 'config');
      await swarm().updateConfig(id(call), version, await body(call));
      sendEmpty(call, 200);
    }),
    route('DELETE', '/configs/:id', async (call) => {
      await swarm().removeConfig(id(call));
      sendEmpty(call, 204);
    }),
  ];
}
