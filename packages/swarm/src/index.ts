/**
 * @ctr/swarm — swarm mode on ctr's engine: services and their tasks, nodes, secrets, configs,
 * overlay networks and the routing mesh, in the Docker Engine API's shapes.
 */
export * from './types';
export type { ClusterStore, ClusterTx, ClusterObjects, ObjectKind, SwarmContext } from './context';
