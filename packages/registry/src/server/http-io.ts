import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readAtMost } from '../byte-streams';
import { DistributionError } from './distribution-error';

export type Headers = Record<string, string | number | string[]>;

/** End a response with optional JSON/text body; HEAD requests get headers only. */
export function reply(req: IncomingMessage, res: ServerResponse, status: number, headers: Headers = {}, body?: string | Buffer): void {
  const bytes = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  res.writeHead(status, { 'Content-Length': bytes?.length ?? 0, ...headers });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

export function replyJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers: Headers = {}): void {
  reply(req, res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}

/** Stream `body` as the response; a failure after the headers went out can only cut the connection. */
export async function replyStream(req: IncomingMessage, res: ServerResponse, status: number, headers: Headers, body: Readable): Promise<void> {
  res.writeHead(status, headers);
  if (req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  await pipeline(body, res);
}

/** Whether a request carries a body (a length above zero, or chunked transfer). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * Read a small body (a manifest, a trust upload) whole, refusing more than `limit` bytes, a
 * declared length past it before reading any; `refuse` is the error the route answers with.
 */
export async function readSmallBody(req: IncomingMessage, limit: number, refuse: () => Error = () => tooLarge(limit)): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw refuse();
  return readAtMost(req, limit, refuse);
}

function tooLarge(limit: number): DistributionError {
  return new DistributionError('SIZE_INVALID', { limit }, `manifest is larger than the ${limit} bytes this registry accepts`);
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Parse a `Range: bytes=…` header against a blob of `size` bytes (single ranges only).
 * Undefined means "no usable range: send the whole blob"; 'unsatisfiable' means 416.
 */
export function parseRangeHeader(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
