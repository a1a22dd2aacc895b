import { invalidArgument } from '@ctr/errors';
import { applySpecOpts, baseSpec, containerDevices, withDevices, type Spec } from '@ctr/runtime';
import type { PluginInspect } from './plugin-store';

/** Where a plugin finds its socket directory, as in moby (`defaultPluginRuntimeDestination`). */
export const PLUGIN_RUNTIME_DESTINATION = '/run/docker/plugins';

/** What a plugin's spec is made of on the host. */
export interface PluginSpecPaths {
  rootfs: string;
  /** The host directory bind-mounted at /run/docker/plugins, where the plugin makes its socket. */
  socketDir: string;
  /** The host directory shared with the plugin at its PropagatedMount, when it has one. */
  propagatedRoot?: string;
  /** Parent cgroup of plugins: apart from containers'. */
  cgroupParent: string;
}

const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function withoutNamespace(spec: Spec, type: string): void {
  spec.linux.namespaces = (spec.linux.namespaces ?? []).filter((ns) => ns.type !== type);
}

/**
 * The OCI spec a plugin runs with: moby's Plugin.InitSpec. Docker's default spec (its
 * capabilities, namespaces, masked paths; no seccomp profile, as oci.DefaultSpec has none),
 * the plugin's rootfs writable, its socket directory at /run/docker/plugins, its config's
 * mounts (with the sources `plugin set` gave), host network / IPC / PID when asked, its
 * devices, `PATH` then its settings' Env, Entrypoint then its settings' Args, and its extra
 * capabilities in every set.
 */
export function pluginSpec(plugin: PluginInspect, paths: PluginSpecPaths): Spec {
  const { Config: config, Settings: settings } = plugin;
  const spec = baseSpec({ id: plugin.Id, rootfs: paths.rootfs, cgroupParent: paths.cgroupParent });
  delete spec.linux.seccomp;
  spec.hostname = plugin.Id.slice(0, 12);
  const userMounts = new Set(settings.Mounts.map((m) => m.Destination));
  if (config.PropagatedMount && paths.propagatedRoot) {
    spec.mounts.push({ source: paths.propagatedRoot, destination: config.PropagatedMount, type: 'bind', options: ['rbind', 'rw', 'rshared'] });
    spec.linux.rootfsPropagation = 'rshared';
  }
  const mounts = [...settings.Mounts.map((m) => ({ ...m })), { Name: '', Description: '', Settable: null, Source: paths.socketDir, Destination: PLUGIN_RUNTIME_DESTINATION, Type: 'bind', Options: ['rbind', 'rshared'] }];
  if (config.Network.Type !== '') {
    if (config.Network.Type === 'host') withoutNamespace(spec, 'network');
    for (const file of ['/etc/hosts', '/etc/resolv.conf']) mounts.push({ Name: '', Description: '', Settable: null, Source: file, Destination: file, Type: 'bind', Options: ['rbind', 'ro'] });
  }
  if (config.PidHost) withoutNamespace(spec, 'pid');
  if (config.IpcHost) withoutNamespace(spec, 'ipc');
  for (const mount of mounts) {
    if (mount.Source === null || mount.Source === '') throw invalidArgument(`mount source is not specified${mount.Name ? `: set it with \`docker plugin set ${plugin.Name} ${mount.Name}.source=PATH\`` : ''}`);
    spec.mounts.push({ source: mount.Source, destination: mount.Destination, type: mount.Type, options: [...(mount.Options ?? [])] });
  }
  // A default mount under /dev that the plugin mounts itself is the plugin's (moby drops the default).
  spec.mounts = spec.mounts.filter((m, i) => !(m.destination.startsWith('/dev/') && userMounts.has(m.destination) && i < spec.mounts.length - mounts.length));
  const devices = settings.Devices.flatMap((d) => (d.Path ? [{ pathOnHost: d.Path, pathInContainer: d.Path, permissions: 'rwm' }] : []));
  if (devices.length > 0) applySpecOpts(spec, [withDevices({}, { id: plugin.Id, rootfs: paths.rootfs, devices: containerDevices({ devices }) })]);
  if (config.Linux.AllowAllDevices) (spec.linux.resources ??= {}).devices = [{ allow: true, access: 'rwm' }];
  spec.process.env = [DEFAULT_PATH_ENV, ...settings.Env];
  spec.process.args = [...(config.Entrypoint ?? []), ...settings.Args];
  if (spec.process.args.length === 0) throw invalidArgument(`plugin ${plugin.Name} has no entrypoint: its config.json must give one`);
  spec.process.cwd = config.WorkDir || '/';
  spec.process.terminal = false;
  if (config.User.UID !== undefined || config.User.GID !== undefined) spec.process.user = { uid: config.User.UID ?? 0, gid: config.User.GID ?? 0 };
  const extra = (config.Linux.Capabilities ?? []).map((c) => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`));
  const caps = spec.process.capabilities;
  if (caps && extra.length > 0) {
    for (const set of ['bounding', 'permitted', 'inheritable', 'effective'] as const) caps[set] = [...new Set([...(caps[set] ?? []), ...extra])];
  }
  return spec;
}
