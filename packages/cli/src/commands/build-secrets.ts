import { promises as fs } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '@ctr/errors';
import { list, type FlagSpec, type ParsedArgs } from '../flags';

/** BuildKit's limit on one secret (its session refuses bigger ones). */
const MAX_SECRET_SIZE = 500 * 1024;

/** `--secret` and `--ssh`, docker buildx's syntax. */
export const buildSecretFlags: FlagSpec[] = [
  { name: 'secret', type: 'list', valueName: 'stringArray', description: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")' },
  { name: 'ssh', type: 'list', valueName: 'stringArray', description: 'SSH agent socket to expose to the build (format: "default|<id>[=<socket>]")' },
];

/** The build options `--secret` and `--ssh` give: secrets read now, agent sockets checked. */
export async function buildSecretOptions(args: ParsedArgs, env: NodeJS.ProcessEnv): Promise<{ secrets?: Record<string, Uint8Array>; ssh?: Record<string, string> }> {
  const secrets: Record<string, Uint8Array> = {};
  for (const value of list(args, 'secret')) {
    const found = await readSecret(value, env);
    if (found) secrets[found.id] = found.data;
  }
  const ssh: Record<string, string> = {};
  for (const value of list(args, 'ssh')) {
    const { id, socket } = await agentSocket(value, env);
    ssh[id] = socket;
  }
  return { ...(Object.keys(secrets).length > 0 ? { secrets } : {}), ...(Object.keys(ssh).length > 0 ? { ssh } : {}) };
}

/**
 * `id=x[,src=path|,env=VAR][,type=file|env]`. With neither `src` nor `env`, the variable named
 * `id` if it is set, else the file named `id` (BuildKit's secrets provider). An unset variable
 * is no secret at all: a step that requires it fails, one that does not goes without.
 */
async function readSecret(value: string, env: NodeJS.ProcessEnv): Promise<{ id: string; data: Uint8Array } | undefined> {
  let id = '';
  let file: string | undefined;
  let variable: string | undefined;
  let type: string | undefined;
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    if (eq < 0) throw invalidArgument(`invalid field '${field}' must be a key=value pair`);
    const key = field.slice(0, eq).toLowerCase();
    const v = field.slice(eq + 1);
    if (key === 'type') {
      if (v !== 'file' && v !== 'env') throw invalidArgument(`unsupported secret type "${v}"`);
      type = v;
    } else if (key === 'id') id = v;
    else if (key === 'source' || key === 'src') file = v;
    else if (key === 'env') variable = v;
    else throw invalidArgument(`unexpected key '${key}' in '${field}'`);
  }
  if (type === 'env' && variable === undefined) [variable, file] = [file, undefined];
  if (id === '') throw invalidArgument('secret missing ID', { hint: 'Give it one: --secret id=mysecret,src=/local/secret' });
  if (variable === undefined && file === undefined) {
    if (env[id] !== undefined) variable = id;
    else file = id;
  }
  if (variable !== undefined) return env[variable] === undefined ? undefined : { id, data: Buffer.from(env[variable] as string) };
  const stat = await fs.stat(file as string).catch((error: NodeJS.ErrnoException) => {
    throw invalidArgument(`failed to stat ${file}: ${error.message}`);
  });
  if (stat.size > MAX_SECRET_SIZE) throw invalidArgument(`secret ${id} too big. max size 500KB`);
  return { id, data: await fs.readFile(file as string) };
}

/**
 * `default|<id>[=<socket>]`: an ssh agent's socket (default `$SSH_AUTH_SOCK`). Key files are
 * refused: BuildKit runs an agent of its own for them, which ctr does not.
 */
async function agentSocket(value: string, env: NodeJS.ProcessEnv): Promise<{ id: string; socket: string }> {
  const eq = value.indexOf('=');
  const id = eq < 0 ? value : value.slice(0, eq);
  if (id === '') throw invalidArgument('ssh id is required', { hint: 'e.g. --ssh default=$SSH_AUTH_SOCK' });
  const given = eq < 0 ? env.SSH_AUTH_SOCK ?? '' : value.slice(eq + 1);
  if (given === '') throw invalidArgument('invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set');
  if (given.includes(',')) throw invalidArgument(`--ssh ${id}: ctr forwards one ssh agent socket per id, not key files`, { hint: 'Load the keys into an agent (ssh-add) and pass its socket.' });
  const socket = path.resolve(given);
  const stat = await fs.stat(socket).catch(() => undefined);
  if (!stat?.isSocket()) {
    throw invalidArgument(`--ssh ${id}=${given}: not an ssh agent socket`, { hint: 'ctr forwards ssh agents only: load the key into one (ssh-add) and pass its socket, e.g. --ssh default=$SSH_AUTH_SOCK.' });
  }
  return { id, socket };
}
