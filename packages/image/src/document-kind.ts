import { invalidArgument, unsupported } from '@ctr/errors';
import { readMediaType } from './descriptor-parse';
import { MAX_DOCUMENT_BYTES, parseJsonObject } from './json';
import { JsonFields } from './json-fields';
import { isIndexType, isManifestType, MediaTypes } from './media-types';

/**
 * Deciding whether a document is an image manifest or an image index — the decision
 * CVE-2021-41190 was about. A document that could be read as either (it has `manifests`
 * and also `config`/`layers`), or whose `mediaType` says one thing while the registry's
 * Content-Type says another, is refused rather than guessed at, so that no two readers
 * (a registry, a signer, a puller) can see different images behind one digest.
 */

export type DocumentKind = 'manifest' | 'index';

export interface KindedDocument {
  kind: DocumentKind;
  /** The declared media type, or the OCI one when neither the body nor Content-Type gives it. */
  mediaType: string;
  fields: JsonFields;
}

/** Content-Types that say nothing about which document it is (some registries and files send these). */
const GENERIC_CONTENT_TYPES: ReadonlySet<string> = new Set(['', 'application/json', 'application/octet-stream', 'text/plain']);

const SCHEMA1_TYPES: ReadonlySet<string> = new Set([MediaTypes.dockerManifestV1, MediaTypes.dockerManifestV1Signed]);

/** Parse the bytes of a manifest or index and decide which it is, refusing ambiguity. */
export function readManifestDocument(
  bytes: Uint8Array | string,
  contentType: string | undefined,
  expected: DocumentKind | 'either',
): KindedDocument {
  const what = expected === 'index' ? 'image index' : expected === 'manifest' ? 'image manifest' : 'manifest';
  const fields = new JsonFields(parseJsonObject(bytes, { what, maxBytes: MAX_DOCUMENT_BYTES }), what);
  const { kind, mediaType } = decideKind(fields, contentType, expected === 'either' ? 'manifest' : expected);
  if (expected !== 'either' && kind !== expected) {
    throw invalidArgument(
      `expected an ${describe(expected)} but got an ${describe(kind)} (${mediaType})`,
      { hint: kind === 'index' ? 'select a platform from the index first' : undefined },
    );
  }
  const schemaVersion = fields.raw('schemaVersion');
  if (schemaVersion !== 2) {
    throw fields.error('schemaVersion', `must be 2, got ${schemaVersion === undefined ? 'nothing' : JSON.stringify(schemaVersion)}`);
  }
  return { kind, mediaType, fields: new JsonFields(fields.json, describe(kind)) };
}

function decideKind(
  fields: JsonFields,
  contentType: string | undefined,
  fallback: DocumentKind,
): { kind: DocumentKind; mediaType: string } {
  const body = readMediaType(fields, 'mediaType');
  const header = mediaTypeOfContentType(contentType);
  if (body !== undefined && header !== undefined && body !== header && !GENERIC_CONTENT_TYPES.has(header)) {
    throw invalidArgument(`manifest mediaType "${body}" contradicts its Content-Type "${header}"`, {
      hint: 'a document must declare the same type in its body and its Content-Type (CVE-2021-41190)',
    });
  }
  const declared = body ?? (header !== undefined && !GENERIC_CONTENT_TYPES.has(header) ? header : undefined);
  const looksLikeIndex = fields.has('manifests');
  const looksLikeManifest = fields.has('config') || fields.has('layers');
  if (looksLikeIndex && looksLikeManifest) {
    throw invalidArgument('manifest is ambiguous: it has both "manifests" (an index) and "config"/"layers" (a manifest)', {
      hint: 'such documents are refused because different clients would read them differently (CVE-2021-41190)',
    });
  }
  if ((declared !== undefined && SCHEMA1_TYPES.has(declared)) || fields.raw('schemaVersion') === 1) throw schema1();
  if (declared === undefined) {
    // Neither says: the shape decides, and a shapeless document is what the caller expected.
    const kind = looksLikeIndex ? 'index' : looksLikeManifest ? 'manifest' : fallback;
    return { kind, mediaType: kind === 'index' ? MediaTypes.ociIndex : MediaTypes.ociManifest };
  }
  if (isIndexType(declared)) {
    if (looksLikeManifest) throw contradiction(declared, 'an index', '"config"/"layers"');
    return { kind: 'index', mediaType: declared };
  }
  if (isManifestType(declared)) {
    if (looksLikeIndex) throw contradiction(declared, 'a manifest', '"manifests"');
    return { kind: 'manifest', mediaType: declared };
  }
  throw unsupported(`unsupported manifest media type "${declared}"`, {
    hint: `ctr reads ${[MediaTypes.ociManifest, MediaTypes.ociIndex, MediaTypes.dockerManifest, MediaTypes.dockerManifestList].join(', ')}`,
  });
}

/** The media type part of a Content-Type header, lowercased, without parameters. */
export function mediaTypeOfContentType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  return (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
}

function describe(kind: DocumentKind): string {
  return kind === 'index' ? 'image index' : 'image manifest';
}

function contradiction(declared: string, says: string, has: string): Error {
  return invalidArgument(`manifest is ambiguous: its media type ${declared} says ${says}, but it has ${has}`, {
    hint: 'such documents are refused because different clients would read them differently (CVE-2021-41190)',
  });
}

function schema1(): Error {
  return unsupported('Docker Image manifest version 2, schema 1 is not supported', {
    hint: 'the image is in a format deprecated since 2017; rebuild or re-push it with a current client',
  });
}
