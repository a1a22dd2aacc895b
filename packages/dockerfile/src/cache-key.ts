import { createHash } from 'node:crypto';

/**
 * A step's cache key: the parent's key (which starts from the base image ID, so two bases can
 * never share a key — SECURITY-CASES B6) plus everything that decides the step's result.
 */
export function cacheKey(parent: string, ...parts: string[]): string {
  return createHash('sha256').update(JSON.stringify([parent, ...parts])).digest('hex');
}
