import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@ctr/store';
import { configAuthEntry, DOCKER_HUB_SERVER, registryHostOf } from './auth-config';
import { credentialHelper } from './credential-helper';
import { dockerConfigPath, helperFor, helperServerUrl, readDockerConfig, type DockerConfigFile, type DockerConfigOptions, type RegistryCredentials } from './docker-config';

/** Where `storeDockerConfigAuth` put the credentials: the file, and the helper holding the secret if one does. */
export interface StoredAuth {
  file: string;
  helper?: string;
}

/** The `auths` key docker files a registry under: the hub's historic URL, else the host. */
function authsKey(registry: string): string {
  const host = registryHostOf(registry);
  return host === 'docker.io' ? DOCKER_HUB_SERVER : host;
}

/**
 * Save credentials for a registry as `docker login` does: through the credential helper
 * config.json names for it (`credHelpers`, else `credsStore`: the secret goes to
 * `docker-credential-<name> store`, `auths` keeps an empty entry), otherwise as base64
 * `user:password` (or the identity token) in `auths`. Other keys of the file are kept;
 * the file is replaced atomically with mode 0600.
 */
export async function storeDockerConfigAuth(registry: string, credentials: RegistryCredentials, options: DockerConfigOptions = {}): Promise<StoredAuth> {
  const file = dockerConfigPath(options);
  const config = await readDockerConfig(options);
  const helper = helperFor(config, registry);
  const auths = withoutEntriesFor(config, registry);
  if (helper !== undefined) {
    await credentialHelper(helper, options.env ?? process.env).store(helperServerUrl(registry), credentials);
    auths[authsKey(registry)] = {};
  } else {
    auths[authsKey(registry)] = configAuthEntry(credentials);
  }
  await writeConfig(file, { ...config, auths });
  return helper !== undefined ? { file, helper } : { file };
}

/**
 * Forget a registry's credentials as `docker logout` does: erase them from its helper and
 * drop its `auths` entries (under any spelling of the server). False when nothing was stored.
 */
export async function eraseDockerConfigAuth(registry: string, options: DockerConfigOptions = {}): Promise<boolean> {
  const config = await readDockerConfig(options);
  const helper = helperFor(config, registry);
  const auths = withoutEntriesFor(config, registry);
  const inFile = Object.keys(auths).length !== Object.keys(config.auths ?? {}).length;
  let inHelper = false;
  if (helper !== undefined) {
    const store = credentialHelper(helper, options.env ?? process.env);
    inHelper = (await store.get(helperServerUrl(registry))) !== undefined;
    if (inHelper) await store.erase(helperServerUrl(registry));
  }
  if (inFile) await writeConfig(dockerConfigPath(options), { ...config, auths });
  return inFile || inHelper;
}

function withoutEntriesFor(config: DockerConfigFile, registry: string): NonNullable<DockerConfigFile['auths']> {
  const host = registryHostOf(registry);
  return Object.fromEntries(Object.entries(config.auths ?? {}).filter(([key]) => registryHostOf(key) !== host));
}

/** Atomically, and 0600 in a 0700 directory: the file holds passwords. */
async function writeConfig(file: string, config: DockerConfigFile): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(config, null, '\t'), { mode: 0o600 });
}
