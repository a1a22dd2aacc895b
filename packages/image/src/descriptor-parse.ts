import { isCtrError } from '@ctr/errors';
import type { Descriptor, Platform } from './descriptor';
import { digestOf, parseDigest, type Digest } from './digest';
import { isAbsoluteUrl, isBase64, isMediaType } from './formats';
import { fieldError, type JsonFields } from './json-fields';


/** Read a media type member, checking its syntax. */
export function readMediaType(fields: JsonFields, key: string): string | undefined {
  const value = fields.optionalString(key);
  if (value !== undefined && !isMediaType(value)) {
    throw fields.error(key, `"${value}" is not a media type (expected type/subtype)`);
  }
  return value;
}

/**
 * Read a content descriptor, checking every member a store or a client will act on:
 * the digest (it becomes a file path), the size (it bounds a download), embedded data
 * (it must be the bytes the digest names).
 */
export function parseDescriptor(fields: JsonFields): Descriptor {
  const mediaType = readMediaType(fields, 'mediaType');
  if (mediaType === undefined) throw fields.error('mediaType', 'is required');
  const digest = readDigest(fields, 'digest');
  const size = fields.integer('size');
  const descriptor: Descriptor = { mediaType, digest, size };

  const urls = fields.optionalStringArray('urls');
  if (urls !== undefined) {
    urls.forEach((url, i) => {
      if (!isAbsoluteUrl(url)) throw fields.error(`urls[${i}]`, `"${url}" is not an absolute URL`);
    });
    descriptor.urls = urls;
  }
  const annotations = fields.optionalStringMap('annotations');
  if (annotations !== undefined) descriptor.annotations = annotations;
  const artifactType = readMediaType(fields, 'artifactType');
  if (artifactType !== undefined) descriptor.artifactType = artifactType;
  const data = fields.optionalString('data');
  if (data !== undefined) {
    checkEmbeddedData(fields, data, digest, size);
    descriptor.data = data;
  }
  const platform = fields.optionalObject('platform');
  if (platform !== undefined) descriptor.platform = parsePlatformFields(platform);
  return descriptor;
}

export function parsePlatformFields(fields: JsonFields): Platform {
  const platform: Platform = { architecture: fields.string('architecture'), os: fields.string('os') };
  const osVersion = fields.optionalString('os.version');
  if (osVersion !== undefined) platform['os.version'] = osVersion;
  const osFeatures = fields.optionalStringArray('os.features');
  if (osFeatures !== undefined) platform['os.features'] = osFeatures;
  const variant = fields.optionalString('variant');
  if (variant !== undefined && variant !== '') platform.variant = variant;
  const features = fields.optionalStringArray('features');
  if (features !== undefined) platform.features = features;
  return platform;
}

/** Read a digest member, with the field's path in the message when it is malformed. */
export function readDigest(fields: JsonFields, key: string): Digest {
  return checkDigest(fields.string(key), fields.what, fields.fieldPath(key));
}

/** `parseDigest`, its message prefixed with where in which document the digest was. */
export function checkDigest(text: string, what: string, path: string): Digest {
  try {
    return parseDigest(text);
  } catch (cause) {
    if (!isCtrError(cause)) throw cause;
    throw fieldError(what, path, `is invalid: ${cause.message}`);
  }
}

function checkEmbeddedData(fields: JsonFields, data: string, digest: Digest, size: number): void {
  if (!isBase64(data)) throw fields.error('data', 'is not valid base64');
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length !== size) {
    throw fields.error('data', `holds ${bytes.length} bytes but the descriptor's size is ${size}`);
  }
  if (digestOf(bytes) !== digest) throw fields.error('data', `does not match the descriptor's digest ${digest}`);
}
