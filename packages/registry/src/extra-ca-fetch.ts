import { Agent, fetch as undiciFetch } from 'undici';
import { CtrError, isCtrError } from '@ctr/errors';
import { untrustedCertificateHint } from './registry-errors';
import { trustingConnector } from './trusting-connector';

/** Made at the first call: most processes never fetch a URL. */
let agent: Agent | undefined;

/**
 * WHATWG `fetch` whose TLS trusts what the registry client trusts: Node's roots plus the extra
 * CAs (CTR_EXTRA_CA_CERTS, where the `ctr` launcher moves NODE_EXTRA_CA_CERTS). For callers
 * outside this package that GET arbitrary URLs, e.g. a Dockerfile's `ADD https://…`.
 *
 * A certificate no trusted CA signed rejects with an Unavailable CtrError whose hint says which
 * variable to set; an unusable CTR_EXTRA_CA_CERTS with its InvalidArgument CtrError; any other
 * failure as fetch does (a TypeError whose `cause` says why).
 */
export async function fetchTrustingExtraCas(url: string, init: { signal?: AbortSignal; redirect?: 'follow' | 'error' | 'manual' } = {}): Promise<Response> {
  agent ??= new Agent({ connect: trustingConnector() });
  try {
    // The same WHATWG Response as the global fetch's (whose undici is Node's own copy): only the declared types differ.
    return (await undiciFetch(url, { ...init, dispatcher: agent })) as unknown as Response;
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    if (isCtrError(cause)) throw cause;
    const hint = untrustedCertificateHint((cause as NodeJS.ErrnoException | undefined)?.code, new URL(url).host);
    if (hint === undefined) throw error;
    throw new CtrError('Unavailable', (cause as Error).message, { cause: error, hint });
  }
}
