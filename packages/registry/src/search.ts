import { CtrError, invalidArgument, isCtrError } from '@ctr/errors';
import { MAX_DOCUMENT_BYTES } from '@ctr/image';
import { registryHostOf } from './auth-config';
import { DOCKER_HUB_API, endpointsFor, type Endpoint, type EndpointOptions } from './endpoint';
import type { RegistryHttp } from './registry-http';
import { readBounded } from './repository-api';

/** One repository a registry's index found (moby's registry.SearchResult, as the API carries it). */
export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  /** Deprecated by Docker Hub: dockerd answers false whatever the index said. */
  is_automated: boolean;
}

/** What `GET /v1/search` answers (moby's registry.SearchResults). */
export interface SearchResults {
  num_results: number;
  query: string;
  results: SearchResult[];
}

/** Results asked for when no limit is given (moby's defaultSearchLimit). */
export const DEFAULT_SEARCH_LIMIT = 25;
const MAX_SEARCH_LIMIT = 100;

/** Docker Hub's index: search goes there, not to the registry pulls use. */
const DOCKER_HUB_INDEX = 'https://index.docker.io';

/**
 * moby's splitReposSearchTerm: the registry whose index a term is asked of, and what is
 * asked. A first component with a `.` or `:`, or `localhost`, names a registry
 * (`127.0.0.1:5000/busy` asks 127.0.0.1:5000 for `busy`); anything else asks Docker Hub.
 */
export function searchTarget(term: string): { registry: string; query: string } {
  // As moby: a URL is not a search term (its scheme would otherwise pass for a registry's name).
  if (term.includes('://')) throw invalidArgument(`invalid repository name: repository name (${term}) should not have a scheme`);
  const slash = term.indexOf('/');
  const first = slash < 0 ? '' : term.slice(0, slash);
  if (slash < 0 || (!first.includes('.') && !first.includes(':') && first !== 'localhost')) return { registry: 'docker.io', query: term };
  const registry = registryHostOf(first);
  const query = term.slice(slash + 1);
  // Docker Hub files its official images under library/, which its index does not name.
  return { registry, query: registry === 'docker.io' ? query.replace(/^library\//, '') : query };
}

/** A `--limit`: 0 or none is the default; outside [1, 100] is refused in moby's words. */
export function searchLimit(limit: number | undefined): number {
  if (limit === undefined || limit === 0) return DEFAULT_SEARCH_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
    throw invalidArgument(`limit ${limit} is outside the range of [1, ${MAX_SEARCH_LIMIT}]`);
  }
  return limit;
}

/** Where a registry's index is asked: Docker Hub's own index host unless a stand-in is configured. */
export async function indexEndpoint(registry: string, options: EndpointOptions): Promise<Endpoint> {
  const [endpoint] = (await endpointsFor(registry, 'push', options)) as [Endpoint];
  return registry === 'docker.io' && endpoint.origin === DOCKER_HUB_API ? { ...endpoint, origin: DOCKER_HUB_INDEX } : endpoint;
}

/**
 * `GET /v1/search?q=&n=` on the registry's index, as dockerd's search session asks it: the
 * index's results unfiltered. Loopback and insecure registries get the HTTPS-then-HTTP
 * fallback pulls get; a challenge is answered as for pulls (scope `registry:catalog:search`,
 * what dockerd asks a token for). Any answer but 200 is dockerd's `Unexpected status code N`.
 */
export async function searchIndex(http: RegistryHttp, given: Endpoint, query: string, limit: number, signal?: AbortSignal): Promise<SearchResults> {
  const registry = given.registry;
  const context = { registry, subject: `search of ${registry}` };
  const endpoint = await http.reachable(given, context, signal);
  const target = `/v1/search?${new URLSearchParams({ q: query, n: String(limit) }).toString()}`;
  let body: Buffer;
  try {
    const response = await http.send({
      endpoint,
      method: 'GET',
      target,
      // dockerd's ask for credentials on an index (its v1 auth transport sends them only then).
      headers: { 'x-docker-token': 'true' },
      ok: [200],
      scopes: ['registry:catalog:search'],
      context,
      ...(signal ? { signal } : {}),
    });
    body = await readBounded(response.body, MAX_DOCUMENT_BYTES, context.subject);
  } catch (error) {
    throw unexpectedStatus(error, registry, endpoint.origin);
  }
  return parseSearchResults(body);
}

/** A registry's refusal, in dockerd's words; anything else (a transport failure, a cancellation) as it was. */
function unexpectedStatus(error: unknown, registry: string, origin: string): unknown {
  if (!isCtrError(error) || error.details.registry !== registry || typeof error.details.status !== 'number') return error;
  const status = error.details.status;
  const hint =
    status === 404
      ? `${origin} has no search index (GET /v1/search): a registry that speaks only the v2 API (distribution's) cannot be searched`
      : error.hint;
  // Denied, not Unauthorized: a daemon's 401 makes the docker CLI prompt for a Docker Hub login (even with no
  // terminal to answer it), where dockerd answers this refusal with a 500 and the CLI prints it.
  const code = status === 401 ? 'Denied' : error.code;
  return new CtrError(code, `Unexpected status code ${status}`, { cause: error, details: error.details, ...(hint ? { hint } : {}) });
}

/** The index's JSON, each field checked as Go's decoder checks it (absent is the zero value). */
function parseSearchResults(body: Buffer): SearchResults {
  const fail = (why: string): CtrError => new CtrError('Internal', `error decoding registry search results: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw fail((error as Error).message);
  }
  if (!isObject(parsed)) throw fail('expected a JSON object');
  const results = parsed.results ?? [];
  if (!Array.isArray(results)) throw fail('"results" is not an array');
  return {
    num_results: field(parsed, 'num_results', 'number', 0, fail),
    query: field(parsed, 'query', 'string', '', fail),
    results: results.map((entry: unknown, index) => {
      if (!isObject(entry)) throw fail(`result ${index} is not an object`);
      return {
        name: field(entry, 'name', 'string', '', fail),
        description: field(entry, 'description', 'string', '', fail),
        star_count: field(entry, 'star_count', 'number', 0, fail),
        is_official: field(entry, 'is_official', 'boolean', false, fail),
        is_automated: field(entry, 'is_automated', 'boolean', false, fail),
      };
    }),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field<T extends string | number | boolean>(object: Record<string, unknown>, key: string, type: 'string' | 'number' | 'boolean', zero: T, fail: (why: string) => CtrError): T {
  const value = object[key];
  if (value === undefined || value === null) return zero;
  if (typeof value !== type) throw fail(`"${key}" is not a ${type}`);
  return value as T;
}
