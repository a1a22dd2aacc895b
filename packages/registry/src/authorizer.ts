import { CtrError } from '@ctr/errors';
import type { RegistryCredentials } from './docker-config';
import { goTokenRefusal } from './registry-errors';
import { parseWwwAuthenticate, type AuthChallenge } from './www-authenticate';

export type CredentialSource = (registry: string) => Promise<RegistryCredentials | undefined>;

/** Fetches a token from a realm: the only request sent outside the registry's own origin. */
export type TokenFetcher = (
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
) => Promise<{ status: number; text: string }>;

interface CachedToken {
  value: string;
  expiresAt: number;
}

type TokenEntry = Promise<CachedToken>;

/**
 * Decides the Authorization header for registry requests. It learns each origin's scheme
 * from its first 401 (`Basic`, or `Bearer realm,service,scope`), caches bearer tokens per
 * origin and scope until they expire, and drops a token the registry refused. Credentials
 * go only to the origin that challenged for them, and to the token realm it named.
 */
export class Authorizer {
  private readonly challenges = new Map<string, AuthChallenge>();
  private readonly tokens = new Map<string, { entry: TokenEntry; value?: string; expiresAt?: number }>();
  private readonly credentialCache = new Map<string, Promise<RegistryCredentials | undefined>>();

  constructor(
    private readonly credentials: CredentialSource,
    private readonly fetchToken: TokenFetcher,
  ) {}

  /** The header for a request, from what earlier challenges taught; undefined before any. */
  async authorization(origin: string, registry: string, scopes: readonly string[]): Promise<string | undefined> {
    const challenge = this.challenges.get(origin);
    if (challenge === undefined) return undefined;
    return this.answer(origin, registry, scopes, challenge);
  }

  /** The scheme `origin` last challenged with; undefined before its first 401. */
  scheme(origin: string): AuthChallenge['scheme'] | undefined {
    return this.challenges.get(origin)?.scheme;
  }

  /**
   * After a 401: remember the challenge, forget the token that failed, and work out a new
   * header. Undefined when there is nothing better to send (the caller reports the 401).
   */
  async challenged(origin: string, registry: string, scopes: readonly string[], header: string | undefined, failed: string | undefined): Promise<string | undefined> {
    const challenges = parseWwwAuthenticate(header ?? '');
    const challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (challenge === undefined) return undefined;
    this.challenges.set(origin, challenge);
    for (const [key, token] of this.tokens) {
      if (token.value !== undefined && `Bearer ${token.value}` === failed) this.tokens.delete(key);
    }
    const next = await this.answer(origin, registry, scopes, challenge);
    return next === failed ? undefined : next;
  }

  private async answer(origin: string, registry: string, scopes: readonly string[], challenge: AuthChallenge): Promise<string | undefined> {
    const credentials = await this.credentialsFor(registry);
    if (challenge.scheme === 'basic') {
      if (credentials?.username === undefined) return undefined;
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64')}`;
    }
    if (credentials?.registryToken !== undefined) return `Bearer ${credentials.registryToken}`;
    const wanted = [...new Set([...scopes, ...(challenge.params.scope ? challenge.params.scope.split(' ') : [])])].sort();
    const key = `${origin} ${wanted.join(' ')}`;
    const cached = this.tokens.get(key);
    if (cached !== undefined && (cached.expiresAt === undefined || cached.expiresAt > Date.now())) {
      return `Bearer ${(await cached.entry).value}`;
    }
    // Requests that start together share one token request (a push starts several at once).
    const slot: { entry: TokenEntry; value?: string; expiresAt?: number } = {
      entry: this.requestToken(registry, challenge, wanted, credentials),
    };
    this.tokens.set(key, slot);
    try {
      const token = await slot.entry;
      slot.value = token.value;
      slot.expiresAt = token.expiresAt;
      return `Bearer ${token.value}`;
    } catch (error) {
      if (this.tokens.get(key) === slot) this.tokens.delete(key);
      throw error;
    }
  }

  private async requestToken(registry: string, challenge: AuthChallenge, scopes: string[], credentials: RegistryCredentials | undefined): Promise<CachedToken> {
    const realm = challenge.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new CtrError('Unauthorized', `registry ${registry} asked for a token from an invalid realm "${realm ?? ''}"`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new CtrError('Unauthorized', `registry ${registry} named a token realm that is not http(s): ${realm}`);
    }
    const service = challenge.params.service;
    let response: { status: number; text: string };
    if (credentials?.identityToken !== undefined) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: 'ctr' });
      if (service) form.set('service', service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      response = await this.fetchToken(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    } else {
      if (service) url.searchParams.set('service', service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      const headers: Record<string, string> = {};
      if (credentials?.username !== undefined) {
        headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64')}`;
      }
      response = await this.fetchToken(url, { method: 'GET', headers });
    }
    if (response.status === 401 || response.status === 403) {
      throw new CtrError('Unauthorized', `${registry}: the token service ${url.origin} refused the credentials (${response.status}): unauthorized: incorrect username or password`, {
        hint: `log in to ${registry} again (docker login / ctr login)`,
        details: { registry, realm: url.origin, status: response.status, go: { error: goTokenRefusal(response.status, response.text) } },
      });
    }
    if (response.status < 200 || response.status >= 300) {
      throw new CtrError('Unavailable', `${registry}: the token service ${url.origin} answered ${response.status}: ${response.text.slice(0, 200)}`);
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse(response.text) as typeof body;
    } catch {
      throw new CtrError('Unavailable', `${registry}: the token service ${url.origin} did not answer with JSON`);
    }
    const value = body.token ?? body.access_token;
    if (!value) throw new CtrError('Unavailable', `${registry}: the token service ${url.origin} returned no token`);
    // Docker's minimum lifetime; refresh a little early so a token does not expire mid-request.
    const seconds = Math.max(60, body.expires_in ?? 60);
    return { value, expiresAt: Date.now() + (seconds - 10) * 1000 };
  }

  private credentialsFor(registry: string): Promise<RegistryCredentials | undefined> {
    let found = this.credentialCache.get(registry);
    if (found === undefined) {
      found = this.credentials(registry);
      this.credentialCache.set(registry, found);
      found.catch(() => this.credentialCache.delete(registry));
    }
    return found;
  }
}
