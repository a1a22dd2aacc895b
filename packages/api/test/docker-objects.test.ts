import { freePort } from '../../../test/support/free-port';
import { reserveTestBlock } from '../../../test/support/test-subnets';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();
const block = reserveTestBlock();
afterAll(() => block.release());

test('docker volume create, ls, inspect and rm', async () => {
  expect((await docker(t.env, ['volume', 'create', '--label', 'k=v', 'api-vol'])).stdout).toBe('api-vol\n');
  expect((await docker(t.env, ['volume', 'ls', '--format', '{{.Driver}} {{.Name}}'])).stdout).toBe('local api-vol\n');
  expect((await docker(t.env, ['volume', 'inspect', '--format', '{{.Labels.k}}', 'api-vol'])).stdout).toBe('v\n');
  const write = await docker(t.env, ['run', '--rm', '--network', 'none', '-v', 'api-vol:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
  expect(write.code).toBe(0);
  const read = await docker(t.env, ['run', '--rm', '--network', 'none', '-v', 'api-vol:/data:ro', 'busybox', 'cat', '/data/f']);
  expect(read.stdout).toBe('kept\n');
  expect((await docker(t.env, ['volume', 'rm', 'api-vol'])).stdout).toBe('api-vol\n');
  const missing = await docker(t.env, ['volume', 'rm', 'api-vol']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/no such volume|No such volume/i);
});

test('docker network create, ls, connect and rm', async () => {
  const created = await docker(t.env, ['network', 'create', '--subnet', block.subnet(0), 'api-net']);
  expect(created.code).toBe(0);
  expect(created.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
  expect((await docker(t.env, ['network', 'create', '--subnet', block.subnet(1), 'api-net2'])).code).toBe(0);
  const ls = await docker(t.env, ['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
  expect(ls.stdout.split('\n')).toEqual(expect.arrayContaining(['api-net bridge', 'api-net2 bridge', 'none null']));
  await docker(t.env, ['run', '-d', '--network', 'api-net', '--name', 'api-net-user', 'busybox', 'sleep', '30']);
  const connect = await docker(t.env, ['network', 'connect', 'api-net2', 'api-net-user']);
  expect(connect).toMatchObject({ code: 0, stderr: '' });
  const addresses = await docker(t.env, ['exec', 'api-net-user', 'ip', '-4', '-o', 'addr']);
  expect(addresses.stdout).toContain(`${block.net(0)}.2/24`);
  expect(addresses.stdout).toContain(`${block.net(1)}.2/24`);
  const inspect = await docker(t.env, ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', 'api-net']);
  expect(inspect.stdout.trim()).toBe(block.subnet(0));
  await docker(t.env, ['rm', '-f', 'api-net-user']);
  expect((await docker(t.env, ['network', 'rm', 'api-net', 'api-net2'])).stdout).toBe('api-net\napi-net2\n');
});

test("docker network connect host of a bridge container is refused in dockerd's words", async () => {
  expect((await docker(t.env, ['create', '--name', 'api-bridged', 'busybox', 'true'])).code).toBe(0);
  expect(await docker(t.env, ['network', 'connect', 'host', 'api-bridged'])).toMatchObject({
    code: 1,
    stderr: 'Error response from daemon: container cannot be disconnected from host network or connected to host network\n',
  });
  await docker(t.env, ['rm', 'api-bridged']);
});

test("docker network connect of a --network none container is refused in dockerd's words", async () => {
  expect((await docker(t.env, ['create', '--network', 'none', '--name', 'api-unnetworked', 'busybox', 'true'])).code).toBe(0);
  expect(await docker(t.env, ['network', 'connect', 'bridge', 'api-unnetworked'])).toMatchObject({
    code: 1,
    stderr: 'Error response from daemon: container cannot be connected to multiple networks with one of the networks in private (none) mode\n',
  });
  await docker(t.env, ['rm', 'api-unnetworked']);
});

test('docker events replays what happened to a container', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await docker(t.env, ['run', '--rm', '--network', 'none', '--name', 'api-evented', 'busybox', 'true']);
  const until = Math.floor(Date.now() / 1000) + 1;
  const events = await docker(t.env, ['events', '--since', String(since), '--until', String(until), '--filter', 'container=api-evented', '--format', '{{.Type}} {{.Action}}']);
  expect(events.code).toBe(0);
  expect(events.stdout.split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['container create', 'container start', 'container destroy']));
});

test('docker inspect finds containers and images; system df counts them', async () => {
  await docker(t.env, ['create', '--network', 'none', '--name', 'api-inspected', '--label', 'role=test', 'busybox', 'echo', 'hi']);
  const inspect = await docker(t.env, ['inspect', '--format', '{{.Name}} {{.Config.Labels.role}} {{.State.Status}} {{json .Config.Cmd}}', 'api-inspected']);
  expect(inspect.stdout.trim()).toBe('/api-inspected test created ["echo","hi"]');
  const image = await docker(t.env, ['inspect', '--format', '{{.Os}} {{index .RepoTags 0}}', 'busybox']);
  expect(image.stdout.trim()).toBe('linux busybox:latest');
  const df = await docker(t.env, ['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
  expect(df.stdout).toMatch(/Images 1\nContainers 1\n/);
  await docker(t.env, ['rm', 'api-inspected']);
});

test('docker start -a, restart and kill drive a created container', async () => {
  await docker(t.env, ['create', '--network', 'none', '--name', 'api-lifecycle', 'busybox', 'sh', '-c', 'echo started; exit 2']);
  const start = await docker(t.env, ['start', '-a', 'api-lifecycle']);
  expect(start).toMatchObject({ code: 2, stdout: 'started\n' });
  const logs = await docker(t.env, ['logs', 'api-lifecycle']);
  expect(logs.stdout).toBe('started\n');
  const again = await docker(t.env, ['start', '-a', 'api-lifecycle']);
  expect(again).toMatchObject({ code: 2, stdout: 'started\n' });
  await docker(t.env, ['rm', 'api-lifecycle']);
  const sleeper = (await docker(t.env, ['run', '-d', '--network', 'none', 'busybox', 'sleep', '60'])).stdout.trim();
  expect((await docker(t.env, ['kill', sleeper])).code).toBe(0);
  const wait = await docker(t.env, ['wait', sleeper]);
  expect(wait.stdout).toBe('137\n');
  await docker(t.env, ['rm', sleeper]);
});

test('docker run -p 127.0.0.1:PORT:80 publishes a container port on loopback', async () => {
  expect((await docker(t.env, ['network', 'create', '--subnet', block.subnet(2), 'api-web'])).code).toBe(0);
  const port = await freePort();
  const started = await docker(t.env, ['run', '-d', '--network', 'api-web', '-p', `127.0.0.1:${port}:80`, '--name', 'api-web-srv', 'busybox', 'sh', '-c', 'mkdir /www && echo served > /www/index.html && httpd -f -p 80 -h /www']);
  expect(started).toMatchObject({ code: 0, stderr: '' });
  const ports = await docker(t.env, ['port', 'api-web-srv']);
  expect(ports.stdout).toBe(`80/tcp -> 127.0.0.1:${port}\n`);
  let body = '';
  for (let i = 0; i < 50 && body === ''; i++) {
    body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => '');
    if (body === '') await new Promise((r) => setTimeout(r, 100));
  }
  expect(body).toBe('served\n');
  await docker(t.env, ['rm', '-f', 'api-web-srv']);
  expect((await docker(t.env, ['network', 'rm', 'api-web'])).code).toBe(0);
});

test('docker ps with two label filters lists only containers that have both', async () => {
  await docker(t.env, ['create', '--network', 'none', '--name', 'api-both', '--label', 'p=x', '--label', 'oneoff=False', 'busybox']);
  await docker(t.env, ['create', '--network', 'none', '--name', 'api-one', '--label', 'p=x', '--label', 'oneoff=True', 'busybox']);
  const ps = await docker(t.env, ['ps', '-a', '--filter', 'label=p=x', '--filter', 'label=oneoff=False', '--format', '{{.Names}}']);
  expect(ps.stdout).toBe('api-both\n');
  await docker(t.env, ['rm', 'api-both', 'api-one']);
});

test('docker network prune, image prune and builder prune answer as dockerd does', async () => {
  expect((await docker(t.env, ['network', 'create', 'api-unused'])).code).toBe(0);
  expect(await docker(t.env, ['network', 'prune', '-f'])).toMatchObject({ code: 0, stdout: 'Deleted Networks:\napi-unused\n\n' });
  expect((await docker(t.env, ['tag', 'busybox', 'api-spare:1'])).code).toBe(0);
  expect((await docker(t.env, ['image', 'prune', '-f'])).stdout).toBe('Total reclaimed space: 0B\n');
  expect((await docker(t.env, ['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout).toContain('api-spare:1');
  const builder = await docker(t.env, ['builder', 'prune', '-f']);
  expect(builder.code).toBe(0);
  expect(builder.stdout).toContain('Total reclaimed space:');
  await docker(t.env, ['rmi', 'api-spare:1']);
});
