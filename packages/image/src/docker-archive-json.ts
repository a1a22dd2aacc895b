import type { Readable } from 'node:stream';
import { CtrError } from '@ctr/errors';

/** Read a small document whole, refusing more than `max` bytes instead of buffering them. */
export async function readCapped(source: Readable | AsyncIterable<Uint8Array>, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > max) {
      throw new CtrError('ResourceExhausted', `${what} is larger than the ${max}-byte limit for JSON documents`, {
        hint: 'raise maxJsonBytes if the archive is trusted',
      });
    }
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts, size);
}
