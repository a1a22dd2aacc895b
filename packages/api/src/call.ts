import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { CtrError } from '@ctr/errors';
import type { ApiVersion } from './api-version';
import { goJsonDocument, goJsonText } from './go-json';
import { errorBody } from './http-errors';
import type { Query } from './query';

/** One request to a route: what was asked, and how to answer. */
export interface Call {
  req: IncomingMessage;
  /** The route's captured path parts, decoded. */
  params: string[];
  query: Query;
  /**
   * The API version the client speaks (its `/v1.xx/` prefix; the newest served without one):
   * shapes that changed between versions follow it, as moby's routers do (`versionBefore`).
   */
  version: ApiVersion;
  /** Absent when the client asked to hijack the connection (`Upgrade: tcp`). */
  res?: ServerResponse;
  upgrade?: { socket: Socket; head: Buffer };
}

function response(call: Call): ServerResponse {
  // Only hijackable routes are called without a response, and they answer on the socket.
  if (!call.res) throw new CtrError('Internal', `${call.req.method} ${call.req.url}: no response to answer on`);
  return call.res;
}

/** Aborts when the client goes away before the answer is complete: long work stops with it. */
export function clientGone(call: Call): AbortSignal {
  const abort = new AbortController();
  const res = call.res;
  if (res) res.once('close', () => !res.writableFinished && abort.abort());
  else call.upgrade?.socket.once('close', () => abort.abort());
  return abort.signal;
}

export function sendJson(call: Call, status: number, body: unknown): void {
  const text = goJsonDocument(body);
  response(call).writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response(call).end(text);
}

export function sendEmpty(call: Call, status: number): void {
  response(call).writeHead(status);
  response(call).end();
}

/**
 * Start a streaming answer (logs, events, pull progress): headers go out at once, so a
 * client waiting for them (`docker events`, `wait` before `start`) is not held up.
 */
export function startStream(call: Call, contentType: string): ServerResponse {
  const res = response(call);
  res.writeHead(200, { 'Content-Type': contentType });
  res.flushHeaders();
  return res;
}

/**
 * A stream of Docker's JSON messages. Its headers go out with its first message, as dockerd's
 * WriteFlusher sends them: a job that fails before it has said anything can still answer with
 * a plain error and its status (`Error response from daemon: …`); after that, an error is one
 * more message, an `errorDetail` line.
 */
export class JsonMessages {
  private res: ServerResponse | undefined;

  constructor(private readonly call: Call) {}

  private started(): ServerResponse {
    this.res ??= startStream(this.call, 'application/json');
    return this.res;
  }

  write(message: Record<string, unknown>): void {
    const res = this.started();
    if (!res.writableEnded) res.write(`${goJsonText(message, true)}\r\n`);
  }

  /** Docker's error line; `code` is the exit code of a failed build step, which `docker build` exits with. */
  fail(error: CtrError): void {
    const { message } = errorBody(error);
    const code = error.details.exitCode;
    this.write({ errorDetail: { ...(typeof code === 'number' ? { code } : {}), message }, error: message });
  }

  end(): void {
    const res = this.started();
    if (!res.writableEnded) res.end();
  }

  /** Whether the answer has begun: from then on an error can only be a message in it. */
  get flushed(): boolean {
    return this.res !== undefined;
  }
}

/** The two directions of an attach or exec session, hijacked or as a plain streaming response. */
export interface RawSession {
  input: Readable;
  output: Writable;
  /** End the session from our side (all output delivered). */
  close(): void;
  /** Resolves when the client went away. */
  gone: Promise<void>;
}

export function openRawSession(call: Call, contentType: string): RawSession {
  if (call.upgrade) {
    const { socket } = call.upgrade;
    socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    socket.setNoDelay(true);
    const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    return { input: socket, output: socket, close: () => socket.end(), gone };
  }
  const res = response(call);
  res.writeHead(200, { 'Content-Type': contentType });
  res.flushHeaders();
  const gone = new Promise<void>((resolve) => res.once('close', () => resolve()));
  return { input: call.req, output: res, close: () => res.end(), gone };
}

/**
 * A request body (a tar) to hand to code that may destroy its input on a failure:
 * destroying the request itself would drop the connection before the error is answered.
 */
export function bodyStream(call: Call): Readable {
  const body = new PassThrough();
  call.req.pipe(body);
  body.once('close', () => call.req.unpipe(body));
  call.req.once('error', (error) => body.destroy(error));
  // A consumer may stop listening before the request ends (a tar reader is done at the
  // archive's end marker, before its padding): a client going away then must fail this
  // request's body, never take the daemon down with an unhandled 'error'.
  body.on('error', () => undefined);
  return body;
}
