/**
 * The conformance suite's data sets (current suite, part A.5 §4–6 of
 * shared/conformance/oci-distribution-spec/CONFORMANCE-CHECKS.md), against ctr's server:
 * push, tag-list, head, pull, referrers, delete — per data set.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { digestOf, MediaTypes } from '@ctr/image';
import { descriptorOf, OciHttp } from './support/oci-http';
import { startRegistry, type RunningRegistry } from './support/servers';

const REPO = 'conformance/data';
const ARTIFACT_V1 = 'application/vnd.example.oci.conformance.v1';
const ARTIFACT_V2 = 'application/vnd.example.oci.conformance.v2';
let registry: RunningRegistry;
let http: OciHttp;

beforeAll(async () => {
  registry = await startRegistry();
  http = new OciHttp(registry.url);
});
afterAll(async () => registry.stop());

interface Doc {
  bytes: Buffer;
  mediaType: string;
  tags: string[];
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface DataSet {
  blobs: Buffer[];
  /** Children first, as the suite pushes them. */
  docs: Doc[];
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const emptyJson = Buffer.from('{}');
const emptyDescriptor = descriptorOf(emptyJson, MediaTypes.ociEmpty);

function layerTar(n: number): Buffer {
  // Not a real tar: registries must not look inside layers.
  return Buffer.concat([Buffer.from(`conformance-${n}.txt\n`), randomBytes(300)]);
}

function image(options: { gzip?: boolean; extra?: Record<string, unknown>; layers?: number; tags?: string[]; subject?: Doc; data?: boolean } = {}): DataSet & { doc: Doc } {
  const raw = Array.from({ length: options.layers ?? 2 }, (_, i) => layerTar(i));
  const layers = raw.map((tar) => (options.gzip === false ? tar : gzipSync(tar)));
  const config = json({ author: randomBytes(4).toString('hex'), architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: raw.map((r) => digestOf(r)) }, ...options.extra });
  const withData = (bytes: Buffer, d: ReturnType<typeof descriptorOf>): object => (options.data ? { ...d, data: bytes.toString('base64') } : d);
  const layerType = options.gzip === false ? MediaTypes.ociLayer : MediaTypes.ociLayerGzip;
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: withData(config, descriptorOf(config, MediaTypes.ociConfig)),
    layers: layers.map((l) => withData(l, descriptorOf(l, layerType))),
    ...options.extra,
  };
  if (options.subject) manifest.subject = descriptorOf(options.subject.bytes, options.subject.mediaType);
  const doc: Doc = { bytes: json(manifest), mediaType: MediaTypes.ociManifest, tags: options.tags ?? [] };
  if (options.subject) {
    doc.subject = digestOf(options.subject.bytes);
    doc.artifactType = MediaTypes.ociConfig;
  }
  return { blobs: [config, ...layers], docs: [doc], doc };
}

function index(children: Doc[], options: { tags?: string[]; mediaType?: string; artifactType?: string; subject?: Doc; extra?: Record<string, unknown> } = {}): Doc {
  const platforms = [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }];
  const body: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: children.map((c, i) => ({ ...descriptorOf(c.bytes, c.mediaType), ...(c.mediaType === MediaTypes.ociManifest && !options.artifactType ? { platform: platforms[i % 2] } : {}) })),
    ...options.extra,
  };
  if (options.artifactType) body.artifactType = options.artifactType;
  if (options.subject) body.subject = descriptorOf(options.subject.bytes, options.subject.mediaType);
  const doc: Doc = { bytes: json(body), mediaType: MediaTypes.ociIndex, tags: options.tags ?? [] };
  if (options.artifactType) doc.artifactType = options.artifactType;
  if (options.subject) doc.subject = digestOf(options.subject.bytes);
  return doc;
}

function artifact(type: string, options: { tags?: string[]; layer?: Buffer; layerType?: string; subject?: Doc; subjectDescriptor?: object; annotations?: Record<string, string> } = {}): DataSet & { doc: Doc } {
  const layer = options.layer ?? randomBytes(2048);
  const body: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: type,
    config: emptyDescriptor,
    layers: [descriptorOf(layer, options.layerType ?? type)],
  };
  const subjectDescriptor = options.subjectDescriptor ?? (options.subject ? descriptorOf(options.subject.bytes, options.subject.mediaType) : undefined);
  if (subjectDescriptor) body.subject = subjectDescriptor;
  if (options.annotations) body.annotations = options.annotations;
  const doc: Doc = { bytes: json(body), mediaType: MediaTypes.ociManifest, tags: options.tags ?? [], artifactType: type };
  if (subjectDescriptor) doc.subject = (subjectDescriptor as { digest: string }).digest;
  if (options.annotations) doc.annotations = options.annotations;
  return { blobs: [emptyJson, layer], docs: [doc], doc };
}

function merge(...sets: DataSet[]): DataSet {
  return { blobs: sets.flatMap((s) => s.blobs), docs: sets.flatMap((s) => s.docs) };
}

function dataSets(): Record<string, DataSet> {
  const img = image({ tags: ['image'] });
  const amd = image();
  const arm = image();
  const idx = index([amd.doc, arm.doc], { tags: ['index'] });
  const nestedA = image();
  const nestedB = image();
  const innerA = index([nestedA.doc]);
  const innerB = index([nestedB.doc]);
  const subjectImage = image({ tags: ['image'] });
  const referrer = image({ subject: subjectImage.doc });
  const art1 = artifact(ARTIFACT_V1, { subject: subjectImage.doc, tags: ['tagged-artifact1'], annotations: { 'org.opencontainers.conformance': 'hello conformance test', [`org.example.${randomBytes(3).toString('hex')}`]: 'x' } });
  const art2 = artifact(ARTIFACT_V2, { subject: subjectImage.doc, tags: ['tagged-artifact2'], layerType: 'application/octet-stream' });
  const idxSubjectChild1 = image();
  const idxSubjectChild2 = image();
  const idxWithSubject = index([idxSubjectChild1.doc, idxSubjectChild2.doc], { tags: ['index'] });
  const artIdxChild = artifact(ARTIFACT_V1);
  const artIdx = index([artIdxChild.doc], { artifactType: ARTIFACT_V1, subject: idxWithSubject });
  const missingSubject = artifact(ARTIFACT_V1, { tags: ['tagged-artifact'], subjectDescriptor: { mediaType: MediaTypes.ociManifest, digest: digestOf('missing content'), size: 123 } });
  const nonDistributable = ((): DataSet => {
    const normal = gzipSync(layerTar(9));
    const config = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: descriptorOf(config, MediaTypes.ociConfig),
      layers: [
        { ...descriptorOf(randomBytes(64), MediaTypes.ociLayerNondistributableGzip), urls: ['https://example.invalid/layer'] },
        { ...descriptorOf(randomBytes(32), MediaTypes.ociLayerNondistributable), urls: ['https://example.invalid/layer2'] },
        descriptorOf(normal, MediaTypes.ociLayerGzip),
      ],
    };
    return { blobs: [config, normal], docs: [{ bytes: json(manifest), mediaType: MediaTypes.ociManifest, tags: ['non-distributable-image'] }] };
  })();
  const custom = image({ extra: { customField: 'ctr conformance' } });
  const customIndex = index([custom.doc], { tags: ['custom-fields'], extra: { customField: 'ctr conformance' } });
  const noLayers = image({ layers: 0, tags: ['no-layers'] });
  const large = image({ tags: ['large-manifest'], extra: { annotations: Object.fromEntries(Array.from({ length: 390 }, (_, i) => [`org.example.large.${i}`, 'x'.repeat(10_000)])) } });
  return {
    image: img,
    'image-uncompressed': image({ gzip: false, tags: ['image-uncompressed'] }),
    'large-manifest': large,
    index: merge(amd, arm, { blobs: [], docs: [idx] }),
    'nested-index': merge(nestedA, nestedB, { blobs: [], docs: [innerA, innerB, index([innerA, innerB], { tags: ['index-of-index'] })] }),
    'empty-index': { blobs: [], docs: [index([], { tags: ['empty-index'] })] },
    artifact: artifact(ARTIFACT_V1, { tags: ['artifact'] }),
    'artifact-without-layers': artifact(ARTIFACT_V1, { layer: emptyJson, layerType: MediaTypes.ociEmpty, tags: ['artifact-without-layers'] }),
    'artifacts-with-subject': merge(subjectImage, referrer, art1, art2),
    'index-with-subject': merge(idxSubjectChild1, idxSubjectChild2, { blobs: [], docs: [idxWithSubject] }, artIdxChild, { blobs: [], docs: [artIdx] }),
    'missing-subject': missingSubject,
    'data-field': image({ data: true, tags: ['data-field'] }),
    'non-distributable-layers': nonDistributable,
    'custom-fields': merge(custom, { blobs: [], docs: [customIndex] }),
    'no-layers': noLayers,
  };
}

const sets = Object.entries(dataSets());

describe.each(sets)('data set %s', (_name, set) => {
  const digests = set.docs.map((d) => digestOf(d.bytes));
  const tags = [...new Set(set.docs.flatMap((d) => d.tags))];

  test('push: blobs, then each manifest by digest (201, Location serves it byte-exact), then its tags', async () => {
    for (const blob of set.blobs) await http.pushBlob(REPO, blob);
    for (const doc of set.docs) {
      const digest = digestOf(doc.bytes);
      const put = await http.pushManifest(REPO, digest, doc.bytes, doc.mediaType);
      expect([put.status, put.body.toString()]).toEqual([201, '']);
      expect(put.headers['docker-content-digest']).toBe(digest);
      if (doc.subject) expect(put.headers['oci-subject']).toBe(doc.subject);
      const got = await http.send('GET', http.location(put), { headers: http.manifestAccept() });
      expect(got.status).toBe(200);
      expect(got.headers['content-type']).toBe(doc.mediaType);
      expect(got.headers['content-length']).toBe(String(doc.bytes.length));
      expect(got.body.equals(doc.bytes)).toBe(true);
      for (const tag of doc.tags) {
        const tagged = await http.pushManifest(REPO, tag, doc.bytes, doc.mediaType);
        expect(tagged.status).toBe(201);
        expect(tagged.headers.location).toBeTruthy();
        if (doc.subject) expect(tagged.headers['oci-subject']).toBe(doc.subject);
      }
    }
  });

  test('tag-list: every tag is listed, and ?last= pages after it', async () => {
    const list = await http.send('GET', `/v2/${REPO}/tags/list`);
    expect(list.status).toBe(200);
    const listed = JSON.parse(list.body.toString()) as { name: string; tags: string[] };
    expect(listed.name).toBe(REPO);
    expect(listed.tags).toEqual(expect.arrayContaining(tags));
    if (tags.length >= 2) {
      const sorted = [...tags].sort();
      const last = sorted[sorted.length / 2 - 1]!;
      const page = JSON.parse((await http.send('GET', `/v2/${REPO}/tags/list?last=${last}`)).body.toString()) as { tags: string[] };
      for (const t of sorted) expect(page.tags.includes(t)).toBe(t > last);
    }
  });

  test('head: tags and digests answer 200 with no body, the media type and length', async () => {
    for (const doc of set.docs) {
      for (const ref of [digestOf(doc.bytes), ...doc.tags]) {
        const head = await http.send('HEAD', `/v2/${REPO}/manifests/${ref}`, { headers: http.manifestAccept() });
        expect(head.status).toBe(200);
        expect(head.body.length).toBe(0);
        expect(head.headers['content-type']).toBe(doc.mediaType);
        expect(head.headers['content-length']).toBe(String(doc.bytes.length));
        expect(head.headers['docker-content-digest']).toBe(digestOf(doc.bytes));
      }
    }
    for (const blob of set.blobs) {
      const head = await http.send('HEAD', `/v2/${REPO}/blobs/${digestOf(blob)}`);
      expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, String(blob.length), 0]);
    }
  });

  test('pull: tags, digests and blobs are served byte-exact', async () => {
    for (const doc of set.docs) {
      for (const ref of [digestOf(doc.bytes), ...doc.tags]) {
        const got = await http.send('GET', `/v2/${REPO}/manifests/${ref}`, { headers: http.manifestAccept() });
        expect(got.status).toBe(200);
        expect(got.body.equals(doc.bytes)).toBe(true);
      }
    }
    for (const blob of set.blobs) {
      const got = await http.send('GET', `/v2/${REPO}/blobs/${digestOf(blob)}`);
      expect(got.status).toBe(200);
      expect(got.body.equals(blob)).toBe(true);
    }
  });

  test('referrers: each subject lists its referrers, filterable by artifactType', async () => {
    const subjects = [...new Set(set.docs.map((d) => d.subject).filter((s): s is string => s !== undefined))];
    for (const subject of subjects) {
      const expected = set.docs.filter((d) => d.subject === subject);
      const res = await http.send('GET', `/v2/${REPO}/referrers/${subject}`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(MediaTypes.ociIndex);
      const listed = JSON.parse(res.body.toString()) as { schemaVersion: number; mediaType: string; manifests: { digest: string; mediaType: string; size: number; artifactType?: string; annotations?: Record<string, string> }[] };
      expect([listed.schemaVersion, listed.mediaType]).toEqual([2, MediaTypes.ociIndex]);
      for (const doc of expected) {
        const entry = listed.manifests.find((m) => m.digest === digestOf(doc.bytes));
        expect(entry).toMatchObject({ mediaType: doc.mediaType, size: doc.bytes.length, artifactType: doc.artifactType });
        if (doc.annotations) expect(entry?.annotations).toMatchObject(doc.annotations);
      }
      for (const type of new Set(expected.map((d) => d.artifactType))) {
        const filtered = await http.send('GET', `/v2/${REPO}/referrers/${subject}?artifactType=${encodeURIComponent(type!)}`);
        expect(filtered.headers['oci-filters-applied']).toBe('artifactType');
        const entries = (JSON.parse(filtered.body.toString()) as { manifests: { artifactType: string; digest: string }[] }).manifests;
        expect(entries.every((e) => e.artifactType === type)).toBe(true);
        expect(entries.map((e) => e.digest).sort()).toEqual(expected.filter((d) => d.artifactType === type).map((d) => digestOf(d.bytes)).sort());
      }
    }
  });

  test('delete: tags, then manifests (parents first), then blobs — each gone afterwards', async () => {
    for (const tag of tags) {
      expect([202, 404]).toContain((await http.send('DELETE', `/v2/${REPO}/manifests/${tag}`)).status);
      expect((await http.send('HEAD', `/v2/${REPO}/manifests/${tag}`)).status).toBe(404);
    }
    for (const digest of [...digests].reverse()) {
      expect([202, 404]).toContain((await http.send('DELETE', `/v2/${REPO}/manifests/${digest}`)).status);
      expect((await http.send('HEAD', `/v2/${REPO}/manifests/${digest}`)).status).toBe(404);
    }
    for (const blob of set.blobs) {
      expect([202, 404]).toContain((await http.send('DELETE', `/v2/${REPO}/blobs/${digestOf(blob)}`)).status);
      expect((await http.send('HEAD', `/v2/${REPO}/blobs/${digestOf(blob)}`)).status).toBe(404);
    }
  });
});

test('bad-digest-image: a manifest PUT to a digest its body does not have is 400 and not stored', async () => {
  const set = image();
  for (const blob of set.blobs) await http.pushBlob(REPO, blob);
  const digest = digestOf(set.doc.bytes);
  const res = await http.pushManifest(REPO, digest, Buffer.concat([set.doc.bytes, Buffer.from('  ')]));
  expect(res.status).toBe(400);
  expect(JSON.parse(res.body.toString()).errors[0].code).toBe('DIGEST_INVALID');
  expect((await http.send('HEAD', `/v2/${REPO}/manifests/${digest}`)).status).toBe(404);
});

test('missing-manifest: GET by an unknown digest or tag is 404 MANIFEST_UNKNOWN', async () => {
  for (const ref of [digestOf(randomBytes(8)), `missing-${randomBytes(4).toString('hex')}`]) {
    const res = await http.send('GET', `/v2/${REPO}/manifests/${ref}`, { headers: http.manifestAccept() });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body.toString()).errors[0].code).toBe('MANIFEST_UNKNOWN');
  }
});

test('invalid-digest-format: PUT to sha256:baddigeststring is 400, GET is 404', async () => {
  const set = image();
  for (const blob of set.blobs) await http.pushBlob(REPO, blob);
  expect((await http.pushManifest(REPO, 'sha256:baddigeststring', set.doc.bytes)).status).toBe(400);
  expect([400, 404]).toContain((await http.send('GET', `/v2/${REPO}/manifests/sha256:baddigeststring`)).status);
});

test('a manifest referencing a blob the repository lacks is 400 MANIFEST_BLOB_UNKNOWN and not stored', async () => {
  const set = image();
  await http.pushBlob(REPO, set.blobs[0]!);
  const res = await http.pushManifest(REPO, 'missing-blob', set.doc.bytes);
  expect(res.status).toBe(400);
  expect(JSON.parse(res.body.toString()).errors[0].code).toBe('MANIFEST_BLOB_UNKNOWN');
  expect((await http.send('HEAD', `/v2/${REPO}/manifests/missing-blob`)).status).toBe(404);
  await expect(registry.store.info(digestOf(set.doc.bytes))).rejects.toMatchObject({ code: 'NotFound' });
});

test('an index referencing a manifest the repository lacks is 400 MANIFEST_BLOB_UNKNOWN', async () => {
  const res = await http.pushManifest(REPO, 'sparse-index', index([image().doc]).bytes, MediaTypes.ociIndex);
  expect(res.status).toBe(400);
  expect(JSON.parse(res.body.toString()).errors[0].code).toBe('MANIFEST_BLOB_UNKNOWN');
});

test('tag parameters: PUT by digest with ?tag=a&tag=b tags it and answers OCI-Tag', async () => {
  const set = image();
  for (const blob of set.blobs) await http.pushBlob(REPO, blob);
  const digest = digestOf(set.doc.bytes);
  const res = await http.pushManifest(REPO, `${digest}?tag=param-a&tag=param-b`, set.doc.bytes);
  expect(res.status).toBe(201);
  expect(res.headers['oci-tag']).toBe('param-a,param-b');
  for (const tag of ['param-a', 'param-b']) {
    expect((await http.send('HEAD', `/v2/${REPO}/manifests/${tag}`)).headers['docker-content-digest']).toBe(digest);
  }
});
