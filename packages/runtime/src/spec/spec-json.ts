import type { ProcessSpec, Spec } from '../oci-spec';

/**
 * An rlimit without a limit: RLIM_INFINITY is 2^64-1, which no JS number holds; the nearest
 * double, 2^64, stands for it in memory, and is what `JSON.parse` makes of its exact text.
 */
export const RLIM_INFINITY = 2 ** 64;

/** How `JSON.stringify` writes RLIM_INFINITY, a number runc's uint64 refuses. */
const INFINITY_AS_DOUBLE = JSON.stringify(RLIM_INFINITY);

/**
 * A spec (or an exec's process) as runc reads it: JSON with RLIM_INFINITY written exactly. Keys
 * inside JSON strings have their quotes escaped, so the pattern meets real rlimit fields only.
 */
export function ociJson(value: Spec | ProcessSpec): string {
  return JSON.stringify(value).replace(new RegExp(`"(hard|soft)":${INFINITY_AS_DOUBLE}(?=[,}])`, 'g'), '"$1":18446744073709551615');
}
