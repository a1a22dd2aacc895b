import { promises as fs } from 'node:fs';
import path from 'node:path';
import { NetworkManager } from '@ctr/network';
import { startResponder, type DnsResponder } from './helpers/dns-responder';
import { lookup, makeTestHost, nslookup, type TestHost } from './helpers/host';

// The embedded DNS sends from the host's namespace, so a container's --dns must not take its
// queries where the container itself cannot go; what it may ask is decided at each start (and
// when its networks change) and recorded. A refused --dns is skipped: with none left the
// container gets NXDOMAIN at once, where a forward that found no server would be SERVFAIL.
// Upstreams are the test's responders: in namespaces on its own bridges, or on 127.x addresses.

let host: TestHost;
const responders: DnsResponder[] = [];
let innerIp: string;
let inner: DnsResponder;
let sideIp: string;
let side: DnsResponder;
let loop: DnsResponder;

function ipOn(settings: { Networks: Record<string, { IPAddress: string }> }, network: string): string {
  return settings.Networks[network]?.IPAddress ?? '';
}

/** A 127.x address of the host that no test of the suite uses (127.0.0.0/16 left alone). */
function loopbackAddress(): string {
  const octet = (): number => 1 + Math.floor(Math.random() * 254);
  return `127.${octet()}.${octet()}.${octet()}`;
}

async function responder(address: string, records: Record<string, string>, netnsPath?: string): Promise<DnsResponder> {
  const started = await startResponder(address, records, netnsPath);
  responders.push(started);
  return started;
}

/** A container on `network` with `--dns servers`, detached after `body`. */
async function withClient(id: string, network: string, servers: string[], body: (netnsPath: string) => Promise<void> | void): Promise<void> {
  const attached = await host.manager.attach(id, { mode: network, name: id.replace(/-id$/, ''), dns: { servers } });
  try {
    await body(attached.netnsPath ?? '');
  } finally {
    await host.manager.detach(id);
  }
}

beforeAll(async () => {
  host = await makeTestHost('tdu');
  await host.manager.createNetwork({ name: 'tdu-app', subnet: host.subnet(1) });
  await host.manager.createNetwork({ name: 'tdu-inner', subnet: host.subnet(2), internal: true });
  await host.manager.createNetwork({ name: 'tdu-side', subnet: host.subnet(3) });
  const innerUp = await host.manager.attach('tdu-inner-up-id', { mode: 'tdu-inner', name: 'innerup' });
  innerIp = ipOn(innerUp.settings, 'tdu-inner');
  inner = await responder(innerIp, { 'only-inner.test': '203.0.113.20' }, innerUp.netnsPath);
  const sideUp = await host.manager.attach('tdu-side-up-id', { mode: 'tdu-side', name: 'sideup' });
  sideIp = ipOn(sideUp.settings, 'tdu-side');
  side = await responder(sideIp, { 'only-side.test': '203.0.113.21' }, sideUp.netnsPath);
  loop = await responder(loopbackAddress(), { 'only-loop.test': '203.0.113.22' });
});

afterAll(async () => {
  for (const r of responders) await r.stop();
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test("a --dns on an internal network's address is not asked: the container gets NXDOMAIN", async () => {
  await withClient('tdu-to-inner-id', 'tdu-app', [innerIp], (ns) => {
    expect(nslookup(ns, 'only-inner.test')).toMatch(/NXDOMAIN/);
    expect(inner.questions()).toEqual([]);
  });
});

test('a --dns of 0.0.0.0 is not sent to the host: the container gets NXDOMAIN', async () => {
  await withClient('tdu-to-any-id', 'tdu-app', ['0.0.0.0'], (ns) => {
    expect(nslookup(ns, 'only-loop.test')).toMatch(/NXDOMAIN/);
  });
});

test("a --dns of a v4-mapped loopback address is not sent to the host's loopback", async () => {
  await withClient('tdu-to-mapped-id', 'tdu-app', [`::ffff:${loop.address}`], (ns) => {
    expect(nslookup(ns, 'only-loop.test')).toMatch(/NXDOMAIN/);
    expect(loop.questions()).toEqual([]);
  });
});

test('a --dns on a network the container leaves is no longer asked', async () => {
  const attached = await host.manager.attach('tdu-leaver-id', {
    mode: 'tdu-app',
    name: 'leaver',
    networks: [{ name: 'tdu-app' }, { name: 'tdu-side' }],
    dns: { servers: [sideIp] },
  });
  try {
    const ns = attached.netnsPath ?? '';
    expect(lookup(ns, 'only-side.test')).toEqual(['203.0.113.21']);
    await host.manager.disconnect('tdu-leaver-id', 'tdu-side');
    const asked = side.questions().length;
    expect(nslookup(ns, 'only-side.test')).toMatch(/NXDOMAIN/);
    expect(side.questions()).toHaveLength(asked);
  } finally {
    await host.manager.detach('tdu-leaver-id');
  }
});

test("a network made after a container started closes its subnet to that container's --dns", async () => {
  // Nothing is asked before the network exists: the address would be routed off the machine.
  const lateIp = `${host.net(4)}.5`;
  await withClient('tdu-early-id', 'tdu-app', [lateIp], async (ns) => {
    await host.manager.createNetwork({ name: 'tdu-late', subnet: host.subnet(4), internal: true });
    const lateUp = await host.manager.attach('tdu-late-up-id', { mode: 'tdu-late', networks: [{ name: 'tdu-late', ip: lateIp }] });
    try {
      const late = await responder(lateIp, { 'only-late.test': '203.0.113.23' }, lateUp.netnsPath);
      expect(nslookup(ns, 'only-late.test')).toMatch(/NXDOMAIN/);
      expect(late.questions()).toEqual([]);
    } finally {
      await host.manager.detach('tdu-late-up-id');
    }
  });
});

test("the host's servers are read again at each start", async () => {
  const later = await responder(loopbackAddress(), { 'only-later.test': '203.0.113.24' });
  const hostResolvConf = path.join(host.root, 'resolv-changing.conf');
  await fs.writeFile(hostResolvConf, `nameserver ${loop.address}\n`);
  const manager = new NetworkManager({ ...host.options, hostResolvConf });
  await manager.configure('tdu-restarted-id', { mode: 'tdu-app', name: 'restarted' });
  try {
    const first = await manager.allocate('tdu-restarted-id');
    expect(lookup(first.netnsPath ?? '', 'only-loop.test')).toEqual(['203.0.113.22']);
    await manager.release('tdu-restarted-id');
    await fs.writeFile(hostResolvConf, `nameserver ${later.address}\n`);
    const second = await manager.allocate('tdu-restarted-id');
    expect(second.resolvConf).toContain(`# ExtServers: [host(${later.address})]\n`);
    const asked = loop.questions().length;
    expect(lookup(second.netnsPath ?? '', 'only-later.test')).toEqual(['203.0.113.24']);
    expect(loop.questions()).toHaveLength(asked);
  } finally {
    await manager.detach('tdu-restarted-id');
  }
});
