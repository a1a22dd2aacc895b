import type { IncomingMessage, ServerResponse } from 'node:http';
import { replyJson } from './http-io';
import type { RepositoryMetadata } from './repository-metadata';

/** Results an index answers with when `n` is absent or not a number in [1, 100] (Docker Hub's page size). */
const DEFAULT_RESULTS = 25;
const MAX_RESULTS = 100;

/**
 * `GET /v1/search?q=&n=`: the index `docker search` asks (Docker Hub's v1 search shape).
 * A repository matches when its name contains `q` (case aside), as Docker Hub roughly
 * matches; the first `n` by name are answered, `num_results` counting them all. ctr's
 * registry keeps no descriptions or stars, and none of its repositories is official. Only what
 * `visible` lets the asker see is matched or counted: a name is not disclosed to one who may not pull it.
 */
export async function handleSearch(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  metadata: RepositoryMetadata,
  visible: (repository: string) => boolean,
): Promise<void> {
  const q = query.get('q') ?? '';
  const n = Number(query.get('n'));
  const count = Number.isSafeInteger(n) && n >= 1 && n <= MAX_RESULTS ? n : DEFAULT_RESULTS;
  const wanted = q.toLowerCase();
  const matches = (await metadata.repositories()).filter((name) => name.includes(wanted) && visible(name));
  replyJson(req, res, 200, {
    num_results: matches.length,
    query: q,
    results: matches.slice(0, count).map((name) => ({ name, description: '', star_count: 0, is_official: false, is_automated: false })),
  });
}
