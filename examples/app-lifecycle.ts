/**
 * Build an app image and run it detached, then list it, read its logs, stop it and remove
 * it — `docker build -t myapp .`, `docker run -d myapp`, `docker ps`, `docker logs`,
 * `docker stop`, `docker rm`.
 *
 *   node examples/run.js app-lifecycle
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandbox } from './lib/sandbox';

export async function main(_args: string[] = [], log: (line: string) => void = console.log): Promise<{ logs: string[]; listed: boolean; statusAfterStop: string }> {
  const { engine, cleanup } = await sandbox('app');
  const context = await mkdtemp(join(tmpdir(), 'ctr-example-app-ctx-'));
  try {
    await writeFile(join(context, 'app.sh'), '#!/bin/sh\necho "app starting as $APP_NAME"\nwhile true; do echo tick; sleep 0.2; done\n');
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nCOPY app.sh /app/app.sh\nRUN chmod +x /app/app.sh\nENV APP_NAME=myapp\nCMD ["/app/app.sh"]\n');
    const built = await engine.build({ context, tags: ['myapp'] });
    log(`built myapp: ${built.id}`);

    const { id, name } = await engine.run({ image: 'myapp', name: 'myapp-1', network: 'none', detach: true });
    log(`started ${name} (${id.slice(0, 12)})`);
    const listed = (await engine.ps()).some((c) => c.Id === id && c.State === 'running');
    log(`docker ps shows it running: ${listed}`);

    await new Promise((resolve) => setTimeout(resolve, 500));
    const logs: string[] = [];
    for await (const entry of engine.logs(name)) logs.push(entry.line);
    log(`logs: ${logs.slice(0, 3).join(' | ')}…`);

    await engine.stop(name, { timeout: 1 });
    const statusAfterStop = (await engine.inspect(name)).State.Status;
    log(`after stop: ${statusAfterStop}`);
    await engine.remove(name);
    log('removed');
    return { logs, listed, statusAfterStop };
  } finally {
    await rm(context, { recursive: true, force: true });
    await cleanup();
  }
}
