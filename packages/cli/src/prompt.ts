import { StringDecoder } from 'node:string_decoder';
import { CtrError } from '@ctr/errors';
import type { Io } from './command';

const CR = 0x0d;
const LF = 0x0a;
/** Ctrl-C at a raw terminal. */
const ETX = 0x03;
/** Backspace at a raw terminal. */
const DEL = 0x7f;

/** Streams whose last answer ended on a \r that closed its chunk: a \n may follow in the next. */
const answeredOnCr = new WeakSet<Io['stdin']>();

/**
 * Ask `question` and read one line of the answer from stdin — typed at a terminal, or piped
 * (`echo y | ctr system prune`); the end of input answers with what was read so far. With
 * `secret` the terminal does not echo it. Ctrl-C at a raw terminal is Aborted.
 */
export function prompt(io: Io, question: string, secret = false): Promise<string> {
  io.stdout.write(question);
  const { stdin } = io;
  if (secret) stdin.setRawMode?.(true);
  return new Promise((resolve, reject) => {
    let line = '';
    const finish = (error?: Error): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      if (secret) {
        stdin.setRawMode?.(false);
        io.stdout.write('\n');
      }
      if (error) reject(error);
      else resolve(line);
    };
    // Bytes, not the chunk's text: a character may be split between chunks, and what a piped
    // answer leaves for the next question goes back as it came.
    const decoder = new StringDecoder('utf8');
    const onData = (chunk: Buffer): void => {
      // The \n of a CRLF whose \r ended the last answer's chunk ends no answer of its own.
      let from = answeredOnCr.has(stdin) && chunk[0] === LF ? 1 : 0;
      answeredOnCr.delete(stdin);
      for (let i = from; i < chunk.length; i++) {
        const byte = chunk[i];
        // ASCII control bytes never occur inside a UTF-8 character.
        if (byte !== CR && byte !== LF && byte !== ETX && byte !== DEL) continue;
        line += decoder.write(chunk.subarray(from, i));
        from = i + 1;
        // A backspace takes back a character, not half of one (an emoji is two UTF-16 units).
        if (byte === DEL) line = line.replace(/[\s\S]$/u, '');
        else if (byte === ETX) return finish(new CtrError('Aborted', 'cancelled at the prompt'));
        else {
          // A raw terminal's Enter is a lone \r: only piped text may go on with a \n.
          if (byte === CR && i === chunk.length - 1 && !secret) answeredOnCr.add(stdin);
          finish();
          // Piped answers come in one chunk (`printf 'y\ny\n' | …`): the next question's are given back to stdin.
          const rest = chunk.subarray(byte === CR && chunk[i + 1] === LF ? i + 2 : i + 1);
          if (rest.length > 0) stdin.unshift(rest);
          return;
        }
      }
      line += decoder.write(chunk.subarray(from));
    };
    const onEnd = (): void => {
      line += decoder.end();
      finish();
    };
    // A question after the piped answers ran out: no answer.
    if (stdin.readableEnded) return finish();
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
  });
}

/** docker's prompt.Confirm: `question [y/N] `, a line of stdin (a terminal or not); `y` or `yes` is yes, anything else (no answer) no. */
export async function confirm(io: Io, question: string): Promise<boolean> {
  const answer = await prompt(io, `${question} [y/N] `);
  return /^y(es)?$/i.test(answer.trim());
}
