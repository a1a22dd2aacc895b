import { X509Certificate } from 'node:crypto';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { asCtrError, CtrError, ErrorCodes, isCtrError, type ErrorCode } from '@ctr/errors';
import { certIdentity, certValidity, readCredentials, type CertIdentity, type ClusterCredentials } from './certs';
import type { SwarmContext } from './context';
import type { NodeRole } from './types';

/**
 * The manager↔node protocol: HTTPS and JSON over mutual TLS, every certificate the swarm's root
 * CA's. Ours, not swarmkit's gRPC (see the README): a dockerd cannot join a ctr swarm.
 */

/** What a route is given: the caller (its certificate's CN and OU), its JSON body and the query. */
export interface ClusterRequest {
  /** The caller's node ID; empty on the routes a node calls before it has a certificate (GET /ca, POST /join). */
  nodeId: string;
  role: NodeRole | undefined;
  body: unknown;
  query: URLSearchParams;
  /** The address the caller's connection came from. */
  remoteAddress: string;
}

/**
 * A route answers a JSON value, or an AsyncIterable whose items go out as newline-delimited
 * JSON (a log stream). `signal` fires when the caller goes or the server stops.
 */
export type ClusterRoute = (request: ClusterRequest, signal: AbortSignal) => Promise<unknown>;
/** Routes by `METHOD /path` (`'GET /assignments'`). */
export type ClusterRoutes = Record<string, ClusterRoute>;

/** The routes a node calls before it holds a certificate of the swarm's. */
const PUBLIC_ROUTES = new Set(['GET /ca', 'POST /join']);
/** Secrets are at most 500 KiB: 4 MiB holds any request the protocol has. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

/** HTTP statuses as dockerd answers the same errors (@ctr/api's table, which this package cannot import). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  InvalidArgument: 400,
  Unauthorized: 401,
  Denied: 403,
  Unsupported: 501,
  Unavailable: 503,
  ResourceExhausted: 413,
};

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value ?? {});
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, thrown: unknown): void {
  const error = asCtrError(thrown);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, STATUS[error.code] ?? 500, { message: error.message, code: error.code, ...(error.hint ? { hint: error.hint } : {}) });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new CtrError('ResourceExhausted', `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new CtrError('InvalidArgument', 'request body is not JSON');
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** `host:port` (`[v6]:port`) as net.listen and https.request take it. */
export function splitAddr(addr: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr);
  if (!m) throw new CtrError('InvalidArgument', `invalid address ${addr}: expected host:port`);
  return { host: m[1] as string, port: Number(m[2]) };
}

/** Who may call: on the manager, a node of its store; on a worker, the swarm's manager only. */
export type CallerCheck = (caller: CertIdentity) => Promise<boolean>;

/** What a node the manager no longer takes (its certificate expired) can do: renewal comes before expiry, or not at all. */
export const REJOIN_HINT =
  'leave the swarm on the node ("ctr swarm leave") and join it again ("ctr swarm join --token <token> <manager>"; "ctr swarm join-token worker" on the manager prints the token)';

/** A server serving the cluster's routes (serveCluster). */
export interface ClusterServer {
  /** The address bound (host:port). */
  address: string;
  /** Resolves once the server has stopped. */
  closed: Promise<void>;
  /** The node's credentials read again from its root: new connections get its renewed certificate. */
  reloadCredentials(): void;
}

function serverCredentials(ctx: SwarmContext): ClusterCredentials {
  const credentials = readCredentials(ctx);
  if (!credentials) throw new CtrError('Unavailable', 'this node has no swarm certificate', { hint: 'leave the swarm and init or join it again' });
  return credentials;
}

/** The TLS context a node serves with: its certificate, and the swarm's CA for the callers'. */
function secureContext(credentials: ClusterCredentials): { key: string; cert: string; ca: string[]; minVersion: 'TLSv1.2' } {
  return { key: credentials.key, cert: credentials.cert, ca: [credentials.ca], minVersion: 'TLSv1.2' };
}

/**
 * Serves `routes` on `listen` (host:port) with this node's certificate, asking every caller for
 * its own: a route other than GET /ca and POST /join needs one the swarm's CA signed, of this
 * cluster, unexpired when each request comes (401 otherwise, on a kept-alive connection too),
 * whose holder `allowed` accepts (403 `node <id> is not a member of the swarm` otherwise, as
 * after `node rm`). Stops when `signal` fires. Resolves once listening, with the
 * address bound (the port chosen when `listen` asks for 0).
 */
export async function serveCluster(
  ctx: SwarmContext,
  routes: ClusterRoutes,
  signal: AbortSignal,
  options: { listen: string; clusterId: string; allowed: CallerCheck },
): Promise<ClusterServer> {
  const stopping = new AbortController();
  const server = https.createServer(
    { ...secureContext(serverCredentials(ctx)), requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      void handle(req, res).catch((error: unknown) => sendError(res, error));
    },
  );
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://swarm');
    const name = `${req.method ?? 'GET'} ${url.pathname}`;
    const route = routes[name];
    if (!route) throw new CtrError('NotFound', `no route ${name}`);
    const socket = req.socket as TLSSocket;
    let caller: CertIdentity | undefined;
    if (!PUBLIC_ROUTES.has(name)) {
      const peer = socket.getPeerX509Certificate?.();
      if (peer && expired(socket, peer)) {
        throw new CtrError('Unauthorized', `the certificate of node ${certIdentity(peer)?.nodeId ?? peer.subject} expired at ${new Date(certValidity(peer).until).toISOString()}`, { hint: REJOIN_HINT });
      }
      caller = socket.authorized && peer ? certIdentity(peer) : undefined;
      if (!caller || caller.clusterId !== options.clusterId) throw new CtrError('Unauthorized', 'a certificate of this swarm is needed');
      if (!(await options.allowed(caller))) throw new CtrError('Denied', `node ${caller.nodeId} is not a member of the swarm`);
    }
    const body = req.method === 'GET' ? {} : await readBody(req);
    const gone = new AbortController();
    const abort = (): void => gone.abort();
    res.once('close', abort);
    stopping.signal.addEventListener('abort', abort, { once: true });
    try {
      const result = await route({ nodeId: caller?.nodeId ?? '', role: caller?.role, body, query: url.searchParams, remoteAddress: socket.remoteAddress ?? '' }, gone.signal);
      if (!isAsyncIterable(result)) {
        send(res, 200, result);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      for await (const item of result) {
        if (gone.signal.aborted) break;
        if (!res.write(`${JSON.stringify(item)}\n`)) await new Promise((resolve) => res.once('drain', resolve));
      }
      res.end();
    } finally {
      stopping.signal.removeEventListener('abort', abort);
    }
  };
  const { host, port } = splitAddr(options.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const closed = new Promise<void>((resolve) => {
    const stop = (): void => {
      stopping.abort();
      server.close(() => resolve());
      server.closeAllConnections();
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
  const bound = server.address();
  const address = typeof bound === 'object' && bound ? (isIP(bound.address) === 6 ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`) : options.listen;
  return { address, closed, reloadCredentials: () => server.setSecureContext(secureContext(serverCredentials(ctx))) };
}

/**
 * Whether the caller's certificate is past its end, asked of every request: openssl judges it at
 * the handshake only, and a kept-alive connection (the worker's long polls and heartbeats) would
 * otherwise be served on a certificate that expired since. Only a certificate the handshake took
 * is judged by the clock: one of another CA is refused for that, whatever its age.
 */
function expired(socket: TLSSocket, peer: X509Certificate): boolean {
  // Typed as an Error, but node sets openssl's code (a string) there.
  const reason: unknown = socket.authorizationError;
  // openssl's own test (X509_cmp_time): expired once the clock is past notAfter.
  return reason === 'CERT_HAS_EXPIRED' || (socket.authorized && Date.now() > certValidity(peer).until);
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Given up after this long (30 s unless told): a long poll asks for more than it waits. */
  timeoutMs?: number;
}

export interface ClusterClient {
  /** `method path` with a JSON body; the answer's JSON, or the CtrError the other side answered. */
  call<T>(method: string, path: string, body?: unknown, options?: CallOptions): Promise<T>;
  /** A newline-delimited JSON answer, item by item. */
  stream<T>(method: string, path: string, options?: { signal?: AbortSignal }): AsyncIterable<T>;
}

/** The CtrError an answer carries (`{message, code}`), with its status. */
function answerError(status: number, text: string): CtrError {
  let parsed: { message?: string; code?: string; hint?: string } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // not JSON: the status says it
  }
  const code = (ErrorCodes as readonly string[]).includes(parsed.code ?? '') ? (parsed.code as ErrorCode) : status === 403 ? 'Denied' : 'Internal';
  return new CtrError(code, parsed.message ?? `HTTP ${status}`, { ...(parsed.hint ? { hint: parsed.hint } : {}), details: { status } });
}

function unreachable(addr: string, error: unknown): CtrError {
  if (isCtrError(error)) return error;
  const e = error as NodeJS.ErrnoException;
  if (e.name === 'AbortError') return new CtrError('Aborted', `the call to ${addr} was cancelled`);
  return new CtrError('Unavailable', `could not reach the swarm node at ${addr}: ${e.code ?? e.message}`, { cause: error });
}

/**
 * Calls another node, trusting the swarm's CA only (the other side's certificate must be one it
 * signed, whatever its address says) and showing this node's certificate when it has one: given
 * a root, the one on disk when each call is made, so a client outlives its node's renewals.
 * `expectRole` also checks the other side's OU (a worker talks to the manager only).
 */
export function clusterClient(from: SwarmContext | ClusterCredentials | { ca: string }, addr: string, expectRole?: NodeRole): ClusterClient {
  const current = (): Partial<ClusterCredentials> & { ca: string } => ('engine' in from ? (readCredentials(from) ?? noCredentials()) : from);
  const { host, port } = splitAddr(addr);
  const request = (method: string, path: string, headers: Record<string, string | number>, signal: AbortSignal | undefined): ClientRequest => {
    const credentials = current();
    // The https agent pools connections by their TLS options: a renewed certificate gets new ones.
    return https.request({
      host,
      port,
      method,
      path,
      headers,
      ca: [credentials.ca],
      ...(credentials.cert && credentials.key ? { cert: credentials.cert, key: credentials.key } : {}),
      // The swarm's CA pins the peer; its address is not in its certificate (nodes move), its role is.
      checkServerIdentity: (_name, cert) => {
        if (expectRole === undefined) return undefined;
        const identity = cert.raw ? certIdentity(new X509Certificate(cert.raw)) : undefined;
        return identity?.role === expectRole ? undefined : new Error(`the node at ${addr} is not a swarm ${expectRole}`);
      },
      ...(signal ? { signal } : {}),
    });
  };
  return {
    call<T>(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise<T>((resolve, reject) => {
        const req = request(method, path, payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }, options.signal);
        req.setTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => req.destroy(new CtrError('Unavailable', `the swarm node at ${addr} did not answer ${method} ${path} in time`)));
        req.once('error', (error) => reject(unreachable(addr, error)));
        req.once('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('error', (error) => reject(unreachable(addr, error)));
          res.once('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 500;
            if (status >= 300) reject(answerError(status, text));
            else {
              try {
                resolve((text === '' ? {} : JSON.parse(text)) as T);
              } catch {
                reject(new CtrError('Internal', `the swarm node at ${addr} answered ${method} ${path} with something other than JSON`));
              }
            }
          });
        });
        req.end(payload);
      });
    },
    async *stream<T>(method: string, path: string, options: { signal?: AbortSignal } = {}): AsyncIterable<T> {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(method, path, {}, options.signal);
        req.once('error', (error) => reject(unreachable(addr, error)));
        req.once('response', resolve);
        req.end();
      });
      if ((res.statusCode ?? 500) >= 300) {
        const chunks: Buffer[] = [];
        for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
        throw answerError(res.statusCode ?? 500, Buffer.concat(chunks).toString('utf8'));
      }
      let rest = '';
      for await (const chunk of res as AsyncIterable<Buffer>) {
        rest += chunk.toString('utf8');
        let nl: number;
        while ((nl = rest.indexOf('\n')) !== -1) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          if (line.trim() !== '') yield JSON.parse(line) as T;
        }
      }
    },
  };
}

function noCredentials(): never {
  throw new CtrError('Unavailable', 'this node has no swarm certificate', { hint: 'leave the swarm and join it again' });
}

/**
 * The CA a manager shows (GET /ca), fetched before anything is trusted, so that the joining
 * node can check it against its token's digest before it sends the token; and the local
 * address the connection left from (what the node advertises when not told).
 */
export function fetchRemoteCa(addr: string, signal?: AbortSignal): Promise<{ cert: string; localAddress: string }> {
  const { host, port } = splitAddr(addr);
  return new Promise((resolve, reject) => {
    // Not trusted yet on purpose: what it answers is checked against the token's digest.
    const req = https.request({ host, port, method: 'GET', path: '/ca', rejectUnauthorized: false, ...(signal ? { signal } : {}) });
    req.setTimeout(DEFAULT_TIMEOUT_MS, () => req.destroy(new CtrError('Unavailable', `the manager at ${addr} did not answer in time`)));
    req.once('error', (error) => reject(unreachable(addr, error)));
    req.once('response', (res) => {
      // Read now: once the answer ends, its socket goes back to the agent's pool.
      const localAddress = res.socket.localAddress ?? '';
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 300) return reject(answerError(res.statusCode ?? 500, text));
        try {
          const { cert } = JSON.parse(text) as { cert?: unknown };
          if (typeof cert !== 'string') throw new Error('no cert');
          resolve({ cert, localAddress });
        } catch {
          reject(new CtrError('Unavailable', `the node at ${addr} is not a swarm manager (it answered GET /ca with no CA)`));
        }
      });
    });
    req.end();
  });
}
