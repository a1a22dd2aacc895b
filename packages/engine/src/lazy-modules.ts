/**
 * Packages only some calls need, loaded on first use so that `ctr run` does not pay for
 * them at start: the registry client brings undici (≈70 ms to load here), the Dockerfile
 * builder its parser. `require`, not `import()`: the build is CommonJS.
 */
export function registryModule(): typeof import('@ctr/registry') {
  return require('@ctr/registry') as typeof import('@ctr/registry');
}

export function dockerfileModule(): typeof import('@ctr/dockerfile') {
  return require('@ctr/dockerfile') as typeof import('@ctr/dockerfile');
}
