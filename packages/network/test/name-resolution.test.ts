import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { httpGet, inNetns, lookup, makeTestHost, nslookup, startHttpd, statusInNetns, stopProcess, type TestHost } from './helpers/host';

let host: TestHost;
let httpd: ChildProcess | undefined;
let webNs: string;
let clientNs: string;
let clientResolvConf: string;

beforeAll(async () => {
  host = await makeTestHost('tdn');
  await host.manager.createNetwork({ name: 'tdns-app', subnet: host.subnet(1) });
  const web = await host.manager.attach('tdns-web-id', { mode: 'tdns-app', name: 'web', hostname: 'web-host', networks: [{ name: 'tdns-app', aliases: ['www', 'frontend'] }] });
  const client = await host.manager.attach('tdns-client-id', { mode: 'tdns-app', name: 'client' });
  webNs = web.netnsPath ?? '';
  clientNs = client.netnsPath ?? '';
  clientResolvConf = path.join(host.root, 'client-resolv.conf');
  await fs.writeFile(clientResolvConf, client.resolvConf);
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

/**
 * busybox ping by name from a namespace, resolving as the container would: through its own
 * resolv.conf, bound over /etc/resolv.conf in a mount namespace that ends with the command.
 */
function pingByName(netnsPath: string, resolvConf: string, name: string): number {
  const script = 'mount --bind "$0" /etc/resolv.conf && exec /bin/busybox ping -c 1 -W 3 "$1"';
  return statusInNetns(netnsPath, ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, resolvConf, name]);
}

test('<name>.<network> resolves to the container on that network, and ping reaches it by that name', () => {
  expect(lookup(clientNs, 'web.tdns-app')).toEqual(lookup(clientNs, 'web'));
  expect(pingByName(clientNs, clientResolvConf, 'web.tdns-app')).toBe(0);
});

test('<alias>.<network> resolves to the same address as the alias', () => {
  expect(lookup(clientNs, 'www.tdns-app')).toEqual(lookup(clientNs, 'web'));
});

test('<short ID>.<network> resolves to the same address as the short ID', () => {
  expect(lookup(clientNs, `${'tdns-web-id'.slice(0, 12)}.tdns-app`)).toEqual(lookup(clientNs, 'web'));
});

test('<name>.<network> of a network the asker is not on is not found: NXDOMAIN', async () => {
  await host.manager.createNetwork({ name: 'tdns-other', subnet: host.subnet(2) });
  await host.manager.attach('tdns-lone-id', { mode: 'tdns-other', name: 'lone' });
  try {
    expect(nslookup(clientNs, 'lone.tdns-other')).toMatch(/NXDOMAIN/);
  } finally {
    await host.manager.detach('tdns-lone-id');
    await host.manager.removeNetwork('tdns-other');
  }
});
