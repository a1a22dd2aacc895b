/**
 * A client that stops reading a save (`docker save x | head -c 10`: the CLI dies, its connection
 * closes) ends that save, and only that: ctrd goes on serving.
 */
import http from 'node:http';
import { docker, request, useTestDaemon } from './fixture';

const t = useTestDaemon();

/** `GET /images/get?names=busybox`, its connection closed after the first bytes. */
function saveCutShort(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: t.socket, path: '/v1.47/images/get?names=busybox' }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve() : reject(error)));
  });
}

test('a save whose reader goes away leaves the daemon serving', async () => {
  for (let i = 0; i < 3; i++) await saveCutShort();
  // Long enough for the destroyed archive to have failed its tar entry.
  await new Promise((resolve) => setImmediate(resolve));
  expect((await request(t.socket, 'GET', '/_ping')).status).toBe(200);
  const saved = await docker(t.env, ['save', 'busybox']);
  expect(saved.code).toBe(0);
});
