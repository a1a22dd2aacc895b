import { localCtr, type LocalCtr } from './local-ctr';

/** `kill -s`'s signal, checked as dockerd checks it: first, and named as given. */
describe('kill signal', () => {
  let local: LocalCtr;

  beforeAll(async () => {
    local = await localCtr('kill-signal');
  });

  afterAll(async () => {
    await local?.cleanup();
  });

  test('an unknown signal is named as given, and refused before the container is looked at', async () => {
    expect((await local.run('create', '--name', 'kill-stopped', '--network', 'none', '--pull', 'never', 'busybox')).code).toBe(0);
    expect(await local.run('kill', '-s', 'BOGUS', 'kill-stopped', 'kill-nosuch')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error response from daemon: invalid signal: BOGUS\nuse a signal name such as SIGTERM or a number such as 15\n'.repeat(2),
    });
  });

  test('signal 0 is no signal', async () => {
    expect(await local.run('kill', '-s', '0', 'kill-nosuch')).toEqual({ code: 1, stdout: '', stderr: 'Error response from daemon: invalid signal: 0\n' });
  });

  test('a signal named in lower case without SIG reaches the container', async () => {
    const id = (await local.run('run', '-d', '--network', 'none', '--pull', 'never', 'busybox', 'sleep', '300')).stdout.trim();
    expect(await local.run('kill', '-s', 'kill', id)).toEqual({ code: 0, stdout: `${id}\n`, stderr: '' });
    expect((await local.run('wait', id)).stdout).toBe('137\n');
  });
});
