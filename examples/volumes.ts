/**
 * Volumes outlive containers: one container writes into a named volume and is removed; a
 * second container, made later, reads what the first wrote.
 *
 *   node examples/run.js volumes
 */
import { lines, sandbox } from './lib/sandbox';

export async function main(_args: string[] = [], log: (line: string) => void = console.log): Promise<{ output: string[]; volumes: string[] }> {
  const { engine, cleanup } = await sandbox('volumes');
  try {
    const volume = await engine.createVolume({ name: 'notes' });
    log(`volume ${volume.Name} at ${volume.Mountpoint}`);
    await engine.run({ image: 'busybox', network: 'none', autoRemove: true, volumes: ['notes:/notes'], cmd: ['sh', '-c', 'echo "written by the first container" > /notes/hello'] });
    log('first container wrote /notes/hello and is gone');
    const output: string[] = [];
    await engine.run({ image: 'busybox', network: 'none', autoRemove: true, volumes: ['notes:/data:ro'], cmd: ['cat', '/data/hello'], stdout: lines((line) => (output.push(line), log(line))) });
    const volumes = (await engine.volumes()).map((v) => v.Name);
    log(`volumes still there: ${volumes.join(', ')}`);
    await engine.removeVolume('notes');
    return { output, volumes };
  } finally {
    await cleanup();
  }
}
