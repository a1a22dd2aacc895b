import { invalidArgument, type CtrError } from '@ctr/errors';
import { parseDigest, type Digest } from './digest';

/**
 * Image references, parsed and normalised exactly as Docker does (distribution/reference):
 * `busybox` is `docker.io/library/busybox`, `index.docker.io` is `docker.io`, and the
 * first path component is a registry only when it looks like one (has a `.` or `:`, or is
 * `localhost`, or has an uppercase letter).
 */
export interface Reference {
  /** Registry host, with port when given: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  readonly domain: string;
  /** Repository path inside the registry: `library/busybox`, `a/b`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
/** distribution/reference's NameTotalLengthMax, counted over domain + path. */
export const MAX_NAME_LENGTH = 255;

const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})`;
const DOMAIN_AND_PORT = `${HOST}(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const domainRegexp = new RegExp(`^${DOMAIN_AND_PORT}$`);
const pathRegexp = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const pathComponentRegexp = new RegExp(`^${PATH_COMPONENT}$`);
const tagRegexp = new RegExp(`^${TAG}$`);
const digestRegexp = new RegExp(`^${DIGEST}$`);
const identifierRegexp = /^[a-f0-9]{64}$/;

/**
 * Parse a reference as `docker pull` does, normalising the name. No tag is added: see
 * `parseNormalizedReference` for that.
 */
export function parseReference(text: string): Reference {
  if (typeof text !== 'string' || text === '') {
    throw invalidReference(String(text), 'repository name must have at least one component');
  }
  if (identifierRegexp.test(text)) {
    throw invalidArgument(
      `invalid repository name (${text}), cannot specify 64-byte hexadecimal strings`,
      { hint: 'a 64-character hex string is an image ID, not a name' },
    );
  }
  const [beforeDigest, digestText] = splitOnce(text, '@');
  const { name, tag } = splitTag(beforeDigest);
  const { domain, path } = splitDockerDomain(name, text);

  if (path.toLowerCase() !== path) {
    throw invalidReference(text, `repository name (${path}) must be lowercase`);
  }
  checkDomain(domain, text);
  checkPath(path, text);
  if (domain.length + 1 + path.length > MAX_NAME_LENGTH) {
    throw invalidReference(text, `repository name must not be more than ${MAX_NAME_LENGTH} characters`);
  }
  if (tag !== undefined && !tagRegexp.test(tag)) {
    throw invalidReference(
      text,
      `tag "${tag}" is invalid: a tag is 1 to 128 letters, digits, "_", "." or "-" and must not start with "." or "-"`,
    );
  }
  const reference: { domain: string; path: string; tag?: string; digest?: Digest } = { domain, path };
  if (tag !== undefined) reference.tag = tag;
  if (digestText !== undefined) reference.digest = parseReferenceDigest(digestText, text);
  return reference;
}

/** `parseReference`, then `:latest` when neither a tag nor a digest was given (what `docker pull busybox` pulls). */
export function parseNormalizedReference(text: string): Reference {
  return withDefaultTag(parseReference(text));
}

export function withDefaultTag(reference: Reference): Reference {
  if (reference.tag !== undefined || reference.digest !== undefined) return reference;
  return { ...reference, tag: DEFAULT_TAG };
}

/** True when `text` parses as a reference. */
export function isReference(text: string): boolean {
  try {
    parseReference(text);
    return true;
  } catch {
    return false;
  }
}

/** The repository name with its registry: `docker.io/library/busybox`. */
export function referenceName(reference: Reference): string {
  return `${reference.domain}/${reference.path}`;
}

/** The full normalised form: `docker.io/library/busybox:latest`, `localhost:5000/a/b:t@sha256:…`. */
export function formatReference(reference: Reference): string {
  return referenceName(reference) + suffix(reference);
}

/** The name as users write it: `busybox`, `user/app`, `localhost:5000/a/b`. */
export function familiarName(reference: Reference): string {
  if (reference.domain !== DEFAULT_DOMAIN) return referenceName(reference);
  const rest = reference.path.slice(OFFICIAL_REPO_PREFIX.length);
  if (reference.path.startsWith(OFFICIAL_REPO_PREFIX) && !rest.includes('/')) return rest;
  return reference.path;
}

/** The reference as `docker images` shows it: `busybox:latest`, `localhost:5000/a/b:tag`. */
export function familiarString(reference: Reference): string {
  return familiarName(reference) + suffix(reference);
}

/** Same repository, another tag (and no digest): what `docker tag` makes. */
export function withTag(reference: Reference, tag: string): Reference {
  if (!tagRegexp.test(tag)) {
    throw invalidReference(`${referenceName(reference)}:${tag}`, `tag "${tag}" is invalid`);
  }
  return { domain: reference.domain, path: reference.path, tag };
}

/** Same repository pinned to a digest (and no tag): how a pulled image is recorded by digest. */
export function withDigest(reference: Reference, digest: Digest): Reference {
  return { domain: reference.domain, path: reference.path, digest: parseDigest(digest) };
}

/** What `docker rmi X`, `docker run X` and `docker inspect X` mean by X. */
export type NameOrId =
  /** A full image ID (`<64 hex>` or `sha256:<64 hex>`). */
  | { kind: 'id'; id: Digest }
  /**
   * A reference. `idPrefix` (lowercase hex, no `sha256:`) is set when the text could also
   * be a short image ID: Docker looks the name up first and falls back to the ID prefix.
   */
  | { kind: 'reference'; reference: Reference; idPrefix?: string }
  /** Only an ID prefix: `sha256:abc` is not a valid name, so it can only be an ID. */
  | { kind: 'idPrefix'; idPrefix: string };

/** Parse what a user typed where Docker accepts "a name or an ID". */
export function parseNameOrId(text: string): NameOrId {
  if (identifierRegexp.test(text)) return { kind: 'id', id: `sha256:${text}` as Digest };
  const prefixed = /^sha256:([a-f0-9]*)$/.exec(text);
  if (prefixed !== null) {
    const hex = prefixed[1] ?? '';
    if (hex.length === 64) return { kind: 'id', id: text as Digest };
    if (hex.length > 0) return { kind: 'idPrefix', idPrefix: hex };
  }
  const reference = parseReference(text);
  if (/^[a-f0-9]{1,63}$/.test(text)) return { kind: 'reference', reference, idPrefix: text };
  return { kind: 'reference', reference };
}

function suffix(reference: Reference): string {
  return (reference.tag === undefined ? '' : `:${reference.tag}`) + (reference.digest === undefined ? '' : `@${reference.digest}`);
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/** The tag is after the last `:` that comes after the last `/` (a `:` before it is a port). */
function splitTag(text: string): { name: string; tag?: string } {
  const colon = text.lastIndexOf(':');
  if (colon > text.lastIndexOf('/') && !isInsideBrackets(text, colon)) {
    return { name: text.slice(0, colon), tag: text.slice(colon + 1) };
  }
  return { name: text };
}

function isInsideBrackets(text: string, at: number): boolean {
  return text.lastIndexOf('[', at) > text.lastIndexOf(']', at);
}

function splitDockerDomain(name: string, original: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  let domain: string;
  let path: string;
  const first = name.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(slash + 1);
  }
  if (path === '') throw invalidReference(original, 'repository name must have at least one component');
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
}

function checkDomain(domain: string, original: string): void {
  if (domainRegexp.test(domain)) return;
  const bracketed = domain.startsWith('[');
  const hostEnd = bracketed ? domain.indexOf(']') + 1 : domain.includes(':') ? domain.indexOf(':') : domain.length;
  const port = domain.slice(hostEnd);
  if ((!bracketed || hostEnd > 0) && port !== '' && !/^:[0-9]+$/.test(port)) {
    throw invalidReference(original, `registry "${domain}" has an invalid port: a port is digits only`);
  }
  throw invalidReference(
    original,
    `registry "${domain}" is not a valid host: use letters, digits, "-" and ".", or an IPv6 address in brackets`,
  );
}

function checkPath(path: string, original: string): void {
  if (pathRegexp.test(path)) return;
  const bad = path.split('/').find((component) => !pathComponentRegexp.test(component));
  const what = bad === '' ? 'an empty path component ("//" or a trailing "/")' : `path component "${bad}"`;
  throw invalidReference(
    original,
    `${what} is invalid: components are lowercase letters and digits, separated by ".", "_", "__" or "-"`,
  );
}

function parseReferenceDigest(text: string, original: string): Digest {
  if (!digestRegexp.test(text)) {
    throw invalidReference(original, `digest "${text}" is invalid: expected "sha256:" followed by 64 hex characters`);
  }
  return parseDigest(text);
}

function invalidReference(text: string, why: string): CtrError {
  return invalidArgument(`invalid reference format: ${why}`, { details: { reference: text } });
}
