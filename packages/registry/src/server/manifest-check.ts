import { isIndexType, isManifestType, MediaTypes, parseDigest, type Descriptor, type Digest } from '@ctr/image';
import { DistributionError } from './distribution-error';

export interface ManifestReference {
  digest: Digest;
  /** Manifests of an index must be in the repository; blobs of a manifest must be linked to it. */
  kind: 'blob' | 'manifest';
}

export interface CheckedManifest {
  mediaType: string;
  subject?: Digest;
  /** What must already be in the repository before this manifest is accepted. */
  references: ManifestReference[];
  /** How the manifest is listed by the referrers API (digest and size filled in by the caller). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface Document {
  schemaVersion?: unknown;
  mediaType?: unknown;
  config?: unknown;
  layers?: unknown;
  manifests?: unknown;
  subject?: unknown;
  artifactType?: unknown;
  annotations?: unknown;
}

const nondistributable: ReadonlySet<string> = new Set([
  MediaTypes.ociLayerNondistributable,
  MediaTypes.ociLayerNondistributableGzip,
  MediaTypes.ociLayerNondistributableZstd,
  MediaTypes.dockerLayerForeignGzip,
]);

/**
 * Check a pushed manifest or index before anything is stored. Refuses documents whose
 * kind is ambiguous — both an index and a manifest, or a `mediaType` that contradicts the
 * request's Content-Type (CVE-2021-41190, SECURITY-CASES G1).
 */
export function checkManifest(body: Buffer, contentType: string | undefined): CheckedManifest {
  const doc = parseDocument(body);
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const sent = contentType?.split(';')[0]?.trim() || undefined;
  if (declared !== undefined && sent !== undefined && declared !== sent) {
    throw invalid(`mediaType "${declared}" does not match Content-Type "${sent}"`);
  }
  const isIndex = doc.manifests !== undefined;
  if (isIndex && (doc.layers !== undefined || doc.config !== undefined)) {
    throw invalid('document has both "manifests" and "config"/"layers": it is ambiguous');
  }
  const mediaType = declared ?? sent ?? (isIndex ? MediaTypes.ociIndex : MediaTypes.ociManifest);
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  if (isIndexType(mediaType)) return checkIndex(doc, mediaType);
  if (isManifestType(mediaType)) return checkImageManifest(doc, mediaType);
  throw invalid(`unsupported manifest media type "${mediaType}"`);
}

function checkIndex(doc: Document, mediaType: string): CheckedManifest {
  if (doc.config !== undefined || doc.layers !== undefined) throw invalid('an index has no "config" or "layers"');
  const manifests = descriptors(doc.manifests, 'manifests');
  return finish(doc, mediaType, manifests.map((d) => ({ digest: d.digest, kind: 'manifest' as const })), undefined);
}

function checkImageManifest(doc: Document, mediaType: string): CheckedManifest {
  if (doc.manifests !== undefined) throw invalid('an image manifest has no "manifests"');
  const [config] = descriptors([doc.config], 'config');
  const layers = descriptors(doc.layers, 'layers');
  const references: ManifestReference[] = [{ digest: config!.digest, kind: 'blob' }];
  for (const layer of layers) {
    // Foreign layers are fetched from their `urls`, not from us; they are never pushed.
    if (nondistributable.has(layer.mediaType) || (layer.urls?.length ?? 0) > 0) continue;
    references.push({ digest: layer.digest, kind: 'blob' });
  }
  return finish(doc, mediaType, references, config!.mediaType);
}

function finish(
  doc: Document,
  mediaType: string,
  references: ManifestReference[],
  configType: string | undefined,
): CheckedManifest {
  const out: CheckedManifest = { mediaType, references };
  if (doc.subject !== undefined) out.subject = descriptors([doc.subject], 'subject')[0]!.digest;
  const artifactType = typeof doc.artifactType === 'string' ? doc.artifactType : configType;
  if (artifactType !== undefined) out.artifactType = artifactType;
  if (doc.annotations !== null && typeof doc.annotations === 'object') {
    out.annotations = doc.annotations as Record<string, string>;
  }
  return out;
}

function parseDocument(body: Buffer): Document {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw invalid(`manifest is not JSON: ${(error as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalid('manifest is not a JSON object');
  return doc as Document;
}

function descriptors(value: unknown, field: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(`"${field}" must be a list of descriptors`);
  return value.map((entry: unknown) => {
    const d = entry as Partial<Descriptor> | null;
    if (d === null || typeof d !== 'object' || typeof d.mediaType !== 'string' || typeof d.size !== 'number') {
      throw invalid(`"${field}" holds an entry that is not a descriptor`);
    }
    try {
      return { ...d, digest: parseDigest(String(d.digest)) } as Descriptor;
    } catch (error) {
      throw invalid(`"${field}": ${(error as Error).message}`);
    }
  });
}

function invalid(detail: string): DistributionError {
  return new DistributionError('MANIFEST_INVALID', detail, `manifest invalid: ${detail}`);
}
