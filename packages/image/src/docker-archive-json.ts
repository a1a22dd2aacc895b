import type { Readable } from 'node:stream';
import { CtrError, invalidArgument } from '@ctr/errors';

/** Largest JSON document (manifest.json, index.json, a config, a manifest) read into memory. */
export const DEFAULT_MAX_JSON_BYTES = 16 * 1024 * 1024;

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

/** Parse JSON from an archive, turning syntax errors into InvalidArgument naming the file. */
export function parseJson(bytes: Buffer | string, what: string): unknown {
  try {
    return JSON.parse(bytes.toString()) as unknown;
  } catch (cause) {
    throw invalidArgument(`${what} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
