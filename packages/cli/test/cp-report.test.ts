import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { inTerminal } from '../../../test/support/terminal';
import { localCtr, type LocalCtr } from './local-ctr';

/** What docker cp says about a copy (cli/command/container/cp.go), on a real container. */
describe('cp report', () => {
  let local: LocalCtr;
  let host: string;

  beforeAll(async () => {
    local = await localCtr('cp-report');
    expect((await local.run('run', '--name', 'cp-report', '--network', 'none', '--pull', 'never', 'busybox', 'sh', '-c', 'echo top > /tmp/t')).code).toBe(0);
  });

  afterAll(async () => {
    await local?.cleanup();
  });

  beforeEach(async () => {
    host = await mkdtemp(join(tmpdir(), 'ctr-cli-cp-report-'));
  });

  afterEach(async () => {
    await rm(host, { recursive: true, force: true });
  });

  test('a copy whose output is not a terminal reports nothing', async () => {
    expect(await local.run('cp', 'cp-report:/tmp/t', join(host, 't'))).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  test('a copy out, in a terminal, names its destination by its absolute path', async () => {
    // The destination `.`, relative to the directory ctr runs in: docker keeps its trailing `.`.
    const session = inTerminal(['sh', '-c', 'cd "$0" && exec "$@"', host, ...local.argv('cp', 'cp-report:/tmp/t', '.')], process.env);
    expect(await session.exited).toBe(0);
    expect(session.output()).toMatch(new RegExp(`^Successfully copied \\d+(\\.\\d+)?k?B to ${host}/\\.\\r\\n$`));
  });

  test('a tar from stdin, in a terminal, is reported as docker reports it: 0B, for it counts nothing it passes on', async () => {
    const session = inTerminal(['sh', '-c', 'tar c -C "$0" --files-from /dev/null | exec "$@"', tmpdir(), ...local.argv('cp', '-', 'cp-report:/tmp')], process.env);
    expect(await session.exited).toBe(0);
    expect(session.output()).toBe('Successfully copied 0B to cp-report:/tmp\r\n');
  });

  test('a tar from stdin into a path that is no directory is refused in docker\'s words', async () => {
    const tar = spawnSync('tar', ['c', '-C', tmpdir(), '--files-from', '/dev/null']).stdout;
    expect(await local.runWith({ env: process.env, input: tar }, 'cp', '-', 'cp-report:/tmp/missing')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'destination "cp-report:/tmp/missing" must be a directory\n',
    });
  });
});
