import { DockerfileError, SyntaxProblem } from './dockerfile-error';
import { Directive, DirectiveReader } from './directives';
import { Heredoc, heredocsFromLine } from './heredoc';
import {
  ParsedArgs,
  parseHealthConfig,
  parseMaybeJSON,
  parseMaybeJSONToList,
  parseNameOrNameVal,
  parseNameVal,
  parseString,
  parseWhitespaceDelimited,
} from './line-parsers';
import { isSpace, splitFirstBlank, trimLeftSpace, trimSpace } from './text';

/** One instruction as written: syntax only, nothing expanded or validated. */
export interface DockerfileNode {
  /** The keyword as written (`RUN`, `run`, `Foo`). */
  keyword: string;
  /** Leading `--flag[=value]` words, quotes removed (validated later, per instruction). */
  flags: string[];
  /** Argument texts (see `line-parsers.ts` for how each instruction splits them). */
  args: string[];
  /** Arguments came from a JSON array (exec form). */
  json: boolean;
  /** ONBUILD's trigger instruction. */
  trigger?: DockerfileNode;
  heredocs: Heredoc[];
  /** The logical line after continuations were joined. */
  original: string;
  startLine: number;
  endLine: number;
  column: number;
}

export interface ParseWarning {
  message: string;
  detail: string;
  line: number;
}

export interface ParseResult {
  file: string;
  nodes: DockerfileNode[];
  directives: Directive[];
  escapeToken: string;
  warnings: ParseWarning[];
}

export interface ParseOptions {
  /** Name used in error messages (default `Dockerfile`). */
  file?: string;
}

export const maxLineLength = 65535;

const heredocInstructions = new Set(['run', 'copy', 'add']);

/** Flags are leading `--` words; `--` alone ends them. Quotes and `\` inside a flag are removed. */
function extractBuilderFlags(line: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < line.length && isSpace(line[pos]!)) pos++;
    if (pos >= line.length) return { rest: '', flags };
    if (!line.startsWith('--', pos)) return { rest: line.slice(pos), flags };
    let word = '';
    let quote = '';
    let blankOK = false;
    for (; pos < line.length; pos++) {
      let ch = line[pos]!;
      if (quote) {
        if (ch === quote) {
          quote = '';
          continue;
        }
      } else if (isSpace(ch)) break;
      else if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) continue;
        ch = line[++pos]!;
      }
      word += ch;
    }
    if (word === '--') return { rest: pos < line.length ? line.slice(pos) : '', flags };
    if (blankOK || word.length > 0) flags.push(word);
  }
}

function parseArgs(keyword: string, rest: string, escapeToken: string): ParsedArgs {
  switch (keyword) {
    case 'add':
    case 'copy':
    case 'volume':
      return parseMaybeJSONToList(rest);
    case 'arg':
      return parseNameOrNameVal(rest, escapeToken);
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      return parseMaybeJSON(rest);
    case 'env':
      return parseNameVal(rest, 'ENV', escapeToken);
    case 'label':
      return parseNameVal(rest, 'LABEL', escapeToken);
    case 'expose':
    case 'from':
      return parseWhitespaceDelimited(rest);
    case 'healthcheck':
      return parseHealthConfig(rest);
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return parseString(rest);
    default:
      // unknown instructions parse; the instruction layer rejects them with a suggestion
      return { args: [''], json: false };
  }
}

/** One logical line as a node; `at` places it in the file (ONBUILD triggers share their parent's place). */
function nodeFromLine(line: string, escapeToken: string, at: { startLine: number; column: number }): DockerfileNode {
  const [keyword, afterKeyword] = splitFirstBlank(trimSpace(line));
  let flags: string[] = [];
  let rest = '';
  if (afterKeyword !== undefined) ({ rest, flags } = extractBuilderFlags(afterKeyword));
  rest = trimSpace(rest);
  const { startLine, column } = at;
  if (keyword.toLowerCase() === 'onbuild') {
    const node: DockerfileNode = { keyword, flags, args: [], json: false, heredocs: [], original: line, startLine, endLine: startLine, column };
    if (rest !== '') node.trigger = nodeFromLine(rest, escapeToken, at);
    return node;
  }
  const { args, json } = parseArgs(keyword.toLowerCase(), rest, escapeToken);
  return { keyword, flags, args, json, heredocs: [], original: line, startLine, endLine: startLine, column };
}

function canContainHeredoc(node: DockerfileNode): boolean {
  const target = node.keyword.toLowerCase() === 'onbuild' && node.trigger ? node.trigger : node;
  return heredocInstructions.has(target.keyword.toLowerCase()) && !target.json;
}

const isCommentLine = (line: string): boolean => trimLeftSpace(line).startsWith('#');

/**
 * Bytes → instruction nodes, BuildKit's `parser.Parse`: directives, continuation lines with the
 * escape token, comments (also inside continuations), heredocs, JSON vs shell form.
 */
export function parse(source: string | Uint8Array, options: ParseOptions = {}): ParseResult {
  const file = options.file ?? 'Dockerfile';
  let text = typeof source === 'string' ? source : Buffer.from(source).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const directives = new DirectiveReader();
  let escapeToken = '\\';
  const nodes: DockerfileNode[] = [];
  const warnings: ParseWarning[] = [];
  let index = 0;
  const fail = (message: string, line: number, endLine = line, column = 1): never => {
    throw new DockerfileError(message, { file, line, column, endLine });
  };
  /** The next physical line with its newline (and a trailing CR) removed. */
  const take = (): string => {
    const raw = lines[index++]!;
    if (Buffer.byteLength(raw) > maxLineLength) fail(`dockerfile line greater than max allowed size of ${maxLineLength}`, index);
    let end = raw.length;
    while (end > 0 && raw[end - 1] === '\r') end--;
    return end === raw.length ? raw : raw.slice(0, end);
  };
  const readDirective = (line: string, lineNo: number): void => {
    try {
      const d = directives.read(line);
      if (d?.name === 'escape') {
        if (d.value !== '`' && d.value !== '\\') throw new SyntaxProblem(`invalid escape token '${d.value}' does not match \` or \\`);
        escapeToken = d.value;
      }
    } catch (e) {
      if (e instanceof SyntaxProblem) fail(e.message, lineNo);
      throw e;
    }
  };
  /** Strip a trailing escape token (plus blanks) unless it is itself escaped; report whether the line continues. */
  const trimContinuation = (line: string): { text: string; continues: boolean } => {
    let end = line.length;
    while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
    if (end === 0 || line[end - 1] !== escapeToken) return { text: line, continues: false };
    if (end > 1 && line[end - 2] === escapeToken) return { text: line, continues: false };
    return { text: line.slice(0, end - 1), continues: true };
  };

  while (index < lines.length) {
    const lineNo = index + 1;
    const raw = take();
    const first = trimLeftSpace(raw);
    readDirective(first, lineNo);
    if (first.startsWith('#')) continue;
    let { text: logical, continues } = trimContinuation(first);
    if (!continues && logical.length === 0) continue;
    const column = raw.length - first.length + 1;
    let hasEmptyContinuation = false;
    while (continues && index < lines.length) {
      const next = take();
      readDirective(next, index);
      if (isCommentLine(next)) continue;
      if (trimLeftSpace(next).length === 0) {
        hasEmptyContinuation = true;
        continue;
      }
      const part = trimContinuation(next);
      logical += part.text;
      continues = part.continues;
    }
    if (hasEmptyContinuation) {
      warnings.push({
        message: `Empty continuation line found in: ${logical}`,
        detail: 'Empty continuation lines will become errors in a future release',
        line: index,
      });
    }
    let node: DockerfileNode;
    try {
      node = nodeFromLine(logical, escapeToken, { startLine: lineNo, column });
    } catch (e) {
      if (e instanceof SyntaxProblem) return fail(e.message, lineNo, index, column);
      throw e;
    }
    node.endLine = index;
    if (canContainHeredoc(node) && logical.includes('<<')) {
      let opened: ReturnType<typeof heredocsFromLine>;
      try {
        opened = heredocsFromLine(logical);
      } catch (e) {
        if (e instanceof SyntaxProblem) return fail(e.message, lineNo, index, column);
        throw e;
      }
      for (const doc of opened) {
        let content = '';
        let terminated = false;
        while (index < lines.length) {
          const hadNewline = index < lines.length - 1 || text.endsWith('\n');
          const body = take();
          const candidate = doc.chomp ? body.replace(/^\t+/, '') : body;
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          content += lines[index - 1]! + (hadNewline ? '\n' : '');
        }
        if (!terminated) fail('unterminated heredoc', lineNo, index, column);
        node.heredocs.push({ ...doc, content });
      }
      node.endLine = index;
    }
    nodes.push(node);
  }
  if (nodes.length === 0) fail('file with no instructions', Math.max(index, 1));
  return { file, nodes, directives: directives.directives, escapeToken, warnings };
}
