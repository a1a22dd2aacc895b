/**
 * `ADD <url>` without a backend `fetch` GETs over node:http: from a real server on 127.0.0.1
 * listening on a port Node's fetch refuses as "bad" (dockerd downloads from any port),
 * following redirects, and giving up when the build is cancelled. (Dating the file by its
 * Last-Modified is the engine's build-add-url-port.test.ts: this backend keeps no times.)
 */
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import * as path from 'node:path';
import { build } from '@ctr/dockerfile';
import { listenOnBadPort } from '../../../test/support/bad-port';
import { DirBackend, makeContext } from './helpers/dir-backend';

let server: http.Server;
let base: string;
let backend: DirBackend;
let contexts: string[] = [];
/** Requests to `/hang` that are left unanswered, to be ended after the test. */
const hanging: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/file') res.end('from a bad port\n');
    else if (req.url === '/moved') res.writeHead(302, { location: '/file' }).end();
    else if (req.url === '/hang') hanging.push(res);
    else res.writeHead(404).end();
  });
  base = `http://127.0.0.1:${await listenOnBadPort(server)}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  backend = await DirBackend.create();
});

afterEach(async () => {
  for (const res of hanging.splice(0)) res.destroy();
  await backend.dispose();
  await Promise.all(contexts.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  contexts = [];
});

/** Build `FROM scratch` + `ADD <url> /f`; the added file's path in the built image. */
async function added(url: string, signal?: AbortSignal): Promise<string> {
  const context = await makeContext({ Dockerfile: `FROM scratch\nADD ${url} /f\n` });
  contexts.push(context);
  const { id } = await build({ backend, context, ...(signal ? { signal } : {}) });
  return path.join(backend.image(id).state.dir, 'f');
}

test('ADD downloads from a port that fetch refuses as a "bad port"', async () => {
  expect(await fs.readFile(await added(`${base}/file`), 'utf8')).toBe('from a bad port\n');
});

test('ADD follows a redirect to what it names', async () => {
  expect(await fs.readFile(await added(`${base}/moved`), 'utf8')).toBe('from a bad port\n');
});

test('a build cancelled while the server has not answered fails Aborted, with nothing committed', async () => {
  const controller = new AbortController();
  const waiting = added(`${base}/hang`, controller.signal);
  await once(server, 'request');
  controller.abort();
  await expect(waiting).rejects.toMatchObject({ code: 'Aborted' });
  expect(backend.committed.size).toBe(0);
});
