import {
  appendLayer,
  createLayerFromOverlay,
  historyEntry,
  withContainerConfig,
  writeImage,
  writeLayer,
  type ContainerConfig,
} from '@ctr/image';
import type { EngineContext } from './context';
import { INIT_FILES } from './init-files';
import type { Containers } from './containers';
import { familiarImageName, normalizeImageName, type Images } from './images';

export interface CommitOptions {
  /** `repository[:tag]` for the new image. */
  reference?: string;
  comment?: string;
  author?: string;
  /** Config changes (`--change` already parsed): replaces the fields given. */
  changes?: ContainerConfig;
  /** Pause the container while its filesystem is read (default true, like docker). */
  pause?: boolean;
  signal?: AbortSignal;
}

/**
 * `docker commit`: the container's writable layer (its overlay upper directory, whose
 * whiteouts become `.wh.` entries) on top of its image, as a new image.
 */
export async function commitContainer(
  ctx: EngineContext,
  containers: Containers,
  images: Images,
  ref: string,
  options: CommitOptions = {},
): Promise<{ id: string }> {
  const record = await containers.find(ref);
  const base = await images.resolve(record.imageId);
  const state = await ctx.runtime.state(record.id);
  const pause = (options.pause ?? true) && state.running && !state.paused;
  if (pause) await ctx.runtime.pause(record.id);
  try {
    return await ctx.store.leases.withLease(async (lease) => {
      const content = ctx.store.content.withLease(lease.id);
      const upper = await ctx.store.snapshots.upperDir(record.snapshot);
      const signal = options.signal ? { signal: options.signal } : {};
      const { descriptor, diffId } = await writeLayer(content, createLayerFromOverlay(upper, { ...signal, exclude: INIT_FILES }), { compression: 'gzip', ...signal });
      const containerConfig: ContainerConfig = { ...(base.config.config ?? {}), ...(options.changes ?? {}) };
      const config = appendLayer(
        withContainerConfig({ ...base.config, created: new Date().toISOString(), ...(options.author ? { author: options.author } : {}) }, containerConfig),
        diffId,
        historyEntry('', { ...(options.comment ? { comment: options.comment } : {}), ...(options.author ? { author: options.author } : {}) }),
      );
      const written = await writeImage(content, config, [...base.layers, descriptor], signal);
      const name = options.reference ? normalizeImageName(options.reference) : undefined;
      await ctx.store.images.put(name, { id: written.imageId, target: written.manifest });
      await ctx.events.emit('container', 'commit', record.id, {
        name: record.name,
        ...(name ? { imageName: familiarImageName(name) } : {}),
      });
      return { id: written.imageId };
    });
  } finally {
    if (pause) await ctx.runtime.unpause(record.id).catch(() => undefined);
  }
}
