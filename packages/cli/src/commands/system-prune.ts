import { invalidArgument } from '@ctr/errors';
import type { Command } from '../command';
import { bool } from '../flags';
import { filterFlag } from '../filter-flag';
import { imagesDeleted, pruneCommand, pruneFilters } from './prune';
import { dfCommand } from './system';

/** docker's lines under the warning naming the filters the prune goes by (the label and `until` ones). */
function filterWarning(filters: Record<string, string[]>): string {
  const lines = ['label', 'label!', 'until'].flatMap((key) => (filters[key] ?? []).map((v) => `${key}=${v}`));
  lines.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return lines.length > 0 ? `\n  Items to be pruned will be filtered with:\n${lines.map((l) => `  - ${l}\n`).join('')}` : '';
}

const prune = pruneCommand({
  description: 'Remove unused data',
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Remove all unused images not just dangling ones' },
    filterFlag('Provide filter values (e.g. "label=<key>=<value>")'),
    { name: 'volumes', type: 'bool', description: 'Prune anonymous volumes' },
  ],
  warning: (args) =>
    `:\n  - all stopped containers\n  - all networks not used by at least one container\n${bool(args, 'volumes') ? '  - all anonymous volumes not used by at least one container\n' : ''}` +
    `  - all ${bool(args, 'all') ? 'images without at least one container associated to them' : 'dangling images'}\n` +
    `  - ${bool(args, 'all') ? 'all' : 'unused'} build cache\n` +
    filterWarning(pruneFilters(args)),
  check(args) {
    // As docker's CLI: a volume prune takes no `until` filter, so the pair is refused before the prompt, even with -f.
    if (bool(args, 'volumes') && pruneFilters(args).until) throw invalidArgument('ERROR: The "until" filter is not supported with "--volumes"');
  },
  async prune(engine, args) {
    const result = await engine.prune({ all: bool(args, 'all'), volumes: bool(args, 'volumes'), filters: pruneFilters(args) });
    return {
      sections: [
        ['Deleted Containers', result.ContainersDeleted],
        ['Deleted Networks', result.NetworksDeleted],
        ['Deleted Volumes', result.VolumesDeleted],
        ['Deleted Images', imagesDeleted(result.ImagesDeleted)],
        ['Deleted build cache objects', result.CachesDeleted],
      ],
      reclaimed: result.SpaceReclaimed,
    };
  },
});

/** `ctr system prune` and `ctr system df` (no top-level forms, like docker). */
export const systemPruneCommands: Command[] = [prune, dfCommand];
