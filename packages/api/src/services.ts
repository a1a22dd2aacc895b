import type { Engine } from '@ctr/engine';
import type { ExecSessions } from './exec-sessions';
import type { Lifecycle } from './lifecycle';
import type { DaemonSwarm } from './routes/swarm';

/** What the route handlers share: the engine and the daemon's own in-memory state. */
export interface Services {
  engine: Engine;
  lifecycle: Lifecycle;
  execs: ExecSessions;
  /** The swarm the routes of swarm mode serve (loaded on their first call). */
  swarm: DaemonSwarm;
  /** The authorization plugins the daemon was configured with (`info`'s Plugins.Authorization). */
  authorizationPlugins?: () => readonly string[];
}
