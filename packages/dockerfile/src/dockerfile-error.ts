import { CtrError } from '@ctr/errors';

export interface SourceLocation {
  /** The Dockerfile's name as the user knows it (default `Dockerfile`). */
  file: string;
  /** 1-based line where the offending instruction starts. */
  line: number;
  /** 1-based column of the offending text on that line. */
  column: number;
  /** 1-based last line of the instruction (continuations, heredocs). */
  endLine?: number;
}

/**
 * A Dockerfile that cannot be parsed or does not make sense. The message starts with
 * `file:line:column:` so editors and people can jump to it; `reason` is the bare text.
 */
export class DockerfileError extends CtrError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;

  constructor(reason: string, at: SourceLocation, options: { hint?: string; cause?: unknown } = {}) {
    super('InvalidArgument', `${at.file}:${at.line}:${at.column}: ${reason}`, {
      ...options,
      details: { file: at.file, line: at.line, column: at.column, endLine: at.endLine ?? at.line },
    });
    this.file = at.file;
    this.line = at.line;
    this.column = at.column;
    this.reason = reason;
  }
}

/**
 * A problem found below the level that knows the line (the shell lexer, flag parsing); the
 * parser and builder turn it into a DockerfileError. Used on its own (`ShellLex`) it is still a
 * typed InvalidArgument error.
 */
export class SyntaxProblem extends CtrError {
  constructor(message: string) {
    super('InvalidArgument', message);
  }
}
