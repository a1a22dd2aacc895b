import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { invalidArgument, type CtrError } from '@ctr/errors';

/** One `Keyword arguments…` line of an ssh client config; the keyword lower-cased, as ssh compares it. */
interface Directive {
  keyword: string;
  args: string[];
  line: number;
}

/**
 * A `Host` block (its patterns; none for the lines before the first `Host`, which apply to
 * every host) or a `Match` block, whose conditions ctr does not evaluate: it never applies.
 */
interface Block {
  patterns: string[] | undefined;
  match: boolean;
  directives: Directive[];
}

/** A parsed ssh client config: its blocks in file order, and the file they came from (for errors). */
export interface SshConfig {
  file: string;
  blocks: Block[];
}

/** What an ssh client config says about one host, for the keywords ctr uses; the rest is ignored. */
export interface SshHostConfig {
  /** Where to connect: `HostName` with `%h` expanded, else the name given. */
  hostname: string;
  user?: string;
  port?: number;
  /** `IdentityFile`s of every matching block, in order, `~` and `%` tokens expanded. */
  identityFiles: string[];
  /** The first `UserKnownHostsFile` (it may name several files), expanded. */
  userKnownHostsFiles?: string[];
}

/** Who is connecting, for `~` and `%d`/`%u` (default: this process's user). */
export interface SshLocalUser {
  home?: string;
  user?: string;
}

/** Keywords that take exactly one argument; a second one is "garbage at end of line", as ssh says. */
const SINGLE = new Set(['hostname', 'user', 'port', 'identityfile']);

function configError(file: string, line: number, what: string): CtrError {
  return invalidArgument(`${file} line ${line}: ${what}`);
}

/**
 * A line's words as ssh splits them: whitespace between words, `"…"` and `'…'` quoting,
 * backslash escapes of quotes, backslash and space, and `#` starting a comment at a word's start.
 */
function splitWords(text: string, file: string, line: number): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length || text[i] === '#') break;
    let word = '';
    let quote: string | undefined;
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (quote) {
        if (ch === quote) quote = undefined;
        else word += ch;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '\\' && i + 1 < text.length && /["'\\ ]/.test(text[i + 1]!)) word += text[++i];
      else if (/\s/.test(ch)) break;
      else word += ch;
    }
    if (quote) throw configError(file, line, 'invalid quotes');
    words.push(word);
  }
  return words;
}

/** `Keyword value`, `Keyword=value` or `Keyword = value`. */
function parseLine(raw: string, file: string, line: number): Directive | undefined {
  const text = raw.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const head = /^([^\s=]+)\s*(?:=\s*)?(.*)$/.exec(text);
  if (!head) throw configError(file, line, `malformed line "${text}"`);
  return { keyword: head[1]!.toLowerCase(), args: splitWords(head[2]!, file, line), line };
}

/** Check the arguments of a keyword ctr uses; other keywords are ignored (ctr does not act on them). */
function checkArgs(directive: Directive, file: string): void {
  const { keyword, args, line } = directive;
  const known = SINGLE.has(keyword) || keyword === 'userknownhostsfile' || keyword === 'host' || keyword === 'match';
  if (!known) return;
  if (args.length === 0) throw configError(file, line, `no argument after keyword "${keyword}"`);
  if (SINGLE.has(keyword) && args.length > 1) throw configError(file, line, `garbage at end of line; "${args[1]}".`);
  if (keyword === 'port' && !/^\d+$/.test(args[0]!)) throw configError(file, line, 'Badly formatted port number.');
  if (keyword === 'port' && (Number(args[0]) < 1 || Number(args[0]) > 65535)) throw configError(file, line, 'Badly formatted port number.');
}

/** Parse an ssh client config (`~/.ssh/config`); a malformed line is an InvalidArgument naming the file and line. */
export function parseSshConfig(text: string, file: string): SshConfig {
  const blocks: Block[] = [{ patterns: undefined, match: false, directives: [] }];
  text.split(/\r?\n/).forEach((raw, index) => {
    const directive = parseLine(raw, file, index + 1);
    if (!directive) return;
    checkArgs(directive, file);
    if (directive.keyword === 'host') blocks.push({ patterns: directive.args, match: false, directives: [] });
    else if (directive.keyword === 'match') blocks.push({ patterns: undefined, match: true, directives: [] });
    else blocks[blocks.length - 1]!.directives.push(directive);
  });
  return { file, blocks };
}

/** The config at `file`; a file that does not exist is an empty config, as ssh treats it. */
export async function readSshConfig(file: string): Promise<SshConfig> {
  const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw invalidArgument(`cannot read ssh config ${file}: ${error.message}`, { cause: error });
  });
  return parseSshConfig(text, file);
}

/** ssh's glob: `*` any run of characters, `?` any one; case-insensitive, as host names are. */
function globMatches(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(name);
}

/** A `Host` line applies when one of its patterns matches and none of its `!negations` does. */
function hostMatches(patterns: string[], host: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), host)) return false;
    } else if (globMatches(pattern, host)) matched = true;
  }
  return matched;
}

/** `%` tokens ssh expands in a value; any other is an error, as in ssh. */
function expandTokens(value: string, tokens: Record<string, string>, file: string, line: number): string {
  return value.replace(/%(.)?/g, (_, key: string | undefined) => {
    if (key === '%') return '%';
    const expanded = key === undefined ? undefined : tokens[key];
    if (expanded === undefined) throw configError(file, line, `unknown key %${key ?? ''}`);
    return expanded;
  });
}

/** `~` and `~/…` are the home directory (`~user` is left as it is). */
function expandHome(value: string, home: string): string {
  return value === '~' ? home : value.startsWith('~/') ? path.join(home, value.slice(2)) : value;
}

/** What the command line gave (an `ssh://` URL's user and port): it wins over the config, as ssh's does. */
export interface SshCommandLine {
  user?: string;
  port?: number;
}

/**
 * What `ssh host` would use from `config` for the keywords ctr knows: the blocks whose `Host`
 * patterns match `host` (the name as given, before `HostName`), in file order; per keyword
 * the first value wins, except `IdentityFile`, which collects every value. The command
 * line's user and port win over the config's, in the result and in `%r` and `%p`.
 */
export function resolveSshHost(config: SshConfig, host: string, local: SshLocalUser = {}, given: SshCommandLine = {}): SshHostConfig {
  const first = new Map<string, Directive>();
  const identities: Directive[] = [];
  for (const block of config.blocks) {
    if (block.match || (block.patterns && !hostMatches(block.patterns, host))) continue;
    for (const directive of block.directives) {
      if (directive.keyword === 'identityfile') identities.push(directive);
      else if (!first.has(directive.keyword)) first.set(directive.keyword, directive);
    }
  }
  const home = local.home ?? os.homedir();
  const localUser = local.user ?? os.userInfo().username;
  const hostName = first.get('hostname');
  const hostname = hostName ? expandTokens(hostName.args[0]!, { h: host }, config.file, hostName.line) : host;
  const user = given.user ?? first.get('user')?.args[0];
  const port = given.port !== undefined ? String(given.port) : first.get('port')?.args[0];
  const tokens = { d: home, h: hostname, n: host, u: localUser, r: user ?? localUser, p: port ?? '22', i: String(os.userInfo().uid) };
  const expandPath = (value: string, directive: Directive): string => expandTokens(expandHome(value, home), tokens, config.file, directive.line);
  const knownHosts = first.get('userknownhostsfile');
  return {
    hostname,
    ...(user !== undefined ? { user } : {}),
    ...(port !== undefined ? { port: Number(port) } : {}),
    identityFiles: identities.map((d) => expandPath(d.args[0]!, d)),
    ...(knownHosts ? { userKnownHostsFiles: knownHosts.args.map((file) => expandPath(file, knownHosts)) } : {}),
  };
}
