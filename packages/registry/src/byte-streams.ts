import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';

/** Pass on the first `limit` bytes of a stream and drop the rest. */
export function takeBytes(limit: number): Transform {
  let left = limit;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      if (left <= 0) return callback();
      const piece = chunk.length <= left ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      callback(null, piece);
    },
  });
}

/**
 * Count bytes flowing through, calling `report(total so far)` each time about `step` bytes
 * have passed and at the end. Network chunks are gathered into pieces of `step` bytes on
 * the way, so the writer below makes a few large writes instead of many small ones.
 */
export function countBytes(start: number, step: number, report: (current: number) => void): Transform {
  let current = start;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < step) return callback();
      const piece = Buffer.concat(pending, pendingBytes);
      current += piece.length;
      pending = [];
      pendingBytes = 0;
      report(current);
      callback(null, piece);
    },
    flush(callback: TransformCallback): void {
      if (pendingBytes > 0) {
        current += pendingBytes;
        report(current);
        return callback(null, Buffer.concat(pending, pendingBytes));
      }
      callback();
    },
  });
}

/** `source` piped into `transform`, with an error on either side destroying both (unlike `.pipe`). */
export function through(source: Readable, transform: Transform): Transform {
  return pipeline(source, transform, () => undefined);
}
