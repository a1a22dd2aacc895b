import type { Engine } from '@ctr/engine';
import type { ExecSessions } from './exec-sessions';
import type { Lifecycle } from './lifecycle';

/** What the route handlers share: the engine and the daemon's own in-memory state. */
export interface Services {
  engine: Engine;
  lifecycle: Lifecycle;
  execs: ExecSessions;
  /** The authorization plugins the daemon was configured with (`info`'s Plugins.Authorization). */
  authorizationPlugins?: () => readonly string[];
}
