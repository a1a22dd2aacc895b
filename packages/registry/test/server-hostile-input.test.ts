/**
 * Hostile requests to ctr's server (SECURITY-CASES.md §5): path traversal through names,
 * tags, digests and upload ids (G3), ambiguous manifests (G1), oversized manifests and
 * abandoned uploads (G6), cross-repository mounts from unreadable repositories (G4).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { digestOf, MemoryContentStore, MediaTypes } from '@ctr/image';
import { issueRegistryToken, RegistryServer } from '@ctr/registry';
import { descriptorOf, OciHttp } from './support/oci-http';
import { startRegistry, type RunningRegistry } from './support/servers';

let registry: RunningRegistry;
let http: OciHttp;

beforeEach(async () => {
  registry = await startRegistry();
  http = new OciHttp(registry.url);
});
afterEach(async () => registry.stop());

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
  return out;
}

function errorCode(body: Buffer): string {
  return (JSON.parse(body.toString()) as { errors: { code: string }[] }).errors[0]!.code;
}

describe('G3: names, tags, digests and upload ids are validated before any path is built', () => {
  test.each([
    '/v2/../../etc/manifests/latest',
    '/v2/%2e%2e/%2e%2e/etc/manifests/latest',
    '/v2/a/../b/manifests/latest',
    '/v2/UPPER/manifests/latest',
    '/v2/a//b/manifests/latest',
  ])('%s is refused as NAME_INVALID', async (target) => {
    const res = await http.send('PUT', target, { headers: { 'content-type': MediaTypes.ociManifest }, body: '{}' });
    expect(res.status).toBe(400);
    expect(errorCode(res.body)).toBe('NAME_INVALID');
    expect(await filesUnder(registry.root)).toEqual([]);
  });

  test.each(['..', '.hidden', '-dash', 'a'.repeat(129), '..%2f..%2fescape'])('a manifest PUT with tag %s is TAG_INVALID', async (tag) => {
    const res = await http.send('PUT', `/v2/ok/manifests/${tag}`, { headers: { 'content-type': MediaTypes.ociManifest }, body: '{}' });
    expect(res.status).toBe(400);
    expect(errorCode(res.body)).toBe('TAG_INVALID');
    expect(await filesUnder(registry.root)).toEqual([]);
  });

  test.each(['sha256:..%2f..%2fescape', 'sha256:../x', 'md5:abc', 'sha256:ABC'])('a blob digest %s is never a path: 404 or 400', async (digest) => {
    const res = await http.send('GET', `/v2/ok/blobs/${digest}`);
    expect([400, 404]).toContain(res.status);
  });

  test('an upload closed with a malformed digest is DIGEST_INVALID and stores nothing', async () => {
    const post = await http.send('POST', '/v2/ok/blobs/uploads/', { headers: { 'content-length': '0' } });
    const url = http.location(post);
    url.searchParams.set('digest', 'sha256:../../../escape');
    const res = await http.send('PUT', url, { body: 'data' });
    expect(res.status).toBe(400);
    expect(errorCode(res.body)).toBe('DIGEST_INVALID');
    expect((await filesUnder(registry.root)).filter((f) => !f.startsWith('uploads/'))).toEqual([]);
  });

  test.each(['..%2f..%2fescape', '00000000-0000-0000-0000-000000000000', 'not-a-session'])('upload id %s is BLOB_UPLOAD_UNKNOWN', async (id) => {
    const res = await http.send('PATCH', `/v2/ok/blobs/uploads/${id}`, { body: 'x' });
    expect(res.status).toBe(404);
    expect(errorCode(res.body)).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  test('an upload session of one repository cannot be continued through another', async () => {
    const post = await http.send('POST', '/v2/one/blobs/uploads/', { headers: { 'content-length': '0' } });
    const id = http.location(post).pathname.split('/').pop()!;
    expect((await http.send('PATCH', `/v2/two/blobs/uploads/${id}`, { body: 'x' })).status).toBe(404);
  });
});

describe('G1: ambiguous manifests are refused and not stored', () => {
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');

  test('a document with both "manifests" and "layers" is MANIFEST_INVALID', async () => {
    await http.pushBlob('g1', config);
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: descriptorOf(config, MediaTypes.ociConfig), layers: [], manifests: [] }));
    const res = await http.pushManifest('g1', 'both', body);
    expect(res.status).toBe(400);
    expect(errorCode(res.body)).toBe('MANIFEST_INVALID');
    await expect(registry.store.info(digestOf(body))).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('a mediaType that contradicts the Content-Type is MANIFEST_INVALID', async () => {
    await http.pushBlob('g1', config);
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: descriptorOf(config, MediaTypes.ociConfig), layers: [] }));
    const res = await http.pushManifest('g1', 'mismatch', body, MediaTypes.ociIndex);
    expect(res.status).toBe(400);
    expect(errorCode(res.body)).toBe('MANIFEST_INVALID');
    expect((await http.send('HEAD', '/v2/g1/manifests/mismatch')).status).toBe(404);
  });

  test('a body that is not JSON is MANIFEST_INVALID', async () => {
    const res = await http.pushManifest('g1', 'junk', Buffer.from('not json'));
    expect([res.status, errorCode(res.body)]).toEqual([400, 'MANIFEST_INVALID']);
  });
});

describe('G6: bounded resources', () => {
  test('a manifest over the size limit is refused with SIZE_INVALID', async () => {
    const res = await http.pushManifest('g6', 'huge', Buffer.alloc(9 * 1024 * 1024, 0x20));
    expect(res.status).toBe(400);
    expect(errorCode(res.body)).toBe('SIZE_INVALID');
  });

  test('a manifest of about 4 MB is accepted, as the spec asks', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    await http.pushBlob('g6', config);
    const annotations = Object.fromEntries(Array.from({ length: 390 }, (_, i) => [`k${i}`, 'v'.repeat(10_000)]));
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: descriptorOf(config, MediaTypes.ociConfig), layers: [], annotations }));
    expect((await http.pushManifest('g6', 'large', body)).status).toBe(201);
  });

  test.each([
    ['a monolithic POST', 'post'],
    ['a chunk', 'patch'],
    ['a streamed closing PUT', 'put'],
  ])('%s growing a blob past maxBlobBytes is SIZE_INVALID and nothing is kept', async (_what, how) => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-cap-'));
    const store = new MemoryContentStore();
    const server = new RegistryServer({ store, root, maxBlobBytes: 1000 });
    try {
      const local = new OciHttp(await server.listen());
      const bytes = randomBytes(1500);
      const digest = digestOf(bytes);
      const stream = (): Readable => Readable.from([bytes.subarray(0, 700), bytes.subarray(700)]);
      let res: Awaited<ReturnType<OciHttp['send']>>;
      if (how === 'post') {
        res = await local.send('POST', `/v2/g6/blobs/uploads/?digest=${digest}`, { body: stream() });
      } else {
        const post = await local.send('POST', '/v2/g6/blobs/uploads/', { headers: { 'content-length': '0' } });
        const url = local.location(post);
        if (how === 'put') url.searchParams.set('digest', digest);
        res = await local.send(how === 'put' ? 'PUT' : 'PATCH', url, { body: stream() });
      }
      expect(res.status).toBe(400);
      expect(errorCode(res.body)).toBe('SIZE_INVALID');
      await expect(store.info(digest)).rejects.toMatchObject({ code: 'NotFound' });
    } finally {
      await server.close();
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  test('an abandoned upload session expires and its data is removed', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-expiry-'));
    const server = new RegistryServer({ store: new MemoryContentStore(), root, uploadExpiryMs: 100 });
    try {
      const local = new OciHttp(await server.listen());
      const post = await local.send('POST', '/v2/g6/blobs/uploads/', { headers: { 'content-length': '0' } });
      await local.send('PATCH', local.location(post), { body: randomBytes(1000) });
      // Swept on a timer, by work that takes its own time: looked at until the sweep has been, not after a guess.
      const uploads = (): Promise<string[]> => fs.readdir(path.join(root, 'uploads'));
      for (let i = 0; i < 300 && (await uploads()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect((await local.send('GET', local.location(post))).status).toBe(404);
      expect(await uploads()).toEqual([]);
    } finally {
      await server.close();
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

describe('G4: a cross-repository mount needs read access to the source', () => {
  const secret = 'g4-secret';
  const service = 'g4-registry';

  test('a mount from a repository the token cannot pull opens an ordinary session (202)', async () => {
    const guarded = await startRegistry({ auth: { type: 'token', realm: 'http://127.0.0.1:9/token', service, secret } });
    try {
      const admin = issueRegistryToken({ secret, service, access: [{ type: 'repository', name: 'private/src', actions: ['*'] }] });
      const user = issueRegistryToken({ secret, service, access: [{ type: 'repository', name: 'user/dst', actions: ['pull', 'push'] }] });
      const api = new OciHttp(guarded.url);
      const bytes = randomBytes(256);
      const digest = digestOf(bytes);
      const post = await api.send('POST', `/v2/private/src/blobs/uploads/?digest=${digest}`, { headers: { authorization: `Bearer ${admin}` }, body: bytes });
      expect(post.status).toBe(201);
      const mount = await api.send('POST', `/v2/user/dst/blobs/uploads/?mount=${digest}&from=private/src`, { headers: { authorization: `Bearer ${user}`, 'content-length': '0' } });
      expect(mount.status).toBe(202);
      const head = await api.send('HEAD', `/v2/user/dst/blobs/${digest}`, { headers: { authorization: `Bearer ${user}` } });
      expect(head.status).toBe(404);
    } finally {
      await guarded.stop();
    }
  });
});
