import { setTimeout as sleep } from 'node:timers/promises';
import { CtrError } from '@ctr/errors';
import { certValidity, readCredentials } from './certs';
import type { SwarmContext } from './context';
import { FailureLog, moduleLog } from './log';
import { REJOIN_HINT } from './transport';

/**
 * Node certificate renewal, as swarmkit's TLSRenewer: each node's agent renews its certificate
 * at a random point of its validity, retrying with backoff while it cannot.
 */

/** swarmkit's CertLowerRotationRange and CertUpperRotationRange: renewal comes between 50% and 80% of the validity. */
const WINDOW = { lower: 0.5, upper: 0.8 };
/** A failed renewal is tried again after 5 s, doubling up to 5 minutes (swarmkit's default wait). */
const RETRY_MS = { first: 5_000, max: 300_000 };
/**
 * The longest single wait: a renewal days away is waited for in steps (a timer takes at most
 * ~24 days), and the wall clock, which a suspended machine's jumps, is looked at again after each.
 */
const MAX_WAIT_MS = 3_600_000;

/** When a certificate is valid (certValidity), in milliseconds since the epoch. */
export interface Validity {
  from: number;
  until: number;
}

/**
 * When a certificate valid over `validity` is renewed: a random point between 50% and 80% of its
 * validity (swarmkit's calculateRandomExpiry), so the nodes of a swarm do not all ask at once.
 * `random` is in [0, 1).
 */
export function renewalTime(validity: Validity, random: number = Math.random()): number {
  const length = validity.until - validity.from;
  return validity.from + length * (WINDOW.lower + (WINDOW.upper - WINDOW.lower) * random);
}

/**
 * A worker whose certificate expired: the manager refuses it (mutual TLS), and renewing takes a
 * call to the manager with the certificate, so nothing but joining again helps.
 */
export function certificateExpired(until: number): CtrError {
  return new CtrError('Unavailable', `this node's swarm certificate expired at ${new Date(until).toISOString()}: the manager no longer accepts it, and it cannot be renewed`, {
    hint: REJOIN_HINT,
  });
}

/** The validity of the certificate on this root now. */
export function currentValidity(ctx: SwarmContext): Validity {
  const credentials = readCredentials(ctx);
  if (!credentials) throw new CtrError('Unavailable', 'this node has no swarm certificate', { hint: 'leave the swarm and join it again' });
  return certValidity(credentials.cert);
}

/** Throws certificateExpired when the certificate on this root has expired. */
export function checkNotExpired(ctx: SwarmContext): void {
  const { until } = currentValidity(ctx);
  if (until <= Date.now()) throw certificateExpired(until);
}

export interface RenewalOptions {
  /** Gets a new certificate and stores it (the manager signs its own; a worker asks its manager). */
  renew(signal: AbortSignal): Promise<void>;
  /** Called once the new certificate is on disk: the agent's server takes it. */
  renewed(): void;
  /**
   * Whether a certificate may still be renewed once expired: the manager's can (it signs its
   * own); a worker's cannot, and the loop then ends with certificateExpired.
   */
  renewsExpired: boolean;
  /** The first renewal this long after the start, instead of in the window (the agent's test hook). */
  firstAfterMs?: number;
}

/** Resolves after `ms` (at most MAX_WAIT_MS), or at once when `signal` fires (never rejects). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(Math.min(Math.max(0, ms), MAX_WAIT_MS), undefined, { signal }).catch(() => undefined);
}

/**
 * Keeps the node's certificate renewed until `signal` fires: at the window's point (at once when
 * it has passed, as after the agent was down), again after a failure with backoff. A worker
 * whose certificate expires before a renewal succeeds ends it with certificateExpired.
 */
export async function keepCertificateRenewed(ctx: SwarmContext, options: RenewalOptions, signal: AbortSignal): Promise<void> {
  let next = options.firstAfterMs === undefined ? undefined : Date.now() + options.firstAfterMs;
  let retry = RETRY_MS.first;
  const log = moduleLog(ctx, 'node/tls');
  const failures = new FailureLog(log, 'failed to renew the certificate');
  while (!signal.aborted) {
    const validity = currentValidity(ctx);
    if (!options.renewsExpired && validity.until <= Date.now()) throw certificateExpired(validity.until);
    next ??= renewalTime(validity);
    // A worker also wakes at its certificate's expiry, to say so rather than wait on.
    await pause(Math.min(next, options.renewsExpired ? next : validity.until) - Date.now(), signal);
    if (signal.aborted) break;
    if (Date.now() < next) continue;
    try {
      await options.renew(signal);
      options.renewed();
      failures.clear();
      log.log('info', 'certificate renewed', { expiry: new Date(currentValidity(ctx).until).toISOString() });
      next = undefined;
      retry = RETRY_MS.first;
    } catch (error) {
      if (signal.aborted) break;
      failures.failed(error, { retry: `${retry}ms` });
      next = Date.now() + retry;
      retry = Math.min(retry * 2, RETRY_MS.max);
    }
  }
}
