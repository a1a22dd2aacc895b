import { invalidArgument, isCtrError, type CtrError } from '@ctr/errors';

/**
 * Go's text/template, as far as docker's `--format` templates use it: actions with `{{- -}}`
 * trimming and comments; pipelines of fields, methods, variables, literals, function calls and
 * parenthesised pipelines; `if`/`else if`/`with`/`range` with `else`, `break` and `continue`;
 * `define`, `template` and `block`; variables declared and assigned; Go's builtin functions
 * (`and`, `or`, `not`, `len`, `index`, `slice`, `eq`…`ge`, `print`, `printf`, `println`) and
 * values printed as fmt's `%v` does. Not here: `call`, `html`, `js`, `urlquery`.
 *
 * format.ts requires this module the first time a template has to be run through it, so a
 * command without one neither loads nor compiles any of it.
 */

/** What a template function is given beside its arguments. */
export interface CallContext {
  /**
   * The field a value was found in, with the field holding that (`Config.Labels`), or ''
   * when it was not found by a field: docker's `json` tells maps from structs by it.
   */
  readonly pathOf: (value: unknown) => string;
  /** The run's ExecuteOptions.fieldsOf, by which `print`, `printf` and `println` print a Go struct. */
  readonly fieldsOf: StructFields;
  /**
   * Whether a value stands for a pointer to a Go struct (its type `*…`): fmt prints one it is
   * given as `&{…}`, where an action prints the struct it points to.
   */
  readonly isPointer: (value: unknown) => boolean;
  /** What Go's `index` gives for a key `map` lacks (see ExecuteOptions.missingKey). */
  readonly missingKey: (map: object) => unknown;
}

/**
 * The fields of an object that stands for a Go struct, in the struct's order (an embedded
 * struct is one field), which fmt prints as `{v1 v2 …}` (`{F1:v1 …}` with `%+v`); undefined
 * for an object printed as a map; a string for one that is a Go error or fmt.Stringer, which
 * fmt (and a template's action) prints as what its Error or String method returns.
 */
export type StructFields = (value: object) => readonly (readonly [string, unknown])[] | string | undefined;

/** Every object a map, for a run given no fieldsOf. */
const NO_STRUCTS: StructFields = () => undefined;

/** A function templates can call, as Go's `template.FuncMap` holds them. */
export interface TemplateFunction {
  /** The fewest and the most arguments it takes, a piped value included (`Infinity`: no limit). */
  readonly arity: readonly [number, number];
  readonly call: (args: readonly unknown[], context: CallContext) => unknown;
}

/**
 * A method of a template's data: a function-valued field, called as Go calls a value's method
 * (`{{.Label "key"}}`, the arguments after it; none when it is read as a field). `parameters`
 * are the Go types it takes, checked as Go checks them; none when absent.
 */
export interface TemplateMethod {
  (...args: never[]): unknown;
  readonly parameters?: readonly ('string' | 'int')[];
}

/** How one run of a template sees its data. */
export interface ExecuteOptions {
  /**
   * The Go struct type an object of the data stands for (`*formatter.ContainerContext`), if it
   * is one: a field it lacks is then an error naming that type, not `<no value>` as for a map.
   */
  readonly typeOf?: (value: object) => string | undefined;
  /** The fields `%v` prints of an object that stands for a Go struct (see StructFields). */
  readonly fieldsOf?: StructFields;
  /** Functions that stand in for the template's own of the same names during this run. */
  readonly functions?: Readonly<Record<string, TemplateFunction>>;
  /**
   * The zero value of the element type of the Go map found in the field `path` (`Config.Labels`),
   * which `index` gives for a key the map lacks: docker's maps are typed (`map[string]string`
   * gives ''). Undefined (`<no value>`, as Go prints a nil interface{}) for one whose
   * elements are interface{}, or not known; so for every map without this option.
   */
  readonly missingKey?: (path: string) => unknown;
}

/** A parsed template. */
export interface Template {
  /** The template run on `data`; an error in it is a CtrError starting `template:`. */
  execute(data: unknown, options?: ExecuteOptions): string;
  /**
   * What a run prints up to its first error, the error dropped: docker prints a `table`
   * format's header row so, running the template on the column names.
   */
  executeUntilError(data: unknown, options?: ExecuteOptions): string;
}

/**
 * Parses `text` (errors as Go's parser words them), knowing `functions` beside Go's builtins.
 * `name` is the template's, which Go's messages give (`template: version:1: …`).
 */
export function parseTemplate(text: string, functions: Readonly<Record<string, TemplateFunction>>, name = ''): Template {
  const parser = new Parser(name, text, lex(text, name), (fn) => functionNamed(functions, fn) !== undefined || fn === 'and' || fn === 'or');
  const templates = parser.parseAll();
  const run = (data: unknown, options: ExecuteOptions, untilError: boolean): string => {
    const execution = new Execution(name, text, templates, functions, data, options);
    try {
      return execution.run();
    } catch (error) {
      if (untilError && isCtrError(error)) return execution.printed();
      throw error;
    }
  };
  return {
    execute: (data, options = {}) => run(data, options, false),
    executeUntilError: (data, options = {}) => run(data, options, true),
  };
}

/** `value` as Go's fmt prints it with `%v`, and a template prints an action's value. */
export function formatValue(value: unknown, fieldsOf: StructFields = NO_STRUCTS): string {
  return value === undefined ? '<no value>' : printed(value, '<nil>', fieldsOf);
}

type TokenKind =
  | 'text' | 'left' | 'right' | 'space' | 'identifier' | 'keyword' | 'bool' | 'nil' | 'field' | 'dot' | 'variable'
  | 'string' | 'raw' | 'char' | 'number' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma' | 'other' | 'eof';

interface Token {
  readonly kind: TokenKind;
  readonly pos: number;
  readonly text: string;
}

type Arg =
  | { readonly kind: 'field'; readonly pos: number; readonly names: readonly string[] }
  | { readonly kind: 'variable'; readonly pos: number; readonly name: string; readonly names: readonly string[] }
  | { readonly kind: 'chain'; readonly pos: number; readonly node: Arg; readonly names: readonly string[] }
  | { readonly kind: 'function'; readonly pos: number; readonly name: string }
  | { readonly kind: 'pipeline'; readonly pos: number; readonly pipe: Pipeline }
  | { readonly kind: 'dot'; readonly pos: number }
  | { readonly kind: 'literal'; readonly pos: number; readonly value: string | number | boolean | null; readonly text: string };

interface Command {
  readonly pos: number;
  readonly args: readonly Arg[];
}

interface Pipeline {
  readonly pos: number;
  readonly decl: readonly string[];
  readonly assign: boolean;
  readonly commands: readonly Command[];
}

type Control = { readonly kind: 'if' | 'with' | 'range'; readonly pos: number; readonly pipe: Pipeline; readonly list: readonly Node[]; readonly elseList: readonly Node[] | undefined };

/** `{{template "name" pipeline}}`, and what a `{{block}}` leaves where it stands. */
type Call = { readonly kind: 'template'; readonly pos: number; readonly name: string; readonly pipe: Pipeline | undefined };

type Node =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'action'; readonly pos: number; readonly pipe: Pipeline }
  | Control
  | Call
  | { readonly kind: 'break'; readonly pos: number }
  | { readonly kind: 'continue'; readonly pos: number };

/** The templates a text defines, by name: the text's own under its name, and each `define`d or `block`. */
type Templates = ReadonlyMap<string, readonly Node[]>;

/** Go's IsEmptyTree: only blank text. A template defined again must have been empty, or be so. */
function isEmptyTree(nodes: readonly Node[]): boolean {
  return nodes.every((node) => node.kind === 'text' && node.text.trim() === '');
}

function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function parseError(name: string, text: string, pos: number, message: string): CtrError {
  return invalidArgument(`template: ${name}:${lineAt(text, pos)}: ${message}`);
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Go's isAlphaNumeric: `_`, a letter or a digit. */
function isAlphaNumeric(c: string | undefined): boolean {
  if (c === undefined) return false;
  if (c <= '\x7f') return c === '_' || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return /[\p{L}\p{Nd}]/u.test(c);
}

/** Go's `%#U` of a character, for its lexer's messages. */
function describeRune(c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

function isKeyword(word: string): boolean {
  return ['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with'].includes(word);
}

/** The end of the number starting at `pos` (Go's scanNumber), or -1 when what follows is no number. */
function scanNumber(input: string, pos: number): number {
  let p = pos;
  const accept = (set: string): boolean => {
    const c = input[p];
    if (c === undefined || !set.includes(c)) return false;
    p++;
    return true;
  };
  const run = (set: string): void => {
    while (accept(set));
  };
  accept('+-');
  let digits = '0123456789_';
  if (accept('0')) {
    if (accept('xX')) digits = '0123456789abcdefABCDEF_';
    else if (accept('oO')) digits = '01234567_';
    else if (accept('bB')) digits = '01_';
  }
  run(digits);
  if (accept('.')) run(digits);
  if (digits.length === 11 && accept('eE')) {
    accept('+-');
    run('0123456789_');
  }
  if (digits.length === 23 && accept('pP')) {
    accept('+-');
    run('0123456789_');
  }
  accept('i');
  return isAlphaNumeric(input[p]) ? -1 : p;
}

/** The template as tokens; text between actions is already trimmed where `{{-`/`-}}` ask. */
function lex(input: string, name: string): Token[] {
  const fail = (pos: number, message: string): CtrError => parseError(name, input, pos, message);
  const tokens: Token[] = [];
  // The length of the right delimiter at `at`: 4 for ` -}}` (it trims what follows), 2 for `}}`, else 0.
  const rightDelim = (at: number): number => (isSpace(input[at]) && input.startsWith('-}}', at + 1) ? 4 : input.startsWith('}}', at) ? 2 : 0);
  const atTerminator = (at: number): boolean => {
    const c = input[at];
    return c === undefined || isSpace(c) || '.,|:()'.includes(c) || input.startsWith('}}', at);
  };
  let pos = 0;
  let trimText = false;
  for (;;) {
    const open = input.indexOf('{{', pos);
    let text = input.slice(pos, open < 0 ? input.length : open);
    if (trimText) text = text.replace(/^[ \t\r\n]+/, '');
    const trimLeft = open >= 0 && input[open + 2] === '-' && isSpace(input[open + 3]);
    if (trimLeft) text = text.replace(/[ \t\r\n]+$/, '');
    if (text) tokens.push({ kind: 'text', pos, text });
    if (open < 0) break;
    pos = open + (trimLeft ? 4 : 2);
    trimText = false;
    if (input.startsWith('/*', pos)) {
      const close = input.indexOf('*/', pos + 2);
      if (close < 0) throw fail(open, 'unclosed comment');
      const delim = rightDelim(close + 2);
      if (!delim) throw fail(close, 'comment ends before closing delimiter');
      trimText = delim === 4;
      pos = close + 2 + delim;
      continue;
    }
    tokens.push({ kind: 'left', pos: open, text: '{{' });
    let depth = 0;
    for (;;) {
      const delim = rightDelim(pos);
      if (delim) {
        if (depth > 0) throw fail(pos, 'unclosed left paren');
        tokens.push({ kind: 'right', pos, text: '}}' });
        trimText = delim === 4;
        pos += delim;
        break;
      }
      const start = pos;
      const push = (kind: TokenKind): void => {
        tokens.push({ kind, pos: start, text: input.slice(start, pos) });
      };
      const c = input[pos];
      if (c === undefined) throw fail(pos, 'unclosed action');
      if (isSpace(c)) {
        do pos++;
        while (isSpace(input[pos]) && !rightDelim(pos));
        push('space');
        continue;
      }
      switch (c) {
        case '=':
        case '|':
        case ',':
          pos++;
          push(c === '=' ? 'assign' : c === '|' ? 'pipe' : 'comma');
          continue;
        case ':':
          if (input[pos + 1] !== '=') throw fail(pos, 'expected :=');
          pos += 2;
          push('declare');
          continue;
        case '(':
          depth++;
          pos++;
          push('lparen');
          continue;
        case ')':
          if (--depth < 0) throw fail(pos, 'unexpected right paren');
          pos++;
          push('rparen');
          continue;
        case '"':
        case "'":
          for (pos++; input[pos] !== c; pos++) {
            if (input[pos] === undefined || input[pos] === '\n') {
              throw fail(start, c === '"' ? 'unterminated quoted string' : 'unterminated character constant');
            }
            if (input[pos] === '\\') pos++;
          }
          pos++;
          push(c === '"' ? 'string' : 'char');
          continue;
        case '`': {
          const close = input.indexOf('`', pos + 1);
          if (close < 0) throw fail(pos, 'unterminated raw quoted string');
          pos = close + 1;
          push('raw');
          continue;
        }
      }
      if ((c === '$' || c === '.') && !(c === '.' && isDigit(input[pos + 1]))) {
        for (pos++; isAlphaNumeric(input[pos]); pos++);
        if (!atTerminator(pos)) throw fail(pos, `bad character ${describeRune(input[pos] as string)}`);
        push(c === '$' ? 'variable' : pos - start === 1 ? 'dot' : 'field');
        continue;
      }
      if (c === '+' || c === '-' || c === '.' || isDigit(c)) {
        const end = scanNumber(input, pos);
        if (end < 0) throw fail(pos, `bad number syntax: ${JSON.stringify(input.slice(pos, pos + 10))}`);
        pos = end;
        push('number');
        continue;
      }
      if (isAlphaNumeric(c)) {
        for (pos++; isAlphaNumeric(input[pos]); pos++);
        if (!atTerminator(pos)) throw fail(pos, `bad character ${describeRune(input[pos] as string)}`);
        const word = input.slice(start, pos);
        push(isKeyword(word) ? 'keyword' : word === 'true' || word === 'false' ? 'bool' : word === 'nil' ? 'nil' : 'identifier');
        continue;
      }
      // Other printable ASCII is a token of its own, for the parser to report where it stands.
      if (c >= ' ' && c < '\x7f') {
        pos++;
        push('other');
        continue;
      }
      throw fail(pos, `unrecognized character in action: ${describeRune(c)}`);
    }
  }
  tokens.push({ kind: 'eof', pos: input.length, text: '' });
  return tokens;
}

/** A Go string literal's value ("…" with escapes, '…', `…` raw), or undefined if it is malformed. */
function unquote(literal: string): string | undefined {
  const quote = literal[0];
  const body = literal.slice(1, -1);
  // Go drops carriage returns from raw strings.
  if (quote === '`') return body.replace(/\r/g, '');
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const escape = body[++i];
    switch (escape) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"':
      case "'":
        if (escape !== quote) return undefined;
        out += escape;
        break;
      case 'x':
      case 'u':
      case 'U': {
        const size = escape === 'x' ? 2 : escape === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + size);
        if (hex.length !== size || !/^[0-9a-fA-F]+$/.test(hex) || parseInt(hex, 16) > 0x10ffff) return undefined;
        out += String.fromCodePoint(parseInt(hex, 16));
        i += size;
        break;
      }
      default: {
        const octal = body.slice(i, i + 3);
        if (!/^[0-3][0-7]{2}$/.test(octal)) return undefined;
        out += String.fromCharCode(parseInt(octal, 8));
        i += 2;
      }
    }
  }
  return out;
}

/** A number literal's value (Go's forms: 1_000, 0x1F, 0o17, 017, 0b101, 1.5e3), or undefined. */
function numberValue(text: string): number | undefined {
  const plain = text.replace(/_/g, '');
  const body = plain.replace(/^[+-]/, '');
  if (body === '') return undefined;
  const value = /^0[0-7]+$/.test(body) ? parseInt(body, 8) : Number(body);
  if (Number.isNaN(value)) return undefined;
  return plain.startsWith('-') ? -value : value;
}

/** How Go's parser names a token in its messages. */
function describe(token: Token): string {
  if (token.kind === 'eof') return 'EOF';
  if (token.kind === 'keyword') return `<${token.text}>`;
  return token.text.length > 10 ? `${JSON.stringify(token.text.slice(0, 10))}...` : JSON.stringify(token.text);
}

/** Go's text/template/parse, over the tokens of one text. */
class Parser {
  private index = 0;
  /** The variables in scope, `$` first: Go rejects a use of any other at parse time. */
  private readonly vars: string[] = ['$'];
  private rangeDepth = 0;
  private readonly templates = new Map<string, readonly Node[]>();

  constructor(
    private readonly name: string,
    private readonly text: string,
    private readonly tokens: readonly Token[],
    private readonly isFunction: (name: string) => boolean,
  ) {}

  /** The text's templates: its own, under its name, and those it defines. */
  parseAll(): Templates {
    const { nodes, end } = this.list(true);
    if (end) throw this.error(end, `unexpected {{${end.text}}}`);
    this.add(this.name, nodes, this.peek());
    return this.templates;
  }

  /** Go's Tree.add: a name is defined once, unless all but one of its definitions are empty. */
  private add(name: string, nodes: readonly Node[], at: Token): void {
    const existing = this.templates.get(name);
    if (existing === undefined || isEmptyTree(existing)) this.templates.set(name, nodes);
    else if (!isEmptyTree(nodes)) throw this.error(at, `template: multiple definition of template ${JSON.stringify(name)}`);
  }

  /** A template's body, parsed as Go parses a tree of its own: with only `$` in scope. */
  private body(context: string): readonly Node[] {
    const vars = this.vars.splice(1);
    const rangeDepth = this.rangeDepth;
    this.rangeDepth = 0;
    try {
      const { nodes, end } = this.list(false);
      if (!end) throw this.error(this.peek(), 'unexpected EOF');
      if (end.text !== 'end') throw this.error(end, `unexpected {{${end.text}}} in ${context}`);
      return nodes;
    } finally {
      this.vars.splice(1, Infinity, ...vars);
      this.rangeDepth = rangeDepth;
    }
  }

  /** The quoted name after `define`, `template` or `block`. */
  private templateName(context: string): { name: string; token: Token } {
    const token = this.nextNonSpace();
    if (token.kind !== 'string' && token.kind !== 'raw') throw this.error(token, `unexpected ${describe(token)} in ${context}`);
    const name = unquote(token.text);
    if (name === undefined) throw this.error(token, 'invalid syntax');
    return { name, token };
  }

  /** The body of template `name`, up to its `{{end}}`, added to the text's templates. */
  private define(name: string, context: string): void {
    const nodes = this.body(context);
    this.add(name, nodes, this.tokens[this.index - 1] as Token);
  }

  /** `{{define "name"}} list {{end}}`, the keyword read. */
  private definition(): void {
    const { name } = this.templateName('define clause');
    this.expect('right', 'define clause');
    this.define(name, 'define clause');
  }

  /** `{{template "name" [pipeline]}}`, the keyword read. */
  private templateCall(): Call {
    const { name, token } = this.templateName('template clause');
    let pipe: Pipeline | undefined;
    if (this.peekNonSpace().kind === 'right') this.nextNonSpace();
    else pipe = this.pipeline('template clause');
    return { kind: 'template', pos: token.pos, name, pipe };
  }

  /** `{{block "name" pipeline}} list {{end}}`: defines the template and calls it there. */
  private block(): Call {
    const { name, token } = this.templateName('block clause');
    const pipe = this.pipeline('block clause');
    this.define(name, 'block clause');
    return { kind: 'template', pos: token.pos, name, pipe };
  }

  private error(token: { readonly pos: number }, message: string): CtrError {
    return parseError(this.name, this.text, token.pos, message);
  }

  private next(): Token {
    const token = this.tokens[Math.min(this.index, this.tokens.length - 1)] as Token;
    this.index++;
    return token;
  }

  private peek(): Token {
    const token = this.next();
    this.index--;
    return token;
  }

  private nextNonSpace(): Token {
    let token: Token;
    do token = this.next();
    while (token.kind === 'space');
    return token;
  }

  /** The next token that is not a space; the spaces before it are read. */
  private peekNonSpace(): Token {
    const token = this.nextNonSpace();
    this.index--;
    return token;
  }

  private expect(kind: TokenKind, context: string): Token {
    const token = this.nextNonSpace();
    if (token.kind !== kind) throw this.error(token, `unexpected ${describe(token)} in ${context}`);
    return token;
  }

  /**
   * Nodes up to `{{end}}` or `{{else}}` (returned as `end`, with `{{end}}`'s `}}` read) or the
   * end of the text. `top`: the text's own list, the one place Go takes a `{{define}}`.
   */
  private list(top: boolean): { nodes: Node[]; end: Token | undefined } {
    const nodes: Node[] = [];
    for (;;) {
      const token = this.next();
      if (token.kind === 'eof') return { nodes, end: undefined };
      if (token.kind === 'text') {
        nodes.push({ kind: 'text', text: token.text });
        continue;
      }
      const word = this.peekNonSpace();
      if (word.kind !== 'keyword') {
        nodes.push({ kind: 'action', pos: word.pos, pipe: this.pipeline('command') });
        continue;
      }
      this.next();
      switch (word.text) {
        case 'end':
          this.expect('right', 'end');
          return { nodes, end: word };
        case 'else':
          return { nodes, end: word };
        case 'if':
        case 'with':
        case 'range':
          nodes.push(this.control(word.text, word));
          continue;
        case 'break':
        case 'continue': {
          this.expect('right', `{{${word.text}}}`);
          if (this.rangeDepth === 0) throw this.error(word, `{{${word.text}}} outside {{range}}`);
          nodes.push({ kind: word.text, pos: word.pos });
          continue;
        }
        case 'define':
          if (!top) throw this.error(word, 'unexpected <define> in command');
          this.definition();
          continue;
        case 'template':
          nodes.push(this.templateCall());
          continue;
        case 'block':
          nodes.push(this.block());
          continue;
        default:
          throw this.error(word, `unexpected ${describe(word)} in command`);
      }
    }
  }

  /** `{{if|with|range pipeline}} list [{{else [if|with …]}} list] {{end}}`, the keyword read. */
  private control(kind: Control['kind'], keyword: Token): Control {
    const scope = this.vars.length;
    const pipe = this.pipeline(kind);
    if (kind === 'range') this.rangeDepth++;
    const body = this.list(false);
    if (kind === 'range') this.rangeDepth--;
    if (!body.end) throw this.error(this.peek(), 'unexpected EOF');
    let elseList: Node[] | undefined;
    if (body.end.text === 'else') {
      const next = this.peekNonSpace();
      if (kind !== 'range' && next.kind === 'keyword' && next.text === kind) {
        // {{else if …}} is an {{if}} inside the {{else}}, the two closed by one {{end}}.
        this.next();
        elseList = [this.control(kind, next)];
      } else {
        this.expect('right', 'else');
        const rest = this.list(false);
        if (!rest.end) throw this.error(this.peek(), 'unexpected EOF');
        if (rest.end.text !== 'end') throw this.error(rest.end, 'expected end; found {{else}}');
        elseList = rest.nodes;
      }
    }
    this.vars.length = scope;
    return { kind, pos: keyword.pos, pipe, list: body.nodes, elseList };
  }

  /** `[$x := | $x = | $i, $v :=] command | command …` up to and including `}}` or `)`. */
  private pipeline(context: string): Pipeline {
    const start = this.peekNonSpace();
    const decl: string[] = [];
    let assign = false;
    if (start.kind === 'variable') {
      const before = this.index;
      this.next();
      const next = this.peekNonSpace();
      if (next.kind === 'declare' || next.kind === 'assign') {
        this.next();
        assign = next.kind === 'assign';
        this.declare(start, assign);
        decl.push(start.text);
      } else if (next.kind === 'comma') {
        this.next();
        if (context !== 'range') throw this.error(next, `too many declarations in ${context}`);
        const second = this.nextNonSpace();
        if (second.kind !== 'variable') throw this.error(second, 'range can only initialize variables');
        const operator = this.nextNonSpace();
        if (operator.kind !== 'declare' && operator.kind !== 'assign') throw this.error(operator, `unexpected ${describe(operator)} in range`);
        assign = operator.kind === 'assign';
        this.declare(start, assign);
        this.declare(second, assign);
        decl.push(start.text, second.text);
      } else {
        this.index = before;
      }
    }
    const commands: Command[] = [];
    let afterPipe = false;
    for (;;) {
      const token = this.nextNonSpace();
      switch (token.kind) {
        case 'right':
        case 'rparen':
          if (commands.length === 0) throw this.error(token, `missing value for ${context}`);
          if (afterPipe) throw this.error(token, 'missing command after |');
          commands.slice(1).forEach((command, i) => {
            const kind = command.args[0]?.kind;
            if (kind === 'literal' || kind === 'dot') throw this.error(command, `non executable command in pipeline stage ${i + 2}`);
          });
          return { pos: start.pos, decl, assign, commands };
        case 'bool':
        case 'char':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'raw':
        case 'string':
        case 'variable':
        case 'lparen':
          this.index--;
          commands.push(this.command());
          afterPipe = this.tokens[this.index - 1]?.kind === 'pipe';
          continue;
        default:
          throw this.error(token, `unexpected ${describe(token)} in ${context}`);
      }
    }
  }

  private declare(variable: Token, assign: boolean): void {
    if (assign && !this.vars.includes(variable.text)) throw this.error(variable, `undefined variable "${variable.text}"`);
    this.vars.push(variable.text);
  }

  /** Operands separated by spaces, up to a `|` (read) or a `}}`/`)` (left for the pipeline). */
  private command(): Command {
    const pos = this.peekNonSpace().pos;
    const args: Arg[] = [];
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) args.push(operand);
      const token = this.next();
      if (token.kind === 'space') continue;
      if (token.kind === 'right' || token.kind === 'rparen') this.index--;
      else if (token.kind !== 'pipe') throw this.error(token, `unexpected ${describe(token)} in operand`);
      break;
    }
    if (args.length === 0) throw this.error({ pos }, 'empty command');
    return { pos, args };
  }

  /** A term and the fields read from it (`.A.B`, `$x.A`, `(index .X 0).Gateway`). */
  private operand(): Arg | undefined {
    const node = this.term();
    if (!node || this.peek().kind !== 'field') return node;
    const pos = this.peek().pos;
    const names: string[] = [];
    while (this.peek().kind === 'field') names.push(this.next().text.slice(1));
    switch (node.kind) {
      case 'field':
      case 'variable':
        // Go's position of such a chain is its first field after the term.
        return { ...node, pos, names: [...node.names, ...names] };
      case 'literal':
      case 'dot':
        throw this.error(node, `unexpected . after term ${JSON.stringify(argText(node))}`);
      default:
        return { kind: 'chain', pos, node, names };
    }
  }

  private term(): Arg | undefined {
    const token = this.nextNonSpace();
    const { pos } = token;
    switch (token.kind) {
      case 'identifier':
        if (!this.isFunction(token.text)) throw this.error(token, `function ${JSON.stringify(token.text)} not defined`);
        return { kind: 'function', pos, name: token.text };
      case 'dot':
        return { kind: 'dot', pos };
      case 'nil':
        return { kind: 'literal', pos, value: null, text: 'nil' };
      case 'bool':
        return { kind: 'literal', pos, value: token.text === 'true', text: token.text };
      case 'variable':
        if (!this.vars.includes(token.text)) throw this.error(token, `undefined variable ${JSON.stringify(token.text)}`);
        return { kind: 'variable', pos, name: token.text, names: [] };
      case 'field':
        return { kind: 'field', pos, names: [token.text.slice(1)] };
      case 'number': {
        const value = numberValue(token.text);
        if (value === undefined) throw this.error(token, `illegal number syntax: ${JSON.stringify(token.text)}`);
        return { kind: 'literal', pos, value, text: token.text };
      }
      case 'char': {
        const text = unquote(token.text);
        if (text === undefined || [...text].length !== 1) throw this.error(token, `malformed character constant: ${token.text}`);
        return { kind: 'literal', pos, value: text.codePointAt(0) as number, text: token.text };
      }
      case 'string':
      case 'raw': {
        const value = unquote(token.text);
        if (value === undefined) throw this.error(token, 'invalid syntax');
        return { kind: 'literal', pos, value, text: token.text };
      }
      case 'lparen':
        return { kind: 'pipeline', pos, pipe: this.pipeline('parenthesized pipeline') };
      default:
        this.index--;
        return undefined;
    }
  }
}

function argText(arg: Arg): string {
  switch (arg.kind) {
    case 'field':
      return `.${arg.names.join('.')}`;
    case 'variable':
      return [arg.name, ...arg.names].join('.');
    case 'chain':
      return `${argText(arg.node)}.${arg.names.join('.')}`;
    case 'function':
      return arg.name;
    case 'pipeline':
      return `(${pipelineText(arg.pipe)})`;
    case 'dot':
      return '.';
    case 'literal':
      return arg.text;
  }
}

function commandText(command: Command): string {
  return command.args.map(argText).join(' ');
}

function pipelineText(pipe: Pipeline): string {
  const decl = pipe.decl.length > 0 ? `${pipe.decl.join(', ')} ${pipe.assign ? '=' : ':='} ` : '';
  return decl + pipe.commands.map(commandText).join(' | ');
}

/** A `{{template}}` as Go's TemplateNode.String writes it, for the place in an error. */
function callText(node: Call): string {
  return `{{template ${JSON.stringify(node.name)}${node.pipe ? ` ${pipelineText(node.pipe)}` : ''}}}`;
}

function functionNamed(functions: Readonly<Record<string, TemplateFunction>>, name: string): TemplateFunction | undefined {
  // As Go's: a template's own functions first, then the builtins.
  if (Object.hasOwn(functions, name)) return functions[name];
  return Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
}

/** Go's truth: false, 0, nil and an empty string, array or map are false. */
function truth(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

type Signal = 'break' | 'continue' | undefined;

/** Go's limit on `{{template}}` calls inside one another (its exec's maxExecDepth). */
const MAX_DEPTH = 100000;

/** The arguments a field or method is given in a command: those after it, and the value piped into it. */
interface Invocation {
  readonly dot: unknown;
  readonly args: readonly Arg[];
  readonly final: { value: unknown } | undefined;
}

/** One run of a template (Go's exec `state`): its output, variables and where each value came from. */
class Execution {
  private readonly output: string[] = [];
  private vars: { name: string; value: unknown }[];
  /** The template being run, which errors name (`executing "x"`). */
  private executing: string;
  private depth = 0;
  /** The field (with its parent's) each object was last found in, for `json`. */
  private readonly places = new WeakMap<object, string>();
  private readonly context: CallContext = {
    pathOf: (value) => (value !== null && typeof value === 'object' ? this.places.get(value) ?? '' : ''),
    fieldsOf: (value) => this.options.fieldsOf?.(value),
    isPointer: (value) =>
      value !== null && typeof value === 'object' && Array.isArray(this.options.fieldsOf?.(value)) && (this.options.typeOf?.(value)?.startsWith('*') ?? false),
    missingKey: (map) => this.options.missingKey?.(this.context.pathOf(map)),
  };

  constructor(
    private readonly name: string,
    private readonly text: string,
    private readonly templates: Templates,
    private readonly functions: Readonly<Record<string, TemplateFunction>>,
    private readonly data: unknown,
    private readonly options: ExecuteOptions,
  ) {
    this.vars = [{ name: '$', value: data }];
    this.executing = name;
  }

  run(): string {
    this.list(this.data, this.templates.get(this.name) ?? []);
    return this.printed();
  }

  /** What the run has printed so far. */
  printed(): string {
    return this.output.join('');
  }

  /**
   * An error as Go's exec words it: `template: :1:2: executing "" at <.A.B>: …`, the node
   * whole (the Go docker 28 is built with cuts no long one short, as older Go did at 20).
   */
  private fail(pos: number, context: string, message: string): CtrError {
    const column = pos - (this.text.lastIndexOf('\n', pos - 1) + 1);
    return invalidArgument(`template: ${this.name}:${lineAt(this.text, pos)}:${column}: executing ${JSON.stringify(this.executing)} at <${context}>: ${message}`);
  }

  private list(dot: unknown, nodes: readonly Node[]): Signal {
    for (const node of nodes) {
      const signal = this.walk(dot, node);
      if (signal) return signal;
    }
    return undefined;
  }

  private walk(dot: unknown, node: Node): Signal {
    switch (node.kind) {
      case 'text':
        this.output.push(node.text);
        return undefined;
      case 'action': {
        const value = this.pipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.output.push(formatValue(value, this.context.fieldsOf));
        return undefined;
      }
      case 'if':
      case 'with':
        return this.conditional(dot, node);
      case 'range':
        return this.range(dot, node);
      case 'template':
        this.template(dot, node);
        return undefined;
      case 'break':
      case 'continue':
        return node.kind;
    }
  }

  /** `{{template "name" pipeline}}`: the template run on the pipeline's value, with only `$` (that value) in scope. */
  private template(dot: unknown, node: Call): void {
    const nodes = this.templates.get(node.name);
    const where = (message: string): CtrError => this.fail(node.pos, callText(node), message);
    if (nodes === undefined) throw where(`template ${JSON.stringify(node.name)} not defined`);
    if (this.depth >= MAX_DEPTH) throw where(`exceeded maximum template depth (${MAX_DEPTH})`);
    const value = node.pipe ? this.pipeline(dot, node.pipe) : undefined;
    const { vars, executing } = this;
    this.vars = [{ name: '$', value }];
    this.executing = node.name;
    this.depth++;
    try {
      this.list(value, nodes);
    } catch (error) {
      // JavaScript's stack ends before Go's count does.
      if (error instanceof RangeError) throw where(`exceeded maximum template depth (${MAX_DEPTH})`);
      throw error;
    } finally {
      this.vars = vars;
      this.executing = executing;
      this.depth--;
    }
  }

  private conditional(dot: unknown, node: Control): Signal {
    const scope = this.vars.length;
    try {
      const value = this.pipeline(dot, node.pipe);
      if (truth(value)) return this.list(node.kind === 'with' ? value : dot, node.list);
      return node.elseList ? this.list(dot, node.elseList) : undefined;
    } finally {
      this.vars.length = scope;
    }
  }

  private range(dot: unknown, node: Control): Signal {
    const scope = this.vars.length;
    try {
      const value = this.pipeline(dot, node.pipe);
      let entries: [unknown, unknown][];
      if (value === undefined || value === null) entries = [];
      else if (Array.isArray(value)) entries = value.map((item, i) => [i, item]);
      // A Go struct has no entries to range over.
      else if (typeof value === 'object' && this.options.typeOf?.(value) === undefined) entries = sortedEntries(value);
      else throw this.fail(node.pipe.pos, pipelineText(node.pipe), `range can't iterate over ${formatValue(value, this.context.fieldsOf)}`);
      if (entries.length === 0) return node.elseList ? this.list(dot, node.elseList) : undefined;
      const [first, second] = node.pipe.decl;
      for (const [key, item] of entries) {
        if (second !== undefined) {
          this.setVar(node.pipe, first as string, key);
          this.setVar(node.pipe, second, item);
        } else if (first !== undefined) {
          this.setVar(node.pipe, first, item);
        }
        const inner = this.vars.length;
        const signal = this.list(item, node.list);
        this.vars.length = inner;
        if (signal === 'break') break;
      }
      return undefined;
    } finally {
      this.vars.length = scope;
    }
  }

  private setVar(pipe: Pipeline, name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const variable = this.vars[i] as { name: string; value: unknown };
      if (variable.name === name) {
        variable.value = value;
        return;
      }
    }
    throw this.fail(pipe.pos, pipelineText(pipe), `undefined variable: ${name}`);
  }

  private variable(node: Arg & { kind: 'variable' }): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const variable = this.vars[i] as { name: string; value: unknown };
      if (variable.name === node.name) return variable.value;
    }
    throw this.fail(node.pos, argText(node), `undefined variable: ${node.name}`);
  }

  private pipeline(dot: unknown, pipe: Pipeline): unknown {
    let value: unknown;
    pipe.commands.forEach((command, i) => {
      value = this.command(dot, command, i > 0 ? { value } : undefined);
    });
    for (const name of pipe.decl) {
      if (pipe.assign) this.setVar(pipe, name, value);
      else this.vars.push({ name, value });
    }
    return value;
  }

  /** A command's value; `final` is the value piped into it, its last argument. */
  private command(dot: unknown, command: Command, final: { value: unknown } | undefined): unknown {
    const [first, ...rest] = command.args as [Arg, ...Arg[]];
    const call = { dot, args: rest, final };
    const notAFunction = (): void => {
      if (rest.length > 0 || final !== undefined) throw this.fail(command.pos, commandText(command), `can't give argument to non-function ${argText(first)}`);
    };
    switch (first.kind) {
      case 'function':
        return this.call(dot, first, command, rest, final);
      case 'field':
        return this.fields(dot, first, call);
      case 'chain':
        return this.fields(this.arg(dot, first.node), first, call);
      case 'variable':
        if (first.names.length === 0) notAFunction();
        return this.fields(this.variable(first), first, call);
      case 'pipeline':
        notAFunction();
        return this.pipeline(dot, first.pipe);
      case 'dot':
        notAFunction();
        return dot;
      case 'literal':
        if (first.value === null) throw this.fail(command.pos, commandText(command), 'nil is not a command');
        notAFunction();
        return first.value;
    }
  }

  private arg(dot: unknown, arg: Arg): unknown {
    switch (arg.kind) {
      case 'function':
        return this.call(dot, arg, { pos: arg.pos, args: [arg] }, [], undefined);
      case 'field':
        return this.fields(dot, arg, undefined);
      case 'chain':
        return this.fields(this.arg(dot, arg.node), arg, undefined);
      case 'variable':
        return this.fields(this.variable(arg), arg, undefined);
      case 'pipeline':
        return this.pipeline(dot, arg.pipe);
      case 'dot':
        return dot;
      case 'literal':
        return arg.value;
    }
  }

  /**
   * `receiver.A.B…`, the last given `call`'s arguments: a missing field, or one of a missing
   * value, is missing (`<no value>`), unless what lacks it is a Go struct; a method is called.
   */
  private fields(receiver: unknown, node: Arg & { names: readonly string[] }, call: Invocation | undefined): unknown {
    const count = call ? call.args.length + (call.final ? 1 : 0) : 0;
    let value = receiver;
    for (const [i, name] of node.names.entries()) {
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'object' || Array.isArray(value)) {
        // A named slice type (store.EndpointFiles) is named as Go names it.
        const type = (typeof value === 'object' && this.options.typeOf?.(value)) || goType(value);
        throw this.fail(node.pos, argText(node), `can't evaluate field ${name} in type ${type}`);
      }
      const last = i === node.names.length - 1;
      // Own fields, and those of a class's prototype; never Object's (`.constructor`).
      const found = Object.hasOwn(value, name) || !(name in Object.prototype) ? (value as Record<string, unknown>)[name] : undefined;
      if (typeof found === 'function') {
        value = this.method(found as TemplateMethod, name, node, last ? call : undefined);
        continue;
      }
      const struct = this.options.typeOf?.(value);
      if (struct !== undefined && found === undefined) throw this.fail(node.pos, argText(node), `can't evaluate field ${name} in type ${struct}`);
      if (last && count > 0) {
        // A Go struct's values are methods without parameters; a map's are not methods.
        throw this.fail(node.pos, argText(node), struct !== undefined ? `wrong number of args for ${name}: want 0 got ${count}` : `${name} is not a method but has arguments`);
      }
      const parent = this.places.get(value)?.split('.').pop();
      if (found !== null && typeof found === 'object') this.places.set(found, parent ? `${parent}.${name}` : name);
      value = found;
    }
    return value;
  }

  /** A method of the data called as Go calls it: the arguments counted and each checked against its parameter's type. */
  private method(method: TemplateMethod, name: string, node: Arg, call: Invocation | undefined): unknown {
    const parameters = method.parameters ?? [];
    const args = call?.args ?? [];
    const count = args.length + (call?.final ? 1 : 0);
    if (count !== parameters.length) throw this.fail(node.pos, argText(node), `wrong number of args for ${name}: want ${parameters.length} got ${count}`);
    const values = args.map((arg, i) => this.typed(call?.dot, arg, parameters[i] as 'string' | 'int'));
    if (call?.final) values.push(this.checked(call.final.value, parameters[count - 1] as 'string' | 'int', node.pos, argText(node)));
    return (method as (...values: unknown[]) => unknown)(...values);
  }

  /** An argument for a parameter of Go type `type`: a literal of another kind is refused as Go's evalArg refuses it. */
  private typed(dot: unknown, arg: Arg, type: 'string' | 'int'): unknown {
    if (arg.kind !== 'literal') return this.checked(this.arg(dot, arg), type, arg.pos, argText(arg));
    if (arg.value === null) throw this.fail(arg.pos, arg.text, `cannot assign nil to ${type}`);
    const fits = type === 'string' ? typeof arg.value === 'string' : typeof arg.value === 'number' && Number.isInteger(arg.value) && !/^'/.test(arg.text);
    if (!fits) throw this.fail(arg.pos, arg.text, `expected ${type === 'string' ? 'string' : 'integer'}; found ${arg.text}`);
    return arg.value;
  }

  /** A value given for a parameter of Go type `type`, as Go's validateType takes or refuses it. */
  private checked(value: unknown, type: 'string' | 'int', pos: number, context: string): unknown {
    if (value === undefined) throw this.fail(pos, context, `invalid value; expected ${type}`);
    if (type === 'string' ? typeof value === 'string' : typeof value === 'number' && Number.isInteger(value)) return value;
    throw this.fail(pos, context, `wrong type for value; expected ${type}; got ${value === null ? '<nil>' : goType(value)}`);
  }

  private call(dot: unknown, node: Arg & { kind: 'function' }, command: Command, args: readonly Arg[], final: { value: unknown } | undefined): unknown {
    const { name } = node;
    const count = args.length + (final ? 1 : 0);
    const where = (message: string): CtrError => this.fail(command.pos, commandText(command), message);
    if (name === 'and' || name === 'or') {
      if (count === 0) throw where(`wrong number of args for ${name}: want at least 1 got 0`);
      // As Go's since 1.18: the arguments are evaluated until one decides the result.
      let value: unknown;
      for (const arg of args) {
        value = this.arg(dot, arg);
        if (truth(value) === (name === 'or')) return value;
      }
      return final ? final.value : value;
    }
    const overrides = this.options.functions;
    const fn = (overrides && Object.hasOwn(overrides, name) ? overrides[name] : functionNamed(this.functions, name)) as TemplateFunction;
    const [fewest, most] = fn.arity;
    if (count < fewest || count > most) throw where(`wrong number of args for ${name}: want ${fewest === most ? '' : 'at least '}${fewest} got ${count}`);
    const values = args.map((arg) => this.arg(dot, arg));
    if (final) values.push(final.value);
    try {
      return fn.call(values, this.context);
    } catch (error) {
      if (isCtrError(error)) throw error;
      throw where(`error calling ${name}: ${(error as Error).message}`);
    }
  }
}

/** Go's order of map keys: by bytes, not by locale. */
function sortedEntries(value: object): [string, unknown][] {
  // A value's methods are no entries of it.
  return Object.entries(value)
    .filter(([, item]) => typeof item !== 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The Go type a value stands for, as fmt names it in `%!d(string=x)`. */
function goType(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float64';
  // A field too wide for a float64's 53 bits (an event's TimeNano).
  if (typeof value === 'bigint') return 'int64';
  if (typeof value === 'boolean') return 'bool';
  return Array.isArray(value) ? '[]interface {}' : 'map[string]interface {}';
}

/**
 * `%v`; `nil` is what a nil prints as: `<no value>` as an action's whole value, `<nil>` inside
 * another. `fieldsOf` tells a Go struct (`{v1 v2}`) from a map.
 */
function printed(value: unknown, nil: string, fieldsOf: StructFields): string {
  if (value === undefined || value === null) return nil;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return goNumber(value);
  if (Array.isArray(value)) return `[${value.map((item) => printed(item, '<nil>', fieldsOf)).join(' ')}]`;
  if (typeof value === 'object') {
    const fields = fieldsOf(value);
    if (typeof fields === 'string') return fields;
    if (fields) return `{${fields.map(([, item]) => printed(item, '<nil>', fieldsOf)).join(' ')}}`;
    return `map[${sortedEntries(value).map(([key, item]) => `${key}:${printed(item, '<nil>', fieldsOf)}`).join(' ')}]`;
  }
  return String(value);
}

/** A number as Go prints it: an integer's digits; any other as a float64's `%v` (1.5, 1.2345678e+06). */
function goNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  return `${value < 0 ? '-' : ''}${goFloat(Math.abs(value), 'g', undefined)}`;
}

/** A finite, non-negative number in Go's `%e`, `%f` or `%g` (`precision` undefined: the default). */
function goFloat(value: number, verb: 'e' | 'f' | 'g', precision: number | undefined): string {
  if (verb === 'e') return value.toExponential(precision ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
  if (verb === 'f') {
    const digits = precision ?? 6;
    return value < 1e21 ? value.toFixed(digits) : `${BigInt(value)}${digits > 0 ? `.${'0'.repeat(digits)}` : ''}`;
  }
  // %g: the shortest digits that read back as the value, or `precision` of them, trailing zeros dropped.
  const [mantissa, exponent] = (precision === undefined ? value.toExponential() : value.toExponential(Math.max(precision, 1) - 1)).split('e') as [string, string];
  const digits = mantissa.replace('.', '').replace(/(?<=.)0+$/, '');
  const exp = Number(exponent);
  let eprec = precision === undefined ? 6 : Math.max(precision, 1);
  if (precision !== undefined && eprec > digits.length && digits.length >= exp + 1) eprec = digits.length;
  if (exp < -4 || exp >= eprec) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
    return `${digits[0]}${fraction}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const point = exp + 1;
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * What Go's strconv.IsPrint leaves as it is: letters, marks, numbers, punctuation, symbols and
 * the ASCII space — not other spaces (U+00A0), line and paragraph separators, format characters
 * (U+200B, U+FEFF), private-use or unassigned code points.
 */
const GO_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go's strconv.Quote (`%q`), or QuoteRune with `quote` `'`. */
export function goQuote(text: string, quote = '"'): string {
  let out = quote;
  for (const c of text) {
    const code = c.codePointAt(0) as number;
    if (c === quote || c === '\\') out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else if (c === '\r') out += '\\r';
    else if (c === '\x07') out += '\\a';
    else if (c === '\b') out += '\\b';
    else if (c === '\f') out += '\\f';
    else if (c === '\v') out += '\\v';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    // A lone surrogate can only come from JSON's `\ud800`, which Go's decoder already made U+FFFD (printable).
    else if (code >= 0xd800 && code <= 0xdfff) out += '\ufffd';
    else if (code < 0x7f || GO_PRINTABLE.test(c)) out += c;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return out + quote;
}

/** A printf directive's flags, width and precision. */
interface Directive {
  readonly plus: boolean;
  /** `%+v`: Go's fmt takes the `+` to name a struct's fields, at every depth, and signs no number. */
  readonly plusV: boolean;
  readonly minus: boolean;
  readonly sharp: boolean;
  readonly space: boolean;
  readonly zero: boolean;
  readonly width: number | undefined;
  readonly precision: number | undefined;
}

/** `text` padded with spaces (zeros with the `0` flag) to the directive's width, counted in characters. */
function pad(text: string, directive: Directive, zeros = directive.zero): string {
  const missing = (directive.width ?? 0) - [...text].length;
  if (missing <= 0) return text;
  if (directive.minus) return text + ' '.repeat(missing);
  return (zeros ? '0' : ' ').repeat(missing) + text;
}

/** A number with its sign, zero-padded after the sign when the directive asks. */
function signed(negative: boolean, body: string, directive: Directive, zeros: boolean): string {
  const sign = negative ? '-' : directive.plus ? '+' : directive.space ? ' ' : '';
  if (zeros && directive.zero && !directive.minus && directive.width !== undefined) {
    return sign + body.padStart(directive.width - sign.length, '0');
  }
  return pad(sign + body, directive, false);
}

function badVerb(verb: string, value: unknown): string {
  return `%!${verb}(${value === undefined || value === null ? '<nil>' : `${goType(value)}=${printed(value, '<nil>', NO_STRUCTS)}`})`;
}

/** One argument of printf under one verb, as Go's fmt formats it (a Go struct known by `fieldsOf`). */
function formatArg(value: unknown, verb: string, directive: Directive, fieldsOf: StructFields): string {
  const each = (item: unknown): string => formatArg(item, verb, directive, fieldsOf);
  if (value === undefined || value === null) return verb === 'v' ? pad('<nil>', directive, false) : badVerb(verb, value);
  if (Array.isArray(value)) return `[${value.map(each).join(' ')}]`;
  if (typeof value === 'object') {
    const fields = fieldsOf(value);
    if (typeof fields === 'string') return each(fields);
    if (fields) return `{${fields.map(([name, item]) => `${directive.plusV ? `${name}:` : ''}${each(item)}`).join(' ')}}`;
    return `map[${sortedEntries(value).map(([key, item]) => `${each(key)}:${each(item)}`).join(' ')}]`;
  }
  if (typeof value === 'boolean') return verb === 't' || verb === 'v' ? pad(String(value), directive, false) : badVerb(verb, value);
  if (typeof value === 'string') {
    const cut = directive.precision === undefined ? value : [...value].slice(0, directive.precision).join('');
    switch (verb) {
      case 'v':
      case 's':
        return pad(cut, directive);
      case 'q':
        return pad(goQuote(cut), directive);
      case 'x':
      case 'X': {
        const hex = Buffer.from(value).toString('hex');
        return pad(verb === 'X' ? hex.toUpperCase() : hex, directive);
      }
      default:
        return badVerb(verb, value);
    }
  }
  // Go's fmt formats an int64 by its integer verbs only: `%f` of one is a bad verb.
  if (typeof value === 'bigint') return formatInteger(value, verb, directive);
  if (typeof value !== 'number') return badVerb(verb, value);
  const negative = value < 0 || Object.is(value, -0);
  if (!Number.isFinite(value)) {
    if (!'vefgEFG'.includes(verb)) return badVerb(verb, value);
    return Number.isNaN(value) ? pad('NaN', directive, false) : signed(value < 0, 'Inf', { ...directive, plus: value > 0 || directive.plus }, false);
  }
  const float = (kind: 'e' | 'f' | 'g', upper: boolean): string => {
    const body = goFloat(Math.abs(value), kind, directive.precision);
    return signed(negative, upper ? body.toUpperCase() : body, directive, true);
  };
  switch (verb) {
    case 'e':
    case 'E':
      return float('e', verb === 'E');
    case 'f':
    case 'F':
      return float('f', false);
    case 'g':
    case 'G':
      return float('g', verb === 'G');
  }
  if (!Number.isInteger(value)) return verb === 'v' ? float('g', false) : badVerb(verb, value);
  return formatInteger(value, verb, directive);
}

/** An integer (an int, or a bigint as Go's int64) under one printf verb, as Go's fmtInteger formats it. */
function formatInteger(value: number | bigint, verb: string, directive: Directive): string {
  const exact = BigInt(value);
  const magnitude = exact < 0n ? -exact : exact;
  const character = exact >= 0n && exact <= 0x10ffffn ? String.fromCodePoint(Number(exact)) : undefined;
  const integer = (radix: number, prefix: string): string => {
    let digits = directive.precision === 0 && exact === 0n ? '' : magnitude.toString(radix);
    if (directive.precision !== undefined) digits = digits.padStart(directive.precision, '0');
    if (radix === 16 && verb === 'X') digits = digits.toUpperCase();
    const body = (directive.sharp || verb === 'O' ? prefix : '') + digits;
    return signed(exact < 0n, body, directive, directive.precision === undefined);
  };
  switch (verb) {
    case 'v':
    case 'd':
      return integer(10, '');
    case 'b':
      return integer(2, '0b');
    case 'o':
    case 'O':
      return integer(8, verb === 'O' ? '0o' : '0');
    case 'x':
      return integer(16, '0x');
    case 'X':
      return integer(16, '0X');
    case 'c':
      return pad(character ?? '\ufffd', directive, false);
    case 'q':
      return pad(character === undefined ? "'\ufffd'" : goQuote(character, "'"), directive, false);
    case 'U':
      return pad(`U+${magnitude.toString(16).toUpperCase().padStart(4, '0')}`, directive, false);
    default:
      return badVerb(verb, value);
  }
}

/** Go's fmt.Sprintf over template values: verbs v s d q t x X o b c U e f g, flags + - # space 0, width, precision. */
function sprintf(format: string, args: readonly unknown[], { fieldsOf, isPointer }: CallContext): string {
  let out = '';
  let next = 0;
  let i = 0;
  const number = (): number | undefined => {
    if (format[i] === '*') {
      i++;
      const value = args[next++];
      return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
    }
    const start = i;
    while (isDigit(format[i])) i++;
    return i > start ? Number(format.slice(start, i)) : undefined;
  };
  while (i < format.length) {
    const percent = format.indexOf('%', i);
    if (percent < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, percent);
    i = percent + 1;
    const flags = { plus: false, minus: false, sharp: false, space: false, zero: false };
    for (let c = format[i]; c !== undefined && '+-# 0'.includes(c); c = format[++i]) {
      if (c === '+') flags.plus = true;
      else if (c === '-') flags.minus = true;
      else if (c === '#') flags.sharp = true;
      else if (c === ' ') flags.space = true;
      else flags.zero = true;
    }
    let width = number();
    if (width !== undefined && width < 0) {
      flags.minus = true;
      width = -width;
    }
    let precision: number | undefined;
    if (format[i] === '.') {
      i++;
      precision = number() ?? 0;
    }
    const verb = format.codePointAt(i);
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    const letter = String.fromCodePoint(verb);
    i += letter.length;
    if (letter === '%') out += '%';
    else if (next >= args.length) out += `%!${letter}(MISSING)`;
    else {
      const plusV = letter === 'v' && flags.plus;
      const arg = args[next++];
      out += (isPointer(arg) ? '&' : '') + formatArg(arg, letter, { ...flags, plus: flags.plus && !plusV, plusV, width, precision }, fieldsOf);
    }
  }
  if (next < args.length) {
    out += `%!(EXTRA ${args
      .slice(next)
      .map((arg) => (arg === undefined || arg === null ? '<nil>' : `${goType(arg)}=${printed(arg, '<nil>', fieldsOf)}`))
      .join(', ')})`;
  }
  return out;
}

/** Go's fmt.Sprint: a space between two operands when neither is a string. */
function sprint(args: readonly unknown[], context: CallContext): string {
  return args.map((arg, i) => (i > 0 && typeof arg !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + operand(arg, context)).join('');
}

/** One operand of fmt's Sprint and Sprintln as `%v`: `&{…}` for a pointer to a struct. */
function operand(value: unknown, { fieldsOf, isPointer }: CallContext): string {
  return (isPointer(value) ? '&' : '') + printed(value, '<nil>', fieldsOf);
}

/**
 * The kinds Go's comparison functions tell apart (numbers are one here: JSON has no int and
 * float; see comparable for a bigint).
 */
function basicKind(value: unknown): 'nil' | 'bool' | 'number' | 'string' | 'other' {
  if (value === undefined || value === null) return 'nil';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number' || typeof value === 'bigint') return 'number';
  return typeof value === 'string' ? 'string' : 'other';
}

/**
 * Two values of one basic kind as `===` and `<` compare them as Go does: a bigint (Go's int64)
 * and an integer (a template's `0` is a Go int, which Go compares with an int64) as bigints;
 * Go refuses an int64 and a float.
 */
function comparable(a: unknown, b: unknown): [unknown, unknown] {
  if (typeof a === typeof b) return [a, b];
  // Within one kind only a bigint and a number differ in type.
  if (!Number.isInteger(typeof a === 'number' ? a : b)) throw new Error('incompatible types for comparison');
  return [BigInt(a as number | bigint), BigInt(b as number | bigint)];
}

/** Go's `eq arg1 arg2…`: whether arg1 equals any of the others. */
function equal(first: unknown, others: readonly unknown[]): boolean {
  if (others.length === 0) throw new Error('missing argument for comparison');
  const kind = basicKind(first);
  for (const other of others) {
    const otherKind = basicKind(other);
    if (kind !== otherKind) {
      if (kind !== 'nil' && otherKind !== 'nil') throw new Error('incompatible types for comparison');
    } else if (kind === 'other') {
      throw new Error(`non-comparable type ${goType(first)}`);
    } else if (kind === 'nil') {
      return true;
    } else {
      const [x, y] = comparable(first, other);
      if (x === y) return true;
    }
  }
  return false;
}

function less(a: unknown, b: unknown): boolean {
  const kind = basicKind(a);
  if ((kind !== 'number' && kind !== 'string') || (basicKind(b) !== 'number' && basicKind(b) !== 'string')) {
    throw new Error('invalid type for comparison');
  }
  if (kind !== basicKind(b)) throw new Error('incompatible types for comparison');
  const [x, y] = comparable(a, b);
  return (x as number | bigint | string) < (y as number | bigint | string);
}

/** An index into something `length` long (`limit` the largest allowed), as Go's indexArg checks it. */
function position(index: unknown, limit: number): number {
  if (typeof index !== 'bigint' && (typeof index !== 'number' || !Number.isInteger(index))) throw new Error(`cannot index slice/array with type ${index === undefined || index === null ? '<nil>' : goType(index)}`);
  if (index < 0 || index > limit) throw new Error(`index out of range: ${index}`);
  return Number(index);
}

/** Go's `index item i j…`: arrays and strings (a byte) by number, maps by key; a missing key gives `missingKey` of its map. */
function index(item: unknown, keys: readonly unknown[], missingKey: CallContext['missingKey']): unknown {
  let value = item;
  for (const key of keys) {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') {
      const bytes = Buffer.from(value);
      value = bytes[position(key, bytes.length - 1)];
    } else if (Array.isArray(value)) {
      value = value[position(key, value.length - 1)];
    } else if (typeof value === 'object') {
      if (typeof key !== 'string' && typeof key !== 'number') throw new Error(`value has type ${key === undefined || key === null ? '<nil>' : goType(key)}; should be string`);
      value = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : missingKey(value);
    } else {
      throw new Error(`can't index item of type ${goType(value)}`);
    }
  }
  return value;
}

/** Go's `slice item [i [j [k]]]` of an array or a string (by bytes). */
function slice(item: unknown, indexes: readonly unknown[]): unknown {
  if (item === undefined || item === null) throw new Error('slice of untyped nil');
  if (indexes.length > 3) throw new Error(`too many slice indexes: ${indexes.length}`);
  if (typeof item === 'string' && indexes.length === 3) throw new Error('cannot 3-index slice a string');
  if (typeof item !== 'string' && !Array.isArray(item)) throw new Error(`can't slice item of type ${goType(item)}`);
  const bytes = typeof item === 'string' ? Buffer.from(item) : undefined;
  const length = bytes ? bytes.length : (item as unknown[]).length;
  const [start = 0, end = length, capacity] = indexes.map((i) => position(i, length));
  if (start > end) throw new Error(`invalid slice index: ${start} > ${end}`);
  if (capacity !== undefined && end > capacity) throw new Error(`invalid slice index: ${end} > ${capacity}`);
  return bytes ? bytes.subarray(start, end).toString() : (item as unknown[]).slice(start, end);
}

/** Go's len: bytes of a string, items of an array, keys of a map; a nil has none. */
function length(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (Array.isArray(value)) return value.length;
  if (typeof value === 'object') return Object.keys(value).length;
  throw new Error(`len of type ${goType(value)}`);
}

const fn = (fewest: number, most: number, call: TemplateFunction['call']): TemplateFunction => ({ arity: [fewest, most], call });

/** Go's builtin template functions (`and` and `or` are the executor's: they evaluate lazily). */
const BUILTINS: Readonly<Record<string, TemplateFunction>> = {
  eq: fn(1, Infinity, ([first, ...others]) => equal(first, others)),
  ne: fn(2, 2, ([a, b]) => !equal(a, [b])),
  lt: fn(2, 2, ([a, b]) => less(a, b)),
  le: fn(2, 2, ([a, b]) => less(a, b) || equal(a, [b])),
  gt: fn(2, 2, ([a, b]) => !less(a, b) && !equal(a, [b])),
  ge: fn(2, 2, ([a, b]) => !less(a, b)),
  not: fn(1, 1, ([value]) => !truth(value)),
  len: fn(1, 1, ([value]) => length(value)),
  index: fn(1, Infinity, ([item, ...keys], context) => index(item, keys, context.missingKey)),
  slice: fn(1, Infinity, ([item, ...indexes]) => slice(item, indexes)),
  print: fn(0, Infinity, (args, context) => sprint(args, context)),
  println: fn(0, Infinity, (args, context) => `${args.map((arg) => operand(arg, context)).join(' ')}\n`),
  printf: fn(1, Infinity, ([format, ...args], context) => {
    if (typeof format !== 'string') throw new Error(`wrong type for value; expected string; got ${format === undefined || format === null ? '<nil>' : goType(format)}`);
    return sprintf(format, args, context);
  }),
};
