/**
 * The OCI distribution-spec conformance suite's blob checks (current suite, part A.5 §1–3
 * of shared/conformance/oci-distribution-spec/CONFORMANCE-CHECKS.md), against ctr's server.
 */
import { randomBytes } from 'node:crypto';
import { digestOf, type Digest } from '@ctr/image';
import { chunked, OciHttp } from './support/oci-http';
import { startRegistry, type RunningRegistry } from './support/servers';

const REPO1 = 'conformance/repo1';
const REPO2 = 'conformance/repo2';
let registry: RunningRegistry;
let http: OciHttp;

beforeAll(async () => {
  registry = await startRegistry();
  http = new OciHttp(registry.url);
});
afterAll(async () => registry.stop());

/** What the suite checks after every successful blob push: HEAD, GET, DELETE, then HEAD → 404. */
async function expectBlobServedThenDeleted(repo: string, bytes: Buffer): Promise<void> {
  const digest = digestOf(bytes);
  const head = await http.send('HEAD', `/v2/${repo}/blobs/${digest}`);
  expect(head.status).toBe(200);
  expect(head.body.length).toBe(0);
  expect(head.headers['content-length']).toBe(String(bytes.length));
  expect(head.headers['docker-content-digest']).toBe(digest);
  const get = await http.send('GET', `/v2/${repo}/blobs/${digest}`);
  expect(get.status).toBe(200);
  expect(get.body).toEqual(bytes);
  expect(get.headers['content-length']).toBe(String(bytes.length));
  expect((await http.send('DELETE', `/v2/${repo}/blobs/${digest}`)).status).toBe(202);
  expect((await http.send('HEAD', `/v2/${repo}/blobs/${digest}`)).status).toBe(404);
}

async function openSession(repo = REPO1): Promise<URL> {
  const post = await http.send('POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'content-length': '0' } });
  expect(post.status).toBe(202);
  return http.location(post);
}

function withDigest(url: URL, digest: string): URL {
  const out = new URL(url);
  out.searchParams.set('digest', digest);
  return out;
}

function octet(extra: Record<string, string> = {}): Record<string, string> {
  return { 'content-type': 'application/octet-stream', ...extra };
}

test('ping: GET /v2/ answers 200 with the API version header', async () => {
  const ping = await http.send('GET', '/v2/');
  expect(ping.status).toBe(200);
  expect(ping.headers['docker-distribution-api-version']).toBe('registry/2.0');
});

test('empty: the tag list of an unknown repository is 404 NAME_UNKNOWN', async () => {
  const list = await http.send('GET', `/v2/${REPO1}/tags/list`);
  expect(list.status).toBe(404);
  expect(JSON.parse(list.body.toString()).errors[0].code).toBe('NAME_UNKNOWN');
});

test('empty: referrers of an unknown digest are an empty OCI index', async () => {
  const res = await http.send('GET', `/v2/${REPO1}/referrers/${digestOf(randomBytes(8))}`);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/vnd.oci.image.index.v1+json');
  expect(JSON.parse(res.body.toString())).toEqual({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
});

test('get-missing: GET of a blob never pushed is 404', async () => {
  expect((await http.send('GET', `/v2/${REPO1}/blobs/${digestOf(randomBytes(8))}`)).status).toBe(404);
});

test('post only: POST ?digest= with the body stores the blob (201 + Location)', async () => {
  const bytes = randomBytes(512);
  const post = await http.send('POST', `/v2/${REPO1}/blobs/uploads/?digest=${digestOf(bytes)}`, { headers: octet(), body: bytes });
  expect(post.status).toBe(201);
  expect((await http.send('GET', http.location(post))).body).toEqual(bytes);
  await expectBlobServedThenDeleted(REPO1, bytes);
});

test('post+put: POST then PUT ?digest= with the whole body (201 + Location)', async () => {
  const bytes = randomBytes(512);
  const put = await http.send('PUT', withDigest(await openSession(), digestOf(bytes)), { headers: octet(), body: bytes });
  expect(put.status).toBe(201);
  expect((await http.send('GET', http.location(put))).body).toEqual(bytes);
  await expectBlobServedThenDeleted(REPO1, bytes);
});

async function chunkedUpload(bytes: Buffer, chunk: number, lastAsPut: boolean, outOfOrder: boolean): Promise<void> {
  let location = await openSession();
  const digest = digestOf(bytes);
  for (let start = 0; start < bytes.length; start += chunk) {
    const end = Math.min(bytes.length, start + chunk) - 1;
    const last = end === bytes.length - 1;
    const method = last && lastAsPut ? 'PUT' : 'PATCH';
    const target = method === 'PUT' ? withDigest(location, digest) : location;
    if (outOfOrder) {
      const skip = start + chunk < bytes.length ? start + chunk : 0;
      const wrong = bytes.subarray(skip, Math.min(bytes.length, skip + chunk));
      const refused = await http.send(method, target, { headers: octet({ 'content-range': `${skip}-${skip + wrong.length - 1}` }), body: wrong });
      expect(refused.status).toBe(416);
      const status = await http.send('GET', location);
      expect(status.status).toBe(204);
      expect(status.headers.location).toBeTruthy();
      expect(status.headers.range).toBe(`0-${Math.max(0, start - 1)}`);
    }
    const sent = await http.send(method, target, { headers: octet({ 'content-range': `${start}-${end}` }), body: bytes.subarray(start, end + 1) });
    expect(sent.status).toBe(method === 'PUT' ? 201 : 202);
    if (method === 'PATCH') {
      expect(sent.headers.range).toBe(`0-${end}`);
      location = http.location(sent);
    }
  }
  if (!lastAsPut) {
    const put = await http.send('PUT', withDigest(location, digest), { headers: { 'content-length': '0' } });
    expect(put.status).toBe(201);
    expect(put.headers.location).toBeTruthy();
  }
  await expectBlobServedThenDeleted(REPO1, bytes);
}

test('chunked single: one PATCH with Content-Range, then PUT ?digest=', async () => {
  await chunkedUpload(randomBytes(512), 1024, false, false);
});

test('chunked multi: three PATCHes following the newest Location, then PUT', async () => {
  await chunkedUpload(randomBytes(3 * 1024 - 5), 1024, false, false);
});

test('chunked multi and put chunk: the last chunk goes in the closing PUT', async () => {
  await chunkedUpload(randomBytes(3 * 1024 - 5), 1024, true, false);
});

test('chunked out-of-order: a chunk that skips ahead is 416 and the session reports its Range', async () => {
  await chunkedUpload(randomBytes(3 * 1024 - 5), 1024, false, true);
});

test('chunked out-of-order and put chunk: an out-of-order closing PUT is 416 too', async () => {
  await chunkedUpload(randomBytes(3 * 1024 - 5), 1024, true, true);
});

test('an empty session reports Range 0-0', async () => {
  const status = await http.send('GET', await openSession());
  expect(status.status).toBe(204);
  expect(status.headers.range).toBe('0-0');
});

test('stream: a chunked-transfer PATCH without Content-Range, then PUT (201 with Location)', async () => {
  const bytes = randomBytes(4096);
  const patch = await http.send('PATCH', await openSession(), { headers: octet(), body: chunked(bytes) });
  expect(patch.status).toBe(202);
  const put = await http.send('PUT', withDigest(http.location(patch), digestOf(bytes)), { headers: { 'content-length': '0' } });
  expect(put.status).toBe(201);
  expect(put.headers.location).toBeTruthy();
  await expectBlobServedThenDeleted(REPO1, bytes);
});

test('mount: a blob of repo2 is mounted into repo1 (201 + Location)', async () => {
  const bytes = randomBytes(512);
  const digest = await http.pushBlob(REPO2, bytes);
  const mount = await http.send('POST', `/v2/${REPO1}/blobs/uploads/?mount=${digest}&from=${REPO2}`, { headers: { 'content-length': '0' } });
  expect(mount.status).toBe(201);
  expect(mount.headers['docker-content-digest']).toBe(digest);
  expect(http.location(mount).pathname).toBe(`/v2/${REPO1}/blobs/${digest}`);
  expect((await http.send('GET', http.location(mount))).body).toEqual(bytes);
  await expectBlobServedThenDeleted(REPO1, bytes);
});

test('mount anonymous: without from, a blob the registry holds is mounted', async () => {
  const bytes = randomBytes(512);
  const digest = await http.pushBlob(REPO2, bytes);
  const mount = await http.send('POST', `/v2/${REPO1}/blobs/uploads/?mount=${digest}`, { headers: { 'content-length': '0' } });
  expect(mount.status).toBe(201);
  await expectBlobServedThenDeleted(REPO1, bytes);
});

test('mount missing: mounting a blob repo2 does not hold opens an ordinary session (202)', async () => {
  const bytes = randomBytes(512);
  const digest = digestOf(bytes);
  const mount = await http.send('POST', `/v2/${REPO1}/blobs/uploads/?mount=${digest}&from=${REPO2}`, { headers: { 'content-length': '0' } });
  expect(mount.status).toBe(202);
  const put = await http.send('PUT', withDigest(http.location(mount), digest), { headers: octet(), body: bytes });
  expect(put.status).toBe(201);
  await expectBlobServedThenDeleted(REPO1, bytes);
});

test('post cancel: DELETE of a session is 204 and the session is gone', async () => {
  const location = await openSession();
  expect((await http.send('DELETE', location, { headers: { 'content-length': '0' } })).status).toBe(204);
  expect((await http.send('GET', location)).status).toBe(404);
});

describe('range requests on a 2048-byte blob', () => {
  const bytes = randomBytes(2048);
  let digest: Digest;
  beforeAll(async () => {
    digest = (await http.pushBlob(REPO1, bytes)) as Digest;
  });
  test.each([
    ['bytes=500-1499', 500, 1499],
    ['bytes=500-', 500, 2047],
    ['bytes=-500', 1548, 2047],
    ['bytes=2000-5000', 2000, 2047],
  ])('%s is answered 206 with the right slice and Content-Range', async (range, start, end) => {
    const res = await http.send('GET', `/v2/${REPO1}/blobs/${digest}`, { headers: { range } });
    expect(res.status).toBe(206);
    expect(res.body).toEqual(bytes.subarray(start, end + 1));
    expect(res.headers['content-length']).toBe(String(end - start + 1));
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/2048`);
  });
  test.each(['bytes=500-0', 'bytes=5000-10000'])('%s is unsatisfiable (416)', async (range) => {
    expect((await http.send('GET', `/v2/${REPO1}/blobs/${digest}`, { headers: { range } })).status).toBe(416);
  });
});

test.each([
  ['empty', Buffer.alloc(0)],
  ['emptyJSON', Buffer.from('{}')],
])('%s blob: pushed, served with the exact length, deleted', async (_name, bytes) => {
  const post = await http.send('POST', `/v2/${REPO1}/blobs/uploads/?digest=${digestOf(bytes)}`, { headers: octet(), body: bytes });
  expect(post.status).toBe(201);
  await expectBlobServedThenDeleted(REPO1, bytes);
});

describe('bad digest: the body does not match ?digest= — 400 DIGEST_INVALID and nothing stored', () => {
  const bytes = randomBytes(512);
  const digest = digestOf(bytes);
  const bad = Buffer.concat([bytes, Buffer.from('oh no')]);

  async function expectNothingStored(): Promise<void> {
    expect((await http.send('HEAD', `/v2/${REPO1}/blobs/${digest}`)).status).toBe(404);
    expect((await http.send('HEAD', `/v2/${REPO1}/blobs/${digestOf(bad)}`)).status).toBe(404);
    await expect(registry.store.info(digestOf(bad))).rejects.toMatchObject({ code: 'NotFound' });
  }
  function expectDigestInvalid(res: { status: number; body: Buffer }): void {
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString()).errors[0].code).toBe('DIGEST_INVALID');
  }

  test('post only', async () => {
    expectDigestInvalid(await http.send('POST', `/v2/${REPO1}/blobs/uploads/?digest=${digest}`, { headers: octet(), body: bad }));
    await expectNothingStored();
  });
  test('post+put', async () => {
    expectDigestInvalid(await http.send('PUT', withDigest(await openSession(), digest), { headers: octet(), body: bad }));
    await expectNothingStored();
  });
  test('chunked, and the failed session is removed', async () => {
    const location = await openSession();
    const patch = await http.send('PATCH', location, { headers: octet({ 'content-range': `0-${bad.length - 1}` }), body: bad });
    expect(patch.status).toBe(202);
    expectDigestInvalid(await http.send('PUT', withDigest(http.location(patch), digest), { headers: { 'content-length': '0' } }));
    expect((await http.send('GET', location)).status).toBe(404);
    await expectNothingStored();
  });
  test('chunked and put chunk', async () => {
    const location = await openSession();
    const put = await http.send('PUT', withDigest(location, digest), { headers: octet({ 'content-range': `0-${bad.length - 1}` }), body: bad });
    expectDigestInvalid(put);
    await expectNothingStored();
  });
  test('stream', async () => {
    const patch = await http.send('PATCH', await openSession(), { headers: octet(), body: chunked(bad) });
    expect(patch.status).toBe(202);
    expectDigestInvalid(await http.send('PUT', withDigest(http.location(patch), digest), { headers: { 'content-length': '0' } }));
    await expectNothingStored();
  });
});
