import { CtrError, isCtrError, type ErrorCode } from '@ctr/errors';
import type { Io } from '../command';
import { println } from '../context';
import { formatInspect, goJson } from '../format';

/** A daemon's error as docker's CLI prints it: `Error response from daemon: …`. */
export function daemonErrorLine(error: unknown): string {
  return `Error response from daemon: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * An engine's error as docker's CLI prints a daemon's, `Error response from daemon: …`, and
 * with its status, 1: ctr runs the engine in-process and says what dockerd would answer. A
 * detach and an interruption are the user's doing, not the daemon's: they stay as they are.
 */
export function fromDaemon(error: unknown): unknown {
  if (!isCtrError(error) || error.code === 'Aborted' || error.details.verbatim === true) return error;
  const { exitCode: _exitCode, ...details } = error.details;
  return new CtrError(error.code, daemonErrorLine(error), { cause: error, hint: error.hint, details: { ...details, verbatim: true } });
}

/** A message docker's CLI makes itself and prints as it is, with no `Error: ` before it; exit status 1. */
export function verbatimError(message: string, code: ErrorCode = 'InvalidArgument', cause?: unknown): CtrError {
  return new CtrError(code, message, { ...(cause !== undefined ? { cause } : {}), details: { verbatim: true } });
}

/** What the engine answers, its failure said as docker's CLI says a daemon's (`fromDaemon`). */
export function daemonAnswer<T>(answer: Promise<T>): Promise<T> {
  return answer.catch((error: unknown) => Promise.reject(fromDaemon(error)));
}

/**
 * `ctr rm a b c` the way docker does it: act on each name in turn, print what the action
 * reports (the name itself by default), report a failure and carry on; exit 1 if any failed.
 * With `errorsLast` the failures are said after every name was acted on (docker wait's
 * joined errors).
 */
export async function forEachArg(
  names: readonly string[],
  io: Io,
  action: (name: string) => Promise<string[] | void>,
  options: { errorsLast?: boolean } = {},
): Promise<number> {
  let status = 0;
  const later: string[] = [];
  for (const name of names) {
    try {
      for (const line of (await action(name)) ?? [name]) println(io, line);
    } catch (error) {
      status = 1;
      if (options.errorsLast) later.push(daemonErrorLine(error));
      else io.stderr.write(`${daemonErrorLine(error)}\n`);
    }
  }
  for (const line of later) io.stderr.write(`${line}\n`);
  return status;
}

/**
 * `ctr volume inspect a b`: a JSON array of what `fetch` gives, or each through `--format`;
 * as docker's, one that cannot be had is left out and its error follows the output (exit 1).
 */
export async function inspectEach(
  names: readonly string[],
  io: Io,
  format: string | undefined,
  fetch: (name: string) => Promise<unknown>,
  errorLine: (error: Error) => string = daemonErrorLine,
): Promise<number> {
  const items: unknown[] = [];
  const errors: string[] = [];
  for (const name of names) {
    try {
      items.push(await fetch(name));
    } catch (error) {
      errors.push(errorLine(error as Error));
    }
  }
  println(io, format ? formatInspect(format, items) : goJson(items, { indent: 4 }));
  for (const line of errors) io.stderr.write(`${line}\n`);
  return errors.length > 0 ? 1 : 0;
}
