import { readFile, writeFile } from 'node:fs/promises';
import { startResponder, type DnsResponder } from '../../network/test/helpers/dns-responder';
import { collector, testEngine, type TestEngine } from './fixture';

// A container made on the default bridge and connected to a user network afterwards
// (testcontainers' withNetwork: create, then POST /networks/{id}/connect) resolves names
// there as one made on it does: libnetwork starts the sandbox's embedded resolver when an
// endpoint that needs it joins, and rewrites resolv.conf to name 127.0.0.11 (rebuildDNS) —
// at the start of a stopped container, at once in a running one. The resolver stays to the
// sandbox's end: a disconnect leaves the file and the server; the next start makes both anew.

let t: TestEngine;
let upstream: DnsResponder | undefined;
const network = `cdns-${process.pid}`;
const peer = `cdns-peer-${process.pid}`;
let peerIp: string;
let upstreamIp: string;

async function inside(id: string, cmd: string[]): Promise<{ code: number; out: string }> {
  const stdout = collector();
  const { exitCode } = await t.engine.exec(id, { cmd, stdout, stderr: stdout });
  return { code: exitCode, out: stdout.text() };
}

const resolvConf = async (id: string): Promise<string> => (await inside(id, ['cat', '/etc/resolv.conf'])).out;
const nameservers = async (id: string): Promise<string[]> => (await resolvConf(id)).match(/^nameserver .*/gm) ?? [];

/** A sleeper on the default bridge whose names the embedded DNS forwards to the test's responder. */
async function onBridge(name: string): Promise<string> {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', name, cmd: ['sleep', '600'], dns: [upstreamIp] });
  return id;
}

beforeAll(async () => {
  t = await testEngine();
  await t.engine.createNetwork({ name: network });
  const { id: peerId } = await t.engine.create({ image: 'busybox', pull: 'never', network, name: peer, cmd: ['sleep', '600'] });
  await t.engine.start(peerId);
  peerIp = (await t.engine.inspect(peerId)).NetworkSettings.Networks[network]?.IPAddress ?? '';
  // The upstream on the default bridge: a container there can always reach it.
  const { id: upstreamId } = await t.engine.create({ image: 'busybox', pull: 'never', name: `cdns-upstream-${process.pid}`, cmd: ['sleep', '600'] });
  await t.engine.start(upstreamId);
  const inspected = await t.engine.inspect(upstreamId);
  upstreamIp = inspected.NetworkSettings.Networks.bridge?.IPAddress ?? '';
  upstream = await startResponder(upstreamIp, { 'only-upstream.test': '203.0.113.7' }, inspected.NetworkSettings.SandboxKey);
}, 120_000);

afterAll(async () => {
  await upstream?.stop();
  for (const c of (await t?.engine.ps({ all: true })) ?? []) await t.engine.remove(c.Id, { force: true }).catch(() => undefined);
  await t?.engine.removeNetwork(network).catch(() => undefined);
  await t?.cleanup();
});

describe('connected while stopped', () => {
  let id: string;
  beforeAll(async () => {
    id = await onBridge(`cdns-stopped-${process.pid}`);
    await t.engine.connect(network, id);
    await t.engine.start(id);
  });

  test('it starts with a resolv.conf naming only the embedded DNS', async () => {
    expect(await nameservers(id)).toEqual(['nameserver 127.0.0.11']);
  });

  test('it finds a container of the user network by name', async () => {
    expect((await inside(id, ['nslookup', peer])).out).toContain(`Address: ${peerIp}`);
  });
});

describe('connected while running', () => {
  let id: string;
  beforeAll(async () => {
    id = await onBridge(`cdns-running-${process.pid}`);
    await t.engine.start(id);
    await t.engine.connect(network, id);
  });

  test('the file it sees names the embedded DNS at once, with ndots:0', async () => {
    const text = await resolvConf(id);
    expect(text.match(/^nameserver .*/gm)).toEqual(['nameserver 127.0.0.11']);
    expect(text).toMatch(/^options ndots:0$/m);
  });

  test('it finds a container of the user network by name', async () => {
    expect((await inside(id, ['nslookup', peer])).out).toContain(`Address: ${peerIp}`);
  });

  test('a restart keeps the embedded DNS in its resolv.conf', async () => {
    await t.engine.restart(id, { timeout: 0 });
    expect(await nameservers(id)).toEqual(['nameserver 127.0.0.11']);
  });
});

test('a running container whose resolv.conf the user changed keeps the change when connected', async () => {
  const id = await onBridge(`cdns-edited-${process.pid}`);
  await t.engine.start(id);
  const file = (await t.engine.inspect(id)).ResolvConfPath;
  await writeFile(file, 'nameserver 192.0.2.99\n');
  await t.engine.connect(network, id);
  expect(await readFile(file, 'utf8')).toBe('nameserver 192.0.2.99\n');
});

describe('disconnected from its last user network while running', () => {
  let id: string;
  beforeAll(async () => {
    id = await onBridge(`cdns-left-${process.pid}`);
    await t.engine.start(id);
    await t.engine.connect(network, id);
    await t.engine.disconnect(network, id);
  });

  test('its resolv.conf still names the embedded DNS', async () => {
    expect(await nameservers(id)).toEqual(['nameserver 127.0.0.11']);
  });

  test('the embedded DNS still forwards its queries to its --dns', async () => {
    expect((await inside(id, ['nslookup', 'only-upstream.test'])).out).toContain('Address: 203.0.113.7');
  });

  test('the user network\'s names are no longer answered', async () => {
    const { code, out } = await inside(id, ['nslookup', peer]);
    expect(code).not.toBe(0);
    expect(out).toContain('NXDOMAIN');
  });

  test('its next start gives it the default bridge\'s resolv.conf again', async () => {
    await t.engine.restart(id, { timeout: 0 });
    expect(await nameservers(id)).toEqual([`nameserver ${upstreamIp}`]);
  });
});
