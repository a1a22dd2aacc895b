/**
 * Where the engine finds plugins. Docker has two kinds, looked up in this order (moby's
 * plugingetter): managed plugins (`docker plugin install/create/enable`, run by the engine
 * under runc) and legacy ones (a socket in /run/docker/plugins or a .spec/.json file, run by
 * someone else). Both are reached the same way once found: HTTP POSTs of JSON to an address.
 */

/** A plugin found by name, ready to be called. */
export interface PluginEndpoint {
  /** The name the user gave it: `sshfs` for a legacy plugin, `vieux/sshfs:latest` for a managed one. */
  readonly name: string;
  /** `unix:///run/docker/plugins/sshfs.sock`, or `tcp://127.0.0.1:8080` / `http://…` from a spec file. */
  readonly address: string;
  /** Docker's capability names the plugin implements: `VolumeDriver`, `NetworkDriver`, `IpamDriver`, `authz`, `LogDriver`. */
  readonly implements: readonly string[];
  /** Whether the engine runs it (a managed plugin); legacy plugins are run by someone else. */
  readonly managed: boolean;
  /**
   * A managed plugin's paths on the host, which a path it gives is inside (moby's ScopedPath):
   * its rootfs, and its PropagatedMount (`''` for none) with that mount's host side.
   */
  readonly paths?: { readonly rootfs: string; readonly propagatedMount: string; readonly propagatedRoot: string };
}

/** One kind of plugin: what it has, by name and capability. */
export interface PluginSource {
  /** The plugin called `name` that implements `capability`, or undefined when this source has none. */
  find(name: string, capability: string, signal?: AbortSignal): Promise<PluginEndpoint | undefined>;
  /** Every plugin of this source that implements `capability` (for `volume ls`, `info`'s plugin list). */
  list(capability: string, signal?: AbortSignal): Promise<PluginEndpoint[]>;
}
