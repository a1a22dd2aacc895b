import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();

test('docker run --rm streams stdout and stderr apart and exits with the container exit code', async () => {
  const run = await docker(t.env, ['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  expect(run).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  const ps = await docker(t.env, ['ps', '-aq']);
  expect(ps.stdout).toBe('');
});

test('docker run -i passes piped stdin and its end closes the container input', async () => {
  const run = await docker(t.env, ['run', '--rm', '-i', '--network', 'none', 'busybox', 'sh', '-c', 'wc -l; echo done'], { input: 'a\nb\nc\n' });
  expect(run.code).toBe(0);
  expect(run.stdout.replace(/ +/g, '')).toBe('3\ndone\n');
});

test('docker run -t gives a raw TTY stream', async () => {
  const run = await docker(t.env, ['run', '--rm', '-t', '--network', 'none', 'busybox', 'sh', '-c', 'test -t 1 && echo tty']);
  expect(run.code).toBe(0);
  expect(run.stdout).toBe('tty\r\n');
});

test('a missing command fails docker run with 127 and the runtime reason', async () => {
  const run = await docker(t.env, ['run', '--rm', '--network', 'none', 'busybox', 'no-such-binary']);
  expect(run.code).toBe(127);
  expect(run.stderr).toMatch(/no-such-binary/);
});

test('docker run -d, ps, logs -f, exec, stop and rm work on one container', async () => {
  const started = await docker(t.env, ['run', '-d', '--network', 'none', '--name', 'api-run-d', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; echo ready; while true; do sleep 0.1; done']);
  expect(started.code).toBe(0);
  const id = started.stdout.trim();
  expect(id).toMatch(/^[0-9a-f]{64}$/);

  const ps = await docker(t.env, ['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}']);
  expect(ps.stdout).toMatch(new RegExp(`^${id.slice(0, 12)} api-run-d Up`));

  const logs = await docker(t.env, ['logs', 'api-run-d']);
  expect(logs.stdout).toBe('ready\n');

  const exec = await docker(t.env, ['exec', 'api-run-d', 'sh', '-c', 'echo from-exec; echo e >&2; exit 4']);
  expect(exec).toEqual({ code: 4, stdout: 'from-exec\n', stderr: 'e\n' });
  const execIn = await docker(t.env, ['exec', '-i', 'api-run-d', 'cat'], { input: 'piped\n' });
  expect(execIn.stdout).toBe('piped\n');

  const stop = await docker(t.env, ['stop', 'api-run-d']);
  expect(stop).toMatchObject({ code: 0, stdout: 'api-run-d\n' });
  const inspect = await docker(t.env, ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'api-run-d']);
  expect(inspect.stdout.trim()).toBe('exited 0');

  const rm = await docker(t.env, ['rm', 'api-run-d']);
  expect(rm).toMatchObject({ code: 0, stdout: 'api-run-d\n' });
  const gone = await docker(t.env, ['inspect', 'api-run-d']);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toMatch(/No such object: api-run-d/);
});

test('docker logs -f follows until the container exits', async () => {
  const started = await docker(t.env, ['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.2; done']);
  const logs = await docker(t.env, ['logs', '-f', started.stdout.trim()]);
  expect(logs.stdout).toBe('line 1\nline 2\nline 3\n');
  await docker(t.env, ['rm', '-f', started.stdout.trim()]);
});

test('removing a running container without force is a conflict with docker words', async () => {
  const started = await docker(t.env, ['run', '-d', '--network', 'none', 'busybox', 'sleep', '30']);
  const rm = await docker(t.env, ['rm', started.stdout.trim()]);
  expect(rm.code).toBe(1);
  expect(rm.stderr).toMatch(/Error response from daemon: cannot remove container "\/[\w.-]+": container is running: stop the container before removing or force remove/);
  expect((await docker(t.env, ['rm', '-f', started.stdout.trim()])).code).toBe(0);
});

test('docker run flags reach the container: env, workdir, user, bind mount, tmpfs, read-only, memory', async () => {
  const host = await mkdtemp(join(tmpdir(), 'ctr-api-bind-'));
  try {
    await chmod(host, 0o755);
    await writeFile(join(host, 'in.txt'), 'from host\n');
    const run = await docker(t.env, [
      'run', '--rm', '--network', 'none', '-e', 'GREETING=hi', '-w', '/tmp', '-u', '1000:1000',
      '-v', `${host}:/host:ro`, '--tmpfs', '/scratch', '--read-only', '--memory', '64m', '--label', 'x=y',
      'busybox', 'sh', '-c', 'echo $GREETING $(pwd) $(id -u):$(id -g); cat /host/in.txt; touch /root-write 2>/dev/null || echo ro; cat /sys/fs/cgroup/memory/memory.limit_in_bytes',
    ]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`hi /tmp 1000:1000\nfrom host\nro\n${64 * 1024 * 1024}\n`);
  } finally {
    await rm(host, { recursive: true, force: true });
  }
});

test('docker attach follows the output of a running container', async () => {
  const id = (await docker(t.env, ['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'sleep 1; echo late; sleep 0.2'])).stdout.trim();
  const attach = await docker(t.env, ['attach', '--no-stdin', id]);
  expect(attach).toMatchObject({ code: 0, stdout: 'late\n' });
  await docker(t.env, ['rm', '-f', id]);
});

test('docker stop of a detached --rm container stops it, and the daemon removes it', async () => {
  for (let round = 0; round < 4; round++) {
    const id = (await docker(t.env, ['run', '-d', '--rm', '--network', 'none', 'busybox', 'sleep', '60'])).stdout.trim();
    expect(await docker(t.env, ['stop', '-t', '0', id])).toMatchObject({ code: 0, stdout: `${id}\n` });
    expect((await docker(t.env, ['ps', '-aq', '--no-trunc', '--filter', `id=${id}`])).stdout.trim()).toBe('');
  }
});
