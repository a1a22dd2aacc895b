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

/**
 * Volume plugins: loaded only when a plugin driver is named (a volume's, a container's
 * mount's), so that containers with local volumes alone never load the plugin client.
 */
export function pluginDirectoryModule(): typeof import('./plugins/directory') {
  return require('./plugins/directory') as typeof import('./plugins/directory');
}

export function volumePluginsModule(): typeof import('./plugins/volume-driver') {
  return require('./plugins/volume-driver') as typeof import('./plugins/volume-driver');
}

export function pluginMountsModule(): typeof import('./plugins/volume-mounts') {
  return require('./plugins/volume-mounts') as typeof import('./plugins/volume-mounts');
}

/** Network plugins: loaded only when a network's driver is not built in. */
export function networkPluginsModule(): typeof import('./plugins/network-driver') {
  return require('./plugins/network-driver') as typeof import('./plugins/network-driver');
}

/** IPAM plugins: loaded only when a network's IPAM driver is not `default`. */
export function ipamPluginsModule(): typeof import('./plugins/ipam-driver') {
  return require('./plugins/ipam-driver') as typeof import('./plugins/ipam-driver');
}

/** Logging plugins: only containers whose log driver is one load the plugin client. */
export function logDriverModule(): typeof import('./plugins/log-driver') {
  return require('./plugins/log-driver') as typeof import('./plugins/log-driver');
}

/** Managed plugins: only `plugin` commands and plugin lookups need them (not `run`). */
export function pluginsModule(): typeof import('./plugins/managed') {
  return require('./plugins/managed') as typeof import('./plugins/managed');
}
