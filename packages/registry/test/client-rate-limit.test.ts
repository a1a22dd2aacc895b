import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryContentStore } from '@ctr/image';
import { RegistryClient } from '@ctr/registry';

let server: Server;
let host: string;
beforeEach(async () => {
  server = createServer((_req, res) => {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '42' });
    res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test('a rate-limited pull is TooManyRequests with the registry message and Retry-After', async () => {
  const client = new RegistryClient({ credentials: {} });
  try {
    await expect(client.pull(`${host}/limited/app:v1`, { store: new MemoryContentStore() })).rejects.toMatchObject({
      code: 'TooManyRequests',
      message: `manifest for ${host}/limited/app:v1: toomanyrequests: You have reached your pull rate limit.`,
      details: expect.objectContaining({ retryAfter: '42', registry: host }),
    });
  } finally {
    await client.close();
  }
});
