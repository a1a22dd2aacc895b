import { STATUS_CODES } from 'node:http';
import { CtrError, isCtrError, type ErrorCode } from '@ctr/errors';
import { certsDirectory } from './certs-directory';

/** Where a failed request was going, to name it in the message. */
export interface ErrorContext {
  /** Registry host: `localhost:5000`, `docker.io`. */
  registry: string;
  /** The thing asked for, as a person would name it: `manifest for localhost:5000/x:latest`. */
  subject: string;
}

/**
 * A registry failure as Go's registry client words it, kept in a CtrError's `details.go`:
 * dockerd's API answers with these words (`dockerPullError`), ctr's own messages say more.
 */
export interface GoWords {
  /** Go's *url.Error around a transport or authentication failure: `Get "http://127.0.0.1:5000/v2/"`. */
  request?: string;
  /** The failure itself: `unauthorized: authentication required`, `no basic auth credentials`. */
  error: string;
  /** Whether it came from the first `GET /v2/` (dockerd's ping), which no transfer retry unwraps. */
  ping?: boolean;
}

/** How Go's url.Error names a request: `Get "http://127.0.0.1:5000/v2/"`. */
export function goRequest(method: string, url: URL | string): string {
  return `${method.charAt(0)}${method.slice(1).toLowerCase()} "${String(url)}"`;
}

/** The Go words a registry CtrError carries; undefined for any other error. */
export function goWordsOf(error: unknown): GoWords | undefined {
  if (!isCtrError(error)) return undefined;
  const go = error.details.go as GoWords | undefined;
  return typeof go?.error === 'string' ? go : undefined;
}

/** The error with Go's words naming `request` (a failure of the authorization a request needed). */
export function withGoRequest(error: unknown, request: string): unknown {
  const go = goWordsOf(error);
  if (go === undefined || go.request !== undefined || !isCtrError(error)) return error;
  return new CtrError(error.code, error.message, { cause: error.cause, details: { ...error.details, go: { ...go, request } }, ...(error.hint ? { hint: error.hint } : {}) });
}

interface RegistryErrorEntry {
  code?: string;
  message?: string;
  detail?: unknown;
}

const byRegistryCode: Record<string, ErrorCode> = {
  NAME_UNKNOWN: 'NotFound',
  MANIFEST_UNKNOWN: 'NotFound',
  BLOB_UNKNOWN: 'NotFound',
  BLOB_UPLOAD_UNKNOWN: 'NotFound',
  UNAUTHORIZED: 'Unauthorized',
  DENIED: 'Denied',
  TOOMANYREQUESTS: 'TooManyRequests',
  DIGEST_INVALID: 'DigestMismatch',
  UNSUPPORTED: 'Unsupported',
  NAME_INVALID: 'InvalidArgument',
  TAG_INVALID: 'InvalidArgument',
  MANIFEST_INVALID: 'InvalidArgument',
  MANIFEST_BLOB_UNKNOWN: 'InvalidArgument',
  BLOB_UPLOAD_INVALID: 'InvalidArgument',
  SIZE_INVALID: 'InvalidArgument',
};

/** What Docker says for a refusal without an error body (a HEAD has none). */
const BODILESS_REASON: Record<number, string> = {
  401: 'unauthorized: authentication required',
  403: 'denied: requested access to the resource is denied',
};

function byStatus(status: number): ErrorCode {
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Denied';
  if (status === 404) return 'NotFound';
  if (status === 429) return 'TooManyRequests';
  if (status === 400 || status === 416) return 'InvalidArgument';
  if (status === 405) return 'Unsupported';
  if (status >= 500) return 'Unavailable';
  return 'Internal';
}

/**
 * Turn a registry's error answer into a CtrError carrying the registry's own code and
 * message, worded like Docker: `manifest for localhost:5000/x:latest not found: manifest
 * unknown: manifest unknown`.
 */
export function registryError(status: number, body: string, retryAfter: string | undefined, context: ErrorContext, go?: GoWords): CtrError {
  const entries = parseErrors(body);
  const first = entries[0];
  const registryCode = first?.code?.toUpperCase();
  const code = (registryCode !== undefined ? byRegistryCode[registryCode] : undefined) ?? byStatus(status);
  const reason =
    first !== undefined
      ? entries.map(entryWords).join('; ')
      : body.trim() === '' && BODILESS_REASON[status] !== undefined
        ? BODILESS_REASON[status]
        : `${status} ${body.trim().slice(0, 200) || 'no error details'}`;
  const details: Record<string, unknown> = { registry: context.registry, status, go: go ?? { error: goAnswerWords(status, entries, reason) } };
  if (registryCode !== undefined) details.registryCode = registryCode;
  if (first?.detail !== undefined) details.detail = first.detail;
  let message: string;
  let hint: string | undefined;
  switch (code) {
    case 'NotFound':
      message = `${context.subject} not found: ${reason}`;
      break;
    case 'Unauthorized':
      message = `${context.subject}: ${reason}`;
      hint = `log in to ${context.registry} (docker login / ctr login), or check the credentials for it`;
      break;
    case 'Denied':
      message = `${context.subject}: ${reason}`;
      hint = `the credentials used for ${context.registry} do not allow this; check the repository name and your access`;
      break;
    case 'TooManyRequests':
      message = `${context.subject}: ${reason}`;
      if (retryAfter !== undefined) {
        details.retryAfter = retryAfter;
        hint = `the registry ${context.registry} asks to retry after ${retryAfter}${/^\d+$/.test(retryAfter) ? ' seconds' : ''}`;
      }
      break;
    default:
      message = `${context.subject}: registry ${context.registry} answered ${status}: ${reason}`;
  }
  return new CtrError(code, message, hint === undefined ? { details } : { details, hint });
}

/**
 * A registry's refusal as Go's distribution client words it (HandleErrorResponse): its first
 * error entry, `unauthorized: authentication required` for a bodiless 401, `received unexpected
 * HTTP status: 500 Internal Server Error` for a server error; else ctr's reading of it.
 */
export function goAnswerWords(status: number, entries: readonly RegistryErrorEntry[], reason: string): string {
  const first = entries[0];
  if (first !== undefined) return entryWords(first);
  if (status === 401) return BODILESS_REASON[401] as string;
  if (status >= 500) return `received unexpected HTTP status: ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
  return reason;
}

/** A token service's refusal in Go's words (the same reading as a registry's answer). */
export function goTokenRefusal(status: number, body: string): string {
  const entries = parseErrors(body);
  let details: unknown;
  try {
    details = (JSON.parse(body) as { details?: unknown }).details;
  } catch {
    details = undefined;
  }
  // Docker Hub's token service answers `{"details": "incorrect username or password"}`.
  if (entries.length === 0 && typeof details === 'string' && details !== '') return `${status === 401 ? 'unauthorized' : 'unknown'}: ${details}`;
  return goAnswerWords(status, entries, `${status} ${STATUS_CODES[status] ?? ''}`.trimEnd());
}

function entryWords(entry: RegistryErrorEntry): string {
  return `${(entry.code ?? 'error').toLowerCase().replace(/_/g, ' ')}: ${entry.message ?? ''}`;
}

function parseErrors(body: string): RegistryErrorEntry[] {
  try {
    const parsed = JSON.parse(body) as { errors?: unknown };
    return Array.isArray(parsed.errors) ? (parsed.errors as RegistryErrorEntry[]) : [];
  } catch {
    return [];
  }
}

/** A transport failure (refused, reset, DNS…) of `request` (Go's naming of it) as Unavailable, naming the registry. */
export function connectionError(error: unknown, context: ErrorContext, request?: string): CtrError {
  const { code, why } = transportFailure(error);
  const go: GoWords = { ...(request !== undefined ? { request } : {}), error: goTransportWords(error, why) };
  return new CtrError('Unavailable', `${context.subject}: cannot reach registry ${context.registry}: ${why}`, {
    cause: error,
    details: { registry: context.registry, go, ...(code ? { errno: code } : {}) },
    hint: registryCertificateHint(code, context.registry) ?? UNREACHABLE_HINT,
  });
}

/**
 * A loopback or insecure registry that answered neither over HTTPS nor over plain HTTP:
 * Unavailable, naming each attempt (one reason when both failed alike).
 */
export function unreachableOverEither(overTls: { origin: string; error: unknown }, overHttp: { origin: string; error: unknown }, context: ErrorContext): CtrError {
  const tls = transportFailure(overTls.error);
  const plain = transportFailure(overHttp.error);
  const why =
    tls.why === plain.why
      ? `${tls.why} (tried ${overTls.origin}/v2/, then ${overHttp.origin}/v2/)`
      : `${overTls.origin}/v2/: ${tls.why}; ${overHttp.origin}/v2/: ${plain.why}`;
  // dockerd reports the last endpoint it tried, the plain-HTTP one.
  const go: GoWords = { request: goRequest('GET', `${overHttp.origin}/v2/`), error: goTransportWords(overHttp.error, plain.why), ping: true };
  return new CtrError('Unavailable', `${context.subject}: cannot reach registry ${context.registry}: ${why}`, {
    cause: overHttp.error,
    details: { registry: context.registry, go, ...(plain.code ? { errno: plain.code } : {}) },
    hint: UNREACHABLE_HINT,
  });
}

const UNREACHABLE_HINT = 'check that the registry is running and reachable, and that the address and port are right';

/** Node's error code for a failed connection and the reason as a person reads it (Go's words where Docker shows them). */
function transportFailure(error: unknown): { code: string | undefined; why: string } {
  const cause = error as { code?: string; message?: string; errors?: { code?: string }[] };
  const code = cause.code ?? cause.errors?.[0]?.code;
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'no such host'
        : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
          ? 'connection reset'
          : code === 'ERR_SSL_WRONG_VERSION_NUMBER'
            ? 'http: server gave HTTP response to HTTPS client'
            : (cause.message ?? String(error));
  return { code, why };
}

/** Node's connection error: a net error, or the first of an AggregateError's (one per address tried). */
interface SocketFailure {
  code?: string;
  address?: string;
  port?: number;
  hostname?: string;
  errors?: SocketFailure[];
}

/** A transport failure as Go's net and crypto/tls packages word it where ctr can tell; else `why`. */
function goTransportWords(error: unknown, why: string): string {
  const outer = error as SocketFailure;
  const failure = outer.code === undefined && outer.errors?.[0] !== undefined ? outer.errors[0] : outer;
  const { code, address, port, hostname } = failure;
  if (code === 'ECONNREFUSED' && address !== undefined && port !== undefined) {
    return `dial tcp ${address.includes(':') ? `[${address}]` : address}:${port}: connect: connection refused`;
  }
  if ((code === 'ENOTFOUND' || code === 'EAI_AGAIN') && hostname !== undefined) return `dial tcp: lookup ${hostname}: no such host`;
  if (code !== undefined && UNTRUSTED_CERTIFICATE.has(code)) return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
  return why;
}

/**
 * What to do when `host`'s certificate failed verification in a way a trusted CA would fix
 * (`code` is Node's name for OpenSSL's reason); undefined for any other failure.
 */
export function untrustedCertificateHint(code: string | undefined, host: string): string | undefined {
  if (code === undefined || !UNTRUSTED_CERTIFICATE.has(code)) return undefined;
  return `the certificate of ${host} is not signed by a CA this machine trusts: add that CA to the PEM file NODE_EXTRA_CA_CERTS names (CTR_EXTRA_CA_CERTS when ctr is started directly with node)`;
}

/** untrustedCertificateHint for a registry, which may also have its CA where docker reads it (certs.d). */
function registryCertificateHint(code: string | undefined, registry: string): string | undefined {
  const hint = untrustedCertificateHint(code, registry);
  return hint === undefined ? undefined : `${hint}, or as ${certsDirectory()}/${registry}/ca.crt, where docker reads it`;
}

/** OpenSSL's verification failures a trusted CA would fix (Node's error codes). */
const UNTRUSTED_CERTIFICATE = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
