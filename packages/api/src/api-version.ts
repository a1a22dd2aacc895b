import { invalidArgument } from '@ctr/errors';
import { API_VERSION } from '@ctr/engine';

/** An Engine API version, `1.41`: what a request's `/v1.41/` prefix names. */
export type ApiVersion = `${number}.${number}`;

/** The newest API version served: the engine's. */
export const MAX_API_VERSION: ApiVersion = API_VERSION;
/** The oldest dockerd still serves (docker-compose 1.29 and old SDKs ask for it or later). */
export const MIN_API_VERSION: ApiVersion = '1.24';

function parts(version: string): [number, number] {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  return [major, minor];
}

export function compareVersions(a: string, b: string): number {
  const [am, an] = parts(a);
  const [bm, bn] = parts(b);
  return am === bm ? an - bn : am - bm;
}

/** moby's `versions.LessThan(version, than)`: how a route tells an older client's shapes from the current ones. */
export function versionBefore(version: ApiVersion, than: ApiVersion): boolean {
  return compareVersions(version, than) < 0;
}

/**
 * Strip `/v1.xx` from a path: the version the request speaks, the newest served when it
 * names none (as dockerd's default). A version outside what we serve is refused with
 * dockerd's words, so a client knows to negotiate.
 */
export function splitVersion(pathname: string): { version: ApiVersion; path: string } {
  const match = /^\/v(\d+\.\d+)(\/.*)$/.exec(pathname);
  if (!match) return { version: MAX_API_VERSION, path: pathname };
  const version = match[1] as ApiVersion;
  if (compareVersions(version, MAX_API_VERSION) > 0) {
    throw invalidArgument(`client version ${version} is too new. Maximum supported API version is ${MAX_API_VERSION}`);
  }
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    throw invalidArgument(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  return { version, path: match[2] as string };
}
