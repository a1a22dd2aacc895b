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

/** `source` piped into `transform`, with an error on either side destroying both (unlike `.pipe`). */
export function through(source: Readable, transform: Transform): Transform {
  return pipeline(source, transform, () => undefined);
}
