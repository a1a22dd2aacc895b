import * as fs from 'node:fs';
import { isCtrError } from '@ctr/errors';
import { ShellLex } from '@ctr/dockerfile';
import { CONFORMANCE } from '../../../test/conformance';

const dir = `${CONFORMANCE}/dockerfile`;
const lex = new ShellLex();

interface EnvVarCase {
  line: number;
  input: string;
  expected: string;
}

function envVarCases(): EnvVarCase[] {
  const cases: EnvVarCase[] = [];
  fs.readFileSync(`${dir}/shell/envVarTest`, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const fields = line.split('|').map((f) => f.trim());
      if (fields.length !== 3) throw new Error(`envVarTest line ${i + 1} has ${fields.length} fields`);
      const [platform, input, expected] = fields as [string, string, string];
      if (platform === 'A' || platform === 'U') cases.push({ line: i + 1, input, expected });
    });
  return cases;
}

const envVarEnv = new Map([
  ['PWD', '/home'],
  ['SHELL', 'bash'],
  ['KOREAN', '한국어'],
  ['NULL', ''],
]);

function expectTypedError(run: () => unknown): void {
  let caught: unknown;
  try {
    run();
  } catch (e) {
    caught = e;
  }
  expect(isCtrError(caught)).toBe(true);
  expect(caught).toMatchObject({ code: 'InvalidArgument' });
}

describe('shell/envVarTest (single-word expansion)', () => {
  const cases = envVarCases();
  it('reads every Unix vector', () => expect(cases.length).toBeGreaterThan(200));
  it.each(cases)('line $line: $input → $expected', ({ input, expected }) => {
    if (expected === 'error') expectTypedError(() => lex.processWord(input, envVarEnv));
    else expect(lex.processWord(input, envVarEnv)).toBe(expected);
  });
});

describe('shell/wordsTest (word splitting)', () => {
  const env = new Map<string, string>();
  const cases: { line: number; input: string; expected: string[] | 'error'; env: Map<string, string> }[] = [];
  fs.readFileSync(`${dir}/shell/wordsTest`, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      if (raw.startsWith('#')) return;
      if (raw.startsWith('ENV ')) {
        const assignment = raw.slice(4).replace(/^ +/, '');
        const eq = assignment.indexOf('=');
        env.set(assignment.slice(0, eq), assignment.slice(eq + 1));
        return;
      }
      if (raw.trim() === '') return;
      const fields = raw.split('|');
      if (fields.length !== 2) throw new Error(`wordsTest line ${i + 1} has ${fields.length} fields`);
      const expectedText = fields[1]!.replace(/^ +/, '');
      cases.push({
        line: i + 1,
        input: fields[0]!.trim(),
        expected: expectedText === 'error' ? 'error' : expectedText.split(','),
        env: new Map(env),
      });
    });

  it('reads every vector', () => expect(cases.length).toBeGreaterThanOrEqual(24));
  it.each(cases)('line $line: $input', ({ input, expected, env: vars }) => {
    if (expected === 'error') expectTypedError(() => lex.processWords(input, vars));
    else expect(lex.processWords(input, vars)).toEqual(expected);
  });
});

interface MatchCase {
  input: string;
  envs: Record<string, string>;
  expected?: string;
  expectedErr?: boolean;
  expectedErrContains?: string;
  matches?: string[];
  unmatched?: string[];
  note?: string;
}

const withMatches = JSON.parse(fs.readFileSync(`${dir}/derived/process-word-with-matches.json`, 'utf8')) as {
  cases: MatchCase[];
  platformCases: MatchCase[];
  mandatoryEnvCases: MatchCase[];
};

describe('derived/process-word-with-matches.json', () => {
  it.each(withMatches.cases.map((c, i) => ({ ...c, i })))('case $i: $input', (c) => {
    const env = new Map(Object.entries(c.envs));
    if (c.note && /not guaranteed/i.test(c.note)) {
      // upstream only promises these do not crash: a result or a typed error
      try {
        lex.processWordWithMatches(c.input, env);
      } catch (e) {
        expect(isCtrError(e)).toBe(true);
      }
      return;
    }
    if (c.expectedErr) return expectTypedError(() => lex.processWordWithMatches(c.input, env));
    const result = lex.processWordWithMatches(c.input, env);
    expect(result.result).toBe(c.expected);
    expect([...result.matched].sort()).toEqual([...(c.matches ?? [])].sort());
    expect([...result.unmatched].sort()).toEqual([...(c.unmatched ?? [])].sort());
  });

  it.each(withMatches.platformCases.map((c, i) => ({ ...c, i })))('platform case $i', (c) => {
    expect(lex.processWord(c.input, new Map(Object.entries(c.envs)))).toBe(c.expected);
  });

  it.each(withMatches.mandatoryEnvCases.map((c, i) => ({ ...c, i })))('mandatory variable case $i: $input', (c) => {
    const env = new Map(Object.entries(c.envs));
    if (c.expectedErrContains === undefined) {
      expect(lex.processWord(c.input, env)).toBe(c.expected);
      return;
    }
    expect(() => lex.processWord(c.input, env)).toThrow(c.expectedErrContains);
  });
});
