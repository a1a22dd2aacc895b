/**
 * The `ctr-registry` command killed with SIGKILL in the middle of an upload: after a
 * restart on the same root, no partial blob is visible, and the upload can be done again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { digestOf, type Digest } from '@ctr/image';
import { openStore } from '@ctr/store';
import { OciHttp } from './support/oci-http';
import { freePort, run, stopChild, waitForHttp } from './support/processes';

const repoRoot = path.resolve(__dirname, '../../..');
const bin = path.join(repoRoot, 'packages/registry/bin/ctr-registry.js');
let root: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  // The command runs the built package.
  await run('npx', ['tsc', '-b', 'packages/registry'], { cwd: repoRoot });
}, 120_000);
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-killed-'));
});
afterEach(async () => {
  if (child !== undefined) await stopChild(child, 'SIGKILL');
  child = undefined;
  await fs.rm(root, { recursive: true, force: true });
});

async function startServer(): Promise<OciHttp> {
  const port = await freePort();
  child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--root', root], { stdio: 'ignore' });
  await waitForHttp(`http://127.0.0.1:${port}/v2/`, child);
  return new OciHttp(`http://127.0.0.1:${port}`);
}

/** A body that sends `first` and then never ends (the server is killed while waiting for the rest). */
function stalledBody(first: Buffer): Readable {
  const body = new Readable({ read: () => undefined });
  body.push(first);
  return body;
}

async function expectNoBlob(http: OciHttp, digest: Digest): Promise<void> {
  expect((await http.send('HEAD', `/v2/killed/app/blobs/${digest}`)).status).toBe(404);
  const store = await openStore({ root });
  await expect(store.content.info(digest)).rejects.toMatchObject({ code: 'NotFound' });
  const visible: string[] = [];
  for await (const blob of store.content.walk()) visible.push(blob.digest);
  expect(visible).toEqual([]);
}

test('killed during a monolithic PUT: after restart the blob is not there, and a new upload succeeds', async () => {
  const bytes = randomBytes(4 * 1024 * 1024);
  const digest = digestOf(bytes);
  let http = await startServer();
  const session = await http.send('POST', '/v2/killed/app/blobs/uploads/', { headers: { 'content-length': '0' } });
  const url = http.location(session);
  url.searchParams.set('digest', digest);
  const upload = http.send('PUT', url, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) }, body: stalledBody(bytes.subarray(0, 1024 * 1024)) });
  upload.catch(() => undefined);
  await new Promise((r) => setTimeout(r, 300));
  await stopChild(child!, 'SIGKILL');
  await expect(upload).rejects.toThrow();

  http = await startServer();
  await expectNoBlob(http, digest);
  await http.pushBlob('killed/app', bytes);
  expect((await http.send('HEAD', `/v2/killed/app/blobs/${digest}`)).status).toBe(200);
});

test('killed during a chunk: after restart the blob is not there and the session reports the bytes it kept', async () => {
  const bytes = randomBytes(2 * 1024 * 1024);
  const digest = digestOf(bytes);
  const half = bytes.length / 2;
  let http = await startServer();
  const session = await http.send('POST', '/v2/killed/app/blobs/uploads/', { headers: { 'content-length': '0' } });
  const first = await http.send('PATCH', http.location(session), { headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${half - 1}` }, body: bytes.subarray(0, half) });
  expect(first.status).toBe(202);
  const location = http.location(first);
  const second = http.send('PATCH', location, { headers: { 'content-type': 'application/octet-stream', 'content-range': `${half}-${bytes.length - 1}`, 'content-length': String(half) }, body: stalledBody(bytes.subarray(half, half + 1000)) });
  second.catch(() => undefined);
  await new Promise((r) => setTimeout(r, 300));
  await stopChild(child!, 'SIGKILL');
  await expect(second).rejects.toThrow();

  http = await startServer();
  await expectNoBlob(http, digest);
  const status = await http.send('GET', new URL(location.pathname, http.base));
  expect(status.status).toBe(204);
  const end = Number(status.headers.range!.split('-')[1]);
  expect(end === half - 1 || end === half + 999).toBe(true);
});
