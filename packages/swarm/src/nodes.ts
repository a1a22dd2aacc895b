import os from 'node:os';
import { invalidArgument } from '@ctr/errors';
import { checkFilterKeys, ENGINE_VERSION } from '@ctr/engine';
import type { NewObject, SwarmContext } from './context';
import { newId, tlsInfo } from './ids';
import { oneManagerOnly } from './membership';
import { passAfterChange } from './orchestrator';
import { findObject, labelsMatch, prefixMatch, rpcError } from './store';
import type { Node, NodeAvailability, NodeRole, NodeSpec, SwarmFilters } from './types';

const ROLES: readonly NodeRole[] = ['worker', 'manager'];
const AVAILABILITIES: readonly NodeAvailability[] = ['active', 'pause', 'drain'];
/** Every node here was accepted by the swarm it made (swarmkit's NodeSpec.Membership). */
const MEMBERSHIPS = ['accepted', 'pending'];

/** This engine's description as a swarm node: what dockerd's executor reports of its host. */
export async function nodeDescription(ctx: SwarmContext, ca: string | undefined): Promise<Node['Description']> {
  const info = await ctx.engine.info();
  const plugins = (Object.entries({ Log: info.Plugins.Log, Network: info.Plugins.Network, Volume: info.Plugins.Volume }) as Array<[string, string[]]>)
    .flatMap(([type, names]) => names.map((name) => ({ Type: type, Name: name })))
    .sort((a, b) => (a.Type === b.Type ? a.Name.localeCompare(b.Name) : a.Type.localeCompare(b.Type)));
  // The daemon's `--label key=value`s, which `node ls --filter label=` matches.
  const labels = Object.fromEntries((info.Labels ?? []).map((l) => [l.split('=', 1)[0] as string, l.slice(l.indexOf('=') + 1 || l.length)]));
  return {
    Hostname: os.hostname(),
    Platform: { Architecture: os.machine(), OS: 'linux' },
    Resources: { NanoCPUs: os.cpus().length * 1_000_000_000, MemoryBytes: os.totalmem() },
    Engine: { EngineVersion: ENGINE_VERSION, ...(Object.keys(labels).length > 0 ? { Labels: labels } : {}), Plugins: plugins },
    TLSInfo: tlsInfo(ca),
  };
}

/** This engine as the swarm's manager node (the one `init` makes): ready, and the leader. */
export async function newNode(
  ctx: SwarmContext,
  options: { addr: string; managerAddr: string; availability: NodeAvailability; ca: string | undefined },
): Promise<NewObject<'nodes'>> {
  if (!AVAILABILITIES.includes(options.availability)) throw invalidArgument(`invalid Availability: ${JSON.stringify(options.availability)}`);
  return {
    ID: newId(),
    Spec: { Labels: {}, Role: 'manager', Availability: options.availability },
    Description: await nodeDescription(ctx, options.ca),
    Status: { State: 'ready', Addr: options.addr },
    ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: options.managerAddr },
  };
}

/** `node ls` with docker's filters (moby's newListNodesFilters, swarmkit's ListNodes). */
export async function listNodes(ctx: SwarmContext, filters: SwarmFilters = {}): Promise<Node[]> {
  checkFilterKeys(filters, ['name', 'id', 'label', 'role', 'membership', 'node.label']);
  const roles = (filters.role ?? []).filter((r) => r !== '').map((r) => {
    const role = r.toLowerCase();
    if (!ROLES.includes(role as NodeRole)) throw invalidArgument(`Invalid role filter: '${r}'`);
    return role;
  });
  const memberships = (filters.membership ?? []).filter((m) => m !== '').map((m) => {
    const membership = m.toLowerCase();
    if (!MEMBERSHIPS.includes(membership)) throw invalidArgument(`Invalid membership filter: '${m}'`);
    return membership;
  });
  return (await ctx.store.list('nodes')).filter(
    (node) =>
      prefixMatch(filters.name, node.Description.Hostname) &&
      prefixMatch(filters.id, node.ID) &&
      labelsMatch(filters.label, node.Description.Engine.Labels) &&
      labelsMatch(filters['node.label'], node.Spec.Labels) &&
      (roles.length === 0 || roles.includes(node.Spec.Role)) &&
      (memberships.length === 0 || memberships.includes('accepted')),
  );
}

/** `node inspect`: by ID, hostname or ID prefix (`self` is the CLI's, resolved before it asks). */
export async function inspectNode(ctx: SwarmContext, id: string): Promise<Node> {
  return findObject(await ctx.store.list('nodes'), id, 'node', (n) => n.Description.Hostname);
}

/**
 * `node update`: labels, availability and role at `version`. Demoting the last manager is
 * refused as swarmkit refuses it; a change of availability is applied to the tasks by the next
 * pass (drain stops this node's tasks, pause stops new ones being placed), under ctrd after the
 * request is answered.
 */
export async function updateNode(ctx: SwarmContext, id: string, version: number, spec: NodeSpec): Promise<void> {
  if (!ROLES.includes(spec.Role)) throw invalidArgument(`invalid Role: ${JSON.stringify(String(spec.Role))}`);
  if (!AVAILABILITIES.includes(spec.Availability)) throw invalidArgument(`invalid Availability: ${JSON.stringify(String(spec.Availability))}`);
  const node = await inspectNode(ctx, id);
  const changed = await ctx.store.transaction((tx) => {
    const current = tx.get('nodes', node.ID);
    if (!current) throw rpcError('NotFound', 'NotFound', `node ${node.ID} not found`);
    if (current.Spec.Role === 'worker' && spec.Role === 'manager') throw oneManagerOnly();
    if (current.Spec.Role === 'manager' && spec.Role === 'worker') {
      const managers = tx.list('nodes').filter((n) => n.Spec.Role === 'manager');
      if (managers.length === 1 && managers[0]?.ID === current.ID) {
        throw rpcError('InvalidArgument', 'FailedPrecondition', 'attempting to demote the last manager of the swarm');
      }
    }
    tx.update('nodes', { ...current, Spec: { ...(spec.Name ? { Name: spec.Name } : {}), Labels: spec.Labels ?? {}, Role: spec.Role, Availability: spec.Availability } }, version);
    return current.Spec.Availability !== spec.Availability;
  });
  if (changed) await passAfterChange(ctx, undefined);
}

/**
 * `node rm` as swarmkit's RemoveNode: never the manager; a worker that is still up only with
 * `force`. Its next call to the manager is refused (it is no member), and its tasks are placed
 * elsewhere.
 */
export async function removeNode(ctx: SwarmContext, id: string, force: boolean): Promise<void> {
  const node = await inspectNode(ctx, id);
  if (node.Spec.Role === 'manager') {
    throw rpcError('InvalidArgument', 'FailedPrecondition', `node ${node.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`);
  }
  if (!force && node.Status.State !== 'down') {
    throw rpcError('InvalidArgument', 'FailedPrecondition', `node ${node.ID} is not down and can't be removed`);
  }
  await ctx.store.transaction((tx) => tx.delete('nodes', node.ID));
  await passAfterChange(ctx, undefined);
}
