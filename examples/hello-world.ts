/**
 * `docker run hello-world`: make a tiny hello-world image (no internet: from the host's
 * busybox), run it attached with --rm, and print what it says.
 *
 *   node examples/run.js hello-world
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lines, sandbox } from './lib/sandbox';

export async function main(_args: string[] = [], log: (line: string) => void = console.log): Promise<{ exitCode: number; output: string[] }> {
  const { engine, cleanup } = await sandbox('hello-world');
  const context = await mkdtemp(join(tmpdir(), 'ctr-example-hello-ctx-'));
  try {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nCMD ["echo", "Hello from ctr!", "This message shows that your installation appears to be working correctly."]\n');
    await engine.build({ context, tags: ['hello-world'] });
    const output: string[] = [];
    const stdout = lines((line) => {
      output.push(line);
      log(line);
    });
    // docker run --rm --network none hello-world
    const { exitCode } = await engine.run({ image: 'hello-world', network: 'none', autoRemove: true, stdout });
    return { exitCode: exitCode ?? -1, output };
  } finally {
    await rm(context, { recursive: true, force: true });
    await cleanup();
  }
}
