import type { Command } from '../command';
import { getEngine, println } from '../context';
import { bool, str } from '../flags';
import { formatItems, humanSize } from '../format';
import { filterFlag } from '../filter-flag';
import { imagesDeleted, pruneCommand, pruneFilters } from './prune';

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
    `  - all ${bool(args, 'all') ? 'images without at least one container associated to them' : 'dangling images'}\n  - all build cache\n` +
    filterWarning(pruneFilters(args)),
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

const df: Command = {
  name: 'df',
  usage: '[OPTIONS]',
  description: 'Show ctr disk usage',
  flags: [
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
  ],
  args: [0, 0],
  async run(args, io) {
    const usage = await (await getEngine()).df();
    const percent = (part: number, whole: number): string => (whole > 0 ? ` (${Math.round((part / whole) * 100)}%)` : '');
    const imagesActive = usage.Images.filter((i) => i.Containers > 0);
    const imagesSize = usage.LayersSize;
    const imagesReclaimable = Math.max(0, imagesSize - imagesActive.reduce((sum, i) => sum + i.Size, 0));
    const running = usage.Containers.filter((c) => c.State === 'running');
    const containersSize = usage.Containers.reduce((sum, c) => sum + c.SizeRw, 0);
    const containersReclaimable = usage.Containers.filter((c) => c.State !== 'running').reduce((sum, c) => sum + c.SizeRw, 0);
    const volumesActive = usage.Volumes.filter((v) => v.UsageData.RefCount > 0);
    const volumesSize = usage.Volumes.reduce((sum, v) => sum + v.UsageData.Size, 0);
    const volumesReclaimable = usage.Volumes.filter((v) => v.UsageData.RefCount === 0).reduce((sum, v) => sum + v.UsageData.Size, 0);
    const cacheSize = usage.BuildCache.reduce((sum, b) => sum + b.Size, 0);
    const rows = [
      { Type: 'Images', TotalCount: usage.Images.length, Active: imagesActive.length, Size: humanSize(imagesSize), Reclaimable: `${humanSize(imagesReclaimable)}${percent(imagesReclaimable, imagesSize)}` },
      { Type: 'Containers', TotalCount: usage.Containers.length, Active: running.length, Size: humanSize(containersSize), Reclaimable: `${humanSize(containersReclaimable)}${percent(containersReclaimable, containersSize)}` },
      { Type: 'Local Volumes', TotalCount: usage.Volumes.length, Active: volumesActive.length, Size: humanSize(volumesSize), Reclaimable: `${humanSize(volumesReclaimable)}${percent(volumesReclaimable, volumesSize)}` },
      { Type: 'Build Cache', TotalCount: usage.BuildCache.length, Active: 0, Size: humanSize(cacheSize), Reclaimable: humanSize(cacheSize) },
    ];
    const format = str(args, 'format') ?? 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
    println(io, formatItems(format, rows, { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
    return 0;
  },
};

/** `ctr system prune` and `ctr system df` (no top-level forms, like docker). */
export const systemPruneCommands: Command[] = [prune, df];
