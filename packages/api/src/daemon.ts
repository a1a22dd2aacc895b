import { Engine, type EngineOptions } from '@ctr/engine';
import { ApiServer, type ApiServerOptions } from './server';
import { lockRoot } from './daemon-lock';

export interface DaemonOptions extends EngineOptions {
  /** Default `unix://<runRoot>/ctr.sock`, i.e. `unix:///run/ctr/ctr.sock`. */
  hosts?: string[];
  socketMode?: number;
  tls?: ApiServerOptions['tls'];
  onInternalError?: (error: unknown, request: string) => void;
}

export interface Daemon {
  engine: Engine;
  server: ApiServer;
  /** Stop serving and release the root; containers keep running under conmon. */
  stop(): Promise<void>;
}

/** `ctrd`: lock the root (one daemon per root), open the engine, serve the API. */
export async function startDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const engine = new Engine(options);
  const lock = await lockRoot(engine.root);
  try {
    // As dockerd at boot: containers whose monitor died with the machine come back by policy,
    // then restart policies and detached --rm are honoured while the daemon runs.
    await engine.recover();
    await engine.startMonitor();
    const server = await ApiServer.listen({
      engine,
      hosts: options.hosts && options.hosts.length > 0 ? options.hosts : [`unix://${engine.runRoot}/ctr.sock`],
      ...(options.socketMode !== undefined ? { socketMode: options.socketMode } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.onInternalError ? { onInternalError: options.onInternalError } : {}),
    });
    return {
      engine,
      server,
      async stop() {
        await server.close();
        await engine.close();
        await lock.release();
      },
    };
  } catch (error) {
    await engine.close();
    await lock.release();
    throw error;
  }
}
