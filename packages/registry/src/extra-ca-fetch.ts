import { Readable } from 'node:stream';
import { Agent, interceptors, type Dispatcher } from 'undici';
import { CtrError, isCtrError } from '@ctr/errors';
import { untrustedCertificateHint } from './registry-errors';
import { trustingConnector } from './trusting-connector';

/** fetch's limit for `redirect: 'follow'`; past it, the last redirect is the answer (an error status to ADD). */
const MAX_REDIRECTS = 20;
/** Statuses whose WHATWG Response can have no body. */
const NULL_BODY = new Set([204, 205, 304]);

/** Made at the first call: most processes never fetch a URL. */
let dispatcher: Dispatcher | undefined;

/**
 * A GET shaped as WHATWG `fetch` with `redirect: 'follow'`, whose TLS trusts what the registry
 * client trusts: Node's roots plus the extra CAs (CTR_EXTRA_CA_CERTS, where the `ctr` launcher
 * moves NODE_EXTRA_CA_CERTS). For callers outside this package that GET arbitrary URLs, e.g. a
 * Dockerfile's `ADD https://…`. undici's `request`, not its `fetch`: fetch refuses the WHATWG
 * "bad ports" (6000, 6665-6669, 10080, …), and dockerd downloads from any port.
 *
 * A certificate no trusted CA signed rejects with an Unavailable CtrError whose hint says which
 * variable to set; an unusable CTR_EXTRA_CA_CERTS with its InvalidArgument CtrError; any other
 * failure with undici's error, whose message says why.
 */
export async function fetchTrustingExtraCas(url: string, init: { signal?: AbortSignal } = {}): Promise<Response> {
  dispatcher ??= new Agent({ connect: trustingConnector() }).compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
  const target = new URL(url);
  let answer: Dispatcher.ResponseData;
  try {
    answer = await dispatcher.request({ origin: target.origin, path: `${target.pathname}${target.search}`, method: 'GET', signal: init.signal });
  } catch (error) {
    if (isCtrError(error)) throw error;
    const hint = untrustedCertificateHint((error as NodeJS.ErrnoException).code, target.host);
    if (hint === undefined) throw error;
    throw new CtrError('Unavailable', (error as Error).message, { cause: error, hint });
  }
  return asResponse(answer);
}

function asResponse({ statusCode, statusText, headers, body }: Dispatcher.ResponseData): Response {
  const fields = new Headers();
  for (const [name, value] of Object.entries(headers)) for (const one of [value ?? []].flat()) fields.append(name, one);
  if (NULL_BODY.has(statusCode)) body.resume();
  return new Response(NULL_BODY.has(statusCode) ? null : (Readable.toWeb(body) as ReadableStream<Uint8Array>), { status: statusCode, statusText, headers: fields });
}
