import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CtrError, invalidArgument } from '@ctr/errors';

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

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** The key Docker files Docker Hub credentials under. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * Credentials for `registry` (a host such as `docker.io` or `localhost:5000`) as Docker
 * finds them in `config.json`: a `credHelpers` entry for the host, else the `credsStore`,
 * else `auths` (base64 `user:password` in `auth`, or the separate fields). Credential
 * helpers are run as `docker-credential-<name> get` with the server URL on stdin.
 * Undefined when nothing is configured for the host.
 */
export async function loadDockerConfigAuth(registry: string, options: DockerConfigOptions = {}): Promise<RegistryCredentials | undefined> {
  const env = options.env ?? process.env;
  const dir = options.configDir ?? env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
  const file = path.join(dir, 'config.json');
  let config: DockerConfigFile;
  try {
    config = JSON.parse(await fs.readFile(file, 'utf8')) as DockerConfigFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalidArgument(`cannot read Docker config ${file}: ${(error as Error).message}`, { cause: error });
  }
  const host = hostOf(registry);
  const helper = Object.entries(config.credHelpers ?? {}).find(([key]) => hostOf(key) === host)?.[1] ?? config.credsStore;
  if (helper !== undefined) {
    const fromHelper = await runCredentialHelper(helper, DOCKER_HUB_HOSTS.has(host) ? DOCKER_HUB_KEY : host, env);
    if (fromHelper !== undefined) return fromHelper;
  }
  const entry = Object.entries(config.auths ?? {}).find(([key]) => hostOf(key) === host)?.[1];
  if (entry === undefined) return undefined;
  const credentials: RegistryCredentials = {};
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidArgument(`the "auth" entry for ${registry} in ${file} is not base64 of "user:password"`);
    credentials.username = decoded.slice(0, colon);
    credentials.password = decoded.slice(colon + 1);
  } else if (entry.username !== undefined) {
    credentials.username = entry.username;
    credentials.password = entry.password ?? '';
  }
  if (entry.identitytoken) credentials.identityToken = entry.identitytoken;
  if (entry.registrytoken) credentials.registryToken = entry.registrytoken;
  return Object.keys(credentials).length === 0 ? undefined : credentials;
}

/** `https://index.docker.io/v1/` → `docker.io`; `http://localhost:5000/` → `localhost:5000`. */
function hostOf(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').split('/')[0]!.toLowerCase();
  return DOCKER_HUB_HOSTS.has(host) ? 'docker.io' : host;
}

async function runCredentialHelper(name: string, serverUrl: string, env: NodeJS.ProcessEnv): Promise<RegistryCredentials | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw invalidArgument(`invalid credential helper name "${name}"`);
  const program = `docker-credential-${name}`;
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (error) =>
      reject(
        new CtrError('Unavailable', `cannot run credential helper ${program}: ${error.message}`, {
          cause: error,
          hint: `install ${program} on PATH, or remove "${name}" from credsStore/credHelpers in your Docker config`,
        }),
      ),
    );
    child.on('close', (exit) => resolve({ code: exit, stdout: out, stderr: err }));
    // A helper may exit without reading its input; its exit status is what counts.
    child.stdin.on('error', () => undefined);
    child.stdin.end(serverUrl);
  });
  if (code !== 0) {
    // Docker's helpers say this when they simply hold nothing for the server.
    if (/credentials not found/i.test(stdout + stderr)) return undefined;
    throw new CtrError('Unauthorized', `credential helper ${program} failed for ${serverUrl}: ${(stderr || stdout).trim()}`);
  }
  let reply: { Username?: string; Secret?: string };
  try {
    reply = JSON.parse(stdout) as { Username?: string; Secret?: string };
  } catch {
    throw new CtrError('Unauthorized', `credential helper ${program} did not answer with JSON for ${serverUrl}`);
  }
  if (!reply.Secret) return undefined;
  // Docker's convention: the user "<token>" means the secret is an identity token.
  if (reply.Username === '<token>') return { identityToken: reply.Secret };
  return { username: reply.Username ?? '', password: reply.Secret };
}
