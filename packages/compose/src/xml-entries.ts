import { CtrError, isCtrError } from '@ctr/errors';

/**
 * secret-detector's XML transformer (pkg/transformers/xmltransformer), which compose's scan
 * gives `.xml` files and files no extension names: a document Go's encoding/xml reads
 * (strict, as xml.Unmarshal validates it) flattened into keys and values. An element's key is
 * its path of names (`configuration.appSettings.add`), `~N` after the N-th repeat of the same
 * path; an attribute's is `path[name]`; an element's text is under its path, the N-th
 * piece of it (text split by child elements, comments or CDATA) under `path (ln. N)`.
 *
 * Undefined when the transformer turns the text down: when Go's decoder fails before the first
 * element ends (no element at all included). A failure after that ends the reading and keeps
 * what was read, as the transformer does. Undefined too when the keys would add up to more
 * than `maxKeyLength` characters, which only a deep document's do (they grow with the square of
 * its depth): read in one pass, in time linear in the text.
 */
export function xmlEntries(text: string, maxKeyLength: number): Map<string, string> | undefined {
  return new XmlFlattener(text, maxKeyLength).entries();
}

/** Go's xml.SyntaxError: it never leaves this file, as the transformer drops it. */
const syntaxError = (message: string): CtrError => new CtrError('InvalidArgument', `XML syntax error: ${message}`, { details: { xmlSyntax: true } });
const isSyntaxError = (error: unknown): boolean => isCtrError(error) && error.details.xmlSyntax === true;
const unexpectedEof = (): CtrError => syntaxError('unexpected EOF');

interface Name {
  /** As written, prefix and all: what an end tag must repeat. */
  raw: string;
  /** Go's Name.Local, what the keys use: the part after the prefix. */
  local: string;
}

type Token =
  | { kind: 'start'; name: Name; attributes: { name: Name; value: string }[] }
  | { kind: 'end'; raw: string }
  | { kind: 'text'; text: string }
  | { kind: 'markup' };

const DECIMAL_DIGIT = /^[0-9]$/;
const HEX_DIGIT = /^[0-9a-fA-F]$/;

/** The five entities Go's strict decoder knows without a DTD. */
const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\r' || c === '\n' || c === '\t';

/** encoding/xml's isNameByte: the ASCII a name may hold; any other ASCII ends it. */
function isNameByte(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x5f || code === 0x3a || code === 0x2e || code === 0x2d;
}

// Go checks a name's characters against XML 1.0's Letter and NameChar tables; Unicode's letters,
// marks and digits are their near equivalent beyond ASCII (in the Basic Multilingual Plane, as Go's tables are).
const NAME_START = /^\p{L}$/u;
const NAME_CHAR = /^[\p{L}\p{M}\p{Nd}\u00b7]$/u;

function isNameStart(c: string): boolean {
  const code = c.charCodeAt(0);
  if (code < 0x80) return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === 0x3a;
  return NAME_START.test(c);
}

function isName(name: string): boolean {
  if (!isNameStart(name[0] ?? '')) return false;
  for (let i = 1; i < name.length; i += 1) {
    const c = name[i] as string;
    const code = c.charCodeAt(0);
    if (code < 0x80 ? !isNameByte(code) : !isNameStart(c) && !NAME_CHAR.test(c)) return false;
  }
  return true;
}

/** Go's isInCharacterRange, for the UTF-16 units of decoded text (a surrogate pair is an astral character, allowed). */
const isCharacter = (code: number): boolean => (code >= 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) && code !== 0xfffe && code !== 0xffff;

/** Go's procInst: the quoted value of `param=` in an `<?xml …?>` declaration, '' when there is none. */
function declared(param: string, content: string): string {
  const key = `${param}=`;
  let from = 0;
  let quote = '';
  while (from < content.length) {
    const at = content.indexOf(key, from);
    if (at < 0 || at + key.length >= content.length) return '';
    from = at + key.length + 1;
    const c = content[at + key.length];
    if (c === '"' || c === "'") {
      quote = c;
      break;
    }
  }
  if (quote === '') return '';
  const end = content.indexOf(quote, from);
  return end < 0 ? '' : content.slice(from, end);
}

/** encoding/xml's rawToken, over a string: one token at a time, each read once. */
class XmlTokens {
  private pos = 0;
  /** A self-closing element's end, given after its start. */
  private pendingEnd: string | undefined;

  constructor(private readonly text: string) {}

  next(): Token | undefined {
    if (this.pendingEnd !== undefined) {
      const raw = this.pendingEnd;
      this.pendingEnd = undefined;
      return { kind: 'end', raw };
    }
    if (this.pos >= this.text.length) return undefined;
    if (this.text[this.pos] !== '<') return { kind: 'text', text: this.characters(undefined) };
    this.pos += 1;
    switch (this.take()) {
      case '/':
        return this.endTag();
      case '?':
        return this.instruction();
      case '!':
        return this.bang();
      default:
        this.pos -= 1;
        return this.startTag();
    }
  }

  /** The next character, consumed; at the end of the text, Go's unexpected EOF. */
  private take(): string {
    const c = this.text[this.pos];
    if (c === undefined) throw unexpectedEof();
    this.pos += 1;
    return c;
  }

  private skipSpace(): void {
    while (isSpace(this.text[this.pos])) this.pos += 1;
  }

  /** readName then isName: undefined when no name starts here (the caller says what was expected). */
  private name(): string | undefined {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const code = this.text.charCodeAt(this.pos);
      if (code < 0x80 && !isNameByte(code)) break;
      this.pos += 1;
    }
    if (this.pos >= this.text.length) throw unexpectedEof();
    if (this.pos === start) return undefined;
    const name = this.text.slice(start, this.pos);
    if (!isName(name)) throw syntaxError(`invalid XML name: ${name}`);
    return name;
  }

  /** nsname: more than one colon is no name; `prefix:local` with both parts is split. */
  private qualifiedName(expected: string): Name {
    const raw = this.name();
    const colon = raw?.indexOf(':') ?? -1;
    if (raw === undefined || (colon >= 0 && raw.indexOf(':', colon + 1) >= 0)) throw syntaxError(`expected ${expected}`);
    return { raw, local: colon > 0 && colon < raw.length - 1 ? raw.slice(colon + 1) : raw };
  }

  private endTag(): Token {
    const { raw } = this.qualifiedName('element name after </');
    this.skipSpace();
    if (this.take() !== '>') throw syntaxError(`invalid characters between </${raw} and >`);
    return { kind: 'end', raw };
  }

  private startTag(): Token {
    const name = this.qualifiedName('element name after <');
    const attributes: { name: Name; value: string }[] = [];
    for (;;) {
      this.skipSpace();
      const c = this.take();
      if (c === '/') {
        if (this.take() !== '>') throw syntaxError('expected /> in element');
        this.pendingEnd = name.raw;
        break;
      }
      if (c === '>') break;
      this.pos -= 1;
      const attribute = this.qualifiedName('attribute name in element');
      this.skipSpace();
      if (this.take() !== '=') throw syntaxError('attribute name without = in element');
      this.skipSpace();
      const quote = this.take();
      if (quote !== '"' && quote !== "'") throw syntaxError('unquoted or missing attribute value in element');
      attributes.push({ name: attribute, value: this.characters(quote) });
    }
    return { kind: 'start', name, attributes };
  }

  /** `<?target …?>`; an `xml` declaration naming another version or encoding stops Go's decoder. */
  private instruction(): Token {
    const target = this.name();
    if (target === undefined) throw syntaxError('expected target name after <?');
    this.skipSpace();
    const end = this.text.indexOf('?>', this.pos);
    if (end < 0) throw unexpectedEof();
    const content = this.text.slice(this.pos, end);
    this.pos = end + 2;
    if (target === 'xml') {
      const version = declared('version', content);
      if (version !== '' && version !== '1.0') throw syntaxError(`unsupported version ${version}`);
      const encoding = declared('encoding', content);
      // Go reads UTF-8 only: compose's decoder has no CharsetReader for any other.
      if (encoding !== '' && encoding.toLowerCase() !== 'utf-8') throw syntaxError(`encoding ${encoding} declared but Decoder.CharsetReader is nil`);
    }
    return { kind: 'markup' };
  }

  /** `<!--…-->`, `<![CDATA[…]]>` or a directive (`<!DOCTYPE …>`). */
  private bang(): Token {
    const c = this.take();
    if (c === '-') {
      if (this.take() !== '-') throw syntaxError('invalid sequence <!- not part of <!--');
      const dashes = this.text.indexOf('--', this.pos);
      if (dashes < 0 || dashes + 2 >= this.text.length) throw unexpectedEof();
      if (this.text[dashes + 2] !== '>') throw syntaxError('invalid sequence "--" not allowed in comments');
      this.pos = dashes + 3;
      return { kind: 'markup' };
    }
    if (c === '[') {
      for (const expected of 'CDATA[') if (this.take() !== expected) throw syntaxError('invalid <![ sequence');
      const end = this.text.indexOf(']]>', this.pos);
      if (end < 0) throw syntaxError('unexpected EOF in CDATA section');
      const data = this.text.slice(this.pos, end);
      for (let i = 0; i < data.length; i += 1) this.checkCharacter(data.charCodeAt(i));
      this.pos = end + 3;
      return { kind: 'text', text: data.replace(/\r\n?/g, '\n') };
    }
    this.directive();
    return { kind: 'markup' };
  }

  /** A directive ends at a `>` outside quotes and nested `<…>`; a `<!--…-->` inside is skipped. */
  private directive(): void {
    let quote = '';
    let depth = 0;
    for (;;) {
      let c = this.take();
      if (quote === '' && c === '>' && depth === 0) return;
      for (;;) {
        if (c === quote) quote = '';
        else if (quote !== '') break;
        else if (c === '"' || c === "'") quote = c;
        else if (c === '>') depth -= 1;
        else if (c === '<') {
          const broken = this.commentOpening();
          // Go reads a character that broke `<!--` as an ordinary one of the directive.
          if (broken !== undefined) {
            depth += 1;
            c = broken;
            continue;
          }
          const end = this.text.indexOf('-->', this.pos);
          if (end < 0) throw unexpectedEof();
          this.pos = end + 3;
        }
        break;
      }
    }
  }

  /** After a `<` in a directive: undefined when `!--` follows (consumed), else the first character that differs (consumed). */
  private commentOpening(): string | undefined {
    for (const expected of '!--') {
      const got = this.take();
      if (got !== expected) return got;
    }
    return undefined;
  }

  /**
   * Go's text(): character data up to a `<` (or, in an attribute, its closing quote), entities
   * decoded, line ends made `\n`; a `<` in an attribute, `]]>`, an unknown entity or a character
   * XML excludes stop the decoder.
   */
  private characters(quote: string | undefined): string {
    const parts: string[] = [];
    let start = this.pos;
    /** Where `]]>` may begin: Go forgets the characters before an entity. */
    let plain = this.pos;
    const flush = (): void => {
      if (this.pos > start) parts.push(this.text.slice(start, this.pos).replace(/\r\n?/g, '\n'));
    };
    while (this.pos < this.text.length) {
      const c = this.text[this.pos] as string;
      if (c === '>' && this.pos - 2 >= plain && this.text[this.pos - 1] === ']' && this.text[this.pos - 2] === ']') throw syntaxError('unescaped ]]> not in CDATA section');
      if (c === '<') {
        if (quote !== undefined) throw syntaxError('unescaped < inside quoted string');
        break;
      }
      if (c === quote) {
        flush();
        this.pos += 1;
        return parts.join('');
      }
      if (c === '&') {
        flush();
        parts.push(this.entity());
        start = this.pos;
        plain = this.pos;
        continue;
      }
      this.checkCharacter(c.charCodeAt(0));
      this.pos += 1;
    }
    // An attribute's value cut short by the end of the text is the decoder's unexpected EOF.
    if (quote !== undefined) throw unexpectedEof();
    flush();
    return parts.join('');
  }

  private checkCharacter(code: number): void {
    if (!isCharacter(code)) throw syntaxError(`illegal character code U+${code.toString(16).toUpperCase().padStart(4, '0')}`);
  }

  /** `&name;` of the five, or `&#N;`/`&#xN;` up to U+10FFFF (a surrogate's number reads as U+FFFD, Go's string(rune)). */
  private entity(): string {
    const start = this.pos;
    this.pos += 1;
    const invalid = (): CtrError => syntaxError(`invalid character entity ${this.text.slice(start, this.pos)}`);
    if (this.take() === '#') {
      let base = 10;
      if (this.text[this.pos] === 'x') {
        base = 16;
        this.pos += 1;
      }
      const digits = this.pos;
      const digit = base === 16 ? HEX_DIGIT : DECIMAL_DIGIT;
      while (this.pos < this.text.length && digit.test(this.text[this.pos] as string)) this.pos += 1;
      if (this.take() !== ';' || this.pos - 1 === digits) throw invalid();
      const code = parseInt(this.text.slice(digits, this.pos - 1), base);
      if (!(code <= 0x10ffff)) throw invalid();
      this.checkCharacter(code > 0xffff ? 0x20 : code);
      return code >= 0xd800 && code <= 0xdfff ? '\ufffd' : String.fromCodePoint(code);
    }
    this.pos -= 1;
    const name = this.text.slice(this.pos, this.skipNameBytes());
    if (this.take() !== ';' || !Object.hasOwn(ENTITIES, name)) throw invalid();
    return ENTITIES[name] as string;
  }

  /** Past an entity's name (readName's reach); its end. */
  private skipNameBytes(): number {
    while (this.pos < this.text.length) {
      const code = this.text.charCodeAt(this.pos);
      if (code < 0x80 && !isNameByte(code)) break;
      this.pos += 1;
    }
    return this.pos;
  }
}

/** An open element: its name, its key, and what it will report when it ends. */
interface Frame {
  raw: string;
  /** Its chain of local names from the top, `.`-joined: what its children's keys start with. */
  names: string;
  namesLength: number;
  /** The chain's id: elements on the same chain are counted together (`~1`, `~2`…). */
  chain: number;
  key: string;
  keyLength: number;
  // Made when there are some: a deep document keeps every open element.
  attributes?: { key: string; keyLength: number; value: string }[];
  texts?: string[];
}

/**
 * The transformer's xmlToMap over the tokens, with the validation xml.Unmarshal does first:
 * the tokens up to the end of the first element must all read.
 */
class XmlFlattener {
  private readonly tokens: XmlTokens;
  private readonly result = new Map<string, string>();
  private readonly open: Frame[] = [];
  /** Chains of names, by parent chain and local name: keys built without rejoining a path per element. */
  private readonly chains = new Map<string, number>();
  /** Elements seen on each chain, by its id. */
  private readonly counts: number[] = [0];
  private keyLength = 0;

  constructor(
    text: string,
    private readonly maxKeyLength: number,
  ) {
    this.tokens = new XmlTokens(text);
  }

  entries(): Map<string, string> | undefined {
    let validated = false;
    try {
      for (let token = this.tokens.next(); token !== undefined; token = this.tokens.next()) {
        if (token.kind === 'start') this.start(token.name, token.attributes);
        else if (token.kind === 'end') {
          if (!this.end(token.raw)) return undefined;
          validated ||= this.open.length === 0;
        } else if (token.kind === 'text') {
          const text = token.text.trim();
          const frame = this.open.at(-1);
          if (text !== '' && frame !== undefined) (frame.texts ??= []).push(text);
        }
      }
      if (this.open.length > 0) throw unexpectedEof();
    } catch (error) {
      if (!isSyntaxError(error)) throw error;
    }
    return validated ? this.result : undefined;
  }

  private start(name: Name, attributes: readonly { name: Name; value: string }[]): void {
    const parent = this.open.at(-1);
    const link = `${parent?.chain ?? 0}:${name.local}`;
    let chain = this.chains.get(link);
    if (chain === undefined) {
      chain = this.counts.length;
      this.chains.set(link, chain);
      this.counts.push(0);
    }
    const names = parent === undefined ? name.local : `${parent.names}.${name.local}`;
    const namesLength = parent === undefined ? name.local.length : parent.namesLength + 1 + name.local.length;
    const seen = this.counts[chain] as number;
    this.counts[chain] = seen + 1;
    const suffix = seen > 0 ? `~${seen}` : '';
    const frame: Frame = { raw: name.raw, names, namesLength, chain, key: `${names}${suffix}`, keyLength: namesLength + suffix.length };
    if (attributes.length > 0) frame.attributes = attributeKeys(frame, attributes);
    this.open.push(frame);
  }

  /** An element's end: its texts, then its attributes; false when their keys would pass the budget. */
  private end(raw: string): boolean {
    const frame = this.open.pop();
    if (frame === undefined) throw syntaxError(`unexpected end element </${raw}>`);
    if (frame.raw !== raw) throw syntaxError(`element <${frame.raw}> closed by </${raw}>`);
    const found = [
      ...(frame.texts ?? []).map((value, i) => {
        const line = i === 0 ? '' : ` (ln. ${i + 1})`;
        return { key: `${frame.key}${line}`, keyLength: frame.keyLength + line.length, value };
      }),
      ...(frame.attributes ?? []),
    ];
    for (const { key, keyLength, value } of found) {
      this.keyLength += keyLength;
      if (this.keyLength > this.maxKeyLength) return false;
      this.result.set(key, value);
    }
    return true;
  }
}

/** An element's attributes under its key: `key[name]`, `key[name~N]` for the N-th repeat of a name. */
function attributeKeys(frame: Frame, attributes: readonly { name: Name; value: string }[]): { key: string; keyLength: number; value: string }[] {
  const repeats = new Map<string, number>();
  return attributes.map(({ name, value }) => {
    const count = repeats.get(name.local) ?? 0;
    repeats.set(name.local, count + 1);
    const inside = count > 0 ? `${name.local}~${count}` : name.local;
    return { key: `${frame.key}[${inside}]`, keyLength: frame.keyLength + inside.length + 2, value };
  });
}
