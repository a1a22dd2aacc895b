import * as fs from 'node:fs';
import * as path from 'node:path';
import { isCtrError } from '@ctr/errors';
import { parseDockerfile, ShellLex } from '@ctr/dockerfile';
import { CONFORMANCE } from '../../../test/conformance';

const corpus = `${CONFORMANCE}/dockerfile-corpus`;
const sources = fs
  .readdirSync(corpus, { recursive: true, encoding: 'utf8' })
  .filter((f) => /Dockerfile/.test(path.basename(f)) && !f.startsWith('LICENSES'))
  .map((f) => fs.readFileSync(path.join(corpus, f), 'utf8'));

/** A small deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tokens = ['\\', '`', '"', "'", '$', '${', '}', '[', ']', '<<', '<<-', '#', '\n', '\t', ' ', '=', '--', ':-', '%%', '//', '\r', 'EOF', '# escape=`\n', 'FROM x\n', 'ONBUILD ', 'AS ', '\u00a0'];

function mutate(text: string, random: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  let out = text;
  const edits = 1 + Math.floor(random() * 8);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (out.length + 1));
    switch (Math.floor(random() * 5)) {
      case 0:
        out = out.slice(0, at) + pick(tokens) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 20));
        break;
      case 2: {
        const lines = out.split('\n');
        const a = Math.floor(random() * lines.length);
        const b = Math.floor(random() * lines.length);
        [lines[a], lines[b]] = [lines[b]!, lines[a]!];
        out = lines.join('\n');
        break;
      }
      case 3:
        out = out.slice(0, at);
        break;
      default:
        out = out.slice(0, at) + String.fromCharCode(Math.floor(random() * 0x3000)) + out.slice(at);
    }
  }
  return out;
}

describe('parser robustness', () => {
  // jest's test timeout bounds the time; the case count keeps it to a few seconds
  it('never crashes on 3000 random mutations of the corpus: it parses or throws a CtrError', () => {
    const random = prng(20261122);
    let failures = 0;
    for (let i = 0; i < 3000; i++) {
      const mutated = mutate(sources[i % sources.length]!, random);
      try {
        parseDockerfile(mutated);
      } catch (e) {
        if (!isCtrError(e)) throw new Error(`mutation ${i} crashed the parser: ${String(e)}\n---\n${mutated}`);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(0); // the mutations did reach error paths
  });

  it('never crashes the shell lexer on random words', () => {
    const random = prng(7);
    const lex = new ShellLex();
    const env = new Map([['A', 'x y'], ['B', '']]);
    for (let i = 0; i < 5000; i++) {
      let word = '';
      const n = Math.floor(random() * 12);
      for (let j = 0; j < n; j++) word += tokens[Math.floor(random() * tokens.length)]! + (random() < 0.3 ? 'A' : '');
      try {
        lex.processWords(word, env);
        lex.processWord(word, env);
      } catch (e) {
        if (!isCtrError(e)) throw new Error(`lexer crashed on ${JSON.stringify(word)}: ${String(e)}`);
      }
    }
  });
});
