import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CtrError, isConflict, isInvalidArgument } from '@ctr/errors';
import { intToIp, parseCidr, usableHosts, VXLAN_PORT, type NetworkInspect } from '@ctr/network';
import { writeFileAtomic } from '@ctr/store';
import type { ClusterTx, SwarmContext } from './context';
import { ingressTable, type IngressEntry } from './ingress';
import { localNode } from './membership';
import { needsIngress } from './networks';
import { allocatePorts } from './ports';
import { errorText, moduleLog } from './log';
import { ended, live, stateIndex } from './tasks';
import { updateInProgress } from './updater';
import type { Node, PortConfig, Service, ServiceSpec, Task } from './types';

/**
 * The manager's network allocator, as swarmkit's: each swarm network (ingress included) gets a
 * VXLAN ID, each node that has it a gateway of its own (its bridge's address there, so a task's
 * default route is its own node; the manager's is the network's gateway, `.1`), each service in
 * `vip` endpoint mode a virtual IP on each network it joins (Service.Endpoint.VirtualIPs), and
 * each task an address on each network it joins (Task.NetworksAttachments). Addresses of tasks
 * that ended are free again; a node's gateway goes with its last task on the network; a virtual
 * IP stays with its service across updates and goes when the service leaves the network, turns
 * `dnsrr` or is removed.
 *
 * Services and tasks carry their addresses, as swarmkit's store has them; the VNIs and node
 * gateways are kept in `<root>/swarm/allocator.json`, written under the store's lock
 * (allocateNetworks runs inside a store transaction) and gone with the store at `swarm leave`.
 */

/** libnetwork's overlay driver hands out VXLAN IDs from 4097 up (4096 and below are left to VLANs). */
export const FIRST_VNI = 4097;
const MAX_VNI = 2 ** 24 - 1;

/** One network's allocation beside its tasks' addresses. */
export interface NetworkAllocation {
  VNI: number;
  /** Each node's own address on the network, by node ID; the manager's is the network's gateway and not here. */
  Gateways: Record<string, string>;
}

/** What allocator.json holds. */
export interface AllocatorState {
  Networks: Record<string, NetworkAllocation>;
}

/** A swarm network as the allocator sees it: the manager engine's record of it. */
export type SwarmNetwork = Pick<NetworkInspect, 'Id' | 'Name' | 'Ingress' | 'Attachable' | 'Internal' | 'Labels' | 'Options' | 'IPAM' | 'Containers'>;

/** What a worker is told of one swarm network (GET /assignments' `networks`). */
export interface NetworkAssignment {
  ID: string;
  Name: string;
  Ingress: boolean;
  Attachable: boolean;
  Internal: boolean;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Subnet: string;
  /** The node's own address on the network: its bridge's. */
  Gateway: string;
  VNI: number;
  /** The cluster's DataPathPort: the VXLAN devices' UDP port. */
  DataPathPort: number;
  /** The other nodes that have the network: their data-path addresses. */
  Peers: string[];
  /** Every task on the network, cluster-wide; Names (what the embedded DNS answers) only for running ones, not shutting down, on a service's own networks. */
  Endpoints: Array<{ TaskID: string; NodeID: string; Names: string[]; Address: string }>;
  /** The other nodes' own addresses on the network (never to be handed out on this one). */
  NodeGateways: string[];
  /** The virtual IPs of the services on the network, each with the running tasks behind it. */
  VirtualIPs: VirtualIpAssignment[];
  /** On the ingress network: the routing mesh's table (every published port and every running task behind it). */
  Mesh?: IngressEntry[];
}

/** A service's virtual IP on one network, as a node is told of it. */
export interface VirtualIpAssignment {
  ServiceID: string;
  /** Without its prefix length. */
  Address: string;
  /** What the embedded DNS answers with it: the service's name and its aliases there (none on ingress, which has no service discovery). */
  Names: string[];
  /** The addresses there of the service's tasks that run and are meant to: where its connections go. */
  Backends: string[];
}

function stateFile(ctx: SwarmContext): string {
  return path.join(ctx.root, 'swarm', 'allocator.json');
}

export function readAllocatorState(ctx: SwarmContext): AllocatorState {
  try {
    return JSON.parse(readFileSync(stateFile(ctx), 'utf8')) as AllocatorState;
  } catch {
    return { Networks: {} };
  }
}

/** The swarm networks of the manager's engine. */
async function swarmNetworks(ctx: SwarmContext): Promise<NetworkInspect[]> {
  return ctx.engine.networks({ filters: { scope: ['swarm'] } });
}

/** The address part of `10.0.1.5/24`. */
function bare(address: string): string {
  return address.split('/')[0] ?? '';
}

/** The networks a task joins: ingress when its service publishes through the mesh, then its own (targets are IDs once a service is stored). */
function networksOfTask(task: Pick<Task, 'Spec'>, service: Service | undefined, ingressId: string | undefined): string[] {
  const own = (task.Spec.Networks ?? service?.Spec.TaskTemplate.Networks ?? []).map((n) => n.Target);
  return [...(ingressId !== undefined && service && needsIngress(service) ? [ingressId] : []), ...own];
}

/** The networks a service has a virtual IP on: the ones its tasks join, in `vip` endpoint mode (docker's default); none in `dnsrr`. */
function virtualIpNetworks(service: Service, ingressId: string | undefined): string[] {
  return (service.Spec.EndpointSpec?.Mode ?? 'vip') === 'vip' ? networksOfTask({ Spec: service.Spec.TaskTemplate }, service, ingressId) : [];
}

/** Whether a task is in service: running and meant to, so its names are answered and connections to its service's VIP reach it. */
function inService(task: Task): boolean {
  return task.Status.State === 'running' && task.DesiredState === 'running';
}

/** The address a task holds on a network (without its prefix length), if it holds one. */
export function taskAddress(task: Pick<Task, 'NetworksAttachments'>, networkId: string): string | undefined {
  const address = task.NetworksAttachments?.find((a) => a.Network.ID === networkId)?.Addresses[0];
  return address === undefined ? undefined : bare(address);
}

/** What one allocation pass is given. */
export interface AllocationInput {
  state: AllocatorState;
  networks: readonly SwarmNetwork[];
  tasks: readonly Task[];
  services: readonly Service[];
  nodes: readonly Pick<Node, 'ID'>[];
  /** The manager's node ID: its address on each network is the network's gateway. */
  managerId: string;
}

/** What one allocation pass decided: the allocator's state, the tasks given addresses and the services whose virtual IPs changed. */
export interface AllocationResult {
  state: AllocatorState;
  updated: Task[];
  services: Service[];
}

/**
 * One pass of the allocator, pure: VNIs for networks that have none (and none kept for networks
 * gone), a gateway for each node with a task on a network (every node on ingress while a service
 * publishes through the mesh) and none for the others, a virtual IP for each `vip` service on
 * each network it joins that lacks one (and none kept on the others), an address for each task
 * not ended that lacks one on a network it joins. An address is free when it is no node's
 * gateway, no service's virtual IP, no task's that has not ended, and no container's on the
 * manager (a standalone one on an attachable network).
 */
export function allocate(input: AllocationInput): AllocationResult {
  const { networks, tasks, managerId } = input;
  const services = new Map(input.services.map((s) => [s.ID, s]));
  const ingressId = networks.find((n) => n.Ingress)?.Id;
  const meshUsed = input.services.some((s) => needsIngress(s));
  const present = new Set(networks.map((n) => n.Id));
  // Each service's virtual IPs to be, by network in its order: the ones it keeps, and undefined for the ones given below.
  const virtualIps = new Map(
    input.services.map((service) => {
      const held = new Map((service.Endpoint.VirtualIPs ?? []).map((v) => [v.NetworkID, v.Addr]));
      return [service.ID, new Map(virtualIpNetworks(service, ingressId).filter((id) => present.has(id)).map((id) => [id, held.get(id)]))];
    }),
  );
  const state: AllocatorState = { Networks: {} };
  const used = new Set<number>();
  for (const network of networks) {
    const kept = input.state.Networks[network.Id];
    if (kept) {
      state.Networks[network.Id] = { VNI: kept.VNI, Gateways: { ...kept.Gateways } };
      used.add(kept.VNI);
    }
  }
  const updated = new Map<string, Task>();
  for (const network of networks) {
    let allocation = state.Networks[network.Id];
    if (!allocation) {
      let vni = FIRST_VNI;
      while (used.has(vni)) vni++;
      if (vni > MAX_VNI) throw new CtrError('ResourceExhausted', 'no VXLAN ID left for the network', { hint: 'remove unused overlay networks' });
      used.add(vni);
      allocation = { VNI: vni, Gateways: {} };
      state.Networks[network.Id] = allocation;
    }
    const config = network.IPAM.Config[0];
    if (!config) continue;
    const subnet = parseCidr(config.Subnet);
    const range = config.IPRange ? parseCidr(config.IPRange) : subnet;
    const joining = tasks.filter((t) => !ended(t) && networksOfTask(t, services.get(t.ServiceID), ingressId).includes(network.Id));
    const taken = new Set<string>([
      config.Gateway,
      ...Object.values(config.AuxiliaryAddresses ?? {}),
      ...Object.values(network.Containers).map((c) => bare(c.IPv4Address)),
      ...tasks.filter((t) => !ended(t)).flatMap((t) => taskAddress(t, network.Id) ?? []),
      ...[...virtualIps.values()].flatMap((held) => {
        const address = held.get(network.Id);
        return address === undefined ? [] : [bare(address)];
      }),
    ]);
    const next = (): string => {
      for (const ip of usableHosts(subnet, range)) {
        const text = intToIp(ip);
        if (!taken.has(text)) {
          taken.add(text);
          return text;
        }
      }
      throw new CtrError('ResourceExhausted', `no available IPv4 addresses on this network's address pools: ${network.Name} (${network.Id})`, {
        hint: 'scale services down, or use a network with a larger subnet',
      });
    };
    // A node's gateway stays while it has a task here (on ingress: while any service publishes through the mesh).
    const nodesHere = new Set(network.Ingress && meshUsed ? input.nodes.map((n) => n.ID) : joining.flatMap((t) => (t.NodeID ? [t.NodeID] : [])));
    nodesHere.delete(managerId);
    for (const nodeId of Object.keys(allocation.Gateways)) if (!nodesHere.has(nodeId)) delete allocation.Gateways[nodeId];
    for (const address of Object.values(allocation.Gateways)) taken.add(address);
    for (const nodeId of [...nodesHere].sort()) allocation.Gateways[nodeId] ??= next();
    for (const held of virtualIps.values()) if (held.has(network.Id) && held.get(network.Id) === undefined) held.set(network.Id, `${next()}/${subnet.prefix}`);
    for (const original of joining) {
      if (taskAddress(updated.get(original.ID) ?? original, network.Id) !== undefined) continue;
      const task = updated.get(original.ID) ?? structuredClone(original);
      task.NetworksAttachments = [...(task.NetworksAttachments ?? []), { Network: { ID: network.Id, Spec: { Name: network.Name } }, Addresses: [`${next()}/${subnet.prefix}`] }];
      updated.set(task.ID, task);
    }
  }
  const changed = input.services.flatMap((original) => {
    const given = [...(virtualIps.get(original.ID) ?? [])].flatMap(([NetworkID, Addr]) => (Addr === undefined ? [] : [{ NetworkID, Addr }]));
    if (JSON.stringify(given) === JSON.stringify(original.Endpoint.VirtualIPs ?? [])) return [];
    const service = structuredClone(original);
    if (given.length > 0) service.Endpoint.VirtualIPs = given;
    else delete service.Endpoint.VirtualIPs;
    return [service];
  });
  return { state, updated: [...updated.values()], services: changed };
}

/**
 * The allocator's pass inside a store transaction (the caller's): tasks given addresses and
 * services whose virtual IPs changed are written in it, the VNIs and gateways beside it.
 * Returns the state it leaves.
 */
export async function allocateNetworks(ctx: SwarmContext, tx: ClusterTx): Promise<AllocatorState> {
  const [networks, self] = await Promise.all([swarmNetworks(ctx), localNode(ctx)]);
  const before = readAllocatorState(ctx);
  const nodes = tx.list('nodes');
  const managerId = self?.NodeID ?? nodes[0]?.ID ?? '';
  const { state, updated, services } = allocate({ state: before, networks, tasks: tx.list('tasks'), services: tx.list('services'), nodes, managerId });
  for (const task of updated) tx.update('tasks', task);
  for (const service of services) tx.update('services', service);
  if (JSON.stringify(state) !== JSON.stringify(before)) await writeFileAtomic(stateFile(ctx), JSON.stringify(state), { mode: 0o600 });
  return state;
}

/** A service's Endpoint: its mode (vip unless set) and the ports as allocated, in the spec's copy and the endpoint's own. */
function endpointOf(spec: ServiceSpec, ports: PortConfig[]): Service['Endpoint'] {
  const published = ports.length > 0 ? { Ports: ports } : {};
  return { Spec: { Mode: spec.EndpointSpec?.Mode ?? 'vip', ...published }, ...published };
}

/**
 * A service's Endpoint for the spec it has, in the store's transaction `tx`: its ports allocated
 * (a dynamic port it had kept for the same port config, as swarmkit's port allocator keeps it),
 * its virtual IPs kept for allocateNetworks to settle (the caller runs it next, in `tx`).
 */
export async function allocateEndpoint(ctx: SwarmContext, tx: ClusterTx, service: Pick<Service, 'ID' | 'Spec'> & Partial<Pick<Service, 'Endpoint'>>): Promise<Service['Endpoint']> {
  const ports = await allocatePorts(ctx, tx, service.Spec.EndpointSpec ?? {}, service.ID, service.Endpoint?.Ports ?? []);
  const held = service.Endpoint?.VirtualIPs;
  return { ...endpointOf(service.Spec, ports), ...(held ? { VirtualIPs: held } : {}) };
}

/**
 * swarmkit's isPortsAllocated: the Endpoint is the spec's mode and has, in order, a port for
 * each of the spec's (same target, protocol, mode and name; the same number unless the spec
 * left it to the allocator).
 */
export function portsAllocated(service: Service): boolean {
  const wanted = service.Spec.EndpointSpec?.Ports ?? [];
  const have = service.Endpoint.Ports ?? [];
  if ((service.Endpoint.Spec.Mode ?? 'vip') !== (service.Spec.EndpointSpec?.Mode ?? 'vip') || wanted.length !== have.length) return false;
  return wanted.every((p, i) => {
    const q = have[i];
    const same = q !== undefined && q.TargetPort === p.TargetPort && (q.Protocol ?? 'tcp') === (p.Protocol ?? 'tcp') && (q.Name ?? '') === (p.Name ?? '');
    return same && (q.PublishMode ?? 'ingress') === (p.PublishMode ?? 'ingress') && ((p.PublishedPort ?? 0) === 0 || q.PublishedPort === p.PublishedPort);
  });
}

/** Whether a service has a virtual IP on each network its spec and ports join (vip mode), and on no other, as allocate gives them. */
function virtualIpsAllocated(service: Service, networks: readonly SwarmNetwork[]): boolean {
  const present = new Set(networks.map((n) => n.Id));
  const wanted = virtualIpNetworks(service, networks.find((n) => n.Ingress)?.Id).filter((id) => present.has(id));
  return JSON.stringify(wanted) === JSON.stringify((service.Endpoint.VirtualIPs ?? []).map((v) => v.NetworkID));
}

/**
 * swarmkit's allocator after a service change made outside `service create/update` (an
 * automatic rollback restores the previous spec within an orchestrator pass), in the caller's
 * transaction `tx`: each service whose ports were allocated for another spec gets them for the
 * one it has (allocateEndpoint), and the virtual IPs are settled when those changed or a
 * rollback left them behind its networks. The routing mesh follows the Endpoint at the pass's
 * end. A port the spec cannot have now (another service or a process took it meanwhile) leaves
 * the Endpoint as it was, tried again at the next pass, as swarmkit's allocator retries a
 * service it could not allocate: the pass's own writes (the rollback itself) are not lost with
 * it, and the refusal is reported (portsRefused). Every pass runs this: what it reads before it
 * finds work is the transaction's own services, and the networks only while a rollback is under way.
 */
export async function allocateEndpoints(ctx: SwarmContext, tx: ClusterTx): Promise<void> {
  const services = tx.list('services');
  const portsStale = services.filter((s) => !portsAllocated(s));
  const rollingBack = services.filter((s) => s.UpdateStatus?.State === 'rollback_started');
  if (portsStale.length === 0 && rollingBack.length === 0) return;
  const networks = rollingBack.length > 0 ? await swarmNetworks(ctx) : [];
  if (portsStale.length === 0 && rollingBack.every((s) => virtualIpsAllocated(s, networks))) return;
  for (const service of portsStale) {
    try {
      service.Endpoint = await allocateEndpoint(ctx, tx, service);
      // The update or rollback goes on: its status says again what it said before the refusal.
      if (service.UpdateStatus) service.UpdateStatus.Message = withoutRefusal(service.UpdateStatus.Message);
      tx.update('services', service);
    } catch (error) {
      // allocatePorts' refusals: the port is another service's or the host's.
      if (!isInvalidArgument(error) && !isConflict(error)) throw error;
      // In the manager's own words: the gRPC framing is how dockerd passes a refusal to a client.
      portsRefused(ctx, tx, service, errorText(error).replace(/^rpc error: code = \w+ desc = /, ''));
    }
  }
  await allocateNetworks(ctx, tx);
}

/** What a refusal adds to an update's status message, before its reason. */
const PORTS_REFUSED = "; the service's published ports cannot be allocated: ";

/** An UpdateStatus message without the refusal portsRefused added to it. */
function withoutRefusal(message: string): string {
  const at = message.indexOf(PORTS_REFUSED);
  return at < 0 ? message : message.slice(0, at);
}

/**
 * A service whose spec's ports cannot be allocated, said where its user looks, in the caller's
 * transaction: an update or rollback under way waits for them, as swarmkit's does, its status
 * message (`service inspect`'s UpdateStatus) followed by why until a pass allocates them (the
 * other service removed): then it completes by itself. Its tasks not yet scheduled wait with why
 * as their error (`service ps`), as swarmkit's allocator holds them (the orchestrator schedules
 * none while portsAllocated is false). Logged at error level when it is news (the update's
 * status, or with none under way the service's tasks, did not say it yet), at debug level when
 * a pass finds it said already: the tasks the update replaces meanwhile are held with why too.
 */
function portsRefused(ctx: SwarmContext, tx: ClusterTx, service: Service, reason: string): void {
  const tasks = tx.list('tasks').filter((t) => t.ServiceID === service.ID);
  let news: boolean;
  if (service.UpdateStatus && updateInProgress(service)) {
    const message = `${withoutRefusal(service.UpdateStatus.Message)}${PORTS_REFUSED}${reason}`;
    news = message !== service.UpdateStatus.Message;
    if (news) {
      service.UpdateStatus = { ...service.UpdateStatus, Message: message };
      tx.update('services', service);
    }
  } else {
    news = !tasks.some((t) => t.Status.Err === reason);
  }
  for (const task of tasks) {
    if (!live(task) || stateIndex(task.Status.State) >= stateIndex('assigned') || task.Status.Err === reason) continue;
    task.Status = { ...task.Status, Err: reason };
    tx.update('tasks', task);
  }
  moduleLog(ctx, 'allocator').log(news ? 'error' : 'debug', 'failed allocation for service', { 'service.id': service.ID, 'service.name': service.Spec.Name, error: reason });
}

/** A node's data-path address: the manager's from node.json, another's as it reached the manager. */
function dataPathAddr(node: Node, self: { NodeID: string; DataPathAddr: string } | undefined): string {
  return node.ID === self?.NodeID && self.DataPathAddr ? self.DataPathAddr : node.Status.Addr;
}

/** What the assignments of every node are made from, read once. */
interface ClusterView {
  state: AllocatorState;
  networks: NetworkInspect[];
  tasks: Task[];
  services: Map<string, Service>;
  nodes: Node[];
  managerId: string;
  self: { NodeID: string; DataPathAddr: string } | undefined;
  dataPathPort: number;
}

/** Allocates what is missing (its own short transaction: call it outside any), then reads what assignments are made of. */
async function clusterView(ctx: SwarmContext): Promise<ClusterView> {
  const state = await ctx.store.transaction((tx) => allocateNetworks(ctx, tx));
  const [networks, tasks, services, nodes, [cluster], self] = await Promise.all([
    swarmNetworks(ctx),
    ctx.store.list('tasks'),
    ctx.store.list('services'),
    ctx.store.list('nodes'),
    ctx.store.list('cluster'),
    localNode(ctx),
  ]);
  return { state, networks, tasks, services: new Map(services.map((s) => [s.ID, s])), nodes, managerId: self?.NodeID ?? nodes[0]?.ID ?? '', self, dataPathPort: cluster?.DataPathPort || VXLAN_PORT };
}

/** One node's assignment of one network, or undefined when the node does not have it. */
function assignmentOf(view: ClusterView, network: NetworkInspect, nodeId: string, mesh: IngressEntry[]): NetworkAssignment | undefined {
  const allocation = view.state.Networks[network.Id];
  const config = network.IPAM.Config[0];
  if (!allocation || !config) return undefined;
  const gateways: Record<string, string> = { ...allocation.Gateways, [view.managerId]: config.Gateway };
  const gateway = gateways[nodeId];
  if (gateway === undefined) return undefined;
  const byId = new Map(view.nodes.map((n) => [n.ID, n]));
  const peers = Object.keys(gateways)
    .filter((id) => id !== nodeId)
    .flatMap((id) => {
      const node = byId.get(id);
      return node ? [dataPathAddr(node, view.self)] : [];
    });
  const endpoints = view.tasks.flatMap((task) => {
    const address = taskAddress(task, network.Id);
    if (address === undefined || ended(task)) return [];
    const service = view.services.get(task.ServiceID);
    const attachment = (task.Spec.Networks ?? service?.Spec.TaskTemplate.Networks ?? []).find((n) => n.Target === network.Id);
    // Only a running task is answered for, and not once it is being shut down (its node down, a
    // scale down, an update), as swarm's agent takes it out of service discovery before stopping it;
    // one starting or stopping still keeps its address from being handed out.
    const names = inService(task) && service && attachment ? [...new Set([service.Spec.Name, `tasks.${service.Spec.Name}`, ...(attachment.Aliases ?? [])])] : [];
    return [{ TaskID: task.ID, NodeID: task.NodeID ?? '', Names: names, Address: address }];
  });
  return {
    ID: network.Id,
    Name: network.Name,
    Ingress: network.Ingress,
    Attachable: network.Attachable,
    Internal: network.Internal,
    Labels: network.Labels,
    Options: network.Options,
    Subnet: config.Subnet,
    Gateway: gateway,
    VNI: allocation.VNI,
    DataPathPort: view.dataPathPort,
    Peers: [...new Set(peers)].sort(),
    Endpoints: endpoints,
    NodeGateways: Object.entries(gateways)
      .filter(([id]) => id !== nodeId)
      .map(([, address]) => address)
      .sort(),
    VirtualIPs: virtualIpsOn(network.Id, view.services.values(), view.tasks),
    ...(network.Ingress ? { Mesh: mesh } : {}),
  };
}

/**
 * The services' virtual IPs on a network, each with its backends: the addresses there of its
 * tasks in service (on any node), what each node's sandboxes on the network spread its
 * connections over; named with the service's name and aliases on the service's own networks.
 */
export function virtualIpsOn(networkId: string, services: Iterable<Service>, tasks: readonly Task[]): VirtualIpAssignment[] {
  return [...services].flatMap((service) => {
    const vip = service.Endpoint.VirtualIPs?.find((v) => v.NetworkID === networkId);
    if (!vip) return [];
    const attachment = (service.Spec.TaskTemplate.Networks ?? []).find((n) => n.Target === networkId);
    const names = attachment ? [...new Set([service.Spec.Name, ...(attachment.Aliases ?? [])])] : [];
    const backends = tasks.filter((t) => t.ServiceID === service.ID && inService(t)).flatMap((t) => taskAddress(t, networkId) ?? []);
    return [{ ServiceID: service.ID, Address: bare(vip.Addr), Names: names, Backends: [...new Set(backends)].sort() }];
  });
}

/**
 * The swarm networks a node has (GET /assignments' `networks`, and the manager's own): each one
 * a task of the node joins, and ingress while a service publishes through the mesh. Allocates
 * what is missing first, in a transaction of its own: call it outside any. Everything is read
 * afresh after it, so a task given an address just now is in them. `_tasks` (the node's tasks as
 * the caller read them) are not needed: a node has a network exactly while it has a gateway there.
 */
export async function networkAssignments(ctx: SwarmContext, nodeId: string, _tasks: readonly Task[]): Promise<NetworkAssignment[]> {
  const view = await clusterView(ctx);
  const hasIngress = view.networks.some((n) => n.Ingress && view.state.Networks[n.Id]?.Gateways[nodeId] !== undefined);
  const mesh = hasIngress ? await ingressTable(ctx) : [];
  return view.networks.flatMap((network) => assignmentOf(view, network, nodeId, mesh) ?? []);
}

/** The manager's own view of its networks: its node's assignments (peers, the other nodes' tasks for its DNS). */
export async function managerAssignments(ctx: SwarmContext): Promise<NetworkAssignment[]> {
  const view = await clusterView(ctx);
  return view.networks.flatMap((network) => assignmentOf(view, network, view.managerId, []) ?? []);
}
