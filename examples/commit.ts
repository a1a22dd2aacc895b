/**
 * `docker commit`: change a container's filesystem, commit it as a new image with a new
 * CMD, and run that image — the change is there.
 *
 *   node examples/run.js commit
 */
import { lines, sandbox } from './lib/sandbox';

export async function main(_args: string[] = [], log: (line: string) => void = console.log): Promise<{ imageId: string; changes: string[]; output: string[] }> {
  const { engine, cleanup } = await sandbox('commit');
  try {
    await engine.run({ image: 'busybox', name: 'tinker', network: 'none', cmd: ['sh', '-c', 'mkdir -p /srv && echo "state saved by commit" > /srv/note'] });
    const changes = (await engine.changes('tinker')).map((c) => `${'CAD'[c.Kind]} ${c.Path}`);
    log(`docker diff: ${changes.join(', ')}`);
    const { id } = await engine.commit('tinker', { reference: 'tinkered:v1', comment: 'added /srv/note', config: { Cmd: ['cat', '/srv/note'] } });
    log(`committed tinker as tinkered:v1 (${id})`);
    const output: string[] = [];
    await engine.run({ image: 'tinkered:v1', network: 'none', autoRemove: true, stdout: lines((line) => (output.push(line), log(line))) });
    return { imageId: id, changes, output };
  } finally {
    await cleanup();
  }
}
