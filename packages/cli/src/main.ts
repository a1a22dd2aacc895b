import type { Command, CommandGroup, Io } from './command';
import { buildCommand } from './commands/build';
import { containerCommands, containerOnlyCommands, healthcheckCommands, imageInspect } from './commands/containers';
import { daemonCommand, dialStdioCommand } from './commands/daemon';
import { containerFileCommands } from './commands/container-files';
import { builderPrune, imagePrune } from './commands/prune';
import { systemPruneCommands } from './commands/system-prune';
import { systemCheckCommand } from './commands/system-check';
import { topStatsCommands } from './commands/top-stats';
import { imageCommands } from './commands/images';
import { networkCommands } from './commands/networks';
import { registryCommands } from './commands/registry';
import { systemCommands } from './commands/system';
import { volumeCommands } from './commands/volumes';
import { pluginCommands } from './commands/plugins';
import { loginCommands } from './commands/login';
import { closeEngine, configureEngine } from './context';
import { contextCommands } from './commands/context';
import { trustCommands } from './commands/trust';
import { manifestCommands } from './commands/manifest';
import { searchCommand } from './commands/search';
import { composeCommand } from './commands/compose';
import { stackCommands } from './commands/stack';
import { serviceCommands } from './commands/service';
import { swarmCommands } from './commands/swarm';
import { nodeCommands } from './commands/node';
import { configCommands, secretCommands } from './commands/secret-config';
import { bool, list, parseFlags, str, type FlagSpec, type ParsedArgs } from './flags';
import type { HostFlags } from './host';
import { commandHelp, groupHelp, mainHelp, usageLine } from './help';
import { moreInformation, reportError } from './errors';

const globalFlags: FlagSpec[] = [
  { name: 'root', type: 'string', description: 'Root of persistent state (default $CTR_ROOT or /var/lib/ctr)' },
  { name: 'runroot', type: 'string', description: 'Root of state that dies with the machine (default $CTR_RUNROOT or /run/ctr)' },
  { name: 'config-file', type: 'string', description: 'Engine configuration file, as ctrd\'s (default $CTR_CONFIG_FILE or /etc/ctr/daemon.json)' },
  { name: 'insecure-registry', type: 'list', description: 'Registries (host:port) that may be reached over plain HTTP' },
  { name: 'registry-mirror', type: 'list', description: 'Preferred Docker registry mirror (tried first for docker.io pulls)' },
  { name: 'host', short: 'H', type: 'string', description: 'Daemon socket to connect to (unix://, tcp://, ssh://); default: the engine in-process' },
  { name: 'context', short: 'c', type: 'string', description: 'Name of the context to use to connect to the daemon (overrides CTR_HOST/DOCKER_HOST and "ctr context use")' },
  { name: 'tls', type: 'bool', description: 'Use TLS; implied by --tlsverify' },
  { name: 'tlsverify', type: 'bool', description: 'Use TLS and verify the remote' },
  { name: 'tlscacert', type: 'string', description: 'Trust certs signed only by this CA (default ~/.ctr/ca.pem)' },
  { name: 'tlscert', type: 'string', description: 'Path to TLS certificate file (default ~/.ctr/cert.pem)' },
  { name: 'tlskey', type: 'string', description: 'Path to TLS key file (default ~/.ctr/key.pem)' },
  { name: 'debug', short: 'D', type: 'bool', description: 'Enable debug mode (print stack traces)' },
  { name: 'version', short: 'v', type: 'bool', description: 'Print version information and quit' },
  { name: 'help', type: 'bool', description: 'Print usage' },
];

const byName = (commands: Command[], name: string): Command => commands.find((c) => c.name === name) as Command;
const renamed = (command: Command, name: string): Command => ({ ...command, name });

const topLevel: Command[] = [...containerCommands, ...imageCommands, buildCommand, ...systemCommands, ...containerFileCommands, ...topStatsCommands, daemonCommand, ...loginCommands, searchCommand];
const common = ['run', 'exec', 'ps', 'build', 'pull', 'push', 'images', 'login', 'logout', 'search', 'version', 'info'].map((n) => byName(topLevel, n));

/**
 * A group's command that is also a top-level one (`container run`, `container ls`): its help
 * names the top-level form among the aliases too, as docker's does.
 */
function alsoTopLevel(command: Command): Command {
  const top = topLevel.find((c) => c.run === command.run);
  return top && command.aliases ? { ...command, aliases: [...command.aliases, `ctr ${top.name}`] } : command;
}

const groups: CommandGroup[] = [
  {
    name: 'container',
    description: 'Manage containers',
    commands: [
      ...containerCommands.filter((c) => c.name !== 'ps' && c.name !== 'inspect'),
      renamed(byName(containerCommands, 'ps'), 'ls'),
      ...containerOnlyCommands,
      ...containerFileCommands,
      ...topStatsCommands,
    ],
  },
  {
    name: 'image',
    description: 'Manage images',
    commands: [
      buildCommand,
      renamed(byName(imageCommands, 'images'), 'ls'),
      renamed(byName(imageCommands, 'rmi'), 'rm'),
      ...imageCommands.filter((c) => c.name !== 'images' && c.name !== 'rmi'),
      imageInspect,
      imagePrune,
    ],
  },
  { name: 'builder', description: 'Manage builds', commands: [buildCommand, builderPrune] },
  { name: 'volume', description: 'Manage volumes', commands: volumeCommands },
  { name: 'network', description: 'Manage networks', commands: networkCommands },
  { name: 'plugin', description: 'Manage plugins', commands: pluginCommands },
  { name: 'system', description: 'Manage ctr', commands: [...systemCommands.filter((c) => c.name !== 'version'), ...systemPruneCommands, systemCheckCommand, dialStdioCommand] },
  { name: 'registry', description: 'Run a private registry', commands: registryCommands },
  { name: 'context', description: 'Manage contexts', commands: contextCommands },
  { name: 'trust', description: 'Manage trust on Docker images', commands: trustCommands },
  { name: 'manifest', description: 'Manage Docker image manifests and manifest lists', commands: manifestCommands },
  { name: 'healthcheck', description: 'Run container health checks', commands: healthcheckCommands },
  // Listed with the groups, as docker lists its compose plugin; run by composeCommand, which parses its own flags.
  { name: 'compose', description: composeCommand.description, commands: [] },
].map((group) => ({ ...group, commands: group.commands.map(alsoTopLevel) }));

/** Swarm mode's groups, which docker 28's help lists apart (`Swarm Commands:`). */
const swarmGroups: CommandGroup[] = [
  { name: 'config', description: 'Manage Swarm configs', commands: configCommands },
  { name: 'node', description: 'Manage Swarm nodes', commands: nodeCommands },
  { name: 'secret', description: 'Manage Swarm secrets', commands: secretCommands },
  { name: 'service', description: 'Manage Swarm services', commands: serviceCommands },
  { name: 'stack', description: 'Manage Swarm stacks', commands: stackCommands },
  { name: 'swarm', description: 'Manage Swarm', commands: swarmCommands },
];

/** Other names a group's commands answer to (`container list`, `image remove`). */
const groupAliases: Record<string, Record<string, string>> = {
  container: { list: 'ls', ps: 'ls', remove: 'rm' },
  image: { list: 'ls', remove: 'rm' },
  volume: { list: 'ls', remove: 'rm' },
  network: { list: 'ls', remove: 'rm' },
  plugin: { list: 'ls', remove: 'rm' },
  context: { list: 'ls', remove: 'rm' },
  service: { list: 'ls', remove: 'rm' },
  node: { list: 'ls', remove: 'rm' },
  secret: { list: 'ls', remove: 'rm' },
  config: { list: 'ls', remove: 'rm' },
  stack: { list: 'ls', remove: 'rm', down: 'rm', up: 'deploy' },
};

const argumentsWord = (count: number): string => `argument${count === 1 ? '' : 's'}`;

/**
 * cobra's positional-argument checks in docker/cli's words (cli/required.go): each names the
 * rule the command declares, not the way the count missed it; only the at-least check closes
 * with `See`. (docker 28.2's at-most check prints `SRun`, a typo; ctr keeps the intended `Run`.)
 */
function argumentCountError([min, max]: [number, number], count: number, path: string): { message: string; verb: 'Run' | 'See' } | undefined {
  if (count >= min && count <= max) return undefined;
  if (max === 0) return { message: `'${path}' accepts no arguments`, verb: 'Run' };
  if (min === max) return { message: `'${path}' requires ${min} ${argumentsWord(min)}`, verb: 'Run' };
  if (max === Infinity) return { message: `'${path}' requires at least ${min} ${argumentsWord(min)}`, verb: 'See' };
  if (min === 0) return { message: `'${path}' requires at most ${max} ${argumentsWord(max)}`, verb: 'Run' };
  return { message: `'${path}' requires at least ${min} and at most ${max} ${argumentsWord(max)}`, verb: 'Run' };
}

export async function runCommand(command: Command, path: string, argv: string[], io: Io, debug: boolean): Promise<number> {
  if (command.passThrough) {
    try {
      return await command.run({ flags: {}, positionals: argv }, io);
    } catch (error) {
      return reportError(error, io, path, debug);
    }
  }
  if (argv.includes('--help') && (!command.stopAtPositional || argv.indexOf('--help') < firstPositional(argv, command.flags))) {
    io.stdout.write(commandHelp(path, command));
    return 0;
  }
  let args: ParsedArgs;
  try {
    args = parseFlags(argv, command.flags, command.stopAtPositional ? { stopAtPositional: true } : {});
  } catch (error) {
    return reportError(error, io, path, debug, usageLine(path, command));
  }
  try {
    const countError = argumentCountError(command.args ?? [0, Infinity], args.positionals.length, path);
    if (countError) {
      io.stderr.write(`ctr: ${countError.message}\n\nUsage:  ${usageLine(path, command)}\n\n${moreInformation(path, countError.verb)}`);
      return 1;
    }
    ran = path;
    return await command.run(args, io);
  } catch (error) {
    return reportError(error, io, path, debug);
  } finally {
    closeEngine();
  }
}

let ran: string | undefined;

/**
 * The command `main` ran past its usage checks (`ctr run`, `ctr container run`…), if any:
 * bin/ctr.js keeps the code cache a container's run leaves, which has most of ctr compiled.
 */
export function commandRan(): string | undefined {
  return ran;
}

/** Where the command's own arguments start, so `ctr run busybox ls --help` passes `--help` to ls. */
function firstPositional(argv: string[], flags: FlagSpec[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-')) return i;
    const spec = flags.find((f) => arg === `--${f.name}` || arg === `-${f.short}`);
    if (spec && spec.type !== 'bool') i++;
  }
  return argv.length;
}

/** `-H`, `--context` and `--tls*`, for the engine to resolve when a command first needs it. */
function hostFlags(global: ParsedArgs): HostFlags {
  const flags: HostFlags = { tls: bool(global, 'tls'), tlsVerify: bool(global, 'tlsverify') };
  const set = (key: 'host' | 'context' | 'tlsCaCert' | 'tlsCert' | 'tlsKey', name: string): void => {
    const value = str(global, name);
    if (value !== undefined) flags[key] = value;
  };
  set('host', 'host');
  set('context', 'context');
  set('tlsCaCert', 'tlscacert');
  set('tlsCert', 'tlscert');
  set('tlsKey', 'tlskey');
  return flags;
}

/** The `ctr` command: resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  let global;
  try {
    const cut = firstPositional(argv, globalFlags);
    global = parseFlags(argv.slice(0, cut), globalFlags);
    argv = argv.slice(cut);
  } catch (error) {
    return reportError(error, io, 'ctr', false, 'ctr [OPTIONS] COMMAND');
  }
  const debug = global.flags.debug === true;
  const root = str(global, 'root');
  const runRoot = str(global, 'runroot');
  const configFile = str(global, 'config-file');
  configureEngine({ ...(root ? { root } : {}), ...(runRoot ? { runRoot } : {}), insecureRegistries: list(global, 'insecure-registry'), registryMirrors: list(global, 'registry-mirror'), hosts: hostFlags(global), env: io.env, debug, ...(configFile !== undefined ? { configFile } : {}) });
  if (global.flags.version === true) {
    io.stdout.write('ctr version 0.1.0\n');
    return 0;
  }
  const [name, ...rest] = argv;
  if (!name || name === 'help' || global.flags.help === true) {
    io.stdout.write(mainHelp(common, topLevel.filter((c) => !common.includes(c)), groups, globalFlags, swarmGroups));
    return 0;
  }
  if (name === composeCommand.name) return runCommand(composeCommand, 'ctr compose', rest, io, debug);
  const group = groups.find((g) => g.name === name) ?? swarmGroups.find((g) => g.name === name);
  if (group) return runGroup(group, rest, io, debug);
  const command = topLevel.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`ctr: unknown command: ctr ${name}\n\n${moreInformation('ctr')}`);
    return 1;
  }
  return runCommand(command, `ctr ${name}`, rest, io, debug);
}

/** `ctr GROUP SUB ARGS…` (also a nested group, `ctr trust key generate`): the group's help, or its command run. */
export async function runGroup(group: CommandGroup, argv: readonly string[], io: Io, debug: boolean): Promise<number> {
  const [sub, ...args] = argv;
  const subName = sub ? groupAliases[group.name]?.[sub] ?? sub : undefined;
  const command = group.commands.find((c) => c.name === subName);
  if (!command) {
    if (sub && sub !== '--help') {
      io.stderr.write(`ctr: unknown command: ctr ${group.name} ${sub}\n\nUsage:  ctr ${group.name} COMMAND\n\n${moreInformation(`ctr ${group.name}`)}`);
      return 1;
    }
    io.stdout.write(groupHelp(group));
    return 0;
  }
  return runCommand(command, `ctr ${group.name} ${command.name}`, args, io, debug);
}
