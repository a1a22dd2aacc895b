import { promises as fs } from 'node:fs';
import { invalidArgument } from '@ctr/errors';
import type { Config, Secret, SwarmApi } from '@ctr/swarm';
import type { Command, Io } from '../command';
import { println } from '../context';
import { bool, list, str, type FlagSpec } from '../flags';
import { parseFilters } from '../filter-flag';
import { forEachArg } from './each';
import { keyValues } from './create-flags';
import { INSPECT_FLAGS, inspectOrPretty, swarmCommand, SWARM_LIST_FLAGS } from './service';
import { formatSecrets, prettySecrets, secretListFormat } from './swarm-output';

/**
 * `ctr secret …` and `ctr config …`: docker 28's commands for the swarm's secrets and configs,
 * one set of commands for both kinds (a secret has a driver, and its data is never shown).
 */

type Kind = 'secret' | 'config';

/** `-` (stdin) or a file, read whole: swarmkit keeps a secret or config under 500 KB. */
async function readData(source: string, io: Io): Promise<Buffer> {
  if (source !== '-') return fs.readFile(source);
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** The kind's calls of the swarm, so that one set of commands serves both. */
function calls(swarm: SwarmApi, kind: Kind): { list(filters: Record<string, string[]>): Promise<Array<Secret | Config>>; inspect(id: string): Promise<Secret | Config>; remove(id: string): Promise<void> } {
  return kind === 'secret'
    ? { list: (f) => swarm.secrets(f), inspect: (id) => swarm.inspectSecret(id), remove: (id) => swarm.removeSecret(id) }
    : { list: (f) => swarm.configs(f), inspect: (id) => swarm.inspectConfig(id), remove: (id) => swarm.removeConfig(id) };
}

function createCommand(kind: Kind): Command {
  const title = kind === 'secret' ? 'Secret' : 'Config';
  const flags: FlagSpec[] = [
    ...(kind === 'secret' ? [{ name: 'driver', short: 'd', type: 'string', description: 'Secret driver' } as FlagSpec] : []),
    { name: 'label', short: 'l', type: 'list', description: `${title} labels` },
    { name: 'template-driver', type: 'string', description: 'Template driver' },
  ];
  return swarmCommand({
    name: 'create',
    usage: kind === 'secret' ? '[OPTIONS] SECRET [file|-]' : '[OPTIONS] CONFIG file|-',
    description: kind === 'secret' ? 'Create a secret from a file or STDIN as content' : 'Create a config from a file or STDIN',
    flags,
    args: kind === 'secret' ? [1, 2] : [2, 2],
    async run(args, io, swarm) {
      const [name, source] = args.positionals as [string, string | undefined];
      if (str(args, 'driver') !== undefined) throw invalidArgument('secret drivers are not supported: ctr keeps secrets in its own store');
      if (source === undefined) throw invalidArgument('Please provide a file to read the secret from, or "-" for STDIN');
      const data = (await readData(source, io)).toString('base64');
      const templating = str(args, 'template-driver');
      const spec = { Name: name, Labels: keyValues(list(args, 'label')), Data: data, ...(templating ? { Templating: { Name: templating } } : {}) };
      const created = kind === 'secret' ? await swarm.createSecret(spec) : await swarm.createConfig(spec);
      println(io, created.ID);
      return 0;
    },
  });
}

function lsCommand(kind: Kind): Command {
  return swarmCommand({
    name: 'ls',
    aliases: [`ctr ${kind} list`],
    usage: '[OPTIONS]',
    description: kind === 'secret' ? 'List secrets' : 'List configs',
    flags: SWARM_LIST_FLAGS,
    args: [0, 0],
    async run(args, io, swarm) {
      const objects = await calls(swarm, kind).list(parseFilters(list(args, 'filter')));
      io.stdout.write(formatSecrets(secretListFormat(str(args, 'format') || 'table', bool(args, 'quiet'), kind), objects, kind));
      return 0;
    },
  });
}

function inspectCommand(kind: Kind): Command {
  const noun = kind === 'secret' ? 'SECRET' : 'CONFIG';
  return swarmCommand({
    name: 'inspect',
    usage: `[OPTIONS] ${noun} [${noun}...]`,
    description: `Display detailed information on one or more ${kind}s`,
    flags: INSPECT_FLAGS,
    args: [1, Infinity],
    async run(args, io, swarm) {
      return inspectOrPretty(args, io, (name): Promise<Secret | Config> => calls(swarm, kind).inspect(name), (objects) => prettySecrets(objects, kind));
    },
  });
}

function rmCommand(kind: Kind): Command {
  const noun = kind === 'secret' ? 'SECRET' : 'CONFIG';
  return swarmCommand({
    name: 'rm',
    aliases: [`ctr ${kind} remove`],
    usage: `${noun} [${noun}...]`,
    description: `Remove one or more ${kind}s`,
    flags: [],
    args: [1, Infinity],
    async run(args, io, swarm) {
      const kindCalls = calls(swarm, kind);
      return forEachArg(args.positionals, io, async (name) => {
        await kindCalls.remove((await kindCalls.inspect(name)).ID);
      }, { errorsLast: true });
    },
  });
}

export const secretCommands: Command[] = [createCommand('secret'), inspectCommand('secret'), lsCommand('secret'), rmCommand('secret')];
export const configCommands: Command[] = [createCommand('config'), inspectCommand('config'), lsCommand('config'), rmCommand('config')];
