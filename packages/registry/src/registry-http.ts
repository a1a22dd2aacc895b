import { PassThrough, type Readable } from 'node:stream';
import { Agent } from 'undici';
import { aborted, isCtrError } from '@ctr/errors';
import { Authorizer, type CredentialSource } from './authorizer';
import type { Endpoint } from './endpoint';
import { connectionError, goRequest, registryError, unreachableOverEither, withGoRequest, type ErrorContext, type GoWords } from './registry-errors';
import { trustingConnector } from './trusting-connector';

export interface HttpRequest {
  endpoint: Endpoint;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under the endpoint (`/v2/…`), or an absolute URL taken from a `Location` header. */
  target: string | URL;
  headers?: Record<string, string>;
  /** A stream body is sent once: a 401 on it is not retried (callers authenticate with a bodiless request first). */
  body?: Buffer | string | Readable;
  /** Token scopes the request needs: `repository:a/b:pull`. */
  scopes: readonly string[];
  /** Statuses that are answers, not errors. */
  ok: readonly number[];
  context: ErrorContext;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  url: URL;
  header(name: string): string | undefined;
  body: Readable;
}

/**
 * What every RegistryHttp of one client shares about loopback and insecure registries: the https
 * origins connected to without verification, and which origin (https or http) each one speaks.
 */
interface InsecureOrigins {
  unverified: Set<string>;
  /** https origin → the origin that answered. */
  spoken: Map<string, string>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_ERROR_BODY = 64 * 1024;

/**
 * HTTP to registries over one undici Agent (a keep-alive pool per origin): authentication
 * from the Authorizer with one retry after a 401, redirects followed for reads without
 * carrying credentials to another origin (G5), and every failure turned into a CtrError
 * naming the registry and what was asked for.
 */
export class RegistryHttp {
  private readonly agent: Agent;
  private readonly authorizer: Authorizer;
  private readonly userAgent: string;

  constructor(
    credentials: CredentialSource,
    options: { connections?: number; userAgent?: string } = {},
    agent?: Agent,
    private readonly insecure: InsecureOrigins = { unverified: new Set(), spoken: new Map() },
  ) {
    this.agent = agent ?? new Agent({ connections: options.connections ?? 16, keepAliveTimeout: 10_000, connect: trustingConnector(insecure.unverified) });
    this.userAgent = options.userAgent ?? 'ctr/0.1';
    this.authorizer = new Authorizer(credentials, (url, init) => this.tokenRequest(url, init));
  }

  /** The same connections with other credentials (and their own token cache), e.g. per API request. */
  withCredentials(credentials: CredentialSource): RegistryHttp {
    return new RegistryHttp(credentials, { userAgent: this.userAgent }, this.agent, this.insecure);
  }

  /**
   * The endpoint requests go to. A loopback or insecure registry (`plainHttp` set) is asked
   * `GET /v2/` over HTTPS without verifying its certificate, then over plain HTTP when no HTTP
   * answer came over TLS: Docker's ping and fallback. The origin that answered is kept for the
   * client, so a registry speaking plain HTTP costs one failed TLS attempt, not one per request;
   * it is forgotten when that origin stops answering (a registry restarted with or without TLS).
   */
  async reachable(endpoint: Endpoint, context: ErrorContext, signal?: AbortSignal): Promise<Endpoint> {
    const { plainHttp, ...resolved } = endpoint;
    if (plainHttp === undefined) return endpoint;
    const known = this.insecure.spoken.get(endpoint.origin);
    if (known !== undefined) return { ...resolved, origin: known };
    this.insecure.unverified.add(endpoint.origin);
    const overTls = await this.ping(endpoint.origin, context, signal);
    if (overTls !== undefined) {
      const overHttp = await this.ping(plainHttp, context, signal);
      if (overHttp !== undefined) throw unreachableOverEither({ origin: endpoint.origin, error: overTls }, { origin: plainHttp, error: overHttp }, context);
    }
    const origin = overTls === undefined ? endpoint.origin : plainHttp;
    this.insecure.spoken.set(endpoint.origin, origin);
    return { ...resolved, origin };
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    let url = typeof request.target === 'string' ? new URL(request.target, request.endpoint.origin) : request.target;
    let authorization = await this.authorizing(request, url, () => this.authFor(request, url));
    let retried = false;
    for (let hops = 0; ; hops += 1) {
      const response = await this.once(request, url, authorization);
      if (response.status === 401 && !retried && !isStream(request.body) && sameOrigin(url, request.endpoint)) {
        response.body.resume();
        retried = true;
        const sent = authorization;
        const next = await this.authorizing(request, url, () =>
          this.authorizer.challenged(request.endpoint.origin, request.endpoint.registry, request.scopes, response.header('www-authenticate'), sent),
        );
        if (next !== undefined) {
          authorization = next;
          continue;
        }
        // Go's basic handler refuses to send such a request at all: dockerd's words for it.
        const unanswerable = sent === undefined && this.authorizer.scheme(request.endpoint.origin) === 'basic';
        const go: GoWords | undefined = unanswerable ? { request: goRequest(request.method, url), error: 'no basic auth credentials' } : undefined;
        return this.failed(request, { ...response, body: await textOf(response.body) }, go);
      }
      if (REDIRECTS.has(response.status) && (request.method === 'GET' || request.method === 'HEAD') && hops < 5) {
        response.body.resume();
        url = new URL(response.header('location') ?? '', url);
        authorization = sameOrigin(url, request.endpoint) ? authorization : undefined;
        continue;
      }
      if (request.ok.includes(response.status)) return response;
      return this.failed(request, { ...response, body: await textOf(response.body) });
    }
  }

  /** Read a whole (small) response body as text. */
  async text(response: HttpResponse): Promise<string> {
    return textOf(response.body);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Undefined when `origin` answers `GET /v2/` with any status; else the transport's error. */
  private async ping(origin: string, context: ErrorContext, signal: AbortSignal | undefined): Promise<unknown> {
    try {
      const response = await this.agent.request({ origin, path: '/v2/', method: 'GET', headers: { 'user-agent': this.userAgent }, signal });
      response.body.resume();
      return undefined;
    } catch (error) {
      if (signal?.aborted) throw aborted(signal, context.subject);
      if (isCtrError(error)) throw error;
      return error;
    }
  }

  /** The Authorization header `work` settles on; a token service's refusal names the request it was for, as Go's url.Error does. */
  private async authorizing(request: HttpRequest, url: URL, work: () => Promise<string | undefined>): Promise<string | undefined> {
    try {
      return await work();
    } catch (error) {
      throw withGoRequest(error, goRequest(request.method, url));
    }
  }

  /** Ask again which scheme a registry speaks once the origin chosen for it fails to connect. */
  private forget(origin: string): void {
    for (const [tls, spoken] of this.insecure.spoken) if (spoken === origin) this.insecure.spoken.delete(tls);
  }

  private async authFor(request: HttpRequest, url: URL): Promise<string | undefined> {
    if (!sameOrigin(url, request.endpoint)) return undefined;
    return this.authorizer.authorization(request.endpoint.origin, request.endpoint.registry, request.scopes);
  }

  private async once(request: HttpRequest, url: URL, authorization: string | undefined): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...request.headers };
    if (authorization !== undefined) headers.authorization = authorization;
    try {
      const response = await this.agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: request.method,
        headers,
        body: request.body ?? null,
        signal: request.signal,
      });
      return {
        status: response.statusCode,
        url,
        header: (name) => {
          const value = response.headers[name.toLowerCase()];
          return Array.isArray(value) ? value.join(', ') : value;
        },
        body: mapErrors(response.body, (error) =>
          request.signal?.aborted ? aborted(request.signal, request.context.subject) : connectionError(error, request.context),
        ),
      };
    } catch (error) {
      if (request.signal?.aborted) throw aborted(request.signal, request.context.subject);
      if (isCtrError(error)) throw error;
      this.forget(url.origin);
      throw connectionError(error, request.context, goRequest(request.method, url));
    }
  }

  private failed(request: HttpRequest, response: { status: number; header(name: string): string | undefined; body: string }, go?: GoWords): never {
    throw registryError(response.status, response.body, response.header('retry-after'), request.context, go);
  }

  private async tokenRequest(url: URL, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }): Promise<{ status: number; text: string }> {
    try {
      const response = await this.agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: init.method,
        headers: { 'user-agent': this.userAgent, ...init.headers },
        body: init.body ?? null,
      });
      return { status: response.statusCode, text: await textOf(response.body) };
    } catch (error) {
      if (isCtrError(error)) throw error;
      throw connectionError(error, { registry: url.host, subject: `token service ${url.origin}` });
    }
  }
}

function sameOrigin(url: URL, endpoint: Endpoint): boolean {
  return url.origin === endpoint.origin;
}

function isStream(body: HttpRequest['body']): boolean {
  return body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body);
}

async function textOf(body: Readable): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < MAX_ERROR_BODY) parts.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** The body with transport failures mid-stream (reset, cut off, cancelled) turned into CtrErrors. */
function mapErrors(body: Readable, map: (error: unknown) => Error): Readable {
  const out = new PassThrough();
  body.on('error', (error) => out.destroy(map(error)));
  // A consumer that stops reading releases the connection.
  out.on('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(out);
  return out;
}
