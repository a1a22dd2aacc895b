import { text } from 'node:stream/consumers';
import { invalidArgument, isNotFound } from '@ctr/errors';
import type { StackNetworkCreate, StackNetworks, StackOutput } from '@ctr/compose';
import type { Command, Io } from '../command';
import { currentEndpoint, eprintln, getEngine, localEngine, println } from '../context';
import { bool, list, str, type FlagSpec } from '../flags';
import { filterFlag, parseFilters } from '../filter-flag';
import { formatList, naturalCompare } from '../format';
import { composeLibrary } from './compose-cli';
import { printTasks, swarmCommand, waitOnService } from './service';
import { formatServices, serviceListFormat } from './swarm-output';

/**
 * `ctr stack`: docker's stack commands on swarm mode (docker-cli's cli/command/stack). The
 * work is @ctr/compose's (stack.ts), loaded on first use; this file is flags, output and the
 * engine's networks, which the stack's networks are made in.
 */

const FORMAT_HELP = 'Format output using a custom template:\n\'table\':            Print output in table format with column headers (default)\n\'table TEMPLATE\':   Print output in table format using the given Go template\n\'json\':             Print in JSON format\n\'TEMPLATE\':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates';
const COMPOSE_FILE_FLAG: FlagSpec = { name: 'compose-file', short: 'c', type: 'list', valueName: 'strings', description: 'Path to a Compose file, or "-" to read from stdin' };

function output(io: Io): StackOutput {
  return { out: (line) => println(io, line), err: (line) => eprintln(io, line) };
}

/**
 * The engine's networks as a stack makes and finds them. In-process, a swarm-scoped network
 * is @ctr/swarm's to create (the engine alone refuses overlay outside its swarm); a daemon
 * routes `POST /networks/create` with Driver overlay to its swarm itself.
 */
async function stackNetworks(): Promise<StackNetworks> {
  const engine = await getEngine();
  const { STACK_NAMESPACE_LABEL } = composeLibrary();
  return {
    list: async (namespace) => (await engine.networks({ filters: { label: [`${STACK_NAMESPACE_LABEL}=${namespace}`] } })).map((n) => ({ ID: n.Id, Name: n.Name })),
    scope: (name) =>
      engine.inspectNetwork(name).then(
        (network) => network.Scope,
        (error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw error;
        },
      ),
    create: async (request: StackNetworkCreate) => {
      const subnet = request.IPAM?.Config.find((config) => config.Subnet)?.Subnet;
      const options = {
        name: request.Name,
        driver: request.Driver,
        labels: request.Labels,
        ...(request.Options ? { options: request.Options } : {}),
        ...(request.Internal ? { internal: true } : {}),
        ...(request.Attachable ? { attachable: true } : {}),
        ...(request.IPAM?.Driver ? { ipamDriver: request.IPAM.Driver } : {}),
        ...(subnet ? { subnet } : {}),
      };
      if ((await currentEndpoint()).kind === 'remote') {
        await engine.createNetwork(options);
        return;
      }
      const swarm = require('@ctr/swarm') as typeof import('@ctr/swarm');
      await swarm.createSwarmNetwork(new swarm.Swarm({ engine: localEngine() }).context(), options);
    },
    remove: (id) => engine.removeNetwork(id),
  };
}

const deploy = swarmCommand({
  name: 'deploy',
  aliases: ['ctr stack deploy', 'ctr stack up'],
  usage: '[OPTIONS] STACK',
  description: 'Deploy a new stack or update an existing stack',
  flags: [
    COMPOSE_FILE_FLAG,
    { name: 'detach', short: 'd', type: 'bool', description: 'Exit immediately instead of waiting for the stack services to converge', default: true },
    { name: 'prune', type: 'bool', description: 'Prune services that are no longer referenced' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress progress output' },
    { name: 'resolve-image', type: 'string', description: 'Query the registry to resolve image digest and supported platforms ("always", "changed", "never")', default: 'always' },
    { name: 'with-registry-auth', type: 'bool', description: 'Send registry authentication details to Swarm agents' },
  ],
  args: [1, 1],
  async run(args, io, api) {
    const namespace = args.positionals[0] as string;
    const resolveImage = str(args, 'resolve-image') ?? 'always';
    if (resolveImage !== 'always' && resolveImage !== 'changed' && resolveImage !== 'never') throw invalidArgument(`Invalid option ${resolveImage} for flag --resolve-image`);
    const library = composeLibrary();
    const { project, warnings } = await library.loadStack({ files: list(args, 'compose-file'), namespace, env: io.env, cwd: process.cwd(), stdin: () => text(io.stdin) });
    for (const warning of warnings) eprintln(io, warning);
    const objects = await library.convertStack(project, namespace);
    await library.deployStack(api, await stackNetworks(), objects, {
      ...output(io),
      prune: bool(args, 'prune'),
      resolveImage,
      detach: args.flags.detach !== false,
      waitOnService: (id) => waitOnService(api, id, io, bool(args, 'quiet')),
    });
    return 0;
  },
});

const STACK_HEADERS = { Name: 'NAME', Services: 'SERVICES' };

const ls = swarmCommand({
  name: 'ls',
  aliases: ['ctr stack ls', 'ctr stack list'],
  usage: '[OPTIONS]',
  description: 'List stacks',
  flags: [{ name: 'format', type: 'string', description: FORMAT_HELP }],
  args: [0, 0],
  async run(args, io, api) {
    const stacks = await composeLibrary().listStacks(api);
    const given = str(args, 'format');
    const format = !given || given === 'table' ? 'table {{.Name}}\t{{.Services}}' : given;
    io.stdout.write(formatList(format, [...stacks].sort((a, b) => naturalCompare(a.Name, b.Name)), STACK_HEADERS));
    return 0;
  },
});

const ps = swarmCommand({
  name: 'ps',
  usage: '[OPTIONS] STACK',
  description: 'List the tasks in the stack',
  flags: [
    filterFlag('Filter output based on conditions provided', { short: true }),
    { name: 'format', type: 'string', description: FORMAT_HELP },
    { name: 'no-resolve', type: 'bool', description: 'Do not map IDs to Names' },
    { name: 'no-trunc', type: 'bool', description: 'Do not truncate output' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display task IDs' },
  ],
  args: [1, 1],
  async run(args, io, api) {
    const library = composeLibrary();
    const namespace = library.checkStackName(args.positionals[0] as string);
    return printTasks(args, io, api, await library.stackTasks(api, namespace, parseFilters(list(args, 'filter'))));
  },
});

const services = swarmCommand({
  name: 'services',
  usage: '[OPTIONS] STACK',
  description: 'List the services in the stack',
  flags: [
    filterFlag('Filter output based on conditions provided', { short: true }),
    { name: 'format', type: 'string', description: FORMAT_HELP },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
  ],
  args: [1, 1],
  async run(args, io, api) {
    const library = composeLibrary();
    const namespace = library.checkStackName(args.positionals[0] as string);
    const quiet = bool(args, 'quiet');
    const found = await library.stackServiceList(api, namespace, parseFilters(list(args, 'filter')), { status: !quiet });
    // docker: an empty stack is a note on stderr and success.
    if (found.length === 0) {
      eprintln(io, `Nothing found in stack: ${namespace}`);
      return 0;
    }
    io.stdout.write(formatServices(serviceListFormat(str(args, 'format') || 'table', quiet), found));
    return 0;
  },
});

const rm = swarmCommand({
  name: 'rm',
  aliases: ['ctr stack rm', 'ctr stack remove', 'ctr stack down'],
  usage: '[OPTIONS] STACK [STACK...]',
  description: 'Remove one or more stacks',
  flags: [{ name: 'detach', short: 'd', type: 'bool', description: 'Do not wait for stack removal', default: true }],
  args: [1, Infinity],
  async run(args, io, api) {
    const library = composeLibrary();
    const namespaces = args.positionals.map((name) => library.checkStackName(name));
    await library.removeStacks(api, await stackNetworks(), namespaces, { ...output(io), detach: args.flags.detach !== false });
    return 0;
  },
});

const config: Command = {
  name: 'config',
  usage: '[OPTIONS]',
  description: 'Outputs the final config file, after doing merges and interpolations',
  flags: [COMPOSE_FILE_FLAG, { name: 'skip-interpolation', type: 'bool', description: 'Skip interpolation and output only merged config' }],
  args: [0, 0],
  async run(args, io) {
    const library = composeLibrary();
    const { project } = await library.loadStack({
      files: list(args, 'compose-file'),
      // docker's config has no stack: the names it prints are the file's own.
      namespace: 'stack',
      env: io.env,
      cwd: process.cwd(),
      stdin: () => text(io.stdin),
      ...(bool(args, 'skip-interpolation') ? { interpolate: false } : {}),
    });
    io.stdout.write(library.stackConfig(project));
    return 0;
  },
};

/** `ctr stack …`, in docker's order. */
export const stackCommands: Command[] = [config, deploy, ls, ps, rm, services];
