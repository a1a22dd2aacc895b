import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NetworkManager } from '@ctr/network';
import { lookup, makeTestHost, type TestHost } from './helpers/host';

let host: TestHost;
let tag = '';

beforeAll(async () => {
  host = await makeTestHost('tgc');
  tag = createHash('sha256').update(host.root).digest('hex').slice(0, 8);
  await host.manager.createNetwork({ name: 'tgc-net', subnet: host.subnet(1) });
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

const sh = (cmd: string): string => execFileSync('sh', ['-ec', cmd]).toString();

test('a sandbox whose namespace vanished (reboot, crash) is removed with its lease and port rules', async () => {
  const r = await host.manager.attach('tgc-lost', { mode: 'tgc-net', ports: ['127.0.0.1::80'] });
  sh(`umount '${r.netnsPath}'`);
  const report = await host.manager.gc();
  expect(report.removed).toContain('sandbox tgc-lost');
  expect((await host.manager.inspectNetwork('tgc-net')).Containers).toEqual({});
  expect(sh(`iptables-save`)).not.toContain(`ctr:${tag}:ports:tgc-lost`);
  await expect(fs.stat(r.netnsPath ?? '')).rejects.toThrow();
  expect((await host.leftovers(false)).filter((l) => l.startsWith('link veth'))).toEqual([]);
});

test('namespaces, links and iptables rules nothing owns are removed', async () => {
  const netnsDir = path.join(host.options.runRoot, 'netns');
  await fs.mkdir(netnsDir, { recursive: true });
  sh(`touch '${netnsDir}/tgc-orphan' && unshare --net='${netnsDir}/tgc-orphan' true`);
  const ghost = `${host.prefix}-ghost`;
  sh(`ip link add ${ghost} type veth peer name ${ghost}-p && ip link set ${ghost} alias ctr:${tag}:ep:ghost`);
  sh(`iptables -A CTR-FORWARD -i ${ghost} -m comment --comment ctr:${tag}:net:ghost -j ACCEPT`);
  const report = await host.manager.gc();
  expect(report.removed).toEqual(
    expect.arrayContaining([`netns ${netnsDir}/tgc-orphan`, `link ${ghost}`, `1 iptables rules ctr:${tag}:net:ghost`]),
  );
  expect(await host.leftovers(false)).toEqual(
    // the network made in beforeAll is still there, and only it
    expect.not.arrayContaining([expect.stringContaining('ghost'), expect.stringContaining('orphan')]),
  );
});

test('a killed DNS server is restarted and a deleted bridge is recreated', async () => {
  const bridge = host.bridgeOf(await host.manager.inspectNetwork('tgc-net'));
  const pidFile = path.join(host.options.runRoot, 'network', 'dns.pid');
  const pid = Number(await fs.readFile(pidFile, 'utf8'));
  process.kill(pid, 'SIGKILL');
  sh(`ip link del ${bridge}`);
  await host.manager.gc();
  expect(sh(`ip -o -4 addr show dev ${bridge}`)).toContain(`${host.net(1)}.1/24`);
  const a = await host.manager.attach('tgc-a', { mode: 'tgc-net', name: 'alpha' });
  const b = await host.manager.attach('tgc-b', { mode: 'tgc-net', name: 'beta' });
  expect(lookup(b.netnsPath ?? '', 'alpha')).toEqual([a.settings.Networks['tgc-net']?.IPAddress]);
  await host.manager.detach('tgc-a');
  await host.manager.detach('tgc-b');
});

test('the default bridge is removed by gc while nothing uses it', async () => {
  await host.manager.attach('tgc-d', {});
  await host.manager.detach('tgc-d');
  expect(sh('ip -o link show')).toContain(`${host.prefix}-dflt`);
  expect((await host.manager.gc()).removed).toContain('network bridge');
  expect(sh('ip -o link show')).not.toContain(`${host.prefix}-dflt`);
});

test('a lock left by a crashed process is broken', async () => {
  await fs.writeFile(path.join(host.root, 'networks', '.lock'), '999999999');
  await expect(host.manager.attach('tgc-lock', { mode: 'none' })).resolves.toBeDefined();
  await host.manager.detach('tgc-lock');
});

test('a torn sandbox record (power loss before it reached the disk) counts as absent and gc removes it', async () => {
  const file = path.join(host.root, 'networks', 'sandboxes', 'tgc-torn.json');
  await fs.writeFile(file, '');
  expect((await host.manager.gc()).removed).toContain('unreadable record tgc-torn.json');
  await fs.writeFile(file, '{"containerId": "tgc-t');
  const r = await host.manager.attach('tgc-torn', { mode: 'none' });
  expect(r.netnsPath).toBeDefined();
  await host.manager.detach('tgc-torn');
});

test('what a deleted root left on the host is removed by the gc of any other root', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-net-tgc-gone-'));
  const runRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-net-tgc-gone-run-'));
  const goneTag = createHash('sha256').update(root).digest('hex').slice(0, 8);
  const gone = new NetworkManager({
    root,
    runRoot,
    bridgePrefix: host.prefix,
    defaultBridge: { bridgeName: `${host.prefix}-gdef`, subnet: host.subnet(14) },
  });
  await gone.createNetwork({ name: 'tgc-gone', subnet: host.subnet(13), bridgeName: `${host.prefix}-gone` });
  await gone.attach('tgc-g1', { mode: 'tgc-gone', ports: ['127.0.0.1::80'] });
  await gone.attach('tgc-g2', {});
  await fs.rm(root, { recursive: true, force: true });

  // Another test file's gc may sweep them first (any root's gc does), so the host's state is what is asserted.
  await host.manager.gc();
  expect(sh('ip -o link show')).not.toContain(`${host.prefix}-g`);
  expect(sh('iptables-save')).not.toContain(`ctr:${goneTag}:`);
  expect(await fs.readdir(path.join(runRoot, 'netns'))).toEqual([]);
  // Its DNS server notices that its root is gone and exits by itself.
  const pidFile = path.join(runRoot, 'network', 'dns.pid');
  for (let i = 0; i < 50 && (await fs.stat(pidFile).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  await expect(fs.stat(pidFile)).rejects.toThrow();
  await fs.rm(runRoot, { recursive: true, force: true });
});

test("links and rules of a root missing from the registry are removed by any root's gc", async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-net-tgc-unknown-'));
  const runRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-net-tgc-unknown-run-'));
  try {
    const unknownTag = createHash('sha256').update(root).digest('hex').slice(0, 8);
    const lost = new NetworkManager({ root, runRoot, bridgePrefix: host.prefix, defaultBridge: { bridgeName: `${host.prefix}-udef`, subnet: host.subnet(12) } });
    await lost.createNetwork({ name: 'tgc-unknown', subnet: host.subnet(15), bridgeName: `${host.prefix}-unk` });
    expect(sh('iptables-save')).toContain(`ctr:${unknownTag}:`);
    // As a root registered where the registry used to be: its entry is nowhere to be found.
    // Another test file's gc may sweep what it left first (any root's gc does), so the host's state is what is asserted.
    await fs.rm(path.join('/run/ctr-network/roots', `${unknownTag}.json`));

    await host.manager.gc();
    expect(sh('ip -o link show')).not.toContain(`${host.prefix}-unk`);
    expect(sh('iptables-save')).not.toContain(`ctr:${unknownTag}:`);
    expect(sh('ip -o link show')).toContain(`${host.prefix}-`); // this root's own bridge stays
  } finally {
    // Its DNS server sees its root go and exits by itself.
    await fs.rm(root, { recursive: true, force: true });
    const pidFile = path.join(runRoot, 'network', 'dns.pid');
    for (let i = 0; i < 50 && (await fs.stat(pidFile).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
    await fs.rm(runRoot, { recursive: true, force: true });
  }
});
