import { Engine, type EngineOptions, type SweepReport } from '@ctr/engine';
import type { SwarmLog } from '@ctr/swarm';
import { ApiServer, type ApiServerOptions } from './server';
import { lockRoot } from './daemon-lock';
import { DaemonSwarm, swarmLoader } from './routes/swarm';

export interface DaemonOptions extends EngineOptions {
  /** Default `unix://<runRoot>/ctr.sock`, i.e. `unix:///run/ctr/ctr.sock`. */
  hosts?: string[];
  socketMode?: number;
  tls?: ApiServerOptions['tls'];
  authorizationPlugins?: ApiServerOptions['authorizationPlugins'];
  /** Told of a request that failed by the daemon's own fault (a 500). */
  onInternalError?: (error: unknown, request: string) => void;
  /**
   * Told of work the daemon does on its own that failed (a swarm orchestrator pass, the node
   * agent, a rolling update), which its next pass retries; default onInternalError.
   */
  onBackgroundError?: (error: unknown, what: string) => void;
  /** Told that such work worked (a pass, an update done): its next failure is news again. */
  onBackgroundSuccess?: (what: string) => void;
  /** Told what the start's sweep of leftovers removed, or why it failed (which stops nothing). */
  onSweep?: (result: SweepReport | Error) => void;
  /** The daemon's leveled log (daemonLog's), which the swarm's node agent and manager tell what they do in the background. */
  log?: SwarmLog;
  /** daemon.json's `swarm-default-advertise-addr`: what `swarm init` advertises when the request names no address. */
  swarmDefaultAdvertiseAddr?: string;
}

export interface Daemon {
  engine: Engine;
  server: ApiServer;
  /**
   * The sweep of what processes that have ended left (`Engine.sweep`), begun once the API
   * listens: its result, or undefined when it failed (told to `onSweep`).
   */
  swept: Promise<SweepReport | undefined>;
  /** Stop serving and release the root; containers keep running under conmon. */
  stop(): Promise<void>;
}

/** `ctrd`: lock the root (one daemon per root), open the engine, serve the API. */
export async function startDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const engine = new Engine(options);
  const lock = await lockRoot(engine.root);
  // A root in a swarm: its tasks are reconciled and their exits followed (nothing loaded otherwise).
  const swarm = new DaemonSwarm(
    engine,
    swarmLoader(options.log, options.swarmDefaultAdvertiseAddr),
    (error, what) => (options.onBackgroundError ?? options.onInternalError)?.(error, what),
    (what) => options.onBackgroundSuccess?.(what),
  );
  try {
    // As dockerd at boot: containers whose monitor died with the machine come back by policy,
    // then restart policies and detached --rm are honoured while the daemon runs.
    await engine.recover();
    await engine.startMonitor();
    await swarm.start();
    const server = await ApiServer.listen({
      engine,
      hosts: options.hosts && options.hosts.length > 0 ? options.hosts : [`unix://${engine.runRoot}/ctr.sock`],
      ...(options.socketMode !== undefined ? { socketMode: options.socketMode } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.authorizationPlugins ? { authorizationPlugins: options.authorizationPlugins } : {}),
      ...(options.onInternalError ? { onInternalError: options.onInternalError } : {}),
      swarm,
    });
    // As dockerd at its start, but behind the socket: a big store delays no client.
    const sweeping = new AbortController();
    const swept = engine.sweep({ signal: sweeping.signal }).then(
      (result) => {
        options.onSweep?.(result);
        return result;
      },
      (error: unknown) => {
        if (!sweeping.signal.aborted) options.onSweep?.(error instanceof Error ? error : new Error(String(error)));
        return undefined;
      },
    );
    return {
      engine,
      server,
      swept,
      async stop() {
        sweeping.abort();
        await swept;
        await server.close();
        await engine.close();
        await lock.release();
      },
    };
  } catch (error) {
    await swarm.close();
    await engine.close();
    await lock.release();
    throw error;
  }
}
