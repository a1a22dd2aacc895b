import { ShellLex } from './shell-lexer';

/** A here-document attached to RUN, COPY or ADD: `RUN <<EOF`, `COPY <<-'A' <<B /dst`. */
export interface Heredoc {
  /** The delimiter after quote removal (`<<'EOF'` → `EOF`); COPY uses it as the file name. */
  name: string;
  /** `3<<EOF` → 3; 0 when none was given. */
  fileDescriptor: number;
  /** False when any part of the delimiter was quoted: the body is not expanded. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the body and the terminator. */
  chomp: boolean;
  /** The body, lines with their newlines, before chomping. */
  content: string;
}

const heredocWord = /^(\d*)<<(-?)\s*([^<]*)$/;
const noEnv = new Map<string, string>();
const plain = new ShellLex({ skipUnsetEnv: true });
const rawQuoted = new ShellLex({ skipUnsetEnv: true, rawQuotes: true });

/** Parse one word as a heredoc opener; undefined when it is not one. Throws on unterminated quotes. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = heredocWord.exec(word);
  if (!m || m[3]!.length === 0) return undefined;
  const rest = m[3]!;
  const words = plain.processWords(rest, noEnv);
  if (words.length !== 1) return undefined;
  const raw = rawQuoted.processWords(rest, noEnv);
  const quotes = (s: string): number => (s.match(/['"]/g) ?? []).length;
  return {
    name: words[0]!,
    fileDescriptor: m[1] ? Number(m[1]) : 0,
    // quote removal changed the count: something in the delimiter was quoted
    expand: quotes(words[0]!) === quotes(raw[0] ?? ''),
    chomp: m[2] === '-',
  };
}

const lineLex = new ShellLex({ skipUnsetEnv: true, rawQuotes: true, rawEscapes: true });

/** The heredocs a logical instruction line opens, in order. */
export function heredocsFromLine(line: string): Omit<Heredoc, 'content'>[] {
  let words: string[];
  try {
    words = lineLex.processWords(line, noEnv);
  } catch {
    return []; // an unbalanced quote in a RUN line is the shell's business, not a heredoc
  }
  const docs: Omit<Heredoc, 'content'>[] = [];
  for (let i = 0; i < words.length; i++) {
    let word = words[i]!;
    // `<< EOF` / `<<- EOF`: the operator and the delimiter may be separate words
    if (/^\d*<<-?$/.test(word) && i + 1 < words.length) word += ' ' + words[++i];
    const doc = parseHeredocWord(word);
    if (doc) docs.push(doc);
  }
  return docs;
}

/** `<<-` bodies: remove the leading tabs of every line. */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
