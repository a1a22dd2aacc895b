import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inNetns, makeTestHost, startHttpd, statusInNetns, stopProcess, type TestHost } from './helpers/host';

let host: TestHost;
let httpd: ChildProcess | undefined;
let serverIp = '';
const ns: Record<string, string> = {};

beforeAll(async () => {
  host = await makeTestHost('tis');
  await host.manager.createNetwork({ name: 'tiso-a', subnet: host.subnet(1) });
  await host.manager.createNetwork({ name: 'tiso-b', subnet: host.subnet(2) });
  const server = await host.manager.attach('tiso-server', { mode: 'tiso-a', name: 'server' });
  serverIp = server.settings.Networks['tiso-a']?.IPAddress ?? '';
  ns['server'] = server.netnsPath ?? '';
  ns['same'] = (await host.manager.attach('tiso-same', { mode: 'tiso-a' })).netnsPath ?? '';
  ns['other'] = (await host.manager.attach('tiso-other', { mode: 'tiso-b' })).netnsPath ?? '';
  httpd = await startHttpd(ns['server'], path.join(host.root, 'www'), 'a\n');
});

afterAll(async () => {
  await stopProcess(httpd);
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

// busybox wget's -T crashes (static glibc); nc -w gives a bounded connection attempt.
const connect = (from: string): number => statusInNetns(ns[from] ?? '', ['/bin/busybox', 'nc', '-w', '2', serverIp, '80'], 5_000);

test('containers on the same network reach each other', () => {
  expect(connect('same')).toBe(0);
  expect(inNetns(ns['same'] ?? '', ['/bin/busybox', 'wget', '-qO-', `http://${serverIp}/`])).toBe('a\n');
});

test('containers on different user networks cannot reach each other', () => {
  expect(connect('other')).not.toBe(0);
});

test('names on another network do not resolve', () => {
  const status = statusInNetns(ns['other'] ?? '', ['/bin/busybox', 'nslookup', 'server', '127.0.0.11']);
  expect(status).not.toBe(0);
});

test('each container has its default route through its own network gateway', () => {
  expect(inNetns(ns['other'] ?? '', ['ip', 'route', 'show', 'default'])).toContain(`via ${host.net(2)}.1 dev eth0`);
});

test('a container only on an internal network has no default route', async () => {
  await host.manager.createNetwork({ name: 'tiso-int', subnet: host.subnet(3), internal: true });
  const r = await host.manager.attach('tiso-int1', { mode: 'tiso-int' });
  expect(inNetns(r.netnsPath ?? '', ['ip', 'route', 'show', 'default']).trim()).toBe('');
  expect((await host.manager.inspectNetwork('tiso-int')).Internal).toBe(true);
  await host.manager.detach('tiso-int1');
  await host.manager.removeNetwork('tiso-int');
});
