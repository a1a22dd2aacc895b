import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How the server decides who may do what. `basic`: a fixed user list, every user may do
 * everything. `token`: the Docker token flow — the server answers 401 with
 * `WWW-Authenticate: Bearer realm,service,scope`, the client fetches a JWT from the realm,
 * and the server checks its HS256 signature, audience, expiry and `access` claims.
 */
export type ServerAuth =
  | { type: 'basic'; users: Readonly<Record<string, string>>; realm?: string }
  | { type: 'token'; realm: string; service: string; secret: string };

export type RegistryAction = 'pull' | 'push' | 'delete';

/**
 * One entry of a token's `access` claim, as in Docker's token spec: a repository's actions, or
 * the registry's catalog (`registry:catalog:search`, what dockerd asks a token for to search).
 */
export type AccessGrant = { type: 'repository'; name: string; actions: (RegistryAction | '*')[] } | { type: 'registry'; name: string; actions: string[] };

/** The scope a search is challenged with: what dockerd's search session asks a token service for. */
export const SEARCH_SCOPE = 'registry:catalog:search';

export type AuthDecision = { allowed: true; grants?: AccessGrant[] } | { allowed: false; challenge: string };

/** Decide a request needing `actions` on `repository` (none for `/v2/` itself). */
export function authorize(
  auth: ServerAuth | undefined,
  header: string | undefined,
  repository: string | undefined,
  actions: RegistryAction[],
): AuthDecision {
  if (auth === undefined) return { allowed: true };
  if (auth.type === 'basic') {
    const challenge = `Basic realm="${auth.realm ?? 'ctr-registry'}"`;
    const user = basicUser(header, auth.users);
    return user === undefined ? { allowed: false, challenge } : { allowed: true };
  }
  const scope = repository === undefined ? undefined : `repository:${repository}:${actions.join(',')}`;
  const decision = bearer(auth, header, scope);
  if (decision.allowed && repository !== undefined && !allows(decision.grants ?? [], repository, actions)) {
    return { allowed: false, challenge: `${challengeFor(auth, scope)},error="insufficient_scope"` };
  }
  return decision;
}

/**
 * Decide a search (`/v1/search`): whoever may reach `/v2/`, a token holder with the grants its
 * token carries (the results are only the repositories those let it see, see `maySee`). No
 * token is challenged for the catalog scope, as distribution challenges for its catalog.
 */
export function authorizeSearch(auth: ServerAuth | undefined, header: string | undefined): AuthDecision {
  return auth?.type === 'token' ? bearer(auth, header, SEARCH_SCOPE) : authorize(auth, header, undefined, []);
}

/**
 * Whether a search by the holder of `grants` names `repository`: everything for a server
 * without tokens (no grants), or a token granted the catalog; else only what it may pull.
 */
export function maySee(grants: readonly AccessGrant[] | undefined, repository: string): boolean {
  if (grants === undefined) return true;
  const catalog = grants.some((g) => g.type === 'registry' && g.name === 'catalog' && (g.actions.includes('search') || g.actions.includes('*')));
  return catalog || allows(grants, repository, ['pull']);
}

/** A token's grants, or the challenge naming `scope` when there is no valid token. */
function bearer(auth: Extract<ServerAuth, { type: 'token' }>, header: string | undefined, scope: string | undefined): AuthDecision {
  const claims = header?.startsWith('Bearer ') ? verifyToken(header.slice(7), auth) : undefined;
  return claims === undefined ? { allowed: false, challenge: challengeFor(auth, scope) } : { allowed: true, grants: claims.access ?? [] };
}

function challengeFor(auth: Extract<ServerAuth, { type: 'token' }>, scope: string | undefined): string {
  return `Bearer realm="${auth.realm}",service="${auth.service}"${scope === undefined ? '' : `,scope="${scope}"`}`;
}

/** True when the grants allow `actions` on `repository` (used for cross-repo mount sources, G4). */
export function allows(grants: readonly AccessGrant[], repository: string, actions: readonly RegistryAction[]): boolean {
  const held = new Set<string>();
  for (const grant of grants) {
    if (grant.type === 'repository' && grant.name === repository) grant.actions.forEach((a) => held.add(a));
  }
  return held.has('*') || actions.every((a) => held.has(a));
}

export interface TokenOptions {
  secret: string;
  service: string;
  access: AccessGrant[];
  subject?: string;
  expiresInSeconds?: number;
}

/** Issue a token the `token` auth mode accepts — what a token service behind `realm` returns. */
export function issueRegistryToken(options: TokenOptions): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(
    JSON.stringify({
      iss: 'ctr-token-service',
      sub: options.subject ?? '',
      aud: options.service,
      iat: now,
      nbf: now - 1,
      exp: now + (options.expiresInSeconds ?? 300),
      access: options.access,
    }),
  );
  return `${header}.${payload}.${sign(`${header}.${payload}`, options.secret)}`;
}

interface Claims {
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  access?: AccessGrant[];
}

function verifyToken(token: string, auth: { service: string; secret: string }): Claims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const expected = Buffer.from(sign(`${header}.${payload}`, auth.secret));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  let claims: Claims;
  try {
    const head = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string };
    if (head.alg !== 'HS256') return undefined;
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Claims;
  } catch {
    return undefined;
  }
  const now = Date.now() / 1000;
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(auth.service)) return undefined;
  if (typeof claims.exp !== 'number' || claims.exp < now) return undefined;
  if (typeof claims.nbf === 'number' && claims.nbf > now + 60) return undefined;
  return claims;
}

function basicUser(header: string | undefined, users: Readonly<Record<string, string>>): string | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString();
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const user = decoded.slice(0, colon);
  const expected = Object.prototype.hasOwnProperty.call(users, user) ? users[user] : undefined;
  if (expected === undefined) return undefined;
  const a = Buffer.from(decoded.slice(colon + 1));
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b) ? user : undefined;
}

function sign(data: string, secret: string): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}
