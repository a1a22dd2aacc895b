import type { Platform } from './descriptor';
import type { DiffID } from './digest';
import type { ContainerConfig, HistoryEntry, ImageConfig } from './config';
import { MediaTypes } from './media-types';
import { serializeDocument, type SerializedDocument } from './manifest';
import { normalizePlatform } from './platform';

/**
 * Pure functions that make and change image configs (after go-containerregistry's
 * `mutate`): each returns a new config and leaves its input alone, so a builder can keep
 * every intermediate state it may want to cache.
 */

export interface CreateImageConfigOptions {
  platform: Platform;
  config?: ContainerConfig;
  created?: Date | string;
  author?: string;
}

/** An image with no layers yet (`FROM scratch`). */
export function createImageConfig(options: CreateImageConfigOptions): ImageConfig {
  const platform = normalizePlatform(options.platform);
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
  if (platform.variant !== undefined) config.variant = platform.variant;
  if (platform['os.version'] !== undefined) config['os.version'] = platform['os.version'];
  if (options.created !== undefined) config.created = toDateTime(options.created);
  if (options.author !== undefined) config.author = options.author;
  if (options.config !== undefined) config.config = { ...options.config };
  return config;
}

/** Add a layer on top, with the history entry that made it. */
export function appendLayer(config: ImageConfig, diffId: DiffID, history: HistoryEntry): ImageConfig {
  const { empty_layer: _notEmpty, ...entry } = history;
  return {
    ...config,
    rootfs: { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffId] },
    history: [...(config.history ?? []), entry],
    ...(history.created === undefined ? {} : { created: history.created }),
  };
}

/** Record a step that changed only metadata (ENV, CMD, LABEL…): history marked `empty_layer`. */
export function appendEmptyLayerHistory(config: ImageConfig, history: HistoryEntry): ImageConfig {
  return {
    ...config,
    history: [...(config.history ?? []), { ...history, empty_layer: true }],
    ...(history.created === undefined ? {} : { created: history.created }),
  };
}

/** Change the runtime defaults (`config`), merging `changes` over what is there. */
export function withContainerConfig(config: ImageConfig, changes: ContainerConfig): ImageConfig {
  return { ...config, config: { ...config.config, ...changes } };
}

/** The platform an image config says it is for. */
export function configPlatform(config: ImageConfig): Platform {
  const platform: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant !== undefined) platform.variant = config.variant;
  if (config['os.version'] !== undefined) platform['os.version'] = config['os.version'];
  return normalizePlatform(platform);
}

/** Canonical config bytes and their descriptor; the digest is the image ID. */
export function serializeImageConfig(
  config: ImageConfig,
  mediaType: typeof MediaTypes.ociConfig | typeof MediaTypes.dockerConfig = MediaTypes.ociConfig,
): SerializedDocument {
  return serializeDocument(config, mediaType);
}

function toDateTime(value: Date | string): string {
  return typeof value === 'string' ? value : value.toISOString();
}

/** A config's `Env` (`KEY=value` entries) as a map; an entry without `=` has the empty value. */
export function envMap(env: readonly string[] = []): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of env) {
    const eq = entry.indexOf('=');
    map.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1));
  }
  return map;
}

/** `Env` with `key` set to `value`: in place of an earlier entry for it, else appended (as ENV does). */
export function withEnv(env: readonly string[] = [], key: string, value: string): string[] {
  const next = [...env];
  const at = next.findIndex((e) => e === key || e.startsWith(`${key}=`));
  if (at >= 0) next[at] = `${key}=${value}`;
  else next.push(`${key}=${value}`);
  return next;
}
