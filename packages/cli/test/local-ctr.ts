import { execFileSync } from 'node:child_process';
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
    // Retried: a process this test did not wait for (a health probe) may still be making directories in them.
    await rm(root, { recursive: true, force: true, maxRetries: 5 });
    await rm(runRoot, { recursive: true, force: true, maxRetries: 5 });
  };
  await importBusybox(ctr).catch(async (error: unknown) => {
    await removeRoots();
    throw error;
  });
  return {
    ...ctr,
    async cleanup() {
      const { stdout } = await ctr.run('ps', '-aq', '--no-trunc');
      const ids = stdout.split('\n').filter(Boolean);
      for (const id of ids) await ctr.run('rm', '-f', id);
      await eventually(async () => processesNaming(ids).length === 0);
      // The default bridge (runs and builds make it) and its rules live outside the root.
      await new NetworkManager({ root, runRoot }).gc().catch(() => undefined);
      await removeRoots();
    },
  };
}

/**
 * The command lines of running processes naming any of these containers: their conmon, the
 * exit's cleanup it starts and a health probe under way still work on the root after `rm -f`
 * returns, and a root removed under them races them (ENOTEMPTY). Not a health check's timer
 * (`ctr-healthcheck`): it sleeps, and ends at its next wake without touching the root.
 */
export function processesNaming(ids: readonly string[]): string[] {
  if (ids.length === 0) return [];
  const lines = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n');
  return lines.filter((line) => !line.includes('ctr-healthcheck') && ids.some((id) => line.includes(id)));
}

/** Ask until `check` holds, for about 15 s (what daemonless ctr does at an exit runs in its own process, a moment later). */
export async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 150; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
