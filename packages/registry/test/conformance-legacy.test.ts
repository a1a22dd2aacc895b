/**
 * The checks of the legacy (Ginkgo, v1.1.1) conformance workflows that the current suite
 * does not already make (part B of shared/conformance/oci-distribution-spec/CONFORMANCE-CHECKS.md).
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { digestOf, MediaTypes } from '@ctr/image';
import { descriptorOf, OciHttp } from './support/oci-http';
import { startRegistry, type RunningRegistry } from './support/servers';

const NAMESPACE = 'myorg/myrepo';
const CROSSMOUNT = 'myorg/other';
let registry: RunningRegistry;
let http: OciHttp;

beforeAll(async () => {
  registry = await startRegistry();
  http = new OciHttp(registry.url);
});
afterAll(async () => registry.stop());

async function pushSmallImage(tags: string[], extraConfig: Record<string, unknown> = {}): Promise<{ manifest: Buffer; config: Buffer; layer: Buffer }> {
  const config = Buffer.from(JSON.stringify({ author: randomBytes(4).toString('hex'), architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, ...extraConfig }));
  const layer = gzipSync(Buffer.from(`test.txt ${randomBytes(8).toString('hex')}`));
  await http.pushBlob(NAMESPACE, config);
  await http.pushBlob(NAMESPACE, layer);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: descriptorOf(config, MediaTypes.ociConfig),
    layers: [descriptorOf(layer, MediaTypes.ociLayerGzip)],
  }));
  for (const tag of tags) expect((await http.pushManifest(NAMESPACE, tag, manifest)).status).toBe(201);
  return { manifest, config, layer };
}

describe('pull workflow', () => {
  test('HEAD and GET of a manifest named by an invalid tag are 404', async () => {
    expect((await http.send('HEAD', `/v2/${NAMESPACE}/manifests/.INVALID_MANIFEST_NAME`)).status).toBe(404);
    expect((await http.send('GET', `/v2/${NAMESPACE}/manifests/.INVALID_MANIFEST_NAME`)).status).toBe(404);
  });

  test('a malformed digest is answered with OCI-conforming error JSON', async () => {
    const res = await http.send('GET', `/v2/${NAMESPACE}/manifests/sha256:totallywrong`, { body: 'junk' });
    expect([400, 404]).toContain(res.status);
    const errors = (JSON.parse(res.body.toString()) as { errors: { code: string }[] }).errors;
    expect(['MANIFEST_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_INVALID']).toContain(errors[0]!.code);
  });

  test('HEAD by tag carries the digest of the tagged manifest', async () => {
    const { manifest } = await pushSmallImage(['tagtest0']);
    const head = await http.send('HEAD', `/v2/${NAMESPACE}/manifests/tagtest0`, { headers: { accept: MediaTypes.ociManifest } });
    expect(head.status).toBe(200);
    expect(head.headers['docker-content-digest']).toBe(digestOf(manifest));
  });
});

describe('push workflow', () => {
  const blobB = randomBytes(42);
  const chunk1 = blobB.subarray(0, 22);
  const chunk2 = blobB.subarray(22);
  let postLocation: URL;
  let latest: URL;

  test('a POST with ?digest= and the body stores the blob at once (201, then GET 200)', async () => {
    const blob = randomBytes(42);
    const post = await http.send('POST', `/v2/${NAMESPACE}/blobs/uploads/?digest=${digestOf(blob)}`, { headers: { 'content-type': 'application/octet-stream' }, body: blob });
    expect(post.status).toBe(201);
    expect((await http.send('GET', `/v2/${NAMESPACE}/blobs/${digestOf(blob)}`)).status).toBe(200);
  });

  test('an out-of-order first chunk is 416', async () => {
    const post = await http.send('POST', `/v2/${NAMESPACE}/blobs/uploads/`, { headers: { 'content-length': '0' } });
    const res = await http.send('PATCH', http.location(post), { headers: { 'content-type': 'application/octet-stream', 'content-range': '22-41' }, body: chunk2 });
    expect(res.status).toBe(416);
  });

  test('the first chunk is 202 with Range 0-21', async () => {
    const post = await http.send('POST', `/v2/${NAMESPACE}/blobs/uploads/`, { headers: { 'content-length': '0' } });
    postLocation = http.location(post);
    const res = await http.send('PATCH', postLocation, { headers: { 'content-type': 'application/octet-stream', 'content-range': '0-21' }, body: chunk1 });
    expect(res.status).toBe(202);
    expect(res.headers.range).toBe('0-21');
    latest = http.location(res);
  });

  test('retrying the first chunk at the stale Location is 416', async () => {
    const res = await http.send('PATCH', postLocation, { headers: { 'content-type': 'application/octet-stream', 'content-range': '0-21' }, body: chunk1 });
    expect(res.status).toBe(416);
  });

  test('GET of the stale Location is 204 with a Location and Range 0-21', async () => {
    const res = await http.send('GET', postLocation);
    expect(res.status).toBe(204);
    expect(res.headers.location).toBeTruthy();
    expect(res.headers.range).toBe('0-21');
  });

  test('the second chunk is 202 with Range 0-41, and the closing PUT is 201', async () => {
    const res = await http.send('PATCH', latest, { headers: { 'content-type': 'application/octet-stream', 'content-range': '22-41' }, body: chunk2 });
    expect(res.status).toBe(202);
    expect(res.headers.range).toBe('0-41');
    const put = new URL(http.location(res));
    put.searchParams.set('digest', digestOf(blobB));
    const done = await http.send('PUT', put, { headers: { 'content-length': '0' } });
    expect(done.status).toBe(201);
    expect(done.headers.location).toBeTruthy();
  });

  test('a mount without from of an unknown blob opens a session in the target repository', async () => {
    const res = await http.send('POST', `/v2/${CROSSMOUNT}/blobs/uploads/?mount=${digestOf('hello world')}`, { headers: { 'content-length': '0' } });
    expect(res.status).toBe(202);
    expect(http.location(res).pathname.startsWith(`/v2/${CROSSMOUNT}/blobs/uploads/`)).toBe(true);
  });

  test('a manifest with no layers and no mediaType field is accepted by its Content-Type', async () => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    await http.pushBlob(NAMESPACE, config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      config: { ...descriptorOf(config, MediaTypes.ociConfig), data: config.toString('base64'), newUnspecifiedField: null },
      layers: [],
    }));
    const res = await http.pushManifest(NAMESPACE, 'emptylayer', manifest, MediaTypes.ociManifest);
    expect(res.status).toBe(201);
    const got = await http.send('GET', `/v2/${NAMESPACE}/manifests/emptylayer`);
    expect(got.headers['content-type']).toBe(MediaTypes.ociManifest);
  });
});

describe('content discovery workflow', () => {
  const tags = ['test0', 'test1', 'test2', 'test3', 'TEST0', 'TEST1'];
  const repo = 'discovery/repo';

  beforeAll(async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    await http.pushBlob(repo, config);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: descriptorOf(config, MediaTypes.ociConfig), layers: [] }));
    for (const tag of tags) await http.pushManifest(repo, tag, manifest);
  });

  test('the tag list is in byte order', async () => {
    const listed = JSON.parse((await http.send('GET', `/v2/${repo}/tags/list`)).body.toString()) as { tags: string[] };
    expect(listed.tags).toEqual(['TEST0', 'TEST1', 'test0', 'test1', 'test2', 'test3']);
  });

  test('?n= limits the page and a Link header points at the next one', async () => {
    const res = await http.send('GET', `/v2/${repo}/tags/list?n=3`);
    expect((JSON.parse(res.body.toString()) as { tags: string[] }).tags).toEqual(['TEST0', 'TEST1', 'test0']);
    expect(res.headers.link).toBe(`</v2/${repo}/tags/list?n=3&last=test0>; rel="next"`);
  });

  test('?n=&last= starts after `last` and does not include it', async () => {
    const res = await http.send('GET', `/v2/${repo}/tags/list?n=3&last=test0`);
    expect((JSON.parse(res.body.toString()) as { tags: string[] }).tags).toEqual(['test1', 'test2', 'test3']);
    expect(res.headers.link).toBeUndefined();
  });
});

describe('content management workflow', () => {
  let pushed: { manifest: Buffer; config: Buffer; layer: Buffer };
  const repo = NAMESPACE;

  beforeAll(async () => {
    pushed = await pushSmallImage(['mgmt-tag']);
  });

  test('DELETE of a tag is 202 and the tag list shrinks by one', async () => {
    const before = (JSON.parse((await http.send('GET', `/v2/${repo}/tags/list`)).body.toString()) as { tags: string[] }).tags;
    expect((await http.send('DELETE', `/v2/${repo}/manifests/mgmt-tag`)).status).toBe(202);
    const after = (JSON.parse((await http.send('GET', `/v2/${repo}/tags/list`)).body.toString()) as { tags: string[] }).tags;
    expect(after).toHaveLength(before.length - 1);
    expect(after).not.toContain('mgmt-tag');
  });

  test('DELETE of a manifest by digest is 202, then GET is 404', async () => {
    const digest = digestOf(pushed.manifest);
    expect((await http.send('DELETE', `/v2/${repo}/manifests/${digest}`)).status).toBe(202);
    expect((await http.send('GET', `/v2/${repo}/manifests/${digest}`)).status).toBe(404);
  });

  test('DELETE of blobs is 202, then GET is 404', async () => {
    for (const blob of [pushed.config, pushed.layer]) {
      expect((await http.send('DELETE', `/v2/${repo}/blobs/${digestOf(blob)}`)).status).toBe(202);
      expect((await http.send('GET', `/v2/${repo}/blobs/${digestOf(blob)}`)).status).toBe(404);
    }
  });
});
