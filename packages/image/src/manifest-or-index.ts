import { readManifestDocument } from './document-kind';
import { indexFromFields, type ImageIndex } from './image-index';
import { manifestFromFields, type ImageManifest } from './manifest';

/** What a registry or layout returned for a reference: a manifest or an index, never both. */
export type ManifestOrIndex =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

/**
 * Parse a document that may be either (what `GET /v2/<name>/manifests/<ref>` returns).
 * The kind comes from the declared media type (body, else Content-Type), else from the
 * shape; a document that could be read both ways is refused (CVE-2021-41190).
 */
export function parseManifestOrIndex(bytes: Uint8Array | string, contentType?: string): ManifestOrIndex {
  const { kind, mediaType, fields } = readManifestDocument(bytes, contentType, 'either');
  return kind === 'index'
    ? { kind, mediaType, index: indexFromFields(fields, mediaType) }
    : { kind, mediaType, manifest: manifestFromFields(fields, mediaType) };
}
