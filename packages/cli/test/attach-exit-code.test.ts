import { localCtr, type LocalCtr } from './local-ctr';

/**
 * `ctr attach` ends with the exit code of the program it was attached to, as docker attach
 * does (it waits on the container from before it attaches): its output stream ends as the
 * program exits, before the exit is recorded — and, for a `--rm` container, before its removal.
 */
let local: LocalCtr;

beforeAll(async () => {
  local = await localCtr('attach-exit');
});

afterAll(async () => {
  await local.cleanup();
});

/** A program that says it is ready for a while, then exits 7. */
const program = 'for i in 1 2 3 4 5 6; do echo ready; sleep 0.1; done; exit 7';

test('ctr attach exits with the code the program exits with', async () => {
  expect((await local.run('run', '-d', '--name', 'sevens', '--network', 'none', 'busybox', 'sh', '-c', program)).code).toBe(0);
  const attached = await local.run('attach', 'sevens');
  expect(attached).toMatchObject({ code: 7, stderr: '' });
  expect(attached.stdout).toMatch(/^(ready\n)+$/);
});

test('ctr attach to a --rm container exits with its code, though the container is removed as it exits', async () => {
  expect((await local.run('run', '-d', '--rm', '--name', 'gone', '--network', 'none', 'busybox', 'sh', '-c', program)).code).toBe(0);
  expect(await local.run('attach', 'gone')).toMatchObject({ code: 7, stderr: '' });
});
