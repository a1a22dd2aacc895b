import type { Readable } from 'node:stream';
import { invalidArgument, notFound } from '@ctr/errors';
import type { Call } from './call';
import { checkForJson, parseJsonObject, readJsonObject } from './request-body';

export type Handler = (call: Call) => Promise<void>;

export interface Route {
  method: string;
  /** Matched against the path without its `/v1.xx` prefix; groups become `call.params`. */
  pattern: RegExp;
  handler: Handler;
  /** Whether the client may take the connection over (`Upgrade: tcp`): attach and exec start. */
  hijack: boolean;
}

/** `route('GET', '/containers/:id/json', h)`: `:x` is one segment, `*x` is the rest (image names have slashes). */
export function route(method: string, path: string, handler: Handler, options: { hijack?: boolean } = {}): Route {
  const source = path
    .split('/')
    .map((part) => (part.startsWith(':') ? '([^/]+)' : part.startsWith('*') ? '(.+)' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return { method, pattern: new RegExp(`^${source}/?$`), handler, hijack: options.hijack ?? false };
}

export class Router {
  constructor(private readonly routes: Route[]) {}

  find(method: string, path: string): { route: Route; params: string[] } {
    const verb = method === 'HEAD' ? ['HEAD', 'GET'] : [method];
    for (const want of verb) {
      for (const r of this.routes) {
        if (r.method !== want) continue;
        const match = r.pattern.exec(path);
        if (match) return { route: r, params: match.slice(1).map(decodeSegment) };
      }
    }
    throw notFound(`page not found: ${method} ${path}`);
  }
}

function decodeSegment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The JSON body of a call. A hijacked request's body (exec start) is still on the socket:
 * read exactly Content-Length bytes of it and leave the rest (stdin) in place.
 */
export async function callBody(call: Call): Promise<Record<string, unknown>> {
  if (!call.upgrade) return readJsonObject(call.req);
  checkForJson(call.req);
  const length = Number(call.req.headers['content-length'] ?? 0);
  const { socket, head } = call.upgrade;
  if (head.length > 0) socket.unshift(head);
  call.upgrade.head = Buffer.alloc(0);
  if (!Number.isSafeInteger(length) || length <= 0) return {};
  return parseJsonObject(await readExactly(socket, Math.min(length, 1024 * 1024)), 'ReadJSON', false);
}

export function readExactly(stream: Readable, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tryRead = (): void => {
      const chunk = stream.read(size) as Buffer | null;
      if (chunk === null) return;
      cleanup();
      resolve(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      reject(invalidArgument('the connection closed before the request body was complete'));
    };
    const cleanup = (): void => {
      stream.off('readable', tryRead);
      stream.off('end', onEnd);
    };
    stream.on('readable', tryRead);
    stream.once('end', onEnd);
    tryRead();
  });
}
