import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '@ctr/engine';
import { allocate, allocateNetworks, FIRST_VNI, networkAssignments, readAllocatorState, taskAddress, virtualIpsOn, type AllocationInput, type SwarmNetwork } from '../src/allocator';
import type { SwarmContext } from '../src/context';
import { openClusterStore } from '../src/store';
import type { Node, Service, Task, TaskState } from '../src/types';

/**
 * The manager's network allocator as swarmkit's: VXLAN IDs per network from 4097, each node's own
 * gateway on a network it has tasks on, each task's address in its NetworksAttachments, and
 * addresses given back when their tasks end and their nodes leave the network.
 */

const meta = { Version: { Index: 1 }, CreatedAt: '2024-01-01T00:00:00Z', UpdatedAt: '2024-01-01T00:00:00Z' };
const MANAGER = 'manager0000000000000000000';

function network(id: string, subnet: string, extra: Partial<SwarmNetwork> = {}): SwarmNetwork {
  const base = subnet.replace(/\.0\/24$/, '');
  return {
    Id: id,
    Name: id,
    Ingress: false,
    Attachable: false,
    Internal: false,
    Labels: {},
    Options: {},
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: subnet, Gateway: `${base}.1` }] },
    Containers: {},
    ...extra,
  };
}

function service(id: string, networks: string[], publishes = false): Service {
  return {
    ...meta,
    ID: id,
    Spec: { Name: id, Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: networks.map((Target) => ({ Target })) }, Mode: { Replicated: { Replicas: 1 } } },
    Endpoint: { Spec: {}, ...(publishes ? { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30080, PublishMode: 'ingress' }] } : {}) },
  } as Service;
}

/** The service in dnsrr endpoint mode: no virtual IP. */
const dnsrr = (svc: Service): Service => ({ ...svc, Spec: { ...svc.Spec, EndpointSpec: { Mode: 'dnsrr' } } });

let seq = 0;
function task(svc: Service, nodeId: string, state: TaskState = 'running'): Task {
  seq++;
  return {
    ...meta,
    ID: `task${seq}`,
    Spec: structuredClone(svc.Spec.TaskTemplate),
    ServiceID: svc.ID,
    NodeID: nodeId,
    Status: { Timestamp: meta.CreatedAt, State: state, Message: '' },
    DesiredState: 'running',
    Slot: seq,
  } as Task;
}

const node = (id: string): Pick<Node, 'ID'> => ({ ID: id });

function input(extra: Partial<AllocationInput>): AllocationInput {
  return { state: { Networks: {} }, networks: [], tasks: [], services: [], nodes: [node(MANAGER), node('worker1'), node('worker2')], managerId: MANAGER, ...extra };
}

/** Applies a pass's task updates, as the transaction does. */
function withUpdates(tasks: Task[], updated: Task[]): Task[] {
  return tasks.map((t) => updated.find((u) => u.ID === t.ID) ?? t);
}

test('each network gets its own VXLAN ID, from 4097 up, kept from pass to pass', () => {
  const first = allocate(input({ networks: [network('neta', '10.0.1.0/24'), network('netb', '10.0.2.0/24')] }));
  expect(first.state.Networks.neta?.VNI).toBe(FIRST_VNI);
  expect(first.state.Networks.netb?.VNI).toBe(FIRST_VNI + 1);
  const again = allocate(input({ state: first.state, networks: [network('netb', '10.0.2.0/24'), network('netc', '10.0.3.0/24')] }));
  expect(again.state.Networks.netb?.VNI).toBe(FIRST_VNI + 1);
  // neta is gone: its ID is free for the next network.
  expect(again.state.Networks.netc?.VNI).toBe(FIRST_VNI);
  expect(again.state.Networks.neta).toBeUndefined();
});

test("every task gets an address of its own on each of its networks, in swarmkit's NetworksAttachments form", () => {
  const web = service('web', ['neta']);
  const tasks = [task(web, MANAGER), task(web, 'worker1'), task(web, 'worker1')];
  const { updated } = allocate(input({ networks: [network('neta', '10.0.1.0/24')], services: [web], tasks }));
  expect(updated).toHaveLength(3);
  expect(updated[0]?.NetworksAttachments).toEqual([{ Network: { ID: 'neta', Spec: { Name: 'neta' } }, Addresses: [expect.stringMatching(/^10\.0\.1\.\d+\/24$/)] }]);
  const addresses = updated.map((t) => taskAddress(t, 'neta'));
  expect(new Set(addresses).size).toBe(3);
  expect(addresses).not.toContain('10.0.1.1');
});

test("a node with tasks on a network gets its own gateway there, never a task's address; the manager's is the network's", () => {
  const web = service('web', ['neta']);
  const tasks = [task(web, MANAGER), task(web, 'worker1'), task(web, 'worker2')];
  const { state, updated } = allocate(input({ networks: [network('neta', '10.0.1.0/24')], services: [web], tasks }));
  const gateways = state.Networks.neta?.Gateways ?? {};
  expect(Object.keys(gateways).sort()).toEqual(['worker1', 'worker2']);
  const all = [...Object.values(gateways), ...updated.map((t) => taskAddress(t, 'neta'))];
  expect(new Set(all).size).toBe(all.length);
  expect(all).not.toContain('10.0.1.1');
});

test('a pass gives nothing new to tasks that have addresses: the result is stable', () => {
  const web = service('web', ['neta']);
  const tasks = [task(web, 'worker1'), task(web, 'worker2')];
  const networks = [network('neta', '10.0.1.0/24')];
  const first = allocate(input({ networks, services: [web], tasks }));
  const second = allocate(input({ state: first.state, networks, services: [web], tasks: withUpdates(tasks, first.updated) }));
  expect(second.updated).toEqual([]);
  expect(second.state).toEqual(first.state);
});

test("an ended task's address is given to the next task, and a node's gateway goes with its last task", () => {
  const web = service('web', ['neta']);
  const networks = [network('neta', '10.0.1.0/24')];
  const old = task(web, 'worker1');
  const first = allocate(input({ networks, services: [web], tasks: [old] }));
  const [given] = first.updated;
  const freed = { ...(given as Task), Status: { ...(given as Task).Status, State: 'shutdown' as const } };
  const next = task(web, 'worker2');
  const second = allocate(input({ state: first.state, networks, services: [web], tasks: [freed, next] }));
  expect(second.state.Networks.neta?.Gateways).toEqual({ worker2: first.state.Networks.neta?.Gateways.worker1 });
  expect(taskAddress(second.updated[0] as Task, 'neta')).toBe(taskAddress(given as Task, 'neta'));
});

test("the addresses of the manager's own containers on a network (standalone ones on an attachable network) are never given", () => {
  // dnsrr: no virtual IP takes the next address before the task.
  const web = dnsrr(service('web', ['neta']));
  const net = network('neta', '10.0.1.0/24', { Attachable: true, Containers: { c1: { Name: 'c1', EndpointID: 'e', MacAddress: '', IPv4Address: '10.0.1.2/24', IPv6Address: '' } } });
  const { updated } = allocate(input({ networks: [net], services: [web], tasks: [task(web, MANAGER)] }));
  expect(taskAddress(updated[0] as Task, 'neta')).toBe('10.0.1.3');
});

test('a service publishing through the routing mesh puts its tasks on ingress too, and every node gets a gateway on ingress', () => {
  const web = service('web', ['neta'], true);
  const ingress = network('ingress', '10.0.0.0/24', { Ingress: true });
  const { state, updated } = allocate(input({ networks: [ingress, network('neta', '10.0.1.0/24')], services: [web], tasks: [task(web, 'worker1')] }));
  expect(updated[0]?.NetworksAttachments?.map((a) => a.Network.ID)).toEqual(['ingress', 'neta']);
  expect(Object.keys(state.Networks.ingress?.Gateways ?? {}).sort()).toEqual(['worker1', 'worker2']);
});

test('a full network is refused in libnetwork\'s words', () => {
  const web = service('web', ['tiny']);
  const tiny = network('tiny', '10.0.9.0/30');
  tiny.IPAM.Config = [{ Subnet: '10.0.9.0/30', Gateway: '10.0.9.1' }];
  expect(() => allocate(input({ networks: [tiny], services: [web], tasks: [task(web, MANAGER), task(web, MANAGER)] }))).toThrow("no available IPv4 addresses on this network's address pools: tiny (tiny)");
});

describe("services' virtual IPs", () => {
  const neta = network('neta', '10.0.1.0/24');
  const ingress = network('ingress', '10.0.0.0/24', { Ingress: true });

  /** The service with a pass's changes to it, as the transaction writes them. */
  const after = (svc: Service, services: Service[]): Service => services.find((s) => s.ID === svc.ID) ?? svc;

  test('a vip service gets one virtual IP on each network it joins, ingress first when it publishes, in CIDR form', () => {
    const web = service('web', ['neta'], true);
    const { services } = allocate(input({ networks: [ingress, neta], services: [web] }));
    expect(after(web, services).Endpoint.VirtualIPs).toEqual([
      { NetworkID: 'ingress', Addr: expect.stringMatching(/^10\.0\.0\.\d+\/24$/) },
      { NetworkID: 'neta', Addr: expect.stringMatching(/^10\.0\.1\.\d+\/24$/) },
    ]);
  });

  test('a dnsrr service gets none', () => {
    const { services } = allocate(input({ networks: [neta], services: [dnsrr(service('web', ['neta']))] }));
    expect(services).toEqual([]);
  });

  test("a virtual IP is no task's address, no node's gateway and no other service's virtual IP", () => {
    const web = service('web', ['neta']);
    const api = service('api', ['neta']);
    const tasks = [task(web, MANAGER), task(web, 'worker1'), task(api, 'worker2')];
    const { state, updated, services } = allocate(input({ networks: [neta], services: [web, api], tasks }));
    const all = [
      ...Object.values(state.Networks.neta?.Gateways ?? {}),
      ...updated.map((t) => taskAddress(t, 'neta')),
      ...[web, api].map((svc) => after(svc, services).Endpoint.VirtualIPs?.[0]?.Addr.split('/')[0]),
    ];
    expect(all.every((address) => address !== undefined && address !== '10.0.1.1')).toBe(true);
    expect(new Set(all).size).toBe(all.length);
  });

  test('a virtual IP is kept from pass to pass: a later pass changes no service', () => {
    const web = service('web', ['neta']);
    const first = allocate(input({ networks: [neta], services: [web] }));
    const second = allocate(input({ state: first.state, networks: [neta], services: [after(web, first.services)], tasks: [task(web, 'worker1')] }));
    expect(second.services).toEqual([]);
    expect(taskAddress(second.updated[0] as Task, 'neta')).not.toBe(after(web, first.services).Endpoint.VirtualIPs?.[0]?.Addr.split('/')[0]);
  });

  test('a service that leaves a network frees its virtual IP there, for the next one to take', () => {
    const web = service('web', ['neta']);
    const first = allocate(input({ networks: [neta], services: [web] }));
    const held = after(web, first.services);
    const left = { ...held, Spec: { ...held.Spec, TaskTemplate: { ...held.Spec.TaskTemplate, Networks: [] } } };
    const api = service('api', ['neta']);
    const second = allocate(input({ state: first.state, networks: [neta], services: [left, api] }));
    expect(after(left, second.services).Endpoint.VirtualIPs).toBeUndefined();
    expect(after(api, second.services).Endpoint.VirtualIPs).toEqual(held.Endpoint.VirtualIPs);
  });

  test('a service turned dnsrr gives its virtual IPs back', () => {
    const web = service('web', ['neta']);
    const first = allocate(input({ networks: [neta], services: [web] }));
    const second = allocate(input({ state: first.state, networks: [neta], services: [dnsrr(after(web, first.services))] }));
    expect(after(web, second.services).Endpoint.VirtualIPs).toBeUndefined();
  });

  test("a node is told each virtual IP with the service's name and aliases, and the addresses of its tasks in service behind it", () => {
    const web = service('web', ['neta'], true);
    web.Spec.TaskTemplate.Networks = [{ Target: 'neta', Aliases: ['www'] }];
    const tasks = [task(web, MANAGER), task(web, 'worker1'), task(web, 'worker2', 'starting'), { ...task(web, 'worker2'), DesiredState: 'shutdown' as const }];
    const first = allocate(input({ networks: [ingress, neta], services: [web], tasks }));
    const placed = withUpdates(tasks, first.updated);
    const [vip] = virtualIpsOn('neta', [after(web, first.services)], placed);
    expect(vip).toEqual({
      ServiceID: 'web',
      Address: after(web, first.services).Endpoint.VirtualIPs?.[1]?.Addr.split('/')[0],
      Names: ['web', 'www'],
      Backends: placed.slice(0, 2).map((t) => taskAddress(t, 'neta')).sort(),
    });
    // Ingress has no service discovery: its VIP has no name.
    expect(virtualIpsOn('ingress', [after(web, first.services)], placed)[0]?.Names).toEqual([]);
  });
});

describe('in the store', () => {
  let root: string;
  let ctx: SwarmContext;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ctr-alloc-'));
    const networks = [network('neta', '10.0.1.0/24')];
    // The allocator reads the swarm networks from the manager's engine: only that is needed of it.
    const engine = { networks: async () => networks } as unknown as Engine;
    ctx = { engine, store: openClusterStore(root), root, runRoot: join(root, 'run') };
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('allocateNetworks writes the addresses on the tasks and the VNIs and gateways beside the store, under its lock', async () => {
    const web = service('web', ['neta']);
    await ctx.store.transaction((tx) => {
      for (const id of [MANAGER, 'worker1']) tx.create('nodes', { ID: id, Spec: { Role: id === MANAGER ? 'manager' : 'worker', Availability: 'active' }, Status: { State: 'ready', Addr: '10.254.1.1' } } as unknown as Node);
      tx.create('services', web);
      tx.create('tasks', task(web, 'worker1'));
    });
    await ctx.store.transaction((tx) => allocateNetworks(ctx, tx));
    const [stored] = await ctx.store.list('tasks');
    expect(taskAddress(stored as Task, 'neta')).toMatch(/^10\.0\.1\.\d+$/);
    expect(readAllocatorState(ctx).Networks.neta).toEqual({ VNI: FIRST_VNI, Gateways: { worker1: expect.stringMatching(/^10\.0\.1\.\d+$/) } });
  });

  test("allocateNetworks writes a service's virtual IPs on the service, as its Endpoint shows them", async () => {
    const [stored] = await ctx.store.list('services');
    expect(stored?.Endpoint.VirtualIPs).toEqual([{ NetworkID: 'neta', Addr: expect.stringMatching(/^10\.0\.1\.\d+\/24$/) }]);
  });

  test("a task being shut down is no longer named in the other nodes' DNS, but keeps its address until it ends", async () => {
    const [web] = await ctx.store.list('services');
    const stopping = { ...task(web as Service, MANAGER), DesiredState: 'shutdown' } as Task;
    await ctx.store.transaction((tx) => tx.create('tasks', stopping));
    const [neta] = await networkAssignments(ctx, 'worker1', []);
    const endpoint = neta?.Endpoints.find((e) => e.TaskID === stopping.ID);
    expect(endpoint).toEqual({ TaskID: stopping.ID, NodeID: MANAGER, Names: [], Address: expect.stringMatching(/^10\.0\.1\.\d+$/) });
  });
});
