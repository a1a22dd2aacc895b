import { PassThrough } from 'node:stream';
import type { Io } from '../src/command';
import { confirm, prompt } from '../src/prompt';

/** An Io whose stdin holds `input` and then ends, as a pipe does. */
function piped(input: string): Io {
  const stdin = new PassThrough();
  stdin.end(input);
  return { stdin, stdout: new PassThrough(), stderr: new PassThrough(), env: {} };
}

describe('prompt', () => {
  test('answers piped in one chunk go one to each question', async () => {
    const io = piped('y\nn\ny\n');
    expect([await confirm(io, 'first?'), await confirm(io, 'second?'), await confirm(io, 'third?')]).toEqual([true, false, true]);
  });

  test('a CRLF answer is one answer', async () => {
    const io = piped('y\r\ny\r\n');
    expect([await confirm(io, 'first?'), await confirm(io, 'second?')]).toEqual([true, true]);
  });

  test('a CRLF split between two chunks is one answer', async () => {
    const stdin = new PassThrough();
    const io: Io = { stdin, stdout: new PassThrough(), stderr: new PassThrough(), env: {} };
    stdin.write('y\r');
    const first = await confirm(io, 'first?');
    stdin.end('\ny\n');
    expect([first, await confirm(io, 'second?')]).toEqual([true, true]);
  });

  test('a question after the piped answers ran out is answered no', async () => {
    const io = piped('y\n');
    expect([await confirm(io, 'first?'), await confirm(io, 'second?'), await confirm(io, 'third?')]).toEqual([true, false, false]);
  });

  test('a backspace takes back a whole character, an emoji included', async () => {
    expect(await prompt(piped('caf\u00e9\u{1F600}\u007f\u007fe\n'), 'name? ')).toBe('cafe');
  });

  test('a character split between two chunks is read whole', async () => {
    const stdin = new PassThrough();
    const io: Io = { stdin, stdout: new PassThrough(), stderr: new PassThrough(), env: {} };
    const bytes = Buffer.from('\u00e9t\u00e9\n', 'utf8');
    stdin.write(bytes.subarray(0, 1));
    const answer = prompt(io, 'season? ');
    stdin.end(bytes.subarray(1));
    expect(await answer).toBe('\u00e9t\u00e9');
  });
});
