import { invalidArgument } from '@ctr/errors';
import type { FlagSpec } from './flags';

/** One `--filter` argument as docker's CLI reads it (`opts.ParseFlag`): a trimmed, lower-cased name and a trimmed value. */
function parseFilter(arg: string): [name: string, value: string] | undefined {
  if (arg === '') return undefined;
  const eq = arg.indexOf('=');
  if (eq === -1) throw invalidArgument('bad format of filter (expected name=value)');
  return [arg.slice(0, eq).trim().toLowerCase(), arg.slice(eq + 1).trim()];
}

/**
 * `--filter key=value`, repeatable, with docker's help text for the command. Listings have
 * `-f`; prunes do not (there `-f` is `--force`).
 */
export function filterFlag(description: string, options: { short?: boolean } = {}): FlagSpec {
  return {
    name: 'filter',
    ...(options.short ? { short: 'f' } : {}),
    type: 'list',
    valueName: 'filter',
    description,
    check: (value) => void parseFilter(value),
  };
}

/** The `--filter` arguments by name, as the engine takes them. */
export function parseFilters(values: readonly string[]): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const value of values) {
    const parsed = parseFilter(value);
    if (!parsed) continue;
    // docker's filters are sets: a value given twice counts once.
    const values = (filters[parsed[0]] ??= []);
    if (!values.includes(parsed[1])) values.push(parsed[1]);
  }
  return filters;
}
