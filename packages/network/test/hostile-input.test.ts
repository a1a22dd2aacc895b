import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { AttachOptions, PortMapping } from '@ctr/network';
import { makeTestHost, type TestHost } from './helpers/host';

// Everything a caller passes ends up in iptables rules, ip batches, hosts files or DNS
// answers; each hostile value must be an InvalidArgument before anything is made.

let host: TestHost;

beforeAll(async () => {
  host = await makeTestHost('thi');
  await host.manager.createNetwork({ name: 'thi-net', subnet: host.subnet(1) });
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

const injected = '127.0.0.1/32 -j ACCEPT\n-A CTR-FORWARD -j ACCEPT';

test.each<[string, AttachOptions]>([
  ['a port mapping whose hostIp carries iptables syntax', { mode: 'thi-net', ports: [{ hostIp: injected, hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }],
  ['a port mapping with a fractional port', { mode: 'thi-net', ports: [{ hostIp: '127.0.0.1', hostPort: 80.5, containerPort: 80, protocol: 'tcp' }] }],
  ['a port mapping with another protocol', { mode: 'thi-net', ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'sctp' } as unknown as PortMapping] }],
  ['a container name with a newline (hosts file injection)', { mode: 'thi-net', name: 'web\n6.6.6.6 bank' }],
  ['a hostname with a space', { mode: 'thi-net', hostname: 'a b' }],
  ['an alias with a newline', { networks: [{ name: 'thi-net', aliases: ['ok', 'x\ny'] }] }],
  ['a static address with trailing syntax', { networks: [{ name: 'thi-net', ip: '10.0.0.1 dev lo' }] }],
])('attach refuses %s and leaves nothing', async (_what, options) => {
  await expect(host.manager.attach('thi-victim', options)).rejects.toMatchObject({ code: 'InvalidArgument' });
  await expect(fs.stat(path.join(host.options.runRoot, 'netns', 'thi-victim'))).rejects.toThrow();
  expect((await host.manager.inspectNetwork('thi-net')).Containers).toEqual({});
});

test('a network name that looks like a path is just an unknown name', async () => {
  await expect(host.manager.attach('thi-victim', { mode: '../../etc' })).rejects.toMatchObject({ code: 'NotFound' });
  await expect(fs.stat(path.join(host.options.runRoot, 'netns', 'thi-victim'))).rejects.toThrow();
});

test('create refuses an MTU that is not a number', async () => {
  await expect(host.manager.createNetwork({ name: 'thi-mtu', subnet: host.subnet(2), mtu: '1500\nlink del lo' as unknown as number })).rejects.toMatchObject({
    code: 'InvalidArgument',
  });
  expect((await host.manager.listNetworks()).map((n) => n.Name)).not.toContain('thi-mtu');
});

test('container IDs that are paths or options are refused', async () => {
  for (const id of ['../x', '/etc', '-rf', 'a b', '']) {
    await expect(host.manager.attach(id, { mode: 'none' })).rejects.toMatchObject({ code: 'InvalidArgument' });
  }
});
