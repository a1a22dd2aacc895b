import { checkFilterKeys } from '@ctr/engine';
import { invalidArgument } from '@ctr/errors';
import { findObject, labelsMatch, prefixMatch } from './store';
import { dirty, modeKind, taskName } from './tasks';
import { TASK_STATES, type Node, type Service, type SwarmFilters, type Task } from './types';

/** The keys `GET /services` takes (moby's newListServicesFilters). */
const SERVICE_FILTERS = ['id', 'label', 'mode', 'name'];
const MODES = ['replicated', 'global', 'replicated-job', 'global-job'];

/** `service ls --filter`: `id` and `name` by prefix, `label` (`key` or `key=value`), `mode`. */
export function serviceFilter(filters: SwarmFilters): (service: Service) => boolean {
  checkFilterKeys(filters, SERVICE_FILTERS);
  for (const mode of filters.mode ?? []) if (!MODES.includes(mode)) throw invalidArgument(`Invalid filter: 'mode'='${mode}'`);
  return (service) =>
    prefixMatch(filters.id, service.ID) &&
    prefixMatch(filters.name, service.Spec.Name) &&
    labelsMatch(filters.label, service.Spec.Labels) &&
    (!filters.mode?.length || filters.mode.includes(modeKind(service)));
}

/** The keys `GET /tasks` takes (moby's newListTasksFilters); `_up-to-date` is the docker CLI's, while it waits for a service to converge. */
const TASK_FILTERS = ['id', 'name', 'service', 'node', 'label', 'desired-state', '_up-to-date'];

/**
 * `service ps` / `GET /tasks` filters: `id` and `name` by prefix (a task's name is
 * `<service>.<slot>.<id>`), `service` and `node` by ID, name or ID prefix (dockerd resolves them
 * first, refusing an unknown one), `label` (the service's labels when the task was made), `desired-state` (any task state, as swarmkit's),
 * `_up-to-date` (made from its service's current TaskTemplate, swarmkit's UpToDate).
 */
export function taskFilter(filters: SwarmFilters, services: readonly Service[], nodes: readonly Node[]): (task: Task) => boolean {
  checkFilterKeys(filters, TASK_FILTERS);
  const desired = (filters['desired-state'] ?? []).map((state) => {
    const lower = state.toLowerCase();
    if (!(TASK_STATES as readonly string[]).includes(lower)) throw invalidArgument(`Invalid task desired-state filter: '${state}'`);
    return lower;
  });
  const serviceIds = filters.service?.map((s) => findObject(services, s, 'service', (o) => o.Spec.Name).ID);
  const nodeIds = filters.node?.map((n) => findObject(nodes, n, 'node', (o) => o.Description.Hostname).ID);
  const byId = new Map(services.map((s) => [s.ID, s]));
  const upToDate = (task: Task): boolean => {
    const service = byId.get(task.ServiceID);
    return service !== undefined && !dirty(service, task);
  };
  return (task) =>
    prefixMatch(filters.id, task.ID) &&
    (!filters.name?.length || filters.name.some((n) => taskName(byId.get(task.ServiceID)?.Spec.Name ?? '', task).startsWith(n))) &&
    (!serviceIds || serviceIds.includes(task.ServiceID)) &&
    (!nodeIds || nodeIds.includes(task.NodeID)) &&
    // swarmkit's ListTasks matches the task's copy of its service's labels (ServiceAnnotations): `stack ps` selects
    // by the stack's namespace label, a removed service's leaving tasks included. A task recorded before ctr kept the copy has its service's.
    labelsMatch(filters.label, task.ServiceAnnotations?.Labels ?? byId.get(task.ServiceID)?.Spec.Labels ?? {}) &&
    (desired.length === 0 || desired.includes(task.DesiredState)) &&
    (!filters['_up-to-date']?.length || upToDate(task));
}
