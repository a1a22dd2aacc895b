import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { invalidArgument } from '@ctr/errors';
import { authConfigFor, credentialsFromAuthConfig, DOCKER_HUB_SERVER, registryHostOf, type AuthConfig } from './auth-config';
import { credentialHelper } from './credential-helper';

/** What a client can authenticate to a registry with. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** An OAuth refresh token (`identitytoken`), exchanged at the token realm. */
  identityToken?: string;
  /** A bearer token sent to the registry as it is (`registrytoken`). */
  registryToken?: string;
}

export interface DockerConfigOptions {
  /** Directory holding config.json (default `$DOCKER_CONFIG`, else `~/.docker`). */
  configDir?: string;
  /** Environment for credential helpers (default `process.env`; its PATH finds them). */
  env?: NodeJS.ProcessEnv;
}

/** The parts of config.json credentials live in; every other key is kept as it is. */
export interface DockerConfigFile {
  auths?: Record<string, AuthConfig>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`). */
export function dockerConfigPath(options: DockerConfigOptions = {}): string {
  const env = options.env ?? process.env;
  return path.join(options.configDir ?? env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
}

/** The config file's contents; an empty config when there is no file. */
export async function readDockerConfig(options: DockerConfigOptions = {}): Promise<DockerConfigFile> {
  const file = dockerConfigPath(options);
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as DockerConfigFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw invalidArgument(`cannot read Docker config ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** The credential helper config.json names for a registry host: its `credHelpers` entry, else the `credsStore`. */
export function helperFor(config: DockerConfigFile, registry: string): string | undefined {
  return authConfigFor(config.credHelpers ?? {}, registry) ?? config.credsStore;
}

/** What helpers are asked about: Docker Hub by its historic key, every other registry by host. */
export function helperServerUrl(registry: string): string {
  const host = registryHostOf(registry);
  return host === 'docker.io' ? DOCKER_HUB_SERVER : host;
}

/**
 * Credentials for `registry` (a host such as `docker.io` or `localhost:5000`) as Docker
 * finds them in `config.json`: a `credHelpers` entry for the host, else the `credsStore`,
 * else `auths` (base64 `user:password` in `auth`, or the separate fields). Credential
 * helpers are run as `docker-credential-<name> get` with the server URL on stdin.
 * Undefined when nothing is configured for the host.
 */
export async function loadDockerConfigAuth(registry: string, options: DockerConfigOptions = {}): Promise<RegistryCredentials | undefined> {
  const env = options.env ?? process.env;
  const config = await readDockerConfig(options);
  const helper = helperFor(config, registry);
  if (helper !== undefined) {
    const fromHelper = await credentialHelper(helper, env).get(helperServerUrl(registry));
    if (fromHelper !== undefined) return fromHelper;
  }
  const entry = authConfigFor(config.auths ?? {}, registry);
  if (entry === undefined) return undefined;
  return credentialsFromAuthConfig(entry, `the entry for ${registry} in ${dockerConfigPath(options)}`);
}

/**
 * Every credential config.json leads to, by the server it is filed under, as docker's CLI
 * gathers them (`GetAllCredentials`, for `--use-api-socket` and a build's registries): with
 * a `credsStore`, what its helper lists (the `auths` entries count then only through it),
 * else the `auths` entries; then each `credHelpers` entry's helper, which wins for its
 * server. A per-server helper that fails is passed over, as docker's CLI warns and goes on;
 * one that holds nothing takes its server out.
 */
export async function loadAllDockerConfigAuths(options: DockerConfigOptions = {}): Promise<Record<string, RegistryCredentials>> {
  const env = options.env ?? process.env;
  const config = await readDockerConfig(options);
  const all: Record<string, RegistryCredentials> = {};
  const put = (server: string, credentials: RegistryCredentials | undefined): void => {
    if (credentials === undefined) delete all[server];
    else all[server] = credentials;
  };
  if (config.credsStore) {
    const store = credentialHelper(config.credsStore, env);
    for (const server of Object.keys(await store.list())) put(server, await store.get(server));
  } else {
    for (const [server, entry] of Object.entries(config.auths ?? {})) {
      put(server, credentialsFromAuthConfig(entry, `the entry for ${server} in ${dockerConfigPath(options)}`));
    }
  }
  for (const [server, helper] of Object.entries(config.credHelpers ?? {})) {
    let credentials: RegistryCredentials | undefined;
    try {
      credentials = await credentialHelper(helper, env).get(server);
    } catch {
      continue;
    }
    put(server, credentials);
  }
  return all;
}
