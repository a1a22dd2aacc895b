import { spawn } from 'node:child_process';
import { CtrError, invalidArgument } from '@ctr/errors';
import type { RegistryCredentials } from './docker-config';

/** Docker's credential-helper protocol: `docker-credential-<name> get|store|erase|list`, one message on stdin. */
export interface CredentialHelper {
  /** Undefined when the helper holds nothing for the server. */
  get(serverUrl: string): Promise<RegistryCredentials | undefined>;
  /** The servers it holds credentials for, each with its user name. */
  list(): Promise<Record<string, string>>;
  store(serverUrl: string, credentials: RegistryCredentials): Promise<void>;
  erase(serverUrl: string): Promise<void>;
}

/** The helper `docker-credential-<name>`, found on the PATH of `env`. */
export function credentialHelper(name: string, env: NodeJS.ProcessEnv): CredentialHelper {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw invalidArgument(`invalid credential helper name "${name}"`);
  const program = `docker-credential-${name}`;
  const run = (action: 'get' | 'store' | 'erase' | 'list', input: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(program, [action], { env, stdio: ['pipe', 'pipe', 'pipe'] });
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
      child.stdin.end(input);
    });
  const failed = (action: string, serverUrl: string | undefined, result: { stdout: string; stderr: string }): CtrError =>
    new CtrError('Unauthorized', `credential helper ${program} failed to ${action} credentials${serverUrl === undefined ? '' : ` for ${serverUrl}`}: ${(result.stderr || result.stdout).trim()}`);
  return {
    async get(serverUrl) {
      const result = await run('get', serverUrl);
      if (result.code !== 0) {
        // Docker's helpers say this when they simply hold nothing for the server.
        if (/credentials not found/i.test(result.stdout + result.stderr)) return undefined;
        throw failed('get', serverUrl, result);
      }
      let reply: { Username?: string; Secret?: string };
      try {
        reply = JSON.parse(result.stdout) as { Username?: string; Secret?: string };
      } catch {
        throw new CtrError('Unauthorized', `credential helper ${program} did not answer with JSON for ${serverUrl}`);
      }
      if (!reply.Secret) return undefined;
      // Docker's convention: the user "<token>" means the secret is an identity token.
      if (reply.Username === '<token>') return { identityToken: reply.Secret };
      return { username: reply.Username ?? '', password: reply.Secret };
    },
    async list() {
      // docker's client sends this placeholder: the action takes no input.
      const result = await run('list', 'unused');
      if (result.code !== 0) throw failed('list', undefined, result);
      try {
        const reply = JSON.parse(result.stdout) as unknown;
        if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) throw new Error('not a JSON object');
        return reply as Record<string, string>;
      } catch {
        throw new CtrError('Unauthorized', `credential helper ${program} did not answer list with a JSON object`);
      }
    },
    async store(serverUrl, credentials) {
      const message =
        credentials.identityToken !== undefined
          ? { ServerURL: serverUrl, Username: '<token>', Secret: credentials.identityToken }
          : { ServerURL: serverUrl, Username: credentials.username ?? '', Secret: credentials.password ?? '' };
      const result = await run('store', JSON.stringify(message));
      if (result.code !== 0) throw failed('store', serverUrl, result);
    },
    async erase(serverUrl) {
      const result = await run('erase', serverUrl);
      if (result.code !== 0 && !/credentials not found/i.test(result.stdout + result.stderr)) throw failed('erase', serverUrl, result);
    },
  };
}
