import type { Readable } from 'node:stream';
import { CtrError, invalidArgument } from '@ctr/errors';
import { goJsonSyntaxError } from '@ctr/image';

/** More than any real create/exec/network body; a bigger one is an attack or a bug, not a request. */
export const JSON_BODY_LIMIT = 4 * 1024 * 1024;

/** How much of a too-large body is read and dropped so that its sender can read the 413. */
const DISCARD_LIMIT = 4 * JSON_BODY_LIMIT;

/**
 * Read a small body whole, refusing one larger than `limit` bytes. The rest of a body that is
 * too large is read and dropped (up to a bound; past it the connection is cut): a reply sent
 * while the client still sends meets a reset connection, and the client never reads it.
 */
export async function readSmallBody(input: Readable, limit = JSON_BODY_LIMIT): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit + DISCARD_LIMIT) input.destroy();
    if (size <= limit) chunks.push(buffer);
  }
  if (size > limit) {
    throw new CtrError('ResourceExhausted', `request body too large: more than ${limit} bytes`, {
      hint: 'this endpoint takes a small JSON document',
      details: { requestTooLarge: true },
    });
  }
  return Buffer.concat(chunks);
}

/**
 * A JSON object body. An empty body is `{}` (docker sends none for some calls); anything
 * that is not a JSON object is InvalidArgument, worded like dockerd ("invalid JSON: …").
 */
export async function readJsonObject(input: Readable, limit = JSON_BODY_LIMIT): Promise<Record<string, unknown>> {
  return parseJsonObject(await readSmallBody(input, limit));
}

export function parseJsonObject(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8').trim();
  if (text === '' || text === 'null') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidArgument(decodeProblem(text) ?? `invalid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`invalid JSON: expected an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`.slice(0, 80);
}

/**
 * What dockerd's ReadJSON says of a body its json.Decoder refuses: the scanner's words after
 * "invalid JSON: ", a cut body as the decoder's unexpected EOF, and more after the document apart.
 */
function decodeProblem(text: string): string | undefined {
  const problem = goJsonSyntaxError(text);
  if (problem === undefined) return undefined;
  if (problem === 'unexpected end of JSON input') return 'invalid JSON: unexpected EOF';
  if (problem.endsWith(' after top-level value')) return 'unexpected content after JSON';
  return `invalid JSON: ${problem}`;
}
