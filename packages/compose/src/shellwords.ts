import { CtrError } from '@ctr/errors';

/**
 * Splits a command string into words as compose does (go-shellwords, no variable expansion):
 * blanks separate words, single quotes are literal, double quotes keep blanks and honour `\`,
 * a backslash outside quotes escapes the next character.
 */
export function shellSplit(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (c === '\\' && i + 1 < line.length) {
      const next = line[++i] as string;
      // In double quotes only these are escapes; elsewhere any character is taken literally.
      word += quote === '"' && !['"', '\\', '$', '`', '\n'].includes(next) ? c + next : next;
      inWord = true;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    word += c;
    inWord = true;
  }
  if (quote) throw new CtrError('InvalidArgument', `invalid command line string: ${JSON.stringify(line)}`);
  if (inWord) words.push(word);
  return words;
}
