import { spawn } from 'node:child_process';
import path from 'node:path';

const FIXTURES = path.join(__dirname, 'fixtures');

/**
 * What a pull or an unpack killed mid-way leaves on the store at `root`: a real worker
 * (fixtures/leftover-worker.ts) SIGKILLed once it says it has written something.
 */
export async function killedWorker(mode: 'ingest' | 'extract', root: string): Promise<void> {
  const child = spawn(process.execPath, ['-r', path.join(FIXTURES, 'ts-register.js'), path.join(FIXTURES, 'leftover-worker.ts'), mode, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', () => reject(new Error(`the ${mode} worker ended before it was ready`)));
    });
  } finally {
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }
}
