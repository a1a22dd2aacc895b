/**
 * The string formats image documents use, shared by parsing and schema validation so
 * both apply one definition.
 */

/** RFC 6838 media type as the OCI schema restricts it: `type/subtype`, each ≤ 127 characters. */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
/** Standard base64 with padding (what Go's encoding/json requires of `[]byte`). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** RFC 3339 date-time, as Go's time.Time marshals it. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
/** Env entries are `KEY=value` with a non-empty key (the OCI validator's rule). */
const ENV_ENTRY = /^[^=]+=/;

export function isMediaType(text: string): boolean {
  return MEDIA_TYPE.test(text);
}

export function isBase64(text: string): boolean {
  return BASE64.test(text);
}

export function isDateTime(text: string): boolean {
  return DATE_TIME.test(text) && !Number.isNaN(Date.parse(text));
}

export function isEnvEntry(text: string): boolean {
  return ENV_ENTRY.test(text);
}

export function isAbsoluteUrl(text: string): boolean {
  try {
    return new URL(text).protocol.length > 1;
  } catch {
    return false;
  }
}
