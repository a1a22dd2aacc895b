import { CtrError } from '@ctr/errors';

/** A variable's value, or undefined when it is not set (distinct from set to ""). */
export type Lookup = (name: string) => string | undefined;

/** A template compose cannot read (`$1`, `${}`, an unclosed `${`): compose-go's InvalidTemplateError. */
export class InvalidTemplateError extends Error {
  constructor(readonly template: string) {
    super(`Invalid template: ${JSON.stringify(template)}`);
  }
}

/** `${X:?reason}` / `${X?reason}` on a missing value: compose-go's MissingRequiredError. */
export class MissingRequiredError extends Error {
  constructor(variable: string, reason: string) {
    super(reason ? `required variable ${variable} is missing a value: ${reason}` : `required variable ${variable} is missing a value`);
  }
}

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/**
 * Substitutes `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`,
 * `${VAR:+alt}`, `${VAR+alt}` (nested in defaults and alternatives) and `$$`, as compose-go's
 * template package does. `onUnset` hears each plain reference to an unset variable (compose
 * warns and uses "").
 */
export function substitute(template: string, lookup: Lookup, onUnset: (name: string) => void = () => {}): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    if (next === '{') {
      const close = closingBrace(template, dollar);
      if (close < 0) throw new InvalidTemplateError(template);
      out += braced(template.slice(dollar + 2, close), template, lookup, onUnset);
      i = close + 1;
      continue;
    }
    const named = NAME.exec(template.slice(dollar + 1));
    if (!named) throw new InvalidTemplateError(template);
    out += plain(named[0], lookup, onUnset);
    i = dollar + 1 + named[0].length;
  }
  return out;
}

/** The `}` closing the `${` at `start`, counting nested `${…}` as compose-go does. */
function closingBrace(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    if (s.startsWith('${', i)) {
      depth++;
      i++;
    } else if (s[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function plain(name: string, lookup: Lookup, onUnset: (name: string) => void): string {
  const value = lookup(name);
  if (value === undefined) onUnset(name);
  return value ?? '';
}

function braced(inner: string, template: string, lookup: Lookup, onUnset: (name: string) => void): string {
  const named = NAME.exec(inner);
  if (!named) throw new InvalidTemplateError(template);
  const name = named[0];
  const rest = inner.slice(name.length);
  if (rest === '') return plain(name, lookup, onUnset);
  const colon = rest.startsWith(':');
  const op = rest[colon ? 1 : 0];
  if (op !== '-' && op !== '?' && op !== '+') throw new InvalidTemplateError(template);
  const argument = (): string => substitute(rest.slice(colon ? 2 : 1), lookup, onUnset);
  const value = lookup(name);
  // With the colon, an empty value counts as unset.
  const present = value !== undefined && (!colon || value !== '');
  switch (op) {
    case '-':
      return present ? (value as string) : argument();
    case '+':
      return present ? argument() : '';
    default:
      if (!present) throw new MissingRequiredError(name, argument());
      return value as string;
  }
}

/**
 * Interpolates every string value of a parsed compose file (keys stay as written), with
 * compose-go's errors naming the path: `invalid interpolation format for services.web.image`
 * and `error while interpolating services.web.image: required variable …`.
 */
export function interpolateTree(value: unknown, lookup: Lookup, onUnset: (name: string) => void, path: string[] = []): unknown {
  if (typeof value === 'string') {
    try {
      return substitute(value, lookup, onUnset);
    } catch (error) {
      const where = path.join('.');
      if (error instanceof InvalidTemplateError) {
        throw new CtrError('InvalidArgument', `invalid interpolation format for ${where}.\nYou may need to escape any $ with another $.\n${error.template}`);
      }
      throw new CtrError('InvalidArgument', `error while interpolating ${where}: ${(error as Error).message}`);
    }
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolateTree(item, lookup, onUnset, [...path, String(index)]));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = interpolateTree(item, lookup, onUnset, [...path, key]);
    return out;
  }
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
