import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Engine, PluginClient } from '@ctr/engine';
import { CtrError, asCtrError, internal } from '@ctr/errors';
import type { Call } from './call';
import { sendError } from './http-errors';
import { readExactly } from './router';

/**
 * Docker's authorization plugins (`dockerd --authorization-plugin`, moby's pkg/authorization):
 * every API request goes through each plugin in turn (`AuthZPlugin.AuthZReq`), and its response,
 * held back, goes through them again (`AuthZPlugin.AuthZRes`) before the client sees it. Loaded
 * only when a plugin is configured: a daemon without one pays nothing for this file.
 */

/** What a plugin implements to be one (its Plugin.Activate answer, a managed plugin's `docker.authz/1.0`). */
const AUTHZ_CAPABILITY = 'authz';
/** moby's maxBodySize: the largest request body a plugin is shown; a larger JSON body is refused. */
const MAX_BODY_SIZE = 1024 * 1024;
/** moby's responseModifier maxBufferSize: past this much, a response goes out unchecked. */
const MAX_BUFFER_SIZE = 64 * 1024;
/** Headers moby never shows a plugin: the client's credentials. */
const SECRET_HEADERS = new Set(['authorization', 'x-registry-config', 'x-registry-auth']);
/** Headers Go's server takes out of the request's Header (into r.Host, r.TransferEncoding). */
const NOT_IN_GO_HEADER = new Set(['host', 'transfer-encoding']);

/** moby's authorization.Request as it goes over the wire (its JSON names; []byte as base64). */
interface AuthzRequest {
  User?: string;
  UserAuthNMethod?: string;
  RequestMethod?: string;
  RequestUri?: string;
  RequestBody?: string;
  RequestHeaders?: Record<string, string>;
  RequestPeerCertificates?: string[];
  ResponseStatusCode?: number;
  ResponseBody?: string;
  ResponseHeaders?: Record<string, string>;
}

/** moby's authorization.Response. */
interface AuthzAnswer {
  Allow?: unknown;
  Msg?: unknown;
}

/** One plugin of the chain: the name messages give (a managed plugin's full name) and how to call it. */
interface AuthzPlugin {
  readonly name: string;
  readonly client: PluginClient;
}

/** What the response phase is shown of a response: none of it once it has gone out. */
interface SeenResponse {
  status?: number;
  headers: Record<string, string>;
  body?: Buffer;
}

/** A header name as Go's textproto canonicalizes it (`content-type` → `Content-Type`). */
function canonicalHeader(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/** moby's headers(): one value a name (the last), the client's credentials left out. */
function flatHeaders(pairs: Iterable<[string, unknown]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of pairs) {
    if (SECRET_HEADERS.has(name.toLowerCase()) || value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    if (values.length > 0) out[canonicalHeader(name)] = String(values[values.length - 1]);
  }
  return out;
}

function requestHeaders(req: IncomingMessage): Record<string, string> {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    if (!NOT_IN_GO_HEADER.has(name.toLowerCase())) pairs.push([name, req.rawHeaders[i + 1] as string]);
  }
  return flatHeaders(pairs);
}

/**
 * moby's sendBody: bodies are shown only when declared JSON, and never for `/auth`
 * (the registry credentials `docker login` sends).
 */
function sendsBody(requestUri: string, contentType: unknown): boolean {
  const path = new URL(requestUri, 'http://ctrd').pathname;
  if (/^[^/]*\/(v\d[\d.]*\/)?auth/.test(path)) return false;
  return typeof contentType === 'string' && contentType.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

function tooLarge(): CtrError {
  return internal(`request body too large for authorization plugin: size exceeds ${MAX_BODY_SIZE} bytes`);
}

/**
 * The request's body, read and put back for the handler (moby peeks it through a buffered
 * reader). The HTTP parser marks the message complete before it ends the body stream, so
 * the bytes go back before anyone can see the end.
 */
function peekBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error?: CtrError): void => {
      req.off('readable', onReadable);
      req.off('error', onError);
      const body = Buffer.concat(chunks);
      if (body.length > 0) req.unshift(body);
      if (error) reject(error);
      else resolve(body);
    };
    const onError = (error: Error): void => {
      req.off('readable', onReadable);
      reject(error);
    };
    const onReadable = (): void => {
      for (let chunk = req.read() as Buffer | null; chunk !== null; chunk = req.read() as Buffer | null) {
        chunks.push(chunk);
        size += chunk.length;
      }
      if (size > MAX_BODY_SIZE) settle(tooLarge());
      else if (req.complete) settle();
    };
    req.on('readable', onReadable);
    req.on('error', onError);
  });
}

/** A hijacked request's body (exec start's), still on the socket: read by its length and put back. */
async function peekSocketBody(req: IncomingMessage, upgrade: NonNullable<Call['upgrade']>): Promise<Buffer> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(length) || length <= 0) return Buffer.alloc(0);
  if (length > MAX_BODY_SIZE) throw tooLarge();
  const { socket, head } = upgrade;
  if (head.length > 0) socket.unshift(head);
  upgrade.head = Buffer.alloc(0);
  const body = await readExactly(socket, length);
  socket.unshift(body);
  return body;
}

/** A DER certificate as moby's PeerCertificate marshals it: its PEM text, as a JSON []byte. */
function pemBase64(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return Buffer.from(`-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`).toString('base64');
}

/** moby's default authentication: the TLS client certificate's common name, when the client gave one. */
function tlsIdentity(socket: Socket): Pick<AuthzRequest, 'User' | 'UserAuthNMethod' | 'RequestPeerCertificates'> {
  const tls = socket as Partial<TLSSocket>;
  if (typeof tls.getPeerCertificate !== 'function') return {};
  const cert = tls.getPeerCertificate();
  if (!cert?.raw) return {};
  // Go keeps the last of several CNs.
  const cn: unknown = cert.subject?.CN;
  const user = Array.isArray(cn) ? String(cn[cn.length - 1] ?? '') : typeof cn === 'string' ? cn : '';
  return { ...(user !== '' ? { User: user } : {}), UserAuthNMethod: 'TLS', RequestPeerCertificates: [pemBase64(cert.raw)] };
}

type Write = ServerResponse['write'];
type End = ServerResponse['end'];
type Callback = (error?: Error | null) => void;

/**
 * moby's responseModifier for a Node response: what the handler writes is held back until
 * its end, then shown to the plugins and sent only if they allow it. A handler that flushes
 * its headers (a stream: logs, events, pull progress) or writes more than 64 KiB sends as it
 * goes, as moby's flushes do; the plugins are still asked at the end, but are shown nothing
 * of what went out, and a refusal then can only cut the connection.
 */
class HeldResponse {
  private statusCode: number | undefined;
  private headArgs: unknown[] | undefined;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private streaming = false;
  private ended = false;
  private readonly settledWith: Promise<CtrError | undefined>;
  private settle!: (error: CtrError | undefined) => void;

  constructor(
    private readonly res: ServerResponse,
    private readonly check: (seen: SeenResponse) => Promise<void>,
  ) {
    this.settledWith = new Promise((resolve) => (this.settle = resolve));
    // A client gone before the end (a stream it stopped following) settles it all the same.
    res.once('close', () => this.settle(undefined));
    const held = this as HeldResponse;
    Object.assign(res, {
      writeHead(...args: unknown[]): ServerResponse {
        held.headArgs = args;
        held.statusCode = typeof args[0] === 'number' ? args[0] : undefined;
        return res;
      },
      write: ((chunk: unknown, encoding?: unknown, callback?: unknown): boolean => held.write(chunk, encoding, callback)) as Write,
      end: ((chunk?: unknown, encoding?: unknown, callback?: unknown): ServerResponse => held.end(chunk, encoding, callback)) as End,
      flushHeaders(): void {
        held.startStreaming();
        res.flushHeaders();
      },
    });
  }

  /** Resolves once the response went out or was refused (with the refusal); never, if the handler never ends it. */
  get settled(): Promise<CtrError | undefined> {
    return this.settledWith;
  }

  /** Whether the handler ended the response (its check is then under way or done). */
  get isEnded(): boolean {
    return this.ended;
  }

  /** The handler failed before it ended the response: the server answers with its error instead. */
  abandon(): SeenResponse {
    const seen = this.seen();
    this.restore();
    this.settle(undefined);
    return seen;
  }

  private write(chunk: unknown, encoding: unknown, callback: unknown): boolean {
    const done = (typeof encoding === 'function' ? encoding : callback) as Callback | undefined;
    this.hold(chunk, encoding);
    if (this.size > MAX_BUFFER_SIZE) this.startStreaming();
    if (done) process.nextTick(done);
    return true;
  }

  private end(chunk: unknown, encoding: unknown, callback: unknown): ServerResponse {
    const done = [chunk, encoding, callback].find((a) => typeof a === 'function') as Callback | undefined;
    if (typeof chunk !== 'function') this.hold(chunk, encoding);
    this.ended = true;
    const streamed = this.streaming;
    this.check(this.seen()).then(
      () => {
        this.restore();
        if (!streamed && this.headArgs) (this.res.writeHead as (...args: unknown[]) => ServerResponse)(...this.headArgs);
        this.res.end(this.take(), done);
        this.settle(undefined);
      },
      (error: unknown) => {
        this.restore();
        sendError(this.res, error);
        this.settle(asCtrError(error));
      },
    );
    return this.res;
  }

  private hold(chunk: unknown, encoding: unknown): void {
    if (chunk === undefined || chunk === null) return;
    const buffer = Buffer.isBuffer(chunk) ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk) : Buffer.from(String(chunk), typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    this.chunks.push(buffer);
    this.size += buffer.length;
  }

  private take(): Buffer {
    const body = Buffer.concat(this.chunks);
    this.chunks.length = 0;
    this.size = 0;
    return body;
  }

  /** What the plugins are shown: all of a held response; nothing of one that went out (moby resets it at each flush). */
  private seen(): SeenResponse {
    if (this.streaming) return { headers: {} };
    const given = this.headArgs?.find((a): a is OutgoingHttpHeaders => typeof a === 'object' && a !== null && !Array.isArray(a));
    const headers = flatHeaders([...Object.entries(this.res.getHeaders()), ...Object.entries(given ?? {})]);
    return { ...(this.statusCode !== undefined ? { status: this.statusCode } : {}), headers, body: Buffer.concat(this.chunks) };
  }

  /** Send what is held and let the rest through: moby's Flush. */
  private startStreaming(): void {
    if (this.streaming) return;
    this.streaming = true;
    Reflect.deleteProperty(this.res, 'writeHead');
    Reflect.deleteProperty(this.res, 'write');
    Reflect.deleteProperty(this.res, 'flushHeaders');
    if (this.headArgs) (this.res.writeHead as (...args: unknown[]) => ServerResponse)(...this.headArgs);
    const body = this.take();
    if (body.length > 0) this.res.write(body);
  }

  private restore(): void {
    for (const method of ['writeHead', 'write', 'end', 'flushHeaders']) Reflect.deleteProperty(this.res, method);
  }
}

/** The daemon's chain of authorization plugins (moby's authorization.Middleware). */
export class AuthorizationChain {
  private constructor(
    private plugins: readonly AuthzPlugin[],
    private readonly engine: Engine,
    private readonly onError: (error: unknown, request: string) => void,
  ) {}

  /**
   * The chain of `names`, each found and activated now as dockerd checks them at its start:
   * a plugin that is missing, disabled or no authorization plugin stops the daemon.
   */
  static async load(engine: Engine, names: readonly string[], onError: (error: unknown, request: string) => void = () => undefined): Promise<AuthorizationChain> {
    return new AuthorizationChain(await resolve(engine, names), engine, onError);
  }

  /** A reload's new list (moby's SetPlugins), checked now and put in force by the function returned: a bad one leaves the chain as it was. */
  async prepare(names: readonly string[]): Promise<() => void> {
    const plugins = await resolve(this.engine, names);
    return () => {
      this.plugins = plugins;
    };
  }

  /**
   * Run `handler` for `call` if every plugin allows the request, and send its response only if
   * every plugin allows that too. A refusal is a 403 in moby's words; a plugin that fails, a 500.
   */
  async serve(call: Call, handler: () => Promise<void>): Promise<void> {
    const plugins = this.plugins;
    if (plugins.length === 0) return handler();
    const { req } = call;
    const requestUri = req.url ?? '/';
    const sent: AuthzRequest = {
      ...tlsIdentity(req.socket),
      RequestMethod: req.method ?? 'GET',
      RequestUri: requestUri,
    };
    if (sendsBody(requestUri, req.headers['content-type'])) {
      const body = call.upgrade ? await peekSocketBody(req, call.upgrade) : await peekBody(req);
      if (body.length > 0) sent.RequestBody = body.toString('base64');
    }
    sent.RequestHeaders = requestHeaders(req);
    await ask(plugins, 'AuthZPlugin.AuthZReq', sent);

    const request = `${req.method} ${requestUri}`;
    const checkResponse = async (seen: SeenResponse): Promise<void> => {
      await this.forgetDisabled(call, seen);
      // Plugins taken out of the chain while the handler ran (a disable) are not asked.
      await ask(this.plugins, 'AuthZPlugin.AuthZRes', {
        ...sent,
        ...(seen.status !== undefined ? { ResponseStatusCode: seen.status } : {}),
        ResponseHeaders: seen.headers,
        ...(seen.body && seen.body.length > 0 && sendsBody(requestUri, seen.headers['Content-Type']) ? { ResponseBody: seen.body.toString('base64') } : {}),
      });
    };

    if (!call.res) {
      // A hijacked connection is the handler's from the start: the plugins are told of its end,
      // but nothing they answer can reach the client any more (as with moby's hijack).
      await handler();
      await checkResponse({ headers: {} }).catch((error: unknown) => this.onError(error, request));
      return;
    }
    const held = new HeldResponse(call.res, checkResponse);
    try {
      await handler();
    } catch (error) {
      if (held.isEnded) throw error;
      // moby asks the plugins after a failed handler too, and answers with its error whatever they say.
      await checkResponse(held.abandon()).catch(() => undefined);
      throw error;
    }
    const refused = await held.settled;
    if (refused?.code === 'Internal') this.onError(refused, request);
  }

  /**
   * moby's plugin manager takes an authorization plugin out of the chain when it is disabled;
   * here the disable's own response does, before the plugins are asked about it.
   */
  private async forgetDisabled(call: Call, seen: SeenResponse): Promise<void> {
    if (call.req.method !== 'POST' || seen.status === undefined || seen.status >= 300) return;
    if (!/^(?:\/v[\d.]+)?\/plugins\/.+\/disable\/?$/.test(new URL(call.req.url ?? '/', 'http://ctrd').pathname)) return;
    // The route's name may be a short one or an ID prefix: the chain knows plugins by full name.
    const { Name } = await this.engine.inspectPlugin(call.params[0] as string);
    this.plugins = this.plugins.filter((p) => p.name !== Name);
  }
}

/** moby's newPlugins (each name once) after validateAuthzPlugins (each found as an authorization plugin). */
async function resolve(engine: Engine, names: readonly string[]): Promise<AuthzPlugin[]> {
  const plugins: AuthzPlugin[] = [];
  for (const name of new Set(names)) {
    try {
      const { endpoint, client } = await engine.plugin(name, AUTHZ_CAPABILITY);
      plugins.push({ name: endpoint.name, client });
    } catch (error) {
      const e = asCtrError(error);
      throw new CtrError(e.code, `failed to validate authorization plugin: ${e.message}`, { ...(e.hint ? { hint: e.hint } : {}), cause: error });
    }
  }
  return plugins;
}

/** Each plugin in turn; the first refusal or failure ends it (moby's AND of their answers). */
async function ask(plugins: readonly AuthzPlugin[], method: string, sent: AuthzRequest): Promise<void> {
  for (const plugin of plugins) {
    let answer: AuthzAnswer;
    try {
      // As moby's authorization.go: an Err in a 200 answer is not read; Allow and Msg decide.
      answer = await plugin.client.answer<AuthzAnswer>(method, sent);
    } catch (error) {
      throw internal(`plugin ${plugin.name} failed with error: ${asCtrError(error).message}`, { cause: error });
    }
    if (answer.Allow !== true) {
      throw new CtrError('Denied', `authorization denied by plugin ${plugin.name}: ${typeof answer.Msg === 'string' ? answer.Msg : ''}`);
    }
  }
}
