import type { ProcessSpec, Spec } from '../oci-spec';
import { exactInteger, parseExactJson } from './exact-json';

/**
 * An rlimit without a limit: RLIM_INFINITY is 2^64-1, which no JS number holds; the nearest
 * double, 2^64, stands for it in memory, and is what `JSON.parse` makes of its exact text.
 */
export const RLIM_INFINITY = 2 ** 64;

/** How `JSON.stringify` writes RLIM_INFINITY, a number runc's uint64 refuses. */
const INFINITY_AS_DOUBLE = JSON.stringify(RLIM_INFINITY);

/** What a bigint (a seccomp value past 2^53) is written as first, to be replaced by its digits. */
const EXACT = 'uint64';

/** The spec's fields a bigint can be: a seccomp argument's uint64s. */
const EXACT_FIELDS = ['value', 'valueTwo'];

/**
 * A spec (or an exec's process) as runc reads it: JSON with RLIM_INFINITY and a seccomp value past
 * 2^53 written exactly. Keys inside JSON strings have their quotes escaped, and no map of the spec
 * holds an object, so the patterns meet those fields only.
 */
export function ociJson(value: Spec | ProcessSpec): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? { [EXACT]: v.toString() } : v))
    .replace(new RegExp(`"(hard|soft)":${INFINITY_AS_DOUBLE}(?=[,}])`, 'g'), '"$1":18446744073709551615')
    .replace(new RegExp(`"(${EXACT_FIELDS.join('|')})":\\{"${EXACT}":"([0-9]+)"\\}`, 'g'), '"$1":$2');
}

/** A spec `ociJson` wrote, read back with its seccomp values as exact as they were (an rlimit's 2^64-1 reads as RLIM_INFINITY). */
export function readOciJson(text: string): Spec {
  return parseExactJson(text, (literal, key) => (key !== undefined && EXACT_FIELDS.includes(key) ? exactInteger(literal) : Number(literal))) as unknown as Spec;
}
