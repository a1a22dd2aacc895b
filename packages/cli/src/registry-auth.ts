import type { AuthConfig, RegistryCredentials } from '@ctr/registry';
import { registryModule } from './context';

/**
 * What a daemon gets as `X-Registry-Auth` for a registry: the credentials this machine's
 * `~/.docker/config.json` (or its credential helper) holds for it, as the docker CLI sends
 * them. The daemon cannot read the client's files, so the client reads them.
 */
export function registryAuth(env: NodeJS.ProcessEnv): (registry: string) => Promise<AuthConfig | undefined> {
  return async (registry) => {
    const { loadDockerConfigAuth } = registryModule();
    const credentials = await loadDockerConfigAuth(registry, { env });
    return credentials ? authConfigOf(registry, credentials) : undefined;
  };
}

/** Credentials for a registry host as the API carries them (docker's AuthConfig; the hub by its historic URL). */
export function authConfigOf(registry: string, credentials: RegistryCredentials): AuthConfig {
  const { DOCKER_HUB_SERVER } = registryModule();
  return {
    serveraddress: registry === 'docker.io' ? DOCKER_HUB_SERVER : registry,
    ...(credentials.username !== undefined ? { username: credentials.username, password: credentials.password ?? '' } : {}),
    ...(credentials.identityToken ? { identitytoken: credentials.identityToken } : {}),
    ...(credentials.registryToken ? { registrytoken: credentials.registryToken } : {}),
  };
}

/**
 * Every credential config.json leads to (its `auths`, or its `credsStore`'s list, and its
 * `credHelpers`), by the server it is filed under: what the docker CLI sends with a build
 * as `X-Registry-Config` for FROM pulls.
 */
export function allRegistryAuths(env: NodeJS.ProcessEnv): () => Promise<Record<string, AuthConfig>> {
  return async () => {
    const { loadAllDockerConfigAuths, registryHostOf } = registryModule();
    const all = await loadAllDockerConfigAuths({ env });
    return Object.fromEntries(Object.entries(all).map(([server, credentials]) => [server, authConfigOf(registryHostOf(server), credentials)]));
  };
}
