import { invalidArgument, notFound } from '@ctr/errors';
import { PluginClient, type PluginClientOptions } from './client';
import { LegacyPluginSource, type LegacyPluginDirs } from './legacy';
import { ManagedPluginSource, type ManagedPlugins } from './managed';
import type { PluginEndpoint, PluginSource } from './source';

/** How an engine finds and reaches plugins (`EngineOptions.plugins`). */
export interface PluginOptions {
  /** Legacy plugins' socket and spec directories (docker's by default). */
  legacy?: LegacyPluginDirs;
  /** How long activating a plugin that cannot be reached yet is retried (docker's 30 s), in ms. */
  activateTimeoutMs?: number;
}

/**
 * Every plugin the engine can use, looked up through its sources in docker's order (moby's
 * plugingetter): managed plugins first, then legacy ones. The first source that has a plugin
 * of a name answers for it, whatever it implements.
 */
export class PluginDirectory {
  readonly sources: readonly PluginSource[];
  private readonly clientOptions: PluginClientOptions;

  /** `managed`: the engine's one manager of its managed plugins, which its plugin commands use too. */
  constructor(options: PluginOptions, managed: ManagedPlugins) {
    this.clientOptions = options.activateTimeoutMs !== undefined ? { activateTimeoutMs: options.activateTimeoutMs } : {};
    this.sources = [new ManagedPluginSource(managed), new LegacyPluginSource(options.legacy ?? {}, this.clientOptions)];
  }

  /**
   * The plugin `name` implementing `capability`: NotFound as docker's `plugin "X" not found`,
   * or refused in docker's words when the plugin implements something else.
   */
  async get(name: string, capability: string, signal?: AbortSignal): Promise<PluginEndpoint> {
    for (const source of this.sources) {
      const endpoint = await source.find(name, capability, signal);
      if (!endpoint) continue;
      if (!endpoint.implements.includes(capability)) {
        throw invalidArgument('Plugin does not implement the requested driver', { hint: `plugin ${name} implements ${endpoint.implements.join(', ') || 'nothing'}, not ${capability}` });
      }
      return endpoint;
    }
    throw notFound(`plugin ${JSON.stringify(name)} not found`);
  }

  /** Every plugin implementing `capability`, each name once (the first source's). */
  async all(capability: string, signal?: AbortSignal): Promise<PluginEndpoint[]> {
    const byName = new Map<string, PluginEndpoint>();
    for (const source of this.sources) {
      for (const endpoint of await source.list(capability, signal)) if (!byName.has(endpoint.name)) byName.set(endpoint.name, endpoint);
    }
    return [...byName.values()];
  }

  /** A client for calls to a plugin found here. */
  client(endpoint: PluginEndpoint): PluginClient {
    return new PluginClient(endpoint.address, this.clientOptions);
  }
}
