import { open } from 'node:fs/promises';
import * as YAML from 'yaml';
import { CtrError, goPathError } from '@ctr/errors';
import { GoRegexp } from './go-regexp';
import { isPlainObject } from './interpolate';
import { xmlEntries } from './xml-entries';

/**
 * The secret scan `docker compose publish` runs before it publishes: the detectors of
 * github.com/DefangLabs/secret-detector that its scanner.NewDefaultScanner() enables, with
 * the settings compose gets from it (the keyword detector wants values of 4 bits of entropy
 * a character or more, the high-entropy one more than 5), over the same readings of a file:
 * a structured file flattened to keys and values, anything else as text.
 */

export interface DetectedSecret {
  /** The detector's name for it, which compose prints: `AWS Client ID`, `Keyword Detector`… */
  type: string;
  /** Where: a structured file's flattened key (`services.web.environment.TOKEN`), a text line's key, or '' when a line names none. */
  key: string;
  value: string;
}

interface Detector {
  readonly type: string;
  /** One key and value of a structured file (the detector's ScanMap). */
  matchesEntry(key: string, value: string): boolean;
  /** Free text (the detector's Scan): each find, its key '' where the line names none. */
  findInText(text: string): { key: string; value: string }[];
}

/** Letters matched in either case: Go's `(?i)…(?-i)` spans, written out (GoRegexp takes no flags). */
const caseless = (pattern: string): string => pattern.replace(/[a-zñ]/g, (letter) => `[${letter}${letter.toUpperCase()}]`);

// The pieces of the detector's helpers/key_value_regex.go: a value, optionally after a key and a delimiter, quoted or bracketed.
const DECLARE = `(?:(?:${['var', 'let', 'set', 'dim', 'declare', 'export', 'const', 'readonly'].map(caseless).join('|')})[\\t ]+)?`;
const OPENING = `\\[?[\\t ]*['"]?`;
const KEY_CLOSING = `['"]?[\\t ]*\\]?`;
const VALUE_CLOSING = `['"]?[\\t ]*\\]?[\\t ]*;?`;
const DELIMITER = '\\s*(?::|=|:=)\\s*';
const DELIMITER_ON_ONE_LINE = '[^\\S\\r\\n]*(?::|=|:=)[^\\S\\r\\n]*';
const ANY_KEY = '[\\t a-zA-Z0-9$\\/_-]+';

// Run as Go runs them (GoRegexp): V8's backtracking takes time growing with a power of a text's length on texts built against them.
const exactValue = (value: string): GoRegexp => new GoRegexp(`^\\s*${OPENING}(?:${value})${VALUE_CLOSING}\\s*$`, { multiline: true });
const exactKey = (key: string): GoRegexp => new GoRegexp(`^\\s*${DECLARE}${OPENING}(?:${key})${KEY_CLOSING}\\s*$`, { multiline: true });
/** A value on a line, after an optional key and delimiter (`keyRequired`: not optional, the key matching `key`). */
const keyValue = (key: string, value: string, delimiter: string, keyRequired: boolean): GoRegexp =>
  new GoRegexp(
    `(?:^|[\\t ]+)(?:${DECLARE}${OPENING}(?<key>${key})${KEY_CLOSING}${delimiter})${keyRequired ? '' : '?'}${OPENING}(?<value>${value})${VALUE_CLOSING}(?:[\\t ]+|$)`,
    { multiline: true },
  );

function matchesIn(regex: GoRegexp, text: string): { key: string; value: string }[] {
  return regex.matchAll(text).map(({ key, value }) => ({ key: (key ?? '').trim(), value: (value ?? '').trim() }));
}

/**
 * The detector's CalcShannonEntropy: bits a character. Its length is Go's len(s), in bytes,
 * while it counts characters; the two agree for ASCII.
 */
function shannonEntropy(text: string): number {
  const length = Buffer.byteLength(text);
  const counts = new Map<string, number>();
  for (const character of text) counts.set(character, (counts.get(character) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) entropy -= (count / length) * Math.log2(count / length);
  return entropy;
}

interface RegexDetectorOptions {
  /** The detector's verifier, given the key ('' where none) and the value found. */
  verify?: (key: string, value: string) => boolean;
  /** Key and value on one line: for values that end in `=`, which a line break would otherwise take as a delimiter. */
  oneLine?: boolean;
}

/** The detector's regexDetector: values matching one of `patterns`, whole in an entry, on a line of text. */
function regexDetector(type: string, patterns: readonly string[], options: RegexDetectorOptions = {}): Detector {
  const verify = options.verify ?? ((): boolean => true);
  const exact = patterns.map(exactValue);
  const inText = patterns.map((pattern) => keyValue(ANY_KEY, pattern, options.oneLine ? DELIMITER_ON_ONE_LINE : DELIMITER, false));
  return {
    type,
    matchesEntry: (key, value) => exact.some((regex) => regex.test(value)) && verify(key, value),
    findInText: (text) => inText.flatMap((regex) => matchesIn(regex, text)).filter(({ key, value }) => verify(key, value)),
  };
}

/** Key names the keyword detector (after Yelp's detect-secrets) takes for credentials. */
const SUSPICIOUS_KEYS = [
  'api[-_]?key', 'access[-_]?key', 'auth[-_]?key', 'service[-_]?key', 'account[-_]?key', 'db[-_]?key', 'database[-_]?key',
  'priv[-_]?key', 'private[-_]?key', 'client[-_]?key', 'db[-_]?pass', 'database[-_]?pass', 'key[-_]?pass', 'password', 'passwd',
  'pwd', 'secret', 'token', 'contraseña', 'contrasena',
];
const SUSPICIOUS_KEY = `[.\\[~\\-\\w]*(?:${caseless(SUSPICIOUS_KEYS.join('|'))})[.\\[\\]~\\-\\w]*`;
/** Literals only: not `$VAR`/`${VAR}`, not a `{…}` expression, at least three characters. */
const LITERAL = '[^${\\s].+[^}\\s]';
const suspiciousKey = exactKey(SUSPICIOUS_KEY);
const literal = exactValue(LITERAL);
const keywordInText = keyValue(SUSPICIOUS_KEY, LITERAL, DELIMITER, true);

/**
 * The keyword detector on one key and value: a credential-sounding key with a literal value
 * of at least `minEntropy` bits a character. Compose's env and config questions ask it with
 * 0; its sensitive-data scan, with 4.
 */
export function isKeywordSecret(key: string, value: string, minEntropy = 0): boolean {
  return suspiciousKey.test(key) && literal.test(value) && shannonEntropy(value) >= minEntropy;
}

function keywordDetector(minEntropy: number): Detector {
  return {
    type: 'Keyword Detector',
    matchesEntry: (key, value) => isKeywordSecret(key, value, minEntropy),
    findInText: (text) => matchesIn(keywordInText, text).filter(({ value }) => shannonEntropy(value) >= minEntropy),
  };
}

/** Go's base64.StdEncoding, padded and strict about it (Node's decoder takes anything). */
function decodePadded(text: string): Buffer | undefined {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** Go's unpadded RawStdEncoding (`alphabet` `+/`) or RawURLEncoding (`-_`). */
function decodeRaw(text: string, alphabet: '+/' | '-_'): Buffer | undefined {
  const valid = alphabet === '+/' ? /^[A-Za-z0-9+/]*$/ : /^[A-Za-z0-9_-]*$/;
  return valid.test(text) && text.length % 4 !== 1 ? Buffer.from(text, alphabet === '+/' ? 'base64' : 'base64url') : undefined;
}

function jsonOf(bytes: Buffer | undefined): unknown {
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** The detector's check of basic (and bearer) credentials: the last word decodes to something with a `:` inside. */
function credentialPair(_key: string, value: string): boolean {
  const decoded = decodePadded(value.split(' ').at(-1)?.replace(/"$/, '') ?? '');
  return decoded !== undefined && decoded.length > 2 && decoded.subarray(1, -1).includes(':'.charCodeAt(0));
}

/** Signing algorithms golang-jwt knows: a token naming another is not one it parses. */
const JWT_ALGORITHMS = new Set(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'none']);

/** The JWT detector's check: an unsigned token's header says `alg: none`; a signed one parses as golang-jwt's ParseUnverified does. */
function parsesAsJwt(_key: string, token: string): boolean {
  const parts = token.split('.');
  // Go's json.Unmarshal into a map takes `null` too.
  const claims = (part: unknown): boolean => part === null || isPlainObject(part);
  if (parts.length === 2) {
    const header = jsonOf(decodeRaw(parts[0] ?? '', '+/'));
    return isPlainObject(header) && header.alg === 'none' && claims(jsonOf(decodeRaw(parts[1] ?? '', '+/')));
  }
  const header = jsonOf(decodeRaw(parts[0] ?? '', '-_'));
  return parts.length === 3 && isPlainObject(header) && typeof header.alg === 'string' && JWT_ALGORITHMS.has(header.alg) && claims(jsonOf(decodeRaw(parts[1] ?? '', '-_')));
}

/** The URL detector's check: a user and a password, which is no `$VAR`. */
function urlWithPassword(_key: string, value: string): boolean {
  try {
    const url = new URL(value);
    return url.username !== '' && url.password !== '' && !url.password.startsWith('$');
  } catch {
    return false;
  }
}

/** The detectors compose's scanner runs, in its order: the first to claim a key names what it found. */
const DETECTORS: readonly Detector[] = [
  regexDetector('JFrog Artifactory credentials', ['AKC[a-zA-Z0-9]{10,}']),
  regexDetector('AWS Client ID', ['(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}']),
  regexDetector('AWS Secret Key', ['(?:AWS|aws).{0,20}[\'"][0-9a-zA-Z/+]{40}[\'"]']),
  regexDetector('Amazon Marketplace Web Service (MWS) Key', ['amzn\\.mws\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}']),
  regexDetector('Azure Storage Account access key', ['(AccountKey=)?[a-zA-Z0-9+/=]{88}'], {
    verify: (key, value) => value.startsWith('AccountKey') || key.endsWith('AccountKey'),
  }),
  regexDetector('HTTP Basic Authentication', [`(?:"?${caseless('authorization')}"? *[:=] *)?"?${caseless('basic')} +[a-zA-Z0-9+/,_-]{2,}={0,2}"?`], {
    verify: credentialPair,
    oneLine: true,
  }),
  regexDetector('HTTP Bearer Authentication', [`(?:"?${caseless('authorization')}"? *[:=] *)?"?${caseless('bearer')} +[a-zA-Z0-9+/,_.=-]{2,}"?`], {
    verify: credentialPair,
    oneLine: true,
  }),
  regexDetector('Github authentication', ['gh[pousr]_[A-Za-z0-9_]{36}']),
  regexDetector('JSON Web Token', ['eyJ[A-Za-z0-9_=-]+\\.eyJ[A-Za-z0-9_=-]+\\.?[A-Za-z0-9_.+/=-]*'], { verify: parsesAsJwt }),
  keywordDetector(4),
  regexDetector('Mailchimp API Key', ['[0-9a-f]{32}-us[0-9]{1,2}']),
  regexDetector('npm auth token', ['//\\S+/:_authToken=[^${\\s]\\S+', 'npm_[a-zA-Z0-9]{36}']),
  regexDetector('Private Key', ['.*PuTTY-User-Key-File-.*', '(-*BEGIN[ \\S]+?PRIVATE KEY(?: BLOCK)?-*)([\\S\\n]{4,}?)(-*END[ \\S]+?PRIVATE KEY(?: BLOCK)?-*)']),
  regexDetector('Sendgrid API key', ['SG\\.[a-zA-Z0-9_-]{22}\\.[a-zA-Z0-9_-]{43}']),
  regexDetector('Slack token', ['(?:(?:xoxe\\.)?xox[bp]|xox[aeosr]|xapp)-\\d+-[-a-zA-Z0-9]+', 'https://hooks\\.slack\\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+']),
  regexDetector('Square authentication', ['sq0atp-[0-9A-Za-z\\\\_-]{22}', 'sq0csp-[0-9A-Za-z\\\\_-]{43}']),
  regexDetector('Stripe API key', ['[rs]k_(live|test)_[0-9a-zA-Z]{24}']),
  regexDetector('Twilio authentication', ['AC[0-9a-fA-F]{32}', 'SK[0-9a-fA-F]{32}']),
  regexDetector('URL with password', ['[a-z][a-z0-9+.-]+://[^:\\s]+:[^@:\\s]+@[^\\s\'"\\];]+'], { verify: urlWithPassword }),
  regexDetector('High entropy string', ['(?:[a-zA-Z0-9+/]{16,}|[a-zA-Z0-9_-]{16,})={0,2}'], { verify: (_key, value) => shannonEntropy(value) > 5 }),
];

/** A structured file's entries: for each key, the first detector that claims its value. */
export function scanEntries(entries: ReadonlyMap<string, string>): DetectedSecret[] {
  return [...entries]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([key, value]) => {
      const detector = DETECTORS.find((candidate) => candidate.matchesEntry(key, value));
      return detector ? [{ type: detector.type, key, value }] : [];
    });
}

/** Text: every detector's finds (only the first detector's, for one line), one a key. */
export function scanText(text: string): DetectedSecret[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const found: DetectedSecret[] = [];
  for (const detector of DETECTORS) {
    found.push(...detector.findInText(trimmed).map((hit) => ({ type: detector.type, ...hit })));
    if (!trimmed.includes('\n') && found.length > 0) break;
  }
  const keys = new Set<string>();
  return found.filter(({ key }) => key === '' || (!keys.has(key) && Boolean(keys.add(key))));
}

/**
 * The transformers' flattening of a tree: `a.b` for a mapping's keys, `a[0]` for a list's items.
 * Walked with a stack of its own, not the call stack, which a tree nested some thousands deep overflows.
 */
export function flattenTree(tree: unknown, prefix = '', into = new Map<string, string>()): Map<string, string> {
  const pending: [string, unknown][] = [[prefix, tree]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [path, node] = item;
    // Children pushed last first, so they come off the stack in order.
    if (isPlainObject(node)) {
      const children = Object.entries(node);
      for (let i = children.length - 1; i >= 0; i -= 1) {
        const [key, value] = children[i];
        pending.push([path === '' ? key : `${path}.${key}`, value]);
      }
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i -= 1) pending.push([`${path}[${i}]`, node[i]]);
    } else if (node !== null && node !== undefined) {
      into.set(path, String(node));
    }
  }
  return into;
}

/** Go's encoding/json: a document nested deeper than this is an error ("exceeded max depth"). */
const MAX_JSON_DEPTH = 10_000;

/** How deep a JSON text's arrays and objects nest (what it reads of a text that is no JSON does not matter: JSON.parse refuses it). */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') {
      for (i += 1; i < text.length && text[i] !== '"'; i += 1) if (text[i] === '\\') i += 1;
    } else if (c === '{' || c === '[') {
      depth += 1;
      deepest = Math.max(deepest, depth);
    } else if (c === '}' || c === ']') depth -= 1;
  }
  return deepest;
}

/** The JSON transformer: a file that is one object (or null), what Go's json.Unmarshal takes into a map. */
function jsonEntries(text: string): Map<string, string> | undefined {
  if (jsonDepth(text) > MAX_JSON_DEPTH) return undefined;
  let tree: unknown;
  try {
    tree = JSON.parse(text);
  } catch {
    return undefined;
  }
  return tree === null || isPlainObject(tree) ? flattenTree(tree) : undefined;
}

/**
 * How many collections a YAML document may have open at once here. yaml.v3, compose's parser,
 * refuses one nested deeper than 10,000 (flow levels or indentations), and the scan reads that
 * file as text. The yaml package recurses as deep as a document nests: its parser closing many
 * collections at once overflows the call stack (a RangeError out of parseAllDocuments) from some
 * thousands, its composer from about 850 (it catches the overflow, but V8 compiling a regular
 * expression with no stack left kills the process). A file nested deeper than this is read as
 * text, as compose reads one deeper than 10,000.
 */
const MAX_YAML_DEPTH = 200;

/**
 * The yaml package's work on aliases: converting one to JS looks through every anchor and alias
 * before it, a time growing with their number squared. A document past this (aliases times
 * anchors and aliases: thousands of each) is read as text; yaml.v3 reads it unless it finds the
 * aliases excessive, by a rule of its own.
 */
const MAX_ALIAS_WORK = 10_000_000;

/**
 * The yaml package's checks its own way makes slow: keys repeated in a mapping (its uniqueKeys
 * compares each key with all before it; here a set per mapping, with its equality: a scalar's
 * value, NaN never equal) and aliases too many.
 */
function composedWithinLimits(document: YAML.Document.Parsed): boolean {
  let anchors = 0;
  let aliases = 0;
  let repeated = false;
  YAML.visit(document, {
    Node: (_key, node) => {
      if (YAML.isAlias(node)) aliases += 1;
      else if (node.anchor !== undefined) anchors += 1;
      if (!YAML.isMap(node)) return undefined;
      const keys = new Set<unknown>();
      for (const { key } of node.items) {
        if (!YAML.isScalar(key) || Number.isNaN(key.value)) continue;
        repeated ||= keys.has(key.value);
        keys.add(key.value);
      }
      return repeated ? YAML.visit.BREAK : undefined;
    },
  });
  return !repeated && aliases * (anchors + aliases) <= MAX_ALIAS_WORK;
}

/** The YAML transformer: a file whose first document is a mapping. */
function yamlEntries(text: string): Map<string, string> | undefined {
  // parseAllDocuments, one lexeme at a time: the parser's stack holds the collections open there.
  const parser = new YAML.Parser();
  const tokens: YAML.CST.Token[] = [];
  for (const lexeme of new YAML.Lexer().lex(text)) {
    tokens.push(...parser.next(lexeme));
    if (parser.stack.length > MAX_YAML_DEPTH) return undefined;
  }
  tokens.push(...parser.end());
  const [document] = Array.from(new YAML.Composer({ uniqueKeys: false }).compose(tokens));
  if (document === undefined || document.errors.length > 0 || !composedWithinLimits(document)) return undefined;
  let tree: unknown;
  try {
    tree = document.toJS();
  } catch (error) {
    // Its maxAliasCount: aliases that would expand the document too far, which yaml.v3 refuses too.
    if (error instanceof ReferenceError) return undefined;
    throw error;
  }
  return tree === null || isPlainObject(tree) ? flattenTree(tree) : undefined;
}

/** An ini value as go-ini reads it: an inline comment cut off, then surrounding quotes. */
function iniValue(text: string): string {
  const comment = text.search(/[#;]/);
  const value = (comment < 0 ? text : text.slice(0, comment)).trim();
  return /^(["']).*\1$/.test(value) && value.length > 1 ? value.slice(1, -1) : value;
}

/** The ini transformer (.ini, .conf, .env, .properties…): `key = value` lines under `[section]`s, at least two keys. */
function iniEntries(text: string): Map<string, string> | undefined {
  const entries = new Map<string, string>();
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (!line.includes(']')) return undefined;
      const name = line.slice(1, line.indexOf(']')).trim();
      section = name === 'DEFAULT' ? '' : name;
      continue;
    }
    const at = line.search(/[=:]/);
    if (at <= 0) return undefined;
    const key = line.slice(0, at).trim();
    entries.set(section === '' ? key : `${section}.${key}`, iniValue(line.slice(at + 1)));
  }
  // One key is no ini file to the detector: it would take a base64 value's `=` for a delimiter.
  return entries.size > 1 ? entries : undefined;
}

type Transformer = (text: string) => Map<string, string> | undefined;

/** The scanner's threshold: a larger file is reported as suspicious, not read. */
const MAX_SCANNED_BYTES = 10_000_000;

/** The XML transformer; keys past the scanner's threshold (only a pathologically deep document builds them) leave the file to the text scan. */
const xmlTransformer: Transformer = (text) => xmlEntries(text, MAX_SCANNED_BYTES);

/** Go's filepath.Ext: from the last dot of the file's name, so `.env` is an extension, not a hidden file's name. */
function goExtension(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot);
}

const INI_EXTENSIONS = ['.ini', '.cnf', '.conf', '.cf', '.cfg', '.env', '.properties'];

/**
 * The transformers the scanner picks by a file's extension (its dataformat.FromPath): the
 * format's own, or for an extension it does not know every file transformer, in its order.
 */
function transformersFor(path: string): Transformer[] {
  const extension = goExtension(path).toLowerCase();
  if (extension === '.json') return [jsonEntries];
  if (extension === '.yaml' || extension === '.yml') return [yamlEntries];
  if (extension === '.xml') return [xmlTransformer];
  if (INI_EXTENSIONS.includes(extension)) return [iniEntries];
  return [jsonEntries, yamlEntries, xmlTransformer, iniEntries];
}

/** go-bytesize's String(): two decimals of the largest unit (powers of 1024) that fits. */
function byteSize(size: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const power = Math.min(units.length - 1, Math.max(0, Math.floor(Math.log(size) / Math.log(1024))));
  return `${(size / 1024 ** power).toFixed(2)}${units[power]}`;
}

/**
 * The scanner's isTextFile on a file's first KiB: UTF-8 without control characters but
 * `\n`, `\t` and `\f` (so `\r` too), a character the KiB may have cut short left alone.
 */
function looksLikeText(head: Buffer): boolean {
  let offset = 0;
  for (const character of head.toString('utf8')) {
    if (offset + 4 > head.length) break;
    const code = character.codePointAt(0) ?? 0;
    if (code === 0xfffd || (code < 0x20 && !'\n\t\f'.includes(character))) return false;
    offset += Buffer.byteLength(character);
  }
  return true;
}

/**
 * A file as the scanner's ScanFile reads it: refused when it is not text, reported whole
 * when larger than 10 MB, else read by the transformers its extension names, as text when
 * none takes it. NotFound in Go's words when there is no such file.
 */
export async function scanFile(path: string): Promise<DetectedSecret[]> {
  const handle = await open(path).catch((error: NodeJS.ErrnoException) => {
    throw new CtrError(error.code === 'ENOENT' ? 'NotFound' : 'InvalidArgument', goPathError(error, path), { cause: error });
  });
  try {
    const head = Buffer.alloc(1024);
    // A directory opens, and fails at its first read (EISDIR).
    const { bytesRead } = await handle.read(head, 0, head.length, 0).catch((error: NodeJS.ErrnoException) => {
      throw new CtrError('InvalidArgument', goPathError(error, path), { cause: error });
    });
    if (!looksLikeText(head.subarray(0, bytesRead))) throw new CtrError('InvalidArgument', `${path} is not a text file`);
    const { size } = await handle.stat();
    if (size > MAX_SCANNED_BYTES) return [{ type: 'Suspicious text file size', key: path, value: byteSize(size) }];
    const text = (await handle.readFile('utf8')).trim();
    for (const transform of transformersFor(path)) {
      const entries = transform(text);
      if (entries) return scanEntries(entries);
    }
    return scanText(text);
  } finally {
    await handle.close();
  }
}
