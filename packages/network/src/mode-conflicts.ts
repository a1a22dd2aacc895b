import { CtrError, invalidArgument, notFound } from '@ctr/errors';
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
 * dockerd 27's refusal to connect a container in `mode`, `running` or not, to the network
 * `target` names: its connectToNetwork lets a running container sharing another's namespace
 * join nothing (a stopped one's connect is only recorded, never made); its
 * updateNetworkSettings lets only a host-mode container on `host`, and puts no other network
 * beside `host` or `none`. Undefined for the network the mode already is (a host container to
 * `host`, one on `none` to `none`: dockerd's duplicate, which the caller weighs) and for a
 * network of bridge's kind that a bridge container, or a stopped sharing one, may record.
 */
export function connectRefusal(mode: ContainerMode, target: HostOrNone, running: boolean): CtrError | undefined {
  if (mode === 'container' && running) return invalidArgument(SHARED_NETWORK);
  if (target === 'host' && mode !== 'host') return invalidArgument(HOST_NETWORK);
  if (mode === target) return undefined;
  if (mode === 'host') return invalidArgument(SHARED_NETWORK);
  if (mode === 'none' || target === 'none') return invalidArgument(NO_NETWORK);
  return undefined;
}

/**
 * dockerd 27's refusal to disconnect `container`, in `mode`, from the network `network` names
 * (`target` when pre-defined), for a container not on its own networks: a running host
 * container stays on `host` (a stopped one's disconnect is only recorded, as connects are);
 * nothing but `none` is connected to one on `none`. Undefined for `host` from a stopped host
 * container, for `none` from a container on it (dockerd removes that endpoint, which leaves it
 * as alone as before), and for a bridge or sharing container, whose connections say the rest.
 */
export function disconnectRefusal(container: string, mode: ContainerMode, network: string, target: HostOrNone, running: boolean): CtrError | undefined {
  if (mode === 'host' && target === 'host') return running ? invalidArgument(HOST_NETWORK) : undefined;
  if (mode === 'bridge' || mode === 'container' || (mode === 'none' && target === 'none')) return undefined;
  return notConnected(container, network);
}

/** dockerd's words for a disconnect from a network the container is not connected to. */
export function notConnected(container: string, network: string): CtrError {
  return notFound(`container ${container} is not connected to the network ${network}`);
}

/**
 * libnetwork's CreateEndpoint refusing a second endpoint of a container (named `name`) on a
 * network: a ForbiddenError, a 403, as a running container's duplicate connect meets it.
 */
export function endpointExists(name: string, network: string): CtrError {
  return new CtrError('Denied', `endpoint with name ${name} already exists in network ${network}`);
}
