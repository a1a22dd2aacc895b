import { CtrError, isCtrError } from '@ctr/errors';
import { familiarName, familiarString, parseNormalizedReference } from '@ctr/image';
import { goWordsOf, type GoWords } from './registry-errors';

/**
 * How dockerd's API answers registry failures, from the Go words (`details.go`) the registry
 * client's CtrErrors carry. ctr's own messages name what was asked for and add a hint; dockerd
 * answers with its distribution client's words and statuses, and clients act on those: docker's
 * CLI asks for a login on a 401 from a pull (and waits for it even without a terminal), which
 * dockerd never sends. Errors that did not come from a registry are given back as they are.
 */

/** The registry codes dockerd's translatePullError makes a 404. */
const NOT_FOUND_CODES = new Set(['DENIED', 'MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);

/**
 * A failed pull of `reference` as dockerd answers it (translatePullError): a refused or unknown
 * repository or manifest is NotFound in its words (`pull access denied for x, repository does not
 * exist or may require 'docker login': denied: …`); anything else the registry side did is a 500,
 * in Go's words (`Get "http://127.0.0.1:5000/v2/x/manifests/1": no basic auth credentials`).
 */
export function dockerPullError(error: unknown, reference: string): unknown {
  if (!fromRegistry(error)) return error;
  const go = goWordsOf(error);
  const registryCode = error.details.registryCode;
  if (go !== undefined && typeof registryCode === 'string' && NOT_FOUND_CODES.has(registryCode)) {
    const ref = parseNormalizedReference(reference);
    const said =
      registryCode === 'DENIED'
        ? `pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login'`
        : registryCode === 'MANIFEST_UNKNOWN'
          ? `manifest for ${familiarString(ref)} not found`
          : `repository ${familiarName(ref)} not found`;
    return new CtrError('NotFound', `${said}: ${go.error}`, { cause: error, details: { ...error.details, httpStatus: 404 } });
  }
  return unknownError(error, go === undefined ? undefined : goText(go));
}

/**
 * A failed push as dockerd answers it: a 500 in Go's words. A request's failure during the
 * transfer loses its `Put "…"` (push's retryOnError unwraps it: `no basic auth credentials`);
 * the first `GET /v2/`'s keeps it, as dockerd reports its ping.
 */
export function dockerPushError(error: unknown): unknown {
  if (!fromRegistry(error)) return error;
  const go = goWordsOf(error);
  return unknownError(error, go === undefined ? undefined : go.ping ? goText(go) : go.error);
}

/**
 * A failed login (`POST /auth`) as dockerd answers it: a 500 whatever went wrong, refused
 * credentials included (`login attempt to http://…/v2/ failed with status: 401 Unauthorized`),
 * an unreachable registry in Go's words (`Get "http://…/v2/": dial tcp …: connection refused`).
 */
export function dockerLoginError(error: unknown): unknown {
  if (!fromRegistry(error)) return error;
  const go = goWordsOf(error);
  return unknownError(error, go === undefined ? undefined : goText(go));
}

function fromRegistry(error: unknown): error is CtrError {
  return isCtrError(error) && typeof error.details.registry === 'string' && error.code !== 'Aborted';
}

/**
 * dockerd's errdefs.Unknown: answered with a 500 (`details.httpStatus`), in Go's words when
 * known, else ctr's message and hint. The code stays what it was: the registry's doing, not the
 * daemon's fault.
 */
function unknownError(error: CtrError, words: string | undefined): CtrError {
  const details = { ...error.details, httpStatus: 500 };
  if (words === undefined) return new CtrError(error.code, error.message, { cause: error, details, ...(error.hint ? { hint: error.hint } : {}) });
  return new CtrError(error.code, words, { cause: error, details });
}

function goText(go: GoWords): string {
  return go.request === undefined ? go.error : `${go.request}: ${go.error}`;
}
