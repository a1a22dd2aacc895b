import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { CtrError, invalidArgument } from '@ctr/errors';
import type { LayerItem } from './copy-plan';

/** The file name ADD gives a URL's content when the destination is a directory. */
export function urlName(url: string): string {
  const name = path.posix.basename(new URL(url).pathname);
  if (name === '' || name === '/') throw invalidArgument(`cannot determine filename from url: ${url}`, { hint: 'End the destination with / only when the URL names a file.' });
  return name;
}

/** ADD <url>: download to a private file (streamed), verify `--checksum`, mode 0600 like Docker. */
export async function download(url: string, dir: string, name: string, checksum: string | undefined, signal: AbortSignal): Promise<LayerItem> {
  const file = path.join(dir, `url-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (e) {
    throw new CtrError('Unavailable', `failed to fetch ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (!response.ok || !response.body) throw new CtrError('Unavailable', `failed to GET ${url} with status ${response.status} ${response.statusText}`);
  const hash = createHash('sha256');
  const out = await fs.open(file, 'w', 0o600);
  try {
    await pipeline(
      Readable.fromWeb(response.body as ReadableStream<Uint8Array>),
      new Writable({
        write: (chunk: Buffer, _e, done) => {
          hash.update(chunk);
          out.write(chunk).then(() => done(), done);
        },
      }),
    );
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

