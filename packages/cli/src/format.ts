import { engineModule } from './context';
import type { Template, TemplateFunction } from './go-template';

/**
 * Output the way docker prints it: tab-aligned tables (tabwriter minwidth 10, padding 3),
 * Go-template `--format` strings, and go-units' human sizes and durations.
 */

/** Align rows into columns like Go's `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`. */
export function renderTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 0, Math.max(10, cell.length + 3));
    });
  }
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] as number) : cell)).join(''))
    .map((line) => line.trimEnd())
    .join('\n');
}

type TemplateValue = unknown;

/**
 * The fields docker's types declare as maps (`map[string]…`): Go prints and encodes a map
 * with its keys sorted, a struct in field order. Our values are plain objects either way, so
 * the field's name tells them apart, in the one place all output goes through (what the
 * engine builds stays in the order it was given). `Config` is a map only under `LogConfig`:
 * elsewhere it is a container's or an image's config, a struct.
 */
const MAP_FIELDS: ReadonlySet<string> = new Set([
  'Labels', 'Options', 'DriverOpts', 'Volumes', 'ExposedPorts', 'Ports', 'Networks', 'PortBindings', 'Sysctls', 'Tmpfs',
  'StorageOpt', 'Containers', 'Attributes', 'Annotations', 'Data', 'Status', 'LogConfig.Config',
]);

/** Go's order of map keys: by bytes, not by locale. */
const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * `value` with the keys of its maps in Go's order. `name` is the field holding it, and
 * `parent` the field holding that; neither for an array's item or a map's value.
 */
function goOrdered(value: TemplateValue, name?: string, parent?: string): TemplateValue {
  if (Array.isArray(value)) return value.map((item) => goOrdered(item, undefined, name));
  if (value === null || typeof value !== 'object') return value;
  const isMap = name !== undefined && (MAP_FIELDS.has(name) || MAP_FIELDS.has(`${parent}.${name}`));
  const entries = Object.entries(value as Record<string, unknown>);
  if (isMap) return Object.fromEntries(entries.sort(byKey).map(([key, item]) => [key, goOrdered(item)]));
  return Object.fromEntries(entries.map(([key, item]) => [key, goOrdered(item, key, name)]));
}

/**
 * JSON as Go's encoding/json writes docker's types: map keys sorted (see MAP_FIELDS). `path`
 * is where the value was found (`.Config.Labels`), `indent` docker inspect's four spaces.
 */
export function goJson(value: TemplateValue, options: { path?: string; indent?: number } = {}): string {
  const fields = (options.path ?? '').split('.').filter(Boolean);
  return JSON.stringify(goOrdered(value ?? null, fields[fields.length - 1], fields[fields.length - 2]), null, options.indent);
}

/** The Go template engine, loaded the first time a template needs it (never by a command without one). */
function goTemplate(): typeof import('./go-template') {
  return require('./go-template') as typeof import('./go-template');
}

/** A template argument as the string docker's functions take (Go funcs of strings): others print as `%v`. */
function text(value: TemplateValue): string {
  return typeof value === 'string' ? value : goTemplate().formatValue(value);
}

/** A count docker's `pad` and `truncate` take (a Go int; Go panics on a negative one). */
function count(value: TemplateValue): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new Error(`expected a count; got ${text(value)}`);
  return value;
}

/** Go's strings.Title: what follows a separator (not a letter, digit or `_`; beyond ASCII, a space) is upper-cased. */
function title(value: string): string {
  let out = '';
  let previous = ' ';
  for (const c of value) {
    const afterSeparator = previous <= '\x7f' ? !/[0-9A-Za-z_]/.test(previous) : /\s/u.test(previous);
    out += afterSeparator ? c.toUpperCase() : c;
    previous = c;
  }
  return out;
}

/** docker's template functions (docker/cli's templates package), beside Go's builtins. */
const DOCKER_FUNCTIONS: Readonly<Record<string, TemplateFunction>> = {
  json: { arity: [1, 1], call: ([value], { pathOf }) => goJson(value, { path: pathOf(value) }) },
  split: { arity: [2, 2], call: ([value, separator]) => (text(separator) === '' ? [...text(value)] : text(value).split(text(separator))) },
  join: { arity: [2, 2], call: ([items, separator]) => (Array.isArray(items) ? items.map(text).join(text(separator)) : text(items)) },
  title: { arity: [1, 1], call: ([value]) => title(text(value)) },
  lower: { arity: [1, 1], call: ([value]) => text(value).toLowerCase() },
  upper: { arity: [1, 1], call: ([value]) => text(value).toUpperCase() },
  pad: { arity: [3, 3], call: ([value, before, after]) => (text(value) === '' ? '' : `${' '.repeat(count(before))}${text(value)}${' '.repeat(count(after))}`) },
  truncate: { arity: [2, 2], call: ([value, length]) => [...text(value)].slice(0, count(length)).join('') },
};

/** A `--format` as docker reads it: `\t` and `\n` written out stand for a tab and a newline. */
function unescape(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

function parse(template: string): Template {
  return goTemplate().parseTemplate(template, DOCKER_FUNCTIONS);
}

/** Whether every action in `template` is a plain `{{.Field}}`, as in ps's, images' and stats' default tables. */
function isPlain(template: string): boolean {
  return !/\{\{(?!\.[A-Za-z_]\w*\}\})/.test(template);
}

/**
 * A plain template filled in without the template engine when each field it reads is a
 * string, printed as the engine would print it: so a command given no --format loads and
 * compiles none of the engine. undefined when the engine has to run.
 */
function plainFields(template: string, item: TemplateValue): string | undefined {
  if (item === null || typeof item !== 'object') return undefined;
  let plain = true;
  const filled = template.replace(/\{\{\.([A-Za-z_]\w*)\}\}/g, (_action, field: string) => {
    const value: unknown = Object.hasOwn(item, field) ? (item as Record<string, unknown>)[field] : undefined;
    if (typeof value === 'string') return value;
    plain = false;
    return '';
  });
  return plain ? filled : undefined;
}

/**
 * Render a Go template (`{{.ID}}`, `{{range .Mounts}}…{{end}}`, `{{json .}}`) for one item; a
 * template that does not parse or run is a CtrError starting `template:`.
 */
export function renderTemplate(format: string, data: TemplateValue): string {
  return parse(unescape(format)).execute(data);
}

/**
 * Print items with `--format`: `table …` gives a header row (from the field names) and
 * aligned columns; anything else is one line per item.
 */
export function formatItems(format: string, items: readonly TemplateValue[], headers: Record<string, string>): string {
  const table = format.startsWith('table');
  if (!table && format === 'json') return items.map((item) => goJson(item)).join('\n');
  const body = unescape(table ? format.slice('table'.length).trim() : format);
  // Parsed up front unless plain (then it cannot fail): a bad template fails with no items too.
  let template = isPlain(body) ? undefined : parse(body);
  const render = (item: TemplateValue): string => {
    if (!template) {
      const filled = plainFields(body, item);
      if (filled !== undefined) return filled;
      template = parse(body);
    }
    return template.execute(item);
  };
  if (!table) return items.map(render).join('\n');
  const name = (field: string): string => headers[field] ?? field.toUpperCase();
  const header = template ? template.header(name) : body.replace(/\{\{\.([A-Za-z_]\w*)\}\}/g, (_action, field: string) => name(field));
  // Cells end at tabs and rows at newlines, in what the template prints, as with docker's tabwriter.
  const lines = [header, ...items.map(render)].flatMap((row) => row.split('\n'));
  return renderTable(lines.map((line) => line.split('\t')));
}

/** go-units HumanSizeWithPrecision(size, 3): decimal units, "4.26MB", "915B". */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(3))}${units[unit]}`;
}

/** `CREATED` column: "5 minutes ago". */
export function ago(date: Date | string, now: number = Date.now()): string {
  return `${engineModule().humanDuration(now - new Date(date).getTime())} ago`;
}

/** Docker's quoted, truncated COMMAND column: `"sh -c 'exit 3'"`, cut to 20 characters with `…`. */
export function commandColumn(text: string, truncate = true): string {
  const cut = truncate && [...text].length > 20 ? `${[...text].slice(0, 19).join('')}…` : text;
  return `"${cut}"`;
}
