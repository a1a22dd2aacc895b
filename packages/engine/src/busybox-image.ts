import { stat } from 'node:fs/promises';
import { createBusyboxRootfs, HOST_BUSYBOX } from '@ctr/image';
import { throwIfAborted } from '@ctr/errors';
import type { EngineContext } from './context';
import type { Images, ResolvedImage } from './images';
import { sweepScratch, withScratch } from './scratch';

export interface ImportBusyboxOptions {
  /** The image's name. Default `busybox:latest`. */
  name?: string;
  /** The statically linked busybox to copy. Default `/bin/busybox` (Debian's `busybox-static`). */
  busybox?: string;
  signal?: AbortSignal;
}

/**
 * `busybox:latest` with `Cmd: ["sh"]`, made from the host's static busybox: its root
 * filesystem is built in a scratch directory and imported as `importImage` does (same
 * events), and the directory is removed whatever happens.
 *
 * The image is dated by its busybox binary, as the files in it are by a fixed time, so the
 * same busybox always gives the same image ID: a second call only names the image again,
 * and builds on it keep their cache.
 */
export async function importBusybox(ctx: EngineContext, images: Images, options: ImportBusyboxOptions = {}): Promise<ResolvedImage> {
  const { signal } = options;
  throwIfAborted(signal, 'importing busybox');
  await sweepScratch(ctx);
  const busybox = options.busybox ?? HOST_BUSYBOX;
  return withScratch(ctx, 'busybox', async (scratch) => {
    await createBusyboxRootfs(scratch, { busybox, ...(signal ? { signal } : {}) });
    const created = (await stat(busybox)).mtime;
    return images.import({ dir: scratch }, { name: options.name ?? 'busybox:latest', config: { Cmd: ['sh'] }, created, ...(signal ? { signal } : {}) });
  });
}
