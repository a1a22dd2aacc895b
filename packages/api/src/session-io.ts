import type { Writable } from 'node:stream';
import { detachOnKeys, detachedError, parseDetachKeys, type AttachIo } from '@ctr/engine';
import type { HijackedSession } from './client';
import { FrameDecoder, STDERR } from './stdcopy';

/**
 * Carry a hijacked attach or exec session to local streams, as the docker CLI does: stdin
 * goes up (its end half-closes the connection, which the container sees as EOF), output
 * comes down split by stdcopy frames unless it is a TTY's raw bytes. Resolves once the
 * daemon has sent everything and closed its side.
 *
 * A TTY session's input is watched for `io.detachKeys` here too, as the docker CLI watches
 * it: the keys never reach the daemon, and typing them drops the connection (the program
 * keeps its stdin open) and rejects with `detachedError`.
 */
export function pumpSession(session: HijackedSession, io: AttachIo): Promise<void> {
  const { stream, multiplexed } = session;
  const decoder = new FrameDecoder();
  const write = (target: Writable | undefined, data: Buffer): void => {
    if (!target || target.write(data)) return;
    stream.pause();
    target.once('drain', () => stream.resume());
  };
  stream.on('data', (chunk: Buffer) => {
    if (!multiplexed) return write(io.stdout, chunk);
    for (const frame of decoder.push(chunk)) write(frame.stream === STDERR ? io.stderr : io.stdout, frame.data);
  });
  const { stdin } = io;
  const watched = stdin && !multiplexed ? detachOnKeys(stdin, parseDetachKeys(io.detachKeys)) : undefined;
  const input = watched?.stream ?? stdin;
  let detached = false;
  void watched?.detached.then(() => {
    detached = true;
    stream.destroy();
  });
  const endInput = (): void => {
    stream.end();
  };
  if (input) {
    input.pipe(stream, { end: false });
    input.once('end', endInput);
  }
  const abort = (): void => {
    stream.destroy();
  };
  io.signal?.addEventListener('abort', abort, { once: true });
  return new Promise<void>((resolve, reject) => {
    const finish = (): void => {
      if (input) {
        input.unpipe(stream);
        input.off('end', endInput);
      }
      watched?.close();
      // A terminal's stdin would otherwise keep the process alive after the session.
      stdin?.pause();
      io.signal?.removeEventListener('abort', abort);
      if (detached) reject(detachedError());
      else resolve();
    };
    stream.once('end', finish);
    stream.once('close', finish);
    // A connection torn down mid-session ends the session: what arrived has been written.
    stream.once('error', () => undefined);
  });
}
