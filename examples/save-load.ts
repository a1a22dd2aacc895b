/**
 * Share an image without a registry: `docker save -o app.tar` on one engine, `docker load
 * -i app.tar` on another (its own root, as on another machine), then run it there.
 *
 *   node examples/run.js save-load
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { lines, sandbox } from './lib/sandbox';

export async function main(_args: string[] = [], log: (line: string) => void = console.log): Promise<{ loaded: string[]; output: string[] }> {
  const first = await sandbox('save');
  const second = await sandbox('load');
  const work = await mkdtemp(join(tmpdir(), 'ctr-example-save-'));
  try {
    await writeFile(join(work, 'Dockerfile'), 'FROM busybox\nRUN echo "made on the first engine" > /origin\nCMD ["cat", "/origin"]\n');
    await first.engine.build({ context: work, tags: ['shared/app:1.0'] });
    const archive = join(work, 'app.tar');
    await pipeline(await first.engine.save(['shared/app:1.0']), createWriteStream(archive));
    log(`saved shared/app:1.0 to ${archive} (${(await stat(archive)).size} bytes)`);

    const { loaded } = await second.engine.load(createReadStream(archive));
    for (const line of loaded) log(line);
    const output: string[] = [];
    await second.engine.run({ image: 'shared/app:1.0', network: 'none', autoRemove: true, pull: 'never', stdout: lines((line) => (output.push(line), log(line))) });
    return { loaded, output };
  } finally {
    await rm(work, { recursive: true, force: true });
    await first.cleanup();
    await second.cleanup();
  }
}
