import { invalidArgument } from '@ctr/errors';
import type { SearchResult } from '@ctr/registry';
import type { Command } from '../command';
import { eprintln, getEngine } from '../context';
import { filterFlag, parseFilters } from '../filter-flag';
import { bool, list, num, str } from '../flags';
import { ellipsis, formatContext, formatList, goStruct, headerContext, printedAs } from '../format';

/** `docker search`'s column names, by field (docker-cli's searchContext header). */
const SEARCH_HEADERS: Readonly<Record<string, string>> = {
  Name: 'NAME',
  Description: 'DESCRIPTION',
  StarCount: 'STARS',
  IsOfficial: 'OFFICIAL',
};

/** docker 28's default table: AUTOMATED went with Docker Hub's automated builds. */
const DEFAULT_FORMAT = 'table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}';

/**
 * What `--format` sees of a result: docker-cli 28's searchContext (official is `[OK]` or
 * nothing; `true`/`false` in JSON). It has no `.IsAutomated` any more: Docker Hub dropped
 * automated builds, and docker 28 fails a template that asks for it, as ctr does.
 */
function searchContext(result: SearchResult, truncate: boolean): object {
  const oneLine = result.description.replace(/[\n\r]/g, ' ');
  const description = truncate ? ellipsis(oneLine, 45) : oneLine;
  const fields = { Name: result.name, Description: description, StarCount: String(result.star_count), IsOfficial: result.is_official ? '[OK]' : '' };
  const json = (): object => ({ Description: description, IsOfficial: String(result.is_official), Name: result.name, StarCount: fields.StarCount });
  const context = formatContext('*registry.searchContext', fields, json);
  // `%v` prints docker's searchContext: the API's SearchResult, in moby's field order.
  const s = (): object =>
    goStruct('registry.SearchResult', { StarCount: result.star_count, IsOfficial: result.is_official, Name: result.name, IsAutomated: result.is_automated, Description: result.description });
  return printedAs(context, () => [['HeaderContext', headerContext()], ['trunc', truncate], ['json', false], ['s', s()]]);
}

export const searchCommand: Command = {
  name: 'search',
  usage: '[OPTIONS] TERM',
  description: 'Search Docker Hub for images',
  flags: [
    filterFlag('Filter output based on conditions provided', { short: true }),
    { name: 'format', type: 'string', description: 'Pretty-print search using a Go template' },
    {
      name: 'limit',
      type: 'number',
      description: 'Max number of search results',
      // pflag's int: a fraction is as unreadable as a word.
      check: (value) => {
        if (!/^[+-]?\d+$/.test(value)) throw invalidArgument(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
      },
    },
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
  ],
  args: [1, 1],
  async run(args, io) {
    const filters = parseFilters(list(args, 'filter'));
    if (filters['is-automated'] !== undefined) {
      eprintln(io, 'WARNING: the "is-automated" filter is deprecated, and searching for "is-automated=true" will not yield any results in future.');
    }
    const limit = num(args, 'limit');
    const engine = await getEngine();
    const results = await engine.searchImages(args.positionals[0] as string, { filters, ...(limit !== undefined ? { limit } : {}) });
    const format = str(args, 'format') || 'table';
    const truncate = !bool(args, 'no-trunc');
    io.stdout.write(formatList(format === 'table' ? DEFAULT_FORMAT : format, results.map((result) => searchContext(result, truncate)), SEARCH_HEADERS));
    return 0;
  },
};
