import { promises as fs } from 'node:fs';
import path from 'node:path';
import { withLock } from '@ctr/store';
import type { EngineContext } from './context';

/**
 * Run `fn` holding one of container `id`'s locks, shared by every engine process on the root:
 * `kind` names the directory under `<root>/engine/` that holds that kind's lock files.
 */
export async function underContainerLock<T>(ctx: EngineContext, kind: string, id: string, fn: () => Promise<T>): Promise<T> {
  const lockDir = path.join(ctx.root, 'engine', kind);
  // Not recursive: a late exit's cleanup must not make anew a root that was removed meanwhile.
  await fs.mkdir(lockDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return withLock(path.join(lockDir, `${id}.lock`), fn);
}
