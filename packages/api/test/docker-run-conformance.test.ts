/**
 * The real docker CLI 28 against ctrd: what it prints and exits with for a `--entrypoint ""`,
 * an exec that cannot start, the stop options and `--cidfile` in inspect, and the create-time
 * refusals of `--ip` and `--cpus`, as it would against dockerd.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();
let work: string;
let running: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-run-conformance-'));
  running = (await docker(t.env, ['run', '-d', '--network', 'none', 'busybox', 'sleep', '300'])).stdout.trim();
});
afterAll(async () => {
  await docker(t.env, ['rm', '-f', running]);
  await rm(work, { recursive: true, force: true });
});

test('docker run --entrypoint "" runs the command alone', async () => {
  expect(await docker(t.env, ['run', '--rm', '--network', 'none', '--entrypoint', '', 'busybox', 'echo', 'alone'])).toMatchObject({ code: 0, stdout: 'alone\n' });
});

test("docker exec of a program that is not there prints dockerd's message and exits 127", async () => {
  expect(await docker(t.env, ['exec', running, 'nosuchcmd'])).toMatchObject({
    code: 127,
    stdout: 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH: unknown\r\n',
  });
});

test('docker exec -w of a directory that is not there exits 127', async () => {
  expect((await docker(t.env, ['exec', '-w', '/nonexist', running, 'true'])).code).toBe(127);
});

test('docker inspect shows the stop signal as given, the stop timeout and the --cidfile', async () => {
  const cidfile = join(work, 'cid');
  const id = (await docker(t.env, ['create', '--network', 'none', '--stop-signal', 'INT', '--stop-timeout', '7', '--cidfile', cidfile, 'busybox'])).stdout.trim();
  const shown = await docker(t.env, ['inspect', '-f', '{{.Config.StopSignal}} {{.Config.StopTimeout}} {{.HostConfig.ContainerIDFile}}', id]);
  expect(shown.stdout).toBe(`INT 7 ${cidfile}\n`);
  await docker(t.env, ['rm', id]);
});

test('docker inspect leaves out a stop signal and timeout that were not given', async () => {
  const id = (await docker(t.env, ['create', '--network', 'none', 'busybox'])).stdout.trim();
  const { Config } = JSON.parse((await docker(t.env, ['inspect', id])).stdout)[0] as { Config: Record<string, unknown> };
  expect(Object.keys(Config)).not.toEqual(expect.arrayContaining(['StopSignal']));
  expect(Object.keys(Config)).not.toEqual(expect.arrayContaining(['StopTimeout']));
  await docker(t.env, ['rm', id]);
});

test('docker run --label-file drops a bare key', async () => {
  await writeFile(join(work, 'labels'), 'kept=1\nbare\n');
  const id = (await docker(t.env, ['create', '--network', 'none', '--label-file', join(work, 'labels'), 'busybox'])).stdout.trim();
  expect((await docker(t.env, ['inspect', '-f', '{{json .Config.Labels}}', id])).stdout).toBe('{"kept":"1"}\n');
  await docker(t.env, ['rm', id]);
});

test('docker run --ip on a network whose subnet was not given is refused', async () => {
  await docker(t.env, ['network', 'create', 'conformance-auto']);
  const result = await docker(t.env, ['run', '--rm', '--network', 'conformance-auto', '--ip', '10.211.250.9', 'busybox', 'true']);
  expect(result.code).toBe(125);
  expect(result.stderr).toContain('user specified IP address is supported only when connecting to networks with user configured subnets');
  await docker(t.env, ['network', 'rm', 'conformance-auto']);
});

test('docker run --cpus beyond the host\'s CPUs is refused', async () => {
  const result = await docker(t.env, ['run', '--rm', '--network', 'none', '--cpus', '100000', 'busybox', 'true']);
  expect(result.code).toBe(125);
  expect(result.stderr).toMatch(/Error response from daemon: Range of CPUs is from 0\.01 to \d+\.00, as there are only \d+ CPUs available/);
});
