import type { Store } from '@ctr/store';
import type { Runtime } from '@ctr/runtime';
import type { NetworkManager } from '@ctr/network';
import type { RegistryClient } from '@ctr/registry';
import type { EventLog } from './events';
import type { PluginDirectory } from './plugins/directory';

/** What the engine's parts share: the packages it composes, opened once. */
export interface EngineContext {
  readonly root: string;
  readonly runRoot: string;
  readonly store: Store;
  readonly runtime: Runtime;
  readonly network: NetworkManager;
  readonly events: EventLog;
  registry(): RegistryClient;
  /** The plugins the engine can use (volume plugins), made when first wanted. */
  plugins(): PluginDirectory;
  /** The program conmon runs after a watched container exits while no monitor is here to see it. */
  readonly exitCommand: readonly string[] | undefined;
  readonly healthcheckCommand: readonly string[] | undefined;
  /** Whether this engine's restart monitor runs (then it, not an exit command, acts on exits). */
  monitoring(): boolean;
}
