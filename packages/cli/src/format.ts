import { invalidArgument } from '@ctr/errors';
import { engineModule } from './context';

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

function lookup(value: TemplateValue, path: string): TemplateValue {
  let current = value;
  for (const part of path.split('.').filter(Boolean)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function show(value: TemplateValue): string {
  if (value === undefined || value === null) return '<no value>';
  if (Array.isArray(value)) return `[${value.map(show).join(' ')}]`;
  if (typeof value === 'object') {
    return `map[${Object.entries(value as Record<string, unknown>)
      .sort(byKey)
      .map(([k, v]) => `${k}:${show(v)}`)
      .join(' ')}]`;
  }
  return String(value);
}

const ACTION = /\{\{-?\s*(.*?)\s*-?\}\}/g;

function evaluate(expression: string, data: TemplateValue): string {
  const words = expression.match(/"[^"]*"|\S+/g) ?? [];
  const arg = (word: string | undefined): TemplateValue => {
    if (word === undefined) return undefined;
    if (word.startsWith('"')) return word.slice(1, -1);
    if (word === '.') return data;
    if (word.startsWith('.')) return lookup(data, word);
    throw invalidArgument(`template: unsupported expression "${expression}"`);
  };
  const [head, ...rest] = words;
  switch (head) {
    case 'json':
      return goJson(arg(rest[0]), { path: rest[0] === '.' ? '' : (rest[0] ?? '') });
    case 'upper':
      return show(arg(rest[0])).toUpperCase();
    case 'lower':
      return show(arg(rest[0])).toLowerCase();
    case 'join': {
      const items = arg(rest[0]);
      return Array.isArray(items) ? items.map(show).join(String(arg(rest[1]) ?? '')) : show(items);
    }
    case 'index': {
      const container = arg(rest[0]);
      const key = arg(rest[1]);
      return container && typeof container === 'object' ? show((container as Record<string, unknown>)[String(key)]) : '<no value>';
    }
    default:
      if (rest.length > 0) throw invalidArgument(`template: unsupported expression "${expression}"`);
      return show(arg(head));
  }
}

/** Render a Go-template-like format string (`{{.ID}}`, `{{json .}}`, `{{index .Labels "k"}}`) for one item. */
export function renderTemplate(format: string, data: TemplateValue): string {
  const unescaped = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return unescaped.replace(ACTION, (_match, expression: string) => evaluate(expression, data));
}

/**
 * Print items with `--format`: `table …` gives a header row (from the field names) and
 * aligned columns; anything else is one line per item.
 */
export function formatItems(format: string, items: readonly TemplateValue[], headers: Record<string, string>): string {
  if (format.startsWith('table')) {
    const body = format.slice('table'.length).trim();
    const columns = body.replace(/\\t/g, '\t').split('\t');
    const header = columns.map((column) =>
      column.replace(ACTION, (_m, expression: string) => headers[expression.replace(/^\./, '')] ?? expression.replace(/^\./, '').toUpperCase()),
    );
    const rows = items.map((item) => columns.map((column) => renderTemplate(column, item)));
    return renderTable([header, ...rows]);
  }
  if (format === 'json') return items.map((item) => goJson(item)).join('\n');
  return items.map((item) => renderTemplate(format, item)).join('\n');
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
