import type { Engine, EventType } from '@ctr/engine';
import type { ClusterChange } from './store';
import type { Node, Service } from './types';

/**
 * `docker events` of the swarm, as dockerd makes them from swarmkit's store watch (moby's
 * daemon/events.go generateClusterEvent): a service, node, secret or config created, updated or
 * removed, with `scope` swarm, the object's name, and an update's changes as `<field>.old` /
 * `<field>.new`. Tasks and the cluster object make none, as in dockerd.
 */
export async function emitClusterEvents(engine: Engine, changes: readonly ClusterChange[]): Promise<void> {
  for (const change of changes) {
    const event = clusterEvent(change);
    if (event) await engine.emitEvent({ Type: event.type, Action: change.action, Actor: { ID: change.object.ID, Attributes: event.attributes }, scope: 'swarm' });
  }
}

function clusterEvent(change: ClusterChange): { type: EventType; attributes: Record<string, string> } | undefined {
  switch (change.kind) {
    case 'services':
      return { type: 'service', attributes: serviceAttributes(change.object as Service, change.old as Service | undefined) };
    case 'nodes':
      return { type: 'node', attributes: nodeAttributes(change.object as Node, change.old as Node | undefined) };
    case 'secrets':
    case 'configs':
      return { type: change.kind === 'secrets' ? 'secret' : 'config', attributes: { name: (change.object as { Spec: { Name: string } }).Spec.Name } };
    default:
      return undefined;
  }
}

/** A value that changed, as `<field>.old` and `<field>.new`; nothing when it did not. */
function changed(field: string, old: string, now: string): Record<string, string> {
  return old === now ? {} : { [`${field}.old`]: old, [`${field}.new`]: now };
}

/** moby's logServiceEvent: on update, the image, a replicated service's replicas and the update's state when they changed. */
function serviceAttributes(service: Service, old: Service | undefined): Record<string, string> {
  const attributes: Record<string, string> = { name: service.Spec.Name };
  if (!old) return attributes;
  const image = service.Spec.TaskTemplate.ContainerSpec?.Image;
  const oldImage = old.Spec.TaskTemplate.ContainerSpec?.Image;
  if (image !== undefined && oldImage !== undefined) Object.assign(attributes, changed('image', oldImage, image));
  const replicas = service.Spec.Mode?.Replicated?.Replicas;
  const oldReplicas = old.Spec.Mode?.Replicated?.Replicas;
  if (replicas !== undefined && oldReplicas !== undefined) Object.assign(attributes, changed('replicas', String(oldReplicas), String(replicas)));
  const state = service.UpdateStatus?.State;
  const oldState = old.UpdateStatus?.State;
  // A first update state has no `.old`, as dockerd words it.
  if (state !== undefined && oldState === undefined) attributes['updatestate.new'] = state;
  else if (state !== undefined && oldState !== undefined) Object.assign(attributes, changed('updatestate', oldState, state));
  return attributes;
}

/** moby's logNodeEvent: its name (the hostname unless the spec names it) and, on update, what changed of its availability, role, state and manager status. */
function nodeAttributes(node: Node, old: Node | undefined): Record<string, string> {
  const attributes: Record<string, string> = { name: node.Spec.Name || node.Description.Hostname };
  if (!old) return attributes;
  Object.assign(
    attributes,
    changed('availability', old.Spec.Availability, node.Spec.Availability),
    changed('role', old.Spec.Role, node.Spec.Role),
    changed('state', old.Status.State, node.Status.State),
  );
  if (node.ManagerStatus && old.ManagerStatus) {
    Object.assign(
      attributes,
      changed('leader', String(old.ManagerStatus.Leader), String(node.ManagerStatus.Leader)),
      changed('reachability', old.ManagerStatus.Reachability, node.ManagerStatus.Reachability),
    );
  }
  return attributes;
}
