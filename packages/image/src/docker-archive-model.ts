import { CtrError, invalidArgument } from '@ctr/errors';
import type { Descriptor } from './descriptor';
import { parseDiffID, parseDigest, type DiffID } from './digest';
import { isObject, parseJson } from './docker-archive-json';

/**
 * The few fields of manifests, indexes and configs that archives need, checked as they are
 * read from untrusted archives and layouts: every digest is validated before anything uses
 * it as a path.
 */

export interface ManifestRefs {
  mediaType: string | undefined;
  config: Descriptor;
  layers: Descriptor[];
}

export function descriptorFrom(value: unknown, what: string): Descriptor {
  if (!isObject(value)) throw invalidArgument(`${what}: expected a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalidArgument(`${what}: descriptor has no mediaType`);
  if (typeof digest !== 'string') throw invalidArgument(`${what}: descriptor has no digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalidArgument(`${what}: descriptor size ${JSON.stringify(size)} is not a non-negative integer`);
  }
  return { ...(value as unknown as Descriptor), mediaType, digest: parseDigest(digest), size };
}

export function manifestRefs(bytes: Buffer, what: string): ManifestRefs {
  const doc = parseJson(bytes, what);
  if (!isObject(doc) || doc['schemaVersion'] !== 2 || !Array.isArray(doc['layers'])) {
    throw invalidArgument(`${what} is not an image manifest (schemaVersion 2 with config and layers)`);
  }
  return {
    mediaType: typeof doc['mediaType'] === 'string' ? doc['mediaType'] : undefined,
    config: descriptorFrom(doc['config'], `${what} config`),
    layers: doc['layers'].map((layer, i) => descriptorFrom(layer, `${what} layer ${i}`)),
  };
}

export function indexManifests(bytes: Buffer, what: string): Descriptor[] {
  const doc = parseJson(bytes, what);
  if (!isObject(doc) || doc['schemaVersion'] !== 2 || !Array.isArray(doc['manifests'])) {
    throw invalidArgument(`${what} is not an image index (schemaVersion 2 with manifests)`);
  }
  return doc['manifests'].map((m, i) => descriptorFrom(m, `${what} manifests[${i}]`));
}

/** The media type a manifest or index declares inside itself (some writers only put it there). */
export function embeddedMediaType(bytes: Buffer, what: string): string | undefined {
  const doc = parseJson(bytes, what);
  return isObject(doc) && typeof doc['mediaType'] === 'string' ? doc['mediaType'] : undefined;
}

export function configDiffIds(bytes: Buffer, what: string): DiffID[] {
  const doc = parseJson(bytes, what);
  const rootfs = isObject(doc) ? doc['rootfs'] : undefined;
  const diffIds = isObject(rootfs) ? rootfs['diff_ids'] : undefined;
  if (!Array.isArray(diffIds)) throw invalidArgument(`${what} is not an image config (no rootfs.diff_ids)`);
  return diffIds.map((d) => {
    if (typeof d !== 'string') throw invalidArgument(`${what}: rootfs.diff_ids holds a non-string`);
    return parseDiffID(d);
  });
}

export function checkLayoutVersion(bytes: Buffer | undefined): void {
  if (bytes === undefined) return;
  const doc = parseJson(bytes, 'oci-layout');
  const version = isObject(doc) ? doc['imageLayoutVersion'] : undefined;
  if (typeof version !== 'string' || !version.startsWith('1.')) {
    throw new CtrError('Unsupported', `OCI image layout version ${JSON.stringify(version)} is not supported (expected 1.x)`);
  }
}
