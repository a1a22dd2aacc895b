import * as YAML from 'yaml';
import { CtrError } from '@ctr/errors';
import { isPlainObject } from './interpolate';

/** What a `!reset` node becomes: the override removes the key. */
export const RESET = '\u0000compose:reset';
/** The key of the map a `!override` node is wrapped in: the override replaces instead of merging. */
export const OVERRIDE = '\u0000compose:override';

/**
 * Parses one compose file's YAML (anchors, `<<` merge keys) into plain values, with the
 * `!reset` and `!override` tags kept as markers for `mergeFiles`.
 */
export function parseComposeYaml(text: string, file: string): Record<string, unknown> {
  const lines = new YAML.LineCounter();
  return documentValue(YAML.parseDocument(text, { ...PARSE_OPTIONS, lineCounter: lines }), lines, file);
}

/**
 * Each YAML document of a compose file (`---` between them), as parseComposeYaml reads one:
 * compose-go loads a multi-document file as that many files merged in order, which is how an
 * `oci://` artifact's compose files come back, one document each.
 */
export function parseComposeDocuments(text: string, file: string): Record<string, unknown>[] {
  const lines = new YAML.LineCounter();
  const documents = YAML.parseAllDocuments(text, { ...PARSE_OPTIONS, lineCounter: lines });
  return documents.length === 0 ? [{}] : documents.map((doc) => documentValue(doc, lines, file));
}

const PARSE_OPTIONS = { merge: true, prettyErrors: false, uniqueKeys: true } as const;

function documentValue(doc: YAML.Document, lines: YAML.LineCounter, file: string): Record<string, unknown> {
  if (doc.errors.length > 0) {
    const error = doc.errors[0] as YAML.YAMLError;
    throw new CtrError('InvalidArgument', `${file}: yaml: line ${lines.linePos(error.pos[0]).line}: ${error.message.split('\n')[0]}`);
  }
  YAML.visit(doc, {
    Scalar(_key, node) {
      // compose-go's yaml.v3 still reads YAML 1.1's octals: `mode: 0440` is 288 to docker compose, not 440.
      if (node.type === 'PLAIN' && typeof node.value === 'number' && /^[-+]?0[0-7]+$/.test(node.source ?? '')) node.value = Number.parseInt(node.source as string, 8);
    },
    Node(_key, node) {
      if (!YAML.isNode(node) || (node.tag !== '!reset' && node.tag !== '!override')) return undefined;
      if (node.tag === '!reset') return new YAML.Scalar(RESET);
      node.tag = undefined;
      const wrapper = new YAML.YAMLMap();
      wrapper.add(new YAML.Pair(new YAML.Scalar(OVERRIDE), node));
      return wrapper;
    },
  });
  const value: unknown = doc.toJS({ maxAliasCount: 10000 });
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) throw new CtrError('InvalidArgument', `${file}: top-level object must be a mapping`);
  return value;
}

/** The value a `!override` wrapper carries, or undefined when `value` is not one. */
export function overridden(value: unknown): { value: unknown } | undefined {
  if (isPlainObject(value) && Object.hasOwn(value, OVERRIDE)) return { value: value[OVERRIDE] };
  return undefined;
}

/** Removes the markers of a tree that has nothing under it to reset or override. */
export function stripMarkers(value: unknown): unknown {
  const wrapped = overridden(value);
  if (wrapped) return stripMarkers(wrapped.value);
  if (Array.isArray(value)) return value.filter((item) => item !== RESET).map(stripMarkers);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) if (item !== RESET) out[key] = stripMarkers(item);
    return out;
  }
  return value;
}

type Merger = (base: unknown, override: unknown, path: string[]) => unknown;

function fileReferenceKey(entry: unknown): string {
  const reference = entry as Record<string, unknown>;
  return String(reference.target ?? reference.source);
}

/** The key a list entry is merged by, for the lists compose merges by key rather than appends. */
const LIST_KEYS: Record<string, (entry: unknown) => string> = {
  ports: (p) => {
    const port = p as Record<string, unknown>;
    return `${port.host_ip ?? ''}:${port.published ?? ''}:${port.target}/${port.protocol ?? 'tcp'}`;
  },
  volumes: (v) => String((v as Record<string, unknown>).target),
  secrets: fileReferenceKey,
  configs: fileReferenceKey,
};

/** Paths (`*` any key) whose override replaces the base outright, as compose-go's mergeSpecials. */
const REPLACED = ['services.*.command', 'services.*.entrypoint', 'services.*.healthcheck.test', 'services.*.ulimits.*'];

function matches(path: string[], pattern: string): boolean {
  const parts = pattern.split('.');
  return parts.length === path.length && parts.every((part, i) => part === '*' || part === path[i]);
}

/**
 * Merges an override file's canonical tree into the base's, as compose-go merges `-f` files:
 * mappings merge key by key, scalars are replaced, `command`/`entrypoint`/`healthcheck.test`
 * are replaced, `ports`/`volumes`/`secrets`/`configs` merge by their key (an override of the
 * same port or target replaces it), other lists are appended without duplicates; `logging`
 * merges its options only when the driver is the same; `!reset` removes, `!override` replaces.
 */
export const mergeTrees: Merger = (base, override, path) => {
  const wrapped = overridden(override);
  if (wrapped) return stripMarkers(wrapped.value);
  if (override === RESET) return undefined;
  if (REPLACED.some((pattern) => matches(path, pattern))) return stripMarkers(override);
  if (matches(path, 'services.*.logging') && isPlainObject(base) && isPlainObject(override)) {
    if (base.driver !== undefined && override.driver !== undefined && base.driver !== override.driver) return stripMarkers(override);
  }
  if (isPlainObject(base) && isPlainObject(override)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) {
      if (!Object.hasOwn(base, key) || key.startsWith('x-')) {
        if (value === RESET) delete out[key];
        else out[key] = stripMarkers(value);
        continue;
      }
      const merged = mergeTrees(base[key], value, [...path, key]);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(override)) {
    const keyOf = path.length === 3 && path[0] === 'services' ? LIST_KEYS[path[2] as string] : undefined;
    const entries = new Map<string, unknown>();
    for (const item of [...base, ...(stripMarkers(override) as unknown[])]) {
      const key = keyOf ? keyOf(item) : JSON.stringify(item);
      // Keyed entries take the override's place at the base's position; others keep the first.
      if (keyOf || !entries.has(key)) entries.set(key, item);
    }
    return [...entries.values()];
  }
  return stripMarkers(override);
};
