import { createHash } from 'node:crypto';

/**
 * A step's cache key: the parent's key (which starts from the base image ID, so two bases can
 * never share a key — SECURITY-CASES B6) plus everything that decides the step's result.
 */
export function cacheKey(parent: string, ...parts: string[]): string {
  return createHash('sha256').update(JSON.stringify([parent, ...parts])).digest('hex');
}

/**
 * Raised when a step's result changes for the same inputs (what the builder writes, not what
 * it is given), so that a cache kept on disk by an older ctr misses instead of answering with
 * the old content. 2: `COPY --from` keeps owners, an archive's entries keep theirs, directories
 * a copy makes are dated, a RUN that changes nothing adds no layer.
 */
const GENERATION = 'generation 2';

/** The key a chain of steps starts from (a base image, scratch, a named context), of this builder's generation. */
export function rootKey(kind: 'image' | 'scratch' | 'named-context', ...parts: string[]): string {
  return cacheKey(GENERATION, kind, ...parts);
}
