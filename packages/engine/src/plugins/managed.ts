import { constants as fsConstants, promises as fs, existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { aborted, conflict, internal, invalidArgument, isCtrError, unavailable } from '@ctr/errors';
import { applyLayer, decompressArchive, familiarString, formatReference, parseNormalizedReference, withDefaultTag, type Reference } from '@ctr/image';
import type { AuthConfig, PullProgress, PushProgress, RegistryClient } from '@ctr/registry';
import { Runtime, prepareRootfs } from '@ctr/runtime';
import { launchDetached, removeTreeBehind, type LocalContentStore } from '@ctr/store';
import { boolFilter, checkFilterKeys, patternMatch, type Filters } from '../filters';
import { credentialsOption } from '../images';
import { PluginClient } from './client';
import {
  checkPrivileges,
  computePrivileges,
  pluginBlobStore,
  pluginManifest,
  readPluginContent,
  releaseBlobs,
  storePluginContent,
  storeRootfsLayer,
  writePluginContent,
  type PluginContent,
  type PluginPrivilege,
} from './distribution';
import { pluginSpec } from './plugin-spec';
import { PluginStore, applySettings, initialSettings, interfaceType, parsePluginConfig, pluginName, type PluginConfig, type PluginInspect } from './plugin-store';
import type { PluginEndpoint, PluginSource } from './source';

export type { PluginInspect } from './plugin-store';
export type { PluginPrivilege } from './distribution';

const run = promisify(execFile);

export interface ManagedPluginsOptions {
  root: string;
  runRoot: string;
  runtimePath?: string;
  conmonPath?: string;
  /** Whether a volume or network uses the plugin `name` (`disable` and `rm` refuse then, unless forced). */
  inUse?: (name: string) => Promise<boolean>;
  /** Told of each change, as dockerd logs plugin events (`create`, `pull`, `enable`, `disable`, `remove`). */
  onEvent?: (action: string, id: string, name: string) => Promise<void>;
  /** The engine's registry client: how plugins are pushed and pulled. */
  registry?: () => RegistryClient;
  /** What a created plugin's config says made it (`DockerVersion`). */
  version?: string;
}

/** What every call that reaches a registry takes. */
export interface PluginRegistryOptions {
  /** Credentials for the registry, for this call only (`X-Registry-Auth`). */
  auth?: AuthConfig;
  signal?: AbortSignal;
}

export interface PluginPullOptions extends PluginRegistryOptions {
  /** The local name (`--alias`); by default the remote's, tagged. */
  name?: string;
  /** What the user granted: exactly what the plugin's config asks for, or the pull is refused (moby's check). */
  privileges: readonly PluginPrivilege[];
  onProgress?: (event: PullProgress) => void;
}

export interface PluginPushOptions extends PluginRegistryOptions {
  onProgress?: (event: PushProgress) => void;
}

/** What `docker plugin push` ends with: the tag, and the manifest the registry now holds under it. */
export interface PushedPlugin {
  tag: string;
  digest: string;
  size: number;
}

export interface PluginListOptions {
  /** docker's `enabled` and `capability` filters. */
  filters?: Filters;
}

export interface PluginEnableOptions {
  /** Seconds to wait for the plugin to listen and answer Plugin.Activate (docker's `--timeout`, default 30). */
  timeout?: number;
  signal?: AbortSignal;
}

/** How the manager is told which plugins enabled before went down and came back (or did not). */
export interface RestoredPlugins {
  restored: string[];
  /** Plugins that would not start again, now disabled, with why. */
  failed: { name: string; error: string }[];
}

/** Plugin capabilities as the plugin protocol names them (what Plugin.Activate answers), by moby's lower-case type. */
const CAPABILITY_NAMES: Readonly<Record<string, string>> = {
  volumedriver: 'VolumeDriver',
  networkdriver: 'NetworkDriver',
  ipamdriver: 'IpamDriver',
  authz: 'authz',
  logdriver: 'LogDriver',
  metricscollector: 'MetricsCollector',
};

/** What a plugin implements, as its config's `docker.*` interface types say. */
export function pluginImplements(plugin: PluginInspect): string[] {
  return (plugin.Config.Interface.Types ?? [])
    .map(interfaceType)
    .filter((t) => t.Prefix === 'docker')
    .map((t) => CAPABILITY_NAMES[t.Capability] ?? t.Capability);
}

/** How long moby waits after SIGTERM before it kills a plugin. */
const STOP_TIMEOUT_SECONDS = 10;
const DEFAULT_ENABLE_TIMEOUT_SECONDS = 30;
/** The longest path a unix socket address holds (sun_path, less its terminating NUL). */
const MAX_SOCKET_PATH = 107;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Docker's managed plugins (`docker plugin create/ls/inspect/enable/disable/rm/set`): stored
 * under `<root>/plugins/<id>/`, and run, while enabled, by runc under conmon as Podman runs
 * containers — their state outlives this process, and any later process on the root finds
 * them running. They are not containers: their runtime state is apart (`<root>/plugins/runtime`,
 * `<runRoot>/plugins/runtime`), so `ps -a` and `info` never count them. Each plugin's socket
 * directory is `<runRoot>/plugins/<short id>/`, bind-mounted at /run/docker/plugins inside it.
 */
export class ManagedPlugins {
  readonly store: PluginStore;
  /** The plugins' blobs (moby's plugin blob store): what `push` sends and `pull` fetches into. */
  readonly blobs: LocalContentStore;
  private readonly runtime: Runtime;
  private readonly socketsDir: string;
  private restoring: Promise<RestoredPlugins> | undefined;

  constructor(private readonly options: ManagedPluginsOptions) {
    this.store = new PluginStore(options.root);
    this.blobs = pluginBlobStore(this.store.dir);
    this.socketsDir = path.join(options.runRoot, 'plugins');
    this.runtime = new Runtime({
      root: path.join(this.store.dir, 'runtime'),
      runRoot: path.join(this.socketsDir, 'runtime'),
      cgroupParent: '/ctr-plugins',
      ...(options.runtimePath ? { runtimePath: options.runtimePath } : {}),
      ...(options.conmonPath ? { conmonPath: options.conmonPath } : {}),
      launch: launchDetached,
      removeTree: removeTreeBehind,
    });
  }

  /**
   * A plugin's socket directory on the host: by its short ID, which the store keeps unique,
   * because a unix socket's path has at most 107 bytes and a run root may be deep already.
   */
  socketDir(plugin: PluginInspect): string {
    return path.join(this.socketsDir, plugin.Id.slice(0, 12));
  }

  /** Where a plugin's socket appears on the host. */
  socketPath(plugin: PluginInspect): string {
    return path.join(this.socketDir(plugin), plugin.Config.Interface.Socket);
  }

  /** The plugin as the engine's plugin lookup reaches it. */
  endpoint(plugin: PluginInspect): PluginEndpoint {
    const paths = { rootfs: this.store.rootfs(plugin.Id), propagatedMount: plugin.Config.PropagatedMount, propagatedRoot: path.join(this.store.pluginDir(plugin.Id), 'propagated-mount') };
    return { name: plugin.Name, address: `unix://${this.socketPath(plugin)}`, implements: pluginImplements(plugin), managed: true, paths };
  }

  /** `docker plugin ls`: dockerd's filters (`enabled=true|false`; `capability=`, which every interface type must match, as moby checks it). */
  async list(options: PluginListOptions = {}): Promise<PluginInspect[]> {
    const filters = options.filters ?? {};
    checkFilterKeys(filters, ['enabled', 'capability']);
    const enabled = boolFilter(filters, 'enabled');
    await this.restore();
    return (await this.store.list()).filter(
      (p) =>
        (enabled === undefined || p.Enabled === enabled) &&
        (filters.capability === undefined || (p.Config.Interface.Types ?? []).every((t) => patternMatch(filters.capability, interfaceType(t).Capability))),
    );
  }

  async inspect(refOrId: string): Promise<PluginInspect> {
    await this.restore();
    return this.store.find(refOrId);
  }

  /**
   * `docker plugin create NAME DIR` (`POST /plugins/create`): a tar holding `config.json` and
   * `rootfs/` (gzip or not) becomes a disabled plugin. The rootfs is unpacked as a layer is
   * (nothing escapes it), the config is read as dockerd reads it, and the plugin appears whole or not at all.
   */
  async create(reference: string, tar: Readable, options: { signal?: AbortSignal } = {}): Promise<PluginInspect> {
    const name = pluginName(reference);
    await this.store.checkNameFree(name);
    const temp = await this.store.tempDir();
    try {
      const unpacked = path.join(temp, 'context');
      await fs.mkdir(unpacked, { mode: 0o700 });
      await applyLayer(unpacked, await decompressArchive(tar), { ...(options.signal ? { signal: options.signal } : {}) });
      const configText = await readContextConfig(path.join(unpacked, 'config.json'));
      const config = parsePluginConfig(configText);
      const rootfsStat = await fs.lstat(path.join(unpacked, 'rootfs')).catch(() => undefined);
      if (!rootfsStat?.isDirectory()) throw invalidArgument('no rootfs found', { hint: 'the plugin directory must hold rootfs/ beside config.json' });
      await fs.rename(path.join(unpacked, 'rootfs'), path.join(temp, 'rootfs'));
      await fs.rm(unpacked, { recursive: true, force: true });
      // The rootfs stored as the layer `plugin push` sends, as moby's create stores it.
      const layer = await storeRootfsLayer(this.blobs, path.join(temp, 'rootfs'), options.signal);
      const stored = await storePluginContent(this.blobs, config, layer, this.options.version ?? '');
      await writePluginContent(temp, stored.content);
      return await this.committing(stored.content, async () => {
        await this.store.checkNameFree(name);
        const plugin: PluginInspect = { Config: stored.config, Enabled: false, Id: this.store.newId(), Name: name, PluginReference: name, Settings: initialSettings(stored.config) };
        await this.store.commit(temp, plugin);
        await this.options.onEvent?.('create', plugin.Id, name);
        return plugin;
      });
    } finally {
      await fs.rm(temp, { recursive: true, force: true });
    }
  }

  /** `docker plugin enable`: start the plugin and wait until it answers Plugin.Activate; failing that, nothing of it runs. */
  async enable(refOrId: string, options: PluginEnableOptions = {}): Promise<void> {
    const timeout = options.timeout ?? DEFAULT_ENABLE_TIMEOUT_SECONDS;
    if (timeout < 0) throw invalidArgument(`negative timeout ${timeout} is invalid`);
    await this.restore();
    await this.store.locked(async () => {
      const plugin = await this.store.find(refOrId);
      if (plugin.Enabled) throw conflict(`plugin ${plugin.Name} is already enabled`);
      await this.start(plugin, timeout === 0 ? DEFAULT_ENABLE_TIMEOUT_SECONDS : timeout, options.signal);
      await this.store.save({ ...plugin, Enabled: true });
      await this.options.onEvent?.('enable', plugin.Id, refOrId);
    });
  }

  /** `docker plugin disable`: stop it (SIGTERM, then SIGKILL after 10 s, as moby). Refused while in use, unless forced. */
  async disable(refOrId: string, options: { force?: boolean } = {}): Promise<void> {
    await this.store.locked(async () => {
      const plugin = await this.store.find(refOrId);
      if (!options.force && (await this.options.inUse?.(plugin.Name))) throw conflict(`plugin ${plugin.Name} is in use`);
      if (!plugin.Enabled) throw conflict(`plugin ${plugin.Name} is already disabled`);
      await this.stop(plugin);
      await this.store.save({ ...plugin, Enabled: false });
      await this.options.onEvent?.('disable', plugin.Id, refOrId);
    });
  }

  /** `docker plugin rm`: refused for an enabled or used plugin unless forced (which disables it first). */
  async remove(refOrId: string, options: { force?: boolean } = {}): Promise<void> {
    await this.store.locked(async () => {
      const plugin = await this.store.find(refOrId);
      if (!options.force) {
        if (await this.options.inUse?.(plugin.Name)) throw conflict(`plugin ${plugin.Name} is in use`);
        if (plugin.Enabled) throw conflict(`plugin ${plugin.Name} is enabled`, { hint: 'disable it first, or remove it with --force' });
      }
      await this.stop(plugin);
      const content = await readPluginContent(this.store.pluginDir(plugin.Id));
      await this.store.remove(plugin.Id);
      await this.releaseUnused(content);
      await this.options.onEvent?.('remove', plugin.Id, refOrId);
    });
  }

  /** `docker plugin set PLUGIN KEY=VALUE…`: a disabled plugin's env, args, mount sources and device paths. */
  async set(refOrId: string, args: readonly string[]): Promise<void> {
    await this.store.locked(async () => {
      await this.store.save(applySettings(await this.store.find(refOrId), args));
    });
  }

  /**
   * `docker plugin push NAME` (`POST /plugins/{name}/push`): the plugin, as its create or pull
   * stored it (its config as first written, its rootfs layer), to the registry its name says.
   */
  async push(refOrId: string, options: PluginPushOptions = {}): Promise<PushedPlugin> {
    const plugin = await this.inspect(refOrId);
    const ref = withDefaultTag(parseNormalizedReference(plugin.Name));
    const content = await this.contentOf(plugin, options.signal);
    await this.registry().push(ref, {
      store: this.blobs,
      manifest: content.manifest,
      ...credentialsOption(options.auth),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    return { tag: ref.tag ?? 'latest', digest: content.manifest.digest, size: content.manifest.size };
  }

  /** `GET /plugins/privileges?remote=`: what the remote plugin's config asks of the host. */
  async privileges(remote: string, options: PluginRegistryOptions = {}): Promise<PluginPrivilege[]> {
    const ref = remoteReference(remote);
    const { config } = await this.fetchConfig(ref, options);
    return computePrivileges(config);
  }

  /**
   * `docker plugin install`'s pull (`POST /plugins/pull`): the remote plugin fetched into the
   * blob store, its config's privileges checked against those granted, its layer unpacked, and
   * the plugin made, disabled, under its local name. Setting and enabling are the caller's, as
   * docker's client does them after the pull.
   */
  async pull(remote: string, options: PluginPullOptions): Promise<PluginInspect> {
    const ref = remoteReference(remote);
    // A digest pins what is pulled, not the local name: moby's getName keeps the repository and tag.
    const name = pluginName(options.name || familiarString(withDefaultTag({ domain: ref.domain, path: ref.path, ...(ref.tag !== undefined ? { tag: ref.tag } : {}) })));
    await this.store.checkNameFree(name);
    const temp = await this.store.tempDir();
    try {
      const { config, content } = await this.fetch(ref, temp, options);
      return await this.committing(content, async () => {
        await this.store.checkNameFree(name);
        const plugin: PluginInspect = { Config: config, Enabled: false, Id: this.store.newId(), Name: name, PluginReference: formatReference(ref), Settings: initialSettings(config) };
        await writePluginContent(temp, content);
        await this.store.commit(temp, plugin);
        await this.options.onEvent?.('pull', familiarString(ref), name);
        return plugin;
      });
    } finally {
      await fs.rm(temp, { recursive: true, force: true });
    }
  }

  /**
   * `docker plugin upgrade PLUGIN [REMOTE]` (`POST /plugins/{name}/upgrade`): a disabled
   * plugin's rootfs and config replaced by the remote's; its ID, name and settings stay (moby's upgradePlugin).
   */
  async upgrade(refOrId: string, remote: string, options: Omit<PluginPullOptions, 'name'>): Promise<PluginInspect> {
    const ref = remoteReference(remote);
    const before = await this.inspect(refOrId);
    if (before.Enabled) throw conflict(`plugin must be disabled before upgrading: plugin ${before.Name} is enabled`);
    const temp = await this.store.tempDir();
    try {
      const { config, content } = await this.fetch(ref, temp, options);
      return await this.committing(content, async () => {
        const plugin = await this.store.find(before.Id);
        if (plugin.Enabled) throw conflict(`plugin must be disabled before upgrading: plugin ${plugin.Name} is enabled`);
        const old = await readPluginContent(this.store.pluginDir(plugin.Id));
        const upgraded: PluginInspect = { ...plugin, Config: config, PluginReference: formatReference(ref) };
        await writePluginContent(temp, content);
        await this.store.replace(temp, upgraded);
        await this.releaseUnused(old);
        await this.options.onEvent?.('pull', familiarString(ref), plugin.Name);
        return upgraded;
      });
    } finally {
      await fs.rm(temp, { recursive: true, force: true });
    }
  }

  private registry(): RegistryClient {
    if (!this.options.registry) throw internal('this plugin manager has no registry client');
    return this.options.registry();
  }

  /** The remote's manifest and config, refused unless it is a plugin's. */
  private async fetchConfig(ref: Reference, options: PluginRegistryOptions): Promise<{ ref: Reference; config: PluginConfig }> {
    const request = { ...credentialsOption(options.auth), ...(options.signal ? { signal: options.signal } : {}) };
    const fetched = await this.registry().fetchManifest(ref, request);
    const manifest = pluginManifest(fetched.bytes, fetched.descriptor.mediaType, familiarString(ref));
    const bytes = await this.registry().fetchSmallBlob(ref, manifest.config.digest, request);
    // Pinned: what is pulled next is what was checked.
    return { ref: { ...ref, digest: fetched.descriptor.digest }, config: parsePluginConfig(bytes.toString('utf8')) };
  }

  /**
   * `commit` under the plugins' lock, for content already in the blob store: if it fails (the
   * name taken meanwhile, the plugin enabled meanwhile, a write refused), the blobs no plugin
   * holds go again, so a refused create, pull or upgrade leaves none behind.
   */
  private async committing<T>(content: PluginContent, commit: () => Promise<T>): Promise<T> {
    return this.store.locked(async () => {
      try {
        return await commit();
      } catch (error) {
        await this.releaseUnused(content).catch(() => undefined);
        throw error;
      }
    });
  }

  /** Delete the blobs of `content` that no plugin holds now (called under the plugins' lock). */
  private async releaseUnused(content: PluginContent | undefined): Promise<void> {
    const kept = await this.store.list();
    await releaseBlobs(this.blobs, content, await Promise.all(kept.map((p) => readPluginContent(this.store.pluginDir(p.Id)))));
  }

  /**
   * Fetch a plugin into the blob store, check the privileges granted, and unpack its layers in
   * order into `<temp>/rootfs`: what pull and upgrade share.
   */
  private async fetch(ref: Reference, temp: string, options: Omit<PluginPullOptions, 'name'>): Promise<{ config: PluginConfig; content: PluginContent }> {
    const checked = await this.fetchConfig(ref, options);
    checkPrivileges(computePrivileges(checked.config), options.privileges);
    const pulled = await this.registry().pull(checked.ref, {
      store: this.blobs,
      ...credentialsOption(options.auth),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const rootfs = path.join(temp, 'rootfs');
    await fs.mkdir(rootfs, { mode: 0o755 });
    for (const layer of pulled.layers) {
      await applyLayer(rootfs, await decompressArchive(await this.blobs.read(layer.digest)), options.signal ? { signal: options.signal } : {});
    }
    const config = parsePluginConfig((await this.blobs.readBytes(pulled.config.digest)).toString('utf8'));
    return { config, content: { manifest: pulled.manifest, config: pulled.config, layers: pulled.layers } };
  }

  /**
   * What a plugin's push sends. A plugin made before its blobs were kept has its rootfs stored
   * now, as moby builds a manifest for a plugin that lacks one.
   */
  private async contentOf(plugin: PluginInspect, signal?: AbortSignal): Promise<PluginContent> {
    const dir = this.store.pluginDir(plugin.Id);
    const kept = await readPluginContent(dir);
    if (kept && (await this.blobs.has(kept.manifest.digest))) return kept;
    const layer = await storeRootfsLayer(this.blobs, this.store.rootfs(plugin.Id), signal);
    const { content } = await storePluginContent(this.blobs, plugin.Config, layer, this.options.version ?? '');
    await writePluginContent(dir, content);
    return content;
  }

  /**
   * As dockerd restores plugins at its start: those enabled whose process is gone (the run root
   * lost with a reboot, a crash) are started again; one that will not start is marked disabled.
   * Once per manager, when plugins are first asked for; `force` looks again.
   */
  restore(force = false): Promise<RestoredPlugins> {
    if (force || !this.restoring) {
      this.restoring = this.restoreNow();
      this.restoring.catch(() => (this.restoring = undefined));
    }
    return this.restoring;
  }

  private async restoreNow(): Promise<RestoredPlugins> {
    const result: RestoredPlugins = { restored: [], failed: [] };
    if (!existsSync(this.store.dir)) return result;
    await this.store.locked(() => this.store.sweep());
    for (const listed of await this.store.list()) {
      if (!listed.Enabled || (await this.running(listed.Id))) continue;
      await this.store.locked(async () => {
        const plugin = await this.store.find(listed.Id);
        if (!plugin.Enabled || (await this.running(plugin.Id))) return;
        try {
          await this.start(plugin, DEFAULT_ENABLE_TIMEOUT_SECONDS);
          result.restored.push(plugin.Name);
        } catch (error) {
          await this.store.save({ ...plugin, Enabled: false });
          result.failed.push({ name: plugin.Name, error: (error as Error).message });
        }
      });
    }
    return result;
  }

  private async running(id: string): Promise<boolean> {
    return (await this.runtime.state(id).catch(() => undefined))?.running === true;
  }

  private async start(plugin: PluginInspect, timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    await this.stop(plugin);
    if (Buffer.byteLength(this.socketPath(plugin)) > MAX_SOCKET_PATH) {
      throw invalidArgument(`plugin ${plugin.Name}'s socket path ${this.socketPath(plugin)} is longer than a unix socket's ${MAX_SOCKET_PATH} bytes`, {
        hint: 'use a shorter run root (--runroot, CTR_RUNROOT) or a shorter Interface.Socket',
      });
    }
    const socketDir = this.socketDir(plugin);
    const rootfs = this.store.rootfs(plugin.Id);
    try {
      // Inside the try: a failure after the socket directory or the shared mount is made undoes them.
      await fs.mkdir(socketDir, { recursive: true, mode: 0o700 });
      const propagatedRoot = plugin.Config.PropagatedMount ? await this.sharePropagatedRoot(plugin) : undefined;
      const spec = pluginSpec(plugin, { rootfs, socketDir, cgroupParent: '/ctr-plugins', ...(propagatedRoot ? { propagatedRoot } : {}) });
      await prepareRootfs(rootfs);
      await this.runtime.create(plugin.Id, { rootfs, spec });
      await this.runtime.start(plugin.Id, signal ? { signal } : {});
      const deadline = Date.now() + timeoutSeconds * 1000;
      await this.waitForSocket(plugin, deadline, signal);
      const implemented = await new PluginClient(`unix://${this.socketPath(plugin)}`, { activateTimeoutMs: Math.max(0, deadline - Date.now()) }).activate(signal);
      const wanted = pluginImplements(plugin).filter((c) => !implemented.includes(c));
      if (wanted.length > 0) throw internal(`plugin ${plugin.Name} does not implement ${wanted.join(', ')}, which its config.json declares: Plugin.Activate answered ${JSON.stringify(implemented)}`);
    } catch (error) {
      const why = await this.exitReason(plugin);
      await this.stop(plugin);
      if (why) throw internal(`error enabling plugin ${plugin.Name}: ${why}`, { cause: error });
      throw error;
    }
  }

  /** Until the plugin's socket exists (Plugin.Activate then retries until it answers); a plugin that exits first fails the wait at once. */
  private async waitForSocket(plugin: PluginInspect, deadline: number, signal?: AbortSignal): Promise<void> {
    const socket = this.socketPath(plugin);
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      if (signal?.aborted) throw aborted(signal, `enabling plugin ${plugin.Name}`);
      if (existsSync(socket)) return;
      if (!(await this.running(plugin.Id))) throw internal(`plugin ${plugin.Name} exited before it listened on its socket`);
      if (Date.now() > deadline) {
        throw unavailable(`timeout waiting for plugin ${plugin.Name} to listen on ${plugin.Config.Interface.Socket || 'its socket'}`, {
          hint: `the plugin must make its socket in /run/docker/plugins; a slow plugin can be given longer with --timeout`,
        });
      }
      await sleep(pause);
    }
  }

  /** Why a plugin that failed to start did: its exit and the last lines it wrote, if it has exited. */
  private async exitReason(plugin: PluginInspect): Promise<string | undefined> {
    const state = await this.runtime.state(plugin.Id).catch(() => undefined);
    if (!state || state.running) return undefined;
    const lines: string[] = [];
    try {
      for await (const entry of this.runtime.logs(plugin.Id, {})) lines.push(entry.line);
    } catch {
      // No log: the exit says enough.
    }
    const said = lines.slice(-3).join('\n');
    const how = state.error || `its process exited with code ${state.exitCode}`;
    return `${how} before it listened on its socket${said ? `; it wrote:\n${said}` : ''}`;
  }

  /** Stop and forget a plugin's process and what was made for it on the host; nothing when it has none. */
  private async stop(plugin: PluginInspect): Promise<void> {
    const state = await this.runtime.state(plugin.Id).catch((error: unknown) => {
      if (isCtrError(error) && error.code === 'NotFound') return undefined;
      throw error;
    });
    if (state) {
      if (state.running) await this.runtime.stop(plugin.Id, { timeout: STOP_TIMEOUT_SECONDS, signal: 'SIGTERM' });
      await this.runtime.delete(plugin.Id, { force: true });
    }
    await this.releasePropagatedRoot(plugin);
    await fs.rm(this.socketDir(plugin), { recursive: true, force: true });
  }

  /**
   * A PropagatedMount's host side, as moby makes it: `<plugin dir>/propagated-mount`, a shared
   * bind mount of itself, so what the plugin mounts there is seen on the host.
   */
  private async sharePropagatedRoot(plugin: PluginInspect): Promise<string> {
    const dir = path.join(this.store.pluginDir(plugin.Id), 'propagated-mount');
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    await run('mount', ['--bind', dir, dir]);
    await run('mount', ['--make-rshared', dir]);
    return dir;
  }

  private async releasePropagatedRoot(plugin: PluginInspect): Promise<void> {
    if (!plugin.Config.PropagatedMount) return;
    const dir = path.join(this.store.pluginDir(plugin.Id), 'propagated-mount');
    // Everything the plugin left mounted under it goes with it (moby's RecursiveUnmount).
    while (await mountedAt(dir)) await run('umount', ['-l', dir]);
  }
}

/**
 * A create context's config.json, refused unless a regular file: moby reads it from the tar
 * itself, so a link in the tar must not read a host file instead, nor a FIFO hang the create.
 */
async function readContextConfig(file: string): Promise<string> {
  const notFound = (hint: string): Error => invalidArgument('config not found', { hint });
  const handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw notFound('the plugin directory must hold config.json beside rootfs/');
    if (error.code === 'ELOOP') throw notFound('config.json must be a regular file, not a symbolic link');
    throw error;
  });
  try {
    if (!(await handle.stat()).isFile()) throw notFound('config.json must be a regular file');
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

async function mountedAt(dir: string): Promise<boolean> {
  const table = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return table.split('\n').some((line) => line.split(' ')[4] === dir);
}

/** A remote plugin reference as moby takes it: normalised, `latest` when it has neither tag nor digest. */
function remoteReference(remote: string): Reference {
  try {
    return withDefaultTag(parseNormalizedReference(remote));
  } catch (error) {
    throw invalidArgument(`invalid remote reference: ${(error as Error).message}`);
  }
}

/**
 * Managed plugins as a source of the engine's plugin lookup (moby's plugin store ahead of
 * legacy plugins): an enabled plugin of the name that has the capability; one found but
 * disabled is refused, as dockerd refuses it, rather than left to a legacy plugin of that name.
 */
export class ManagedPluginSource implements PluginSource {
  constructor(private readonly plugins: ManagedPlugins) {}

  /** The capability is the lookup's to check (PluginDirectory.get): a plugin of the name answers for it either way. */
  async find(name: string): Promise<PluginEndpoint | undefined> {
    if (!existsSync(this.plugins.store.dir)) return undefined;
    let plugin: PluginInspect;
    try {
      plugin = await this.plugins.inspect(name);
    } catch (error) {
      if (isCtrError(error) && error.code === 'NotFound') return undefined;
      throw error;
    }
    if (!plugin.Enabled) throw conflict(`plugin ${name} found but disabled`);
    return this.plugins.endpoint(plugin);
  }

  async list(capability: string): Promise<PluginEndpoint[]> {
    if (!existsSync(this.plugins.store.dir)) return [];
    const plugins = await this.plugins.list({ filters: { enabled: ['true'] } });
    return plugins.map((p) => this.plugins.endpoint(p)).filter((e) => e.implements.includes(capability));
  }
}
