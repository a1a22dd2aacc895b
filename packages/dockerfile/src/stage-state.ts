import { envMap, type ContainerConfig, type HistoryEntry } from '@ctr/image';
import type { Platform } from './build-args';

export const defaultShell = ['/bin/sh', '-c'];

/** The shell a config's shell-form commands run in. */
export function configShell(config: ContainerConfig): string[] {
  return config.Shell && config.Shell.length > 0 ? config.Shell : defaultShell;
}

/** The directory a config's relative paths start from. */
export function configWorkdir(config: ContainerConfig): string {
  return config.WorkingDir || '/';
}

/** A `--cache-from` image: its history and layers, which a build's steps may reuse a prefix of. */
export interface CacheSource<S> {
  id: string;
  history: HistoryEntry[];
  diffIds: string[];
  state: S;
}

/** A stage's build so far: filesystem state, image config being built, history, cache-key chain. */
export class StageState<S> {
  /** Stage ARGs in scope with their values. */
  readonly args = new Map<string, string>();
  /** CMD was set in this stage (ENTRYPOINT then keeps it; otherwise ENTRYPOINT clears an inherited CMD). */
  cmdSet = false;
  /**
   * The stage right after FROM: the state and history length (what `--squash` squashes onto),
   * what it was (an image ID, a stage), and its config as the image has it — what the stage is
   * as an image until a step runs (dockerd commits nothing before, so the base stays the base).
   */
  base: { state: S; history: number; parent?: string; config?: ContainerConfig } | undefined;
  /**
   * The stage so far as an image (docker's dispatchState.imageID): FROM's image, then each
   * step's. Undefined on `scratch` until a step commits one.
   */
  image: string | undefined = undefined;
  /** The `--cache-from` images whose history and layers this stage's are still a prefix of. */
  cacheSources: CacheSource<S>[] = [];

  constructor(
    public state: S,
    public key: string,
    public config: ContainerConfig,
    public history: HistoryEntry[],
    public platform: Platform,
    public author: string | undefined,
  ) {}

  get shell(): string[] {
    return configShell(this.config);
  }

  get workdir(): string {
    return configWorkdir(this.config);
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
