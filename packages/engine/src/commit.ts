import {
  appendLayer,
  createLayerFromOverlay,
  historyEntry,
  nowRfc3339Nano,
  writeImage,
  writeLayer,
  type ContainerConfig,
} from '@ctr/image';
import { lowerEntries } from './changes';
import { holdRootfs } from './container-root';
import { applyConfigChanges } from './config-changes';
import type { EngineContext } from './context';
import { containerInitEntries } from './init-entries';
import { quiesce } from './quiesce';
import type { ContainerInspect, Containers } from './containers';
import { familiarImageName, normalizeImageName, type Images } from './images';

export interface CommitOptions {
  /** `repository[:tag]` for the new image. */
  reference?: string;
  comment?: string;
  author?: string;
  /** Fields that replace the container's own in the image's config (docker's commit `Config`). */
  config?: ContainerConfig;
  /** docker's `--change`: Dockerfile instructions (`CMD ["sh"]`, `ENV A=1`) applied last. */
  changes?: string[];
  /** Pause the container while its filesystem is read (default true, like docker). */
  pause?: boolean;
  signal?: AbortSignal;
}

/**
 * The image config a commit keeps of a container's own (moby merges the container's config
 * under the `--change`s): its environment, command, entrypoint, user, working directory,
 * labels, ports, volumes, stop signal and health check as the container was made, not as its
 * image had them. What a container has no say in (the shell, ONBUILD triggers) stays the image's.
 */
function committedConfig(base: ContainerConfig, own: ContainerInspect['Config'], stopSignal: string | undefined): ContainerConfig {
  const config: ContainerConfig = {
    ...(base.Shell ? { Shell: base.Shell } : {}),
    ...(base.OnBuild ? { OnBuild: base.OnBuild } : {}),
    ...(base.ArgsEscaped !== undefined ? { ArgsEscaped: base.ArgsEscaped } : {}),
    ...(own.Env ? { Env: own.Env } : {}),
  };
  if (own.User) config.User = own.User;
  if (own.ExposedPorts) config.ExposedPorts = own.ExposedPorts;
  if (own.Entrypoint) config.Entrypoint = own.Entrypoint;
  if (own.Cmd) config.Cmd = own.Cmd;
  if (own.Volumes && Object.keys(own.Volumes).length > 0) config.Volumes = own.Volumes;
  if (own.WorkingDir) config.WorkingDir = own.WorkingDir;
  if (Object.keys(own.Labels).length > 0) config.Labels = own.Labels;
  // Inspect shows the signal a stop sends (SIGTERM by default); the image keeps one only where given.
  const signal = stopSignal ?? base.StopSignal;
  if (signal) config.StopSignal = signal;
  if (own.Healthcheck) config.Healthcheck = own.Healthcheck;
  return config;
}

/**
 * `docker commit`: the container's writable layer (its overlay upper directory, whose
 * whiteouts become `.wh.` entries, less the runtime's init entries) on top of its image, as a
 * new image. The container is held meanwhile, as moby's commit holds it: its removal waits
 * for the commit, and one under way refuses it.
 */
export async function commitContainer(
  ctx: EngineContext,
  containers: Containers,
  images: Images,
  ref: string,
  options: CommitOptions = {},
): Promise<{ id: string }> {
  const record = await containers.find(ref);
  const release = await holdRootfs(ctx, record, 'committed', { mount: false, refusal: `You cannot commit container ${record.id} which is being removed` });
  let resume: (() => Promise<void>) | undefined;
  try {
    const base = await images.resolve(record.imageId);
    const own = (await containers.inspect(record.id)).Config;
    resume = (options.pause ?? true) ? await quiesce(ctx, record.id) : undefined;
    return await ctx.store.leases.withLease(async (lease) => {
      const content = ctx.store.content.withLease(lease.id);
      // The lease holds the base image's content, which the new image names: an rmi meanwhile keeps it.
      await content.info(base.record.target.digest);
      const upper = await ctx.store.snapshots.upperDir(record.snapshot);
      // What the runtime made to mount over is Docker's init layer, never committed.
      const exclude = containerInitEntries(upper, await lowerEntries(ctx, record.snapshot));
      const signal = options.signal ? { signal: options.signal } : {};
      let size = 0;
      const onSize = (measured: number): void => {
        size = measured;
      };
      const { descriptor, diffId } = await writeLayer(content, createLayerFromOverlay(upper, { ...signal, exclude, onSize }), { compression: 'gzip', ...signal });
      const given: ContainerConfig = { ...committedConfig(base.config.config ?? {}, own, record.run.stopSignal), ...(options.config ?? {}) };
      const containerConfig = options.changes?.length ? applyConfigChanges(options.changes, given) : given;
      // The whole config is the commit's (not merged over the image's): a change's ENTRYPOINT
      // leaves no CMD, as moby's merge leaves none.
      // One time for the image and its history entry, as moby's commit takes one.
      const created = nowRfc3339Nano();
      const config = appendLayer(
        { ...base.config, created, ...(options.author ? { author: options.author } : {}), config: containerConfig },
        diffId,
        // moby's NewChildImage: created by the container's command.
        historyEntry((own.Cmd ?? []).join(' '), { created, ...(options.comment ? { comment: options.comment } : {}), ...(options.author ? { author: options.author } : {}) }),
      );
      const written = await writeImage(content, config, [...base.layers, descriptor], signal);
      const name = options.reference ? normalizeImageName(options.reference) : undefined;
      // Named as dockerd's TagImage names it: its `tag` event comes before the container's `commit`.
      // The layer is not unpacked until the image runs: its size, as dockerd counts it, is recorded now.
      // moby's CommitImage sets the container's image as the new one's parent (`Parent`, and what rmi spares).
      await images.tagDescriptor(name, written.imageId, written.manifest, { parent: base.record.id, layerSizes: { [diffId]: size } });
      // dockerd's attributes: the comment, the new image and the name it was given ('' for none).
      await ctx.events.container('commit', record, {
        comment: options.comment ?? '',
        imageID: written.imageId,
        imageRef: name ? familiarImageName(name) : '',
      });
      return { id: written.imageId };
    });
  } finally {
    await resume?.();
    await release();
  }
}
