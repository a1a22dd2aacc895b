import { execFile, type ExecFileException } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBusyboxRootfs } from '@ctr/image';

export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The ctr command (built) on a throwaway root holding `busybox` from the host's static busybox. */
export interface LocalCtr {
  run(...args: string[]): Promise<CtrResult>;
  /** Removes every container, then the root. */
  cleanup(): Promise<void>;
}

const bin = join(__dirname, '..', 'bin', 'ctr.js');

export async function localCtr(prefix: string): Promise<LocalCtr> {
  const root = await mkdtemp(join(tmpdir(), `ctr-cli-${prefix}-`));
  const runRoot = await mkdtemp(join(tmpdir(), `ctr-cli-${prefix}-run-`));
  const run = (...args: string[]): Promise<CtrResult> =>
    new Promise((resolve) => {
      execFile(process.execPath, [bin, '--root', root, '--runroot', runRoot, ...args], (error: ExecFileException | null, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      });
    });
  const rootfs = await mkdtemp(join(tmpdir(), `ctr-cli-${prefix}-bb-`));
  try {
    await createBusyboxRootfs(rootfs);
    const imported = await run('import', '-c', 'CMD ["sh"]', rootfs, 'busybox');
    if (imported.code !== 0) throw new Error(`ctr import failed: ${imported.stderr}`);
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
  return {
    run,
    async cleanup() {
      const { stdout } = await run('ps', '-aq', '--no-trunc');
      for (const id of stdout.split('\n').filter(Boolean)) await run('rm', '-f', id);
      await rm(root, { recursive: true, force: true });
      await rm(runRoot, { recursive: true, force: true });
    },
  };
}
