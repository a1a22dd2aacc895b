import type { Command } from '../command';
import { getEngine, println } from '../context';
import { bool, list, str } from '../flags';
import { filterFlag, parseFilters } from '../filter-flag';
import { forEachArg, inspectEach } from './each';
import type { VolumeInfo } from '@ctr/store';
import { formatContext, formatList, goPointer, goStruct, headerContext, humanSize, labelMethod, naturalCompare, printedAs } from '../format';
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

/** `docker volume ls`' column names, by field (docker's volumeContext header). */
export const VOLUME_HEADERS: Readonly<Record<string, string>> = {
  ID: 'ID',
  Name: 'VOLUME NAME',
  Group: 'GROUP',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  Availability: 'AVAILABILITY',
  Mountpoint: 'MOUNTPOINT',
  Labels: 'LABELS',
  Links: 'LINKS',
  Size: 'SIZE',
  Status: 'STATUS',
};

/** A volume as the engine lists it; `UsageData` only from `system df`. */
export type ListedVolume = VolumeInfo & { UsageData?: { Size: number; RefCount: number } | null };

/**
 * What `docker volume ls --format` sees of a volume: docker's volumeContext. The cluster
 * fields (`Group`, `Availability`, `Status`) are `N/A`: ctr has no cluster volumes.
 */
export function volumeContext(v: ListedVolume): object {
  const usage = v.UsageData ?? undefined;
  const context = formatContext('*formatter.volumeContext', {
    Name: v.Name,
    Driver: v.Driver,
    Scope: v.Scope,
    Mountpoint: v.Mountpoint,
    Labels: Object.entries(v.Labels ?? {})
      .map(([k, val]) => `${k}=${val}`)
      .join(','),
    Label: labelMethod(v.Labels),
    Links: usage ? String(usage.RefCount) : 'N/A',
    Size: usage ? humanSize(usage.Size, 4) : 'N/A',
    Group: 'N/A',
    Availability: 'N/A',
    Status: 'N/A',
  });
  // `%v` prints docker's volumeContext: the API's volume.Volume, in its order.
  const { CreatedAt, Driver, Labels, Mountpoint, Name, Options, Scope } = v;
  const volume = (): object =>
    goStruct('volume.Volume', { ClusterVolume: null, CreatedAt, Driver, Labels: Labels ?? {}, Mountpoint, Name, Options: Options ?? {}, Scope, Status: {}, UsageData: goPointer(usage) });
  return printedAs(context, () => [['HeaderContext', headerContext()], ['v', volume()]]);
}

/** docker's NewVolumeFormat: what `--format` (or none) and `-q` make the template; -q changes only the default and raw ones. */
export function volumeFormat(given: string, quiet: boolean): string {
  if (given === 'table') return quiet ? '{{.Name}}' : 'table {{.Driver}}\t{{.Name}}';
  if (given === 'raw') return quiet ? 'name: {{.Name}}' : 'name: {{.Name}}\ndriver: {{.Driver}}\n';
  return given;
}

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
    const quiet = bool(args, 'quiet');
    const format = volumeFormat(str(args, 'format') || 'table', quiet);
    const sorted = [...volumes].sort((a, b) => naturalCompare(a.Name, b.Name));
    io.stdout.write(formatList(format, sorted.map(volumeContext), VOLUME_HEADERS));
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
    // docker's CLI marshals a volume itself, where it shows other objects as the daemon sent them.
    return inspectEach(args.positionals, io, str(args, 'format'), (name) => engine.inspectVolume(name), { marshal: true });
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
