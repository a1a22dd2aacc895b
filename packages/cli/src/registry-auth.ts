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
 * Every registry's credentials config.json names (its `auths` and `credHelpers` entries), by
 * registry: what the docker CLI sends with a build as `X-Registry-Config` for FROM pulls.
 */
export function allRegistryAuths(env: NodeJS.ProcessEnv): () => Promise<Record<string, AuthConfig>> {
  return async () => {
    const { readDockerConfig, registryHostOf } = registryModule();
    const config = await readDockerConfig({ env });
    const lookup = registryAuth(env);
    const out: Record<string, AuthConfig> = {};
    for (const server of new Set([...Object.keys(config.auths ?? {}), ...Object.keys(config.credHelpers ?? {})])) {
      const auth = await lookup(registryHostOf(server));
      if (auth) out[server] = auth;
    }
    return out;
  };
}
