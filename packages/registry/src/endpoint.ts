import { invalidArgument } from '@ctr/errors';

/** Where requests for a registry go. `registry` is the name in references; `origin` the URL base. */
export interface Endpoint {
  registry: string;
  origin: string;
  /** A docker.io mirror: tried first for pulls, never pushed to. */
  mirror: boolean;
  /**
   * A loopback or insecure registry's plain-HTTP origin: `origin` (https) is spoken to without
   * verifying its certificate, and this one when TLS to it fails (Docker's order). Resolved to
   * one of the two by RegistryHttp.reachable before any request.
   */
  plainHttp?: string;
}

export interface EndpointOptions {
  /**
   * Registries (`host:port`) treated as Docker treats its insecure-registries (and loopback ones):
   * HTTPS without certificate verification, falling back to plain HTTP.
   */
  insecureRegistries?: readonly string[];
  /** Mirrors for docker.io (`http://127.0.0.1:5001`, `https://mirror.example`), tried in order for pulls. */
  mirrors?: readonly string[];
  /**
   * Where `docker.io` itself is reached (default DOCKER_HUB_API): a registry standing in for
   * Docker Hub, e.g. on an air-gapped network, or on 127.0.0.1 in tests that must never reach it.
   */
  dockerHubEndpoint?: string;
}

const DOCKER_HUB = 'docker.io';
/** Where Docker sends `docker.io` references (as dockerd does); only a user's pull of such a name reaches it. */
export const DOCKER_HUB_API = 'https://registry-1.docker.io';

/**
 * The endpoints to try for `registry`: mirrors first when pulling from docker.io, then the
 * registry itself: HTTPS, verified, except for loopback hosts (as Docker) and registries listed
 * as insecure, whose endpoint is HTTPS unverified with a plain-HTTP fallback.
 */
export function endpointsFor(registry: string, purpose: 'pull' | 'push', options: EndpointOptions): Endpoint[] {
  const out: Endpoint[] = [];
  if (registry === DOCKER_HUB && purpose === 'pull') {
    for (const mirror of options.mirrors ?? []) {
      out.push({ registry, origin: originOf(mirror, 'registry mirror'), mirror: true });
    }
  }
  if (registry === DOCKER_HUB) {
    const origin = options.dockerHubEndpoint === undefined ? DOCKER_HUB_API : originOf(options.dockerHubEndpoint, 'Docker Hub endpoint');
    out.push({ registry, origin, mirror: false });
    return out;
  }
  const insecure = isInsecureRegistry(registry, options.insecureRegistries);
  // As URL spells it, which is how connections name their origin (the unverified set is matched against it).
  const origin = originOf(`https://${registry}`, 'registry');
  out.push({ registry, origin, mirror: false, ...(insecure ? { plainHttp: originOf(`http://${registry}`, 'registry') } : {}) });
  return out;
}

/** The origin of a configured registry URL (`mirror.example` means https). */
function originOf(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `https://${value}`);
  } catch {
    throw invalidArgument(`invalid ${what} "${value}": expected a URL such as https://mirror.example`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidArgument(`invalid ${what} "${value}": only http and https are supported`);
  }
  return url.origin;
}

/**
 * Whether `registry` is spoken to without verifying its certificate: a loopback host or one listed
 * insecure, but never docker.io, which docker's registry config keeps secure whatever the list says.
 */
export function isInsecureRegistry(registry: string, insecureRegistries: readonly string[] = []): boolean {
  return registry !== DOCKER_HUB && (isLoopback(registry) || insecureRegistries.includes(registry));
}

export function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}
