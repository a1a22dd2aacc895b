/**
 * The distribution spec's grammar for repository names and tags. Everything a request
 * names is checked against it before it is used as a storage path (SECURITY-CASES G3:
 * `..`, `%2e%2e`, uppercase and empty components never get past here).
 */
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
export const REPOSITORY_PATTERN = `${COMPONENT}(?:/${COMPONENT})*`;
const REPOSITORY = new RegExp(`^${REPOSITORY_PATTERN}$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const MAX_REPOSITORY_LENGTH = 255;

export function isRepositoryName(value: string): boolean {
  return value.length <= MAX_REPOSITORY_LENGTH && REPOSITORY.test(value);
}

export function isTag(value: string): boolean {
  return TAG.test(value);
}
