import { readFileSync } from 'node:fs';
import { isCtrError, isInvalidArgument } from '@ctr/errors';
import {
  createManifest,
  digestOf,
  manifestMediaType,
  MAX_DOCUMENT_BYTES,
  MediaTypes,
  parseManifest,
  serializeManifest,
  type Descriptor,
} from '@ctr/image';
import { CONFORMANCE } from '../../../test/conformance';

const CONFIG: Descriptor = { mediaType: MediaTypes.ociConfig, digest: digestOf('config'), size: 6 };
const LAYER: Descriptor = { mediaType: MediaTypes.ociLayerGzip, digest: digestOf('layer'), size: 5 };

function doc(fields: Record<string, unknown>): string {
  return JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: CONFIG, layers: [LAYER], ...fields });
}

function rejected(run: () => unknown, code = 'InvalidArgument'): Error {
  try {
    run();
  } catch (error) {
    expect(isCtrError(error) && error.code).toBe(code);
    return error as Error;
  }
  throw new Error(`expected ${code}`);
}

describe('parseManifest returns typed, validated manifests', () => {
  test('an OCI manifest', () => {
    const manifest = parseManifest(Buffer.from(doc({ annotations: { a: 'b' } })));
    expect(manifest).toEqual({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: CONFIG,
      layers: [LAYER],
      annotations: { a: 'b' },
    });
  });

  test('a Docker schema 2 manifest as Docker Hub serves it', () => {
    const vectors = JSON.parse(
      readFileSync(`${CONFORMANCE}/oci-image-spec/schema-test-vectors.json`, 'utf8'),
    ) as { backwardsCompatibility: Record<string, { cases: { document: string }[] }> };
    const text = vectors.backwardsCompatibility['TestBackwardsCompatibilityManifest']?.cases[0]?.document ?? '';
    const manifest = parseManifest(Buffer.from(text), MediaTypes.dockerManifest);
    expect(manifest.mediaType).toBe(MediaTypes.dockerManifest);
    expect(manifest.layers.length).toBeGreaterThan(0);
    expect(manifest.layers.every((layer) => layer.mediaType === MediaTypes.dockerLayerGzip)).toBe(true);
  });

  test('an OCI manifest without mediaType takes its type from Content-Type, or defaults to OCI', () => {
    const bare = doc({ mediaType: undefined });
    expect(manifestMediaType(parseManifest(bare))).toBe(MediaTypes.ociManifest);
    expect(parseManifest(bare, `${MediaTypes.ociManifest}; charset=utf-8`).mediaType).toBeUndefined();
  });

  test('an artifact manifest with no layers, an artifactType and a subject', () => {
    const manifest = parseManifest(doc({ layers: [], artifactType: 'application/vnd.example+json', subject: LAYER }));
    expect(manifest.layers).toEqual([]);
    expect(manifest.artifactType).toBe('application/vnd.example+json');
    expect(manifest.subject).toEqual(LAYER);
  });

  test('descriptors keep urls, annotations, and embedded data that matches', () => {
    const data = Buffer.from('layer').toString('base64');
    const layer = { ...LAYER, urls: ['https://example.com/l'], annotations: { k: 'v' }, data };
    expect(parseManifest(doc({ layers: [layer] })).layers[0]).toEqual(layer);
  });

  test('a generic Content-Type says nothing and does not conflict', () => {
    expect(parseManifest(doc({}), 'application/json').mediaType).toBe(MediaTypes.ociManifest);
    expect(parseManifest(doc({}), 'application/octet-stream').mediaType).toBe(MediaTypes.ociManifest);
  });

  test('a manifest of 4 MiB is accepted', () => {
    const layers = Array.from({ length: 20000 }, (_, i) => ({ ...LAYER, digest: digestOf(String(i)), annotations: { n: 'x'.repeat(60) } }));
    const text = doc({ layers });
    expect(Buffer.byteLength(text)).toBeGreaterThan(4 * 1024 * 1024);
    expect(parseManifest(text).layers).toHaveLength(20000);
  });
});

describe('malformed manifests are InvalidArgument naming the field', () => {
  test.each([
    ['not JSON', '{"schemaVersion": 2,', 'not valid JSON'],
    ['not an object', '[]', 'must be a JSON object'],
    ['no schemaVersion', doc({ schemaVersion: undefined }), 'field "schemaVersion" must be 2, got nothing'],
    ['schemaVersion 3', doc({ schemaVersion: 3 }), 'field "schemaVersion" must be 2, got 3'],
    ['schemaVersion "2"', doc({ schemaVersion: '2' }), 'must be 2, got "2"'],
    ['no config', doc({ config: undefined }), 'field "config" is required'],
    ['config not an object', doc({ config: 'x' }), 'field "config" must be an object, not a string'],
    ['no layers', doc({ layers: undefined }), 'field "layers" is required'],
    ['layers not an array', doc({ layers: {} }), 'field "layers" must be an array'],
    ['a layer that is not an object', doc({ layers: [LAYER, 5] }), 'field "layers[1]" must be an object'],
    ['bad digest', doc({ layers: [{ ...LAYER, digest: 'sha256:../../etc' }] }), 'field "layers[0].digest" is invalid'],
    ['uppercase digest', doc({ layers: [{ ...LAYER, digest: LAYER.digest.toUpperCase() }] }), 'layers[0].digest'],
    ['short digest', doc({ config: { ...CONFIG, digest: 'sha256:abc' } }), 'field "config.digest" is invalid'],
    ['missing digest', doc({ config: { mediaType: CONFIG.mediaType, size: 1 } }), 'field "config.digest" is required'],
    ['negative size', doc({ layers: [{ ...LAYER, size: -1 }] }), 'field "layers[0].size" must be at least 0, got -1'],
    ['fractional size', doc({ layers: [{ ...LAYER, size: 1.5 }] }), 'field "layers[0].size" must be an integer'],
    ['string size', doc({ config: { ...CONFIG, size: '6' } }), 'field "config.size" must be an integer, not a string'],
    ['huge size', doc({ config: { ...CONFIG, size: 2 ** 60 } }), 'field "config.size" is too large'],
    ['bad media type', doc({ layers: [{ ...LAYER, mediaType: 'tar' }] }), 'field "layers[0].mediaType" "tar" is not a media type'],
    ['relative url', doc({ layers: [{ ...LAYER, urls: ['/blob'] }] }), 'field "layers[0].urls[0]" "/blob" is not an absolute URL'],
    ['annotation not a string', doc({ annotations: { a: 1 } }), 'field "annotations.a" must be a string'],
    ['data not base64', doc({ layers: [{ ...LAYER, data: 'bGF5ZXI' }] }), 'field "layers[0].data" is not valid base64'],
    ['data of another size', doc({ layers: [{ ...LAYER, data: 'eA==' }] }), 'holds 1 bytes but the descriptor\'s size is 5'],
    ['data of another digest', doc({ layers: [{ ...LAYER, data: Buffer.from('LAYER').toString('base64') }] }), 'does not match'],
  ])('%s', (_name, text, wording) => {
    expect(rejected(() => parseManifest(Buffer.from(text))).message).toContain(wording);
  });

  test('a manifest over the size cap is refused', () => {
    const text = doc({ annotations: { big: 'x'.repeat(MAX_DOCUMENT_BYTES) } });
    expect(rejected(() => parseManifest(text)).message).toContain('larger than');
  });

  test('a digest of another algorithm is InvalidArgument (ctr stores sha256 only)', () => {
    const text = doc({ layers: [{ ...LAYER, digest: `sha512:${'a'.repeat(128)}` }] });
    expect(rejected(() => parseManifest(text)).message).toContain('unsupported digest algorithm "sha512"');
  });
});

describe('ambiguous documents are refused (CVE-2021-41190)', () => {
  test('a document with both manifests and layers', () => {
    const text = doc({ manifests: [LAYER] });
    expect(rejected(() => parseManifest(text)).message).toContain('both "manifests"');
  });

  test('a document with both manifests and config, no layers', () => {
    const text = JSON.stringify({ schemaVersion: 2, config: CONFIG, manifests: [] });
    expect(rejected(() => parseManifest(text)).message).toContain('ambiguous');
  });

  test('a body mediaType that contradicts Content-Type', () => {
    const error = rejected(() => parseManifest(doc({}), MediaTypes.dockerManifest));
    expect(error.message).toBe(`manifest mediaType "${MediaTypes.ociManifest}" contradicts its Content-Type "${MediaTypes.dockerManifest}"`);
  });

  test('an index mediaType on a document with layers', () => {
    expect(rejected(() => parseManifest(doc({ mediaType: MediaTypes.ociIndex }))).message).toContain('says an index');
  });

  test('an index sent where a manifest was expected', () => {
    const index = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] });
    expect(rejected(() => parseManifest(index)).message).toContain('expected an image manifest but got an image index');
  });

  test('an index Content-Type on a manifest without mediaType', () => {
    expect(rejected(() => parseManifest(doc({ mediaType: undefined }), MediaTypes.ociIndex)).message).toContain('ambiguous');
  });

  test('a repeated mediaType key', () => {
    const text = `{"schemaVersion":2,"mediaType":"${MediaTypes.ociIndex}","config":${JSON.stringify(CONFIG)},"layers":[],"mediaType":"${MediaTypes.ociManifest}"}`;
    expect(rejected(() => parseManifest(text)).message).toContain('appears twice');
  });
});

describe('unsupported manifests', () => {
  test('Docker schema 1 is Unsupported', () => {
    const schema1 = JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'latest', fsLayers: [], history: [] });
    expect(rejected(() => parseManifest(schema1), 'Unsupported').message).toContain('schema 1');
    expect(rejected(() => parseManifest(doc({ mediaType: undefined }), MediaTypes.dockerManifestV1Signed), 'Unsupported')).toBeDefined();
  });

  test('an unknown mediaType is Unsupported', () => {
    expect(rejected(() => parseManifest(doc({ mediaType: 'application/vnd.example.thing+json' })), 'Unsupported')).toBeDefined();
  });
});

describe('manifests we make', () => {
  test('createManifest sets schemaVersion and mediaType', () => {
    expect(createManifest({ config: CONFIG, layers: [LAYER] })).toEqual({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: CONFIG,
      layers: [LAYER],
    });
  });

  test('serializeManifest gives canonical bytes whose descriptor is stable and parses back', () => {
    const manifest = createManifest({ config: CONFIG, layers: [LAYER], mediaType: MediaTypes.dockerManifest, annotations: { b: '2', a: '1' } });
    const first = serializeManifest(manifest);
    const second = serializeManifest({ ...manifest, annotations: { a: '1', b: '2' } });
    expect(first.bytes.equals(second.bytes)).toBe(true);
    expect(first.descriptor).toEqual({ mediaType: MediaTypes.dockerManifest, digest: digestOf(first.bytes), size: first.bytes.length });
    expect(parseManifest(first.bytes, first.descriptor.mediaType)).toEqual(manifest);
  });

  test('parse errors are typed', () => {
    expect(isInvalidArgument(rejected(() => parseManifest('')))).toBe(true);
  });
});
