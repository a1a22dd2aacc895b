import { CtrError, asCtrError, isCtrError, type ErrorCode } from '@ctr/errors';
import type { Io } from './command';

/**
 * How ctr says what went wrong: docker 28's CLI's words and places. One rule, at the boundary
 * with the engine (`answeringAsDaemon`): what the engine refuses is a daemon's answer, printed
 * `Error response from daemon: …` as docker's CLI prints dockerd's, whether the engine runs in
 * this process or behind `-H`; what ctr refuses itself is printed as it is, as docker's main
 * prints its own errors. `run` and `create` frame some of theirs as docker's do (`withHelp`).
 */

/** docker 28's closing line of an error that a command's help may explain. */
export const moreInformation = (path: string, verb = 'Run'): string => `${verb} '${path} --help' for more information\n`;

/** An error the engine answered with, as docker's CLI receives a daemon's. */
export function isDaemonError(error: unknown): boolean {
  return isCtrError(error) && error.details.daemon === true;
}

/** A daemon that could not be reached (`-H`): no answer of its, said in docker's one line. */
function unreachable(error: unknown): boolean {
  return isCtrError(error) && error.code === 'Unavailable' && /^(Cannot connect to the ctr daemon|error during connect)/.test(error.message);
}

/**
 * `error` as the daemon's answer. A detach and an interruption are the user's doing, and a
 * daemon that cannot be reached gave none: they stay as they are.
 */
export function fromDaemon(thrown: unknown): unknown {
  // A full disk is typed (ResourceExhausted, with what to do) wherever the engine met it.
  const error = asCtrError(thrown);
  if (isCtrError(error) && (error.code === 'Aborted' || isDaemonError(error) || unreachable(error))) return error;
  const code: ErrorCode = isCtrError(error) ? error.code : 'Internal';
  const details = isCtrError(error) ? error.details : {};
  const hint = isCtrError(error) ? error.hint : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new CtrError(code, message, { cause: error, ...(hint ? { hint } : {}), details: { ...details, daemon: true } });
}

/**
 * One line (or more) of an error as docker's CLI prints it: a daemon's answer after `Error
 * response from daemon: `, ctr's own refusal as it is; either's hint (what to do, which
 * docker's words alone do not say) on the next line.
 */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const hint = isCtrError(error) && !unreachable(error) ? error.hint : undefined;
  const line = isDaemonError(error) ? `Error response from daemon: ${message}` : message;
  return hint ? `${line}\n${hint}` : line;
}

/**
 * docker's framing of what `run` (all it cannot do before the container runs) and `create`
 * (its flags) refuse: `docker: …`, a blank line and where to read more, with the status given.
 * An error of the flags' syntax keeps cobra's framing.
 */
export function withHelp(error: unknown, command: 'run' | 'create', exitCode: number): unknown {
  if (isCtrError(error) && (error.details.usage === true || error.details.help !== undefined)) return error;
  const code: ErrorCode = isCtrError(error) ? error.code : 'Internal';
  return new CtrError(code, errorLine(error), { cause: error, details: { help: `ctr ${command}`, exitCode } });
}

/**
 * dockerd's streaming answers (moby's `output.Flushed()`): an error that comes before the first
 * message is the HTTP answer, one that comes after is a message of the stream, which docker's
 * CLI prints as it is (`The command '/bin/sh -c false' returned a non-zero code: 1`). For each
 * such engine call: the options argument and the callbacks its messages come through, or
 * `always` where dockerd has always written before it can fail (push's "The push refers to
 * repository [...]") or streams every error (load).
 */
const STREAMED: Record<string, { options: number; callbacks: readonly string[] } | 'always'> = {
  pull: { options: 1, callbacks: ['onProgress'] },
  pullAllTags: { options: 1, callbacks: ['onProgress', 'onTag'] },
  build: { options: 0, callbacks: ['onEvent'] },
  push: 'always',
  pushAllTags: 'always',
  load: 'always',
};

type AnyFunction = (...args: unknown[]) => unknown;

/**
 * The engine, every failure of which (a rejection, a throw, an error while iterating its
 * logs, stats or events) that `answered` says the daemon gave is the daemon's answer, unless
 * it came in a stream (`STREAMED`). The engine in this process answers everything it refuses;
 * through `-H` only what came back as an HTTP error is the daemon's (a TLS or SSH setup that
 * fails here is the client's own).
 */
export function answeringAsDaemon<T extends object>(engine: T, answered: (error: unknown) => boolean = () => true): T {
  return new Proxy(engine, {
    get(target, key, receiver): unknown {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      const method = value as AnyFunction;
      const streamed = STREAMED[key];
      return (...args: unknown[]): unknown => {
        let began = streamed === 'always';
        if (streamed !== undefined && streamed !== 'always') {
          const options = (args[streamed.options] ?? {}) as Record<string, unknown>;
          const watched: Record<string, unknown> = { ...options };
          for (const name of streamed.callbacks) {
            const callback = options[name] as AnyFunction | undefined;
            watched[name] = (...event: unknown[]): unknown => {
              began = true;
              return callback?.(...event);
            };
          }
          args = [...args];
          args[streamed.options] = watched;
        }
        const answer = (error: unknown): unknown => (began || !answered(error) ? error : fromDaemon(error));
        try {
          return whenDone(method.apply(target, args), answer);
        } catch (error) {
          throw answer(error);
        }
      };
    },
  });
}

/** `result` (a promise, an async iterable or a value), its failure passed through `answer`. */
function whenDone(result: unknown, answer: (error: unknown) => unknown): unknown {
  if (result instanceof Promise) return result.catch((error: unknown) => Promise.reject(answer(error)));
  if (typeof result === 'object' && result !== null && Symbol.asyncIterator in result) return answeredEach(result as AsyncIterable<unknown>, answer);
  return result;
}

async function* answeredEach<E>(items: AsyncIterable<E>, answer: (error: unknown) => unknown): AsyncGenerator<E> {
  try {
    yield* items;
  } catch (error) {
    throw answer(error);
  }
}

/** The innermost error that is not ctr's own: what `-D` shows the stack of. */
function rootCause(error: unknown): Error | undefined {
  for (let at = error; at instanceof Error; at = at.cause) if (!isCtrError(at)) return at;
  return undefined;
}

/**
 * Print what ended a command as docker 28's CLI does and resolve its exit status: 125 for a
 * usage error, the given status of one framed `withHelp`, 1 for a daemon's answer (a container's
 * or step's code the engine names is not the CLI's status), else the status the error carries
 * (a build step's, a template's) or 1.
 */
export function reportError(error: unknown, io: Io, path: string, debug: boolean, usageLine?: string): number {
  const details = isCtrError(error) ? error.details : {};
  if (details.usage === true) {
    // pflag's and cobra's errors, as docker 28 frames them: the usage, then where to read more.
    io.stderr.write(`${errorLine(error)}\n\n${usageLine ? `Usage:  ${usageLine}\n\n` : ''}${moreInformation(path)}`);
    return 125;
  }
  if (typeof details.help === 'string') io.stderr.write(`ctr: ${errorLine(error)}\n\n${moreInformation(details.help)}`);
  else io.stderr.write(`${errorLine(error)}\n`);
  const root = rootCause(error);
  if (debug && root?.stack) io.stderr.write(`${root.stack}\n`);
  if (isDaemonError(error)) return 1;
  return typeof details.exitCode === 'number' ? details.exitCode : 1;
}
