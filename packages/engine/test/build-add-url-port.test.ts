/**
 * A Dockerfile's `ADD http://…` through the engine's backend (the registry client's GET, which
 * trusts the extra CAs) reaches any port, as dockerd does: a real HTTP server on 127.0.0.1 on a
 * port Node's fetch refuses as "bad" (6666, 6000, …), and a guard that refuses any other address.
 */
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { listenOnBadPort } from '../../../test/support/bad-port';
import { loopbackOnly, type LoopbackGuard } from '../../registry/test/support/loopback-only';
import { collector, testEngine, type TestEngine } from './fixture';

const CONTENT = 'served on a bad port\n';
const MODIFIED = new Date('2021-03-04T05:06:07Z');

let t: TestEngine;
let work: string;
let guard: LoopbackGuard;
let server: http.Server;
let base: string;

beforeAll(async () => {
  guard = loopbackOnly();
  t = await testEngine();
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-build-add-port-'));
  server = http.createServer((req, res) => {
    if (req.url === '/f') res.writeHead(200, { 'last-modified': MODIFIED.toUTCString() }).end(CONTENT);
    else if (req.url === '/moved') res.writeHead(301, { location: '/f' }).end();
    else res.writeHead(404).end();
  });
  base = `http://127.0.0.1:${await listenOnBadPort(server)}`;
});

afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve));
  await t?.cleanup();
  if (work) await fs.rm(work, { recursive: true, force: true });
  guard?.restore();
  expect(guard.refused).toEqual([]);
});

/** Build `FROM busybox` + `ADD <url> /f` as `tag`, then run `cmd` in it; its output. */
async function builtAndRun(url: string, tag: string, cmd: string): Promise<string> {
  const context = await fs.mkdtemp(path.join(work, 'context-'));
  await fs.writeFile(path.join(context, 'Dockerfile'), `FROM busybox\nADD ${url} /f\n`);
  await t.engine.build({ context, tags: [tag] });
  const stdout = collector();
  const run = await t.engine.run({ image: tag, cmd: ['sh', '-c', cmd], network: 'none', autoRemove: true, stdout });
  expect(run.exitCode).toBe(0);
  return stdout.text();
}

test('ADD downloads from a port that fetch refuses as a "bad port"', async () => {
  expect(await builtAndRun(`${base}/f`, 'add-port:plain', 'cat /f')).toBe(CONTENT);
});

test('ADD follows a redirect to what it names', async () => {
  expect(await builtAndRun(`${base}/moved`, 'add-port:moved', 'cat /f')).toBe(CONTENT);
});

test("the added file's modification time is the response's Last-Modified", async () => {
  expect(await builtAndRun(`${base}/f`, 'add-port:dated', 'stat -c %Y /f')).toBe(`${MODIFIED.getTime() / 1000}\n`);
});
