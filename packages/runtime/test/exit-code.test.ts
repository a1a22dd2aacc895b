import { readFileSync } from 'node:fs';
import { testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

test('the exit code of the process is the exit code of the container', async () => {
  await bed.runtime.create('exit3', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'exit 3'] } });
  await bed.runtime.start('exit3');
  const status = await bed.runtime.wait('exit3');
  expect(status.exitCode).toBe(3);
  const state = await bed.runtime.state('exit3');
  expect(state.status).toBe('exited');
  expect(state.exitCode).toBe(3);
  expect(Date.parse(state.finishedAt)).toBeGreaterThanOrEqual(Date.parse(state.startedAt) - 1000);
});

test('start returns once the container runs its program, not while runc init is still about to exec it', async () => {
  await bed.runtime.create('execd', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '30'] } });
  await bed.runtime.start('execd');
  const { pid } = await bed.runtime.state('execd');
  expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('sleep');
  await bed.runtime.delete('execd', { force: true });
});

test('a start told the exit is awaited (awaitExec false) runs the program to its exit code all the same', async () => {
  await bed.runtime.create('noexecwait', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'exit 5'] } });
  await bed.runtime.start('noexecwait', { awaitExec: false });
  expect((await bed.runtime.wait('noexecwait')).exitCode).toBe(5);
  await bed.runtime.delete('noexecwait');
});
