import { notFound } from '@ctr/errors';
import type { Descriptor, Platform } from './descriptor';
import { parseDescriptor, readMediaType } from './descriptor-parse';
import { readManifestDocument } from './document-kind';
import type { JsonFields } from './json-fields';
import { isManifestType, MediaTypes } from './media-types';
import { formatPlatform, platformMatcher, type PlatformMatcher } from './platform';
import { serializeDocument, type SerializedDocument } from './manifest';

/** An image index (OCI) or manifest list (Docker): one manifest per platform. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** Parse and validate an image index or manifest list; see `parseManifest` for the rules. */
export function parseIndex(bytes: Uint8Array | string, contentType?: string): ImageIndex {
  const { mediaType, fields } = readManifestDocument(bytes, contentType, 'index');
  return indexFromFields(fields, mediaType);
}

export function indexFromFields(fields: JsonFields, mediaType: string): ImageIndex {
  const index: ImageIndex = { schemaVersion: 2, manifests: fields.objects('manifests').map(parseDescriptor) };
  if (fields.has('mediaType')) index.mediaType = mediaType;
  const artifactType = readMediaType(fields, 'artifactType');
  if (artifactType !== undefined) index.artifactType = artifactType;
  const subject = fields.optionalObject('subject');
  if (subject !== undefined) index.subject = parseDescriptor(subject);
  const annotations = fields.optionalStringMap('annotations');
  if (annotations !== undefined) index.annotations = annotations;
  return index;
}

export function indexMediaType(index: Pick<ImageIndex, 'mediaType'>): string {
  return index.mediaType ?? MediaTypes.ociIndex;
}

export interface CreateIndexOptions {
  manifests: readonly Descriptor[];
  mediaType?: typeof MediaTypes.ociIndex | typeof MediaTypes.dockerManifestList;
  annotations?: Record<string, string>;
}

export function createIndex(options: CreateIndexOptions): ImageIndex {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: options.mediaType ?? MediaTypes.ociIndex,
    manifests: [...options.manifests],
  };
  if (options.annotations !== undefined) index.annotations = options.annotations;
  return index;
}

export function serializeIndex(index: ImageIndex): SerializedDocument {
  return serializeDocument(index, indexMediaType(index));
}

/**
 * The entries of an index that can run on `platform` (default: this host), best first —
 * what `docker pull` picks from a multi-platform image. Entries without a platform come
 * after those with a matching one (their config decides); entries that are not image
 * manifests or indexes (attestations, signatures) are left out.
 */
export function matchingManifests(index: ImageIndex, platform?: Platform | PlatformMatcher): Descriptor[] {
  const matcher = toMatcher(platform);
  const candidates = index.manifests
    .map((descriptor, position) => ({ descriptor, position }))
    .filter(({ descriptor }) => isManifestType(descriptor.mediaType) || descriptor.mediaType === MediaTypes.ociIndex ||
      descriptor.mediaType === MediaTypes.dockerManifestList)
    .filter(({ descriptor }) => descriptor.platform === undefined || matcher.match(descriptor.platform));
  return candidates
    .sort((a, b) => {
      const pa = a.descriptor.platform;
      const pb = b.descriptor.platform;
      if (pa === undefined || pb === undefined) {
        if (pa === pb) return a.position - b.position;
        return pa === undefined ? 1 : -1;
      }
      return matcher.compare(pa, pb) || a.position - b.position;
    })
    .map(({ descriptor }) => descriptor);
}

/** The best entry for `platform`; NotFound, in Docker's words, when none matches. */
export function selectManifest(index: ImageIndex, platform?: Platform | PlatformMatcher): Descriptor {
  const matcher = toMatcher(platform);
  const best = matchingManifests(index, matcher)[0];
  if (best === undefined) {
    const available = index.manifests
      .map((descriptor) => descriptor.platform)
      .filter((p): p is Platform => p !== undefined && p.os !== 'unknown')
      .map(formatPlatform);
    throw notFound(`no matching manifest for ${formatPlatform(matcher.platform)} in the manifest list entries`, {
      hint: available.length > 0 ? `the image is available for: ${[...new Set(available)].join(', ')}` : undefined,
      details: { platform: formatPlatform(matcher.platform), available },
    });
  }
  return best;
}

function toMatcher(platform: Platform | PlatformMatcher | undefined): PlatformMatcher {
  if (platform === undefined) return platformMatcher();
  return 'match' in platform ? platform : platformMatcher(platform);
}
