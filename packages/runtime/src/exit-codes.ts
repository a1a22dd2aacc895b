import { invalidArgument, type CtrError } from '@ctr/errors';

/** dockerd's words after a start that failed on a path of the wrong type (moby's `translateContainerdStartErr`). */
const WRONG_TYPE_HINT = 'Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';

/** What dockerd and containerd put before runc's message of a container that could not start. */
const CREATE_PREFIX = 'failed to create task for container: failed to create shim task: ';

/** dockerd's exit code of a start that failed for no reason it recognises: 128 for a container, 126 for an exec. */
const UNKNOWN_FAILURE = { create: 128, exec: 126 } as const;

/**
 * Turn runc's report of a process that could not start into dockerd's words and exit
 * code. The words are docker 28's, containerd's part included: `failed to create task for
 * container: failed to create shim task: OCI runtime create failed: <runc's message>:
 * unknown` (for an exec, `OCI runtime exec failed: <runc's message>: unknown`). The exit
 * code, which dockerd records as the container's (or the exec's), follows moby's
 * `translateContainerdStartErr`: 127 for a program or path not found, 126 for one that
 * cannot be run (a directory is said to be `permission denied` too), 127 for a path of
 * the wrong type (with dockerd's hint), else 128 (126 for an exec).
 */
export function startFailure(raw: string, operation: 'create' | 'exec' = 'create'): CtrError {
  const runtimeError = raw.trim();
  const cause = runtimeError.replace(/: unknown$/, '');
  let message = `${operation === 'create' ? CREATE_PREFIX : ''}OCI runtime ${operation} failed: ${cause}: unknown`;
  let exitCode: number = UNKNOWN_FAILURE[operation];
  if (/executable file not found|no such file or directory/i.test(message)) exitCode = 127;
  if (/permission denied/i.test(message)) exitCode = 126;
  if (/is a directory/i.test(message)) {
    // docker's CLI reads `permission denied` (Go's word before 1.20) to exit 126: dockerd says it.
    message += ': permission denied';
    exitCode = 126;
  } else if (/not a directory/i.test(message)) {
    message += `: ${WRONG_TYPE_HINT}`;
    exitCode = 127;
  }
  return invalidArgument(message, { details: { exitCode, runtimeError } });
}

/**
 * The exit status of a `docker run` whose container could not start, as docker's CLI
 * works it out from dockerd's message (its `toStatusError`): 127 when something was not
 * found, 126 when it could not be run, 125 otherwise.
 */
export function runExitStatus(message: string): 125 | 126 | 127 {
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(message)) return 127;
  if (/permission denied|is a directory/.test(message)) return 126;
  return 125;
}
