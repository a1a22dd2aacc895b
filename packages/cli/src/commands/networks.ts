import { invalidArgument } from '@ctr/errors';
import type { Command } from '../command';
import { getEngine, println, type CliEngine } from '../context';
import { bool, list, str } from '../flags';
import { filterFlag, parseFilters } from '../filter-flag';
import { forEachArg, inspectEach } from './each';
import { formatContext, formatList, goTimeString, labelMethod, naturalCompare, truncateId } from '../format';
import { keyValues } from './create-flags';
import { networkPrune } from './prune';
import { createSwarmScopedNetwork, removeSwarmScopedNetwork } from '../swarm-context';

const create: Command = {
  name: 'create',
  usage: '[OPTIONS] NETWORK',
  description: 'Create a network',
  flags: [
    { name: 'driver', short: 'd', type: 'string', description: 'Driver to manage the Network', default: 'bridge' },
    { name: 'subnet', type: 'list', description: 'Subnet in CIDR format that represents a network segment' },
    { name: 'gateway', type: 'list', description: 'IPv4 or IPv6 Gateway for the master subnet' },
    { name: 'ip-range', type: 'list', description: 'Allocate container ip from a sub-range' },
    { name: 'internal', type: 'bool', description: 'Restrict external access to the network' },
    { name: 'ipv6', type: 'bool', description: 'Enable or disable IPv6 networking' },
    { name: 'label', type: 'list', description: 'Set metadata on a network' },
    { name: 'opt', short: 'o', type: 'list', description: 'Set driver specific options' },
    { name: 'attachable', type: 'bool', description: 'Enable manual container attachment' },
    { name: 'aux-address', type: 'list', valueName: 'map', description: 'Auxiliary IPv4 or IPv6 addresses used by Network driver' },
    { name: 'config-from', type: 'string', description: 'The network from which to copy the configuration' },
    { name: 'config-only', type: 'bool', description: 'Create a configuration only network' },
    { name: 'ingress', type: 'bool', description: 'Create swarm routing-mesh network' },
    { name: 'ipam-driver', type: 'string', description: 'IP Address Management Driver', default: 'default' },
    { name: 'ipam-opt', type: 'list', valueName: 'map', description: 'Set IPAM driver specific options' },
    { name: 'ipv4', type: 'bool', description: 'Enable or disable IPv4 address assignment', default: true },
    { name: 'scope', type: 'string', description: "Control the network's scope" },
  ],
  args: [1, 1],
  async run(args, io) {
    const subnet = ofFamily(list(args, 'subnet'), 4, 'subnet');
    const gateway = ofFamily(list(args, 'gateway'), 4, 'gateway');
    const ipRange = ofFamily(list(args, 'ip-range'), 4, 'ip-range');
    const subnet6 = ofFamily(list(args, 'subnet'), 6, 'subnet');
    const gateway6 = ofFamily(list(args, 'gateway'), 6, 'gateway');
    const ipRange6 = ofFamily(list(args, 'ip-range'), 6, 'ip-range');
    const auxAddresses = keyValues(list(args, 'aux-address'));
    const ipamOptions = keyValues(list(args, 'ipam-opt'));
    const ipamDriver = str(args, 'ipam-driver');
    const scope = str(args, 'scope');
    const configFrom = str(args, 'config-from');
    const options = {
      name: args.positionals[0] as string,
      driver: str(args, 'driver') || 'bridge',
      internal: bool(args, 'internal'),
      labels: keyValues(list(args, 'label')),
      options: keyValues(list(args, 'opt')),
      ...(Object.keys(auxAddresses).length > 0 ? { auxAddresses } : {}),
      ...(Object.keys(ipamOptions).length > 0 ? { ipamOptions } : {}),
      ...(ipamDriver ? { ipamDriver } : {}),
      ...(scope ? { scope } : {}),
      ...(configFrom ? { configFrom } : {}),
      ...(bool(args, 'attachable') ? { attachable: true } : {}),
      ...(bool(args, 'config-only') ? { configOnly: true } : {}),
      ...(bool(args, 'ingress') ? { ingress: true } : {}),
      ...(args.flags['ipv4'] === false ? { ipv4: false } : {}),
      ...(subnet ? { subnet } : {}),
      ...(gateway ? { gateway } : {}),
      ...(ipRange ? { ipRange } : {}),
      ...(bool(args, 'ipv6') ? { ipv6: true } : {}),
      ...(subnet6 ? { subnet6 } : {}),
      ...(gateway6 ? { gateway6 } : {}),
      ...(ipRange6 ? { ipRange6 } : {}),
    };
    // An overlay (swarm-scoped) network is the swarm's to make, when this root is in one.
    const network = (await createSwarmScopedNetwork(options)) ?? (await (await getEngine()).createNetwork(options));
    println(io, network.Id);
    return 0;
  },
};

/**
 * The one value of an address flag (`--subnet`, `--gateway`, `--ip-range`, each repeatable as
 * docker's) for one family, told apart as docker's CLI does, by a colon: ctr's networks take
 * one IPv4 and one IPv6 subnet.
 */
function ofFamily(values: string[], family: 4 | 6, flag: string): string | undefined {
  const mine = values.filter((v) => v.includes(':') === (family === 6));
  if (mine.length > 1) throw invalidArgument(`more than one IPv${family} --${flag}: ${mine.join(', ')}`, { hint: 'a network takes one IPv4 and one IPv6 subnet' });
  return mine[0];
}

/** A network as the engine lists it. */
type NetworkSummary = Awaited<ReturnType<CliEngine['networks']>>[number];

/** `docker network ls`' column names, by field. */
const NETWORK_HEADERS: Readonly<Record<string, string>> = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv4: 'IPV4',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
};

/** What `docker network ls --format` sees of a network: docker's networkContext. `truncate` cuts the ID short. */
function networkContext(n: NetworkSummary & { EnableIPv4?: boolean }, truncate: boolean): object {
  return formatContext('*network.networkContext', {
    ID: truncate ? truncateId(n.Id) : n.Id,
    Name: n.Name,
    Driver: n.Driver,
    Scope: n.Scope,
    IPv4: String(n.EnableIPv4 ?? false),
    IPv6: String(n.EnableIPv6),
    Internal: String(n.Internal),
    Labels: Object.entries(n.Labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Label: labelMethod(n.Labels),
    CreatedAt: goTimeString(n.Created),
  });
}

const ls: Command = {
  name: 'ls',
  aliases: ['ctr network list'],
  usage: '[OPTIONS]',
  description: 'List networks',
  flags: [
    filterFlag('Provide filter values (e.g. "driver=bridge")', { short: true }),
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
    { name: 'no-trunc', type: 'bool', description: 'Do not truncate the output' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display network IDs' },
  ],
  args: [0, 0],
  async run(args, io) {
    const truncate = !bool(args, 'no-trunc');
    const networks = await (await getEngine()).networks({ filters: parseFilters(list(args, 'filter')) });
    const quiet = bool(args, 'quiet');
    const given = str(args, 'format') || 'table';
    // docker's NewFormat: -q changes only the default and raw formats.
    const raw = quiet ? 'network_id: {{.ID}}' : 'network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n';
    const format = given === 'table' ? (quiet ? '{{.ID}}' : 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}') : given === 'raw' ? raw : given;
    const sorted = [...networks].sort((a, b) => naturalCompare(a.Name, b.Name));
    io.stdout.write(formatList(format, sorted.map((n) => networkContext(n, truncate)), NETWORK_HEADERS));
    return 0;
  },
};

const inspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  description: 'Display detailed information on one or more networks',
  flags: [{ name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    return inspectEach(args.positionals, io, str(args, 'format'), (name) => engine.inspectNetwork(name));
  },
};

const rm: Command = {
  name: 'rm',
  aliases: ['ctr network remove'],
  usage: 'NETWORK [NETWORK...]',
  description: 'Remove one or more networks',
  flags: [],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    return forEachArg(args.positionals, io, async (name) => {
      if (!(await removeSwarmScopedNetwork(name))) await engine.removeNetwork(name);
    });
  },
};

const connect: Command = {
  name: 'connect',
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Connect a container to a network',
  flags: [
    { name: 'alias', type: 'list', description: 'Add network-scoped alias for the container' },
    { name: 'ip', type: 'string', description: 'IPv4 address (e.g., "172.30.100.104")' },
    { name: 'ip6', type: 'string', description: 'IPv6 address (e.g., "2001:db8::33")' },
    { name: 'link-local-ip', type: 'list', description: 'Add a link-local address for the container' },
  ],
  args: [2, 2],
  async run(args) {
    const ip = str(args, 'ip');
    const ip6 = str(args, 'ip6');
    const linkLocalIps = list(args, 'link-local-ip');
    await (await getEngine()).connect(args.positionals[0] as string, args.positionals[1] as string, {
      aliases: list(args, 'alias'),
      ...(ip ? { ip } : {}),
      ...(ip6 ? { ip6 } : {}),
      ...(linkLocalIps.length > 0 ? { linkLocalIps } : {}),
    });
    return 0;
  },
};

const disconnect: Command = {
  name: 'disconnect',
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Disconnect a container from a network',
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force the container to disconnect from a network' }],
  args: [2, 2],
  async run(args) {
    await (await getEngine()).disconnect(args.positionals[0] as string, args.positionals[1] as string);
    return 0;
  },
};

export const networkCommands: Command[] = [create, ls, inspect, rm, connect, disconnect, networkPrune];
