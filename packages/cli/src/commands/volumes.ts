import type { Command } from '../command';
import { getEngine, println } from '../context';
import { bool, list, str } from '../flags';
import { filterFlag, parseFilters } from '../filter-flag';
import { forEachArg, inspectEach } from './each';
import { formatItems } from '../format';
import { keyValues } from './create-flags';
import { volumePrune } from './prune';

const create: Command = {
  name: 'create',
  usage: '[OPTIONS] [VOLUME]',
  description: 'Create a volume',
  flags: [
    { name: 'label', type: 'list', description: 'Set metadata for a volume' },
    { name: 'driver', short: 'd', type: 'string', description: 'Specify volume driver name', default: 'local' },
    { name: 'name', type: 'string', description: 'Specify volume name' },
    { name: 'opt', short: 'o', type: 'list', description: 'Set driver specific options' },
  ],
  args: [0, 1],
  async run(args, io) {
    const name = args.positionals[0] ?? str(args, 'name');
    const labels = keyValues(list(args, 'label'));
    const options = keyValues(list(args, 'opt'));
    const volume = await (await getEngine()).createVolume({ ...(name ? { name } : {}), driver: str(args, 'driver') ?? 'local', labels, ...(Object.keys(options).length > 0 ? { options } : {}) });
    println(io, volume.Name);
    return 0;
  },
};

const ls: Command = {
  name: 'ls',
  aliases: ['ctr volume list'],
  usage: '[OPTIONS]',
  description: 'List volumes',
  flags: [
    filterFlag('Provide filter values (e.g. "dangling=true")', { short: true }),
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display volume names' },
  ],
  args: [0, 0],
  async run(args, io) {
    const volumes = await (await getEngine()).volumes({ filters: parseFilters(list(args, 'filter')) });
    if (bool(args, 'quiet')) {
      for (const v of volumes) println(io, v.Name);
      return 0;
    }
    const format = str(args, 'format') ?? 'table {{.Driver}}\t{{.Name}}';
    println(io, formatItems(format, volumes, { Driver: 'DRIVER', Name: 'VOLUME NAME', Mountpoint: 'MOUNTPOINT' }));
    return 0;
  },
};

const inspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  description: 'Display detailed information on one or more volumes',
  flags: [{ name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    return inspectEach(args.positionals, io, str(args, 'format'), (name) => engine.inspectVolume(name));
  },
};

const rm: Command = {
  name: 'rm',
  aliases: ['ctr volume remove'],
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  description: 'Remove one or more volumes',
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force the removal of one or more volumes' }],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    return forEachArg(args.positionals, io, async (name) => {
      await engine.removeVolume(name, { force: bool(args, 'force') });
    });
  },
};

export const volumeCommands: Command[] = [create, ls, inspect, rm, volumePrune];
