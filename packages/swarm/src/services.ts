import { normalizeImageName } from '@ctr/engine';
import { allocateEndpoint, allocateNetworks } from './allocator';
import type { ClusterTx, SwarmContext } from './context';
import { serviceFilter } from './filters';
import { newId } from './ids';
import { syncIngress } from './ingress';
import { swarmNetworkFor } from './networks';
import { afterChange, passAfterChange, reconcileOnce } from './orchestrator';
import { DEFAULT_RESTART_DELAY_NS } from './restart';
import { parseConstraints } from './scheduler';
import { findObject, rpcError, swarmTime } from './store';
import { decodeRegistryAuth, removeTaskContainer, stopTaskContainer, taskContainers } from './task-container';
import { isJob, live, modeKind } from './tasks';
import { converge, DEFAULT_UPDATE_CONFIG } from './updater';
import type { Service, ServiceCreateOptions, ServiceSpec, ServiceUpdateOptions, SwarmFilters, TaskSpec, UpdateConfig } from './types';

// swarm.ts takes converge with the other service verbs.
export { converge };

const invalid = (desc: string): Error => rpcError('InvalidArgument', 'InvalidArgument', desc);

/** swarmkit's isValidDNSName: what a service's name must be (it names the tasks' DNS entries). */
const DNS_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const MIN_DURATION_NS = 1_000_000;

/** swarmkit's validateServiceSpec, in its words (dockerd passes them on as `rpc error: … desc = …`). */
function validateSpec(spec: ServiceSpec): void {
  if (!spec.Name) throw invalid('meta: name must be provided');
  if (!DNS_NAME.test(spec.Name)) throw invalid('name must be valid as a DNS name component');
  if (spec.Name.length > 63) throw invalid('name must be 63 characters or fewer');
  validateTask(spec.TaskTemplate ?? {});
  for (const config of [spec.UpdateConfig, spec.RollbackConfig]) validateUpdate(config);
  const replicas = spec.Mode?.Replicated?.Replicas;
  if (replicas !== undefined && replicas < 0) throw invalid('Number of replicas must be non-negative');
  const modes = ['Replicated', 'Global', 'ReplicatedJob', 'GlobalJob'].filter((m) => spec.Mode?.[m as keyof ServiceSpec['Mode']] !== undefined);
  if (modes.length > 1) throw invalid('Unrecognized service mode');
}

function validateTask(task: TaskSpec): void {
  for (const resources of [task.Resources?.Limits, task.Resources?.Reservations]) {
    if (resources?.NanoCPUs && resources.NanoCPUs < 1e6) throw invalid(`invalid cpu value ${resources.NanoCPUs / 1e9}: Must be at least 0.001`);
    if (resources?.MemoryBytes && resources.MemoryBytes < 4 * 1024 * 1024) throw invalid(`invalid memory value ${resources.MemoryBytes}: Must be at least 4MiB`);
  }
  if ((task.RestartPolicy?.Delay ?? 0) < 0) throw invalid('TaskSpec: restart-delay cannot be negative');
  if ((task.RestartPolicy?.Window ?? 0) < 0) throw invalid('TaskSpec: restart-window cannot be negative');
  // swarmkit's validatePlacement: a constraint that does not parse is refused in its words.
  parseConstraints(task.Placement?.Constraints);
  const container = task.ContainerSpec;
  if (!container) throw invalid('TaskSpec: missing runtime');
  if (!container.Image) throw invalid('ContainerSpec: image reference must be provided');
  try {
    normalizeImageName(container.Image);
  } catch {
    throw invalid(`ContainerSpec: "${container.Image}" is not a valid repository/tag`);
  }
  const targets = new Set<string>();
  for (const mount of container.Mounts ?? []) {
    if (targets.has(mount.Target)) throw invalid(`ContainerSpec: duplicate mount point: ${mount.Target}`);
    targets.add(mount.Target);
  }
  const health = container.Healthcheck;
  for (const [field, value] of [['Interval', health?.Interval], ['Timeout', health?.Timeout], ['StartPeriod', health?.StartPeriod]] as const) {
    if (value && value < MIN_DURATION_NS) throw invalid(`ContainerSpec: ${field} in HealthConfig cannot be less than 1ms`);
  }
  if ((health?.Retries ?? 0) < 0) throw invalid('ContainerSpec: Retries in HealthConfig cannot be negative');
  for (const [refs, noun] of [[container.Secrets ?? [], 'secret'], [container.Configs ?? [], 'config']] as const) {
    const files = new Map<string, string>();
    for (const ref of refs) {
      const [id, name] = 'SecretID' in ref ? [ref.SecretID, ref.SecretName] : [ref.ConfigID, ref.ConfigName];
      if (!id || !name) throw invalid(`malformed ${noun} reference`);
      if (!ref.File && !ref.Runtime) throw invalid(`malformed ${noun} reference, no target provided`);
      if (!ref.File) continue;
      if (!ref.File.Name) throw invalid(`malformed file ${noun} reference, invalid target file name provided`);
      const previous = files.get(ref.File.Name);
      if (previous !== undefined) throw invalid(`${noun} references '${previous}' and '${name}' have a conflicting target: '${ref.File.Name}'`);
      files.set(ref.File.Name, name);
    }
  }
}

function validateUpdate(config: UpdateConfig | undefined): void {
  if (!config) return;
  if ((config.Delay ?? 0) < 0) throw invalid('TaskSpec: update-delay cannot be negative');
  if ((config.Monitor ?? 0) < 0) throw invalid('TaskSpec: update-monitor cannot be negative');
  const ratio = config.MaxFailureRatio ?? 0;
  if (ratio < 0 || ratio > 1) throw invalid('TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1');
}

/** swarmkit's checkSecretExistence / checkConfigExistence, under the transaction that stores the spec. */
function checkReferences(tx: ClusterTx, spec: ServiceSpec): void {
  const container = spec.TaskTemplate.ContainerSpec;
  for (const [kind, noun, refs] of [
    ['secrets', 'secret', (container?.Secrets ?? []).map((r) => [r.SecretID, r.SecretName] as const)],
    ['configs', 'config', (container?.Configs ?? []).map((r) => [r.ConfigID, r.ConfigName] as const)],
  ] as const) {
    const missing = refs.filter(([id, name]) => tx.get(kind, id)?.Spec.Name !== name).map(([, name]) => name);
    if (missing.length > 0) throw invalid(`${noun}${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}`);
  }
}

/**
 * The spec as stored: Mode replicated with 1 replica when none is given (as the docker CLI
 * sends it), each network attachment's Target the network's ID (as dockerd resolves it, refusing
 * an unknown or local network).
 */
async function normalizeSpec(ctx: SwarmContext, spec: ServiceSpec): Promise<ServiceSpec> {
  const out = structuredClone(spec);
  out.Labels ??= {};
  out.Mode ??= {};
  if (!out.Mode.Global && !out.Mode.ReplicatedJob && !out.Mode.GlobalJob) out.Mode.Replicated = { Replicas: out.Mode.Replicated?.Replicas ?? 1 };
  for (const attachment of out.TaskTemplate.Networks ?? []) attachment.Target = (await swarmNetworkFor(ctx, attachment.Target)).Id;
  return out;
}

/** `service create`: the spec checked and stored, its ports allocated, its tasks started; the new service's ID. */
export async function createService(ctx: SwarmContext, spec: ServiceSpec, options: ServiceCreateOptions = {}): Promise<{ ID: string; Warnings?: string[] }> {
  validateSpec(spec);
  const stored = await normalizeSpec(ctx, spec);
  const id = await ctx.store.transaction(async (tx) => {
    if (tx.list('services').some((s) => s.Spec.Name === stored.Name)) throw rpcError('AlreadyExists', 'AlreadyExists', `name conflicts with an existing object: service ${stored.Name} already exists`);
    checkReferences(tx, stored);
    const ID = newId();
    const job = isJob(modeKind({ Spec: stored }));
    tx.create('services', {
      ID,
      Spec: stored,
      Endpoint: await allocateEndpoint(ctx, tx, { ID, Spec: stored }),
      ...(job ? { JobStatus: { JobIteration: { Index: 0 }, LastExecution: swarmTime() } } : {}),
    });
    // Its virtual IPs come with it, as swarmkit's allocator gives them before the service is shown.
    await allocateNetworks(ctx, tx);
    return ID;
  }, options.signal);
  await settle(ctx, id, options);
  return { ID: id };
}

/**
 * After a change: one pass (with the request's registry credentials) — under ctrd after the
 * request is answered, as dockerd returns once the store is updated — then, when asked, the
 * wait until it converges.
 */
async function settle(ctx: SwarmContext, id: string, options: ServiceCreateOptions): Promise<void> {
  const auth = decodeRegistryAuth(options.registryAuth);
  if (!options.onProgress) return passAfterChange(ctx, id, auth ? { auth } : {});
  await reconcileOnce(ctx, id, auth ? { auth } : {});
  await converge(ctx, id, { onProgress: options.onProgress, ...(options.signal ? { signal: options.signal } : {}), ...(auth ? { auth } : {}) });
}

/** A service by its ID, its name or an ID prefix (dockerd's getService), `service X not found` otherwise. */
async function findService(ctx: SwarmContext, id: string): Promise<Service> {
  return findObject(await ctx.store.list('services'), id, 'service', (s) => s.Spec.Name);
}

/** `service update` (or, with `rollback: 'previous'`, `service rollback`): the new spec stored, the update begun. */
export async function updateService(ctx: SwarmContext, id: string, version: number, spec: ServiceSpec, options: ServiceUpdateOptions = {}): Promise<{ Warnings?: string[] }> {
  const found = await findService(ctx, id);
  if (options.rollback !== 'previous') validateSpec(spec);
  const stored = options.rollback === 'previous' ? undefined : await normalizeSpec(ctx, spec);
  await ctx.store.transaction(async (tx) => {
    const service = tx.get('services', found.ID);
    if (!service) throw rpcError('NotFound', 'NotFound', `service ${id} not found`);
    if (stored === undefined) {
      if (!service.PreviousSpec) throw rpcError('Conflict', 'FailedPrecondition', `service ${service.ID} does not have a previous spec`);
      const current = service.Spec;
      service.Spec = service.PreviousSpec;
      service.PreviousSpec = current;
      service.UpdateStatus = { State: 'rollback_started', Message: 'manually requested rollback', StartedAt: swarmTime() };
    } else {
      if (modeKind(service) !== modeKind({ Spec: stored })) throw rpcError('Unsupported', 'Unimplemented', 'service mode change is not allowed');
      if (service.Spec.Name !== stored.Name) throw rpcError('Unsupported', 'Unimplemented', 'renaming services is not supported');
      checkReferences(tx, stored);
      service.PreviousSpec = service.Spec;
      service.Spec = stored;
      delete service.UpdateStatus;
      if (service.JobStatus) service.JobStatus = { JobIteration: { Index: service.JobStatus.JobIteration.Index + 1 }, LastExecution: swarmTime() };
    }
    service.Endpoint = await allocateEndpoint(ctx, tx, service);
    tx.update('services', service, version);
    // Its virtual IPs kept on the networks it still joins, given on new ones, freed on the others.
    await allocateNetworks(ctx, tx);
  }, options.signal);
  await settle(ctx, found.ID, options);
  return {};
}

/**
 * `service rm`: the service forgotten, then its tasks shut down (each container stopped within
 * its grace period, then removed) and forgotten, the routing mesh updated — under ctrd after
 * the request is answered, as swarmkit's task reaper does.
 */
export async function removeService(ctx: SwarmContext, id: string): Promise<void> {
  const found = await findService(ctx, id);
  const tasks = await ctx.store.transaction((tx) => {
    tx.delete('services', found.ID);
    const mine = tx.list('tasks').filter((t) => t.ServiceID === found.ID);
    for (const task of mine) {
      task.DesiredState = 'remove';
      tx.update('tasks', task);
    }
    return mine;
  });
  await afterChange(ctx, async (signal) => {
    await Promise.all(tasks.map((task) => stopTaskContainer(ctx, task, signal)));
    // ctrd stopping: the containers left are the next pass's to remove (their tasks' desired state is `remove`).
    if (signal?.aborted) return;
    // Every container of the service here goes, a task's the store lost track of too.
    const containers = new Map(tasks.map((task) => [task.ID, task.Status.ContainerStatus?.ContainerID]));
    for (const [taskId, containerId] of await taskContainers(ctx, { serviceId: found.ID })) if (!containers.get(taskId)) containers.set(taskId, containerId);
    await Promise.all([...containers].map(([taskId, containerId]) => removeTaskContainer(ctx, containerId, taskId)));
    await ctx.store.transaction((tx) => {
      for (const task of tasks) tx.delete('tasks', task.ID);
    });
    await syncIngress(ctx);
  });
}

/** swarmkit's defaults.InterpolateService: what `inspect --insert-defaults` (and `service update`) sees of an unset field. */
function withDefaults(spec: ServiceSpec): ServiceSpec {
  const out = structuredClone(spec);
  const task = out.TaskTemplate;
  if (task.ContainerSpec) {
    task.ContainerSpec.StopGracePeriod ??= 10_000_000_000;
    task.ContainerSpec.DNSConfig ??= {};
    task.ContainerSpec.Isolation ??= 'default';
  }
  task.Resources ??= { Limits: {}, Reservations: {} };
  task.RestartPolicy = { Condition: 'any', Delay: DEFAULT_RESTART_DELAY_NS, MaxAttempts: 0, ...task.RestartPolicy };
  task.Placement ??= {};
  task.ForceUpdate ??= 0;
  task.Runtime ??= 'container';
  out.UpdateConfig = { ...DEFAULT_UPDATE_CONFIG, ...out.UpdateConfig };
  out.RollbackConfig = { ...DEFAULT_UPDATE_CONFIG, ...out.RollbackConfig };
  out.EndpointSpec = { Mode: 'vip', ...out.EndpointSpec };
  return out;
}

/** `service inspect`: by ID, name or ID prefix; with `insertDefaults`, the unset fields as swarmkit's defaults fill them. */
export async function inspectService(ctx: SwarmContext, id: string, options: { insertDefaults?: boolean } = {}): Promise<Service> {
  const service = await findService(ctx, id);
  return options.insertDefaults ? { ...service, Spec: withDefaults(service.Spec) } : service;
}

/**
 * `service ls`: the services the filters select, by name; with `status`, their ServiceStatus
 * as dockerd counts it (running tasks on usable nodes; desired: the replicas, a global service's
 * tasks meant to run, a job's remaining concurrent tasks; completed: a job's completions).
 */
export async function listServices(ctx: SwarmContext, filters: SwarmFilters = {}, options: { status?: boolean } = {}): Promise<Service[]> {
  const matches = serviceFilter(filters);
  const services = (await ctx.store.list('services')).filter(matches).sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name));
  if (!options.status) return services;
  const [tasks, nodes] = await Promise.all([ctx.store.list('tasks'), ctx.store.list('nodes')]);
  const usable = new Set(nodes.filter((n) => n.Status.State !== 'down').map((n) => n.ID));
  return services.map((service) => {
    const kind = modeKind(service);
    const mine = tasks.filter((t) => t.ServiceID === service.ID && usable.has(t.NodeID));
    const running = mine.filter((t) => t.Status.State === 'running').length;
    const completed = mine.filter((t) => t.Status.State === 'complete' && (t.JobIteration?.Index ?? 0) === (service.JobStatus?.JobIteration.Index ?? 0)).length;
    let desired: number;
    if (kind === 'replicated') desired = service.Spec.Mode.Replicated?.Replicas ?? 1;
    else if (kind === 'replicated-job') {
      const job = service.Spec.Mode.ReplicatedJob ?? {};
      const total = job.TotalCompletions || job.MaxConcurrent || 1;
      desired = Math.min(job.MaxConcurrent || 1, Math.max(0, total - completed));
    } else desired = mine.filter(live).length;
    return { ...service, ServiceStatus: { RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed } };
  });
}
