import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '@ctr/errors';
import { PluginClient, type PluginClientOptions } from './client';
import type { PluginEndpoint, PluginSource } from './source';

/** Where legacy plugins are looked for: docker's directories unless an engine's options say others. */
export interface LegacyPluginDirs {
  /** Sockets: `NAME.sock` or `NAME/NAME.sock` (docker's /run/docker/plugins). */
  sockets?: readonly string[];
  /** Spec files: `NAME.spec` (a URL on one line) or `NAME.json` (`{Name, Addr, TLSConfig}`), or either under `NAME/`. */
  specs?: readonly string[];
}

export const DEFAULT_SOCKET_DIRS: readonly string[] = ['/run/docker/plugins'];
export const DEFAULT_SPEC_DIRS: readonly string[] = ['/etc/docker/plugins', '/usr/lib/docker/plugins'];

const SPEC_EXTENSIONS = ['.spec', '.json'] as const;

/**
 * A spec file's address: `.spec` holds a URL alone, `.json` a `{Name, Addr, TLSConfig}` object.
 * A URL without a scheme is refused as docker refuses it.
 */
async function specAddress(file: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8');
  let address = text.trim();
  if (file.endsWith('.json')) {
    const parsed = JSON.parse(text) as { Addr?: unknown };
    address = typeof parsed.Addr === 'string' ? parsed.Addr.trim() : '';
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) throw invalidArgument(`plugin spec ${file}: Unknown protocol in address ${JSON.stringify(address)}`);
  return address;
}

/**
 * Legacy plugins: run by someone else, found by name in socket and spec directories as moby's
 * pkg/plugins discovery finds them (a socket first, then a spec file, in the directories'
 * order), and activated once per engine: what a plugin implements is asked at first contact.
 */
export class LegacyPluginSource implements PluginSource {
  private readonly sockets: readonly string[];
  private readonly specs: readonly string[];
  private readonly activated = new Map<string, Promise<PluginEndpoint>>();

  constructor(dirs: LegacyPluginDirs = {}, private readonly clientOptions: PluginClientOptions = {}) {
    // `$CTR_PLUGINS_DIR` stands for all of docker's directories (as `$CTR_RESOLV_CONF` for the
    // host's resolver file): a test's plugins, seen by every ctr process on its root alike.
    const fromEnv = process.env.CTR_PLUGINS_DIR ? [process.env.CTR_PLUGINS_DIR] : undefined;
    this.sockets = dirs.sockets ?? fromEnv ?? DEFAULT_SOCKET_DIRS;
    this.specs = dirs.specs ?? fromEnv ?? DEFAULT_SPEC_DIRS;
  }

  async find(name: string, _capability: string, signal?: AbortSignal): Promise<PluginEndpoint | undefined> {
    const address = await this.address(name);
    if (address === undefined) return undefined;
    // Found but not implementing `capability`: returned all the same, for the caller to refuse in
    // docker's words rather than look further (a plugin's name is its own, whatever it implements).
    return this.activate(name, address, signal);
  }

  async list(capability: string, signal?: AbortSignal): Promise<PluginEndpoint[]> {
    const found: PluginEndpoint[] = [];
    for (const name of await this.names()) {
      const address = await this.address(name);
      if (address === undefined) continue;
      // As docker's GetAll: one that does not answer is left out of the list, not an error of it.
      const endpoint = await this.activate(name, address, signal, { activateTimeoutMs: 0 }).catch(() => undefined);
      if (endpoint?.implements.includes(capability)) found.push(endpoint);
    }
    return found;
  }

  /** The plugin's address: its socket, else its spec file's URL; undefined when there is neither. */
  private async address(name: string): Promise<string | undefined> {
    if (name === '' || name.includes('/') || name === '.' || name === '..') return undefined;
    for (const dir of this.sockets) {
      for (const socket of [path.join(dir, `${name}.sock`), path.join(dir, name, `${name}.sock`)]) {
        if (existsSync(socket)) return `unix://${socket}`;
      }
    }
    for (const dir of this.specs) {
      for (const ext of SPEC_EXTENSIONS) {
        for (const file of [path.join(dir, `${name}${ext}`), path.join(dir, name, `${name}${ext}`)]) {
          if (existsSync(file)) return specAddress(file);
        }
      }
    }
    return undefined;
  }

  /** Every plugin name the directories hold, first place first, each once. */
  private async names(): Promise<string[]> {
    const names = new Set<string>();
    const entries = async (dir: string): Promise<string[]> => fs.readdir(dir).catch(() => []);
    for (const dir of this.sockets) {
      for (const entry of await entries(dir)) {
        if (entry.endsWith('.sock')) names.add(entry.slice(0, -'.sock'.length));
        else if (existsSync(path.join(dir, entry, `${entry}.sock`))) names.add(entry);
      }
    }
    for (const dir of this.specs) {
      for (const entry of await entries(dir)) {
        const ext = SPEC_EXTENSIONS.find((e) => entry.endsWith(e));
        if (ext) names.add(entry.slice(0, -ext.length));
        else if (SPEC_EXTENSIONS.some((e) => existsSync(path.join(dir, entry, `${entry}${e}`)))) names.add(entry);
      }
    }
    return [...names];
  }

  private activate(name: string, address: string, signal: AbortSignal | undefined, options: PluginClientOptions = {}): Promise<PluginEndpoint> {
    const key = `${name}\0${address}`;
    let endpoint = this.activated.get(key);
    if (!endpoint) {
      const client = new PluginClient(address, { ...this.clientOptions, ...options });
      endpoint = client.activate(signal).then((implementsList) => ({ name, address, implements: implementsList, managed: false }));
      this.activated.set(key, endpoint);
      // A plugin that could not be activated is asked again next time (it may have started since).
      endpoint.catch(() => this.activated.delete(key));
    }
    return endpoint;
  }
}
