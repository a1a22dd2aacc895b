/**
 * What swarm mode tells its host's log (ctrd's, or the detached agent's agent.log), in the shape
 * of swarmkit's logrus entries: a level, a message, and fields (`module=node/agent`, `node.id=…`,
 * `error=…`). The host decides the format and which levels it keeps.
 */

import { isCtrError } from '@ctr/errors';
import type { SwarmContext } from './context';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Readonly<Record<string, string | number | undefined>>;

export interface SwarmLog {
  log(level: LogLevel, message: string, fields?: LogFields): void;
}

/** Where a process with no log (a library user, a CLI verb's own passes) sends its lines. */
export const NO_LOG: SwarmLog = { log: () => undefined };

/** The same log, every line with `fields` too (the caller's own, given per line, win). */
export function withFields(log: SwarmLog, fields: LogFields): SwarmLog {
  return { log: (level, message, more) => log.log(level, message, { ...fields, ...more }) };
}

/** The context's log (none: NO_LOG), its lines tagged with the swarmkit module they stand for (`node/agent`, `allocator`…). */
export function moduleLog(ctx: Pick<SwarmContext, 'log'>, module: string): SwarmLog {
  return withFields(ctx.log ?? NO_LOG, { module });
}

/** An error's words for a log field: its message (a CtrError's hint is a field of its own, errorFields'). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error as a line's fields: its words, and a CtrError's hint (what to do about it) when it has one. */
export function errorFields(error: unknown): LogFields {
  const hint = isCtrError(error) ? error.hint : undefined;
  return { error: errorText(error), ...(hint ? { hint } : {}) };
}

/** The same failure said again at error level after 1 minute, then 2, 4… at most every 30 minutes. */
const REPEAT_MS = { first: 60_000, max: 1_800_000 };

/**
 * The log of something retried until it works (a session with the manager, a start of the
 * agent): its first failure, and each failure unlike the one before, at error level; the same
 * failure again only at debug level, and at error level again after intervals that double (the
 * log says it still fails, not each retry). `clear` ends a run of failures, and tells how many
 * there were: the caller says the recovery in its own words.
 */
export class FailureLog {
  private last: { error: string; count: number; repeatAt: number; repeatMs: number } | undefined;

  constructor(
    private readonly log: SwarmLog,
    private readonly message: string,
    private readonly now: () => number = Date.now,
  ) {}

  failed(error: unknown, fields: LogFields = {}): void {
    const text = errorText(error);
    const last = this.last;
    if (last === undefined || last.error !== text) {
      this.last = { error: text, count: 1, repeatAt: this.now() + REPEAT_MS.first, repeatMs: REPEAT_MS.first };
      // What to do about it (the hint) once, with the first line.
      this.log.log('error', this.message, { ...fields, ...errorFields(error) });
      return;
    }
    last.count++;
    if (this.now() < last.repeatAt) {
      this.log.log('debug', this.message, { ...fields, error: text, failures: last.count });
      return;
    }
    last.repeatMs = Math.min(last.repeatMs * 2, REPEAT_MS.max);
    last.repeatAt = this.now() + last.repeatMs;
    this.log.log('error', this.message, { ...fields, error: text, failures: last.count });
  }

  /** The thing works again: how many failures came before (0 when none), forgotten now. */
  clear(): number {
    const count = this.last?.count ?? 0;
    this.last = undefined;
    return count;
  }
}
