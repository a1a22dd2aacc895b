import { invalidArgument } from '@ctr/errors';
import type { RegistryCredentials } from './docker-config';

/**
 * Docker's `AuthConfig`: what `docker login` sends to `POST /auth`, what `X-Registry-Auth`
 * carries (base64url JSON) and what an `auths` entry of `config.json` holds.
 */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** base64 of `username:password`, used when `username` is absent. */
  auth?: string;
  email?: string;
  /** The registry the credentials are for: `127.0.0.1:5000`, `https://index.docker.io/v1/`. */
  serveraddress?: string;
  /** An OAuth refresh token, exchanged at the token realm. */
  identitytoken?: string;
  /** A bearer token sent to the registry as it is. */
  registrytoken?: string;
}

/** The key Docker files Docker Hub credentials under, and the server `docker login` means by default. */
export const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * The registry host a server address names, as references name it:
 * `https://index.docker.io/v1/` → `docker.io`; `http://localhost:5000/` → `localhost:5000`.
 */
export function registryHostOf(serverAddress: string): string {
  const host = serverAddress.replace(/^[a-z]+:\/\//i, '').split('/')[0]!.toLowerCase();
  return DOCKER_HUB_HOSTS.has(host) ? 'docker.io' : host;
}

/**
 * The credentials an AuthConfig holds; undefined when it holds none (docker sends `{}`
 * when it knows nothing for the registry). `where` names its origin in errors.
 */
export function credentialsFromAuthConfig(config: AuthConfig, where = 'the auth config'): RegistryCredentials | undefined {
  const credentials: RegistryCredentials = {};
  if (config.username) {
    credentials.username = config.username;
    credentials.password = config.password ?? '';
  } else if (config.auth) {
    const decoded = Buffer.from(config.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidArgument(`the "auth" field of ${where} is not base64 of "user:password"`);
    credentials.username = decoded.slice(0, colon);
    credentials.password = decoded.slice(colon + 1);
  }
  if (config.identitytoken) credentials.identityToken = config.identitytoken;
  if (config.registrytoken) credentials.registryToken = config.registrytoken;
  return Object.keys(credentials).length === 0 ? undefined : credentials;
}

/**
 * Credentials as a config.json `auths` entry holds them (docker's configfile encodeAuth):
 * `auth` as base64 `user:password` unless both are empty, the tokens beside it, empty
 * fields left out as Go's omitempty leaves them. The inverse of `credentialsFromAuthConfig`.
 */
export function configAuthEntry(credentials: RegistryCredentials): AuthConfig {
  const { username = '', password = '', identityToken, registryToken } = credentials;
  return {
    ...(username || password ? { auth: Buffer.from(`${username}:${password}`).toString('base64') } : {}),
    ...(identityToken ? { identitytoken: identityToken } : {}),
    ...(registryToken ? { registrytoken: registryToken } : {}),
  };
}

/**
 * The entry for `registry` in a map keyed by server address, the way `X-Registry-Config`
 * (build) and `auths` (config.json) key them: `127.0.0.1:5000`, `http://127.0.0.1:5000`,
 * `https://index.docker.io/v1/` all match by host.
 */
export function authConfigFor<T>(byServer: Record<string, T>, registry: string): T | undefined {
  const host = registryHostOf(registry);
  return Object.entries(byServer).find(([key]) => registryHostOf(key) === host)?.[1];
}
