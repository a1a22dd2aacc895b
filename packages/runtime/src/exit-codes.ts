import { invalidArgument, type CtrError } from '@ctr/errors';

/** dockerd's words after a start that failed on a path of the wrong type (moby's `translateContainerdStartErr`). */
const WRONG_TYPE_HINT = 'Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';

/**
 * Turn runc's report of a process that could not start into Docker's words and exit
 * codes: 127 for a missing executable, 126 for one that cannot be run, 128 otherwise. A
 * missing or unrunnable program is named alone (`exec: "nope": executable file not found
 * in $PATH`); anything else is dockerd's `OCI runtime create failed: …` (or `exec failed`)
 * with runc's message, without containerd's `: unknown`.
 */
export function startFailure(raw: string, operation: 'create' | 'exec' = 'create'): CtrError {
  const text = raw.trim();
  const exec = /exec: "[^"]*": [^\n]*/.exec(text);
  const cause = text.replace(/: unknown$/, '');
  const message = exec
    ? exec[0].replace(/: unknown$/, '')
    : `OCI runtime ${operation} failed: ${cause}${/not a directory/.test(cause) ? `: ${WRONG_TYPE_HINT}` : ''}`;
  const exitCode = /executable file not found|no such file or directory/.test(text) ? 127 : /permission denied|is a directory/.test(text) ? 126 : 128;
  return invalidArgument(message, { details: { exitCode, runtimeError: text } });
}
