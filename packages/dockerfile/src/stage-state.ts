import { envMap, type ContainerConfig, type HistoryEntry } from '@ctr/image';
import type { Platform } from './build-args';

export const defaultShell = ['/bin/sh', '-c'];

/** A stage's build so far: filesystem state, image config being built, history, cache-key chain. */
export class StageState<S> {
  /** Stage ARGs in scope with their values. */
  readonly args = new Map<string, string>();
  /** CMD was set in this stage (ENTRYPOINT then keeps it; otherwise ENTRYPOINT clears an inherited CMD). */
  cmdSet = false;

  constructor(
    public state: S,
    public key: string,
    public config: ContainerConfig,
    public history: HistoryEntry[],
    public platform: Platform,
    public author: string | undefined,
  ) {}

  get shell(): string[] {
    return this.config.Shell && this.config.Shell.length > 0 ? this.config.Shell : defaultShell;
  }

  get workdir(): string {
    return this.config.WorkingDir || '/';
  }

  envMap(): Map<string, string> {
    return envMap(this.config.Env);
  }

  /** What `$VAR` sees: the stage's ARGs, overridden by ENV (Docker: ENV wins over ARG). */
  expansionEnv(): Map<string, string> {
    return new Map([...this.args, ...this.envMap()]);
  }

  /** Build args that reach RUN (declared ARGs not shadowed by ENV), sorted `K=V`. */
  runArgs(): string[] {
    const env = this.envMap();
    return [...this.args].filter(([k]) => !env.has(k)).map(([k, v]) => `${k}=${v}`).sort();
  }
}
