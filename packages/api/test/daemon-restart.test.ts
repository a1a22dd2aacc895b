import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '@ctr/api';
import { docker } from './fixture';

let root: string;
let runRoot: string;
let daemon: Daemon | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctr-api-restart-'));
  runRoot = await mkdtemp(join(tmpdir(), 'ctr-api-restart-run-'));
});
afterAll(async () => {
  if (daemon) {
    for (const c of await daemon.engine.ps({ all: true })) await daemon.engine.remove(c.Id, { force: true, volumes: true }).catch(() => undefined);
    await daemon.stop();
  }
  await rm(root, { recursive: true, force: true });
  await rm(runRoot, { recursive: true, force: true });
});

test('containers keep running across a daemon restart and the new daemon manages them', async () => {
  const socket = join(runRoot, 'ctr.sock');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(root, 'docker-config') };
  daemon = await startDaemon({ root, runRoot, hosts: [`unix://${socket}`] });
  await daemon.engine.importBusybox();
  const id = (await docker(env, ['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'echo before; sleep 300'])).stdout.trim();

  await daemon.stop();
  daemon = undefined;
  expect((await docker(env, ['ps'])).code).toBe(1);

  daemon = await startDaemon({ root, runRoot, hosts: [`unix://${socket}`] });
  const ps = await docker(env, ['ps', '--format', '{{.ID}} {{.Status}}']);
  expect(ps.stdout).toMatch(new RegExp(`^${id.slice(0, 12)} Up`));
  expect((await docker(env, ['logs', id])).stdout).toBe('before\n');
  expect((await docker(env, ['exec', id, 'echo', 'after'])).stdout).toBe('after\n');
  expect((await docker(env, ['rm', '-f', id])).code).toBe(0);
});
