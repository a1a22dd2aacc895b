import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { httpGet, inNetns, lookup, makeTestHost, startHttpd, stopProcess, type TestHost } from './helpers/host';

let host: TestHost;
let httpd: ChildProcess | undefined;
let webNs: string;
let clientNs: string;

beforeAll(async () => {
  host = await makeTestHost('tdn');
  await host.manager.createNetwork({ name: 'tdns-app', subnet: host.subnet(1) });
  const web = await host.manager.attach('tdns-web-id', { mode: 'tdns-app', name: 'web', hostname: 'web-host', networks: [{ name: 'tdns-app', aliases: ['www', 'frontend'] }] });
  const client = await host.manager.attach('tdns-client-id', { mode: 'tdns-app', name: 'client' });
  webNs = web.netnsPath ?? '';
  clientNs = client.netnsPath ?? '';
  httpd = await startHttpd(webNs, path.join(host.root, 'www'), 'hello from web\n');
});

afterAll(async () => {
  await stopProcess(httpd);
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('a container finds another by name through 127.0.0.11 and fetches from it', () => {
  const [ip] = lookup(clientNs, 'web');
  expect(ip?.startsWith(`${host.net(1)}.`)).toBe(true);
  expect(inNetns(clientNs, ['/bin/busybox', 'wget', '-qO-', `http://${ip}/`])).toBe('hello from web\n');
});

test('network aliases resolve to the same address as the name', () => {
  const [ip] = lookup(clientNs, 'web');
  expect(lookup(clientNs, 'www')).toEqual([ip]);
  expect(lookup(clientNs, 'FrontEnd')).toEqual([ip]);
});

test('the short container ID resolves too', () => {
  expect(lookup(clientNs, 'tdns-web-id'.slice(0, 12))).toEqual(lookup(clientNs, 'web'));
});

test('its hostname resolves too: the endpoint\'s DNSNames, in dockerd\'s order, are each a name the server answers', async () => {
  const names = (await host.manager.settings('tdns-web-id')).Networks['tdns-app']?.DNSNames;
  expect(names).toEqual(['web', 'www', 'frontend', 'tdns-web-id'.slice(0, 12), 'web-host']);
  for (const name of names ?? []) expect(lookup(clientNs, name)).toEqual(lookup(clientNs, 'web'));
});

test('unknown names are NXDOMAIN, answered locally', () => {
  let out = '';
  try {
    inNetns(clientNs, ['/bin/busybox', 'nslookup', 'no-such-name.example', '127.0.0.11']);
  } catch (e) {
    out = String((e as { stdout?: Buffer }).stdout) + String((e as { stderr?: Buffer }).stderr);
  }
  expect(out).toMatch(/NXDOMAIN/);
});

test('a container that joins later is resolvable at once, and gone when it leaves', async () => {
  await host.manager.attach('tdns-late-id', { mode: 'tdns-app', name: 'late' });
  const ip = (await host.manager.settings('tdns-late-id')).Networks['tdns-app']?.IPAddress;
  expect(lookup(clientNs, 'late')).toEqual([ip]);
  await host.manager.detach('tdns-late-id');
  expect(lookup(clientNs, 'late')).toEqual([]);
});

test('resolv.conf for a user network points at the embedded server', async () => {
  const result = await host.manager.attach('tdns-conf-id', { mode: 'tdns-app', name: 'conf' });
  expect(result.resolvConf).toContain('nameserver 127.0.0.11');
  await host.manager.detach('tdns-conf-id');
});

test('the published page is what the host sees too', async () => {
  const [ip] = lookup(clientNs, 'web');
  expect((await httpGet(`http://${ip}/`)).body).toBe('hello from web\n');
});
