import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createBusyboxRootfs } from '@ctr/image';
import { throwIfAborted } from '@ctr/errors';
import type { EngineContext } from './context';
import type { Images, ResolvedImage } from './images';

export interface ImportBusyboxOptions {
  /** The image's name. Default `busybox:latest`. */
  name?: string;
  /** The statically linked busybox to copy. Default `/bin/busybox` (Debian's `busybox-static`). */
  busybox?: string;
  signal?: AbortSignal;
}

/**
 * Where the engine makes directories it needs only for one call: under its root, so what
 * is made there is on the store's filesystem and goes when the root goes.
 */
export function scratchParent(root: string): string {
  return path.join(root, 'engine', 'tmp');
}

/**
 * `busybox:latest` with `Cmd: ["sh"]`, made from the host's static busybox: its root
 * filesystem is built in a scratch directory and imported as `importImage` does (same
 * events), and the directory is removed whatever happens.
 */
export async function importBusybox(ctx: EngineContext, images: Images, options: ImportBusyboxOptions = {}): Promise<ResolvedImage> {
  const { signal } = options;
  throwIfAborted(signal, 'importing busybox');
  await fs.mkdir(scratchParent(ctx.root), { recursive: true, mode: 0o700 });
  const scratch = await fs.mkdtemp(path.join(scratchParent(ctx.root), 'busybox-'));
  try {
    await createBusyboxRootfs(scratch, { ...(options.busybox ? { busybox: options.busybox } : {}), ...(signal ? { signal } : {}) });
    return await images.import({ dir: scratch }, { name: options.name ?? 'busybox:latest', config: { Cmd: ['sh'] }, ...(signal ? { signal } : {}) });
  } finally {
    // What the import made or why it failed is the answer, not a leftover scratch file.
    await fs.rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}
