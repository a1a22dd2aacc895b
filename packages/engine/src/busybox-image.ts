import { createBusyboxRootfs } from '@ctr/image';
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
 */
export async function importBusybox(ctx: EngineContext, images: Images, options: ImportBusyboxOptions = {}): Promise<ResolvedImage> {
  const { signal } = options;
  throwIfAborted(signal, 'importing busybox');
  await sweepScratch(ctx);
  return withScratch(ctx, 'busybox', async (scratch) => {
    await createBusyboxRootfs(scratch, { ...(options.busybox ? { busybox: options.busybox } : {}), ...(signal ? { signal } : {}) });
    return images.import({ dir: scratch }, { name: options.name ?? 'busybox:latest', config: { Cmd: ['sh'] }, ...(signal ? { signal } : {}) });
  });
}
