import { Readable } from 'node:stream';
import { getGlobalDispatcher } from 'undici';
import { digestOf, MediaTypes } from '@ctr/image';

export interface Exchange {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** A Readable is sent with chunked transfer encoding (no Content-Length), as Go's client streams. */
  body?: Buffer | string | Readable;
}

/** A bare HTTP client for the distribution API, as the conformance suite drives it. */
export class OciHttp {
  constructor(readonly base: string) {}

  async send(method: string, target: string | URL, options: SendOptions = {}): Promise<Exchange> {
    // Paths are sent as written (never normalised): hostile-input tests need `..` to reach the server.
    const origin = new URL(this.base).origin;
    const path = typeof target === 'string' && target.startsWith('/') ? target : (() => {
      const url = new URL(target, this.base);
      return url.pathname + url.search;
    })();
    const headers: Record<string, string> = { ...options.headers };
    if (Buffer.isBuffer(options.body) || typeof options.body === 'string') {
      headers['content-length'] ??= String(Buffer.byteLength(options.body));
    }
    const response = await getGlobalDispatcher().request({
      origin,
      path,
      method: method as 'GET',
      headers,
      body: options.body ?? null,
    });
    const parts: Buffer[] = [];
    for await (const chunk of response.body) parts.push(chunk as Buffer);
    const flat: Record<string, string> = {};
    for (const [key, value] of Object.entries(response.headers)) {
      if (value !== undefined) flat[key] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { status: response.statusCode, headers: flat, body: Buffer.concat(parts) };
  }

  location(exchange: Exchange): URL {
    const header = exchange.headers.location;
    if (!header) throw new Error(`no Location header in a ${exchange.status} answer`);
    return new URL(header, this.base);
  }

  /** POST + PUT: the blob in one request after opening a session. */
  async pushBlob(repo: string, bytes: Buffer): Promise<string> {
    const digest = digestOf(bytes);
    const started = await this.send('POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'content-length': '0' } });
    if (started.status !== 202) throw new Error(`POST upload: ${started.status} ${started.body.toString()}`);
    const url = this.location(started);
    url.searchParams.set('digest', digest);
    const put = await this.send('PUT', url, { headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    if (put.status !== 201) throw new Error(`PUT upload: ${put.status} ${put.body.toString()}`);
    return digest;
  }

  async pushManifest(repo: string, ref: string, bytes: Buffer, mediaType: string = MediaTypes.ociManifest): Promise<Exchange> {
    return this.send('PUT', `/v2/${repo}/manifests/${ref}`, { headers: { 'content-type': mediaType }, body: bytes });
  }

  manifestAccept(): Record<string, string> {
    return { accept: `${MediaTypes.ociIndex}, ${MediaTypes.ociManifest}` };
  }
}

/** A stream that yields `bytes` in pieces, so the request goes out chunked. */
export function chunked(bytes: Buffer): Readable {
  return Readable.from([bytes.subarray(0, bytes.length >> 1), bytes.subarray(bytes.length >> 1)]);
}

/** Descriptor JSON for bytes. */
export function descriptorOf(bytes: Buffer, mediaType: string): { mediaType: string; digest: string; size: number } {
  return { mediaType, digest: digestOf(bytes), size: bytes.length };
}
