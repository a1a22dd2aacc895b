import { CtrError } from '@ctr/errors';

/** Errors `allocationFailure` marked: the same objects, thrown on unchanged. */
const marked = new WeakSet<object>();

/**
 * `error`, marked as a failure of a container's network allocation: of what dockerd makes at a
 * container's start (its addresses, endpoints and published ports; allocateNetwork), not at its
 * create — so a `run` it fails still leaves its container, created, whose start fails the same
 * way. An abort is not marked: the caller gave the run up.
 */
export function allocationFailure(error: unknown): unknown {
  if (typeof error === 'object' && error !== null && (error as { code?: unknown }).code !== 'Aborted') marked.add(error);
  return error;
}

/** Whether `error` is an `allocationFailure`. */
export function isAllocationFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && marked.has(error);
}

/**
 * An address asked for (`--ip`, `--ip6`) that another endpoint, the gateway or an
 * `--aux-address` holds, in dockerd's words: libnetwork's IPAM answers ErrIPAlreadyAllocated,
 * a ForbiddenError (a 403), naming neither; the hint does.
 */
export function addressInUse(ip: string, network: string): CtrError {
  return new CtrError('Denied', 'Address already in use', { hint: `${ip} is taken on network ${network}: ask for another address` });
}
