import { readFile } from 'node:fs/promises';
import { CtrError } from '@ctr/errors';
import { substitute, type Lookup } from './interpolate';

/**
 * Parses a `.env` / `env_file` text in compose-go's dotenv syntax: `KEY=value`, `KEY: value`,
 * `export KEY=value`, `#` comments (inline after a blank on unquoted values), single quotes
 * (literal), double quotes (`\n`/`\r`/`\t` escapes, may span lines), `${VAR}` expansion in
 * unquoted and double-quoted values (from `lookup`, else the keys read so far), and a bare
 * `KEY` taking its value from `lookup` (left out when unset).
 */
export function parseDotenv(text: string, lookup: Lookup = () => undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const expand = (value: string): string => substitute(value, (name) => lookup(name) ?? (Object.hasOwn(out, name) ? out[name] : undefined));
  let i = 0;
  let line = 1;
  const advance = (to: number): void => {
    for (let k = i; k < to; k++) if (text[k] === '\n') line++;
    i = to;
  };
  const fail = (message: string): never => {
    throw new CtrError('InvalidArgument', `line ${line}: ${message}`);
  };
  while (i < text.length) {
    // Statement start: skip blanks and comment lines.
    const start = text.slice(i).search(/\S/);
    if (start < 0) break;
    advance(i + start);
    if (text[i] === '#') {
      const eol = text.indexOf('\n', i);
      advance(eol < 0 ? text.length : eol);
      continue;
    }
    if (text.startsWith('export', i) && /[ \t]/.test(text[i + 6] ?? '')) advance(i + 6);
    while (text[i] === ' ' || text[i] === '\t') advance(i + 1);
    let end = i;
    while (end < text.length && !['=', ':', '\n'].includes(text[end] as string)) {
      const c = text[end] as string;
      if (!/[\p{L}\p{N}_.\- \t\r]/u.test(c)) fail(`unexpected character ${JSON.stringify(c)} in variable name near ${JSON.stringify(text.slice(i, text.indexOf('\n', i) < 0 ? undefined : text.indexOf('\n', i)))}`);
      end++;
    }
    const key = text.slice(i, end).trim();
    if (key.includes(' ')) fail('key cannot contain a space');
    if (end >= text.length || text[end] === '\n') {
      // A key alone inherits the environment's value.
      const inherited = lookup(key);
      if (inherited !== undefined) out[key] = inherited;
      advance(end);
      continue;
    }
    advance(end + 1);
    while (text[i] === ' ' || text[i] === '\t') advance(i + 1);
    const quote = text[i];
    if (quote === '"' || quote === "'") {
      let close = i + 1;
      while (close < text.length && !(text[close] === quote && text[close - 1] !== '\\')) close++;
      if (close >= text.length) {
        const eol = text.indexOf('\n', i);
        fail(`unterminated quoted value ${text.slice(i, eol < 0 ? undefined : eol)}`);
      }
      const raw = text.slice(i + 1, close);
      out[key] = quote === '"' ? expand(unescapeDoubleQuoted(raw)) : raw.replace(/\\'/g, "'");
      advance(close + 1);
      // Whatever follows the closing quote on its line is a comment.
      const eol = text.indexOf('\n', i);
      advance(eol < 0 ? text.length : eol);
      continue;
    }
    const eol = text.indexOf('\n', i);
    let value = text.slice(i, eol < 0 ? undefined : eol);
    const comment = value.search(/[ \t]#/);
    if (value.startsWith('#')) value = '';
    else if (comment >= 0) value = value.slice(0, comment);
    out[key] = expand(value.trimEnd());
    advance(eol < 0 ? text.length : eol);
  }
  return out;
}

function unescapeDoubleQuoted(raw: string): string {
  return raw.replace(/\\(.)/gs, (_match: string, c: string) => {
    switch (c) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case '$':
        // Kept escaped so expansion leaves a literal dollar.
        return '$$';
      default:
        return c;
    }
  });
}

/**
 * Reads and parses an env file, or undefined when there is none (each caller has its own
 * word for a missing file); other errors name the file as compose's do.
 */
export async function readDotenv(path: string, lookup?: Lookup): Promise<Record<string, string> | undefined> {
  try {
    return parseDotenv(await readFile(path, 'utf8'), lookup);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CtrError('InvalidArgument', `failed to read ${path}: ${(error as Error).message}`, { cause: error });
  }
}
