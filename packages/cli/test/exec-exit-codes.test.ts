/**
 * What `ctr` prints and exits with when the engine refuses, or a program cannot start, as
 * docker 28's CLI does against dockerd: exec's and run's exit codes, the daemon's words
 * (`Error response from daemon: …`) and start's closing line (real runc, conmon, overlayfs).
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

describe('ctr: failures in docker 28\'s words and exit codes', () => {
  let local: LocalCtr;
  let running: string;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);

  beforeAll(async () => {
    local = await localCtr('exec-codes');
    running = (await ctr('run', '-d', '--network', 'none', 'busybox', 'sleep', '300')).stdout.trim();
  });
  afterAll(async () => {
    await local?.cleanup();
  });

  describe('exec', () => {
    test('of a program that is not there says dockerd\'s message on stdout and exits 127', async () => {
      expect(await ctr('exec', running, 'nosuchcmd')).toEqual({
        code: 127,
        stdout: 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH: unknown\r\n',
        stderr: '',
      });
    });

    test('in a working directory that is not there exits 127', async () => {
      const result = await ctr('exec', '-w', '/nonexist', running, 'true');
      expect(result.code).toBe(127);
      expect(result.stdout).toContain('chdir to cwd ("/nonexist") set in config.json failed: no such file or directory: unknown');
    });

    test('of a file that may not be run exits 126', async () => {
      expect((await ctr('exec', running, '/etc/passwd')).code).toBe(126);
    });

    test('-d of a program that is not there is the command\'s failure, exit 1', async () => {
      const result = await ctr('exec', '-d', running, 'nosuchcmd');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^Error response from daemon: OCI runtime exec failed: .*executable file not found in \$PATH: unknown\n$/);
    });

    test('-d exits 0 as soon as the program runs, and the program runs on to its end', async () => {
      // The program waits for a file the test makes only after `exec -d` has returned.
      expect(await ctr('exec', '-d', running, 'sh', '-c', 'while [ ! -e /go ]; do sleep 0.05; done; echo ran > /ran')).toEqual({ code: 0, stdout: '', stderr: '' });
      expect((await ctr('exec', running, 'touch', '/go')).code).toBe(0);
      let ran = '';
      for (let i = 0; i < 100 && ran !== 'ran\n'; i++) {
        ran = (await ctr('exec', running, 'cat', '/ran')).stdout;
        if (ran !== 'ran\n') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ran).toBe('ran\n');
    });

    test('in a container that does not exist is the daemon\'s refusal', async () => {
      expect(await ctr('exec', 'nosuch', 'true')).toEqual({ code: 1, stdout: '', stderr: 'Error response from daemon: No such container: nosuch\n' });
    });
  });

  test('logs of a container that does not exist is the daemon\'s refusal', async () => {
    expect(await ctr('logs', 'nosuch')).toEqual({ code: 1, stdout: '', stderr: 'Error response from daemon: No such container: nosuch\n' });
  });

  describe('start', () => {
    test('of containers that do not exist says each, then names them all', async () => {
      expect(await ctr('start', 'nosuch1', 'nosuch2')).toEqual({
        code: 1,
        stdout: '',
        stderr: 'Error response from daemon: No such container: nosuch1\nError response from daemon: No such container: nosuch2\nError: failed to start containers: nosuch1, nosuch2\n',
      });
    });

    test('still starts the others', async () => {
      const id = (await ctr('create', '--network', 'none', 'busybox', 'sleep', '300')).stdout.trim();
      const result = await ctr('start', 'nosuch', id);
      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: `${id}\n` });
      expect((await ctr('inspect', '-f', '{{.State.Running}}', id)).stdout).toBe('true\n');
      await ctr('rm', '-f', id);
    });

    test('-a of a container whose program is not there exits 1 with the daemon\'s message', async () => {
      const id = (await ctr('create', '--network', 'none', 'busybox', 'nosuchcmd')).stdout.trim();
      const result = await ctr('start', '-a', id);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^Error response from daemon: failed to create task for container: .*"nosuchcmd": executable file not found in \$PATH: unknown\n$/);
      expect((await ctr('inspect', '-f', '{{.State.ExitCode}}', id)).stdout).toBe('127\n');
      await ctr('rm', '-f', id);
    });
  });

  describe('run of a container that cannot start', () => {
    test('exits 127 for a program that is not there', async () => {
      expect((await ctr('run', '--rm', '--network', 'none', 'busybox', 'nosuchcmd')).code).toBe(127);
    });

    test('exits 126 for a directory', async () => {
      expect((await ctr('run', '--rm', '--network', 'none', 'busybox', '/etc')).code).toBe(126);
    });

    test('exits 125 for a working directory that is a file, as docker\'s CLI reads the message', async () => {
      const result = await ctr('run', '--rm', '--network', 'none', '-w', '/etc/passwd', 'busybox', 'true');
      expect(result.code).toBe(125);
      expect(result.stderr).toContain('not a directory: unknown: Are you trying to mount a directory onto a file (or vice-versa)?');
    });

    test('-d exits as the attached run does', async () => {
      expect((await ctr('run', '-d', '--network', 'none', 'busybox', 'nosuchcmd')).code).toBe(127);
    });
  });

  describe('--cpus', () => {
    test('that is not a number is a usage error in pflag\'s words', async () => {
      const result = await ctr('run', '--rm', '--network', 'none', '--cpus', 'abc', 'busybox', 'true');
      expect(result.code).toBe(125);
      expect(result.stderr).toMatch(/^invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number\n/);
    });

    test('finer than a nano CPU is too precise', async () => {
      expect((await ctr('run', '--rm', '--network', 'none', '--cpus', '0.0000000001', 'busybox', 'true')).stderr).toMatch(/: value is too precise\n/);
    });

    test('as a fraction is taken', async () => {
      const id = (await ctr('create', '--network', 'none', '--cpus', '1/2', 'busybox')).stdout.trim();
      expect((await ctr('inspect', '-f', '{{.HostConfig.NanoCpus}}', id)).stdout).toBe('500000000\n');
      await ctr('rm', id);
    });
  });

  test('--cidfile shows in HostConfig.ContainerIDFile', async () => {
    const file = join(tmpdir(), `ctr-exec-codes-${process.pid}.cid`);
    const id = (await ctr('create', '--network', 'none', '--cidfile', file, 'busybox')).stdout.trim();
    expect((await ctr('inspect', '-f', '{{.HostConfig.ContainerIDFile}}', id)).stdout).toBe(`${file}\n`);
    await ctr('rm', id);
    await rm(file, { force: true });
  });
});
