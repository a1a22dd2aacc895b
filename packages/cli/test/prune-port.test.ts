import { freePort } from '../../../test/support/free-port';
import { importBusybox, localCtr, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;
beforeAll(async () => {
  ctr = await localCtr('prune-port');
});
afterAll(async () => {
  await ctr.cleanup();
});

test('image prune removes dangling images and keeps tagged ones; -a also removes unused tagged ones', async () => {
  expect((await ctr.run('tag', 'busybox', 'spare:1')).code).toBe(0);
  // A dangling image: built, then its name moved to another build.
  const dangling = (await ctr.run('commit', (await ctr.run('create', '--network', 'none', 'busybox', 'true')).stdout.trim(), 'moving:1')).stdout.trim();
  expect((await ctr.run('commit', (await ctr.run('create', '--network', 'none', 'busybox', 'false')).stdout.trim(), 'moving:1')).code).toBe(0);
  expect((await ctr.run('container', 'prune', '-f')).code).toBe(0);
  const pruned = await ctr.run('image', 'prune', '-f');
  expect(pruned.stdout).toContain(`deleted: ${dangling}`);
  expect(pruned.stdout).toMatch(/Total reclaimed space: /);
  expect((await ctr.run('images', '--format', '{{.Repository}}:{{.Tag}}')).stdout.split('\n')).toEqual(expect.arrayContaining(['busybox:latest', 'spare:1', 'moving:1']));
  const all = await ctr.run('image', 'prune', '-a', '-f');
  expect(all.stdout).toContain('untagged: spare:1');
  expect((await ctr.run('images', '--format', '{{.Repository}}')).stdout).toBe('');
  expect((await importBusybox(ctr)).code).toBe(0);
});

test('network prune removes user networks no container uses and keeps the others', async () => {
  expect((await ctr.run('network', 'create', 'unused-net')).code).toBe(0);
  const pruned = await ctr.run('network', 'prune', '-f');
  expect(pruned).toMatchObject({ code: 0, stdout: 'Deleted Networks:\nunused-net\n\n' });
  expect((await ctr.run('network', 'ls', '--format', '{{.Name}}')).stdout.split('\n').filter(Boolean).sort()).toEqual(['bridge', 'host', 'none']);
});

test('network create -o sets driver options, which inspect shows as given', async () => {
  expect((await ctr.run('network', 'create', '-o', 'com.docker.network.driver.mtu=1400', 'mtu-net')).code).toBe(0);
  const inspected = await ctr.run('network', 'inspect', '--format', '{{json .Options}}', 'mtu-net');
  expect(inspected.stdout.trim()).toBe('{"com.docker.network.driver.mtu":"1400"}');
  expect((await ctr.run('network', 'rm', 'mtu-net')).code).toBe(0);
});

test('network create -o with an option ctr does not honour is refused, and no network is made', async () => {
  const refused = await ctr.run('network', 'create', '--opt', 'com.docker.network.bridge.enable_icc=false', 'icc-net');
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain('network option "com.docker.network.bridge.enable_icc" is not supported');
  expect((await ctr.run('network', 'ls', '--format', '{{.Name}}')).stdout).not.toContain('icc-net');
});

test('network prune without -f asks, and with no answer removes nothing', async () => {
  expect((await ctr.run('network', 'create', 'kept-net')).code).toBe(0);
  const unanswered = await ctr.run('network', 'prune');
  expect(unanswered).toMatchObject({ code: 0, stdout: 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ' });
  expect((await ctr.run('network', 'ls', '--format', '{{.Name}}')).stdout).toContain('kept-net');
  await ctr.run('network', 'rm', 'kept-net');
});

test('port lists a container’s published ports, or the host side of one', async () => {
  const hostPort = await freePort();
  expect((await ctr.run('run', '-d', '--name', 'ported', '-p', `127.0.0.1:${hostPort}:80`, 'busybox', 'sleep', '30')).code).toBe(0);
  expect((await ctr.run('port', 'ported')).stdout).toBe(`80/tcp -> 127.0.0.1:${hostPort}\n`);
  expect((await ctr.run('container', 'port', 'ported', '80')).stdout).toBe(`127.0.0.1:${hostPort}\n`);
  const missing = await ctr.run('port', 'ported', '81/tcp');
  expect(missing.stderr).toBe("Error: No public port '81/tcp' published for ported\n");
  await ctr.run('rm', '-f', 'ported');
});

test('inspect takes -f for --format, as docker does', async () => {
  expect(await ctr.run('inspect', '-f', '{{.Config.Cmd}}', 'busybox')).toMatchObject({ code: 0, stdout: '[sh]\n' });
  expect(await ctr.run('image', 'inspect', '-f', '{{.Os}}', 'busybox')).toMatchObject({ code: 0, stdout: 'linux\n' });
});
