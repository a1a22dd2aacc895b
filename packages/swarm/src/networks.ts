import { alreadyExists, CtrError, invalidArgument, isNotFound, notFound } from '@ctr/errors';
import type { EndpointRequest, NetworkCreateOptions, NetworkInspect } from '@ctr/network';
import type { SwarmContext } from './context';
import { stopIngress } from './ingress';
import { rpcError } from './store';
import type { Service } from './types';

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

/** Makes a swarm-scoped network, in or before the store says the swarm is active (init makes `ingress` first). */
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
  return ctx.engine.createNetwork({ ...options, driver: 'overlay', scope: 'swarm', swarm: true, ...pools });
}

/**
 * `network create` in a swarm: `-d overlay`, `--scope swarm` or `--ingress` make a swarm-scoped
 * network (a bridge on this one node whose inspect says overlay and swarm, its subnet from the
 * cluster's DefaultAddrPool); any other request is the engine's. Outside a swarm every request is
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
 * lock so that no service comes to use the network between them. Any other network, and any
 * network outside a swarm, is the engine's to remove.
 */
export async function removeSwarmNetwork(ctx: SwarmContext, name: string): Promise<void> {
  if (!ctx.store.active()) return ctx.engine.removeNetwork(name);
  const network = await ctx.engine.inspectNetwork(name);
  if (network.Scope !== 'swarm') return ctx.engine.removeNetwork(name);
  await ctx.store.transaction(async (tx) => {
    const services = tx.list('services');
    const dependent = network.Ingress ? services.find(needsIngress) : undefined;
    if (dependent) throw rpcError('InvalidArgument', 'FailedPrecondition', `ingress network cannot be removed because service ${dependent.ID} depends on it`);
    const user = services.find((s) => (s.Spec.TaskTemplate.Networks ?? []).some((n) => n.Target === network.Id));
    if (user) throw rpcError('InvalidArgument', 'FailedPrecondition', `network ${network.Id} is in use by service ${user.ID}`);
    await ctx.engine.removeNetwork(network.Id);
  });
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
      await ctx.engine.disconnect(network.Id, container).catch((error: unknown) => (isNotFound(error) ? undefined : Promise.reject(error)));
    }
    await ctx.engine.removeNetwork(network.Id).catch((error: unknown) => (isNotFound(error) ? undefined : Promise.reject(error)));
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
 * carries `com.docker.swarm.task.id` join them, attachable or not.
 */
export async function taskNetworks(ctx: SwarmContext, service: Pick<Service, 'Spec' | 'Endpoint'>): Promise<EndpointRequest[]> {
  const name = service.Spec.Name;
  const out: EndpointRequest[] = [];
  if (needsIngress(service)) {
    const ingress = (await ctx.engine.networks()).find((n) => n.Ingress);
    if (!ingress) throw invalidArgument('service needs ingress network, but no ingress network is present', { hint: 'leave the swarm and init it again, or publish the ports in host mode' });
    out.push({ name: ingress.Id, aliases: [] });
  }
  for (const attachment of service.Spec.TaskTemplate.Networks ?? []) {
    const network = await swarmNetworkFor(ctx, attachment.Target);
    out.push({ name: network.Id, aliases: [...new Set([name, `tasks.${name}`, ...(attachment.Aliases ?? [])])] });
  }
  return out;
}
