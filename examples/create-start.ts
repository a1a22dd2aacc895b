/**
 * `docker create` then `docker start -a`: a container is made (filesystem, config, name)
 * without running; starting it later runs its command.
 *
 *   node examples/run.js create-start
 */
import { lines, sandbox } from './lib/sandbox';

export async function main(_args: string[] = [], log: (line: string) => void = console.log): Promise<{ stateBefore: string; output: string[]; exitCode: number }> {
  const { engine, cleanup } = await sandbox('create-start');
  try {
    const { id } = await engine.create({ image: 'busybox', name: 'later', network: 'none', cmd: ['sh', '-c', 'echo "started at last: $(hostname)"'] });
    const stateBefore = (await engine.inspect(id)).State.Status;
    log(`created ${id.slice(0, 12)}: ${stateBefore}`);
    const output: string[] = [];
    const stdout = lines((line) => {
      output.push(line);
      log(line);
    });
    const { attached } = await engine.start('later', { stdout });
    const { StatusCode } = await engine.wait('later');
    await attached;
    log(`exited with ${StatusCode}`);
    await engine.remove('later');
    return { stateBefore, output, exitCode: StatusCode };
  } finally {
    await cleanup();
  }
}
