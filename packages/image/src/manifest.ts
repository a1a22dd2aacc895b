import type { Descriptor } from './descriptor';
import { parseDescriptor, readMediaType } from './descriptor-parse';
import { digestOf } from './digest';
import { readManifestDocument } from './document-kind';
import { canonicalJsonBytes } from './json';
import type { JsonFields } from './json-fields';
import { MediaTypes } from './media-types';

/** An image manifest: OCI `application/vnd.oci.image.manifest.v1+json` or Docker schema 2. */
export interface ImageManifest {
  schemaVersion: 2;
  /** Absent in some registries' OCI manifests; `manifestMediaType` fills it in. */
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  /** Base layer first. May be empty (artifacts; registries must accept it). */
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/**
 * Parse and validate an image manifest. `contentType` is the HTTP Content-Type (or the
 * descriptor's media type) it came with; when both it and the body name a media type they
 * must agree. Throws InvalidArgument naming the bad field, Unsupported for schema 1.
 */
export function parseManifest(bytes: Uint8Array | string, contentType?: string): ImageManifest {
  const { mediaType, fields } = readManifestDocument(bytes, contentType, 'manifest');
  return manifestFromFields(fields, mediaType);
}

/** Build the typed manifest from a document already known to be one. */
export function manifestFromFields(fields: JsonFields, mediaType: string): ImageManifest {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    config: parseDescriptor(fields.object('config')),
    layers: fields.objects('layers').map(parseDescriptor),
  };
  if (fields.has('mediaType')) manifest.mediaType = mediaType;
  const artifactType = readMediaType(fields, 'artifactType');
  if (artifactType !== undefined) manifest.artifactType = artifactType;
  const subject = fields.optionalObject('subject');
  if (subject !== undefined) manifest.subject = parseDescriptor(subject);
  const annotations = fields.optionalStringMap('annotations');
  if (annotations !== undefined) manifest.annotations = annotations;
  return manifest;
}

/** The manifest's media type, OCI's when the document leaves it out. */
export function manifestMediaType(manifest: Pick<ImageManifest, 'mediaType'>): string {
  return manifest.mediaType ?? MediaTypes.ociManifest;
}

export interface CreateManifestOptions {
  config: Descriptor;
  layers: readonly Descriptor[];
  /** OCI (default) or Docker schema 2 (`MediaTypes.dockerManifest`). */
  mediaType?: typeof MediaTypes.ociManifest | typeof MediaTypes.dockerManifest;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** A manifest we are making (build, commit, import), always with its mediaType set. */
export function createManifest(options: CreateManifestOptions): ImageManifest {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: options.mediaType ?? MediaTypes.ociManifest,
    config: options.config,
    layers: [...options.layers],
  };
  if (options.artifactType !== undefined) manifest.artifactType = options.artifactType;
  if (options.subject !== undefined) manifest.subject = options.subject;
  if (options.annotations !== undefined) manifest.annotations = options.annotations;
  return manifest;
}

/** The bytes to store and push for a document we made, and the descriptor that names them. */
export interface SerializedDocument {
  bytes: Buffer;
  descriptor: Descriptor;
}

/** Canonical bytes of a manifest, index or config, with the descriptor pointing at them. */
export function serializeDocument(value: object, mediaType: string): SerializedDocument {
  const bytes = canonicalJsonBytes(value);
  return { bytes, descriptor: { mediaType, digest: digestOf(bytes), size: bytes.length } };
}

/** `serializeDocument` for a manifest, using its own media type. */
export function serializeManifest(manifest: ImageManifest): SerializedDocument {
  return serializeDocument(manifest, manifestMediaType(manifest));
}
