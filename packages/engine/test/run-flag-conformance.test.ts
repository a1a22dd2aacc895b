/**
 * `docker run` flags whose behaviour dockerd 28 decides, checked on real containers (runc,
 * conmon, overlayfs, bridges this test's root makes): the entrypoint merge, exec failures,
 * the inspect fields of the stop options and `--cidfile`, and the create-time refusals of
 * `--ip`, `--cpus` and `--cpuset-*`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { CreateContainerOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';

describe('docker run flags as dockerd 28 has them', () => {
  let t: TestEngine;
  let dir: string;
  beforeAll(async () => {
    t = await testEngine();
    dir = await mkdtemp(join(os.tmpdir(), 'ctr-run-conformance-'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nENTRYPOINT ["echo", "entry"]\nCMD ["image-cmd"]\nSTOPSIGNAL QUIT\n');
    await t.engine.build({ context: dir, tags: ['entry:1'] });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await t?.cleanup();
  });

  /** `docker run --rm` with `options`: what it printed and its exit code. */
  async function run(options: Partial<CreateContainerOptions>): Promise<{ stdout: string; exitCode: number | undefined }> {
    const stdout = collector();
    const result = await t.engine.run({ image: 'entry:1', network: 'none', autoRemove: true, stdout, stderr: collector(), ...options });
    return { stdout: stdout.text(), exitCode: result.exitCode };
  }
  /** A created container's inspect `Config` and `HostConfig`, the container then removed. */
  async function created(options: Partial<CreateContainerOptions>): Promise<Awaited<ReturnType<TestEngine['engine']['inspect']>>> {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', ...options });
    try {
      return await t.engine.inspect(id);
    } finally {
      await t.engine.remove(id);
    }
  }
  /** A running container for execs, with `options`. */
  async function sleeper(options: Partial<CreateContainerOptions> = {}): Promise<string> {
    return (await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '300'], detach: true, ...options })).id;
  }

  describe('--entrypoint', () => {
    test('"" runs the given command alone', async () => {
      expect(await run({ entrypoint: '', cmd: ['echo', 'alone'] })).toEqual({ stdout: 'alone\n', exitCode: 0 });
    });

    test('[""], as the API sends it, runs the given command alone', async () => {
      expect(await run({ entrypoint: [''], cmd: ['echo', 'alone'] })).toEqual({ stdout: 'alone\n', exitCode: 0 });
    });

    test('"" shows as no entrypoint in inspect', async () => {
      const { Config, Path, Args } = await created({ image: 'entry:1', entrypoint: '', cmd: ['echo', 'alone'] });
      expect({ Entrypoint: Config.Entrypoint, Cmd: Config.Cmd, Path, Args }).toEqual({ Entrypoint: null, Cmd: ['echo', 'alone'], Path: 'echo', Args: ['alone'] });
    });

    test('"" without a command drops the image\'s command too, and the create is refused', async () => {
      await expect(t.engine.create({ image: 'entry:1', network: 'none', entrypoint: '' })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'no command specified' });
    });

    test("an empty list is no entrypoint and keeps the image's command", async () => {
      const { Config, Path } = await created({ image: 'entry:1', entrypoint: [] });
      expect({ Entrypoint: Config.Entrypoint, Cmd: Config.Cmd, Path }).toEqual({ Entrypoint: [], Cmd: ['image-cmd'], Path: 'image-cmd' });
    });

    test("one of its own drops the image's command", async () => {
      expect(await run({ entrypoint: 'echo' })).toEqual({ stdout: '\n', exitCode: 0 });
    });
  });

  describe('exec', () => {
    let id: string;
    beforeAll(async () => {
      id = await sleeper({ ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }] });
    });
    afterAll(async () => {
      await t.engine.remove(id, { force: true });
    });

    test("of a program that is not there fails in dockerd's words with exit code 127", async () => {
      await expect(t.engine.exec(id, { cmd: ['nosuchcmd'] })).rejects.toMatchObject({
        message: 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH: unknown',
        details: { exitCode: 127 },
      });
    });

    test('in a working directory that is not there fails with exit code 127', async () => {
      await expect(t.engine.exec(id, { cmd: ['true'], workingDir: '/nonexist' })).rejects.toMatchObject({
        message: expect.stringMatching(/chdir to cwd \("\/nonexist"\) set in config.json failed: no such file or directory: unknown$/),
        details: { exitCode: 127 },
      });
    });

    test('of a file that may not be run fails with exit code 126', async () => {
      await expect(t.engine.exec(id, { cmd: ['/etc/passwd'] })).rejects.toMatchObject({ details: { exitCode: 126 } });
    });

    // The soft limit is not checked: runc 1.1.5 sets an exec's rlimits racing its own Go runtime, which may raise it (runc#4195).
    test("gets the container's --ulimit", async () => {
      const stdout = collector();
      await t.engine.exec(id, { cmd: ['sh', '-c', 'ulimit -Hn'], stdout });
      expect(stdout.text()).toBe('2048\n');
    });

    test("in a container that is not running is refused in dockerd's words", async () => {
      const { id: stopped } = await t.engine.create({ image: 'busybox', network: 'none', cmd: ['true'] });
      await expect(t.engine.exec(stopped, { cmd: ['true'] })).rejects.toMatchObject({ code: 'Conflict', message: `container ${stopped} is not running` });
      await t.engine.remove(stopped);
    });
  });

  describe('inspect', () => {
    test('Config.StopSignal is the signal as given', async () => {
      expect((await created({ stopSignal: 'INT' })).Config.StopSignal).toBe('INT');
    });

    test("Config.StopSignal is the image's when none is given", async () => {
      expect((await created({ image: 'entry:1', cmd: ['true'] })).Config.StopSignal).toBe('QUIT');
    });

    test('Config.StopSignal is absent when neither gives one', async () => {
      expect((await created({ cmd: ['true'] })).Config).not.toHaveProperty('StopSignal');
    });

    test('Config.StopTimeout is the timeout given', async () => {
      expect((await created({ cmd: ['true'], stopTimeout: 7 })).Config.StopTimeout).toBe(7);
    });

    test('Config.StopTimeout is absent when none is given', async () => {
      expect((await created({ cmd: ['true'] })).Config).not.toHaveProperty('StopTimeout');
    });

    test('HostConfig.ContainerIDFile is the --cidfile given', async () => {
      expect((await created({ cmd: ['true'], containerIdFile: '/tmp/the.cid' })).HostConfig.ContainerIDFile).toBe('/tmp/the.cid');
    });
  });

  describe('refusals at create', () => {
    test('--ip without a network of its own', async () => {
      await expect(t.engine.create({ image: 'busybox', network: 'none', ip: '10.1.1.1' })).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: 'user specified IP address is supported on user defined networks only',
      });
    });

    test('--ip on a user network whose subnet was not given', async () => {
      await t.engine.createNetwork({ name: 'conformance-auto' });
      const { IPAM } = await t.engine.inspectNetwork('conformance-auto');
      const address = (IPAM.Config[0]?.Subnet ?? '').replace(/\.0\/\d+$/, '.9');
      await expect(t.engine.create({ image: 'busybox', network: 'conformance-auto', ip: address })).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: 'user specified IP address is supported only when connecting to networks with user configured subnets',
      });
      await t.engine.removeNetwork('conformance-auto');
    });

    test('--cpus beyond the host\'s CPUs', async () => {
      const count = os.availableParallelism();
      await expect(t.engine.create({ image: 'busybox', network: 'none', cpus: count + 1 })).rejects.toMatchObject({
        message: `Range of CPUs is from 0.01 to ${count}.00, as there are only ${count} CPUs available`,
      });
    });

    test("--cpuset-cpus beyond the host's cpuset", async () => {
      const cpu = os.availableParallelism() + 64;
      await expect(t.engine.create({ image: 'busybox', network: 'none', cpusetCpus: String(cpu) })).rejects.toMatchObject({
        message: expect.stringMatching(new RegExp(`^Requested CPUs are not available - requested ${cpu}, available: `)),
      });
    });

    test('leave nothing behind', async () => {
      expect(await t.engine.ps({ all: true })).toEqual([]);
    });
  });
});
