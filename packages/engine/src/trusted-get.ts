import { CtrError, isCtrError } from '@ctr/errors';
import { dockerfileModule, registryModule } from './lazy-modules';

/**
 * A build's GET of a URL that is not a registry (`ADD https://…`): @ctr/dockerfile's `httpGet`
 * (dockerd's http.Get), trusting what pulls trust — Node's roots plus the extra CAs
 * (CTR_EXTRA_CA_CERTS, where the `ctr` launcher moves NODE_EXTRA_CA_CERTS).
 *
 * A certificate no trusted CA signed rejects with an Unavailable CtrError carrying the registry
 * client's hint (which variable to set); an unusable CTR_EXTRA_CA_CERTS with its InvalidArgument
 * CtrError (only once an https connection is made); any other failure with Node's error.
 */
export async function getTrustingExtraCas(url: string, init: { signal?: AbortSignal } = {}): Promise<Response> {
  const registry = registryModule();
  try {
    return await dockerfileModule().httpGet(url, { ...init, ca: registry.extraCaCertificates });
  } catch (error) {
    if (isCtrError(error)) throw error;
    const hint = registry.untrustedCertificateHint((error as NodeJS.ErrnoException).code, new URL(url).host);
    if (hint === undefined) throw error;
    throw new CtrError('Unavailable', (error as Error).message, { cause: error, hint });
  }
}
