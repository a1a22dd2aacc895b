import { invalidArgument } from '@ctr/errors';

/**
 * JSON in and out for image documents (manifests, indexes, configs).
 *
 * In: bounded and unambiguous. A registry must accept manifests of 4 MiB, so the cap is
 * well above that; nesting is bounded so a hostile document cannot exhaust the stack; and
 * a key repeated in one object is refused, because parsers disagree on which copy wins —
 * the same family of confusion as CVE-2021-41190.
 *
 * Out: canonical bytes (keys sorted, no whitespace), so a document we make has one digest.
 */

/** Largest manifest, index or config accepted: 16 MiB. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/** Deepest nesting of objects and arrays accepted. */
export const MAX_DOCUMENT_DEPTH = 64;

// Not streaming, so one decoder serves every call.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface ParseJsonOptions {
  /** What the bytes are, for messages: "image manifest", "image config". */
  what?: string;
  maxBytes?: number;
  maxDepth?: number;
}

/** Parse bytes of a JSON document, refusing oversized, too deep, non-UTF-8 and duplicate-key input. */
export function parseJson(bytes: Uint8Array | string, options: ParseJsonOptions = {}): JsonValue {
  const what = options.what ?? 'JSON document';
  const maxBytes = options.maxBytes ?? MAX_DOCUMENT_BYTES;
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (size > maxBytes) {
    throw invalidArgument(`${what} is ${size} bytes, larger than the ${maxBytes} bytes allowed`, {
      details: { size, limit: maxBytes },
    });
  }
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : utf8.decode(bytes);
  } catch (cause) {
    throw invalidArgument(`${what} is not valid UTF-8`, { cause });
  }
  // Before JSON.parse: a deeply nested document costs JSON.parse seconds and hundreds of MiB.
  checkStructure(text, what, options.maxDepth ?? MAX_DOCUMENT_DEPTH);
  try {
    return JSON.parse(text) as JsonValue;
  } catch (cause) {
    throw invalidArgument(`${what} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** Parse, and require a JSON object at the top. */
export function parseJsonObject(bytes: Uint8Array | string, options: ParseJsonOptions = {}): JsonObject {
  const value = parseJson(bytes, options);
  if (!isJsonObject(value)) {
    throw invalidArgument(`${options.what ?? 'JSON document'} must be a JSON object, not ${jsonTypeOf(value)}`);
  }
  return value;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "an array", "a string", "null"… for messages. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

/**
 * The canonical JSON text of a value: object keys sorted by code unit, no whitespace,
 * `undefined` members left out. Arrays keep their order.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/** `canonicalJson` as UTF-8 bytes — what to store and digest. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : sortKeys(item)));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) Object.defineProperty(out, key, { value: sortKeys(member), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * One pass over the text: measure nesting and find keys repeated within one object.
 * Malformed text may pass or trip it; JSON.parse, which runs next, rejects what passes.
 */
function checkStructure(text: string, what: string, maxDepth: number): void {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = endOfString(text, i);
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (top.has(key)) {
          throw invalidArgument(`${what} is ambiguous: key "${key}" appears twice in one object`, {
            hint: 'JSON parsers disagree on which copy wins, so such documents are refused',
          });
        }
        top.add(key);
      }
      expectKey = false;
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      stack.push(c === 0x7b ? new Set() : null);
      if (stack.length > maxDepth) {
        throw invalidArgument(`${what} nests objects and arrays deeper than ${maxDepth} levels`);
      }
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
}

/** Index of the quote closing the string that opens at `start` (a quote preceded by an even run of backslashes). */
function endOfString(text: string, start: number): number {
  let quote = text.indexOf('"', start + 1);
  while (quote !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
    quote = text.indexOf('"', quote + 1);
  }
  return text.length - 1;
}
