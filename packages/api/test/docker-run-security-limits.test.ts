/**
 * The docker CLI against ctrd: a seccomp profile file, an unlimited ulimit, `--ipc none`, the
 * ShmSize of a shareable container, and a slave bind from a private mount, as Docker has them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-security-limits-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const run = (...args: string[]): ReturnType<typeof docker> => docker(t.env, ['run', '--rm', '--network', 'none', ...args]);

test('a seccomp profile that denies mkdir makes mkdir fail in the container', async () => {
  const profile = join(work, 'deny-mkdir.json');
  await writeFile(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }, null, 2));
  const result = await run('--security-opt', `seccomp=${profile}`, 'busybox', 'mkdir', '/x');
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('Operation not permitted');
});

test("a seccomp profile of the wrong shape is refused at create in dockerd's words", async () => {
  const profile = join(work, 'wrong.json');
  await writeFile(profile, '{"defaultAction": 1}');
  const result = await docker(t.env, ['create', '--security-opt', `seccomp=${profile}`, 'busybox']);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('Decoding seccomp profile failed: json: cannot unmarshal number into Go struct field Seccomp.defaultAction of type specs.LinuxSeccompAction');
});

test("--security-opt systempaths=unconfined (empty MaskedPaths and ReadonlyPaths from docker's CLI) unmasks /proc", async () => {
  // /proc/timer_list: a masked path this test's kernel has (/proc/kcore needs CONFIG_PROC_KCORE).
  const result = await run('--security-opt', 'systempaths=unconfined', 'busybox', 'sh', '-c', 'stat -c %F /proc/timer_list; grep -c " /proc/sys " /proc/self/mountinfo');
  expect(result).toMatchObject({ code: 1, stdout: 'regular empty file\n0\n' });
});

test('--ulimit core=-1 is unlimited in the container', async () => {
  expect(await run('--ulimit', 'core=-1', 'busybox', 'sh', '-c', 'ulimit -c')).toEqual({ code: 0, stdout: 'unlimited\n', stderr: '' });
});

test('inspect shows an unlimited ulimit as -1', async () => {
  const created = await docker(t.env, ['create', '--ulimit', 'core=-1', 'busybox']);
  const inspect = await docker(t.env, ['inspect', '-f', '{{json .HostConfig.Ulimits}}', created.stdout.trim()]);
  expect(inspect.stdout.trim()).toBe('[{"Name":"core","Hard":-1,"Soft":-1}]');
});

test('--ipc none runs a container without /dev/shm', async () => {
  expect(await run('--ipc', 'none', 'busybox', 'sh', '-c', 'grep -c " /dev/shm " /proc/self/mountinfo')).toMatchObject({ code: 1, stdout: '0\n' });
});

test("a shareable IPC container's ShmSize is the default 64 MiB", async () => {
  const created = await docker(t.env, ['create', '--ipc', 'shareable', 'busybox']);
  expect((await docker(t.env, ['inspect', '-f', '{{.HostConfig.ShmSize}}', created.stdout.trim()])).stdout.trim()).toBe('67108864');
});

test("an rslave bind from a private mount is refused in dockerd's words", async () => {
  const source = join(work, 'bind');
  await mkdir(source);
  const result = await run('-v', `${source}:/b:rslave`, 'busybox', 'true');
  expect(result.code).toBe(125);
  expect(result.stderr).toMatch(new RegExp(`path ${source} is mounted on /\\S* but it is not a shared or slave mount`));
});
