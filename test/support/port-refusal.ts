/**
 * dockerd 28's words for a start (or connect) whose published port is refused (@ctr/network's
 * connectivityFailure): the endpoint's ID, and the container's address in a bind failure, are
 * those of the allocation that failed, which nobody sees again.
 */

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where the refusal came: a start's networking failure has dockerd 28's wrapping, a connect's has none. */
type At = 'start' | 'connect';

const prefix = (endpoint: string, at: At): string =>
  `^${at === 'start' ? 'failed to set up container networking: ' : ''}driver failed programming external connectivity on endpoint ${escape(endpoint)} \\([0-9a-f]{64}\\): `;

/** A port another container publishes: the portallocator's refusal. */
export function allocatedRefusal(endpoint: string, hostIp: string, port: number, at: At = 'start'): RegExp {
  return new RegExp(`${prefix(endpoint, at)}${escape(`Bind for ${hostIp}:${port} failed: port is already allocated`)}$`);
}

/** A port a process holds: the bridge driver's own bind failure (`hostIp` in brackets for IPv6). */
export function boundRefusal(endpoint: string, hostIp: string, port: number, containerPort = 80): RegExp {
  return new RegExp(`${prefix(endpoint, 'start')}failed to bind host port for ${escape(`${hostIp}:${port}`)}:(\\d+\\.\\d+\\.\\d+\\.\\d+|\\[[0-9a-f:]+\\]):${containerPort}/tcp: address already in use$`);
}
