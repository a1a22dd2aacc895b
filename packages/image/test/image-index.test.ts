import { readFileSync } from 'node:fs';
import { isCtrError, isNotFound } from '@ctr/errors';
import {
  createIndex,
  digestOf,
  formatPlatform,
  hostPlatform,
  matchingManifests,
  MediaTypes,
  parseIndex,
  parseManifestOrIndex,
  platformMatcher,
  selectManifest,
  serializeIndex,
  type Descriptor,
  type Platform,
} from '@ctr/image';
import { CONFORMANCE } from '../../../test/conformance';

function entry(platform: string | undefined, mediaType: string = MediaTypes.ociManifest, annotations?: Record<string, string>): Descriptor {
  const d: Descriptor = { mediaType, digest: digestOf(`${platform}|${mediaType}`), size: 100 };
  if (platform !== undefined) {
    const [os = '', architecture = '', variant] = platform.split('/');
    d.platform = variant === undefined ? { os, architecture } : { os, architecture, variant };
  }
  if (annotations !== undefined) d.annotations = annotations;
  return d;
}

const index = (manifests: Descriptor[]) => createIndex({ manifests });
const plat = (text: string): Platform => {
  const [os = '', architecture = '', variant] = text.split('/');
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
};

function rejected(run: () => unknown, code = 'InvalidArgument'): Error {
  try {
    run();
  } catch (error) {
    expect(isCtrError(error) && error.code).toBe(code);
    return error as Error;
  }
  throw new Error(`expected ${code}`);
}

describe('parseIndex', () => {
  test('an OCI index with platforms', () => {
    const text = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [entry('linux/arm/v7'), entry('linux/amd64')],
      annotations: { x: 'y' },
    });
    const parsed = parseIndex(Buffer.from(text));
    expect(parsed.manifests.map((m) => m.platform)).toEqual([plat('linux/arm/v7'), plat('linux/amd64')]);
    expect(parsed.annotations).toEqual({ x: 'y' });
  });

  test('a Docker manifest list as Docker Hub serves it', () => {
    const vectors = JSON.parse(
      readFileSync(`${CONFORMANCE}/oci-image-spec/schema-test-vectors.json`, 'utf8'),
    ) as { backwardsCompatibility: Record<string, { cases: { document: string }[] }> };
    const text = vectors.backwardsCompatibility['TestBackwardsCompatibilityImageIndex']?.cases[0]?.document ?? '';
    const parsed = parseIndex(text, MediaTypes.dockerManifestList);
    expect(parsed.mediaType).toBe(MediaTypes.dockerManifestList);
    expect(parsed.manifests.length).toBeGreaterThan(1);
    expect(parsed.manifests.every((m) => m.platform !== undefined)).toBe(true);
  });

  test.each([
    ['manifests missing', { schemaVersion: 2 }, 'field "manifests" is required'],
    ['platform without architecture', { schemaVersion: 2, manifests: [{ ...entry(undefined), platform: { os: 'linux' } }] }, 'field "manifests[0].platform.architecture" is required'],
    ['bad digest in an entry', { schemaVersion: 2, manifests: [{ ...entry('linux/amd64'), digest: 'sha256:xyz' }] }, 'field "manifests[0].digest" is invalid'],
    ['negative size in an entry', { schemaVersion: 2, manifests: [{ ...entry('linux/amd64'), size: -5 }] }, 'manifests[0].size'],
    ['schemaVersion 1', { schemaVersion: 1, manifests: [] }, 'schema 1'],
    ['both manifests and layers', { schemaVersion: 2, manifests: [], layers: [] }, 'ambiguous'],
  ])('%s is refused', (_name, value, wording) => {
    let error: unknown;
    try {
      parseIndex(JSON.stringify(value));
    } catch (caught) {
      error = caught;
    }
    expect(isCtrError(error)).toBe(true);
    expect((error as Error).message).toContain(wording);
  });

  test('a manifest sent where an index was expected', () => {
    const text = JSON.stringify({ schemaVersion: 2, config: entry(undefined), layers: [] });
    expect(rejected(() => parseIndex(text)).message).toContain('expected an image index but got an image manifest');
  });

  test('an index whose mediaType contradicts Content-Type', () => {
    const text = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifestList, manifests: [] });
    expect(rejected(() => parseIndex(text, MediaTypes.ociIndex)).message).toContain('contradicts');
  });

  test('serializeIndex round-trips through parseIndex', () => {
    const made = createIndex({ manifests: [entry('linux/amd64')], mediaType: MediaTypes.dockerManifestList });
    const { bytes, descriptor } = serializeIndex(made);
    expect(descriptor.mediaType).toBe(MediaTypes.dockerManifestList);
    expect(parseIndex(bytes, descriptor.mediaType)).toEqual(made);
  });
});

describe('parseManifestOrIndex decides by declared type, then by shape', () => {
  const manifest = { schemaVersion: 2, config: entry(undefined, MediaTypes.ociConfig), layers: [] };
  const list = { schemaVersion: 2, manifests: [entry('linux/amd64')] };

  test('by body mediaType', () => {
    expect(parseManifestOrIndex(JSON.stringify({ ...list, mediaType: MediaTypes.dockerManifestList })).kind).toBe('index');
    expect(parseManifestOrIndex(JSON.stringify({ ...manifest, mediaType: MediaTypes.dockerManifest })).kind).toBe('manifest');
  });

  test('by Content-Type when the body has none', () => {
    const parsed = parseManifestOrIndex(JSON.stringify(list), MediaTypes.ociIndex);
    expect(parsed).toMatchObject({ kind: 'index', mediaType: MediaTypes.ociIndex });
  });

  test('by shape when neither says', () => {
    expect(parseManifestOrIndex(JSON.stringify(list))).toMatchObject({ kind: 'index', mediaType: MediaTypes.ociIndex });
    expect(parseManifestOrIndex(JSON.stringify(manifest))).toMatchObject({ kind: 'manifest', mediaType: MediaTypes.ociManifest });
  });

  test('a document that is both is refused', () => {
    expect(rejected(() => parseManifestOrIndex(JSON.stringify({ ...manifest, ...list }))).message).toContain('ambiguous');
  });

  test('a manifest Content-Type on an index body is refused', () => {
    expect(rejected(() => parseManifestOrIndex(JSON.stringify(list), MediaTypes.ociManifest)).message).toContain('ambiguous');
  });
});

describe('selecting a manifest for a platform', () => {
  test('picks the exact platform', () => {
    const amd64 = entry('linux/amd64');
    expect(selectManifest(index([entry('linux/arm64'), amd64, entry('linux/386')]), plat('linux/amd64'))).toBe(amd64);
  });

  test('prefers the best variant: arm/v7 over v6 and v5', () => {
    const v6 = entry('linux/arm/v6');
    const v7 = entry('linux/arm/v7');
    expect(selectManifest(index([entry('linux/arm/v5'), v6, v7]), plat('linux/arm/v7'))).toBe(v7);
    expect(selectManifest(index([entry('linux/arm/v5'), v6]), plat('linux/arm/v7'))).toBe(v6);
  });

  test('falls back to 386 on amd64', () => {
    const i386 = entry('linux/386');
    expect(selectManifest(index([entry('linux/arm64'), i386]), plat('linux/amd64'))).toBe(i386);
  });

  test('arm64 falls back to 32-bit arm', () => {
    const v7 = entry('linux/arm/v7');
    expect(selectManifest(index([entry('linux/amd64'), v7]), plat('linux/arm64/v8'))).toBe(v7);
  });

  test('names are normalised: an index entry saying aarch64 matches arm64', () => {
    const aarch64 = entry('linux/aarch64');
    expect(selectManifest(index([aarch64]), plat('linux/arm64'))).toBe(aarch64);
  });

  test('attestation manifests (unknown/unknown) are never selected', () => {
    const amd64 = entry('linux/amd64');
    const attestation = entry('unknown/unknown', MediaTypes.ociManifest, { 'vnd.docker.reference.type': 'attestation-manifest' });
    expect(matchingManifests(index([attestation, amd64]), plat('linux/amd64'))).toEqual([amd64]);
  });

  test('entries without a platform come after matching ones; entries that are not manifests are skipped', () => {
    const bare = entry(undefined);
    const amd64 = entry('linux/amd64');
    const layer = entry(undefined, MediaTypes.ociLayerGzip);
    expect(matchingManifests(index([bare, layer, amd64]), plat('linux/amd64'))).toEqual([amd64, bare]);
  });

  test('defaults to the host platform', () => {
    const host = hostPlatform();
    const mine = entry(formatPlatform(host));
    const other = entry(host.architecture === 's390x' ? 'linux/ppc64le' : 'linux/s390x');
    expect(selectManifest(index([other, mine]))).toBe(mine);
  });

  test('accepts a prepared matcher', () => {
    const arm = entry('linux/arm/v7');
    expect(selectManifest(index([arm]), platformMatcher(plat('linux/arm/v7')))).toBe(arm);
  });

  test('no match is NotFound in Docker words, listing what there is', () => {
    let error: unknown;
    try {
      selectManifest(index([entry('linux/arm64'), entry('windows/amd64'), entry('unknown/unknown')]), plat('linux/amd64'));
    } catch (caught) {
      error = caught;
    }
    expect(isNotFound(error)).toBe(true);
    expect((error as Error).message).toBe('no matching manifest for linux/amd64 in the manifest list entries');
    expect((error as { hint?: string }).hint).toBe('the image is available for: linux/arm64, windows/amd64');
  });
});
