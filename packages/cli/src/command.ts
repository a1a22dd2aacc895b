import type { Readable, Writable } from 'node:stream';
import type { FlagSpec, ParsedArgs } from './flags';

/** Where a command reads and writes; tests give it buffers, the binary gives it the process's. */
export interface Io {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface Command {
  /** `run`, or `ls` inside a group. */
  name: string;
  /** Other names in the same place (`ps` is also `container ls` / `container list`). */
  aliases?: string[];
  /** After the command path: `[OPTIONS] IMAGE [COMMAND] [ARG...]`. */
  usage: string;
  description: string;
  flags: FlagSpec[];
  /** Stop flag parsing at the first positional (commands that take a program to run). */
  stopAtPositional?: boolean;
  /** Parse nothing: every argument reaches `run` as a positional (commands with their own parser). */
  passThrough?: boolean;
  /** Positional count the command accepts: [min, max]. */
  args?: [number, number];
  /** Left out of help: a verb ctr runs itself (`swarm agent`), not a user. */
  hidden?: boolean;
  /** Resolves to the process exit code. */
  run(args: ParsedArgs, io: Io): Promise<number>;
}

export interface CommandGroup {
  name: string;
  description: string;
  commands: Command[];
}
