import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';

export interface SeenRequest {
  method: string;
  url: string;
  range?: string;
}

/**
 * A misbehaving network between a client and a registry on 127.0.0.1: it forwards every
 * request, and can cut a blob download off after some bytes or corrupt a blob's bytes.
 */
export class FaultProxy {
  readonly seen: SeenRequest[] = [];
  /** Cut the next download of this digest after `bytes` bytes (once). */
  dropOnce: { digest: string; bytes: number } | undefined;
  /** Flip bytes of every download of this digest. */
  corrupt: string | undefined;
  private readonly server: Server;
  host = '';

  constructor(private readonly upstream: string) {
    this.server = createServer((req, res) => {
      void (async () => {
        const url = req.url ?? '/';
        this.seen.push({ method: req.method ?? 'GET', url, ...(req.headers.range ? { range: req.headers.range } : {}) });
        const headers = { ...req.headers };
        delete headers.host;
        delete headers.connection;
        const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
        const answer = await request(`${this.upstream}${url}`, { method: req.method as 'GET', headers, body: hasBody ? req : null });
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive') out[k] = v;
        res.writeHead(answer.statusCode, out);
        const isBlob = req.method === 'GET' && /\/blobs\/sha256:/.test(url);
        const corrupted = isBlob && this.corrupt !== undefined && url.endsWith(this.corrupt);
        if (isBlob && this.dropOnce !== undefined && url.endsWith(this.dropOnce.digest)) {
          const limit = this.dropOnce.bytes;
          this.dropOnce = undefined;
          let sent = 0;
          for await (const chunk of corrupted ? answer.body.pipe(flipBytes()) : answer.body) {
            const piece = (chunk as Buffer).subarray(0, Math.max(0, limit - sent));
            sent += piece.length;
            if (piece.length > 0) await new Promise<void>((resolve) => res.write(piece, () => resolve()));
            if (sent >= limit) break;
          }
          await new Promise((r) => setTimeout(r, 50));
          res.socket?.destroy();
          answer.body.destroy();
          return;
        }
        const body = corrupted ? answer.body.pipe(flipBytes()) : answer.body;
        await pipeline(body, res);
      })().catch(() => res.destroy());
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function flipBytes(): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      const copy = Buffer.from(chunk);
      for (let i = 0; i < copy.length; i += 97) copy[i] = copy[i]! ^ 0xff;
      callback(null, copy);
    },
  });
}
