import { Transform, type TransformCallback } from 'node:stream';

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
