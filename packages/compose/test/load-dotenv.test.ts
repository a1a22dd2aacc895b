import { parseDotenv } from '../src/dotenv';

describe('.env syntax', () => {
  test('KEY=value lines, blank lines and comments', () => {
    expect(parseDotenv('# comment\nA=1\n\n  B = two  \n')).toEqual({ A: '1', B: 'two' });
  });

  test('an inline comment needs a blank before #', () => {
    expect(parseDotenv('A=pass#word\nB=value # note\n')).toEqual({ A: 'pass#word', B: 'value' });
  });

  test('export prefix and YAML-style colon', () => {
    expect(parseDotenv('export A=1\nB: 2\n')).toEqual({ A: '1', B: '2' });
  });

  test('single quotes are literal', () => {
    expect(parseDotenv("A='${B} \\n # not a comment'\n")).toEqual({ A: '${B} \\n # not a comment' });
  });

  test('double quotes expand escapes and span lines', () => {
    expect(parseDotenv('A="one\\ntwo"\nB="line1\nline2"\nC="say \\"hi\\""\n')).toEqual({ A: 'one\ntwo', B: 'line1\nline2', C: 'say "hi"' });
  });

  test('values refer to earlier keys and to the environment', () => {
    expect(parseDotenv('A=1\nB=${A}-$C\nD="${A:-x}"\n', (name) => (name === 'C' ? 'env' : undefined))).toEqual({ A: '1', B: '1-env', D: '1' });
  });

  test('a key alone takes its value from the environment, or is left out', () => {
    expect(parseDotenv('A\nB\n', (name) => (name === 'A' ? 'from-env' : undefined))).toEqual({ A: 'from-env' });
  });

  test('an empty value is an empty string', () => {
    expect(parseDotenv('A=\nB=""\n')).toEqual({ A: '', B: '' });
  });

  test('an unterminated quote is an error naming the line', () => {
    expect(() => parseDotenv('A=1\nB="open\n')).toThrow('line 2: unterminated quoted value "open');
  });

  test('a bad character in a name is an error', () => {
    expect(() => parseDotenv('A$B=1\n')).toThrow('unexpected character "$" in variable name');
  });
});
