import type { Command, Io } from '../command';
import { engineModule, getEngine, println, type CliEngine } from '../context';
import { filterFlag, parseFilters } from '../filter-flag';
import { bool, byName, list, str, type FlagSpec, type ParsedArgs } from '../flags';
import { humanSize } from '../format';
import { confirm } from '../prompt';

/** What a prune removed, as docker lists it: titled sections, then the space it freed. */
interface Pruned {
  sections: Array<[title: string, items: string[]]>;
  /** Absent for prunes that free no space (docker prints no total for networks). */
  reclaimed?: number;
}

interface PruneKind {
  description: string;
  /** After the command's path in its usage line (default `[OPTIONS]`). */
  usage?: string;
  flags?: FlagSpec[];
  /** What the confirmation prompt warns of (after "WARNING! This will remove"). */
  warning(args: ParsedArgs): string;
  /** docker's builder prune asks on the warning's line; the others ask on a line of its own. */
  questionOnWarningLine?: boolean;
  /** Refuses arguments the prune cannot go by, before anything is asked or removed. */
  check?(args: ParsedArgs): void;
  prune(engine: CliEngine, args: ParsedArgs): Promise<Pruned>;
}

const force: FlagSpec = { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' };
const untilFilter = filterFlag('Provide filter values (e.g. "until=<timestamp>")');

/** The prune's `--filter`s, as the engine takes them. */
export const pruneFilters = (args: ParsedArgs): Record<string, string[]> => parseFilters(list(args, 'filter'));

/** docker's confirmation: the answer is a line of stdin, a terminal or not; no answer is no. */
async function confirmed(io: Io, warning: string, sameLine: boolean): Promise<boolean> {
  return confirm(io, `WARNING! This will remove${warning}${sameLine ? ' ' : '\n'}Are you sure you want to continue?`);
}

function printPruned(io: Io, pruned: Pruned): void {
  for (const [title, items] of pruned.sections) {
    if (items.length === 0) continue;
    println(io, `${title}:`);
    for (const item of items) println(io, item);
    println(io);
  }
  if (pruned.reclaimed !== undefined) println(io, `Total reclaimed space: ${humanSize(pruned.reclaimed)}`);
}

/** `docker … prune`: confirm (unless -f), prune, print what went. */
export function pruneCommand(kind: PruneKind): Command {
  return {
    name: 'prune',
    usage: kind.usage ?? '[OPTIONS]',
    description: kind.description,
    // docker's order: by name.
    flags: [...(kind.flags ?? []), force].sort(byName),
    args: [0, 0],
    async run(args, io) {
      kind.check?.(args);
      if (!bool(args, 'force') && !(await confirmed(io, kind.warning(args), kind.questionOnWarningLine === true))) return 0;
      printPruned(io, await kind.prune(await getEngine(), args));
      return 0;
    },
  };
}

export const imagesDeleted = (items: ReadonlyArray<{ Untagged?: string; Deleted?: string }>): string[] =>
  items.map((i) => (i.Untagged ? `untagged: ${i.Untagged}` : `deleted: ${i.Deleted}`));

export const containerPrune = pruneCommand({
  description: 'Remove all stopped containers',
  flags: [untilFilter],
  warning: () => ' all stopped containers.',
  async prune(engine, args) {
    const result = await engine.pruneContainers({ filters: pruneFilters(args) });
    return { sections: [['Deleted Containers', result.ContainersDeleted]], reclaimed: result.SpaceReclaimed };
  },
});

export const imagePrune = pruneCommand({
  description: 'Remove unused images',
  flags: [{ name: 'all', short: 'a', type: 'bool', description: 'Remove all unused images, not just dangling ones' }, untilFilter],
  warning: (args) => (bool(args, 'all') ? ' all images without at least one container associated to them.' : ' all dangling images.'),
  async prune(engine, args) {
    // docker's CLI adds `dangling` to the user's filters: a `--filter dangling=` of one's own conflicts with it, as there.
    const filters = pruneFilters(args);
    filters.dangling = [...(filters.dangling ?? []), String(!bool(args, 'all'))];
    const result = await engine.pruneImages({ filters });
    return { sections: [['Deleted Images', imagesDeleted(result.ImagesDeleted)]], reclaimed: result.SpaceReclaimed };
  },
});

export const volumePrune = pruneCommand({
  description: 'Remove unused local volumes',
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Remove all unused volumes, not just anonymous ones' },
    filterFlag('Provide filter values (e.g. "label=<label>")'),
  ],
  warning: (args) => (bool(args, 'all') ? ' all local volumes not used by at least one container.' : ' anonymous local volumes not used by at least one container.'),
  async prune(engine, args) {
    const result = await engine.pruneVolumes({ all: bool(args, 'all'), filters: pruneFilters(args) });
    return { sections: [['Deleted Volumes', result.VolumesDeleted ?? []]], reclaimed: result.SpaceReclaimed ?? 0 };
  },
});

export const networkPrune = pruneCommand({
  description: 'Remove all unused networks',
  flags: [untilFilter],
  warning: () => ' all custom networks not used by at least one container.',
  async prune(engine, args) {
    return { sections: [['Deleted Networks', (await engine.pruneNetworks({ filters: pruneFilters(args) })).NetworksDeleted]] };
  },
});

export const builderPrune = pruneCommand({
  description: 'Remove build cache',
  // docker's builder prune shows no [OPTIONS] in its usage line.
  usage: '',
  flags: [
    // The build cache has nothing in use, so `-a` prunes what the default would.
    { name: 'all', short: 'a', type: 'bool', description: 'Remove all unused build cache, not just dangling ones' },
    filterFlag('Provide filter values (e.g. "until=24h")'),
    {
      name: 'keep-storage',
      type: 'string',
      valueName: 'bytes',
      description: 'Amount of disk space to keep for cache',
      check: (value) => void engineModule().parseBytes(value, '--keep-storage'),
    },
  ],
  warning: (args) => (bool(args, 'all') ? ' all build cache.' : ' all dangling build cache.'),
  questionOnWarningLine: true,
  async prune(engine, args) {
    const keep = str(args, 'keep-storage');
    const result = await engine.pruneBuildCache({
      all: bool(args, 'all'),
      filters: pruneFilters(args),
      ...(keep !== undefined ? { keepStorage: engineModule().parseBytes(keep, '--keep-storage') } : {}),
    });
    return { sections: [['Deleted build cache objects', result.CachesDeleted]], reclaimed: result.SpaceReclaimed };
  },
});
