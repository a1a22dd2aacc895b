import { alreadyExists, CtrError, invalidArgument, isConflict, isNotFound, notFound, unlessNotFound } from '@ctr/errors';
import { NetworkManager, type EndpointRequest, type NetworkCreateOptions, type NetworkInspect, type OverlayOptions, type RemoteEndpoint, type VirtualIp, VXLAN_ID_OPTION } from '@ctr/network';
import { allocateNetworks, managerAssignments, taskAddress, virtualIpsOn, type NetworkAssignment, type VirtualIpAssignment } from './allocator';
import type { ClusterTx, SwarmContext } from './context';
import { newId } from './ids';
import { serveIngress, stopIngress } from './ingress';
import { localNode } from './membership';
import { sleep } from './orchestrator';
import { rpcError } from './store';
import { stateIndex, TASK_LABEL } from './tasks';
import type { Service, Task } from './types';

/** swarmkit's default address pool and subnet size, when the cluster names none. */
const DEFAULT_ADDR_POOL = ['10.0.0.0/8'];
const DEFAULT_SUBNET_SIZE = 24;

/** The pools a swarm network's subnet comes from: the cluster's DefaultAddrPool, /SubnetSize each. */
async function addressPools(ctx: SwarmContext): Promise<Array<{ base: string; size: number }>> {
  const [cluster] = await ctx.store.list('cluster');
  const pools = cluster?.DefaultAddrPool?.length ? cluster.DefaultAddrPool : DEFAULT_ADDR_POOL;
  const size = cluster?.SubnetSize || DEFAULT_SUBNET_SIZE;
  return pools.map((base) => ({ base, size }));
}

/**
 * Makes a swarm-scoped network, in or before the store says the swarm is active (init makes
 * `ingress` first), under an ID of swarmkit's (25 base-36 digits), as dockerd's swarm networks
 * have: the manager's store gives them, not libnetwork.
 */
async function makeSwarmNetwork(ctx: SwarmContext, options: NetworkCreateOptions): Promise<NetworkInspect> {
  if (options.driver !== undefined && options.driver !== '' && options.driver !== 'overlay') {
    throw new CtrError('Unsupported', `a swarm-scoped network of driver "${options.driver}" is not supported`, { hint: "ctr's swarm networks use the overlay driver: leave -d out, or give overlay" });
  }
  if (options.ingress && options.attachable) throw invalidArgument('ingress network cannot be attachable');
  if (options.ingress) {
    const present = (await ctx.engine.networks()).find((n) => n.Ingress);
    if (present) throw alreadyExists(`ingress network (${present.Id}) is already present`, { hint: `remove ${present.Name} first` });
  }
  const pools = options.subnet === undefined ? { addressPools: await addressPools(ctx) } : {};
  return ctx.engine.createNetwork({ ...options, driver: 'overlay', scope: 'swarm', swarm: true, id: newId(), ...pools });
}

/**
 * `network create` in a swarm: `-d overlay`, `--scope swarm` or `--ingress` make a swarm-scoped
 * network (on each node a bridge whose inspect says overlay and swarm, joined to the other
 * nodes' by VXLAN, its subnet from the cluster's DefaultAddrPool); any other request is the engine's. Outside a swarm every request is
 * the engine's, which refuses the swarm's in dockerd's words.
 */
export async function createSwarmNetwork(ctx: SwarmContext, options: NetworkCreateOptions): Promise<NetworkInspect> {
  if (!ctx.store.active() || !isSwarmRequest(options)) return ctx.engine.createNetwork(options);
  return makeSwarmNetwork(ctx, options);
}

/** Whether a `network create` asks for a swarm-scoped network: what createSwarmNetwork takes rather than the engine. */
export function isSwarmRequest(options: Pick<NetworkCreateOptions, 'driver' | 'scope' | 'ingress'>): boolean {
  return options.driver === 'overlay' || options.scope === 'swarm' || options.ingress === true;
}

/**
 * `network rm` in a swarm: a swarm-scoped network that a service names stays, and so does the
 * ingress network while a service publishes a port through the routing mesh — refused in
 * swarmkit's words (controlapi RemoveNetwork), the check and the removal under the cluster's
 * lock so that no service comes to use the network between them; a task still meant to run on
 * it holds it too. Under ctrd, a network whose endpoints are leaving tasks' goes once they are
 * gone (swarmkit's PendingDelete), the request answered at once. Any other network, and any
 * network outside a swarm, is the engine's to remove.
 */
export async function removeSwarmNetwork(ctx: SwarmContext, name: string): Promise<void> {
  if (!ctx.store.active()) return ctx.engine.removeNetwork(name);
  const network = await ctx.engine.inspectNetwork(name);
  if (network.Scope !== 'swarm') return ctx.engine.removeNetwork(name);
  const deferred = await ctx.store.transaction(async (tx) => {
    const user = networkUser(tx, network);
    if (user) throw rpcError('InvalidArgument', 'FailedPrecondition', user);
    if (ctx.background && (await onlyTaskContainers(ctx, network))) return true;
    await ctx.engine.removeNetwork(network.Id);
    return false;
  });
  // Its endpoints are tasks' on their way out (a service rm's containers stopping under ctrd): it goes once they have, as swarmkit's allocator deletes a network pending deletion.
  if (deferred) ctx.background?.run((signal) => removeOnceLeft(ctx, network.Id, signal));
}

/** What holds a swarm network (swarmkit's RemoveNetwork refusal, in its words), or undefined when nothing does. */
function networkUser(tx: ClusterTx, network: NetworkInspect): string | undefined {
  const services = tx.list('services');
  const dependent = network.Ingress ? services.find(needsIngress) : undefined;
  if (dependent) return `ingress network cannot be removed because service ${dependent.ID} depends on it`;
  const user = services.find((s) => (s.Spec.TaskTemplate.Networks ?? []).some((n) => n.Target === network.Id));
  if (user) return `network ${network.Id} is in use by service ${user.ID}`;
  const task = tx.list('tasks').find((t) => !leaving(t) && (t.Spec.Networks ?? []).some((n) => n.Target === network.Id));
  if (task) return `network ${network.Id} is in use by task ${task.ID}`;
  return undefined;
}

/** A task that no longer holds its networks: one not meant to run, or that ended (swarmkit's removeNetwork counts neither). */
function leaving(task: Task): boolean {
  return stateIndex(task.DesiredState) > stateIndex('running') || stateIndex(task.Status.State) > stateIndex('running');
}

/** Whether every endpoint on `network` is a task container's (no standalone container on an attachable network). */
async function onlyTaskContainers(ctx: SwarmContext, network: NetworkInspect): Promise<boolean> {
  const ids = Object.keys(network.Containers);
  if (ids.length === 0) return false;
  const labels = await Promise.all(ids.map((id) => ctx.engine.inspect(id).then((c) => c.Config.Labels, () => undefined)));
  return labels.every((l) => l?.[TASK_LABEL.taskId] !== undefined);
}

/** How long a pending removal waits for the leaving tasks' containers (their grace periods). */
const PENDING_REMOVAL_MS = 120_000;

/**
 * A pending removal: each attempt under the cluster's lock, after checking again that nothing
 * holds the network — a service made meanwhile on it (`stack rm` then `stack deploy`, which finds
 * the network by name) keeps it, and the removal is dropped. Given up when ctrd stops.
 */
async function removeOnceLeft(ctx: SwarmContext, networkId: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + PENDING_REMOVAL_MS;
  while (!signal.aborted) {
    const done = await ctx.store.transaction(async (tx) => {
      const network = await ctx.engine.inspectNetwork(networkId).catch(unlessNotFound);
      if (!network || networkUser(tx, network) !== undefined) return true;
      try {
        await ctx.engine.removeNetwork(networkId);
        return true;
      } catch (error) {
        if (isNotFound(error)) return true;
        if (!isConflict(error) || Date.now() > deadline) throw error;
        return false;
      }
    });
    if (done) return;
    await sleep(250, signal);
  }
}

/** `swarm init`'s routing-mesh network: `ingress`, the first free /24 of the pool (10.0.0.0/24 on most hosts). Kept when present. */
export async function createIngressNetwork(ctx: SwarmContext): Promise<NetworkInspect> {
  const present = (await ctx.engine.networks()).find((n) => n.Ingress);
  if (present) return present;
  return makeSwarmNetwork(ctx, { name: 'ingress', ingress: true, labels: {} });
}

/**
 * `swarm leave`: removes every swarm-scoped network (the ingress one too), disconnecting the
 * standalone containers still on an attachable one, as the node forgets the cluster's
 * networks; and stops the routing mesh. The services' tasks are gone before.
 */
export async function removeSwarmNetworks(ctx: SwarmContext): Promise<void> {
  await stopIngress(ctx);
  for (const network of await ctx.engine.networks({ filters: { scope: ['swarm'] } })) {
    for (const container of Object.keys(network.Containers)) {
      await ctx.engine.disconnect(network.Id, container).catch(unlessNotFound);
    }
    await ctx.engine.removeNetwork(network.Id).catch(unlessNotFound);
  }
}

/**
 * The network a service's NetworkAttachmentConfig.Target names (a name, an ID or its prefix),
 * refused as dockerd refuses it: a local network (RequestForbidden) and the ingress network,
 * which a service joins through its published ports alone.
 */
export async function swarmNetworkFor(ctx: SwarmContext, target: string): Promise<NetworkInspect> {
  const network = await ctx.engine.inspectNetwork(target).catch((error: unknown) => {
    throw isNotFound(error) ? notFound(`network ${target} not found`, { hint: 'create it with "ctr network create -d overlay"' }) : error;
  });
  if (network.Scope !== 'swarm') {
    throw new CtrError('Denied', `The network ${network.Name} cannot be used with services. Only networks scoped to the swarm can be used, such as those created with the overlay driver.`, {
      hint: 'attach the service to a network made with "ctr network create -d overlay"',
    });
  }
  if (network.Ingress) throw invalidArgument(`Service cannot be explicitly attached to the ingress network "${network.Name}"`);
  return network;
}

/** Whether a service publishes a port through the routing mesh (swarmkit's IsIngressNetworkNeeded). */
export function needsIngress(service: Pick<Service, 'Spec' | 'Endpoint'>): boolean {
  const ports = service.Endpoint?.Ports ?? service.Spec.EndpointSpec?.Ports ?? [];
  return ports.some((p) => (p.PublishMode ?? 'ingress') === 'ingress');
}

/**
 * The networks a service's task joins, in order, as the engine's create (the first) and connect
 * (the rest) take them: `ingress` first when it publishes ports through the routing mesh (the
 * mesh's proxy reaches the task there), then each of its networks with the service's name,
 * `tasks.<service>` (what the embedded DNS answers with every task's address, as swarm's
 * service discovery does in dnsrr mode) and the user's aliases. The engine lets a container that
 * carries `com.docker.swarm.task.id` join them, attachable or not. Given the task, each comes with
 * the address the manager's allocator gave it there (allocated now, on the manager, when it has
 * none yet); on a worker, `assigned` (its assignments' networks) names the networks and addresses.
 */
export async function taskNetworks(ctx: SwarmContext, service: Pick<Service, 'Spec' | 'Endpoint'>, task?: Task, assigned?: readonly NetworkAssignment[]): Promise<EndpointRequest[]> {
  const name = service.Spec.Name;
  const out: EndpointRequest[] = [];
  if (needsIngress(service)) {
    const ingress = assigned ? assigned.find((n) => n.Ingress) : (await ctx.engine.networks()).find((n) => n.Ingress);
    if (!ingress) throw invalidArgument('service needs ingress network, but no ingress network is present', { hint: 'leave the swarm and init it again, or publish the ports in host mode' });
    out.push({ name: 'Id' in ingress ? ingress.Id : ingress.ID, aliases: [] });
  }
  for (const attachment of task?.Spec.Networks ?? service.Spec.TaskTemplate.Networks ?? []) {
    const id = assigned ? assigned.find((n) => n.ID === attachment.Target || n.Name === attachment.Target)?.ID : (await swarmNetworkFor(ctx, attachment.Target)).Id;
    if (id === undefined) throw notFound(`network ${attachment.Target} not found`, { hint: 'the manager has not given this node the network yet: it comes with the next assignments' });
    out.push({ name: id, aliases: [...new Set([name, `tasks.${name}`, ...(attachment.Aliases ?? [])])] });
  }
  if (!task) return out;
  let addressed = task;
  if (!assigned && ctx.store.active() && out.some((n) => taskAddress(task, n.name) === undefined)) {
    await ctx.store.transaction((tx) => allocateNetworks(ctx, tx));
    addressed = (await ctx.store.get('tasks', task.ID)) ?? task;
  }
  return out.map((n) => {
    const ip = taskAddress(addressed, n.name) ?? assigned?.find((a) => a.ID === n.name)?.Endpoints.find((e) => e.TaskID === task.ID)?.Address;
    return ip === undefined ? n : { ...n, ip, task: true };
  });
}

const MTU_OPTION = 'com.docker.network.driver.mtu';

/** The network manager of this engine's root, for what the engine does not offer: a network's VXLAN peers and other nodes' endpoints. */
function networkManager(ctx: SwarmContext): NetworkManager {
  return new NetworkManager({ root: ctx.root, runRoot: ctx.runRoot });
}

/** A node's overlay settings of an assigned network: none while no other node has it (a bridge on this node alone). */
function overlayOf(network: NetworkAssignment, local: string | undefined): OverlayOptions | undefined {
  return local && network.Peers.length > 0 ? { vni: network.VNI, port: network.DataPathPort, local, peers: network.Peers } : undefined;
}

/** Another node's addresses on the network, for this node's IPAM (never handed out) and its embedded DNS (the named ones). */
function remoteEndpoints(network: NetworkAssignment, nodeId: string): RemoteEndpoint[] {
  return [
    ...network.Endpoints.filter((e) => e.NodeID !== nodeId).map((e) => ({ id: e.TaskID, ip: e.Address, names: e.Names })),
    ...network.NodeGateways.map((ip) => ({ id: `gateway-${ip}`, ip, names: [] })),
  ];
}

/** The services' virtual IPs on a network as this node's network manager takes them. */
function virtualIps(assigned: readonly VirtualIpAssignment[]): VirtualIp[] {
  return assigned.map((v) => ({ id: v.ServiceID, ip: v.Address, names: v.Names, backends: v.Backends }));
}

/** Brings one network of this node to what it was assigned: its VXLAN peers, the other nodes' endpoints and the services' virtual IPs. */
async function applyAssignment(ctx: SwarmContext, network: NetworkAssignment, self: { NodeID: string; DataPathAddr: string }): Promise<void> {
  const manager = networkManager(ctx);
  await manager.setOverlay(network.ID, overlayOf(network, self.DataPathAddr));
  await manager.setRemoteEndpoints(network.ID, remoteEndpoints(network, self.NodeID));
  await manager.setVirtualIps(network.ID, virtualIps(network.VirtualIPs));
}

/** An assigned network made on this node under the manager's ID, name and subnet, with this node's own gateway. */
async function makeAssigned(ctx: SwarmContext, network: NetworkAssignment, self: { DataPathAddr: string }): Promise<void> {
  const overlay = overlayOf(network, self.DataPathAddr);
  await ctx.engine.createNetwork({
    name: network.Name,
    id: network.ID,
    subnet: network.Subnet,
    gateway: network.Gateway,
    driver: 'overlay',
    scope: 'swarm',
    swarm: true,
    labels: network.Labels,
    // Every node's bridge and veths carry the frames of the same size: the manager's MTU if it was given one.
    ...(network.Options[MTU_OPTION] !== undefined ? { mtu: Number(network.Options[MTU_OPTION]) } : {}),
    ...(network.Ingress ? { ingress: true } : {}),
    ...(network.Attachable ? { attachable: true } : {}),
    ...(network.Internal ? { internal: true } : {}),
    ...(overlay ? { overlay } : {}),
  });
}

/**
 * A worker's swarm networks made what its assignments say (worker.ts calls it with each
 * answer, before it prepares tasks): each assigned network made here under the manager's ID,
 * name and subnet with this node's own gateway, or made again when those changed or it was
 * removed here since the listing; its VXLAN device flooding to the other nodes that have it;
 * the other nodes' tasks answered by the embedded DNS; the services' virtual IPs served to its
 * containers; a network no longer assigned removed once no container is on it (its virtual IPs
 * gone until then, their backends no longer this node's to know); and the routing mesh serving
 * the manager's table.
 */
export async function applyNetworkAssignments(ctx: SwarmContext, assigned: readonly NetworkAssignment[]): Promise<void> {
  const self = await localNode(ctx);
  if (!self) return;
  const present = new Map((await ctx.engine.networks({ filters: { scope: ['swarm'] } })).map((n) => [n.Id, n]));
  for (const network of assigned) {
    const here = present.get(network.ID);
    const config = here?.IPAM.Config[0];
    if (here && (config?.Subnet !== network.Subnet || config.Gateway !== network.Gateway) && Object.keys(here.Containers).length === 0) {
      await ctx.engine.removeNetwork(here.Id).catch(unlessNotFound);
      present.delete(here.Id);
    }
    if (!present.has(network.ID)) await makeAssigned(ctx, network, self);
    await applyAssignment(ctx, network, self).catch(async (error: unknown) => {
      // Removed here since the listing (a `network rm` on this node): the manager still assigns it.
      if (!isNotFound(error)) throw error;
      await makeAssigned(ctx, network, self);
      await applyAssignment(ctx, network, self);
    });
  }
  const wanted = new Set(assigned.map((n) => n.ID));
  for (const network of present.values()) {
    if (wanted.has(network.Id)) continue;
    if (Object.keys(network.Containers).length > 0) await networkManager(ctx).setVirtualIps(network.Id, []).catch(unlessNotFound);
    else await ctx.engine.removeNetwork(network.Id).catch(unlessNotFound);
  }
  const mesh = assigned.find((n) => n.Ingress)?.Mesh ?? [];
  await serveIngress(ctx, mesh);
}

/**
 * The manager's own swarm networks (at the end of every reconcile, with the routing mesh): the
 * services' virtual IPs served to its containers, each with its running tasks behind it; and
 * once other nodes joined, each VXLAN device flooding to the nodes that have the network, and
 * the tasks on other nodes answered by its embedded DNS. A swarm of one node has no peers: its
 * networks stay bridges, as they were before other nodes could join.
 */
export async function syncManagerNetworks(ctx: SwarmContext): Promise<void> {
  const self = await localNode(ctx);
  if (!self || self.Role !== 'manager') return;
  const present = await ctx.engine.networks({ filters: { scope: ['swarm'] } });
  // Alone, with no VXLAN device left from a node that was here: nothing spans nodes, only the
  // virtual IPs are kept up (from the store as it is: no store transaction for it).
  if ((await ctx.store.list('nodes')).length <= 1 && !present.some((n) => n.Options[VXLAN_ID_OPTION] !== undefined)) {
    const [services, tasks] = await Promise.all([ctx.store.list('services'), ctx.store.list('tasks')]);
    const manager = networkManager(ctx);
    for (const network of present) await manager.setVirtualIps(network.Id, virtualIps(virtualIpsOn(network.Id, services, tasks))).catch(unlessNotFound);
    return;
  }
  const ids = new Set(present.map((n) => n.Id));
  for (const network of await managerAssignments(ctx)) if (ids.has(network.ID)) await applyAssignment(ctx, network, self).catch(unlessNotFound);
}
