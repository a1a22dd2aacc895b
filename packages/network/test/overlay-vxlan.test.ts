import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bridgeNameFor, vxlanName, type NetworkManagerOptions } from '@ctr/network';
import { inNetns, lookup, statusInNetns, stopProcess } from './helpers/host';

/**
 * A swarm overlay network between two nodes: each node is a network namespace this file makes
 * (joined by a veth pair with addresses of 10.254.<k>.0/24), its network manager run inside it
 * (fixtures/manager-call.js under nsenter), as each node's engine runs in its own. Both make the
 * network with the same ID and subnet and their own gateway, and name each other as peers.
 */

const run = promisify(execFile);
const FIXTURE = path.join(__dirname, 'fixtures', 'manager-call.js');
const tag = randomBytes(3).toString('hex');
const k = 16 + (randomBytes(1)[0] ?? 0) % 200;
const underlay = `10.254.${k}`;
const overlay = `10.254.${k + 1}`;
const networkId = randomBytes(32).toString('hex');
const VNI = 4097;

interface Node {
  netns: string;
  addr: string;
  options: NetworkManagerOptions;
}
const nodes: Node[] = [];
const servers: ChildProcess[] = [];

/** One call of the node's network manager, made in its namespace; its result. */
async function call<T>(node: Node, method: string, ...args: unknown[]): Promise<T> {
  const { stdout } = await run('nsenter', [`--net=/run/netns/${node.netns}`, process.execPath, FIXTURE, JSON.stringify(node.options), method, JSON.stringify(args)], { timeout: 60_000 });
  return JSON.parse(stdout) as T;
}

function links(node: Node): string[] {
  return (JSON.parse(execFileSync('ip', ['-n', node.netns, '-j', 'link', 'show']).toString()) as Array<{ ifname: string }>).map((l) => l.ifname);
}

function floodPeers(node: Node, device: string): string[] {
  const entries = JSON.parse(execFileSync('bridge', ['-n', node.netns, '-j', 'fdb', 'show', 'dev', device]).toString() || '[]') as Array<{ mac: string; dst?: string }>;
  return entries.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst ?? '');
}

/** A container's namespace on a node (the manager's attach: its sandbox). */
function sandbox(node: Node, id: string): string {
  return path.join(node.options.runRoot, 'netns', id);
}

const pings = (from: string, to: string): boolean => statusInNetns(from, ['/bin/busybox', 'ping', '-c', '1', '-W', '2', to], 15_000) === 0;

beforeAll(async () => {
  for (const side of ['a', 'b'] as const) {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), `ctr-ovl-${side}-`));
    const hostResolvConf = path.join(root, 'resolv.conf');
    await fs.writeFile(hostResolvConf, '# no nameserver: nothing leaves the test\n');
    nodes.push({
      netns: `ctrtest-${tag}-${side}`,
      addr: `${underlay}.${side === 'a' ? 1 : 2}`,
      options: { root, runRoot: path.join(root, 'run'), bridgePrefix: `ov${side}`, defaultBridge: { bridgeName: `ov${side}-dflt`, subnet: `${underlay}.128/25` }, hostResolvConf },
    });
  }
  const [a, b] = nodes as [Node, Node];
  execFileSync('ip', ['netns', 'add', a.netns]);
  execFileSync('ip', ['netns', 'add', b.netns]);
  execFileSync('ip', ['link', 'add', `vt${tag}a`, 'netns', a.netns, 'type', 'veth', 'peer', 'name', `vt${tag}b`, 'netns', b.netns]);
  for (const [node, dev] of [[a, `vt${tag}a`], [b, `vt${tag}b`]] as const) {
    execFileSync('ip', ['-n', node.netns, 'addr', 'add', `${node.addr}/24`, 'dev', dev]);
    execFileSync('ip', ['-n', node.netns, 'link', 'set', dev, 'up']);
    execFileSync('ip', ['-n', node.netns, 'link', 'set', 'lo', 'up']);
  }
  for (const [node, peer, gateway] of [[a, b, `${overlay}.1`], [b, a, `${overlay}.2`]] as const) {
    await call(node, 'createNetwork', {
      name: 'ov',
      id: networkId,
      subnet: `${overlay}.0/24`,
      gateway,
      swarm: true,
      attachable: true,
      overlay: { vni: VNI, local: node.addr, peers: [peer.addr] },
    });
  }
  await call(a, 'attach', 'ovl-a', { mode: 'ov', name: 'one', networks: [{ name: 'ov', ip: `${overlay}.10` }] });
  await call(b, 'attach', 'ovl-b', { mode: 'ov', name: 'two', networks: [{ name: 'ov', ip: `${overlay}.11` }] });
  const www = path.join(b.options.root, 'www');
  await fs.mkdir(www);
  await fs.writeFile(path.join(www, 'index.html'), 'hello from node b\n');
  const httpd = spawn('nsenter', [`--net=${sandbox(b, 'ovl-b')}`, '/bin/busybox', 'httpd', '-f', '-p', '80', '-h', www], { stdio: 'ignore' });
  servers.push(httpd);
  for (let i = 0; i < 100 && !inNetns(sandbox(b, 'ovl-b'), ['/bin/busybox', 'netstat', '-ltn']).includes(':80 '); i++) await new Promise((r) => setTimeout(r, 20));
}, 120_000);

afterAll(async () => {
  for (const server of servers) await stopProcess(server);
  for (const node of nodes) {
    for (const id of ['ovl-a', 'ovl-b']) await call(node, 'detach', id).catch(() => undefined);
    await call(node, 'removeNetwork', networkId).catch(() => undefined);
    await call(node, 'gc').catch(() => undefined);
    execFileSync('ip', ['netns', 'del', node.netns], { stdio: 'ignore' });
    await fs.rm(node.options.root, { recursive: true, force: true });
  }
}, 120_000);

test('each node has the network as a bridge with a VXLAN device on it, flooding to the other node', () => {
  const [a, b] = nodes as [Node, Node];
  const device = vxlanName(VNI, networkId);
  expect(links(a)).toContain(device);
  const detail = JSON.parse(execFileSync('ip', ['-n', a.netns, '-d', '-j', 'link', 'show', device]).toString()) as Array<{ master?: string; mtu: number; linkinfo: { info_data: { id: number; port: number; local: string; learning: boolean } } }>;
  expect(detail[0]?.master).toBe(bridgeNameFor('ova', networkId));
  expect(detail[0]?.linkinfo.info_data).toMatchObject({ id: VNI, port: 4789, local: a.addr, learning: false });
  expect(detail[0]?.mtu).toBe(1450);
  expect(floodPeers(a, device)).toEqual([b.addr]);
  expect(floodPeers(b, device)).toEqual([a.addr]);
});

test('a container on one node reaches a container on the other through the overlay', () => {
  const [a] = nodes as [Node, Node];
  expect(pings(sandbox(a, 'ovl-a'), `${overlay}.11`)).toBe(true);
  expect(inNetns(sandbox(a, 'ovl-a'), ['/bin/busybox', 'wget', '-qO-', `http://${overlay}.11/`], 15_000)).toBe('hello from node b\n');
});

test("each node's container routes through its own node: the gateway is that node's address on the network", () => {
  const [a, b] = nodes as [Node, Node];
  expect(inNetns(sandbox(a, 'ovl-a'), ['/bin/busybox', 'ip', 'route'])).toContain(`default via ${overlay}.1`);
  expect(inNetns(sandbox(b, 'ovl-b'), ['/bin/busybox', 'ip', 'route'])).toContain(`default via ${overlay}.2`);
});

test("the embedded DNS answers a name registered for another node's endpoint, and forgets it when it is removed", async () => {
  const [, b] = nodes as [Node, Node];
  await call(b, 'setRemoteEndpoints', 'ov', [{ id: 'task-on-a', ip: `${overlay}.10`, names: ['web', 'tasks.web'] }]);
  expect(lookup(sandbox(b, 'ovl-b'), 'tasks.web')).toEqual([`${overlay}.10`]);
  expect(lookup(sandbox(b, 'ovl-b'), 'web')).toEqual([`${overlay}.10`]);
  await call(b, 'setRemoteEndpoints', 'ov', []);
  expect(lookup(sandbox(b, 'ovl-b'), 'tasks.web')).toEqual([]);
});

test("another node's address is never handed out on this one", async () => {
  const [, b] = nodes as [Node, Node];
  await call(b, 'setRemoteEndpoints', 'ov', [{ id: 'gateway-a', ip: `${overlay}.1`, names: [] }, { id: 'task-on-a', ip: `${overlay}.3`, names: [] }]);
  try {
    await call(b, 'attach', 'ovl-c', { mode: 'ov', name: 'three' });
    const settings = await call<{ Networks: Record<string, { IPAddress: string }> }>(b, 'settings', 'ovl-c');
    expect(settings.Networks.ov?.IPAddress).toBe(`${overlay}.4`);
  } finally {
    await call(b, 'detach', 'ovl-c');
    await call(b, 'setRemoteEndpoints', 'ov', []);
  }
});

test('with the peers removed no traffic crosses; set again, it does', async () => {
  const [a, b] = nodes as [Node, Node];
  for (const node of [a, b]) await call(node, 'setOverlay', 'ov', { vni: VNI, local: node.addr, peers: [] });
  expect(floodPeers(a, vxlanName(VNI, networkId))).toEqual([]);
  expect(pings(sandbox(a, 'ovl-a'), `${overlay}.11`)).toBe(false);
  await call(a, 'setOverlay', 'ov', { vni: VNI, local: a.addr, peers: [b.addr] });
  await call(b, 'setOverlay', 'ov', { vni: VNI, local: b.addr, peers: [a.addr] });
  expect(pings(sandbox(a, 'ovl-a'), `${overlay}.11`)).toBe(true);
});

test('a network whose VNI another device of the node has on that port is refused, and nothing of it is left', async () => {
  const [a, b] = nodes as [Node, Node];
  const before = links(a);
  const id = randomBytes(32).toString('hex');
  await expect(call(a, 'createNetwork', { name: 'ov-clash', id, subnet: `10.254.${k + 2}.0/24`, swarm: true, overlay: { vni: VNI, local: a.addr, peers: [b.addr] } })).rejects.toThrow(
    /cannot make the VXLAN device vx-001001-.* \(VNI 4097, local 10\.254\.\d+\.1, port 4789\) of network ov-clash/,
  );
  expect(links(a)).toEqual(before);
  expect(await call(a, 'listNetworks')).not.toContainEqual(expect.objectContaining({ Name: 'ov-clash' }));
});

test('gc makes a lost VXLAN device again', async () => {
  const [a, b] = nodes as [Node, Node];
  const device = vxlanName(VNI, networkId);
  execFileSync('ip', ['-n', a.netns, 'link', 'del', device]);
  await call(a, 'gc');
  expect(floodPeers(a, device)).toEqual([b.addr]);
  expect(pings(sandbox(a, 'ovl-a'), `${overlay}.11`)).toBe(true);
});

test('removing the network removes its VXLAN device', async () => {
  const [a] = nodes as [Node, Node];
  await call(a, 'detach', 'ovl-a');
  await call(a, 'removeNetwork', 'ov');
  expect(links(a).filter((l) => l.startsWith('vx-') || l.startsWith('ova-'))).toEqual([]);
});
