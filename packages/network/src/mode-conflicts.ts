import { invalidArgument, notFound, type CtrError } from '@ctr/errors';
import type { SandboxState } from './state';

/** moby's runconfig.ErrConflictHostNetwork (InvalidParameter, a 400). */
const HOST_NETWORK = 'container cannot be disconnected from host network or connected to host network';
/** moby's runconfig.ErrConflictSharedNetwork. */
const SHARED_NETWORK = 'container sharing network namespace with another container or host cannot be connected to any other network';
/** moby's runconfig.ErrConflictNoNetwork. */
const NO_NETWORK = 'container cannot be connected to multiple networks with one of the networks in private (none) mode';

/** A container's network mode; one on `none` has no sandbox (runc gives its namespace the loopback). */
export type ContainerMode = SandboxState['mode'];

/** The pre-defined network other than `bridge` that a connect or disconnect names, if it names one. */
export type HostOrNone = 'host' | 'none' | undefined;

/**
 * dockerd 27's refusal to connect a container in `mode` to the network `target` names, as its
 * connectToNetwork (a container sharing another's namespace joins nothing) and
 * updateNetworkSettings (only a host-mode container is on `host`; `host` and `none` share a
 * container with no other network) refuse it. Undefined for the network the mode already is
 * (a host container to `host`, one on `none` to `none`: dockerd's duplicate, changing nothing)
 * and for a bridge container joining another network of its own.
 */
export function connectRefusal(mode: ContainerMode, target: HostOrNone): CtrError | undefined {
  if (mode === 'container') return invalidArgument(SHARED_NETWORK);
  if (target === 'host' && mode !== 'host') return invalidArgument(HOST_NETWORK);
  if (mode === target) return undefined;
  if (mode === 'host') return invalidArgument(SHARED_NETWORK);
  if (mode === 'none' || target === 'none') return invalidArgument(NO_NETWORK);
  return undefined;
}

/**
 * dockerd 27's refusal to disconnect `container`, in `mode`, from the network `network` names
 * (`target` when pre-defined), for a container not on its own networks: a host container
 * stays on `host`; nothing but `none` is connected to one on `none`, or to one sharing
 * another's namespace. Undefined for `none` from a container on it (dockerd removes that
 * endpoint, which leaves it as alone as before) and for a bridge container.
 */
export function disconnectRefusal(container: string, mode: ContainerMode, network: string, target: HostOrNone): CtrError | undefined {
  if (mode === 'host' && target === 'host') return invalidArgument(HOST_NETWORK);
  if (mode === 'bridge' || (mode === 'none' && target === 'none')) return undefined;
  return notConnected(container, network);
}

/** dockerd's words for a disconnect from a network the container is not connected to. */
export function notConnected(container: string, network: string): CtrError {
  return notFound(`container ${container} is not connected to the network ${network}`);
}
