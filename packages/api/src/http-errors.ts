import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { asCtrError, type CtrError } from '@ctr/errors';
import { goJsonDocument } from './go-json';

/** Docker's HTTP status for each error code; everything unlisted is the daemon's fault (500). */
const STATUS: Record<string, number> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  InvalidArgument: 400,
  DigestMismatch: 400,
  Unauthorized: 401,
  Denied: 403,
  Unsupported: 501,
  TooManyRequests: 429,
  Unavailable: 503,
};

/**
 * The HTTP status of an error: `details.httpStatus` when it says which dockerd answers (a
 * registry's failure, as @ctr/registry's dockerPullError words it); else its code's.
 * ResourceExhausted is a request too large for ctrd (413) only when the request was
 * (`details.requestTooLarge`); a full disk is the daemon's trouble, a 500 as dockerd answers it.
 */
export function statusOf(error: CtrError): number {
  const { httpStatus } = error.details;
  if (typeof httpStatus === 'number' && Number.isInteger(httpStatus) && httpStatus >= 400 && httpStatus <= 599) return httpStatus;
  if (error.code === 'ResourceExhausted') return error.details.requestTooLarge === true ? 413 : 500;
  return STATUS[error.code] ?? 500;
}

/** The `{"message": …}` body dockerd answers errors with; a hint is appended so a person can act on it. */
export function errorBody(error: CtrError): { message: string } {
  return { message: error.hint ? `${error.message} (${error.hint})` : error.message };
}

/** Answer a request with the error, unless headers already went out (then only the connection can say it). */
export function sendError(res: ServerResponse, thrown: unknown): void {
  const error = asCtrError(thrown);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = goJsonDocument(errorBody(error));
  res.writeHead(statusOf(error), { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The same answer on a raw socket, for a request that asked to be hijacked. */
export function sendSocketError(socket: Socket, thrown: unknown): void {
  const error = asCtrError(thrown);
  const body = goJsonDocument(errorBody(error));
  if (!socket.writable) return;
  socket.end(
    `HTTP/1.1 ${statusOf(error)} ${error.code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
