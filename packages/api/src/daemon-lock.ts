import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CtrError } from '@ctr/errors';

export interface DaemonLock {
  readonly file: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One daemon per root: `<root>/ctrd.pid` is made with a hard link of a complete temp file,
 * which is atomic, so two daemons starting together cannot both win. A pid file whose
 * process is gone (a crash, a kill -9) is taken over.
 */
export async function lockRoot(root: string): Promise<DaemonLock> {
  await fs.mkdir(root, { recursive: true, mode: 0o711 });
  const file = path.join(root, 'ctrd.pid');
  const temp = `${file}.${process.pid}.${Date.now()}`;
  await fs.writeFile(temp, `${process.pid}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.link(temp, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw error;
        const owner = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
          throw new CtrError('Conflict', `another ctrd (pid ${owner}) is already running on ${root}`, {
            hint: `stop it first, or give this daemon another --root; ${file} names the running one`,
            details: { pid: owner, root },
          });
        }
        await fs.rm(file, { force: true });
      }
    }
  } finally {
    await fs.rm(temp, { force: true });
  }
  return {
    file,
    async release() {
      const owner = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
      if (owner === process.pid) await fs.rm(file, { force: true });
    },
  };
}
