import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const FIXTURES = path.join(__dirname, 'fixtures');

/** A mount relay left deleting a removed snapshot after the process that removed it exited; its deletion held until `resume`. */
export interface HeldDeleter {
  pid: number;
  /** Let it delete; resolves once it has exited. */
  resume(): Promise<void>;
  /** SIGKILL it before it deleted anything (a killed deleter); resolves once it is gone. */
  kill(): Promise<void>;
}

/**
 * Remove snapshot `key` of the store at `root` in the background in a process of its own
 * (fixtures/trash-worker.ts), its relay stopped so that the deletion waits for the test.
 */
export async function removeWithHeldDeleter(root: string, key: string): Promise<HeldDeleter> {
  const child = spawn(process.execPath, ['-r', path.join(FIXTURES, 'ts-register.js'), path.join(FIXTURES, 'trash-worker.ts'), root, key], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const pid = Number(/^ready (\d+)/.exec(out)?.[1]);
  if (code !== 0 || !pid) throw new Error(`the removing process failed (exit ${String(code)}): ${out}`);
  const ended = async (): Promise<void> => {
    for (let waited = 0; runs(pid) && waited < 20_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    if (runs(pid)) throw new Error(`the mount relay ${pid} did not exit`);
  };
  return {
    pid,
    async resume() {
      process.kill(pid, 'SIGCONT');
      await ended();
    },
    async kill() {
      process.kill(pid, 'SIGKILL');
      await ended();
    },
  };
}

/** Not this process's child (its parent has exited), so watched through /proc: a zombie has ended. */
function runs(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}
