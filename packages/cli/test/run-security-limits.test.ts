/** `ctr run --security-opt seccomp=FILE`, `--ulimit …=-1` and `--ipc none`, as docker's CLI and dockerd have them (real runc, conmon). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

describe('ctr run: a seccomp profile file, unlimited ulimits, --ipc none', () => {
  let local: LocalCtr;
  let work: string;
  const runSh = (flags: string[], script: string): Promise<CtrResult> => local.run('run', '--rm', '--pull', 'never', '--network', 'none', ...flags, 'busybox', 'sh', '-c', script);

  beforeAll(async () => {
    local = await localCtr('run-security-limits');
    work = await mkdtemp(join(tmpdir(), 'ctr-cli-security-limits-'));
  });
  afterAll(async () => {
    await local?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  test('a profile file that denies mkdir makes mkdir fail in the container', async () => {
    const profile = join(work, 'deny-mkdir.json');
    await writeFile(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }, null, 2));
    const result = await runSh(['--security-opt', `seccomp=${profile}`], 'mkdir /x');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Operation not permitted');
  });

  test("the profile's JSON is kept compacted, as docker's CLI sends it", async () => {
    const profile = join(work, 'spaced.json');
    await writeFile(profile, '{ "defaultAction" : "SCMP_ACT_ALLOW",\n  "syscalls": [ ] }\n');
    const created = await local.run('create', '--pull', 'never', '--network', 'none', '--security-opt', `seccomp=${profile}`, 'busybox');
    expect(created.code).toBe(0);
    const inspect = await local.run('inspect', '-f', '{{json .HostConfig.SecurityOpt}}', created.stdout.trim());
    expect(inspect.stdout.trim()).toBe('["seccomp={\\"defaultAction\\":\\"SCMP_ACT_ALLOW\\",\\"syscalls\\":[]}"]');
  });

  test("a profile file that cannot be read is refused in docker's words", async () => {
    const missing = join(work, 'missing.json');
    const result = await runSh(['--security-opt', `seccomp=${missing}`], 'true');
    expect(result.code).toBe(125);
    expect(result.stderr).toContain(`opening seccomp profile (${missing}) failed: open ${missing}: no such file or directory`);
  });

  test("a profile file that is not JSON is refused in docker's words", async () => {
    const broken = join(work, 'broken.json');
    await writeFile(broken, '{"defaultAction": }');
    const result = await runSh(['--security-opt', `seccomp=${broken}`], 'true');
    expect(result.code).toBe(125);
    expect(result.stderr).toContain(`compacting json for seccomp profile (${broken}) failed: invalid character '}' looking for beginning of value`);
  });

  test("an option without a value is refused by the CLI in docker's words", async () => {
    const result = await runSh(['--security-opt', 'seccomp'], 'true');
    expect(result.code).toBe(125);
    expect(result.stderr).toContain('Invalid --security-opt: "seccomp"');
  });

  test('inspect shows the options as given, less the CLI\'s own systempaths=unconfined', async () => {
    const given = ['seccomp=builtin', 'label=disable', 'apparmor=unconfined', 'no-new-privileges=false'];
    const created = await local.run('create', '--pull', 'never', '--network', 'none', ...given.flatMap((o) => ['--security-opt', o]), '--security-opt', 'systempaths=unconfined', 'busybox');
    expect(created.code).toBe(0);
    const inspect = await local.run('inspect', '-f', '{{json .HostConfig.SecurityOpt}}', created.stdout.trim());
    expect(JSON.parse(inspect.stdout)).toEqual(given);
  });

  // /proc/timer_list: a masked path this test's kernel has (/proc/kcore needs CONFIG_PROC_KCORE).
  test("--security-opt systempaths=unconfined unmasks /proc/timer_list and leaves /proc/sys without its read-only mount", async () => {
    const script = 'stat -c %F /proc/timer_list; grep -c " /proc/sys " /proc/self/mountinfo';
    expect(await runSh([], script)).toMatchObject({ code: 0, stdout: 'character special file\n1\n' });
    expect(await runSh(['--security-opt', 'systempaths=unconfined'], script)).toMatchObject({ code: 1, stdout: 'regular empty file\n0\n' });
  });

  test('--ulimit core=-1 is unlimited in the container', async () => {
    expect(await runSh(['--ulimit', 'core=-1'], 'ulimit -c')).toMatchObject({ code: 0, stdout: 'unlimited\n' });
  });

  test("an unlimited soft limit under a finite hard one is refused in docker's words", async () => {
    const result = await runSh(['--ulimit', 'core=-1:100'], 'true');
    expect(result.code).toBe(125);
    expect(result.stderr).toContain('ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 100');
  });

  test('--ipc none runs a container without /dev/shm', async () => {
    expect(await runSh(['--ipc', 'none'], 'grep -c " /dev/shm " /proc/self/mountinfo')).toMatchObject({ code: 1, stdout: '0\n' });
  });
});
