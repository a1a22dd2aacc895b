import { promises as fs } from 'node:fs';
import path from 'node:path';
import { conmonArgs } from '../src/conmon';
import { testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

/** The file once it exists (conmon runs the exit command after the caller's wait returns). */
async function eventually(file: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (text) return text;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${file} never appeared`);
}

test('conmon runs the exit command after the container exits, with the exit code already recorded', async () => {
  const marker = path.join(bed.base, 'exited');
  await bed.runtime.create('exit-cmd', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'exit 7'] } });
  const exitFile = path.join(bed.base, 'root', 'containers', 'exit-cmd', 'exit');
  await bed.runtime.start('exit-cmd', { exitCommand: ['/bin/sh', '-c', `cat ${exitFile} > ${marker}.tmp && mv ${marker}.tmp ${marker}`] });
  expect((await bed.runtime.wait('exit-cmd')).exitCode).toBe(7);
  expect((await eventually(marker)).trim()).toBe('7');
  await bed.runtime.delete('exit-cmd');
});

test('the exit command goes to conmon as --exit-command and one --exit-command-arg per argument', () => {
  const base = { conmon: 'conmon', runtime: 'runc', runtimeRoot: '/r', id: 'c', uuid: 'c', bundle: '/b', logPath: '/l', runtimeLog: '/rl', pidFile: '/p', exitDir: '/e', terminal: false, stdin: false };
  const args = conmonArgs({ ...base, exitCommand: ['/usr/bin/node', 'ctr.js', 'container', 'cleanup'] });
  expect(args.join(' ')).toContain('--exit-command /usr/bin/node --exit-command-arg ctr.js --exit-command-arg container --exit-command-arg cleanup');
  expect(conmonArgs(base)).not.toContain('--exit-command');
});
