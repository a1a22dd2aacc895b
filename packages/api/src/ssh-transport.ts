import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHmac } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Client, type AgentAuthMethod, type ConnectConfig, type PublicKeyAuthMethod } from 'ssh2';
import { CtrError, invalidArgument, unavailable } from '@ctr/errors';
import { readSshConfig, resolveSshHost } from './ssh-config';
import { streamTransport, type Transport } from './transport';

export interface SshOptions {
  /** A private key; default: the agent at `SSH_AUTH_SOCK`, then the config's `IdentityFile`s, else `~/.ssh/id_ed25519` / `id_ecdsa` / `id_rsa`. */
  privateKey?: string | Buffer;
  /** `known_hosts` to check the host key against (default: the config's `UserKnownHostsFile`, else `~/.ssh/known_hosts`). */
  knownHosts?: string;
  /** The ssh client config whose `Host` entries apply, as the `ssh` command reads it (default `~/.ssh/config`). */
  config?: string;
  /** The command that bridges stdio to the daemon socket on the far side. */
  dialStdio?: string;
}

/** The base64 host keys the `known_hosts` files list for `host` (plain and `[host]:port` entries; hashed entries too). */
async function knownKeys(files: string[], host: string, port: number): Promise<string[]> {
  const names = port === 22 ? [host] : [`[${host}]:${port}`];
  const keys: string[] = [];
  for (const file of files) {
    const text = await fs.readFile(file, 'utf8').catch(() => '');
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
  }
  return keys;
}

/**
 * The keys to offer: the given one; else, in ssh's order, the agent's keys, then the config's
 * identity files (or the default ones). A server counts every key tried against its
 * MaxAuthTries, so the order decides which keys a user with many gets to use.
 */
async function authMethods(username: string, options: SshOptions, identityFiles: string[]): Promise<Array<PublicKeyAuthMethod | AgentAuthMethod>> {
  if (options.privateKey) return [{ type: 'publickey', username, key: options.privateKey }];
  const files = identityFiles.length > 0 ? identityFiles : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => path.join(os.homedir(), '.ssh', name));
  const methods: Array<PublicKeyAuthMethod | AgentAuthMethod> = [];
  if (process.env.SSH_AUTH_SOCK) methods.push({ type: 'agent', username, agent: process.env.SSH_AUTH_SOCK });
  // A file that is missing is passed over, as ssh passes it over.
  for (const file of files) {
    const key = await fs.readFile(file).catch(() => undefined);
    if (key) methods.push({ type: 'publickey', username, key });
  }
  return methods;
}

/**
 * `ssh://user@host[:port]`: one SSH connection, and for each HTTP connection a channel
 * running `ctr system dial-stdio` (or `docker system dial-stdio`) that bridges to the
 * daemon's socket — what the docker CLI does. The host may be a `Host` alias of
 * `~/.ssh/config` (its HostName, User, Port, IdentityFile, UserKnownHostsFile apply, as with
 * docker's `ssh` helper). The host key must be in known_hosts.
 */
export async function sshTransport(host: string, options: SshOptions = {}): Promise<Transport> {
  const url = new URL(host);
  if (url.protocol !== 'ssh:') throw invalidArgument(`not an ssh:// host: ${host}`);
  const config = await readSshConfig(options.config ?? path.join(os.homedir(), '.ssh', 'config'));
  // The URL's user and port win over the config, as ssh's command line does.
  const entry = resolveSshHost(config, url.hostname, {}, {
    ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
    ...(url.port ? { port: Number(url.port) } : {}),
  });
  const hostname = entry.hostname;
  const port = entry.port ?? 22;
  const username = entry.user ?? os.userInfo().username;
  const knownHostsFiles = options.knownHosts !== undefined ? [options.knownHosts] : (entry.userKnownHostsFiles ?? [path.join(os.homedir(), '.ssh', 'known_hosts')]);
  const allowed = await knownKeys(knownHostsFiles, hostname, port);
  if (allowed.length === 0) {
    throw new CtrError('Unauthorized', `no host key for ${hostname}:${port} in ${knownHostsFiles.join(', ')}`, { hint: `connect once with ssh to check and record it` });
  }
  let rejectedKey = '';
  const connectConfig: ConnectConfig = {
    host: hostname,
    port,
    username,
    hostVerifier: (key: Buffer) => {
      const ok = allowed.includes(key.toString('base64'));
      if (!ok) rejectedKey = key.toString('base64');
      return ok;
    },
    authHandler: await authMethods(username, options, entry.identityFiles),
  };

  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', (error) => {
      if (rejectedKey) reject(new CtrError('Unauthorized', `the host key of ${hostname}:${port} does not match ${knownHostsFiles.join(', ')}`, { hint: 'someone may be impersonating the host, or its key changed', cause: error }));
      else reject(unavailable(`ssh to ${hostname}:${port} failed: ${error.message}`, { cause: error }));
    });
    client.connect(connectConfig);
  });
  const command = options.dialStdio ?? 'ctr system dial-stdio';
  const open = (): Promise<Duplex> =>
    new Promise((resolve, reject) => {
      client.exec(command, (error, channel) => (error ? reject(unavailable(`ssh: cannot run ${command}: ${error.message}`, { cause: error })) : resolve(channel)));
    });
  return streamTransport(open, () => client.end());
}
