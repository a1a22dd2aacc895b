import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, useTestDaemon } from './fixture';

// Volume behaviours the docker CLI shows as dockerd 28 has them.

const t = useTestDaemon();
let hostDir: string;
beforeAll(async () => {
  hostDir = await mkdtemp(join(tmpdir(), 'ctr-api-volume-rules-'));
});
afterAll(async () => {
  await docker(t.env, ['rm', '-f', 'vr-source']).catch(() => undefined);
  await docker(t.env, ['volume', 'rm', '-f', 'vr-existing', 'vr-bind']).catch(() => undefined);
  await rm(hostDir, { recursive: true, force: true });
});

test('docker volume create -o type=none of an existing volume prints its name, as dockerd returns the volume it has', async () => {
  expect(await docker(t.env, ['volume', 'create', 'vr-existing'])).toMatchObject({ code: 0, stdout: 'vr-existing\n' });
  expect(await docker(t.env, ['volume', 'create', '-o', 'type=none', 'vr-existing'])).toMatchObject({ code: 0, stdout: 'vr-existing\n', stderr: '' });
  expect((await docker(t.env, ['volume', 'inspect', '--format', '{{json .Options}}', 'vr-existing'])).stdout).toBe('{}\n');
});

test("docker run -v of a bind-type volume over an empty host directory lists the image's files there", async () => {
  await docker(t.env, ['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${hostDir}`, 'vr-bind']);
  const result = await docker(t.env, ['run', '--rm', '--network', 'none', '-v', 'vr-bind:/etc', 'busybox', 'ls', '/etc/passwd']);
  expect(result).toMatchObject({ code: 0, stdout: '/etc/passwd\n' });
  expect(await readdir(hostDir)).toContain('passwd');
});

test('docker volume prune -af leaves the bind-type volume, and reclaims nothing', async () => {
  const result = await docker(t.env, ['volume', 'prune', '-af']);
  expect(result.code).toBe(0);
  expect(result.stdout).not.toContain('vr-bind');
  expect(result.stdout).toMatch(/Total reclaimed space: 0B\n$/);
  expect((await docker(t.env, ['volume', 'ls', '-q'])).stdout.split('\n')).toContain('vr-bind');
});

test('docker inspect of a --volumes-from container shows the --mount tmpfs it brought and empty modes', async () => {
  await docker(t.env, ['create', '--name', 'vr-source', '--network', 'none', '-v', 'vr-existing:/named:z', '--mount', 'type=tmpfs,dst=/spec', '--tmpfs', '/flag', 'busybox']);
  const result = await docker(t.env, ['run', '--rm', '--network', 'none', '--volumes-from', 'vr-source', 'busybox', 'sh', '-c', 'grep -c " /spec tmpfs " /proc/mounts; grep -c " /flag " /proc/mounts || true']);
  expect(result).toMatchObject({ code: 0, stdout: '1\n0\n' });
  await docker(t.env, ['create', '--name', 'vr-user', '--network', 'none', '--volumes-from', 'vr-source', 'busybox']);
  const mounts = await docker(t.env, ['inspect', '--format', '{{range .Mounts}}{{.Type}} {{.Destination}} "{{.Mode}}";{{end}}', 'vr-user']);
  expect(mounts.stdout.trim().split(';').filter(Boolean).sort()).toEqual(['tmpfs /spec ""', 'volume /named ""']);
  await docker(t.env, ['rm', 'vr-user']);
});
