import { randomBytes } from 'node:crypto';
import { freePort } from '../../../test/support/free-port';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { localCtr, type LocalCtr } from './local-ctr';

/**
 * `ctr network create`'s flags as docker's (--aux-address, --ipam-driver, --ipam-opt,
 * --attachable, --scope, --ipv4, --config-only, --config-from, --ingress), and `ctr run -p` on
 * an IPv6 network: published on [::1] by a proxy that outlives the command and ends with the container.
 */
let local: LocalCtr;
let block: TestBlock;
const ctr = (...args: string[]): ReturnType<LocalCtr['run']> => local.run(...args);
const random = randomBytes(5);
const ula = `fd${random.toString('hex').slice(0, 2)}:${random.readUInt16BE(1).toString(16)}:${random.readUInt16BE(3).toString(16)}`;
const nets = ['ncfc-full', 'ncfc-from', 'ncfc-conf', 'ncfc-v6'];

beforeAll(async () => {
  local = await localCtr('ncfc');
  block = reserveTestBlock();
});

afterAll(async () => {
  await ctr('rm', '-f', 'ncfc-web');
  for (const n of nets) await ctr('network', 'rm', n);
  await local.cleanup();
  block?.release();
});

test('network create takes --aux-address, --ipam-driver, --ipam-opt, --attachable and --scope local', async () => {
  const net = block.net(0);
  const r = await ctr('network', 'create', '--subnet', block.subnet(0), '--aux-address', `r=${net}.2`, '--ipam-driver', 'default', '--ipam-opt', 'k=v', '--attachable', '--scope', 'local', 'ncfc-full');
  expect(r.code).toBe(0);
  const shown = await ctr('network', 'inspect', '-f', '{{json .IPAM.Options}} {{json (index .IPAM.Config 0).AuxiliaryAddresses}} {{.Attachable}}', 'ncfc-full');
  expect(shown.stdout.trim()).toBe(`{"k":"v"} {"r":"${net}.2"} true`);
});

test('network create refuses --ingress, --scope swarm and --ipv4=false in docker\'s words', async () => {
  expect((await ctr('network', 'create', '--ingress', 'ncfc-x')).stderr).toContain('This node is not a swarm manager.');
  expect((await ctr('network', 'create', '--scope', 'swarm', 'ncfc-x')).stderr).toContain('This node is not a swarm manager.');
  expect((await ctr('network', 'create', '--ipv4=false', 'ncfc-x')).stderr).toContain('IPv4 or IPv6 must be enabled');
  expect((await ctr('network', 'create', '--ipam-driver', 'nosuch', 'ncfc-x')).stderr).toContain('could not find plugin nosuch in v1 plugin registry: plugin not found');
});

test('--config-only makes a configuration --config-from networks take; containers join only the latter', async () => {
  expect((await ctr('network', 'create', '--config-only', '--subnet', block.subnet(1), 'ncfc-conf')).code).toBe(0);
  expect((await ctr('network', 'create', '--config-from', 'ncfc-conf', 'ncfc-from')).code).toBe(0);
  expect((await ctr('network', 'inspect', '-f', '{{.ConfigFrom.Network}} {{(index .IPAM.Config 0).Subnet}}', 'ncfc-from')).stdout.trim()).toBe(`ncfc-conf ${block.subnet(1)}`);
  const run = await ctr('run', '--rm', '--pull', 'never', '--network', 'ncfc-conf', 'busybox', 'true');
  expect(run.code).not.toBe(0);
  expect(run.stderr).toContain('cannot create endpoint on configuration-only network');
});

test('run -p on an IPv6 network answers at [::1] after the command exits, and no more after rm', async () => {
  expect((await ctr('network', 'create', '--ipv6', '--subnet', block.subnet(2), '--subnet', `${ula}:1::/64`, 'ncfc-v6')).code).toBe(0);
  const port = await freePort();
  const run = await ctr('run', '-d', '--pull', 'never', '--name', 'ncfc-web', '--network', 'ncfc-v6', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'echo v6 > /tmp/i; exec httpd -f -p 80 -h /tmp');
  expect(run.code).toBe(0);
  expect(await fetch(`http://[::1]:${port}/i`).then((res) => res.text())).toBe('v6\n');
  expect((await ctr('rm', '-f', 'ncfc-web')).code).toBe(0);
  await expect(fetch(`http://[::1]:${port}/i`)).rejects.toThrow();
});
