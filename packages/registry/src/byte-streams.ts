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
 * have passed and at the end. Chunks pass unchanged: batching writes is the writer's job,
 * and gathering them here would copy every byte once more.
 */
export function countBytes(start: number, step: number, report: (current: number) => void): Transform {
  let current = start;
  let reported = start;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      current += chunk.length;
      if (current - reported >= step) {
        reported = current;
        report(current);
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback): void {
      if (current !== reported) report(current);
      callback();
    },
  });
}

/** `source` piped into `transform`, with an error on either side destroying both (unlike `.pipe`). */
export function through(source: Readable, transform: Transform): Transform {
  return pipeline(source, transform, () => undefined);
}
