// Stub: helper A replaces this file (loadProject and the loader's modules).
import { CtrError } from '@ctr/errors';
import type { ComposeProject } from './model';

export interface LoadOptions {
  /** `-f`: compose files in order (`-` reads `stdin`); default: compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml in `cwd` or the nearest parent that has one, with its `.override` file. */
  files?: string[];
  /** `-p`. */
  projectName?: string;
  /** `--project-directory` (default: the first file's directory). */
  projectDirectory?: string;
  /** `--profile` (default `$COMPOSE_PROFILES`). */
  profiles?: string[];
  /** `--env-file` (default `<project dir>/.env` when present). */
  envFiles?: string[];
  /** The environment interpolation and `COMPOSE_*` variables come from (default process.env). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** `--no-interpolate`. */
  interpolate?: boolean;
  /** Services named on the command line: their profiles are activated too, as compose does. */
  services?: string[];
  /** What `-f -` reads. */
  stdin?: () => Promise<string>;
}

export async function loadProject(_options: LoadOptions = {}): Promise<ComposeProject> {
  throw new CtrError('Unsupported', 'compose: loading not implemented yet');
}
