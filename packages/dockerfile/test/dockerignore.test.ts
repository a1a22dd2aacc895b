import { PatternMatcher, readDockerignore } from '@ctr/dockerfile';

const ignored = (patterns: string[], file: string): boolean => new PatternMatcher(patterns).matches(file);

describe('.dockerignore file reading', () => {
  it('skips comments and blank lines, trims, cleans and makes paths relative', () => {
    const text = '\ufeff# comment\n\n  /abs/path  \n! /keep/./this/\n./a/../b\n';
    expect(readDockerignore(text)).toEqual(['abs/path', '!keep/this', 'b']);
  });

  it('keeps a lone / as is', () => {
    expect(readDockerignore('/\n')).toEqual(['/']);
  });
});

describe('.dockerignore matching (moby/patternmatcher semantics)', () => {
  it.each([
    [['*.md'], 'README.md', true],
    [['*.md'], 'docs/README.md', false],
    [['**/*.md'], 'docs/deep/README.md', true],
    [['**/*.md'], 'README.md', true],
    [['docs'], 'docs/a/b.txt', true],
    [['docs/'], 'docs/a.txt', true],
    [['a?c'], 'abc', true],
    [['a?c'], 'a/c', false],
    [['node_modules/**'], 'node_modules/x/y', true],
    [['**'], 'anything/at/all', true],
    [['a/**/b'], 'a/b', true],
    [['a/**/b'], 'a/x/y/b', true],
    [['*', '!keep.txt'], 'keep.txt', false],
    [['*', '!keep.txt'], 'other.txt', true],
    [['!keep.txt', '*'], 'keep.txt', true],
    [['docs', '!docs/keep.md'], 'docs/keep.md', false],
    [['docs', '!docs/keep.md'], 'docs/other.md', true],
    [['file.(x)'], 'file.(x)', true],
    [['f[ab]'], 'fa', true],
    [['f[ab]'], 'fc', false],
    [['\\*star'], '*star', true],
    [['\\*star'], 'xstar', false],
  ] as [string[], string, boolean][])('%j ignores %s: %s', (patterns, file, expected) => {
    expect(ignored(patterns, file)).toBe(expected);
  });

  it('rejects a lone ! with a typed error', () => {
    expect(() => new PatternMatcher(['!'])).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('rejects a pattern that is not a valid expression with a typed error', () => {
    expect(() => new PatternMatcher(['[z-a]'])).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('reports whether exclusion patterns exist (so ignored directories must still be walked)', () => {
    expect(new PatternMatcher(['a']).hasExclusions).toBe(false);
    expect(new PatternMatcher(['a', '!a/b']).hasExclusions).toBe(true);
  });
});
