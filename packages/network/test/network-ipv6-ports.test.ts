import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../../test/support/free-port';
import { listPortProxies } from '../src/port-proxy';
import { StatePaths } from '../src/state';
import { httpGet, inNetns, makeTestHost, startHttpd, stopProcess, type TestHost } from './helpers/host';

/**
 * Published ports of containers with IPv6 (docker 28 with its userland proxy): a binding on
 * 0.0.0.0 is on [::] too, reachable at [::1] through the port proxy and at the host's other
 * IPv6 addresses through ip6tables DNAT; IPv4 and IPv6 host addresses bind one family each.
 * Only ::1, 127.0.0.1 and addresses of bridges made here are ever connected to.
 */
let host: TestHost;
let paths: StatePaths;
const random = randomBytes(5);
const ula = `fd${random.toString('hex').slice(0, 2)}:${random.readUInt16BE(1).toString(16)}:${random.readUInt16BE(3).toString(16)}`;
const servers: ChildProcess[] = [];

/** This root's ip6tables rules, without their tag. */
function rules6(): string[] {
  const tag = createHash('sha256').update(host.root).digest('hex').slice(0, 8);
  return execFileSync('ip6tables-save')
    .toString()
    .split('\n')
    .filter((l) => l.includes(`ctr:${tag}:`))
    .map((l) => l.replace(/ -m comment --comment "[^"]*"/, ''));
}

/** Whether a TCP connection to the address is accepted (refused: nothing listens or forwards there). */
function connects(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function published(id: string, port: string): Promise<string> {
  const r = await host.manager.attach(id, { mode: 'tv6p-net', ports: [port] });
  servers.push(await startHttpd(r.netnsPath ?? '', path.join(host.root, id), `${id}\n`));
  return r.netnsPath ?? '';
}

beforeAll(async () => {
  host = await makeTestHost('tvp');
  paths = new StatePaths(host.root, path.join(host.root, 'run'));
  await host.manager.createNetwork({ name: 'tv6p-net', subnet: host.subnet(1), ipv6: true, subnet6: `${ula}:1::/64` });
  await host.manager.createNetwork({ name: 'tv6p-v4', subnet: host.subnet(2) });
});

afterEach(async () => {
  for (const s of servers.splice(0)) await stopProcess(s);
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
  expect(rules6()).toEqual([]);
  expect(await listPortProxies(paths)).toEqual([]);
});

test('-p HOSTPORT:80 on an IPv6 network is published on 0.0.0.0 and [::] with one host port', async () => {
  const port = await freePort();
  const r = await host.manager.attach('tv6p-both', { mode: 'tv6p-net', ports: [`${port}:80`] });
  expect(r.settings.Ports).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }, { HostIp: '::', HostPort: String(port) }] });
  await host.manager.detach('tv6p-both');
});

test('-p HOSTPORT:80 on an IPv6 network is reachable at [::1] and at 127.0.0.1', async () => {
  const port = await freePort();
  await published('tv6p-web', `${port}:80`);
  expect(await httpGet(`http://[::1]:${port}/`)).toEqual({ status: 200, body: 'tv6p-web\n' });
  expect(await httpGet(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'tv6p-web\n' });
  await host.manager.detach('tv6p-web');
});

test('a [::] binding is DNATed by ip6tables: the host reaches it at its IPv6 address on the bridge', async () => {
  const port = await freePort();
  await published('tv6p-dnat', `${port}:80`);
  const ip6 = (await host.manager.settings('tv6p-dnat')).Networks['tv6p-net']?.GlobalIPv6Address;
  expect(rules6()).toContain(`-A CTR-DNAT ! -d ::1/128 -p tcp -m tcp --dport ${port} -j DNAT --to-destination [${ip6}]:80`);
  // With the proxy gone, only the DNAT rule can carry the request.
  for (const proxy of await listPortProxies(paths)) process.kill(proxy.pid);
  expect((await httpGet(`http://[${ula}:1::1]:${port}/`)).body).toBe('tv6p-dnat\n');
  await host.manager.detach('tv6p-dnat');
});

test('stopping a container removes its ip6tables port rules and its port proxy', async () => {
  const port = await freePort();
  await published('tv6p-stop', `${port}:80`);
  expect(rules6().filter((r) => r.includes(`--dport ${port} `))).toHaveLength(1);
  expect((await listPortProxies(paths)).map((p) => p.containerId)).toEqual(['tv6p-stop']);
  await host.manager.release('tv6p-stop');
  expect(rules6().filter((r) => r.includes(`--dport ${port} `))).toEqual([]);
  expect(await listPortProxies(paths)).toEqual([]);
  expect(await connects('::1', port)).toBe(false);
  await host.manager.detach('tv6p-stop');
});

test('-p 127.0.0.1:HOSTPORT:80 is IPv4 only', async () => {
  const port = await freePort();
  await published('tv6p-v4only', `127.0.0.1:${port}:80`);
  expect((await host.manager.settings('tv6p-v4only')).Ports).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
  expect((await httpGet(`http://127.0.0.1:${port}/`)).body).toBe('tv6p-v4only\n');
  expect(await connects('::1', port)).toBe(false);
  await host.manager.detach('tv6p-v4only');
});

test('-p [::1]:HOSTPORT:80 is IPv6 only', async () => {
  const port = await freePort();
  await published('tv6p-v6only', `[::1]:${port}:80`);
  expect((await host.manager.settings('tv6p-v6only')).Ports).toEqual({ '80/tcp': [{ HostIp: '::1', HostPort: String(port) }] });
  expect((await httpGet(`http://[::1]:${port}/`)).body).toBe('tv6p-v6only\n');
  expect(await connects('127.0.0.1', port)).toBe(false);
  await host.manager.detach('tv6p-v6only');
});

test('an IPv6 host binding of a container without IPv6 is proxied to its IPv4 address', async () => {
  const port = await freePort();
  const r = await host.manager.attach('tv6p-to4', { mode: 'tv6p-v4', ports: [`[::1]:${port}:80`] });
  servers.push(await startHttpd(r.netnsPath ?? '', path.join(host.root, 'to4'), 'to4\n'));
  expect((await httpGet(`http://[::1]:${port}/`)).body).toBe('to4\n');
  expect(rules6().filter((l) => l.includes(`--dport ${port} `))).toEqual([]);
  await host.manager.detach('tv6p-to4');
});

test('-p 0.0.0.0 on an IPv4-only network stays IPv4 only', async () => {
  const port = await freePort();
  const r = await host.manager.attach('tv6p-plain', { mode: 'tv6p-v4', ports: [`${port}:80`] });
  expect(r.settings.Ports).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }] });
  expect(await listPortProxies(paths)).toEqual([]);
  await host.manager.detach('tv6p-plain');
});

test('an IPv6 host port held by another process is refused in docker\'s words and nothing is left', async () => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen({ port: 0, host: '::1', ipv6Only: true }, r));
  const port = (holder.address() as net.AddressInfo).port;
  try {
    const err = await host.manager.attach('tv6p-busy', { mode: 'tv6p-net', ports: [`[::1]:${port}:80`] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'Conflict', message: `Bind for ::1:${port} failed: port is already allocated` });
    expect(await listPortProxies(paths)).toEqual([]);
    expect(rules6().filter((l) => l.includes(`--dport ${port} `))).toEqual([]);
  } finally {
    await new Promise((r) => holder.close(r));
  }
});

test('gc stops the port proxy of a container whose namespace is gone', async () => {
  const port = await freePort();
  const r = await host.manager.attach('tv6p-crash', { mode: 'tv6p-net', ports: [`${port}:80`] });
  execFileSync('umount', [r.netnsPath ?? '']);
  await host.manager.gc();
  expect(await listPortProxies(paths)).toEqual([]);
  expect(rules6().filter((l) => l.includes(`--dport ${port} `))).toEqual([]);
  await host.manager.detach('tv6p-crash');
  await fs.rm(r.netnsPath ?? '', { force: true });
});

/** An interface's disable_ipv6 inside a container's namespace, and its IPv6 addresses. */
function ipv6Of(netnsPath: string, dev: string): { disabled: string; addresses: string } {
  return {
    disabled: inNetns(netnsPath, ['cat', `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`]).trim(),
    addresses: inNetns(netnsPath, ['ip', '-6', '-o', 'addr', 'show', 'dev', dev]).trim(),
  };
}

test('a container on an IPv4-only network has IPv6 off on its interface, as dockerd turns it off', async () => {
  const r = await host.manager.attach('tv6p-off', { mode: 'tv6p-v4' });
  expect(ipv6Of(r.netnsPath ?? '', 'eth0')).toEqual({ disabled: '1', addresses: '' });
  await host.manager.detach('tv6p-off');
});

test('a container on the default bridge has IPv6 off on its interface', async () => {
  const r = await host.manager.attach('tv6p-dflt');
  expect(ipv6Of(r.netnsPath ?? '', 'eth0')).toEqual({ disabled: '1', addresses: '' });
  await host.manager.detach('tv6p-dflt');
});

test('a container on an IPv6 network keeps IPv6 there, and gets it off on an IPv4-only network it joins', async () => {
  const r = await host.manager.attach('tv6p-mixed', { networks: [{ name: 'tv6p-v4' }, { name: 'tv6p-net' }] });
  const ns = r.netnsPath ?? '';
  expect(ipv6Of(ns, 'eth0').disabled).toBe('1');
  expect(ipv6Of(ns, 'eth1').disabled).toBe('0');
  expect(ipv6Of(ns, 'eth1').addresses).toContain(`${ula}:1::`);
  await host.manager.detach('tv6p-mixed');
});

test('a container first on the default bridge gets IPv6 on a network with IPv6 connected later', async () => {
  const r = await host.manager.attach('tv6p-later');
  await host.manager.connect('tv6p-later', { name: 'tv6p-net' });
  const ip6 = (await host.manager.settings('tv6p-later')).Networks['tv6p-net']?.GlobalIPv6Address ?? '';
  expect(ip6).not.toBe('');
  expect(ipv6Of(r.netnsPath ?? '', 'eth1')).toMatchObject({ disabled: '0' });
  expect(ipv6Of(r.netnsPath ?? '', 'eth1').addresses).toContain(ip6);
  await host.manager.detach('tv6p-later');
});
