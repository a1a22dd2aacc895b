import { SyntaxProblem } from './dockerfile-error';
import { isSpace } from './text';
import { replacePattern, trimPrefix, trimSuffix } from './shell-pattern';

/** Variables visible to an expansion: names to values (a set-but-empty variable maps to ''). */
export type Env = ReadonlyMap<string, string>;

export interface LexOptions {
  /** `\` (default) or `` ` `` from the `# escape=` directive. */
  escapeToken?: string;
  /** Keep quote characters in the result (quote removal off). */
  rawQuotes?: boolean;
  /** Keep escape tokens in the result. */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written (`$X`, `${X:-y}`). */
  skipUnsetEnv?: boolean;
  /** Quotes are ordinary characters (heredoc bodies: `'$X'` still expands, as in sh). */
  skipProcessQuotes?: boolean;
}

export interface WordResult {
  result: string;
  /** Variable names referenced and set. */
  matched: Set<string>;
  /** Variable names referenced but unset. */
  unmatched: Set<string>;
}

const EOF = '';

/** Accumulates fields for ProcessWords: unquoted whitespace ends a word, quoted text never does. */
class Words {
  word = '';
  words: string[] = [];
  inWord = false;

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else this.addRaw(ch);
  }
  addRaw(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

// ASCII first: these run for every character of every expanded word
const isLetter = (ch: string): boolean =>
  (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch.charCodeAt(0) > 0x7f && /^\p{L}$/u.test(ch));
const isDigit = (ch: string): boolean => (ch >= '0' && ch <= '9') || (ch.charCodeAt(0) > 0x7f && /^\p{Nd}$/u.test(ch));
const isSpecialParam = (ch: string): boolean => '@*#?-$!0'.includes(ch) && ch !== '';

/**
 * One pass of Docker's shell-word processing over one piece of text: quote removal, escapes and
 * `$VAR` / `${VAR…}` expansion (BuildKit's `shell.Lex`). Not a shell: no command substitution,
 * no globbing, no arithmetic.
 */
class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    input: string,
    private readonly env: Env,
    private readonly opts: Required<LexOptions>,
  ) {
    this.chars = Array.from(input);
    this.rawEscapes = opts.rawEscapes;
  }

  private peek(): string {
    return this.chars[this.pos] ?? EOF;
  }
  private next(): string {
    return this.chars[this.pos++] ?? EOF;
  }

  process(): { result: string; words: string[] } {
    return this.processStopOn(EOF, this.rawEscapes);
  }

  private processStopOn(stop: string, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new Words();
      const esc = this.opts.escapeToken;
      while (this.peek() !== EOF) {
        const ch = this.peek();
        if (stop !== EOF && ch === stop) {
          this.next();
          return { result, words: words.finish() };
        }
        if (ch === '$') {
          const value = this.processDollar();
          result += value;
          words.addString(value);
        } else if ((ch === "'" || ch === '"') && !this.opts.skipProcessQuotes) {
          const value = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += value;
          words.addRaw(value);
        } else {
          let c = this.next();
          if (c === esc) {
            if (this.rawEscapes) {
              words.addRaw(c);
              result += c;
            }
            c = this.next();
            if (c === EOF) break;
            words.addRaw(c);
          } else words.addChar(c);
          result += c;
        }
      }
      if (stop !== EOF) throw new SyntaxProblem(`unexpected end of statement while looking for matching ${stop}`);
      return { result, words: words.finish() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new SyntaxProblem('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return this.opts.rawQuotes ? result + ch : result;
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += open;
    const esc = this.opts.escapeToken;
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) throw new SyntaxProblem('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return this.opts.rawQuotes ? result + ch : result;
      }
      if (ch === '$') {
        result += this.processDollar();
        continue;
      }
      let c = this.next();
      if (c === esc) {
        const following = this.peek();
        if (following === EOF) continue; // a lone escape at the end is dropped
        // inside double quotes only ", $ and the escape token itself can be escaped
        if (following === '"' || following === '$' || following === esc) {
          if (this.rawEscapes) result += c;
          c = this.next();
        }
      }
      result += c;
    }
  }

  private getEnv(name: string): string | undefined {
    const value = this.env.get(name);
    if (value === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return value;
  }

  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek())) name += this.next();
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) return this.next();
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return '$' + name;
      return value ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new SyntaxProblem("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new SyntaxProblem('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let modifier = ch;
    if (ch === '}') {
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }
    if (ch === '/') return this.processReplace(name);
    let nullIsUnset = false;
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      modifier += ch;
    }
    if (!'+-?#%'.includes(ch) || ch === EOF || (nullIsUnset && (ch === '#' || ch === '%'))) {
      if (ch === EOF) throw new SyntaxProblem("syntax error: missing '}'");
      throw new SyntaxProblem(`unsupported modifier (${modifier}) in substitution`);
    }
    let word = this.wordUntil('}', ch === '#' || ch === '%', "syntax error: missing '}'");
    const value = this.getEnv(name);
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}${modifier}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return unset ? word : value!;
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw new SyntaxProblem(`${name}: ${word || 'is not allowed to be unset'}`);
        if (unset) throw new SyntaxProblem(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default: {
        // `#`/`%` take the shortest match, `##`/`%%` the longest
        const greedy = word.startsWith(ch);
        if (greedy) word = word.slice(1);
        return ch === '%' ? trimSuffix(word, value ?? '', greedy) : trimPrefix(word, value ?? '', greedy);
      }
    }
  }

  private processReplace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const pattern = this.wordUntil('/', true, "syntax error: missing '/' in ${}");
    const replacement = this.wordUntil('}', true, "syntax error: missing '}'");
    const value = this.getEnv(name);
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    return replacePattern(pattern, replacement, value ?? '', all);
  }

  private wordUntil(stop: string, rawEscapes: boolean, eofMessage: string): string {
    try {
      return this.processStopOn(stop, rawEscapes).result;
    } catch (e) {
      if (this.peek() === EOF) throw new SyntaxProblem(eofMessage);
      throw e;
    }
  }
}

/** Docker's shell-word lexer for one escape token. */
export class ShellLex {
  private readonly opts: Required<LexOptions>;

  constructor(opts: LexOptions = {}) {
    this.opts = {
      escapeToken: opts.escapeToken ?? '\\',
      rawQuotes: opts.rawQuotes ?? false,
      rawEscapes: opts.rawEscapes ?? false,
      skipUnsetEnv: opts.skipUnsetEnv ?? false,
      skipProcessQuotes: opts.skipProcessQuotes ?? false,
    };
  }

  /** Expand one word (no field splitting), e.g. an ENV value or a COPY destination. */
  processWord(word: string, env: Env): string {
    return this.processWordWithMatches(word, env).result;
  }

  /** Expand and report which variables were used (for unused-build-arg warnings and cache keys). */
  processWordWithMatches(word: string, env: Env): WordResult {
    const sw = new ShellWord(word, env, this.opts);
    const { result } = sw.process();
    return { result, matched: sw.matched, unmatched: sw.unmatched };
  }

  /** Expand and split into fields on unquoted whitespace (also whitespace that came from a variable). */
  processWords(word: string, env: Env): string[] {
    return new ShellWord(word, env, this.opts).process().words;
  }
}
