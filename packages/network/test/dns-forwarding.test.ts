import dgram from 'node:dgram';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { NetworkManager } from '@ctr/network';
import { startResponder, type DnsResponder } from './helpers/dns-responder';
import { inNetns, lookup, makeTestHost, type TestHost } from './helpers/host';

// The embedded DNS answers container names itself and forwards other names to each
// container's own upstreams (docker's ExtServers). The upstreams here are the test's own
// responders: one inside a namespace on the test network, one on a 127.x address of the host.

let host: TestHost;
let upstream: DnsResponder | undefined;
let hostServer: DnsResponder | undefined;
let upstreamIp: string;
let webIp: string;
let webNs: string;
let client: { ns: string; resolvConf: string };

const ONLY_UPSTREAM = { 'only-upstream.test': '203.0.113.7', onlyup: '203.0.113.8' };
const ONLY_HOST = { 'only-host.test': '203.0.113.9' };

function ipOn(settings: { Networks: Record<string, { IPAddress: string }> }, network: string): string {
  return settings.Networks[network]?.IPAddress ?? '';
}

/** busybox nslookup's full output, failing or not. */
function nslookup(netnsPath: string, name: string): string {
  try {
    return inNetns(netnsPath, ['/bin/busybox', 'nslookup', name, '127.0.0.11']);
  } catch (e) {
    return String((e as { stdout?: Buffer }).stdout ?? '');
  }
}

/** A 127.x address of the host that no test of the suite uses (127.0.0.0/16 left alone). */
function loopbackAddress(): string {
  const octet = (): number => 1 + Math.floor(Math.random() * 254);
  return `127.${octet()}.${octet()}.${octet()}`;
}

beforeAll(async () => {
  host = await makeTestHost('tdf');
  await host.manager.createNetwork({ name: 'tdf-app', subnet: host.subnet(1) });
  await host.manager.createNetwork({ name: 'tdf-inner', subnet: host.subnet(2), internal: true });
  const up = await host.manager.attach('tdf-up-id', { mode: 'tdf-app', name: 'upstream' });
  upstreamIp = ipOn(up.settings, 'tdf-app');
  upstream = await startResponder(upstreamIp, ONLY_UPSTREAM, up.netnsPath);
  hostServer = await startResponder(loopbackAddress(), ONLY_HOST);
  const web = await host.manager.attach('tdf-web-id', { mode: 'tdf-app', name: 'web' });
  webIp = ipOn(web.settings, 'tdf-app');
  webNs = web.netnsPath ?? '';
  const attached = await host.manager.attach('tdf-client-id', { mode: 'tdf-app', name: 'client', dns: { servers: [upstreamIp] } });
  client = { ns: attached.netnsPath ?? '', resolvConf: attached.resolvConf };
});

afterAll(async () => {
  await upstream?.stop();
  await hostServer?.stop();
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('a container with --dns finds another container by name through 127.0.0.11, without asking its upstream', () => {
  expect(lookup(client.ns, 'web')).toEqual([webIp]);
  expect(upstream?.questions().filter((q) => q.startsWith('web '))).toEqual([]);
});

test('a name only its --dns server knows is forwarded there and the answer relayed', () => {
  expect(lookup(client.ns, 'only-upstream.test')).toEqual(['203.0.113.7']);
  expect(upstream?.questions()).toContain('only-upstream.test A');
});

test("each container has its own upstreams: one without --dns does not ask another's", () => {
  const asked = upstream?.questions().length;
  expect(nslookup(webNs, 'only-upstream.test')).toMatch(/NXDOMAIN/);
  expect(upstream?.questions()).toHaveLength(asked ?? -1);
});

test("without --dns the host's servers are asked, from the host's namespace, so a loopback one works", async () => {
  const hostResolvConf = path.join(host.root, 'resolv-with-server.conf');
  await fs.writeFile(hostResolvConf, `nameserver ${hostServer?.address}\n`);
  const manager = new NetworkManager({ ...host.options, hostResolvConf });
  const attached = await manager.attach('tdf-hosted-id', { mode: 'tdf-app', name: 'hosted' });
  try {
    expect(attached.resolvConf).toContain(`# ExtServers: [host(${hostServer?.address})]\n`);
    expect(lookup(attached.netnsPath ?? '', 'only-host.test')).toEqual(['203.0.113.9']);
    expect(hostServer?.questions()).toContain('only-host.test A');
  } finally {
    await manager.detach('tdf-hosted-id');
  }
});

test("a loopback --dns is the container's own loopback: the host's server at that address is not asked", async () => {
  const attached = await host.manager.attach('tdf-own-lo-id', { mode: 'tdf-app', name: 'ownlo', dns: { servers: [hostServer?.address ?? ''] } });
  try {
    const asked = hostServer?.questions().length;
    expect(lookup(attached.netnsPath ?? '', 'only-host.test')).toEqual([]);
    expect(hostServer?.questions()).toHaveLength(asked ?? -1);
  } finally {
    await host.manager.detach('tdf-own-lo-id');
  }
});

test('an upstream that refuses the query is passed over for the next one', async () => {
  // web runs no DNS server: its port 53 answers with ICMP port unreachable.
  const attached = await host.manager.attach('tdf-second-id', { mode: 'tdf-app', name: 'second', dns: { servers: [webIp, upstreamIp] } });
  try {
    expect(lookup(attached.netnsPath ?? '', 'only-upstream.test')).toEqual(['203.0.113.7']);
  } finally {
    await host.manager.detach('tdf-second-id');
  }
});

test('on internal networks only, names the server does not know are SERVFAIL and nothing is forwarded', async () => {
  const attached = await host.manager.attach('tdf-inner-id', { mode: 'tdf-inner', name: 'inner', dns: { servers: [upstreamIp] } });
  try {
    const asked = upstream?.questions().length;
    expect(nslookup(attached.netnsPath ?? '', 'only-upstream.test')).toMatch(/SERVFAIL/);
    expect(upstream?.questions()).toHaveLength(asked ?? -1);
  } finally {
    await host.manager.detach('tdf-inner-id');
  }
});

test("with an ndots of the user's, a bare name the server does not know gets an empty answer and is not forwarded", async () => {
  const attached = await host.manager.attach('tdf-ndots-id', { mode: 'tdf-app', name: 'ndots', dns: { servers: [upstreamIp], options: ['ndots:2'] } });
  try {
    expect(lookup(attached.netnsPath ?? '', 'onlyup')).toEqual([]);
    expect(upstream?.questions().filter((q) => q.startsWith('onlyup '))).toEqual([]);
    expect(lookup(attached.netnsPath ?? '', 'web')).toEqual([webIp]);
  } finally {
    await host.manager.detach('tdf-ndots-id');
  }
});

test('a query from an address that is no container\'s is answered NXDOMAIN, not forwarded', async () => {
  const asked = upstream?.questions().length;
  const rcode = await new Promise<number>((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const name = Buffer.from('\x0donly-upstream\x04test\x00', 'latin1');
    const query = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 1, 0, 1])]);
    const timer = setTimeout(() => (sock.close(), reject(new Error('no answer from the embedded DNS'))), 3000);
    sock.on('message', (reply) => (clearTimeout(timer), sock.close(), resolve(reply.readUInt16BE(2) & 0xf)));
    sock.send(query, 53, `${host.net(1)}.1`);
  });
  expect(rcode).toBe(3);
  expect(upstream?.questions()).toHaveLength(asked ?? -1);
});

test("the container's resolv.conf names only the embedded server, and its --dns as ExtServers", () => {
  expect(client.resolvConf.split('\n').filter((l) => l.startsWith('nameserver'))).toEqual(['nameserver 127.0.0.11']);
  expect(client.resolvConf).toContain(`# ExtServers: [${upstreamIp}]\n# Overrides: [nameservers]\n`);
});

test("a container in another's namespace gets that one's resolv.conf", async () => {
  const joined = await host.manager.attach('tdf-joined-id', { mode: 'container:tdf-client-id' });
  try {
    expect(joined.resolvConf).toBe(client.resolvConf);
  } finally {
    await host.manager.detach('tdf-joined-id');
  }
});
