import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { aborted, asCtrError, CtrError, invalidArgument, isCtrError, type ErrorCode } from '@ctr/errors';
import { httpGet } from './http-get';
import type { LayerItem } from './copy-plan';

/** The file name ADD gives a URL's content when the destination is a directory. */
export function urlName(url: string): string {
  const name = path.posix.basename(new URL(url).pathname);
  if (name === '' || name === '/') throw invalidArgument(`cannot determine filename from url: ${withoutCredentials(url)}`, { hint: 'End the destination with / only when the URL names a file.' });
  return name;
}

/**
 * How ADD GETs a URL: the WHATWG fetch shape. A caller whose connections need more (extra
 * CAs, a proxy) passes its own; a CtrError it throws keeps its code and hint.
 */
export type UrlFetch = (url: string, init: { signal: AbortSignal; redirect: 'follow' }) => Promise<Response>;

/**
 * The default UrlFetch: a GET as dockerd makes it (any port, redirects, gzip decoded, basic
 * auth from the URL), trusting Node's CAs.
 */
export const getUrl: UrlFetch = (url, { signal }) => httpGet(url, { signal });

/** A URL as it may be shown: `https://user:token@host/x` → `https://host/x`. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1');
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
  // Go's http client keeps the password out of its errors; BuildKit's messages redact it too.
  const shown = withoutCredentials(url);
  const file = path.join(dir, `url-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  // The same words whether the request or its body failed: a cancel is Aborted, the rest say why.
  const failed = (e: unknown): CtrError => (signal.aborted ? aborted(signal, `the download of ${shown}`) : fetchFailed(`failed to fetch ${shown}`, e));
  let response: Response;
  try {
    response = await (options.fetch ?? getUrl)(url, { signal, redirect: 'follow' });
  } catch (e) {
    throw failed(e);
  }
  if (response.status >= 400) throw await statusError(response, shown, signal);
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
      // A status with no body (204, 304) is an empty file, as dockerd downloads it.
      response.body ? Readable.fromWeb(response.body as ReadableStream<Uint8Array>) : Readable.from([]),
      new Writable({
        write: (chunk: Buffer, _e, done) => {
          hash.update(chunk);
          writeAll(chunk).then(
            () => done(),
            (error: unknown) => done((writeFailed = asCtrError(error, 'Internal', `writing the download of ${shown}`))),
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
    throw new CtrError('DigestMismatch', `digest mismatch for ${shown}: expected ${checksum}, got ${digest}`);
  }
  const st = await fs.stat(file);
  const modified = response.headers.get('last-modified');
  return { kind: 'file', name, mode: 0o600, mtime: modified ? new Date(modified) : new Date(0), size: st.size, source: file };
}

/** What an http status means to the one who asked (dockerd's mapping). */
function statusCode(status: number): ErrorCode {
  if (status === 404) return 'NotFound';
  if (status === 400) return 'InvalidArgument';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Denied';
  return 'Unavailable';
}

/**
 * dockerd's error for a GET answered with a status of 400 or more (remotecontext's
 * GetWithStatusError, for `ADD <url>` and remote contexts alike), in its words: the status,
 * then what the server said, trimmed — after `: ` even when it said nothing. `context` goes
 * in front, as a remote context's download puts it.
 */
export async function statusError(response: Response, shown: string, signal: AbortSignal, context?: string): Promise<CtrError> {
  const prefix = `${context ? `${context}: ` : ''}failed to GET ${shown} with status ${response.status} ${response.statusText}`;
  const body = await response.text().then(
    (text) => `: ${text.trim()}`,
    (error: unknown) => `: error reading body: ${fetchFailureReason(error)}`,
  );
  // A cancel while the refusal was read is the caller's cancel, not the server's answer.
  if (signal.aborted) return aborted(signal, `the download of ${shown}`);
  return new CtrError(statusCode(response.status), `${prefix}${body}`);
}

/** Why a fetch failed: fetch's own TypeError says only "fetch failed", its cause says why. */
export function fetchFailureReason(error: unknown): string {
  // Duck-typed: the cause may come from another realm (a test's VM context), where instanceof fails.
  const cause = (error as { cause?: { message?: unknown } }).cause?.message;
  return isCtrError(error) || typeof cause !== 'string' || cause === '' ? (error as Error).message : cause;
}

/** A GET that got no answer, as `what` failed: Unavailable, or the fetch's own CtrError's code and hint (an untrusted certificate's). */
export function fetchFailed(what: string, error: unknown): CtrError {
  return new CtrError(isCtrError(error) ? error.code : 'Unavailable', `${what}: ${fetchFailureReason(error)}`, {
    cause: error,
    ...(isCtrError(error) && error.hint !== undefined ? { hint: error.hint } : {}),
  });
}
