/**
 * `docker network create`'s flags through the docker CLI 28, as the NetworkCreate body it sends
 * (IPAM.Driver, IPAM.Options, IPAM.Config[].AuxiliaryAddresses, Attachable, Scope, Ingress,
 * ConfigOnly, ConfigFrom, EnableIPv4), and a container on an IPv6 network published on [::1].
 */
import { randomBytes } from 'node:crypto';
import { freePort } from '../../../test/support/free-port';
import { reserveTestBlock } from '../../../test/support/test-subnets';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();
const block = reserveTestBlock();
const random = randomBytes(5);
const ula = `fd${random.toString('hex').slice(0, 2)}:${random.readUInt16BE(1).toString(16)}:${random.readUInt16BE(3).toString(16)}`;
const made: string[] = [];

afterAll(async () => {
  await docker(t.env, ['rm', '-f', 'ncf-web']);
  for (const name of made.reverse()) await docker(t.env, ['network', 'rm', name]);
  block.release();
});

async function create(name: string, ...flags: string[]): Promise<Awaited<ReturnType<typeof docker>>> {
  const r = await docker(t.env, ['network', 'create', ...flags, name]);
  if (r.code === 0) made.push(name);
  return r;
}

async function inspect(name: string, template: string): Promise<string> {
  return (await docker(t.env, ['network', 'inspect', '-f', template, name])).stdout.trim();
}

test('--aux-address, --ipam-opt, --attachable and --scope local reach inspect', async () => {
  const net = block.net(0);
  const r = await create('ncf-full', '--subnet', block.subnet(0), '--aux-address', `gw2=${net}.2`, '--ipam-driver', 'default', '--ipam-opt', 'k=v', '--attachable', '--scope', 'local');
  expect(r).toMatchObject({ code: 0 });
  expect(await inspect('ncf-full', '{{json .IPAM}} {{.Attachable}} {{.Scope}}')).toBe(
    `{"Driver":"default","Options":{"k":"v"},"Config":[{"Subnet":"${block.subnet(0)}","Gateway":"${net}.1","AuxiliaryAddresses":{"gw2":"${net}.2"}}]} true local`,
  );
});

test('an --ipam-driver that is no plugin is dockerd\'s not found', async () => {
  const r = await create('ncf-ipam', '--ipam-driver', 'nosuch');
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('could not find plugin nosuch in v1 plugin registry: plugin not found');
});

test('--ingress and --scope swarm are refused as outside a swarm', async () => {
  for (const flags of [['--ingress'], ['--scope', 'swarm']]) {
    const r = await create('ncf-swarm', ...flags);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('This node is not a swarm manager.');
  }
});

test('--ipv4=false is refused', async () => {
  const r = await create('ncf-v6only', '--ipv4=false', '--ipv6');
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('IPv4 cannot be disabled on this network');
});

test('--config-only and --config-from: the second network takes the first\'s subnet and names it', async () => {
  expect((await create('ncf-conf', '--config-only', '--subnet', block.subnet(1))).code).toBe(0);
  expect(await inspect('ncf-conf', '{{.Driver}} {{.ConfigOnly}}')).toBe('null true');
  expect((await create('ncf-from', '--config-from', 'ncf-conf')).code).toBe(0);
  expect(await inspect('ncf-from', '{{.ConfigFrom.Network}} {{(index .IPAM.Config 0).Subnet}}')).toBe(`ncf-conf ${block.subnet(1)}`);
  const run = await docker(t.env, ['create', '--pull', 'never', '--network', 'ncf-conf', 'busybox']);
  expect(run.stderr).toContain('cannot create endpoint on configuration-only network');
});

test('a container on an IPv6 network with -p HOSTPORT:80 answers at [::1] and at 127.0.0.1', async () => {
  expect((await create('ncf-v6', '--ipv6', '--subnet', block.subnet(2), '--subnet', `${ula}:1::/64`)).code).toBe(0);
  const port = await freePort();
  const run = await docker(t.env, ['run', '-d', '--pull', 'never', '--name', 'ncf-web', '--network', 'ncf-v6', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'echo hi > /tmp/i; exec httpd -f -p 80 -h /tmp']);
  expect(run.code).toBe(0);
  expect((await docker(t.env, ['port', 'ncf-web'])).stdout.trim().split('\n')).toEqual([`80/tcp -> 0.0.0.0:${port}`, `80/tcp -> [::]:${port}`]);
  for (const host of ['[::1]', '127.0.0.1']) {
    const body = await fetch(`http://${host}:${port}/i`).then((res) => res.text());
    expect(body).toBe('hi\n');
  }
  await docker(t.env, ['rm', '-f', 'ncf-web']);
  await expect(fetch(`http://[::1]:${port}/i`)).rejects.toThrow();
});
