import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBusyboxRootfs } from '@ctr/image';
import { NetworkManager } from '@ctr/network';
import { runProcess, type ProcessResult, type RunProcessOptions } from '../../../test/support/run-process';

export type CtrResult = ProcessResult;

/** The ctr command (built), run without a daemon on one root. */
export interface CtrOn {
  /** The command line of ctr on this root (the launcher first): for a test that starts the process itself. */
  argv(...args: string[]): string[];
  /** Runs `ctr args…` in the test's environment, with empty input. */
  run(...args: string[]): Promise<CtrResult>;
  /** `run` with an environment and input of the test's choosing. */
  runWith(options: RunProcessOptions, ...args: string[]): Promise<CtrResult>;
}

/** The ctr command (built) on a throwaway root holding `busybox` from the host's static busybox. */
export interface LocalCtr extends CtrOn {
  /** Removes every container, then the root. */
  cleanup(): Promise<void>;
}

/** The launcher, as users run ctr (it execs node bin/ctr.js). */
const bin = join(__dirname, '..', 'bin', 'ctr');

export function ctrOn(root: string, runRoot: string): CtrOn {
  const argv = (...args: string[]): string[] => [bin, '--root', root, '--runroot', runRoot, ...args];
  const runWith = (options: RunProcessOptions, ...args: string[]): Promise<CtrResult> => runProcess(bin, argv(...args).slice(1), options);
  return { argv, runWith, run: (...args) => runWith({ env: process.env }, ...args) };
}

/**
 * Imports `busybox:latest` (CMD sh) from the host's static busybox; a failed import throws.
 * Through `ctr import`, not `engine.importBusybox()`, on purpose: every CLI test then also
 * exercises the command's import path.
 */
export async function importBusybox(ctr: CtrOn): Promise<CtrResult> {
  const rootfs = await mkdtemp(join(tmpdir(), 'ctr-cli-busybox-'));
  try {
    await createBusyboxRootfs(rootfs);
    const imported = await ctr.run('import', '-c', 'CMD ["sh"]', rootfs, 'busybox');
    if (imported.code !== 0) throw new Error(`ctr import failed: ${imported.stderr}`);
    return imported;
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

export async function localCtr(prefix: string): Promise<LocalCtr> {
  const root = await mkdtemp(join(tmpdir(), `ctr-cli-${prefix}-`));
  const runRoot = await mkdtemp(join(tmpdir(), `ctr-cli-${prefix}-run-`));
  const ctr = ctrOn(root, runRoot);
  const removeRoots = async (): Promise<void> => {
    await rm(root, { recursive: true, force: true });
    await rm(runRoot, { recursive: true, force: true });
  };
  await importBusybox(ctr).catch(async (error: unknown) => {
    await removeRoots();
    throw error;
  });
  return {
    ...ctr,
    async cleanup() {
      const { stdout } = await ctr.run('ps', '-aq', '--no-trunc');
      for (const id of stdout.split('\n').filter(Boolean)) await ctr.run('rm', '-f', id);
      // The default bridge (runs and builds make it) and its rules live outside the root.
      await new NetworkManager({ root, runRoot }).gc().catch(() => undefined);
      await removeRoots();
    },
  };
}

/** Ask until `check` holds, for about 15 s (what daemonless ctr does at an exit runs in its own process, a moment later). */
export async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 150; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
