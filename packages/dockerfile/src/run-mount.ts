import { goParseBool } from '@ctr/image';
import { SyntaxProblem } from './dockerfile-error';
import { withSuggestion } from './suggest';

const mountTypes = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
type MountType = (typeof mountTypes)[number];
const sharingModes = ['shared', 'private', 'locked'] as const;
type SharingMode = (typeof sharingModes)[number];

/** One `RUN --mount=…` flag, parsed and checked as BuildKit's `parseMount` does; values expanded. */
export interface MountFlag {
  type: MountType;
  from?: string;
  source?: string;
  target?: string;
  readOnly: boolean;
  /** tmpfs `size`, as written (a byte count with an optional unit). */
  size?: string;
  id?: string;
  sharing?: SharingMode;
  required: boolean;
  /** secret `env=NAME`: the secret also becomes that environment variable. */
  env?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

const allKeys = ['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid', 'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env'];

/** One line of CSV as Go's encoding/csv reads it (BuildKit splits mount flags with it): quotes, `""` escapes. */
function csvFields(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      for (i++; ; i++) {
        if (i >= text.length) throw new SyntaxProblem('failed to parse csv mounts: extraneous or missing " in quoted-field');
        if (text[i] === '"') {
          if (text[i + 1] !== '"') break;
          i++;
        }
        field += text[i];
      }
      i++;
      if (i < text.length && text[i] !== ',') throw new SyntaxProblem('failed to parse csv mounts: extraneous or missing " in quoted-field');
    } else {
      const end = text.indexOf(',', i);
      field = text.slice(i, end < 0 ? text.length : end);
      if (field.includes('"')) throw new SyntaxProblem('failed to parse csv mounts: bare " in non-quoted field');
      i += field.length;
    }
    fields.push(field);
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

/** Go's strconv.ParseBool. */
function parseBool(key: string, value: string): boolean {
  const parsed = goParseBool(value);
  if (parsed === undefined) throw new SyntaxProblem(`invalid value for ${key}: ${value}`);
  return parsed;
}

/** Go's strconv.ParseUint(value, base, 32). */
function parseUint(key: string, value: string, base: 8 | 10): number {
  const digits = base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  const n = digits.test(value) ? parseInt(value, base) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new SyntaxProblem(`invalid value ${value} for ${key}`);
  return n;
}

/** A flag's `from=` value without expansion, to know which stages a build needs before it runs any. */
export function mountFromStage(text: string): string | undefined {
  try {
    for (const field of csvFields(text)) {
      const eq = field.indexOf('=');
      if (eq > 0 && field.slice(0, eq).toLowerCase() === 'from') return field.slice(eq + 1);
    }
  } catch {
    // reported with its location when the step runs
  }
  return undefined;
}

/**
 * Parse one `--mount` value (BuildKit's instructions.parseMount with an expander): every value
 * goes through `expand` except `from`, which may not use variables at all.
 */
export function parseMountFlag(text: string, expand: (word: string) => string): MountFlag {
  const m: MountFlag = { type: 'bind', readOnly: true, required: false };
  let roAuto = true;
  const fileInfo = (): boolean => m.type === 'secret' || m.type === 'ssh' || m.type === 'cache';
  for (const field of csvFields(text)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro' || key === 'readwrite' || key === 'rw') {
        m.readOnly = key === 'readonly' || key === 'ro';
        roAuto = false;
      } else if (key === 'required' && (m.type === 'secret' || m.type === 'ssh')) m.required = true;
      else if (key === 'required') throw new SyntaxProblem(`unexpected key '${key}' for mount type '${m.type}'`);
      else throw new SyntaxProblem(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const raw = field.slice(eq + 1);
    if (key === 'from') {
      const dollar = raw.indexOf('$');
      if (dollar >= 0 && dollar !== raw.length - 1) throw new SyntaxProblem(`'${key}' doesn't support variable expansion, define alias stage instead`);
    }
    const value = key === 'from' ? raw : expand(raw);
    switch (key) {
      case 'type': {
        const type = value.toLowerCase();
        if (!(mountTypes as readonly string[]).includes(type)) throw new SyntaxProblem(withSuggestion(`unsupported mount type "${value}"`, value, mountTypes));
        m.type = type as MountType;
        break;
      }
      case 'from':
        m.from = value;
        break;
      case 'source':
      case 'src':
        m.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = value;
        break;
      case 'readonly':
      case 'ro':
      case 'readwrite':
      case 'rw': {
        const on = parseBool(key, value);
        m.readOnly = key === 'readonly' || key === 'ro' ? on : !on;
        roAuto = false;
        break;
      }
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') throw new SyntaxProblem(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = parseBool(key, value);
        break;
      case 'size':
        if (m.type !== 'tmpfs') throw new SyntaxProblem(`unexpected key '${key}' for mount type '${m.type}'`);
        m.size = value;
        break;
      case 'id':
        m.id = value;
        break;
      case 'sharing': {
        const sharing = value.toLowerCase();
        if (!(sharingModes as readonly string[]).includes(sharing)) throw new SyntaxProblem(withSuggestion(`unsupported sharing value "${value}"`, value, sharingModes));
        m.sharing = sharing as SharingMode;
        break;
      }
      case 'mode':
        m.mode = parseUint(key, value, 8);
        break;
      case 'uid':
      case 'gid':
        m[key] = parseUint(key, value, 10);
        break;
      case 'env':
        m.env = value;
        break;
      default:
        throw new SyntaxProblem(withSuggestion(`unexpected key '${key}' in '${field}'`, key, allKeys));
    }
  }
  if (!fileInfo()) {
    for (const key of ['mode', 'uid', 'gid'] as const) if (m[key] !== undefined) throw new SyntaxProblem(`${key} not allowed for "${m.type}" type mounts`);
  }
  if (roAuto) m.readOnly = m.type !== 'cache' && m.type !== 'tmpfs';
  if (m.type === 'secret') {
    if (m.from !== undefined && m.from !== '') throw new SyntaxProblem('secret mount should not have a from');
    if (m.sharing !== undefined) throw new SyntaxProblem('secret mount should not define sharing');
    if (!m.source && !m.target && !m.id) throw new SyntaxProblem('invalid secret mount. one of source, target required');
    if (m.source && m.id) throw new SyntaxProblem("both source and id can't be set");
  }
  if (m.sharing !== undefined && m.type !== 'cache') throw new SyntaxProblem(`invalid cache sharing set for ${m.type} mount`);
  return m;
}
