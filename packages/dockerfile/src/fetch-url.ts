import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { aborted, asCtrError, CtrError, invalidArgument, isCtrError } from '@ctr/errors';
import type { LayerItem } from './copy-plan';

/** The file name ADD gives a URL's content when the destination is a directory. */
export function urlName(url: string): string {
  const name = path.posix.basename(new URL(url).pathname);
  if (name === '' || name === '/') throw invalidArgument(`cannot determine filename from url: ${url}`, { hint: 'End the destination with / only when the URL names a file.' });
  return name;
}

/**
 * How ADD GETs a URL: the WHATWG fetch shape. A caller whose connections need more (extra
 * CAs, a proxy) passes its own; a CtrError it throws keeps its code and hint.
 */
export type UrlFetch = (url: string, init: { signal: AbortSignal; redirect: 'follow' }) => Promise<Response>;

/** fetch's limit for `follow`; past it, the last redirect is the answer (an error status to ADD). */
const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Statuses whose WHATWG Response can have no body. */
const NULL_BODY = new Set([204, 205, 304]);

/**
 * The default UrlFetch: a GET over node:http(s) following redirects as fetch's `follow` does.
 * Not the global `fetch`: it refuses the WHATWG "bad ports" (6000, 6665-6669, 10080, …) with
 * "bad port", and dockerd downloads from any port.
 */
export const getUrl: UrlFetch = async (url, { signal }) => {
  let target = new URL(url);
  for (let hops = 0; ; hops += 1) {
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      (target.protocol === 'https:' ? https : http).get(target, { signal }, resolve).once('error', reject);
    });
    const location = answer.headers.location;
    if (hops === MAX_REDIRECTS || !REDIRECTS.has(answer.statusCode ?? 0) || location === undefined) return asResponse(answer);
    answer.resume();
    target = new URL(location, target);
  }
};

function asResponse(answer: IncomingMessage): Response {
  const status = answer.statusCode ?? 0;
  const headers = new Headers();
  for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) headers.append(answer.rawHeaders[i] as string, answer.rawHeaders[i + 1] as string);
  if (NULL_BODY.has(status)) answer.resume();
  const body = NULL_BODY.has(status) ? null : (Readable.toWeb(answer) as globalThis.ReadableStream<Uint8Array>);
  return new Response(body, { status, statusText: answer.statusMessage ?? '', headers });
}

export interface DownloadOptions {
  /** `--checksum`: the digest the content must have. */
  checksum?: string;
  signal: AbortSignal;
  /** Default: `getUrl`. */
  fetch?: UrlFetch;
}

/** ADD <url>: download to a private file (streamed), verify `--checksum`, mode 0600 like Docker. */
export async function download(url: string, dir: string, name: string, options: DownloadOptions): Promise<LayerItem> {
  const { checksum, signal } = options;
  const file = path.join(dir, `url-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  // The same words whether the request or its body failed: a cancel is Aborted, the rest say why.
  const failed = (e: unknown): CtrError => (signal.aborted ? aborted(signal, `the download of ${url}`) : fetchFailed(url, e));
  let response: Response;
  try {
    response = await (options.fetch ?? getUrl)(url, { signal, redirect: 'follow' });
  } catch (e) {
    throw failed(e);
  }
  if (!response.ok || !response.body) throw new CtrError('Unavailable', `failed to GET ${url} with status ${response.status} ${response.statusText}`);
  const hash = createHash('sha256');
  const out = await fs.open(file, 'w', 0o600);
  // A write that fails is this machine's trouble (a full disk), not the server's.
  let writeFailed: CtrError | undefined;
  // A file write may take part of a chunk (a disk filling up): the rest goes again, and
  // the write after the last that fit says why.
  const writeAll = async (chunk: Buffer): Promise<void> => {
    for (let offset = 0; offset < chunk.length; ) offset += (await out.write(chunk, offset)).bytesWritten;
  };
  try {
    await pipeline(
      Readable.fromWeb(response.body as ReadableStream<Uint8Array>),
      new Writable({
        write: (chunk: Buffer, _e, done) => {
          hash.update(chunk);
          writeAll(chunk).then(
            () => done(),
            (error: unknown) => done((writeFailed = asCtrError(error, 'Internal', `writing the download of ${url}`))),
          );
        },
      }),
    );
  } catch (e) {
    throw writeFailed ?? failed(e);
  } finally {
    await out.close();
  }
  const digest = `sha256:${hash.digest('hex')}`;
  if (checksum !== undefined && checksum !== digest) {
    throw new CtrError('DigestMismatch', `digest mismatch for ${url}: expected ${checksum}, got ${digest}`);
  }
  const st = await fs.stat(file);
  const modified = response.headers.get('last-modified');
  return { kind: 'file', name, mode: 0o600, mtime: modified ? new Date(modified) : new Date(0), size: st.size, source: file };
}

/** Why a fetch failed: fetch's own TypeError says only "fetch failed", its cause says why. */
export function fetchFailureReason(error: unknown): string {
  // Duck-typed: the cause may come from another realm (a test's VM context), where instanceof fails.
  const cause = (error as { cause?: { message?: unknown } }).cause?.message;
  return isCtrError(error) || typeof cause !== 'string' || cause === '' ? (error as Error).message : cause;
}

function fetchFailed(url: string, error: unknown): CtrError {
  return new CtrError(isCtrError(error) ? error.code : 'Unavailable', `failed to fetch ${url}: ${fetchFailureReason(error)}`, {
    cause: error,
    ...(isCtrError(error) && error.hint !== undefined ? { hint: error.hint } : {}),
  });
}
