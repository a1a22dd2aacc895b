import { invalidArgument } from '@ctr/errors';
import type { AuthConfig, RegistryClient, SearchResult } from '@ctr/registry';
import { boolFilter, checkFilterKeys, type Filters } from './filters';
import { credentialsOption } from './images';

export interface SearchOptions {
  /** Results asked of the index: 1 to 100; 0 or none is 25. */
  limit?: number;
  /** `is-official`, `is-automated` and `stars`, as dockerd takes them. */
  filters?: Filters;
  signal?: AbortSignal;
  /** Credentials for the index's registry, for this search only (`X-Registry-Auth`); never stored. */
  auth?: AuthConfig;
}

const SEARCH_FILTERS = ['is-automated', 'is-official', 'stars'] as const;

/**
 * dockerd's registry Service.Search: the filters checked before the index is asked, then
 * applied to what it answers (an index filters nothing). `is-automated=true` finds nothing
 * without asking (Docker Hub dropped automated builds), and every result says false for it.
 */
export async function searchImages(registry: RegistryClient, term: string, options: SearchOptions): Promise<SearchResult[]> {
  const filters = options.filters ?? {};
  checkFilterKeys(filters, SEARCH_FILTERS);
  if (boolFilter(filters, 'is-automated') === true) return [];
  const official = boolFilter(filters, 'is-official');
  const stars = filters.stars === undefined ? undefined : Math.max(0, ...filters.stars.map(starCount));
  const { results } = await registry.search(term, {
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...credentialsOption(options.auth),
  });
  return results
    .filter((result) => (official === undefined || result.is_official === official) && (stars === undefined || result.star_count >= stars))
    .map((result) => ({ ...result, is_automated: false }));
}

/** A `stars=N` value as Go's strconv.Atoi reads it, refused in dockerd's words. */
function starCount(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw invalidArgument(`invalid filter 'stars=${value}': strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
  return Number(value);
}
