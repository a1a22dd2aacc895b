import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHmac } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Client, type ConnectConfig } from 'ssh2';
import { CtrError, invalidArgument, unavailable } from '@ctr/errors';
import { streamTransport, type Transport } from './transport';

export interface SshOptions {
  /** A private key; default: the agent at `SSH_AUTH_SOCK`, else `~/.ssh/id_ed25519` / `id_rsa`. */
  privateKey?: string | Buffer;
  /** `known_hosts` to check the host key against (default `~/.ssh/known_hosts`). */
  knownHosts?: string;
  /** The command that bridges stdio to the daemon socket on the far side. */
  dialStdio?: string;
}

/** The base64 host keys `known_hosts` lists for `host` (plain and `[host]:port` entries; hashed entries too). */
async function knownKeys(file: string, host: string, port: number): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const names = port === 22 ? [host] : [`[${host}]:${port}`];
  const keys: string[] = [];
  for (const line of text.split('\n')) {
    const [hosts, , key] = line.trim().split(/\s+/);
    if (!hosts || !key || hosts.startsWith('#')) continue;
    const match = hosts.split(',').some((pattern) => {
      if (pattern.startsWith('|1|')) {
        const [, , salt, hash] = pattern.split('|');
        return names.some((n) => createHmac('sha1', Buffer.from(salt ?? '', 'base64')).update(n).digest('base64') === hash);
      }
      return names.includes(pattern);
    });
    if (match) keys.push(key);
  }
  return keys;
}

async function defaultKey(): Promise<Buffer | undefined> {
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const key = await fs.readFile(path.join(os.homedir(), '.ssh', name)).catch(() => undefined);
    if (key) return key;
  }
  return undefined;
}

/**
 * `ssh://user@host[:port]`: one SSH connection, and for each HTTP connection a channel
 * running `ctr system dial-stdio` (or `docker system dial-stdio`) that bridges to the
 * daemon's socket — what the docker CLI does. The host key must be in known_hosts.
 */
export async function sshTransport(host: string, options: SshOptions = {}): Promise<Transport> {
  const url = new URL(host);
  if (url.protocol !== 'ssh:') throw invalidArgument(`not an ssh:// host: ${host}`);
  const port = Number(url.port || 22);
  const username = decodeURIComponent(url.username) || os.userInfo().username;
  const knownHostsFile = options.knownHosts ?? path.join(os.homedir(), '.ssh', 'known_hosts');
  const allowed = await knownKeys(knownHostsFile, url.hostname, port);
  if (allowed.length === 0) {
    throw new CtrError('Unauthorized', `no host key for ${url.hostname}:${port} in ${knownHostsFile}`, { hint: `connect once with ssh to check and record it` });
  }
  let rejectedKey = '';
  const config: ConnectConfig = {
    host: url.hostname,
    port,
    username,
    hostVerifier: (key: Buffer) => {
      const ok = allowed.includes(key.toString('base64'));
      if (!ok) rejectedKey = key.toString('base64');
      return ok;
    },
  };
  const key = options.privateKey ?? (process.env.SSH_AUTH_SOCK ? undefined : await defaultKey());
  if (key) config.privateKey = key;
  else if (process.env.SSH_AUTH_SOCK) config.agent = process.env.SSH_AUTH_SOCK;

  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', (error) => {
      if (rejectedKey) reject(new CtrError('Unauthorized', `the host key of ${url.hostname}:${port} does not match ${knownHostsFile}`, { hint: 'someone may be impersonating the host, or its key changed', cause: error }));
      else reject(unavailable(`ssh to ${url.hostname}:${port} failed: ${error.message}`, { cause: error }));
    });
    client.connect(config);
  });
  const command = options.dialStdio ?? 'ctr system dial-stdio';
  const open = (): Promise<Duplex> =>
    new Promise((resolve, reject) => {
      client.exec(command, (error, channel) => (error ? reject(unavailable(`ssh: cannot run ${command}: ${error.message}`, { cause: error })) : resolve(channel)));
    });
  return streamTransport(open, () => client.end());
}
