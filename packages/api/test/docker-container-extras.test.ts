import { readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-extras-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
test('docker export | docker import makes a runnable image of a container filesystem', async () => {
  await docker(t.env, ['run', '--network', 'none', '--name', 'api-exported', 'busybox', 'sh', '-c', 'echo inside > /marker']);
  const tar = join(work, 'fs.tar');
  expect((await docker(t.env, ['export', '-o', tar, 'api-exported'])).code).toBe(0);
  const imported = await docker(t.env, ['import', '--change', 'CMD ["cat", "/marker"]', tar, 'api-imported:1']);
  expect(imported.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
  const run = await docker(t.env, ['run', '--rm', '--network', 'none', 'api-imported:1']);
  expect(run.stdout).toBe('inside\n');
  await docker(t.env, ['rm', 'api-exported']);
});

test('docker diff lists what a container added and changed', async () => {
  await docker(t.env, ['run', '--network', 'none', '--name', 'api-diffed', 'busybox', 'sh', '-c', 'echo x > /added && echo y >> /etc/passwd']);
  const diff = await docker(t.env, ['diff', 'api-diffed']);
  expect(diff.stdout.split('\n')).toEqual(expect.arrayContaining(['A /added', 'C /etc/passwd']));
  await docker(t.env, ['rm', 'api-diffed']);
});

test('docker top, stats, pause, unpause, rename and restart on a running container', async () => {
  const id = (await docker(t.env, ['run', '-d', '--network', 'none', '--name', 'api-busy', 'busybox', 'sleep', '300'])).stdout.trim();
  const top = await docker(t.env, ['top', 'api-busy']);
  expect(top.stdout).toMatch(/sleep 300/);
  const stats = await docker(t.env, ['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'api-busy']);
  expect(stats.stdout.trim()).toBe('api-busy 1');
  expect((await docker(t.env, ['pause', 'api-busy'])).code).toBe(0);
  expect((await docker(t.env, ['inspect', '--format', '{{.State.Status}}', 'api-busy'])).stdout.trim()).toBe('paused');
  expect((await docker(t.env, ['unpause', 'api-busy'])).code).toBe(0);
  expect((await docker(t.env, ['rename', 'api-busy', 'api-renamed'])).code).toBe(0);
  const before = (await docker(t.env, ['inspect', '--format', '{{.State.StartedAt}}', 'api-renamed'])).stdout.trim();
  expect((await docker(t.env, ['restart', '-t', '0', 'api-renamed'])).code).toBe(0);
  const after = await docker(t.env, ['inspect', '--format', '{{.State.Running}} {{.State.StartedAt}}', id]);
  expect(after.stdout.startsWith('true ')).toBe(true);
  expect(after.stdout.trim()).not.toBe(`true ${before}`);
  await docker(t.env, ['rm', '-f', id]);
});

test('docker restart --signal reaches the daemon: the container ends on that signal, not TERM', async () => {
  await docker(t.env, ['run', '-d', '--network', 'none', '--name', 'api-resig', 'busybox', 'sh', '-c', 'trap "" TERM; trap "exit 3" USR1; while true; do sleep 0.1; done']);
  const since = String(Math.floor(Date.now() / 1000) - 1);
  expect((await docker(t.env, ['restart', '--signal', 'USR1', '--timeout', '20', 'api-resig'])).code).toBe(0);
  const until = String(Math.ceil(Date.now() / 1000) + 1);
  const died = await docker(t.env, ['events', '--since', since, '--until', until, '--filter', 'event=die', '--filter', 'container=api-resig', '--format', '{{.Actor.Attributes.exitCode}}']);
  expect(died.stdout).toBe('3\n');
  await docker(t.env, ['rm', '-f', 'api-resig']);
});

test('restart policies and detached --rm are honoured by the daemon', async () => {
  const flaky = (await docker(t.env, ['run', '-d', '--network', 'none', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3'])).stdout.trim();
  const gone = (await docker(t.env, ['run', '-d', '--rm', '--network', 'none', 'busybox', 'true'])).stdout.trim();
  let restarts = '';
  for (let i = 0; i < 100 && restarts !== '2 exited'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    restarts = (await docker(t.env, ['inspect', '--format', '{{.RestartCount}} {{.State.Status}}', flaky])).stdout.trim();
  }
  expect(restarts).toBe('2 exited');
  let removed = false;
  for (let i = 0; i < 50 && !removed; i++) {
    removed = (await docker(t.env, ['inspect', gone])).code === 1;
    if (!removed) await new Promise((r) => setTimeout(r, 100));
  }
  expect(removed).toBe(true);
  await docker(t.env, ['rm', '-f', flaky]);
});

test('docker update changes a running container\'s limits and restart policy, and inspect shows them', async () => {
  expect((await docker(t.env, ['run', '-d', '--name', 'limited', '-m', '64m', '--network', 'none', 'busybox', 'sleep', '60'])).code).toBe(0);
  const update = await docker(t.env, ['update', '-m', '96m', '--cpus', '0.5', '--pids-limit', '40', '--restart', 'on-failure:2', 'limited']);
  expect(update).toMatchObject({ code: 0, stdout: 'limited\n' });
  const shown = await docker(t.env, ['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{json .HostConfig.RestartPolicy}}', 'limited']);
  expect(shown.stdout).toBe(`${96 * 1024 * 1024} ${128 * 1024 * 1024} 500000000 40 {"MaximumRetryCount":2,"Name":"on-failure"}\n`);
  const inside = await docker(t.env, ['exec', 'limited', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes']);
  expect(inside.stdout).toBe(`${96 * 1024 * 1024}\n`);
  await docker(t.env, ['rm', '-f', 'limited']);
});

test('docker update refuses a memory limit above the swap limit with dockerd\'s message', async () => {
  expect((await docker(t.env, ['create', '--name', 'swapped', '-m', '64m', '--network', 'none', 'busybox', 'true'])).code).toBe(0);
  const update = await docker(t.env, ['update', '-m', '1g', 'swapped']);
  expect(update.code).toBe(1);
  expect(update.stderr).toMatch(
    /^Error response from daemon: Cannot update container [0-9a-f]{64}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time\n/,
  );
  await docker(t.env, ['rm', '-f', 'swapped']);
});

test('docker run --init, --privileged, --device, --group-add and --pid host reach the container', async () => {
  // Apart: in the host's PID namespace tini is not PID 1, and warns so.
  const hostPid = await docker(t.env, ['run', '--rm', '--network', 'none', '--pid', 'host', 'busybox', 'readlink', '/proc/self/ns/pid']);
  expect(hostPid.stdout).toBe(`${readlinkSync('/proc/self/ns/pid')}\n`);
  const run = await docker(t.env, [
    'run', '--rm', '--network', 'none', '--init', '--privileged', '--device', '/dev/null:/dev/other-null:rw', '--group-add', '4242',
    'busybox', 'sh', '-c', 'ls /dev/other-null /dev/loop-control; id -G; grep -c docker-init /proc/$PPID/cmdline',
  ]);
  expect(run.stderr).toBe('');
  expect(run.stdout).toBe('/dev/loop-control\n/dev/other-null\n0 4242\n1\n');
});

test('docker inspect shows --init, --privileged, --device, --group-add and the namespace modes', async () => {
  expect((await docker(t.env, ['create', '--name', 'loosened', '--network', 'none', '--init', '--privileged', '--device', '/dev/null', '--group-add', 'root', '--ipc', 'host', 'busybox'])).code).toBe(0);
  const shown = await docker(t.env, ['inspect', '--format', '{{.HostConfig.Init}} {{.HostConfig.Privileged}} {{json .HostConfig.Devices}} {{.HostConfig.GroupAdd}} {{.HostConfig.IpcMode}} {{.HostConfig.PidMode}}', 'loosened']);
  expect(shown.stdout).toBe('true true [{"PathOnHost":"/dev/null","PathInContainer":"/dev/null","CgroupPermissions":"rwm"}] [root] host \n');
  await docker(t.env, ['rm', 'loosened']);
});
