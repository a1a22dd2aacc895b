import { CtrError } from '@ctr/errors';
import type { Io } from './command';

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
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      // The \n of a CRLF whose \r ended the last answer's chunk ends no answer of its own.
      const start = answeredOnCr.has(stdin) && text.startsWith('\n') ? 1 : 0;
      answeredOnCr.delete(stdin);
      for (let i = start; i < text.length; i++) {
        const ch = text[i];
        if (ch === '\r' || ch === '\n') {
          // A raw terminal's Enter is a lone \r: only piped text may go on with a \n.
          if (ch === '\r' && i === text.length - 1 && !secret) answeredOnCr.add(stdin);
          finish();
          // Piped answers come in one chunk (`printf 'y\ny\n' | …`): the next question's are given back to stdin.
          const rest = text.slice(ch === '\r' && text[i + 1] === '\n' ? i + 2 : i + 1);
          if (rest !== '') stdin.unshift(Buffer.from(rest, 'utf8'));
          return;
        }
        if (ch === '\u0003') return finish(new CtrError('Aborted', 'cancelled at the prompt'));
        if (ch === '\u007f') line = line.slice(0, -1);
        else line += ch;
      }
    };
    const onEnd = (): void => finish();
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
