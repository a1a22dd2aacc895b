import type { Command, CommandGroup } from './command';
import { byName, type FlagSpec } from './flags';

function flagLine(flag: FlagSpec): [string, string] {
  const value = flag.type === 'bool' ? '' : ` ${flag.valueName ?? (flag.type === 'list' ? 'list' : flag.type === 'number' ? 'int' : 'string')}`;
  const names = flag.short ? `-${flag.short}, --${flag.name}` : `    --${flag.name}`;
  const fallback = flag.default !== undefined && flag.default !== false && flag.default !== '' ? ` (default ${JSON.stringify(flag.default)})` : '';
  return [`  ${names}${value}`, `${flag.description}${fallback}`];
}

/** A command's long description starts with its one-line summary, which is all a listing shows (cobra's Short). */
function summary(description: string): string {
  return description.split('\n', 1)[0];
}

/** Two columns; a description's own line breaks continue under its column, as pflag's FlagUsages indents them. */
function columns(rows: [string, string][]): string {
  const width = Math.max(0, ...rows.map(([left]) => left.length)) + 3;
  const indent = ' '.repeat(width);
  return rows.map(([left, right]) => `${left.padEnd(width)}${right.replace(/\n/g, `\n${indent}`)}`.trimEnd()).join('\n');
}

/** Options as cobra lists them: sorted by long name (pflag's SortFlags), hidden ones and --help left out as docker hides them. */
function optionList(flags: readonly FlagSpec[]): string {
  return columns(flags.filter((flag) => !flag.hidden && flag.name !== 'help').sort(byName).map(flagLine));
}

/** What follows `Usage:` for a command: its path, then what it takes (docker's builder prune says nothing more). */
export function usageLine(path: string, command: Command): string {
  return command.usage ? `${path} ${command.usage}` : path;
}

/** `ctr run --help`, laid out like docker's. */
export function commandHelp(path: string, command: Command): string {
  const parts = [`\nUsage:  ${usageLine(path, command)}\n`, `${command.description}\n`];
  if (command.aliases?.length) parts.push(`Aliases:\n  ${[...new Set([path, ...command.aliases])].join(', ')}\n`);
  // cobra leaves the section out when a command has no visible flags.
  if (command.flags.some((flag) => !flag.hidden && flag.name !== 'help')) parts.push(`Options:\n${optionList(command.flags)}\n`);
  return parts.join('\n');
}

export function groupHelp(group: CommandGroup): string {
  return [
    `\nUsage:  ctr ${group.name} COMMAND\n`,
    `${group.description}\n`,
    // cobra sorts a parent's sub-commands by name (EnableCommandSorting).
    `Commands:\n${commandList([...group.commands].sort(byName))}\n`,
    `Run 'ctr ${group.name} COMMAND --help' for more information on a command.\n`,
  ].join('\n');
}

function commandList(commands: Command[]): string {
  return columns(commands.filter((c) => !c.hidden).map((c) => [`  ${c.name}`, summary(c.description)]));
}

/** `ctr --help`: docker's sections, the top-level commands outside the common ones listed last, by name. */
export function mainHelp(common: Command[], others: Command[], groups: CommandGroup[], globalFlags: FlagSpec[], swarmGroups: CommandGroup[] = []): string {
  const sorted = [...others].sort(byName);
  return [
    '\nUsage:  ctr [OPTIONS] COMMAND\n',
    'Docker, rebuilt as Node packages: build, run and ship containers, no daemon needed\n',
    `Common Commands:\n${commandList(common)}\n`,
    `Management Commands:\n${columns([...groups].sort(byName).map((g) => [`  ${g.name}`, g.description]))}\n`,
    // docker 28 lists swarm mode's groups apart, by name.
    ...(swarmGroups.length > 0 ? [`Swarm Commands:\n${columns([...swarmGroups].sort(byName).map((g) => [`  ${g.name}`, g.description]))}\n`] : []),
    `Commands:\n${commandList(sorted)}\n`,
    `Global Options:\n${optionList(globalFlags)}\n`,
    "Run 'ctr COMMAND --help' for more information on a command.\n",
  ].join('\n');
}
