import { CtrError } from '@ctr/errors';

/**
 * Go's regexp for the secret scan's patterns: RE2's leftmost-first matches, in time linear in
 * the text. V8's backtracking engine finds the same matches, but a text built against a pattern
 * (a long line of words, many `BEGIN` with no `PRIVATE KEY`, thousands of blank lines) takes it
 * time growing with a power of its length.
 *
 * Two passes, as RE2 pairs its DFA with its NFA: a lazy DFA run backwards from the text's end
 * marks, at each place, the threads that can still end in a match (Liveness); Go's NFA
 * simulation (a Pike VM) then runs forwards keeping only those, so it starts only where a match
 * starts and stops where it ends, and FindAll never rereads what a failed thread read (Go's
 * own FindAll can: a thread of higher priority than the match outlives it).
 *
 * The syntax is the part of RE2's the detectors use: literals and escapes, `.`, classes
 * (ranges, negation, `\s \S \d \D \w \W`), groups (capturing, `(?:…)`, `(?<name>…)`), `|`,
 * the quantifiers `* + ? {n} {n,} {n,m}` and their lazy forms, `^` and `$` (of a line when
 * `multiline`). As in Go, a character is a code point, `.` is any but `\n`, and the Perl
 * classes are ASCII: `\s` is `[\t\n\f\r ]`.
 */
export class GoRegexp {
  private readonly program: Program;
  /** Strings one of which every match holds: a text with none has no match, seen without a search. */
  private readonly literals: readonly string[] | undefined;
  private readonly closures: Closures;
  private readonly liveness: Liveness;
  private readonly names: readonly string[];
  /** Per thread: the match's start and end, then each named group's. */
  private readonly width: number;
  private readonly queues: [Queue, Queue];
  private readonly matchSlots: Int32Array;

  constructor(pattern: string, options: { multiline?: boolean } = {}) {
    const { tree, names } = new Parser(pattern, options.multiline ?? false).parse();
    this.names = names;
    this.width = 2 + 2 * names.length;
    this.program = compile(tree);
    this.literals = requiredLiterals(tree);
    this.closures = new Closures(this.program);
    this.liveness = new Liveness(this.program, this.closures);
    const size = this.program.op.length;
    this.queues = [new Queue(size), new Queue(size)];
    this.matchSlots = new Int32Array(this.width);
  }

  /** Go's MatchString. */
  test(text: string): boolean {
    if (!this.mayMatch(text)) return false;
    const live = this.liveness.scan(text);
    return live === undefined ? this.run(text, 0, undefined, true) : live.starts.includes(1);
  }

  /**
   * Go's FindAllStringSubmatch, as far as the named groups: theirs in each match (undefined for
   * a group a match does not take part in), of the matches that do not overlap, left to right,
   * an empty one never right after another.
   */
  matchAll(text: string): Groups[] {
    const found: Groups[] = [];
    if (!this.mayMatch(text)) return found;
    const live = this.liveness.scan(text);
    let previousEnd = -1;
    for (let from = 0; from <= text.length && this.run(text, from, live, false); ) {
      const [start, end] = this.matchSlots;
      from = end > from ? end : from + (end < text.length ? codePointWidth(text.codePointAt(end) ?? 0) : 1);
      if (end === start && start === previousEnd) continue;
      previousEnd = end;
      const groups: Groups = {};
      this.names.forEach((name, i) => {
        const [groupStart, groupEnd] = this.matchSlots.subarray(2 + 2 * i);
        groups[name] = groupStart < 0 || groupEnd < 0 ? undefined : text.slice(groupStart, groupEnd);
      });
      found.push(groups);
    }
    return found;
  }

  private mayMatch(text: string): boolean {
    return this.literals === undefined || this.literals.some((literal) => text.includes(literal));
  }

  /**
   * Go's machine.match: the leftmost-first match at or after `from` into matchSlots; with `any`,
   * the first thread to match. A thread is an instruction that consumes (or the match), in
   * priority order; each step moves the threads whose character matches through their closures,
   * keeping those `live` says can still match.
   */
  private run(text: string, from: number, live: Live | undefined, any: boolean): boolean {
    const { op, next, arg, classes } = this.program;
    let current = this.queues[0];
    let following = this.queues[1];
    let matched = false;
    current.clear();
    for (let pos = from; ; ) {
      if (current.size === 0) {
        if (matched) break;
        // Where no thread can match, none runs: the search goes straight to where one starts that can.
        if (live !== undefined) pos = live.starts.indexOf(1, pos);
        if (pos < 0) break;
      }
      if (!matched) {
        const slots = new Int32Array(this.width).fill(-1);
        slots[0] = pos;
        this.add(current, this.closures.get(0, context(text, pos)), slots, pos, live);
      }
      const c = text.codePointAt(pos) ?? -1;
      const nextPos = pos + (c < 0 ? 0 : codePointWidth(c));
      const nextContext = context(text, nextPos);
      following.clear();
      for (let j = 0; j < current.size; j += 1) {
        const pc = current.dense[j];
        if (op[pc] === Op.Match) {
          this.matchSlots.set(current.slots[j]);
          this.matchSlots[1] = pos;
          matched = true;
          // Leftmost-first: the threads after this one can only give matches of lower priority.
          break;
        }
        if (c >= 0 && classes.has(arg[pc], c)) this.add(following, this.closures.get(next[pc], nextContext), current.slots[j], nextPos, live);
      }
      if ((any && matched) || c < 0) break;
      const swapped = current;
      current = following;
      following = swapped;
      pos = nextPos;
    }
    return matched;
  }

  /**
   * The threads of a closure at `pos` that can still match and are not yet in `queue`, after
   * it: each with the slots of the thread it comes from, shared unless the closure saves a place.
   */
  private add(queue: Queue, closure: Int32Array, slots: Int32Array, pos: number, live: Live | undefined): void {
    const liveHere = live === undefined ? -1 : live.live[pos];
    for (let i = 0; i < closure.length; i += 2 + closure[i + 1]) {
      const target = closure[i];
      if (queue.mark[target] === queue.generation || (liveHere >= 0 && !this.liveness.has(liveHere, target))) continue;
      queue.mark[target] = queue.generation;
      let own = slots;
      if (closure[i + 1] > 0) {
        own = slots.slice();
        for (let k = 0; k < closure[i + 1]; k += 1) own[closure[i + 2 + k]] = pos;
      }
      queue.dense[queue.size] = target;
      queue.slots[queue.size] = own;
      queue.size += 1;
    }
  }
}

export type Groups = Record<string, string | undefined>;

const NEWLINE = 0x0a;
const MAX_CODE_POINT = 0x10ffff;
/** Go's limit on a counted repetition. */
const MAX_REPEAT = 1000;

const codePointWidth = (c: number): number => (c > 0xffff ? 2 : 1);

const Op = { Class: 0, Split: 1, Jump: 2, Save: 3, Assert: 4, Match: 5 } as const;
/** Assertions as bits of a context, the assertions that hold at a place. */
const Assertion = { TextStart: 1, TextEnd: 2, LineStart: 4, LineEnd: 8 } as const;
type Assertion = (typeof Assertion)[keyof typeof Assertion];

/** A set of code points: sorted, disjoint [low, high] ranges. */
type Ranges = readonly (readonly [number, number])[];

function normalized(ranges: Ranges): Ranges {
  const merged: [number, number][] = [];
  for (const [low, high] of [...ranges].sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last !== undefined && low <= last[1] + 1) last[1] = Math.max(last[1], high);
    else merged.push([low, high]);
  }
  return merged;
}

function negated(ranges: Ranges): Ranges {
  const result: [number, number][] = [];
  let from = 0;
  for (const [low, high] of normalized(ranges)) {
    if (low > from) result.push([from, low - 1]);
    from = high + 1;
  }
  if (from <= MAX_CODE_POINT) result.push([from, MAX_CODE_POINT]);
  return result;
}

const PERL_CLASSES: Readonly<Record<string, Ranges>> = {
  d: [[0x30, 0x39]],
  s: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]],
  w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
};
const CONTROL_ESCAPES: Readonly<Record<string, number>> = { t: 0x09, n: 0x0a, v: 0x0b, f: 0x0c, r: 0x0d };
const ANY_BUT_NEWLINE = negated([[NEWLINE, NEWLINE]]);

type Node =
  | { kind: 'class'; ranges: Ranges }
  | { kind: 'sequence'; items: Node[] }
  | { kind: 'alternation'; items: Node[] }
  | { kind: 'repeat'; item: Node; min: number; max: number; greedy: boolean }
  | { kind: 'capture'; item: Node; index: number }
  | { kind: 'assert'; assertion: Assertion };

const unsupported = (pattern: string, at: number, what: string): CtrError =>
  new CtrError('Internal', `secret scan pattern ${JSON.stringify(pattern)}: ${what} at offset ${at}`);

/** RE2's syntax, as far as the detectors' patterns use it; anything else is refused, never read another way. */
class Parser {
  private pos = 0;
  private readonly names: string[] = [];

  constructor(
    private readonly pattern: string,
    private readonly multiline: boolean,
  ) {}

  parse(): { tree: Node; names: string[] } {
    const tree = this.alternation();
    if (this.pos < this.pattern.length) throw unsupported(this.pattern, this.pos, 'unexpected )');
    return { tree, names: this.names };
  }

  private alternation(): Node {
    const items = [this.sequence()];
    while (this.pattern[this.pos] === '|') {
      this.pos += 1;
      items.push(this.sequence());
    }
    return items.length === 1 ? items[0] : { kind: 'alternation', items };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.pos < this.pattern.length && this.pattern[this.pos] !== '|' && this.pattern[this.pos] !== ')') items.push(this.repeated(this.atom()));
    return { kind: 'sequence', items };
  }

  /** `item` with the quantifier after it; a `{` that starts none is a literal, as in Go. */
  private repeated(item: Node): Node {
    const quantifier = /^(?:([*+?])|\{(\d+)(?:(,)(\d*))?\})/.exec(this.pattern.slice(this.pos, this.pos + 16));
    if (quantifier === null) return item;
    const [text, symbol, count, comma, most] = quantifier;
    this.pos += text.length;
    const min = symbol === '+' ? 1 : symbol === undefined ? Number(count) : 0;
    const max = symbol === '?' ? 1 : symbol !== undefined || most === '' ? Infinity : comma === undefined ? min : Number(most);
    if (min > MAX_REPEAT || (max !== Infinity && (max > MAX_REPEAT || max < min))) throw unsupported(this.pattern, this.pos, 'invalid repeat count');
    const greedy = this.pattern[this.pos] !== '?';
    if (!greedy) this.pos += 1;
    return { kind: 'repeat', item, min, max, greedy };
  }

  private atom(): Node {
    switch (this.pattern[this.pos]) {
      case '(':
        return this.group();
      case '[':
        return this.characterClass();
      case '.':
        this.pos += 1;
        return { kind: 'class', ranges: ANY_BUT_NEWLINE };
      case '^':
        this.pos += 1;
        return { kind: 'assert', assertion: this.multiline ? Assertion.LineStart : Assertion.TextStart };
      case '$':
        this.pos += 1;
        return { kind: 'assert', assertion: this.multiline ? Assertion.LineEnd : Assertion.TextEnd };
      case '\\':
        return { kind: 'class', ranges: this.escape() };
      case '*':
      case '+':
      case '?':
        throw unsupported(this.pattern, this.pos, 'missing argument to repetition operator');
      default: {
        const code = this.character();
        return { kind: 'class', ranges: [[code, code]] };
      }
    }
  }

  private character(): number {
    const code = this.pattern.codePointAt(this.pos) ?? 0;
    this.pos += codePointWidth(code);
    return code;
  }

  private group(): Node {
    const named = /^\(\?P?<(\w+)>/.exec(this.pattern.slice(this.pos, this.pos + 40));
    let index = -1;
    if (named !== null) {
      index = this.names.push(named[1]) - 1;
      this.pos += named[0].length;
    } else if (this.pattern.startsWith('(?:', this.pos)) this.pos += 3;
    else if (this.pattern[this.pos + 1] === '?') throw unsupported(this.pattern, this.pos, 'flags');
    // A group without a name is one no caller reads: matched as (?:…).
    else this.pos += 1;
    const item = this.alternation();
    if (this.pattern[this.pos] !== ')') throw unsupported(this.pattern, this.pos, 'missing )');
    this.pos += 1;
    return index < 0 ? item : { kind: 'capture', item, index };
  }

  private characterClass(): Node {
    this.pos += 1;
    const negate = this.pattern[this.pos] === '^';
    if (negate) this.pos += 1;
    const ranges: (readonly [number, number])[] = [];
    // As in Go, a `]` first is a member.
    for (let first = true; first || this.pattern[this.pos] !== ']'; first = false) {
      if (this.pos >= this.pattern.length) throw unsupported(this.pattern, this.pos, 'missing ]');
      const low = this.classMember();
      if (typeof low !== 'number') ranges.push(...low);
      else if (this.pattern[this.pos] === '-' && this.pos + 1 < this.pattern.length && this.pattern[this.pos + 1] !== ']') {
        this.pos += 1;
        const high = this.classMember();
        if (typeof high !== 'number' || high < low) throw unsupported(this.pattern, this.pos, 'invalid class range');
        ranges.push([low, high]);
      } else ranges.push([low, low]);
    }
    this.pos += 1;
    return { kind: 'class', ranges: negate ? negated(ranges) : normalized(ranges) };
  }

  /** One character of a class, or the ranges of a Perl class inside it. */
  private classMember(): number | Ranges {
    if (this.pattern[this.pos] !== '\\') return this.character();
    const ranges = this.escape();
    const [only] = ranges;
    return ranges.length === 1 && only[0] === only[1] ? only[0] : ranges;
  }

  private escape(): Ranges {
    const c = this.pattern[this.pos + 1] ?? '';
    this.pos += 2;
    const perl = PERL_CLASSES[c.toLowerCase()];
    if (perl !== undefined) return c === c.toLowerCase() ? perl : negated(perl);
    const control = CONTROL_ESCAPES[c];
    if (control !== undefined) return [[control, control]];
    // RE2 takes escaped ASCII punctuation as itself, and refuses other escapes it does not know.
    if (/^[!-/:-@[-`{-~]$/.test(c)) return [[c.charCodeAt(0), c.charCodeAt(0)]];
    throw unsupported(this.pattern, this.pos - 2, `escape \\${c}`);
  }
}

/** Character classes as matched a code point at a time: a bitmap for ASCII, the ranges beyond. */
class Classes {
  private readonly ascii: Uint8Array[] = [];
  private readonly ranges: Ranges[] = [];

  add(ranges: Ranges): number {
    const bits = new Uint8Array(0x80);
    for (const [low, high] of ranges) if (low < 0x80) bits.fill(1, low, Math.min(high, 0x7f) + 1);
    this.ascii.push(bits);
    return this.ranges.push(ranges) - 1;
  }

  rangesOf(index: number): Ranges {
    return this.ranges[index];
  }

  has(index: number, c: number): boolean {
    if (c < 0x80) return this.ascii[index][c] === 1;
    const ranges = this.ranges[index];
    let low = 0;
    let high = ranges.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const [from, to] = ranges[middle];
      if (c < from) high = middle - 1;
      else if (c > to) low = middle + 1;
      else return true;
    }
    return false;
  }
}

interface Program {
  op: number[];
  /** The next instruction; a split's preferred one. */
  next: number[];
  /** A split's other instruction. */
  alt: number[];
  /** A class's index, a save's slot, an assertion. */
  arg: number[];
  classes: Classes;
}

/** Go's syntax.Compile: the instructions of a tree, the whole match's end last. */
function compile(tree: Node): Program {
  const program: Program = { op: [], next: [], alt: [], arg: [], classes: new Classes() };
  const emit = (op: number, arg = 0): number => {
    program.op.push(op);
    program.next.push(program.op.length);
    program.alt.push(-1);
    program.arg.push(arg);
    return program.op.length - 1;
  };
  const here = (): number => program.op.length;
  /** A split into the instructions that follow it (first when greedy) or a place patched later with skipTo. */
  const split = (greedy: boolean): number => {
    const pc = emit(Op.Split);
    if (!greedy) [program.next[pc], program.alt[pc]] = [-1, pc + 1];
    return pc;
  };
  const skipTo = (pc: number, target: number): void => {
    if (program.next[pc] === -1) program.next[pc] = target;
    else program.alt[pc] = target;
  };
  const emitNode = (node: Node): void => {
    switch (node.kind) {
      case 'class':
        emit(Op.Class, program.classes.add(node.ranges));
        break;
      case 'sequence':
        node.items.forEach(emitNode);
        break;
      case 'alternation': {
        const jumps: number[] = [];
        node.items.forEach((item, i) => {
          if (i === node.items.length - 1) return emitNode(item);
          const pc = emit(Op.Split);
          emitNode(item);
          jumps.push(emit(Op.Jump));
          program.alt[pc] = here();
        });
        for (const pc of jumps) program.next[pc] = here();
        break;
      }
      case 'repeat': {
        for (let i = 0; i < node.min; i += 1) emitNode(node.item);
        if (node.max === Infinity) {
          const loop = split(node.greedy);
          emitNode(node.item);
          program.next[emit(Op.Jump)] = loop;
          skipTo(loop, here());
        } else {
          // x{n,m} as Go simplifies it: n times x, then (x(x…)?)? nested m-n deep.
          const splits: number[] = [];
          for (let i = node.min; i < node.max; i += 1) {
            splits.push(split(node.greedy));
            emitNode(node.item);
          }
          for (const pc of splits) skipTo(pc, here());
        }
        break;
      }
      case 'capture':
        emit(Op.Save, 2 + 2 * node.index);
        emitNode(node.item);
        emit(Op.Save, 3 + 2 * node.index);
        break;
      case 'assert':
        emit(Op.Assert, node.assertion);
        break;
    }
  };
  emitNode(tree);
  emit(Op.Match);
  return program;
}

/** How many strings a set of literals may hold: each is looked for in the whole text. */
const MAX_LITERALS = 64;

/**
 * Strings one of which every match of `node` holds, the longest such the tree shows (runs of
 * literals and small classes: `sk_(live|test)_`, `[bB][aA][sS][iI][cC]`); undefined when it shows
 * none of two characters or more.
 */
function requiredLiterals(node: Node): string[] | undefined {
  const found = required(node);
  return found !== undefined && Math.min(...found.map((literal) => literal.length)) >= 2 ? found : undefined;
}

/** The better of two sets of literals: the longer shortest one, then the fewer. */
function better(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  const shortest = (set: string[]): number => Math.min(...set.map((literal) => literal.length));
  return shortest(a) !== shortest(b) ? (shortest(a) > shortest(b) ? a : b) : a.length <= b.length ? a : b;
}

function required(node: Node): string[] | undefined {
  switch (node.kind) {
    case 'sequence': {
      let best: string[] | undefined;
      node.items.forEach((item, i) => {
        best = better(best, required(item));
        // The longest run of items from here whose strings are few enough to list.
        let run: string[] | undefined = [''];
        for (let j = i; j < node.items.length && run !== undefined; j += 1) {
          run = product(run, exactly(node.items[j]));
          if (run !== undefined && j > i) best = better(best, run);
        }
      });
      return best;
    }
    case 'alternation': {
      const union = node.items.map(required).reduce<string[] | undefined>((all, set) => (all === undefined || set === undefined ? undefined : [...all, ...set]), []);
      return better(union !== undefined && union.length <= MAX_LITERALS ? union : undefined, exactly(node));
    }
    case 'capture':
      return required(node.item);
    case 'repeat':
      return node.min > 0 ? required(node.item) : undefined;
    default:
      return exactly(node);
  }
}

/** Every string `node` matches, when they are few; undefined otherwise. */
function exactly(node: Node): string[] | undefined {
  switch (node.kind) {
    case 'class': {
      const size = node.ranges.reduce((total, [low, high]) => total + high - low + 1, 0);
      return size > 8 ? undefined : node.ranges.flatMap(([low, high]) => Array.from({ length: high - low + 1 }, (_, i) => String.fromCodePoint(low + i)));
    }
    case 'sequence':
      return node.items.reduce<string[] | undefined>((strings, item) => product(strings, exactly(item)), ['']);
    case 'alternation': {
      const union = node.items.map(exactly).reduce<string[] | undefined>((all, set) => (all === undefined || set === undefined ? undefined : [...all, ...set]), []);
      return union !== undefined && union.length <= MAX_LITERALS ? union : undefined;
    }
    case 'capture':
      return exactly(node.item);
    case 'repeat':
      return node.min === node.max && node.min <= 4 ? Array.from({ length: node.min }, () => node.item).reduce<string[] | undefined>((strings, item) => product(strings, exactly(item)), ['']) : undefined;
    case 'assert':
      return [''];
  }
}

function product(prefixes: string[] | undefined, suffixes: string[] | undefined): string[] | undefined {
  if (prefixes === undefined || suffixes === undefined || prefixes.length * suffixes.length > MAX_LITERALS) return undefined;
  return prefixes.flatMap((prefix) => suffixes.map((suffix) => prefix + suffix));
}

/** The assertions that hold at `pos`, as bits. */
function context(text: string, pos: number): number {
  const lineStart = pos === 0 || text.charCodeAt(pos - 1) === NEWLINE;
  const lineEnd = pos === text.length || text.charCodeAt(pos) === NEWLINE;
  return (pos === 0 ? Assertion.TextStart : 0) | (pos === text.length ? Assertion.TextEnd : 0) | (lineStart ? Assertion.LineStart : 0) | (lineEnd ? Assertion.LineEnd : 0);
}

/**
 * Go's machine.add, worked out once for each instruction and context: what a thread at `entry`
 * reaches through the instructions that consume nothing, in priority order, each once, as
 * [instruction, number of saves, slot…]. Go skips the instructions an earlier thread of the
 * step reached; those reach only threads already queued, which GoRegexp.add skips.
 */
class Closures {
  private readonly lists: (Int32Array | undefined)[];
  private readonly sets: (Uint32Array | undefined)[];

  constructor(private readonly program: Program) {
    this.lists = new Array<Int32Array | undefined>(CONTEXTS * program.op.length);
    this.sets = new Array<Uint32Array | undefined>(CONTEXTS * program.op.length);
  }

  get(entry: number, where: number): Int32Array {
    const index = where * this.program.op.length + entry;
    const cached = this.lists[index];
    if (cached !== undefined) return cached;
    const { op, next, alt, arg } = this.program;
    const found: number[] = [];
    const seen = new Set<number>();
    const saves: number[] = [];
    const visit = (first: number): void => {
      for (let pc = first; !seen.has(pc); ) {
        seen.add(pc);
        switch (op[pc]) {
          case Op.Split:
            visit(next[pc]);
            pc = alt[pc];
            break;
          case Op.Jump:
            pc = next[pc];
            break;
          case Op.Save:
            saves.push(arg[pc]);
            visit(next[pc]);
            saves.pop();
            return;
          case Op.Assert:
            if ((where & arg[pc]) === 0) return;
            pc = next[pc];
            break;
          default:
            found.push(pc, saves.length, ...saves);
            return;
        }
      }
    };
    visit(entry);
    const list = Int32Array.from(found);
    this.lists[index] = list;
    return list;
  }

  /** The instructions of `get`, as a set. */
  set(entry: number, where: number): Uint32Array {
    const index = where * this.program.op.length + entry;
    const cached = this.sets[index];
    if (cached !== undefined) return cached;
    const set = new Uint32Array(words(this.program));
    const list = this.get(entry, where);
    for (let i = 0; i < list.length; i += 2 + list[i + 1]) set[list[i] >>> 5] |= 1 << (list[i] & 31);
    this.sets[index] = set;
    return set;
  }
}

const CONTEXTS = 16;

/** What Liveness.scan finds in a text. */
interface Live {
  /** By place: the id of the set of threads that can still match. */
  live: Int32Array;
  /** By place: 1 where a match can start. */
  starts: Uint8Array;
}
/** How many sets of live threads a pattern keeps before giving liveness up for the text at hand. */
const MAX_LIVE_SETS = 4_096;

const words = (program: Program): number => (program.op.length + 31) >>> 5;

/**
 * The threads that can still end in a match, at each place of a text: sets of instructions
 * (the match always in), worked out from the text's end backwards, one a character. A lazy DFA:
 * each set is made once, and the set a character and the context after it lead to is kept.
 * Characters are told apart only as far as some class tells them apart (their kind).
 */
class Liveness {
  private readonly consuming: number[] = [];
  private readonly match: number;
  /** A kind's first character, which stands for all of it. */
  private readonly kinds: number[];
  private readonly asciiKinds: Uint8Array;
  private sets: Uint32Array[] = [];
  private ids = new Map<string, number>();
  /** The set at a text's end: the match only. */
  private end: number;
  /** By set: the set each kind and context before it lead to, -1 until known. */
  private transitions: Int32Array[] = [];
  /** By set: 1 where a match can start in a context, 0 where it cannot, -1 until known. */
  private starts: Int8Array[] = [];
  /** Contexts told apart only as far as the pattern's assertions tell them apart: a context's index among those. */
  private readonly contextIndex: Uint8Array;
  private readonly contexts: number;

  constructor(
    private readonly program: Program,
    private readonly closures: Closures,
  ) {
    program.op.forEach((op, pc) => {
      if (op === Op.Class) this.consuming.push(pc);
    });
    this.match = program.op.length - 1;
    const bounds = new Set([0]);
    for (const pc of this.consuming) for (const [low, high] of program.classes.rangesOf(program.arg[pc])) bounds.add(low).add(high + 1);
    this.kinds = [...bounds].filter((c) => c <= MAX_CODE_POINT).sort((a, b) => a - b);
    this.asciiKinds = Uint8Array.from({ length: 0x80 }, (_, c) => this.kindOf(c));
    const asserted = program.op.reduce((bits, op, pc) => (op === Op.Assert ? bits | program.arg[pc] : bits), 0);
    const told = Object.values(Assertion).filter((bit) => (asserted & bit) !== 0);
    this.contexts = 1 << told.length;
    this.contextIndex = Uint8Array.from({ length: CONTEXTS }, (_, where) => told.reduce((index, bit, i) => ((where & bit) !== 0 ? index | (1 << i) : index), 0));
    this.end = this.intern(this.only(this.match));
  }

  /**
   * The live set's id at each character's start and at the text's end, and the places where a
   * match can start (1); undefined when the sets outgrow MAX_LIVE_SETS.
   */
  scan(text: string): Live | undefined {
    const live = new Int32Array(text.length + 1);
    const starts = new Uint8Array(text.length + 1);
    let id = this.end;
    // The context at `pos`, where `id` is live.
    let after = context(text, text.length);
    for (let pos = text.length; ; ) {
      live[pos] = id;
      if (this.canStart(id, after)) starts[pos] = 1;
      if (pos === 0) return { live, starts };
      let c = text.charCodeAt(pos - 1);
      pos -= 1;
      if (isLowSurrogate(c) && pos > 0 && isHighSurrogate(text.charCodeAt(pos - 1))) {
        pos -= 1;
        c = text.codePointAt(pos) ?? c;
      }
      const kind = c < 0x80 ? this.asciiKinds[c] : this.kindOf(c);
      const before = (pos === 0 ? Assertion.TextStart | Assertion.LineStart : text.charCodeAt(pos - 1) === NEWLINE ? Assertion.LineStart : 0) | (c === NEWLINE ? Assertion.LineEnd : 0);
      const known = this.transitions[id][kind * this.contexts + this.contextIndex[after]];
      id = known >= 0 ? known : this.transition(id, kind, after);
      if (id < 0) return undefined;
      after = before;
    }
  }

  has(id: number, pc: number): boolean {
    return (this.sets[id][pc >>> 5] & (1 << (pc & 31))) !== 0;
  }

  /** Whether a thread started in `where` with this live set can match. */
  private canStart(id: number, where: number): boolean {
    const known = this.starts[id][this.contextIndex[where]];
    if (known >= 0) return known === 1;
    const can = intersects(this.closures.set(0, where), this.sets[id]);
    this.starts[id][this.contextIndex[where]] = can ? 1 : 0;
    return can;
  }

  /** The live set before a character of `kind` that has `after` after it, from the one after it; -1 when there would be too many sets. */
  private transition(id: number, kind: number, after: number): number {
    const set = this.only(this.match);
    const c = this.kinds[kind];
    for (const pc of this.consuming) {
      if (this.program.classes.has(this.program.arg[pc], c) && intersects(this.closures.set(this.program.next[pc], after), this.sets[id])) set[pc >>> 5] |= 1 << (pc & 31);
    }
    const next = this.intern(set);
    if (next >= MAX_LIVE_SETS) {
      // Start afresh for the next text; this one is searched without liveness, as Go searches.
      this.sets = [];
      this.ids = new Map();
      this.transitions = [];
      this.starts = [];
      this.end = this.intern(this.only(this.match));
      return -1;
    }
    this.transitions[id][kind * this.contexts + this.contextIndex[after]] = next;
    return next;
  }

  private only(pc: number): Uint32Array {
    const set = new Uint32Array(words(this.program));
    set[pc >>> 5] |= 1 << (pc & 31);
    return set;
  }

  private intern(set: Uint32Array): number {
    const key = set.join(',');
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    this.ids.set(key, this.sets.length);
    this.transitions.push(new Int32Array(this.kinds.length * this.contexts).fill(-1));
    this.starts.push(new Int8Array(this.contexts).fill(-1));
    return this.sets.push(set) - 1;
  }

  private kindOf(c: number): number {
    let low = 0;
    let high = this.kinds.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.kinds[middle] <= c) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}

const intersects = (a: Uint32Array, b: Uint32Array): boolean => a.some((word, i) => (word & b[i]) !== 0);
const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;

/** Go's queue of threads: instructions that consume (or the match), in priority order, with their slots. */
class Queue {
  readonly dense: Int32Array;
  readonly slots: Int32Array[];
  /** The generation an instruction was last queued in: clearing the queue starts a new one. */
  readonly mark: Int32Array;
  generation = 0;
  size = 0;

  constructor(instructions: number) {
    this.dense = new Int32Array(instructions);
    this.slots = new Array<Int32Array>(instructions);
    this.mark = new Int32Array(instructions).fill(-1);
  }

  clear(): void {
    this.size = 0;
    this.generation += 1;
  }
}
