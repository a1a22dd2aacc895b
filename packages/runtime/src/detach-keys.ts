import { Transform, type Readable } from 'node:stream';
import { CtrError, invalidArgument, isCtrError } from '@ctr/errors';

/**
 * Docker's detach keys: typed on an attached TTY session's input, they end the attachment
 * and leave the container (or exec) running. The local engine, ctrd's attach and exec
 * routes and the API client all watch input through this one scanner.
 */

/** The sequence when none is given (`--detach-keys`, config.json's `detachKeys`). */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** `ctrl-@` is 0, `ctrl-a` 1 … `ctrl-_` 31, as moby/term names the control codes. */
const CONTROL_KEYS = '@abcdefghijklmnopqrstuvwxyz[\\]^_';

/**
 * The bytes of a key sequence in Docker's grammar (moby/term's ToBytes): comma-separated
 * keys, each a single character, `ctrl-<c>` with c one of a-z @ [ \ ] ^ _, or `DEL`. An
 * empty or absent sequence is the default. `what` names the keys in the error, as dockerd
 * does: "detach" for attach, "escape" for exec.
 */
export function parseDetachKeys(keys: string | undefined, what: 'detach' | 'escape' = 'detach'): Buffer {
  const text = keys || DEFAULT_DETACH_KEYS;
  const codes: number[] = [];
  for (const key of text.split(',')) {
    const single = Buffer.from(key);
    const control = key.startsWith('ctrl-') && key.length === 6 ? CONTROL_KEYS.indexOf(key.charAt(5)) : -1;
    if (single.length === 1) codes.push(single[0] as number);
    else if (control >= 0) codes.push(control);
    else if (key === 'DEL') codes.push(127);
    else {
      throw invalidArgument(`Invalid ${what} keys (${text}) provided`, {
        hint: `Unknown character: '${key}': a key is one character, ctrl-<a-z, @, [, \\, ], ^ or _>, or DEL; keys are separated by commas (default ${DEFAULT_DETACH_KEYS})`,
      });
    }
  }
  return Buffer.from(codes);
}

/**
 * Finds the detach keys in input as it arrives in pieces. What may be the start of the
 * sequence is held back; if the next bytes do not complete it, the held bytes are passed
 * on after all (a lone ctrl-p reaches the program), and the search goes on from the
 * longest part of them that could still start the sequence (ctrl-p ctrl-p ctrl-q detaches).
 */
export class DetachKeyScanner {
  /** How many bytes of the sequence the input has matched so far (held back). */
  private matched = 0;

  constructor(private readonly keys: Uint8Array) {
    if (keys.length === 0) throw invalidArgument('detach keys must not be empty');
  }

  /** The part of `chunk` to pass on, and whether the keys were completed in it (what follows them is dropped). */
  push(chunk: Uint8Array): { pass: Buffer; detached: boolean } {
    const { keys } = this;
    const parts: Uint8Array[] = [];
    // Bytes of `chunk` from `run` on pass as they are, until one may start the sequence.
    let run = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (byte === keys[this.matched]) {
        if (this.matched === 0) parts.push(chunk.subarray(run, i));
        this.matched++;
        run = i + 1;
        if (this.matched === keys.length) return { pass: Buffer.concat(parts), detached: true };
      } else if (this.matched > 0) {
        const held = Buffer.concat([keys.subarray(0, this.matched), Buffer.of(byte)]);
        const kept = this.restart(held);
        parts.push(held.subarray(0, held.length - kept));
        this.matched = kept;
        run = i + 1;
      }
    }
    if (this.matched === 0) parts.push(chunk.subarray(run));
    return { pass: Buffer.concat(parts), detached: false };
  }

  /** The input ended: what was held back is the program's after all. */
  flush(): Buffer {
    const held = Buffer.from(this.keys.subarray(0, this.matched));
    this.matched = 0;
    return held;
  }

  /** The length of the longest end of `held` (shorter than the sequence) that starts the sequence. */
  private restart(held: Buffer): number {
    for (let length = Math.min(held.length, this.keys.length) - 1; length > 0; length--) {
      if (held.subarray(held.length - length).equals(this.keys.subarray(0, length))) return length;
    }
    return 0;
  }
}

export interface DetachableInput {
  /** The input as the program gets it: without the detach keys, and nothing after them. */
  stream: Readable;
  /** Resolves once the keys were typed; never, otherwise. */
  detached: Promise<void>;
  /** The attachment is over: stop reading the input. */
  close(): void;
}

/** Watch `input` for the detach keys (as `parseDetachKeys` gives them). */
export function detachOnKeys(input: Readable, keys: Uint8Array): DetachableInput {
  const scanner = new DetachKeyScanner(keys);
  let typed = (): void => undefined;
  const detached = new Promise<void>((resolve) => (typed = resolve));
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const { pass, detached: done } = scanner.push(chunk);
      if (pass.length > 0) this.push(pass);
      // The rest of the input is not the program's: not read, and not ended either (an end
      // would close the program's stdin; detaching leaves it open for the next attach).
      if (done) {
        input.unpipe(stream);
        typed();
      }
      callback();
    },
    flush(callback) {
      callback(null, scanner.flush());
    },
  });
  input.pipe(stream);
  return { stream, detached, close: () => input.unpipe(stream) };
}

/**
 * The end of an attachment whose detach keys were typed, as Docker words it (moby/term's
 * EscapeError): `docker attach` and `docker exec` print it and exit with status 1, while
 * `docker run` and `docker start -a` exit with 0.
 */
export function detachedError(): CtrError {
  return new CtrError('Aborted', 'read escape sequence', { details: { detached: true } });
}

/** True for the error of an attachment the user detached from with the keys. */
export function isDetached(error: unknown): boolean {
  return isCtrError(error) && error.code === 'Aborted' && error.details.detached === true;
}
