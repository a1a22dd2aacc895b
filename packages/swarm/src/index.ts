/**
 * @ctr/swarm — swarm mode on ctr's engine: services and their tasks, nodes, secrets, configs,
 * overlay networks and the routing mesh, in the Docker Engine API's shapes.
 */
export * from './types';
export type { ClusterStore, ClusterTx, ClusterObjects, ObjectKind, SwarmContext } from './context';
export { createIngressNetwork, createSwarmNetwork, isSwarmRequest, needsIngress, removeSwarmNetwork, removeSwarmNetworks, swarmNetworkFor, taskNetworks } from './networks';
export { allocatePorts, DYNAMIC_PORT_RANGE } from './ports';
export { ingressProxyPid, ingressTable, stopIngress, syncIngress, type IngressEntry, type IngressStatus } from './ingress';
export { Swarm, type SwarmOptions } from './swarm';
export { openClusterStore, findObject, swarmTime } from './store';
export { newId } from './ids';
export { secretFiles, configFiles, type TaskFile } from './secrets';
export { createService, listServices, inspectService, updateService, removeService } from './services';
export { listTasks, inspectTask, TASK_LABEL } from './tasks';
export { reconcile, containerExited, startMonitor, removeAllTasks } from './orchestrator';
export { converge } from './updater';
export { serviceLogs, taskLogs } from './service-logs';
export { localNode, isWorker, type LocalNode } from './membership';
export { runAgent, ensureAgent, stopAgent } from './agent';
export { errorFields, errorText, FailureLog, NO_LOG, withFields, type LogFields, type LogLevel, type SwarmLog } from './log';
export { serveCluster, clusterClient, type ClusterRequest, type ClusterRoute, type ClusterRoutes } from './transport';
export { certIdentity, type CertIdentity, type ClusterCredentials } from './certs';
export { scheduleTask, eligibleNodes, parseConstraints, nodeMatches, type Constraint } from './scheduler';
export { dispatcherRoutes, type Assignments, type StatusUpdate } from './dispatcher';
export { runWorker, type ManagerClient } from './worker';
export { workerLogsRoute } from './remote-logs';
export { networkAssignments, type NetworkAssignment } from './allocator';
export { applyNetworkAssignments } from './networks';
