import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryContentStore } from '@ctr/image';
import { RegistryClient, type RegistryCredentials, type SearchResult } from '@ctr/registry';
import { makeImage } from './images';

/** A search index on 127.0.0.1 answering `/v1/search` with set results (what Docker Hub's holds: descriptions, stars, official images). */
export interface StubIndex {
  /** `127.0.0.1:<port>` */
  host: string;
  /** Every `/v1/search` request: its query and headers. */
  requests: { query: URLSearchParams; headers: IncomingHttpHeaders }[];
  stop(): Promise<void>;
}

/** Answers the first `n` of `results` whatever `q` asks (as an index ranks, not filters), and 404 to anything else. */
export async function startStubIndex(results: SearchResult[]): Promise<StubIndex> {
  const requests: StubIndex['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://index');
    if (url.pathname !== '/v1/search') {
      res.writeHead(404).end();
      return;
    }
    requests.push({ query: url.searchParams, headers: req.headers });
    const n = Number(url.searchParams.get('n') ?? 25);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ num_results: results.length, query: url.searchParams.get('q'), results: results.slice(0, n) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One small image pushed under each repository name to the registry at `host`. */
export async function pushRepositories(host: string, names: readonly string[], credentials: RegistryCredentials = {}): Promise<void> {
  const client = new RegistryClient({ credentials });
  try {
    const store = new MemoryContentStore();
    const image = await makeImage(store, [100]);
    for (const name of names) await client.push(`${host}/${name}:latest`, { store, manifest: image.manifest });
  } finally {
    await client.close();
  }
}

/** Results an index could hold, most stars first as Docker Hub ranks them. */
export const HUB_LIKE_RESULTS: SearchResult[] = [
  { name: 'busybox', description: 'Busybox base image.', star_count: 3300, is_official: true, is_automated: false },
  { name: 'radial/busyboxplus', description: 'Full-chain, Internet enabled, busybox made from scratch. Comes in git and cURL flavors.', star_count: 56, is_official: false, is_automated: true },
  { name: 'yauritux/busybox-curl', description: 'Busybox with CURL\nand nothing else', star_count: 24, is_official: false, is_automated: false },
  { name: 'odise/busybox-python', description: '', star_count: 2, is_official: false, is_automated: true },
];
