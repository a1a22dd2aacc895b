import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inNetns, lookup, makeTestHost, startHttpd, stopProcess, type TestHost } from './helpers/host';

let host: TestHost;
let httpd: ChildProcess | undefined;
let appNs = '';
let peerNs = '';

beforeAll(async () => {
  host = await makeTestHost('tco');
  await host.manager.createNetwork({ name: 'tcon-front', subnet: host.subnet(1) });
  await host.manager.createNetwork({ name: 'tcon-back', subnet: host.subnet(2) });
  appNs = (await host.manager.attach('tcon-app', { mode: 'tcon-front', name: 'app' })).netnsPath ?? '';
  peerNs = (await host.manager.attach('tcon-db', { mode: 'tcon-back', name: 'db' })).netnsPath ?? '';
  // A process lives in the namespace throughout: connect works on a running container.
  httpd = await startHttpd(appNs, path.join(host.root, 'www'), 'app\n');
});

afterAll(async () => {
  await stopProcess(httpd);
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('connect adds eth1 with an address on the second network and names resolve there', async () => {
  const settings = await host.manager.connect('tcon-app', { name: 'tcon-back', aliases: ['api'] });
  const back = settings.Networks['tcon-back'];
  expect(back?.IPAddress?.startsWith(`${host.net(2)}.`)).toBe(true);
  expect(back?.Aliases).toEqual(['api']);
  expect(Object.keys(settings.Networks)).toEqual(['tcon-front', 'tcon-back']);
  expect(inNetns(appNs, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth1'])).toContain(`${back?.IPAddress}/24`);
  expect(lookup(peerNs, 'api')).toEqual([back?.IPAddress]);
  expect(lookup(appNs, 'db')).toHaveLength(1);
  expect(inNetns(peerNs, ['/bin/busybox', 'wget', '-qO-', `http://${back?.IPAddress}/`])).toBe('app\n');
});

test('connecting twice to the same network is a Conflict', async () => {
  await expect(host.manager.connect('tcon-app', { name: 'tcon-back' })).rejects.toMatchObject({ code: 'Conflict' });
});

test('disconnect removes the interface, the name and the lease', async () => {
  const ip = (await host.manager.settings('tcon-app')).Networks['tcon-back']?.IPAddress;
  const settings = await host.manager.disconnect('tcon-app', 'tcon-back');
  expect(Object.keys(settings.Networks)).toEqual(['tcon-front']);
  expect(inNetns(appNs, ['ip', '-o', 'link', 'show'])).not.toContain('eth1');
  expect(lookup(peerNs, 'api')).toEqual([]);
  const again = await host.manager.attach('tcon-reuse', { networks: [{ name: 'tcon-back', ip }] });
  expect(again.settings.Networks['tcon-back']?.IPAddress).toBe(ip);
  await host.manager.detach('tcon-reuse');
});

test('disconnecting from the first network moves the default route and DNS to the remaining one', async () => {
  await host.manager.connect('tcon-app', { name: 'tcon-back' });
  await host.manager.disconnect('tcon-app', 'tcon-front');
  expect(inNetns(appNs, ['ip', 'route', 'show', 'default'])).toContain(`via ${host.net(2)}.1 dev eth1`);
  expect(lookup(appNs, 'db')).toHaveLength(1);
});

test('disconnect from a network the container is not on is NotFound', async () => {
  await expect(host.manager.disconnect('tcon-app', 'tcon-front')).rejects.toMatchObject({ code: 'NotFound' });
});

test('a container in none or host mode cannot be connected', async () => {
  await host.manager.attach('tcon-none', { mode: 'none' });
  await expect(host.manager.connect('tcon-none', { name: 'tcon-back' })).rejects.toMatchObject({ code: 'Conflict' });
  await host.manager.detach('tcon-none');
});
