import os from 'node:os';
import { invalidArgument } from '@ctr/errors';

/** What a container's log attributes and log tag are made from (moby's `logger.Info`). */
export interface LogSource {
  id: string;
  /** Without the leading slash. */
  name: string;
  imageId: string;
  /** The image as the container was created from it (`busybox`). */
  image: string;
  path: string;
  args: string[];
  labels: Record<string, string>;
  /** `KEY=value` entries. */
  env: string[];
}

/** The `--log-opt`s that add attributes to every log line (moby's json-file driver's). */
export const LOG_ATTRIBUTE_OPTIONS = ['labels', 'labels-regex', 'env', 'env-regex', 'tag'] as const;

/** The fields of a log tag template (moby's `logger.Info` methods). */
const TAG_FIELDS = new Map<string, (source: LogSource) => string>([
  ['ID', (s) => s.id.slice(0, 12)],
  ['FullID', (s) => s.id],
  ['Name', (s) => s.name],
  ['ImageID', (s) => s.imageId.replace(/^sha256:/, '').slice(0, 12)],
  ['ImageFullID', (s) => s.imageId],
  ['ImageName', (s) => s.image],
  ['Command', (s) => [s.path, ...s.args].join(' ')],
  // dockerd's is always "docker": a tag template written for it reads the same here.
  ['DaemonName', () => 'docker'],
  ['Hostname', () => os.hostname()],
]);

const ACTION = /\{\{-?\s*(.*?)\s*-?\}\}/g;

/** A `tag` log option's template with the container's facts in it (`{{.Name}}/{{.ID}}`). */
export function renderTag(template: string, source: LogSource): string {
  return template.replace(ACTION, (action: string, inside: string) => {
    const field = TAG_FIELDS.get(/^\.(\w+)$/.exec(inside)?.[1] ?? '');
    if (!field) {
      throw invalidArgument(`invalid log tag template ${JSON.stringify(template)}: ${action} is not a field of the container`, {
        hint: `use ${[...TAG_FIELDS.keys()].map((f) => `{{.${f}}}`).join(', ')}`,
      });
    }
    return field(source);
  });
}

function regexOption(options: Readonly<Record<string, string>>, key: 'labels-regex' | 'env-regex'): RegExp | undefined {
  const pattern = options[key];
  if (!pattern) return undefined;
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw invalidArgument(`invalid ${key} log option ${JSON.stringify(pattern)}: ${(error as Error).message}`);
  }
}

const PLACEHOLDER: LogSource = { id: '', name: '', imageId: '', image: '', path: '', args: [], labels: {}, env: [] };

/** Refuse, when the container is made, attribute options that could never be applied. */
export function checkLogAttributeOptions(options: Readonly<Record<string, string>>): void {
  regexOption(options, 'labels-regex');
  regexOption(options, 'env-regex');
  if (options.tag) renderTag(options.tag, PLACEHOLDER);
}

/**
 * The attributes a container's log lines carry (moby's `Info.ExtraAttributes` and the
 * json-file driver's tag): the labels and environment variables the options name or
 * match, and the tag when one is asked for.
 */
export function logAttributes(options: Readonly<Record<string, string>>, source: LogSource): Record<string, string> {
  const attrs = new Map<string, string>();
  const labels = new Map(Object.entries(source.labels));
  for (const key of options.labels ? options.labels.split(',') : []) {
    const value = labels.get(key);
    if (value !== undefined) attrs.set(key, value);
  }
  const labelsRegex = regexOption(options, 'labels-regex');
  for (const [key, value] of labels) if (labelsRegex?.test(key)) attrs.set(key, value);
  const env = new Map(source.env.filter((e) => e.includes('=')).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as const));
  for (const key of options.env ? options.env.split(',') : []) {
    const value = env.get(key);
    if (value !== undefined) attrs.set(key, value);
  }
  const envRegex = regexOption(options, 'env-regex');
  for (const [key, value] of env) if (envRegex?.test(key)) attrs.set(key, value);
  const tag = options.tag ? renderTag(options.tag, source) : '';
  if (tag) attrs.set('tag', tag);
  return Object.fromEntries(attrs);
}

/** Go's `url.QueryEscape`: `+` for a space, `%XX` for everything but letters, digits and `-_.~`. */
function queryEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/**
 * `docker logs --details`' prefix of a line: its attributes as `key=value` pairs, sorted by
 * key, query-escaped and joined by commas (dockerd's `attrsByteSlice`); empty without any.
 */
export function logDetails(attrs: Readonly<Record<string, string>>): string {
  return Object.keys(attrs)
    .sort()
    .map((key) => `${queryEscape(key)}=${queryEscape(attrs[key] as string)}`)
    .join(',');
}

/** The attributes back from `logDetails`' text, as a daemon sends them. */
export function parseLogDetails(text: string): Record<string, string> {
  const unescape = (part: string): string => decodeURIComponent(part.replace(/\+/g, ' '));
  const pairs = text.split(',').filter(Boolean).map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? ([unescape(pair), ''] as const) : ([unescape(pair.slice(0, eq)), unescape(pair.slice(eq + 1))] as const);
  });
  return Object.fromEntries(pairs);
}

/** A log line as dockerd writes it to a client (without its newline): `[time ][attributes ]text`. */
export function logLine(entry: { time: string; line: string; attrs?: Readonly<Record<string, string>> }, options: { timestamps?: boolean; details?: boolean }): string {
  return `${options.timestamps ? `${entry.time} ` : ''}${options.details ? `${logDetails(entry.attrs ?? {})} ` : ''}${entry.line}`;
}
