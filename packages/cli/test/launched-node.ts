import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** What /proc shows of the node process a launcher became, and how it ended once sent SIGTERM. */
export interface LaunchedNode {
  argv: string[];
  env: string[];
  ended: { code: number | null; signal: NodeJS.Signals | null };
}

/**
 * Starts `launcher args…` (a command that runs until stopped, such as `events`), waits
 * until the shell has exec'd node, reads its command line and environment, then stops it.
 */
export async function launchedNode(launcher: string, args: string[], env: NodeJS.ProcessEnv): Promise<LaunchedNode> {
  const child = spawn(launcher, args, { env, stdio: 'ignore' });
  const ended = new Promise<LaunchedNode['ended']>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    const pid = child.pid as number;
    let argv: string[] = [];
    // node's arguments name ctr.js, or the startup snapshot it starts from.
    for (let tries = 0; !argv.some((arg) => arg.endsWith('/ctr.js') || arg === '--snapshot-blob'); tries += 1) {
      if (tries > 200) throw new Error(`the launcher did not become node: ${argv.join(' ')}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
      argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    }
    const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    process.kill(pid, 'SIGTERM');
    return { argv, env: environ, ended: await ended };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await ended;
    }
  }
}
