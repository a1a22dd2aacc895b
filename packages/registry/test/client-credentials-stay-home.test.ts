/**
 * G5 on the client side: credentials go only to the origin that challenged for them. A
 * registry that redirects blob downloads to another host (a CDN) gets the download without
 * our Authorization header following it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { MemoryContentStore } from '@ctr/image';
import { RegistryClient } from '@ctr/registry';
import { makeImage } from './support/images';
import { startRegistry, type RunningRegistry } from './support/servers';

const servers: Server[] = [];
let registry: RunningRegistry;

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await registry.stop();
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Forward a request to the registry and stream its answer back. */
function forward(upstream: string): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => Promise<void> {
  return async (req, res) => {
    const answer = await request(`${upstream}${req.url}`, { method: req.method as 'GET', headers: { accept: req.headers.accept ?? '*/*' } });
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive') headers[k] = v;
    res.writeHead(answer.statusCode, headers);
    await pipeline(answer.body, res);
  };
}

test('blob downloads redirected to another origin do not carry the registry credentials', async () => {
  registry = await startRegistry();
  const local = new MemoryContentStore();
  const image = await makeImage(local);
  const pusher = new RegistryClient({ credentials: {} });
  await pusher.push(`${registry.host}/g5/app:v1`, { store: local, manifest: image.manifest });
  await pusher.close();

  const cdnSaw: IncomingHttpHeaders[] = [];
  const cdn = await listen(createServer((req, res) => {
    cdnSaw.push(req.headers);
    void forward(registry.url)(req, res);
  }));
  const front = await listen(createServer((req, res) => {
    const expected = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
    if (req.url !== '/v2/' && req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="front"', 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    if (req.method === 'GET' && req.url?.includes('/blobs/')) {
      res.writeHead(307, { location: `${cdn}${req.url}` }).end();
      return;
    }
    void forward(registry.url)(req, res);
  }));

  const client = new RegistryClient({ credentials: { username: 'alice', password: 'secret' } });
  try {
    const pulled = await client.pull(`${new URL(front).host}/g5/app:v1`, { store: new MemoryContentStore() });
    expect(pulled.manifest.digest).toBe(image.manifest.digest);
  } finally {
    await client.close();
  }
  expect(cdnSaw).toHaveLength(3);
  expect(cdnSaw.every((headers) => headers.authorization === undefined)).toBe(true);
});
