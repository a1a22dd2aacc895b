import { invalidArgument } from '@ctr/errors';
import type { NodeRole, SwarmApi } from '@ctr/swarm';
import type { Command } from '../command';
import { println } from '../context';
import { bool, list, str } from '../flags';
import { parseFilters } from '../filter-flag';
import { forEachArg } from './each';
import { INSPECT_FLAGS, inspectOrPretty, printTasks, swarmCommand, SWARM_LIST_FLAGS, TASK_LIST_FLAGS } from './service';
import { formatNodes, nodeListFormat, prettyNodes } from './swarm-output';

/** `ctr node …`: docker 28's node commands; `self` names this node, as docker's do. */

/** A node's ID from what the user wrote: `self` is this node. */
async function nodeId(swarm: SwarmApi, name: string): Promise<string> {
  if (name !== 'self') return (await swarm.inspectNode(name)).ID;
  return (await swarm.info()).NodeID;
}

const ls = swarmCommand({
  name: 'ls',
  aliases: ['ctr node list'],
  usage: '[OPTIONS]',
  description: 'List nodes in the swarm',
  flags: SWARM_LIST_FLAGS,
  args: [0, 0],
  async run(args, io, swarm) {
    const nodes = await swarm.nodes(parseFilters(list(args, 'filter')));
    io.stdout.write(formatNodes(nodeListFormat(str(args, 'format') || 'table', bool(args, 'quiet')), nodes, await swarm.info()));
    return 0;
  },
});

const inspect = swarmCommand({
  name: 'inspect',
  usage: '[OPTIONS] self|NODE [NODE...]',
  description: 'Display detailed information on one or more nodes',
  flags: INSPECT_FLAGS,
  args: [1, Infinity],
  async run(args, io, swarm) {
    return inspectOrPretty(args, io, async (name) => swarm.inspectNode(await nodeId(swarm, name)), prettyNodes);
  },
});

const ps = swarmCommand({
  name: 'ps',
  usage: '[OPTIONS] [NODE...]',
  description: 'List tasks running on one or more nodes, defaults to current node',
  flags: TASK_LIST_FLAGS,
  args: [0, Infinity],
  async run(args, io, swarm) {
    const names = args.positionals.length > 0 ? args.positionals : ['self'];
    const ids: string[] = [];
    for (const name of names) ids.push(await nodeId(swarm, name));
    return printTasks(args, io, swarm, await swarm.tasks({ ...parseFilters(list(args, 'filter')), node: ids }));
  },
});

const update = swarmCommand({
  name: 'update',
  usage: '[OPTIONS] NODE',
  description: 'Update a node',
  flags: [
    { name: 'availability', type: 'string', description: 'Availability of the node ("active", "pause", "drain")' },
    { name: 'label-add', type: 'list', description: 'Add or update a node label ("key=value")' },
    { name: 'label-rm', type: 'list', description: 'Remove a node label if exists' },
    { name: 'role', type: 'string', description: 'Role of the node ("worker", "manager")' },
  ],
  args: [1, 1],
  async run(args, io, swarm) {
    const name = args.positionals[0] as string;
    const node = await swarm.inspectNode(await nodeId(swarm, name));
    const spec = structuredClone(node.Spec);
    const availability = str(args, 'availability');
    if (availability !== undefined) {
      if (!['active', 'pause', 'drain'].includes(availability.toLowerCase())) throw invalidArgument(`invalid availability "${availability}", only active, pause and drain are supported`);
      spec.Availability = availability.toLowerCase() as typeof spec.Availability;
    }
    const role = str(args, 'role');
    if (role !== undefined) {
      if (role !== 'worker' && role !== 'manager') throw invalidArgument(`invalid role "${role}", only worker and manager are supported`);
      spec.Role = role;
    }
    const labels = { ...spec.Labels };
    for (const entry of list(args, 'label-add')) {
      const eq = entry.indexOf('=');
      labels[eq === -1 ? entry : entry.slice(0, eq)] = eq === -1 ? '' : entry.slice(eq + 1);
    }
    for (const key of list(args, 'label-rm')) {
      if (!Object.hasOwn(labels, key)) throw invalidArgument(`key ${key} doesn't exist in node's labels`);
      delete labels[key];
    }
    spec.Labels = labels;
    await swarm.updateNode(node.ID, node.Version.Index, spec);
    println(io, name);
    return 0;
  },
});

/** `promote` and `demote`: the role changed, said as docker says it; one already so is said and left. */
function roleCommand(name: 'promote' | 'demote', role: NodeRole): Command {
  return swarmCommand({
    name,
    usage: 'NODE [NODE...]',
    description: name === 'promote' ? 'Promote one or more nodes to manager in the swarm' : 'Demote one or more nodes from manager in the swarm',
    flags: [],
    args: [1, Infinity],
    async run(args, io, swarm) {
      return forEachArg(args.positionals, io, async (given) => {
        const node = await swarm.inspectNode(await nodeId(swarm, given));
        if (node.Spec.Role === role) return [role === 'manager' ? `Node ${given} is already a manager.` : `Node ${given} is already a worker.`];
        await swarm.updateNode(node.ID, node.Version.Index, { ...node.Spec, Role: role });
        return [role === 'manager' ? `Node ${given} promoted to a manager in the swarm.` : `Manager ${given} demoted in the swarm.`];
      });
    },
  });
}

const rm = swarmCommand({
  name: 'rm',
  aliases: ['ctr node remove'],
  usage: '[OPTIONS] NODE [NODE...]',
  description: 'Remove one or more nodes from the swarm',
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force remove a node from the swarm' }],
  args: [1, Infinity],
  async run(args, io, swarm) {
    return forEachArg(args.positionals, io, async (name) => {
      await swarm.removeNode(await nodeId(swarm, name), bool(args, 'force'));
    }, { errorsLast: true });
  },
});

export const nodeCommands: Command[] = [roleCommand('demote', 'worker'), inspect, ls, roleCommand('promote', 'manager'), ps, rm, update];
