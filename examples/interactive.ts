/**
 * `docker run -i busybox sh`: a shell whose stdin is piped from this program — commands go
 * in, their output comes back, and the exit code is the shell's.
 *
 *   node examples/run.js interactive
 */
import { Readable } from 'node:stream';
import { lines, sandbox } from './lib/sandbox';

export async function main(_args: string[] = [], log: (line: string) => void = console.log): Promise<{ output: string[]; exitCode: number }> {
  const { engine, cleanup } = await sandbox('interactive');
  try {
    const script = ['echo "hello from an interactive shell"', 'cd /etc && pwd', 'echo $((6 * 7))', 'exit 4', ''].join('\n');
    const output: string[] = [];
    const stdout = lines((line) => {
      output.push(line);
      log(`> ${line}`);
    });
    const { exitCode } = await engine.run({ image: 'busybox', network: 'none', openStdin: true, autoRemove: true, cmd: ['sh'], stdin: Readable.from([script]), stdout });
    log(`shell exited with ${exitCode}`);
    return { output, exitCode: exitCode ?? -1 };
  } finally {
    await cleanup();
  }
}
