import { readFileSync } from 'node:fs';
import { invalidArgument, isCtrError } from '@ctr/errors';
import { goJsonEscaped, goLocalClock, goRfc3339, goZoneOffset } from '@ctr/image';
import { engineModule } from './context';
import type { ExecuteOptions, Template, TemplateFunction, TemplateMethod } from './go-template';

/**
 * Output the way docker's CLI prints it: its formatter contexts (what a list command's
 * `--format` sees of each item), Go templates, tables through docker's tabwriter, and
 * go-units' human sizes and durations.
 */

type TemplateValue = unknown;

/** What docker's tabwriter does with a table: padding 3, padded with spaces, no flags. */
const PADDING = 3;

/** East Asian wide and fullwidth characters, which take two columns (go-runewidth). */
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;

/** Characters that take no column: combining marks, zero-width and control characters. */
const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cc}\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/u;

/** How many columns `text` takes on a terminal, as go-runewidth counts them for docker's tabwriter and Ellipsis. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const c of text) width += ZERO_WIDTH.test(c) ? 0 : WIDE.test(c) ? 2 : 1;
  return width;
}

/**
 * Go's text/tabwriter (docker's copy, which counts columns as a terminal shows them), with
 * docker's settings, `minWidth` (10 for formatter tables, 20 for `top` and `version`) and
 * `padding` (1 for `version`): a cell ends at a tab, and the cells of a column in consecutive
 * lines are padded to the widest plus the padding. A
 * line's last cell belongs to no column; a cell that ends at a tab is padded, trailing or not.
 */
export function tabwrite(text: string, minWidth = 10, padding = PADDING): string {
  const lines = text.split('\n').map((line) => line.split('\t'));
  const widths: number[] = [];
  let out = '';
  const write = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const cells = lines[i] as string[];
      cells.forEach((cell, j) => {
        out += cell;
        const width = widths[j];
        if (width !== undefined && j < cells.length - 1) out += ' '.repeat(width - displayWidth(cell));
      });
      if (i + 1 < lines.length) out += '\n';
    }
  };
  // Go's format(): each block of lines that have a cell in the next column fixes that column's width.
  const format = (first: number, end: number): void => {
    const column = widths.length;
    let line0 = first;
    for (let at = first; at < end; at++) {
      if (column >= (lines[at] as string[]).length - 1) continue;
      write(line0, at);
      line0 = at;
      let width = minWidth;
      for (; at < end; at++) {
        const cells = lines[at] as string[];
        if (column >= cells.length - 1) break;
        width = Math.max(width, displayWidth(cells[column] as string) + padding);
      }
      widths.push(width);
      format(line0, at);
      widths.pop();
      line0 = at;
    }
    write(line0, end);
  };
  format(0, lines.length);
  return out;
}

/** Rows aligned into columns by docker's tabwriter, without a newline after the last. */
export function renderTable(rows: readonly (readonly string[])[], minWidth = 10): string {
  return tabwrite(`${rows.map((row) => row.join('\t')).join('\n')}\n`, minWidth).replace(/\n$/, '');
}

/** Go's order of map keys: by bytes, not by locale. */
const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * How a formatter context shows itself: the Go type templates see, what `json` writes of it
 * when not its fields, and the fields `%v` prints when it prints as a struct.
 */
interface ContextShape {
  readonly type: string;
  readonly json: (() => unknown) | undefined;
  readonly struct: readonly string[] | undefined;
  /** What `%v` prints instead of `struct`'s fields (see printedAs): fields, or the text of an error's Error method. */
  readonly printed?: () => GoFields | string;
}

/** A Go struct's fields, name and value, in the struct's order. */
export type GoFields = readonly (readonly [string, unknown])[];

const contexts = new WeakMap<object, ContextShape>();

/**
 * `fields` made one of docker's formatter contexts, what a list command's `--format` sees of
 * one item: its fields are what docker's context methods return (strings, mostly) and its
 * methods with arguments (`.Label "key"`). `type` is the Go type docker's template errors
 * name (`*formatter.ContainerContext`): a field it lacks is an error, not `<no value>`.
 * `{{json .}}` writes what docker's MarshalJSON does, the fields without arguments as a map
 * (keys sorted), or `json()` when the context is a plain Go struct (an event) instead.
 *
 * `struct` makes it print (`{{.}}`, `printf "%v"`) as a Go struct of those fields in that
 * order (an embedded struct is the field named for its type), and its JSON, without `json()`,
 * those fields in that order. Without it, it prints as a map, unless printedAs says how
 * docker's prints (a formatter context is a struct of unexported fields).
 */
export function formatContext<T extends object>(type: string, fields: T, json?: () => unknown, struct?: readonly (keyof T & string)[]): T {
  contexts.set(fields, { type, json, struct });
  return fields;
}

/**
 * `context` as `%v` prints it (`{{.}}`, `printf "%v"`): docker's formatter contexts are Go
 * structs of unexported fields (the API's item among them), not of the fields a template
 * reads; `fields` are those, in docker's order, values made with goStruct and goPointer.
 */
export function printedAs<T extends object>(context: T, fields: () => GoFields | string): T {
  const shape = contexts.get(context);
  contexts.set(context, { type: shape?.type ?? 'struct', json: shape?.json, struct: shape?.struct, printed: fields });
  return context;
}

/** `fields` as a Go struct of them, in their order: `%v` prints `{v1 v2 …}`, JSON keeps the order. */
export function goStruct<T extends object>(type: string, fields: T): T {
  return formatContext(type, fields, undefined, Object.keys(fields) as (keyof T & string)[]);
}

/** docker's formatter.HeaderContext, which each formatter context embeds first: no header while an item prints. */
export function headerContext(): object {
  return goStruct('formatter.HeaderContext', { Header: null });
}

const addresses = new WeakMap<object, string>();
let nextAddress = 0;

/**
 * A pointer held in a Go struct, as fmt prints it below the top: an address (`0xc000424300`),
 * never what it points to; `<nil>` for none. Ours are made up, one per value, in the range of
 * Go's heap: docker's are different on every run, so nothing can depend on them.
 */
export function goPointer(value: object | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  let address = addresses.get(value);
  if (address === undefined) {
    address = `0xc${(0x10000 + 0x100 * nextAddress++).toString(16).padStart(9, '0')}`;
    addresses.set(value, address);
  }
  return address;
}

/**
 * The fields docker's types declare as maps (`map[string]…`): Go prints and encodes a map
 * with its keys sorted, a struct in field order. Our values are plain objects either way, so
 * the field's name tells them apart, in the one place all output goes through (what the
 * engine builds stays in the order it was given). `Config` is a map only under `LogConfig`:
 * elsewhere it is a container's or an image's config, a struct.
 *
 * Each with the zero value of its element type, what `index` gives for a key it lacks:
 * undefined (`<no value>`) for a volume's `Status` (map[string]interface{}), and for the maps
 * keyed by nat.Port (`ExposedPorts`, `Ports`, `PortBindings`), which Go's `index` refuses a
 * string key.
 */
const MAP_FIELDS: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ...['Labels', 'Options', 'DriverOpts', 'Sysctls', 'Tmpfs', 'StorageOpt', 'Attributes', 'Annotations', 'Data', 'LogConfig.Config'].map((name) => [name, ''] as const),
  ['Volumes', goStruct('struct {}', {})],
  // map[string]*network.EndpointSettings: a nil pointer.
  ['Networks', null],
  ['Containers', goStruct('network.EndpointResource', { Name: '', EndpointID: '', MacAddress: '', IPv4Address: '', IPv6Address: '' })],
  ...['ExposedPorts', 'Ports', 'PortBindings', 'Status'].map((name) => [name, undefined] as const),
]);

/** How the template engine sees our data: the Go types objects stand for, and the fields of those that print as structs. */
const EXECUTE: ExecuteOptions = {
  missingKey: (path) => MAP_FIELDS.get(path) ?? MAP_FIELDS.get(path.slice(path.lastIndexOf('.') + 1)),
  typeOf: (value) => contexts.get(value)?.type,
  fieldsOf: (value) => {
    const shape = contexts.get(value);
    return shape?.printed?.() ?? shape?.struct?.map((name) => [name, (value as Record<string, unknown>)[name]] as const);
  },
};

/** docker's `.Label "key"` of a context: the value of one label, '' when there is no such label. */
export function labelMethod(labels: Readonly<Record<string, string>> | null | undefined): TemplateMethod {
  return Object.assign((name: string): string => (labels && Object.hasOwn(labels, name) ? (labels[name] as string) : ''), { parameters: ['string'] as const });
}

/**
 * `value` with the keys of its maps in Go's order. `name` is the field holding it, and
 * `parent` the field holding that; neither for an array's item or a map's value.
 */
function goOrdered(value: TemplateValue, name?: string, parent?: string): TemplateValue {
  if (Array.isArray(value)) return value.map((item) => goOrdered(item, undefined, name));
  if (value === null || typeof value !== 'object') return value;
  const context = contexts.get(value);
  if (context?.json) return goOrdered(context.json());
  if (context?.struct) return Object.fromEntries(context.struct.map((key) => [key, goOrdered((value as Record<string, unknown>)[key], key, name)]));
  const isMap = context !== undefined || (name !== undefined && (MAP_FIELDS.has(name) || MAP_FIELDS.has(`${parent}.${name}`)));
  // As docker's marshalMap: a method without parameters is marshalled as its value, one with them not at all.
  const entries = Object.entries(value as Record<string, unknown>).flatMap(([key, item]): [string, unknown][] => {
    if (typeof item !== 'function') return [[key, item]];
    const method = item as TemplateMethod;
    return (method.parameters ?? []).length === 0 ? [[key, (method as () => unknown)()]] : [];
  });
  if (!isMap) return Object.fromEntries(entries.map(([key, item]) => [key, goOrdered(item, key, name)]));
  const map = Object.fromEntries(entries.sort(byKey).map(([key, item]) => [key, goOrdered(item)]));
  if (context !== undefined) marshalled.add(map);
  return map;
}

/** What a context's MarshalJSON gave: Go's json.Marshal, which escapes `<`, `>` and `&` whatever the encoder around it says. */
const marshalled = new WeakSet<object>();

/** Compact JSON of an ordered value, what contexts marshalled HTML-escaped (docker's `json` function escapes nothing else). */
function compact(value: unknown): string {
  // An int64 past a double's exact integers (an event's timeNano): its digits, as Go writes them.
  if (typeof value === 'bigint') return String(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (marshalled.has(value)) return goJsonEscaped(JSON.stringify(value), true);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(compact).join(',')}]`;
  const entries = Object.entries(value).filter(([, item]) => item !== undefined);
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${compact(item)}`).join(',')}}`;
}

/** How docker's CLI writes a value as JSON (see goJson). */
export interface GoJsonOptions {
  /** Where the value was found (`.Config.Labels`). */
  readonly path?: string;
  /** docker inspect's four spaces. */
  readonly indent?: number;
  /**
   * The CLI marshals the value itself (json.Marshal, MarshalIndent: `<`, `>`, `&` escaped), as
   * for what it inspects without the daemon's own bytes (volumes, contexts); unset, the text is
   * the daemon's (dockerd's encoder escapes no HTML) or the template `json` function's (neither).
   */
  readonly marshal?: boolean;
}

/**
 * JSON as Go's encoding/json writes docker's types: map keys sorted (see MAP_FIELDS), a
 * formatter context as docker marshals it.
 */
export function goJson(value: TemplateValue, options: GoJsonOptions = {}): string {
  const fields = (options.path ?? '').split('.').filter(Boolean);
  const ordered = goOrdered(value ?? null, fields[fields.length - 1], fields[fields.length - 2]);
  const json = options.indent === undefined ? compact(ordered) : JSON.stringify(ordered, null, options.indent);
  return goJsonEscaped(json, options.marshal === true);
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

/** A header function: the column name it is given, untouched; anything but a string is Go's type error. */
function columnName(arity: number): TemplateFunction {
  return {
    arity: [arity, arity],
    call: ([value]) => {
      if (typeof value !== 'string') throw new Error('wrong type for value; expected string');
      return value;
    },
  };
}

/**
 * docker's HeaderFunctions: a table's header row is its template run on the column names,
 * with these in place of the functions of the same names so that each name stays as it is
 * (`pad` is not among them: it pads a header as its column).
 */
const HEADER_FUNCTIONS: Readonly<Record<string, TemplateFunction>> = {
  json: columnName(1),
  split: columnName(2),
  join: columnName(2),
  title: columnName(1),
  lower: columnName(1),
  upper: columnName(1),
  truncate: columnName(2),
};

/** docker's SubHeaderContext.Label: `{{.Label "com.example.my-label"}}`'s column is `my label`. */
const headerLabel: TemplateMethod = Object.assign((name: string): string => (name.split('.').pop() as string).replace(/[-_]/g, ' '), { parameters: ['string'] as const });

/** A `--format` as docker reads it: `\t` and `\n` written out stand for a tab and a newline. */
function unescape(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

function parse(template: string, name?: string): Template {
  return goTemplate().parseTemplate(template, DOCKER_FUNCTIONS, name);
}

/** Whether every action in `template` is a plain `{{.Field}}`, as in the default tables. */
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

/** A template's error in docker's words for where it happened: `template parsing error: template: …`. */
function templateError(error: unknown, prefix: string, exitCode?: number): unknown {
  if (!isCtrError(error) || !error.message.startsWith('template: ')) return error;
  return invalidArgument(`${prefix}${error.message}`, exitCode !== undefined ? { details: { exitCode } } : {});
}

/**
 * A `--format` template, parsed when first needed (a bad one is an error in docker's words:
 * `parsePrefix` before Go's). While it is plain and the items' fields are strings it is filled
 * in without the template engine.
 */
class FormatTemplate {
  private template: Template | undefined;

  constructor(
    private readonly text: string,
    private readonly parsePrefix: string,
    private readonly parseExitCode?: number,
    private readonly name?: string,
  ) {}

  /** The template parsed, once. */
  parsed(): Template {
    try {
      return (this.template ??= parse(this.text, this.name));
    } catch (error) {
      throw templateError(error, this.parsePrefix, this.parseExitCode);
    }
  }

  /** The parsed template, if it came to be parsed. */
  get engine(): Template | undefined {
    return this.template;
  }

  /** `item` through the template; an error in running it is Go's message after `runPrefix`. */
  render(item: TemplateValue, runPrefix: string, exitCode?: number): string {
    const filled = this.template ? undefined : plainFields(this.text, item);
    if (filled !== undefined) return filled;
    const template = this.parsed();
    try {
      return template.execute(item, EXECUTE);
    } catch (error) {
      throw templateError(error, runPrefix, exitCode);
    }
  }
}

/**
 * Render a Go template (`{{.ID}}`, `{{range .Mounts}}…{{end}}`, `{{json .}}`) for one item; a
 * template that does not parse or run is a CtrError starting `template:`.
 */
export function renderTemplate(format: string, data: TemplateValue): string {
  return parse(unescape(format)).execute(data, EXECUTE);
}

/**
 * `--format` of `docker version`, `info` and `inspect`: one template run on `data`. One that
 * does not parse is docker's `template parsing error: …` with exit status 64 (`system df -v`'s
 * exits with 1); one that fails as it runs keeps Go's words (`inspect` says `template parsing
 * error` then too: `runPrefix`). `name` is the template's, as Go's messages give it
 * (`docker version`'s is `version`).
 */
export function renderDocument(format: string, data: TemplateValue, options: { name?: string; runPrefix?: string; parseExitCode?: number } = {}): string {
  const template = new FormatTemplate(unescape(format), 'template parsing error: ', options.parseExitCode ?? 64, options.name);
  template.parsed();
  return template.render(data, options.runPrefix ?? '');
}

/**
 * `docker inspect --format`: `json` gives the items as one JSON array; anything else is a
 * template taken as written (no `table`, a written-out `\t` left so) run on each item, a line
 * each. One that does not parse is `template parsing error: …` with exit status 64.
 */
export function formatInspect(format: string, items: readonly TemplateValue[], options: Pick<GoJsonOptions, 'marshal'> = {}): string {
  if (format === 'json') return goJson(items, options);
  const template = new FormatTemplate(format, 'template parsing error: ', 64);
  template.parsed();
  return items.map((item) => template.render(item, 'template parsing error: ')).join('\n');
}

/** How a command that checks its template first words the template's errors. */
export interface TemplateCheck {
  /** Before the message of a template that does not parse, and of one that fails on the empty item. */
  readonly parse: string;
  readonly run: string;
  readonly exitCode?: number;
}

/**
 * A `--format` checked as `docker ps` and `docker events` check theirs before anything is
 * listed: parsed as written (no `table` read off it, no written-out tab made one) and run
 * once on `empty`, an item with nothing set (a plain template of string fields, filled in,
 * cannot fail). Gives the template to run on each item: its errors keep Go's words.
 */
export function checkTemplate(format: string, empty: object, check: TemplateCheck): (data: object) => string {
  const template = new FormatTemplate(format, check.parse, check.exitCode);
  if (!isPlain(format)) template.parsed();
  template.render(empty, check.run, check.exitCode);
  return (data) => template.render(data, '');
}

/** Whether `format` is docker's `table` format: the default table, or its own columns after `table`. */
export function isTable(format: string): boolean {
  return format.startsWith('table');
}

/**
 * A list as docker's formatter prints it with `format`: `table …` a header row and a row for
 * each item, aligned by docker's tabwriter (the header is the template run on `headers`,
 * docker's SubHeaderContext: the column name of each field); `json` each item as `{{json .}}`;
 * anything else the template once per item. Each item's output ends with a newline, so no items
 * print nothing but a table's header. A template that fails is docker's `template parsing error`.
 */
export function formatList(format: string, items: readonly TemplateValue[], headers: Readonly<Record<string, string>>): string {
  const table = isTable(format);
  const body = unescape((table ? format.slice('table'.length) : format === 'json' ? '{{json .}}' : format).replace(/^ +| +$/g, ''));
  const template = new FormatTemplate(body, 'template parsing error: ');
  // Parsed up front unless plain (then it cannot fail): a bad template fails with no items too.
  if (!isPlain(body)) template.parsed();
  const rows = items.map((item) => `${template.render(item, 'template parsing error: ')}\n`).join('');
  if (!table) return rows;
  const header = template.engine
    ? template.engine.executeUntilError({ ...headers, Label: headerLabel }, { functions: HEADER_FUNCTIONS })
    : body.replace(/\{\{\.([A-Za-z_]\w*)\}\}/g, (_action, field: string) => (Object.hasOwn(headers, field) ? (headers[field] as string) : '<no value>'));
  return tabwrite(`${header}\n${rows}`);
}

/**
 * `formatList`'s output without its last newline, for callers that print it with one: items
 * of no particular Go type, `headers` the column names a `table` format shows.
 */
export function formatItems(format: string, items: readonly TemplateValue[], headers: Record<string, string>): string {
  return formatList(format, items, headers).replace(/\n$/, '');
}

/** go-units HumanSizeWithPrecision(size, precision): decimal units, "4.26MB", "915B"; its HumanSize is precision 4. */
export function humanSize(bytes: number, precision = 3): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(precision))}${units[unit]}`;
}

/** `CREATED` column: "5 minutes ago". */
export function ago(date: Date | string, now: number = Date.now()): string {
  return `${engineModule().humanDuration(now - new Date(date).getTime())} ago`;
}

/** docker's TruncateID: the hex after any `algorithm:`, cut to 12. */
export function truncateId(id: string): string {
  return id.slice(id.indexOf(':') + 1).slice(0, 12);
}

/** docker's Ellipsis: `text` cut to `width` columns as a terminal shows them, the last one `…`. */
export function ellipsis(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const c of text) {
    const w = displayWidth(c);
    if (used + w > width - 1) break;
    out += c;
    used += w;
  }
  return `${out}…`;
}

/**
 * Go's strconv.Quote: in double quotes, escaped where Go escapes. Printable ASCII with no quote or
 * backslash is as written; anything else goes to the template engine's, whose Unicode classes (what
 * strconv.IsPrint prints) cost a millisecond to compile, which `ps` need not pay for ASCII commands.
 */
function goQuote(value: string): string {
  return /[^\x20-\x7e]|["\\]/.test(value) ? goTemplate().goQuote(value) : `"${value}"`;
}

/** Docker's quoted, truncated COMMAND column: `"sh -c 'exit 3'"`, cut to 20 columns with `…`. */
export function commandColumn(command: string, truncate = true): string {
  return goQuote(truncate ? ellipsis(command, 20) : command);
}

/** A zone of a TZif file: its offset east of UTC in seconds and its abbreviation. */
interface ZoneType {
  offset: number;
  name: string;
}

/** What Go's time package reads of a TZif file: its transitions, each's zone type, and the footer's TZ rule for later times. */
interface TzifZone {
  transitions: number[];
  types: ZoneType[];
  typeAt: number[];
  rule: ZoneType[];
}

/** Where Go looks for a zone $TZ names (zoneinfo_unix.go's platformZoneSources). */
const ZONE_DIRS = ['/usr/share/zoneinfo/', '/usr/share/lib/zoneinfo/', '/usr/lib/locale/TZ/', '/etc/zoneinfo/'];

/** A POSIX TZ rule's standard and daylight zones: `CET-1CEST,M3.5.0,M10.5.0/3`, `<+04>-4` (west of UTC is positive there). */
function posixZones(rule: string): ZoneType[] {
  const name = '(<[^>]*>|[A-Za-z]+)';
  const offset = '([+-]?\\d+(?::\\d+){0,2})';
  const match = new RegExp(`^${name}${offset}(?:${name}${offset}?)?`).exec(rule);
  if (!match) return [];
  const seconds = (text: string): number => {
    const [h = 0, m = 0, s = 0] = text.replace(/^[+-]/, '').split(':').map(Number);
    return (text.startsWith('-') ? 1 : -1) * (h * 3600 + m * 60 + s);
  };
  const unquoted = (text: string): string => text.replace(/^<(.*)>$/, '$1');
  const [, std = '', stdOffset = '', dst, dstOffset] = match;
  const zones = [{ name: unquoted(std), offset: seconds(stdOffset) }];
  if (dst) zones.push({ name: unquoted(dst), offset: dstOffset ? seconds(dstOffset) : seconds(stdOffset) + 3600 });
  return zones;
}

/** A TZif file (tzfile(5)) as Go reads it: the 64-bit data of version 2 and later, else version 1's. */
function parseTzif(data: Buffer): TzifZone | undefined {
  if (data.length < 44 || data.toString('latin1', 0, 4) !== 'TZif') return undefined;
  const counts = (at: number): number[] => [0, 1, 2, 3, 4, 5].map((i) => data.readUInt32BE(at + 20 + 4 * i));
  const blockLength = ([isut, isstd, leap, time, type, char]: number[], timeSize: number): number =>
    (time as number) * (timeSize + 1) + (type as number) * 6 + (char as number) + (leap as number) * (timeSize + 4) + (isstd as number) + (isut as number);
  let header = 0;
  let timeSize = 4;
  if ((data[4] as number) >= 0x32) {
    header = 44 + blockLength(counts(0), 4);
    timeSize = 8;
  }
  const [, , , time = 0, type = 0, char = 0] = counts(header);
  let at = header + 44;
  const transitions = Array.from({ length: time }, (_, i) => (timeSize === 8 ? Number(data.readBigInt64BE(at + 8 * i)) : data.readInt32BE(at + 4 * i)));
  at += time * timeSize;
  const typeAt = [...data.subarray(at, at + time)];
  at += time;
  const names = data.subarray(at + type * 6, at + type * 6 + char);
  const types = Array.from({ length: type }, (_, i) => {
    const start = data[at + 6 * i + 5] as number;
    const end = names.indexOf(0, start);
    return { offset: data.readInt32BE(at + 6 * i), name: names.toString('latin1', start, end === -1 ? names.length : end) };
  });
  const footer = timeSize === 8 ? data.toString('latin1', header + 44 + blockLength(counts(header), 8)).split('\n')[1] ?? '' : '';
  return { transitions, types, typeAt, rule: posixZones(footer) };
}

/** The local zone as Go's time package loads it (initLocal): none, so UTC, for an empty or unknown $TZ. */
let localZone: TzifZone | null | undefined;
function loadLocalZone(): TzifZone | null {
  const tz = process.env.TZ?.replace(/^:/, '');
  const files = tz === undefined ? ['/etc/localtime'] : !tz || tz === 'UTC' ? [] : tz.startsWith('/') ? [tz] : ZONE_DIRS.map((dir) => dir + tz);
  for (const file of files) {
    try {
      const zone = parseTzif(readFileSync(file));
      if (zone) return zone;
    } catch {
      // Go tries the next of its places, and settles for UTC.
    }
  }
  return null;
}

/**
 * The abbreviation Go prints for the local zone at `date`, from the tz database as Go reads it
 * (not ICU's names, which are the locale's: `GMT+5:30` for IST): `UTC`, `CET`, `IST`, and for
 * a zone the database names by number, that name (`+04`). `offset` (minutes east, the clock's)
 * picks between a rule's standard and daylight zones without working the rule out.
 */
function zoneName(date: Date, offset: number): string {
  if (localZone === undefined) localZone = loadLocalZone();
  const zone = localZone;
  // A clock Go would not keep (a $TZ only Node understands) is named by its offset, as Go names an unnamed zone.
  const byOffset = offset % 60 === 0 ? goZoneOffset(offset).slice(0, 3) : goZoneOffset(offset);
  if (!zone) return offset === 0 ? 'UTC' : byOffset;
  const seconds = Math.floor(date.getTime() / 1000);
  let at = zone.transitions.length - 1;
  while (at >= 0 && (zone.transitions[at] as number) > seconds) at--;
  const current = zone.types[at === -1 ? 0 : (zone.typeAt[at] as number)];
  // After the last transition, the footer's rule holds (the tz database's slim files have few transitions).
  const candidates = [...(at === zone.transitions.length - 1 ? zone.rule : []), ...(current ? [current] : [])];
  return candidates.find((type) => type.offset === offset * 60)?.name ?? byOffset;
}

/** `date` as Go's Time.String() writes a time of the local zone: `2026-11-23 01:42:23 +0000 UTC`. */
function goLocalTime(date: Date, fraction = ''): string {
  const { day, time, offset } = goLocalClock(date);
  return `${day} ${time}${fraction} ${goZoneOffset(offset)} ${zoneName(date, offset)}`;
}

/** Go's `time.Unix(seconds, 0).String()`, which docker prints as a container's or an image's `CreatedAt`. */
export function goUnixTime(seconds: number): string {
  return goLocalTime(new Date(seconds * 1000));
}

/**
 * Go's Time.String() of an RFC 3339 time as Go decodes it from JSON (a network's `Created`):
 * its nanoseconds kept, trailing zeros dropped; UTC for `Z`, the local zone for the local
 * offset, any other offset named by its number (`+0100 +0100`).
 */
export function goTimeString(rfc3339: string): string {
  const match = /^(\d{4,}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(rfc3339);
  if (!match) return rfc3339;
  const [, day, time, digits = '', zone] = match as unknown as [string, string, string, string | undefined, string];
  const fraction = digits.slice(0, 9).replace(/0+$/, '');
  const dot = fraction ? `.${fraction}` : '';
  if (zone.toUpperCase() === 'Z') return `${day} ${time}${dot} +0000 UTC`;
  const offset = (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const date = new Date(rfc3339);
  if (-date.getTimezoneOffset() === offset) return goLocalTime(date, dot);
  return `${day} ${time}${dot} ${goZoneOffset(offset)} ${goZoneOffset(offset)}`;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * docker's reformatDate of a build time: an RFC 3339 time as Go's time.ANSIC writes it
 * (`Fri May 30 12:07:35 2025`, the day padded with a space), at the clock of the offset it
 * was written with, which Go's Parse keeps; anything else as it is.
 */
export function goAnsicTime(rfc3339: string): string {
  const match = /^(\d{4})-(\d\d)-(\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/i.exec(rfc3339);
  if (!match || Number.isNaN(Date.parse(rfc3339))) return rfc3339;
  const [, year, month, day, time] = match as unknown as [string, string, string, string, string];
  const weekday = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))).getUTCDay();
  return `${WEEKDAYS[weekday]} ${MONTHS[Number(month) - 1]} ${String(Number(day)).padStart(2, ' ')} ${time} ${year}`;
}

/** `time.Unix(seconds, 0).Format(time.RFC3339)`: local time with its offset, `Z` for UTC; `fraction` (`.000000123`) after the seconds. */
export function rfc3339(seconds: number, fraction = ''): string {
  return goRfc3339(new Date(seconds * 1000), fraction);
}

/**
 * fvbommel/sortorder's NaturalLess, by which docker's CLI sorts networks, volumes and `port`'s
 * lines: runs of digits compare as numbers (`net2` before `net10`), all else by bytes.
 */
export function naturalCompare(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  const digit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const dx = digit(x[i]);
    const dy = digit(y[j]);
    if (dx !== dy) return dx ? -1 : 1;
    if (!dx) {
      if (x[i] !== y[j]) return (x[i] as number) - (y[j] as number);
      i++;
      j++;
      continue;
    }
    while (x[i] === 0x30) i++;
    while (y[j] === 0x30) j++;
    const startX = i;
    const startY = j;
    while (digit(x[i])) i++;
    while (digit(y[j])) j++;
    if (i - startX !== j - startY) return i - startX - (j - startY);
    const cmp = Buffer.compare(x.subarray(startX, i), y.subarray(startY, j));
    if (cmp !== 0) return cmp;
    // Equal numbers: the one with fewer leading zeros first.
    if (startX !== startY) return startX - startY;
  }
  // Equal as far as the shorter goes: the shorter first.
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}
