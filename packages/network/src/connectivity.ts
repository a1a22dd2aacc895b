import { asCtrError, CtrError } from '@ctr/errors';
import type { PortRefusal } from './port-allocator';
import { isIPv6Binding } from './port-spec';
import type { EndpointState } from './state';
import type { PortMapping } from './types';

/** moby's PortBinding.String(): `HostIP:HostPort:IP:Port/Proto`, IPv6 addresses in brackets. */
function bindingText(binding: PortMapping, containerIp: string): string {
  const address = (ip: string): string => (ip.includes(':') ? `[${ip}]` : ip);
  return `${address(binding.hostIp)}:${binding.hostPort}:${address(containerIp)}:${binding.containerPort}/${binding.protocol}`;
}

/**
 * A start (or connect) whose endpoint's ports could not be published, in dockerd 28's words:
 * libnetwork's sbJoin wraps the bridge driver's ProgramExternalConnectivity failure as `driver
 * failed programming external connectivity on endpoint NAME (ENDPOINT-ID): …`, after the
 * portallocator's `Bind for …: port is already allocated` (a port a container publishes) or
 * the driver's own bind failure (a port a process holds, which the portallocator knows
 * nothing of); a start's networking failure is then `failed to set up container networking:
 * …` (a connect's is not). libnetwork's InternalError is a 500 there: Internal here, the
 * refusal its cause.
 */
export function connectivityFailure(ep: EndpointState, error: unknown, at: 'start' | 'connect'): CtrError {
  const cause = asCtrError(error);
  const refusal = cause.details as Partial<PortRefusal>;
  const containerIp = refusal.binding && isIPv6Binding(refusal.binding) ? (ep.ip6 ?? ep.ip) : ep.ip;
  const reason =
    refusal.heldBy === 'process' && refusal.binding ? `failed to bind host port for ${bindingText(refusal.binding, containerIp)}: address already in use` : cause.message;
  const failure = `driver failed programming external connectivity on endpoint ${ep.containerName || ep.containerId} (${ep.endpointId}): ${reason}`;
  return new CtrError('Internal', at === 'start' ? `failed to set up container networking: ${failure}` : failure, {
    cause,
    details: cause.details,
    ...(cause.hint ? { hint: cause.hint } : {}),
  });
}
