import { invalidArgument, isCtrError } from '@ctr/errors';
import type { RegistryCredentials } from '@ctr/registry';
import type { Command, Io } from '../command';
import { currentEndpoint, eprintln, getEngine, insecureRegistries, println, registryModule } from '../context';
import { prompt } from '../prompt';
import { authConfigOf } from '../registry-auth';
import { fromDaemon } from '../errors';
import { bool, str } from '../flags';

/** All of stdin, without the line end docker strips from `--password-stdin`. */
async function readStdin(io: Io): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** The credentials to log in with: from the flags, stdin, what is stored, or the terminal — in docker's order. */
async function credentialsFor(args: Parameters<Command['run']>[0], io: Io, registry: string): Promise<{ credentials: RegistryCredentials; stored: boolean }> {
  let username = str(args, 'username');
  let password = str(args, 'password');
  const fromStdin = bool(args, 'password-stdin');
  if (password !== undefined && fromStdin) throw invalidArgument('conflicting options: cannot specify both --password and --password-stdin');
  if (fromStdin) {
    if (!username) throw invalidArgument('the --password-stdin option requires --username to be set');
    password = await readStdin(io);
  } else if (password !== undefined) {
    eprintln(io, 'WARNING! Using --password via the CLI is insecure. Use --password-stdin.');
  }
  if (username === undefined && password === undefined) {
    const stored = await registryModule().loadDockerConfigAuth(registry, { env: io.env });
    if (stored) {
      println(io, 'Authenticating with existing credentials...');
      return { credentials: stored, stored: true };
    }
  }
  if (!username || password === undefined) {
    if (!io.stdin.isTTY) throw invalidArgument('Error: Cannot perform an interactive login from a non TTY device');
    username ||= (await prompt(io, 'Username: ', false)).trim();
    if (!username) throw invalidArgument('Error: Non-null Username Required');
    password ??= await prompt(io, 'Password: ', true);
  }
  if (!password) throw invalidArgument('Error: Non-null Password Required');
  return { credentials: { username, password }, stored: false };
}

/**
 * Credentials checked against the registry from this process, as the in-process engine's daemon
 * would: with the registries `--insecure-registry` names reached as that daemon reaches them.
 */
async function checkHere(server: string, credentials: RegistryCredentials): Promise<void> {
  const client = new (registryModule().RegistryClient)({ credentials: {}, insecureRegistries: insecureRegistries() });
  try {
    await client.ping(server, { credentials });
  } catch (error) {
    // What the registry answered; a bad argument of ours is not its answer.
    throw isCtrError(error) && error.code !== 'InvalidArgument' ? fromDaemon(error) : error;
  } finally {
    await client.close();
  }
}

/**
 * Check the credentials where docker does: a daemon checks them (`POST /auth`) and may hand
 * back an identity token to keep instead of the password; when it cannot be reached at all,
 * docker checks from the client instead, and so does ctr. Resolves with that token, if any.
 */
async function check(server: string, credentials: RegistryCredentials): Promise<string | undefined> {
  if ((await currentEndpoint()).kind === 'remote') {
    try {
      const answer = await (await getEngine()).login(authConfigOf(server, credentials));
      return answer.IdentityToken || undefined;
    } catch (error) {
      // An HTTP status means the daemon answered; anything else but "nobody there" is the connection's own error.
      if (isCtrError(error) && error.details.status !== undefined) throw error;
      if (!(isCtrError(error) && error.code === 'Unavailable')) throw error;
    }
  }
  await checkHere(server, credentials);
  return undefined;
}

const login: Command = {
  name: 'login',
  usage: '[OPTIONS] [SERVER]',
  description: 'Authenticate to a registry (default: Docker Hub)',
  flags: [
    { name: 'username', short: 'u', type: 'string', description: 'Username' },
    { name: 'password', short: 'p', type: 'string', description: 'Password or Personal Access Token (PAT)' },
    { name: 'password-stdin', type: 'bool', description: 'Take the Password or Personal Access Token (PAT) from stdin' },
  ],
  args: [0, 1],
  async run(args, io) {
    const registry = registryModule();
    const server = registry.registryHostOf(args.positionals[0] ?? registry.DOCKER_HUB_SERVER);
    const { credentials, stored } = await credentialsFor(args, io, server);
    const identityToken = await check(server, credentials);
    if (!stored) {
      // As docker: a token the daemon returned is kept in place of the password.
      const kept = identityToken ? { username: credentials.username ?? '', identityToken } : credentials;
      const where = await registry.storeDockerConfigAuth(server, kept, { env: io.env });
      if (where.helper === undefined) {
        // docker's warning has a blank line before it as after it.
        eprintln(io, `\nWARNING! Your credentials are stored unencrypted in '${where.file}'.`);
        eprintln(io, 'Configure a credential helper to remove this warning. See');
        eprintln(io, 'https://docs.docker.com/go/credential-store/\n');
      }
    }
    println(io, 'Login Succeeded');
    return 0;
  },
};

const logout: Command = {
  name: 'logout',
  usage: '[SERVER]',
  description: 'Log out from a registry (default: Docker Hub)',
  flags: [],
  args: [0, 1],
  async run(args, io) {
    const registry = registryModule();
    const server = registry.registryHostOf(args.positionals[0] ?? registry.DOCKER_HUB_SERVER);
    // Docker names the hub by its historic URL in these messages, every other registry by host.
    const shown = server === 'docker.io' ? registry.DOCKER_HUB_SERVER : server;
    // Said whether or not there was a login to remove, as docker 28 says it.
    println(io, `Removing login credentials for ${shown}`);
    await registry.eraseDockerConfigAuth(server, { env: io.env });
    return 0;
  },
};

export const loginCommands: Command[] = [login, logout];
