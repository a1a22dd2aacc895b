import { invalidArgument } from '@ctr/errors';
import { cleanPath } from './clean-path';

/**
 * `.dockerignore` with Docker's exact semantics (moby/patternmatcher): patterns are cleaned
 * relative paths, `*` and `?` stop at `/`, `**` crosses directories, `!pattern` re-includes,
 * the last matching pattern wins, and a path is excluded when it or any parent matches.
 */

/** The patterns of a `.dockerignore` file, normalised like Docker's `ignorefile.ReadAll`. */
export function readDockerignore(text: string): string[] {
  const patterns: string[] = [];
  text.split('\n').forEach((raw, i) => {
    let line = i === 0 ? raw.replace(/^\ufeff/, '') : raw;
    if (line.startsWith('#')) return;
    line = line.trim();
    if (line === '') return;
    const invert = line.startsWith('!');
    if (invert) line = line.slice(1).trim();
    if (line.length > 0) {
      line = cleanPath(line);
      if (line.length > 1 && line.startsWith('/')) line = line.slice(1);
    }
    patterns.push(invert ? '!' + line : line);
  });
  return patterns;
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

class Pattern {
  readonly exclusion: boolean;
  private readonly cleaned: string;
  private readonly type: MatchType;
  private readonly regexp?: RegExp;

  constructor(text: string) {
    let p = text;
    this.exclusion = p.startsWith('!');
    if (this.exclusion) {
      if (p.length === 1) throw invalidArgument('illegal exclusion pattern: "!"');
      p = p.slice(1);
    }
    this.cleaned = cleanPath(p);
    const { type, source } = compile(this.cleaned);
    this.type = type;
    if (type === 'regexp') {
      try {
        this.regexp = new RegExp(source, 'u');
      } catch (e) {
        throw invalidArgument(`syntax error in pattern "${text}" in .dockerignore`, { cause: e });
      }
    }
  }

  match(path: string): boolean {
    switch (this.type) {
      case 'exact':
        return path === this.cleaned;
      case 'prefix':
        return path.startsWith(this.cleaned.slice(0, -2));
      case 'suffix': {
        let suffix = this.cleaned.slice(2);
        if (suffix.startsWith('/')) suffix = suffix.slice(1);
        return path.endsWith(suffix);
      }
      default:
        return this.regexp!.test(path);
    }
  }
}

const escaped = '.+()|{}$^';

function compile(pattern: string): { type: MatchType; source: string } {
  const chars = Array.from(pattern);
  let source = '^';
  let type: MatchType = 'exact';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') {
      const atStart = i === 0;
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++; // `**/` is `**`
        if (i + 1 >= chars.length) {
          // a trailing `**` accepts everything below, like .gitignore
          if (type === 'exact') type = 'prefix';
          else {
            source += '.*';
            type = 'regexp';
          }
        } else {
          source += '(.*/)?';
          type = 'regexp';
        }
        if (atStart) type = 'suffix';
      } else {
        source += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      source += '[^/]';
      type = 'regexp';
    } else if (escaped.includes(ch)) {
      source += '\\' + ch;
    } else if (ch === '\\') {
      if (i + 1 < chars.length) {
        const next = chars[++i]!;
        source += /[\p{L}\p{N}_]/u.test(next) ? next : '\\' + next;
        type = 'regexp';
      } else source += '\\\\';
    } else if (ch === '[' || ch === ']') {
      source += ch;
      type = 'regexp';
    } else source += ch;
  }
  return { type, source: source + '$' };
}

/** A compiled `.dockerignore`. */
export class PatternMatcher {
  private readonly patterns: Pattern[];
  /** True when some `!` pattern exists, so an excluded directory may still hold included files. */
  readonly hasExclusions: boolean;
  /** True when there are no rules: nothing is ignored. */
  readonly isEmpty: boolean;

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map((p) => p.trim()).filter((p) => p !== '').map((p) => new Pattern(p));
    this.hasExclusions = this.patterns.some((p) => p.exclusion);
    this.isEmpty = this.patterns.length === 0;
  }

  /** Is this context-relative slash path (no leading `/`) ignored? */
  matches(file: string): boolean {
    const path = cleanPath(file);
    const slash = path.lastIndexOf('/');
    const parent = slash < 0 ? '.' : path.slice(0, slash);
    const parentDirs = parent.split('/');
    let matched = false;
    for (const pattern of this.patterns) {
      // an inclusion cannot change an already-matched path, nor an exclusion an unmatched one
      if (pattern.exclusion !== matched) continue;
      let match = pattern.match(path);
      if (!match && parent !== '.') {
        for (let i = 0; i < parentDirs.length && !match; i++) match = pattern.match(parentDirs.slice(0, i + 1).join('/'));
      }
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }
}
