import { Writable } from 'node:stream';

/** Stream numbers in Docker's multiplexed framing (`stdcopy`). */
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;

/** Docker's 8-byte frame header: stream number, three zero bytes, payload size (big-endian u32). */
export function frameHeader(stream: number, size: number): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(size, 4);
  return header;
}

/**
 * A writable whose chunks go to `sink` framed for `stream` (no TTY), or raw (TTY, where
 * the terminal has already merged stdout and stderr). Back-pressure is the sink's.
 */
export function framedWriter(sink: Writable, stream: number, raw: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback): void {
      if (!sink.writable) return callback();
      if (!raw) sink.write(frameHeader(stream, chunk.length));
      if (sink.write(chunk)) callback();
      else sink.once('drain', () => callback());
    },
  });
}

/** Split a multiplexed byte stream back into frames (for the client and tests). */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** Feed bytes; get every complete frame they finish. */
  push(chunk: Buffer): Array<{ stream: number; data: Buffer }> {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Array<{ stream: number; data: Buffer }> = [];
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      frames.push({ stream: this.pending[0] as number, data: this.pending.subarray(8, 8 + size) });
      this.pending = this.pending.subarray(8 + size);
    }
    return frames;
  }
}
