import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBusyboxRootfs } from '@ctr/image';
import { NetworkManager } from '@ctr/network';
import { commandLines } from '../../../test/support/processes';
import { runProcess, type ProcessResult, type RunProcessOptions } from '../../../test/support/run-process';
import { killSwarmAgent, loopbackListenAddr } from '../../../test/support/swarm-agent';

export type CtrResult = ProcessResult;

/** The ctr command (built), run without a daemon on one root. */
export interface CtrOn {
  readonly root: string;
  readonly runRoot: string;
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
  return { root, runRoot, argv, runWith, run: (...args) => runWith({ env: process.env }, ...args) };
}

/**
 * Removes every container on `ctr`'s root, then the root and the run root, once nothing works
 * on them any more: after `rm -f` returns, conmon, the exit's cleanup it starts (for `--rm`
 * containers already gone from `ps -a` too) and a health probe under way still make
 * directories there, and a root removed under them races them (ENOTEMPTY).
 */
export async function removeCtrRoot(ctr: CtrOn): Promise<void> {
  const { stdout } = await ctr.run('ps', '-aq', '--no-trunc');
  for (const id of stdout.split('\n').filter(Boolean)) await ctr.run('rm', '-f', id);
  await eventually(async () => processesNaming(workingOn(ctr.root)).length === 0);
  // The default bridge (runs and builds make it) and its rules live outside the root.
  await new NetworkManager({ root: ctr.root, runRoot: ctr.runRoot }).gc().catch(() => undefined);
  await removeRoots(ctr);
}

/** What names a process working on `root`: a ctr command on it (exit cleanups, probes), a conmon of its containers. */
function workingOn(root: string): string[] {
  return [`--root ${root} `, ` ${root}/containers/`];
}

/** Retried: a process nobody waited for (a probe a health timer started as the container went) may still be making directories in them. */
async function removeRoots(ctr: CtrOn): Promise<void> {
  await rm(ctr.root, { recursive: true, force: true, maxRetries: 5 });
  await rm(ctr.runRoot, { recursive: true, force: true, maxRetries: 5 });
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
  await importBusybox(ctr).catch(async (error: unknown) => {
    await removeRoots(ctr);
    throw error;
  });
  return { ...ctr, cleanup: () => removeCtrRoot(ctr) };
}

/**
 * A root whose node is a swarm's only manager, on a cluster port of its own on loopback (another
 * test file's swarm may be listening beside it). `cleanup` leaves the swarm, stops the node's
 * agent and removes the root.
 */
export async function localSwarmCtr(prefix: string): Promise<LocalCtr> {
  const ctr = await localCtr(prefix);
  const cleanup = async (): Promise<void> => {
    await ctr.run('swarm', 'leave', '--force');
    await killSwarmAgent(ctr.runRoot);
    await ctr.cleanup();
  };
  const init = await ctr.run('swarm', 'init', '--listen-addr', await loopbackListenAddr(), '--advertise-addr', '127.0.0.1');
  if (init.code !== 0) {
    await cleanup();
    throw new Error(`swarm init failed: ${init.stderr}`);
  }
  return { ...ctr, cleanup };
}

/** `ctr args…` interrupted (^C, SIGINT) once its output has printed `line`: a wait that would go on otherwise. */
export async function runUntilPrinted(ctr: CtrOn, line: string, ...args: string[]): Promise<CtrResult> {
  const [bin, ...rest] = ctr.argv(...args) as [string, ...string[]];
  const waiting = spawn(bin, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  waiting.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  waiting.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (!waiting.killed && stdout.includes(line)) waiting.kill('SIGINT');
  });
  // A line that never comes is the test's failure, not a ctr left running on a root about to be removed.
  const stray = setTimeout(() => waiting.kill('SIGKILL'), 100_000);
  const code = await new Promise<number | null>((resolve) => waiting.once('close', resolve)).finally(() => clearTimeout(stray));
  return { code: code ?? -1, stdout, stderr };
}

/**
 * The command lines of running processes naming any of these words (containers' IDs): their
 * conmon, the exit's cleanup it starts and a health probe under way still work on the root
 * after `rm -f` returns. Not a health check's timer (`ctr-healthcheck`): it sleeps, and ends
 * at its next wake without touching the root.
 */
export function processesNaming(words: readonly string[]): string[] {
  if (words.length === 0) return [];
  return commandLines().filter((line) => !line.includes('ctr-healthcheck') && words.some((word) => line.includes(word)));
}

/** Ask until `check` holds, for about 15 s (what daemonless ctr does at an exit runs in its own process, a moment later). */
export async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 150; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
