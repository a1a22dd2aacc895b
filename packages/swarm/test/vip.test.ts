import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Engine } from '@ctr/engine';
import { NetworkManager, type NetworkInspect } from '@ctr/network';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { collector } from '../../engine/test/fixture';
import { createSwarmNetwork } from '../src/networks';
import { Swarm } from '../src/swarm';
import type { ServiceSpec } from '../src/types';
import { spec, tasksOf } from './swarm-fixture';

/**
 * A `vip` service's virtual IP on one node, with real containers, bridges and namespaces: the
 * allocator gives it an address on its network, the embedded DNS answers the service's name with
 * it, and the nat table of every container on the network (a standalone one, a task) spreads
 * connections to it over the service's running tasks; it stays through an update, refuses
 * connections while no task runs, and goes with the service and with the swarm. Every address is
 * in a block of the test range reserved for this file.
 */
let root: string;
let runRoot: string;
let block: TestBlock;
let engine: Engine;
let swarm: Swarm;
let vipnet: NetworkInspect;
/** A standalone container on the attachable network: the client. */
let client: string;
let webId: string;
/** web's virtual IP on vipnet, without its prefix length. */
let vip: string;

jest.setTimeout(120_000);

/** What `cmd` prints in container `id`, stdout and stderr together, and its exit code. */
async function exec(id: string, cmd: string[]): Promise<{ code: number; out: string }> {
  const out = collector();
  const { exitCode } = await engine.exec(id, { cmd, stdout: out, stderr: out });
  return { code: exitCode, out: out.text() };
}

/** The addresses `nslookup name` gives in container `id` (the embedded DNS's answer). */
async function lookup(id: string, name: string): Promise<string[]> {
  const { out } = await exec(id, ['nslookup', name]);
  return [...out.matchAll(/Address: (\d+\.\d+\.\d+\.\d+)/g)].flatMap((m) => (m[1] && m[1] !== '127.0.0.11' ? [m[1]] : [])).sort();
}

/** The slots that answered `tries` requests from container `id` to http://address/ (each task serves its slot). */
async function answers(id: string, address: string, tries = 12): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < tries; i++) {
    const r = await exec(id, ['wget', '-qO-', `http://${address}/`]);
    if (r.code === 0) seen.push(r.out.trim());
  }
  return seen;
}

/** A container's iptables rules, as its own namespace holds them. */
async function rulesOf(id: string): Promise<string> {
  const pid = (await engine.inspect(id)).State.Pid;
  const { stdout } = await promisify(execFile)('nsenter', [`--net=/proc/${pid}/ns/net`, 'iptables-save']);
  return stdout;
}

/** A service of busybox httpd tasks on vipnet, each serving its slot. */
function webSpec(name: string, replicas: number, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  const made = spec(name, ['sh', '-c', 'mkdir -p /www && echo "$SLOT" > /www/index.html && exec httpd -f -p 80 -h /www'], { Mode: { Replicated: { Replicas: replicas } }, ...extra }, { Env: ['SLOT={{.Task.Slot}}'] });
  made.TaskTemplate.Networks = [{ Target: 'vipnet' }];
  return made;
}

async function virtualIps(id: string): Promise<Array<{ NetworkID: string; Addr: string }> | undefined> {
  return (await swarm.inspectService(id)).Endpoint.VirtualIPs;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctr-swarm-vip-'));
  runRoot = await mkdtemp(join(tmpdir(), 'ctr-swarm-vip-run-'));
  block = reserveTestBlock();
  engine = new Engine({ root, runRoot, networks: { defaultBridge: { subnet: block.subnet(15) }, addressPool: { base: `${block.net(8)}.0/22`, size: 24 } } });
  await engine.importBusybox();
  swarm = new Swarm({ engine });
  await swarm.init({ AdvertiseAddr: '127.0.0.1', DefaultAddrPool: [`${block.net(0)}.0/21`], SubnetSize: 24 });
  vipnet = await createSwarmNetwork(swarm.context(), { name: 'vipnet', driver: 'overlay', attachable: true });
  ({ ID: webId } = await swarm.createService(webSpec('web', 3)));
  await swarm.converge(webId, {});
  vip = (await virtualIps(webId))?.[0]?.Addr.split('/')[0] ?? '';
  ({ id: client } = await engine.run({ image: 'busybox', cmd: ['sleep', '600'], network: 'vipnet', detach: true }));
});

afterAll(async () => {
  await swarm?.leave(true).catch(() => undefined);
  for (const c of (await engine?.ps({ all: true })) ?? []) await engine.remove(c.Id, { force: true }).catch(() => undefined);
  await engine?.close();
  if (root) await new NetworkManager({ root, runRoot }).gc();
  block?.release();
  await rm(root, { recursive: true, force: true, maxRetries: 5 });
  await rm(runRoot, { recursive: true, force: true, maxRetries: 5 });
});

test('a vip service gets a virtual IP on its network, which inspect shows in CIDR form', async () => {
  expect(await virtualIps(webId)).toEqual([{ NetworkID: vipnet.Id, Addr: `${vip}/24` }]);
  expect(vip.startsWith(`${block.net(1)}.`)).toBe(true);
});

test("the virtual IP is no task's address", async () => {
  const addresses = (await tasksOf(swarm.context(), webId)).map((t) => t.NetworksAttachments?.[0]?.Addresses[0]?.split('/')[0]);
  expect(addresses).toHaveLength(3);
  expect(addresses).not.toContain(vip);
});

test("the embedded DNS answers the service's name with its virtual IP alone, and tasks.<service> with its tasks' addresses", async () => {
  expect(await lookup(client, 'web')).toEqual([vip]);
  const tasks = (await tasksOf(swarm.context(), webId)).map((t) => t.NetworksAttachments?.[0]?.Addresses[0]?.split('/')[0] ?? '');
  expect(await lookup(client, 'tasks.web')).toEqual(tasks.sort());
});

test("a standalone container's connections to the virtual IP reach the service's tasks, spread over them", async () => {
  const seen = await answers(client, vip);
  expect(seen).toHaveLength(12);
  expect(seen.every((slot) => ['1', '2', '3'].includes(slot))).toBe(true);
  expect(new Set(seen).size).toBeGreaterThan(1);
});

test('a task reaches its own service through the virtual IP too', async () => {
  const [task] = await tasksOf(swarm.context(), webId);
  const seen = await answers(task?.Status.ContainerStatus?.ContainerID ?? '', vip, 6);
  expect(seen).toHaveLength(6);
  expect(seen.every((slot) => ['1', '2', '3'].includes(slot))).toBe(true);
});

test('the virtual IP stays through a service update, and then reaches the new tasks', async () => {
  const before = await virtualIps(webId);
  const service = await swarm.inspectService(webId);
  const oldTasks = new Set((await tasksOf(swarm.context(), webId)).map((t) => t.ID));
  await swarm.updateService(webId, service.Version.Index, { ...service.Spec, TaskTemplate: { ...service.Spec.TaskTemplate, ForceUpdate: 1 } });
  await swarm.converge(webId, {});
  expect(await virtualIps(webId)).toEqual(before);
  const running = (await tasksOf(swarm.context(), webId)).filter((t) => t.DesiredState === 'running');
  expect(running.every((t) => !oldTasks.has(t.ID))).toBe(true);
  expect(await answers(client, vip, 4)).toHaveLength(4);
});

test('with no task running, a connection to the virtual IP is refused at once', async () => {
  const service = await swarm.inspectService(webId);
  await swarm.updateService(webId, service.Version.Index, { ...service.Spec, Mode: { Replicated: { Replicas: 0 } } });
  await swarm.converge(webId, {});
  const refused = await exec(client, ['wget', '-qO-', `http://${vip}/`]);
  expect(refused.code).not.toBe(0);
  expect(refused.out).toContain('Connection refused');
});

test("a dnsrr service gets no virtual IP: its name answers its tasks' addresses", async () => {
  const { ID } = await swarm.createService(webSpec('rr', 2, { EndpointSpec: { Mode: 'dnsrr' } }));
  await swarm.converge(ID, {});
  expect(await virtualIps(ID)).toBeUndefined();
  const tasks = (await tasksOf(swarm.context(), ID)).map((t) => t.NetworksAttachments?.[0]?.Addresses[0]?.split('/')[0] ?? '');
  expect(await lookup(client, 'rr')).toEqual(tasks.sort());
  await swarm.removeService(ID);
});

test('service rm frees the virtual IP: its name is no longer answered, and no container keeps a rule for it', async () => {
  expect(await rulesOf(client)).toContain(`-d ${vip}/32`);
  await swarm.removeService(webId);
  expect(await lookup(client, 'web')).toEqual([]);
  expect(await rulesOf(client)).not.toContain('CTR-VIP');
});

test("leaving the swarm takes the services' virtual IPs out of the containers that stay", async () => {
  const { ID } = await swarm.createService(webSpec('last', 1));
  await swarm.converge(ID, {});
  const address = (await virtualIps(ID))?.[0]?.Addr.split('/')[0] ?? '';
  expect(await rulesOf(client)).toContain(`-d ${address}/32`);
  await swarm.leave(true);
  expect(await rulesOf(client)).not.toContain('CTR-VIP');
});
