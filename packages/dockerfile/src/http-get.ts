import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { pipeline, Readable } from 'node:stream';
import { createSecureContext } from 'node:tls';
import { createGunzip } from 'node:zlib';

/** fetch's limit for `redirect: 'follow'`; past it, the last redirect is the answer (an error status to its caller). */
const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Statuses whose WHATWG Response can have no body. */
const NULL_BODY = new Set([204, 205, 304]);

export interface HttpGetOptions {
  signal?: AbortSignal;
  /**
   * The CAs an https connection trusts (undefined: Node's defaults). Asked at each https hop,
   * so a plain-http GET never reads them; what it throws rejects the GET.
   */
  ca?: () => readonly string[] | undefined;
}

/**
 * A GET as Go's `http.Get` makes it, which is how dockerd fetches `ADD <url>` and remote build
 * contexts: any port (the global `fetch` refuses the WHATWG "bad ports" 6000, 6665-6669,
 * 10080, …), redirects followed, the URL's `user:password@` sent as basic auth (Node does that
 * for a URL), `Accept-Encoding: gzip` asked for and a gzip response decoded. A redirect's body
 * is never read and goes with its connection. The answer is a WHATWG Response: whoever stops
 * before the end of its body cancels the body, which closes the connection.
 */
export async function httpGet(url: string, options: HttpGetOptions = {}): Promise<Response> {
  let target = new URL(url);
  for (let hops = 0; ; hops += 1) {
    const answer = await request(target, options);
    const location = answer.headers.location;
    if (hops === MAX_REDIRECTS || !REDIRECTS.has(answer.statusCode ?? 0) || location === undefined) {
      try {
        return asResponse(answer);
      } catch (error) {
        // A status or reason phrase a WHATWG Response cannot carry (a status of 600 or more).
        answer.destroy();
        throw error;
      }
    }
    answer.destroy();
    target = new URL(location, target);
  }
}

function request(target: URL, { signal, ca }: HttpGetOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = target.protocol === 'https:';
    const trusted = secure ? ca?.() : undefined;
    const headers = { 'accept-encoding': 'gzip' };
    (secure ? https : http).get(target, { signal, headers, ...(trusted ? { agent: agentTrusting(trusted) } : {}) }, resolve).once('error', reject);
  });
}

/** An agent per CA list: its TLS context is built once, and its pooled connections serve no GET that trusts otherwise. */
const agents = new WeakMap<readonly string[], https.Agent>();

function agentTrusting(ca: readonly string[]): https.Agent {
  let agent = agents.get(ca);
  if (agent === undefined) {
    agent = new https.Agent({ secureContext: createSecureContext({ ca: [...ca] }) });
    agents.set(ca, agent);
  }
  return agent;
}

function asResponse(answer: IncomingMessage): Response {
  const status = answer.statusCode ?? 0;
  const init = { status, statusText: answer.statusMessage ?? '', headers: new Headers() };
  for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) init.headers.append(answer.rawHeaders[i] as string, answer.rawHeaders[i + 1] as string);
  if (NULL_BODY.has(status)) {
    answer.resume();
    return new Response(null, init);
  }
  let body: Readable = answer;
  // Go's transport decodes what it asked for (gzip alone), when there is a body, and then
  // drops the headers that described the encoded bytes.
  if (init.headers.get('content-encoding')?.toLowerCase() === 'gzip' && init.headers.get('content-length') !== '0') {
    init.headers.delete('content-encoding');
    init.headers.delete('content-length');
    // The pipeline's own callback is not needed: an error reaches the body's reader, and a cancel tears both down.
    body = pipeline(answer, createGunzip(), () => undefined);
  }
  return new Response(Readable.toWeb(body) as ReadableStream<Uint8Array>, init);
}
