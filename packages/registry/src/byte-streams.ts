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
 * A small body (a manifest, trust metadata, an upload) read whole; past `limit` bytes the
 * error `tooLarge` makes is thrown and, leaving the loop, the stream destroyed (a response
 * aborted) rather than read on.
 */
export async function readAtMost(body: AsyncIterable<unknown>, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts, size);
}

/** `source` piped into `transform`, with an error on either side destroying both (unlike `.pipe`). */
export function through(source: Readable, transform: Transform): Transform {
  return pipeline(source, transform, () => undefined);
}
