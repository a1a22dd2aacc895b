import { SyntaxProblem } from './dockerfile-error';
import { withSuggestion } from './suggest';

export type FlagKind = 'string' | 'bool' | 'strings';
export type FlagSpec = Record<string, FlagKind>;
export interface FlagValues {
  strings: Map<string, string>;
  bools: Map<string, boolean>;
  lists: Map<string, string[]>;
}

/** Validate an instruction's `--flag[=value]` words against the flags it accepts (BuildKit's BFlags). */
export function parseFlags(flags: readonly string[], spec: FlagSpec): FlagValues {
  const out: FlagValues = { strings: new Map(), bools: new Map(), lists: new Map() };
  const seen = new Set<string>();
  for (const word of flags) {
    if (!word.startsWith('--')) throw new SyntaxProblem(`arg should start with -- : ${word}`);
    const eq = word.indexOf('=');
    const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
    const value = eq < 0 ? undefined : word.slice(eq + 1);
    const kind = spec[name];
    if (kind === undefined) {
      throw new SyntaxProblem(withSuggestion(`unknown flag: --${name}`, name, Object.keys(spec)));
    }
    if (kind !== 'strings' && seen.has(name)) throw new SyntaxProblem(`Duplicate flag specified: --${name}`);
    seen.add(name);
    if (kind === 'bool') {
      const v = (value ?? 'true').toLowerCase();
      if (v !== 'true' && v !== 'false') throw new SyntaxProblem(`expecting boolean value for flag ${name}, not: ${value}`);
      out.bools.set(name, v === 'true');
    } else {
      if (value === undefined) {
        throw new SyntaxProblem(`Missing a value on flag: --${name}`);
      }
      if (kind === 'string') out.strings.set(name, value);
      else out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
    }
  }
  return out;
}
