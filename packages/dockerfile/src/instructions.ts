import type { SourceLocation } from './dockerfile-error';
import type { Heredoc } from './heredoc';
import type { DockerfileNode } from './parser';

/**
 * Typed instructions: what each Dockerfile line means, before variable expansion (the builder
 * expands with the environment of the step). Every one keeps its node for text and location.
 */
interface Base {
  node: DockerfileNode;
  location: SourceLocation;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface FromInstruction extends Base {
  kind: 'FROM';
  image: string;
  /** `AS name`, lower-cased; undefined when unnamed. */
  stageName?: string;
  platform?: string;
}

/** RUN, CMD, ENTRYPOINT: exec form (`json`) or one shell command line. */
export interface CommandLine {
  command: string[];
  /** Shell form: run through the SHELL (`/bin/sh -c`). */
  shell: boolean;
}

export interface RunInstruction extends Base, CommandLine {
  kind: 'RUN';
  heredocs: Heredoc[];
  mounts: string[];
  network?: string;
  security?: string;
}

export interface CmdInstruction extends Base, CommandLine {
  kind: 'CMD';
}

export interface EntrypointInstruction extends Base, CommandLine {
  kind: 'ENTRYPOINT';
}

export interface ShellInstruction extends Base {
  kind: 'SHELL';
  shell: string[];
}

export interface EnvInstruction extends Base {
  kind: 'ENV';
  env: KeyValue[];
}

export interface LabelInstruction extends Base {
  kind: 'LABEL';
  labels: KeyValue[];
}

export interface MaintainerInstruction extends Base {
  kind: 'MAINTAINER';
  maintainer: string;
}

/** A COPY/ADD source written inline as a heredoc. */
export interface SourceContent {
  path: string;
  data: string;
  expand: boolean;
}

export interface CopyInstruction extends Base {
  kind: 'COPY' | 'ADD';
  sources: string[];
  sourceContents: SourceContent[];
  dest: string;
  /** COPY --from=<stage name | stage index | image>. */
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
  /** ADD --checksum=sha256:… for URLs. */
  checksum?: string;
  /** ADD --unpack: extract archives (default true for local archives). */
  unpack?: boolean;
  keepGitDir: boolean;
}

export interface ExposeInstruction extends Base {
  kind: 'EXPOSE';
  ports: string[];
}

export interface UserInstruction extends Base {
  kind: 'USER';
  user: string;
}

export interface WorkdirInstruction extends Base {
  kind: 'WORKDIR';
  path: string;
}

export interface VolumeInstruction extends Base {
  kind: 'VOLUME';
  volumes: string[];
}

export interface StopSignalInstruction extends Base {
  kind: 'STOPSIGNAL';
  signal: string;
}

export interface ArgDefinition {
  key: string;
  /** The default as written (expanded when the ARG runs); undefined for `ARG NAME`. */
  value?: string;
}

export interface ArgInstruction extends Base {
  kind: 'ARG';
  args: ArgDefinition[];
}

export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** The trigger as stored in the image config (`RUN echo hi`). */
  expression: string;
}

/** Docker's HealthConfig; durations in nanoseconds (0 = inherit the default). */
export interface HealthConfig {
  /** `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "command"]`. */
  test: string[];
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  health: HealthConfig;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | EnvInstruction
  | LabelInstruction
  | MaintainerInstruction
  | CopyInstruction
  | ExposeInstruction
  | UserInstruction
  | WorkdirInstruction
  | VolumeInstruction
  | StopSignalInstruction
  | ArgInstruction
  | OnbuildInstruction
  | HealthcheckInstruction;

export type InstructionKind = Instruction['kind'];

/** One `FROM … [AS name]` and the instructions up to the next FROM. */
export interface Stage {
  index: number;
  name?: string;
  from: FromInstruction;
  instructions: Instruction[];
}

/** A parsed and checked Dockerfile: global ARGs (before the first FROM) and the stages. */
export interface Dockerfile {
  file: string;
  escapeToken: string;
  metaArgs: ArgInstruction[];
  stages: Stage[];
  warnings: { message: string; detail: string; line: number }[];
}
