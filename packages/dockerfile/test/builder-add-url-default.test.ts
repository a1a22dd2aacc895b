/**
 * `ADD <url>` without a backend `fetch` GETs as dockerd's Go client does: from a real server on
 * 127.0.0.1 listening on a port Node's fetch refuses as "bad" (dockerd downloads from any
 * port), following redirects, asking for gzip and storing it decoded, sending the URL's
 * credentials as basic auth, failing on an error status with what the server answered, and
 * giving up when the build is cancelled. (Dating the file by its Last-Modified is the engine's
 * build-add-url-port.test.ts: this backend keeps no times.)
 */
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from '@ctr/dockerfile';
import { listenOnBadPort } from '../../../test/support/bad-port';
import { DirBackend, makeContext } from './helpers/dir-backend';

let server: http.Server;
let base: string;
let backend: DirBackend;
let contexts: string[] = [];
/** Requests to `/hang` that are left unanswered, to be ended after the test. */
const hanging: http.ServerResponse[] = [];
const CREDENTIALS = 'someone:pa ss';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const hop = /^\/hop\/(\d+)$/.exec(req.url ?? '');
    if (req.url === '/file') res.end('from a bad port\n');
    else if (req.url === '/moved') res.writeHead(302, { location: '/file' }).end();
    else if (hop) res.writeHead(hop[1] === '1' ? 307 : 301, { location: hop[1] === '1' ? '/file' : `/hop/${Number(hop[1]) - 1}` }).end();
    else if (req.url === '/gzipped') res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('decoded\n'));
    else if (req.url === '/accept-encoding') res.end(req.headers['accept-encoding']);
    else if (req.url === '/private') {
      if (req.headers.authorization === `Basic ${Buffer.from(CREDENTIALS).toString('base64')}`) res.end('for someone\n');
      else res.writeHead(401).end();
    } else if (req.url === '/refused') res.writeHead(500).end('  the server is down\n');
    else if (req.url === '/forbidden') res.writeHead(403).end();
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

test('ADD follows a chain of redirects to what its last one names', async () => {
  expect(await fs.readFile(await added(`${base}/hop/3`), 'utf8')).toBe('from a bad port\n');
});

test('ADD asks for gzip, as Go\'s http client does', async () => {
  expect(await fs.readFile(await added(`${base}/accept-encoding`), 'utf8')).toBe('gzip');
});

test('ADD stores a gzip-encoded response decoded, as dockerd does', async () => {
  expect(await fs.readFile(await added(`${base}/gzipped`), 'utf8')).toBe('decoded\n');
});

test("ADD sends the URL's user and password as basic auth", async () => {
  const url = `http://${encodeURIComponent('someone')}:${encodeURIComponent('pa ss')}@${base.slice('http://'.length)}/private`;
  expect(await fs.readFile(await added(url), 'utf8')).toBe('for someone\n');
});

test("a failed ADD's error shows the URL without its credentials", async () => {
  const failed = added(`http://someone:secret@${base.slice('http://'.length)}/nothing`);
  await expect(failed).rejects.toMatchObject({ message: expect.stringContaining(`failed to GET ${base}/nothing with status 404`) });
  await expect(failed).rejects.toMatchObject({ message: expect.not.stringContaining('secret') });
});

test("a failed ADD's error is dockerd's: the status, then what the server answered, trimmed", async () => {
  await expect(added(`${base}/refused`)).rejects.toMatchObject({
    code: 'Unavailable',
    message: `failed to GET ${base}/refused with status 500 Internal Server Error: the server is down`,
  });
});

test("a failed ADD's error keeps dockerd's colon when the server answered nothing", async () => {
  await expect(added(`${base}/forbidden`)).rejects.toMatchObject({ message: `failed to GET ${base}/forbidden with status 403 Forbidden: ` });
});

test('a build cancelled while the server has not answered fails Aborted, with nothing committed', async () => {
  const controller = new AbortController();
  const waiting = added(`${base}/hang`, controller.signal);
  await once(server, 'request');
  controller.abort();
  await expect(waiting).rejects.toMatchObject({ code: 'Aborted' });
  expect(backend.committed.size).toBe(0);
});
