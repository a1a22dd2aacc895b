import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NetworkManager } from '@ctr/network';
import { freePort } from '../../../test/support/free-port';
import { boundRefusal } from '../../../test/support/port-refusal';
import { listPortProxies, proxyMain } from '../src/port-proxy';
import { StatePaths } from '../src/state';
import { httpGet, inNetns, makeTestHost, rules6, startHttpd, stopProcess, testUla, type TestHost } from './helpers/host';

/**
 * Published ports on IPv6 hosts (docker 28 with its userland proxy): a binding with no host
 * address is on 0.0.0.0 and [::], reachable at [::1] through the port proxy and at the host's
 * other IPv6 addresses through ip6tables DNAT (or, for a container without IPv6, through the
 * proxy to its IPv4 address); IPv4 and IPv6 host addresses, any-addresses included, bind one
 * family each.
 * Only ::1, 127.0.0.1 and addresses of bridges made here are ever connected to.
 */
let host: TestHost;
let paths: StatePaths;
const ula = testUla();
const servers: ChildProcess[] = [];

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
});

test('-p HOSTPORT:80, with no host address, on an IPv6 network is published on 0.0.0.0 and [::] with one host port', async () => {
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
  expect(rules6(host.root)).toContain(`-A CTR-DNAT ! -d ::1/128 -p tcp -m tcp --dport ${port} -j DNAT --to-destination [${ip6}]:80`);
  // With the proxy gone, only the DNAT rule can carry the request.
  for (const proxy of await listPortProxies(paths)) process.kill(proxy.pid);
  expect((await httpGet(`http://[${ula}:1::1]:${port}/`)).body).toBe('tv6p-dnat\n');
  await host.manager.detach('tv6p-dnat');
});

test('stopping a container removes its ip6tables port rules and its port proxy', async () => {
  const port = await freePort();
  await published('tv6p-stop', `${port}:80`);
  expect(rules6(host.root).filter((r) => r.includes(`--dport ${port} `))).toHaveLength(1);
  expect((await listPortProxies(paths)).map((p) => p.containerId)).toEqual(['tv6p-stop']);
  await host.manager.release('tv6p-stop');
  expect(rules6(host.root).filter((r) => r.includes(`--dport ${port} `))).toEqual([]);
  expect(await listPortProxies(paths)).toEqual([]);
  expect(await connects('::1', port)).toBe(false);
  await host.manager.detach('tv6p-stop');
});

test('stopping a container frees its IPv6 host port at once: the next container publishes it', async () => {
  const port = await freePort();
  await host.manager.attach('tv6p-first', { mode: 'tv6p-net', ports: [`[::1]:${port}:80`] });
  await host.manager.release('tv6p-first');
  const r = await host.manager.attach('tv6p-next', { mode: 'tv6p-net', ports: [`[::1]:${port}:80`] });
  expect(r.settings.Ports).toEqual({ '80/tcp': [{ HostIp: '::1', HostPort: String(port) }] });
  await host.manager.detach('tv6p-next');
  await host.manager.detach('tv6p-first');
});

test('a client that shuts down its sending side through the [::1] proxy still gets the whole reply', async () => {
  const port = await freePort();
  await published('tv6p-half', `[::1]:${port}:80`);
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ host: '::1', port, allowHalfOpen: true });
    let data = '';
    s.on('data', (b: Buffer) => (data += b.toString('utf8')));
    s.on('close', () => resolve(data));
    s.on('error', reject);
    s.end('GET / HTTP/1.0\r\n\r\n');
  });
  expect(reply).toMatch(/^HTTP\/1\.[01] 200 /);
  expect(reply.endsWith('tv6p-half\n')).toBe(true);
  await host.manager.detach('tv6p-half');
});

test('an IPv6 host port follows the container when its routing network is disconnected', async () => {
  const port = await freePort();
  const r = await host.manager.attach('tv6p-move', { networks: [{ name: 'tv6p-v4' }, { name: 'tv6p-net' }], ports: [`[::1]:${port}:80`] });
  servers.push(await startHttpd(r.netnsPath ?? '', path.join(host.root, 'move'), 'move\n'));
  await host.manager.disconnect('tv6p-move', 'tv6p-v4');
  expect((await httpGet(`http://[::1]:${port}/`)).body).toBe('move\n');
  expect((await listPortProxies(paths)).map((p) => p.containerId)).toEqual(['tv6p-move']);
  await host.manager.detach('tv6p-move');
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

test('-p 0.0.0.0:HOSTPORT:80, the IPv4 any-address given explicitly, is IPv4 only', async () => {
  const port = await freePort();
  await published('tv6p-any4', `0.0.0.0:${port}:80`);
  expect((await host.manager.settings('tv6p-any4')).Ports).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }] });
  expect((await httpGet(`http://127.0.0.1:${port}/`)).body).toBe('tv6p-any4\n');
  expect(await connects('::1', port)).toBe(false);
  await host.manager.detach('tv6p-any4');
});

test('-p [::]:HOSTPORT:80 is IPv6 only', async () => {
  const port = await freePort();
  await published('tv6p-any6', `[::]:${port}:80`);
  expect((await host.manager.settings('tv6p-any6')).Ports).toEqual({ '80/tcp': [{ HostIp: '::', HostPort: String(port) }] });
  expect((await httpGet(`http://[::1]:${port}/`)).body).toBe('tv6p-any6\n');
  expect(await connects('127.0.0.1', port)).toBe(false);
  await host.manager.detach('tv6p-any6');
});

test('-p 0.0.0.0:HOSTPORT:80 and -p [::]:HOSTPORT:80 of two containers share the host port, one family each', async () => {
  const port = await freePort();
  await published('tv6p-share4', `0.0.0.0:${port}:80`);
  await published('tv6p-share6', `[::]:${port}:80`);
  expect((await httpGet(`http://127.0.0.1:${port}/`)).body).toBe('tv6p-share4\n');
  expect((await httpGet(`http://[::1]:${port}/`)).body).toBe('tv6p-share6\n');
  await host.manager.detach('tv6p-share6');
  await host.manager.detach('tv6p-share4');
});

/** How `-p HOSTPORT:80` (no host address) fares while another container publishes `held` (a spec whose host port is HOSTPORT). */
async function implicitBesides(held: (port: number) => string): Promise<{ port: number; error: unknown }> {
  const port = await freePort();
  await host.manager.attach('tv6p-holder', { mode: 'tv6p-net', ports: [held(port)] });
  const error = await host.manager.attach('tv6p-clashing', { mode: 'tv6p-net', ports: [`${port}:80`] }).then(() => undefined, (e: unknown) => e);
  await host.manager.detach('tv6p-clashing');
  await host.manager.detach('tv6p-holder');
  return { port, error };
}

test('-p HOSTPORT:80 is refused on IPv4 while another container publishes 0.0.0.0:HOSTPORT', async () => {
  const { port, error } = await implicitBesides((p) => `0.0.0.0:${p}:80`);
  expect(error).toMatchObject({ code: 'Internal', message: expect.stringContaining(`Bind for 0.0.0.0:${port} failed: port is already allocated`) });
});

test('-p HOSTPORT:80 is refused on IPv6 while another container publishes [::]:HOSTPORT', async () => {
  const { port, error } = await implicitBesides((p) => `[::]:${p}:80`);
  // Worded as the portallocator's refusal or as the bind's: ctr reads back only its IPv4 DNAT rules as ports containers publish.
  expect(error).toMatchObject({ code: 'Internal', message: expect.stringMatching(new RegExp(`(Bind for :::${port} failed|failed to bind host port for \\[::\\]:${port}:)`)) });
});

test('an IPv6 host binding of a container without IPv6 is proxied to its IPv4 address', async () => {
  const port = await freePort();
  const r = await host.manager.attach('tv6p-to4', { mode: 'tv6p-v4', ports: [`[::1]:${port}:80`] });
  servers.push(await startHttpd(r.netnsPath ?? '', path.join(host.root, 'to4'), 'to4\n'));
  expect((await httpGet(`http://[::1]:${port}/`)).body).toBe('to4\n');
  expect(rules6(host.root).filter((l) => l.includes(`--dport ${port} `))).toEqual([]);
  await host.manager.detach('tv6p-to4');
});

test('-p HOSTPORT:80 on an IPv4-only network is published on 0.0.0.0 and [::] with one host port', async () => {
  const port = await freePort();
  const r = await host.manager.attach('tv6p-plain', { mode: 'tv6p-v4', ports: [`${port}:80`] });
  expect(r.settings.Ports).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }, { HostIp: '::', HostPort: String(port) }] });
  await host.manager.detach('tv6p-plain');
});

test('-p HOSTPORT:80 on an IPv4-only network is reachable at [::1] through the proxy, and at 127.0.0.1', async () => {
  const port = await freePort();
  const r = await host.manager.attach('tv6p-4at6', { mode: 'tv6p-v4', ports: [`${port}:80`] });
  servers.push(await startHttpd(r.netnsPath ?? '', path.join(host.root, '4at6'), '4at6\n'));
  expect(await httpGet(`http://[::1]:${port}/`)).toEqual({ status: 200, body: '4at6\n' });
  expect(await httpGet(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: '4at6\n' });
  expect((await listPortProxies(paths)).map((p) => p.containerId)).toEqual(['tv6p-4at6']);
  expect(rules6(host.root).filter((l) => l.includes(`--dport ${port} `))).toEqual([]);
  await host.manager.detach('tv6p-4at6');
});

test('a random host port of a container without IPv6 is the same on 0.0.0.0 and [::]', async () => {
  const r = await host.manager.attach('tv6p-random', { mode: 'tv6p-v4', ports: ['80'] });
  const [v4, v6] = r.settings.Ports['80/tcp'] ?? [];
  expect(v4).toEqual({ HostIp: '0.0.0.0', HostPort: expect.stringMatching(/^[1-9]\d*$/) });
  expect(v6).toEqual({ HostIp: '::', HostPort: v4?.HostPort });
  expect(await connects('::1', Number(v4?.HostPort))).toBe(true);
  await host.manager.detach('tv6p-random');
});

test('stopping a container without IPv6 stops the proxy of its [::] binding and frees the port', async () => {
  const port = await freePort();
  await host.manager.attach('tv6p-4stop', { mode: 'tv6p-v4', ports: [`${port}:80`] });
  expect((await listPortProxies(paths)).map((p) => p.containerId)).toEqual(['tv6p-4stop']);
  await host.manager.release('tv6p-4stop');
  expect(await listPortProxies(paths)).toEqual([]);
  expect(await connects('::1', port)).toBe(false);
  await host.manager.detach('tv6p-4stop');
});

test('an IPv6 host port held by another process is refused in docker\'s words and nothing is left', async () => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen({ port: 0, host: '::1', ipv6Only: true }, r));
  const port = (holder.address() as net.AddressInfo).port;
  try {
    const err = await host.manager.attach('tv6p-busy', { mode: 'tv6p-net', ports: [`[::1]:${port}:80`] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'Internal', message: expect.stringMatching(boundRefusal('tv6p-busy', '[::1]', port)) });
    expect(await listPortProxies(paths)).toEqual([]);
    expect(rules6(host.root).filter((l) => l.includes(`--dport ${port} `))).toEqual([]);
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
  expect(rules6(host.root).filter((l) => l.includes(`--dport ${port} `))).toEqual([]);
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

test('the gc of any root stops the port proxies of a root deleted without its own gc', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-net-tvp-gone-'));
  const runRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-net-tvp-gone-run-'));
  try {
    const gone = new NetworkManager({ root, runRoot, bridgePrefix: host.prefix, defaultBridge: { bridgeName: `${host.prefix}-gdef`, subnet: host.subnet(14) } });
    await gone.createNetwork({ name: 'tv6p-gone', subnet: host.subnet(13) });
    const port = await freePort();
    await gone.attach('tv6p-orphan', { mode: 'tv6p-gone', ports: [`[::1]:${port}:80`] });
    expect(await listPortProxies(new StatePaths(root, runRoot))).toHaveLength(1);
    await fs.rm(root, { recursive: true, force: true });

    // Any root's gc may be the one that stops it (other test files run theirs): the outcome is what counts.
    await host.manager.gc();
    expect(await listPortProxies(new StatePaths(root, runRoot))).toEqual([]);
    expect(await connects('::1', port)).toBe(false);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
    // Its DNS server sees its root go and exits by itself.
    const pidFile = path.join(runRoot, 'network', 'dns.pid');
    for (let i = 0; i < 50 && (await fs.stat(pidFile).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
    await fs.rm(runRoot, { recursive: true, force: true });
  }
});

test('gc leaves alone a proxy in another mount namespace, where its root\'s path means something else', async () => {
  const port = await freePort();
  const spec = JSON.stringify([{ hostIp: '::1', hostPort: port, protocol: 'tcp', target: '::1', targetPort: 9 }]);
  // As a ctr inside a container would start it: its root is no path of this namespace's.
  const other = spawn('unshare', ['-m', '--propagation', 'private', process.execPath, '-e', `(${proxyMain.toString()})(process.argv[4])`, 'ctr-port-proxy', '/nonexistent-tvp/networks', 'tv6p-elsewhere', spec], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve) => other.stdout?.once('data', () => resolve()));
    expect((await host.manager.gc()).removed.filter((r) => r.includes('nonexistent-tvp'))).toEqual([]);
    expect(other.exitCode).toBeNull();
    expect(await connects('::1', port)).toBe(true);
  } finally {
    other.kill();
    await new Promise((r) => (other.exitCode === null ? other.once('exit', r) : r(undefined)));
  }
});
