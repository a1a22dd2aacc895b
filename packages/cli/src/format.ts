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
      .sort(([a], [b]) => a.localeCompare(b))
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
      return JSON.stringify(arg(rest[0]) ?? null);
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
  if (format === 'json') return items.map((item) => JSON.stringify(item)).join('\n');
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
