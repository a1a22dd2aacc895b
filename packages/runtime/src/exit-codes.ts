import { invalidArgument, type CtrError } from '@ctr/errors';

/**
 * Turn runc's report of a process that could not start into Docker's words and exit
 * codes: 127 for a missing executable, 126 for one that cannot be run, 128 otherwise.
 */
export function startFailure(raw: string): CtrError {
  const text = raw.trim();
  const exec = /exec: "[^"]*": [^\n]*/.exec(text);
  const message = (exec ? exec[0] : text.replace(/^(runc (create|exec) failed|exec failed): /, '')).replace(/: unknown$/, '');
  const exitCode = /executable file not found|no such file or directory/.test(text) ? 127 : /permission denied|is a directory/.test(text) ? 126 : 128;
  return invalidArgument(message, { details: { exitCode, runtimeError: text } });
}
