import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AUTO_REMOVAL, type ApiMount, type AuthConfig, type CreateContainerOptions } from '@ctr/engine';
import { CtrError, invalidArgument, isCtrError, isNotFound, unlessNotFound } from '@ctr/errors';
import { writeFileAtomic } from '@ctr/store';
import type { EndpointRequest } from '@ctr/network';
import type { SwarmContext } from './context';
import { taskNetworks } from './networks';
import { configFiles, secretFiles, type TaskFile } from './secrets';
import { slotKey, TASK_LABEL, taskName } from './tasks';
import type { ContainerSpec, Mount, Node, Service, SwarmInspect, Task } from './types';

type InternalMount = NonNullable<CreateContainerOptions['internalMounts']>[number];

/** What Go templates in a task's spec may name (swarmkit's template.Context). */
interface TemplateContext {
  Service: { ID: string; Name: string; Labels: Record<string, string> };
  Node: { ID: string; Hostname: string; Platform: { OS: string; Architecture: string } };
  Task: { ID: string; Name: string; Slot: string };
}

function templateContext(service: Service, task: Task, node: Node): TemplateContext {
  return {
    Service: { ID: service.ID, Name: service.Spec.Name, Labels: service.Spec.Labels ?? {} },
    Node: { ID: node.ID, Hostname: node.Description.Hostname, Platform: { OS: node.Description.Platform.OS, Architecture: node.Description.Platform.Architecture } },
    Task: { ID: task.ID, Name: taskName(service.Spec.Name, task), Slot: slotKey(task) },
  };
}

/**
 * swarmkit's template expansion of the fields it expands (Env, Hostname, Mounts): `{{.Service.Name}}`
 * and kin, `{{index .Service.Labels "key"}}`. What else a Go template can do is refused with the
 * field named, rather than left in the container's configuration unexpanded.
 */
export function expandTemplate(text: string, context: TemplateContext, field: string): string {
  return text.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_whole, action: string) => {
    const index = /^index\s+(\.[A-Za-z.]+)\s+"([^"]*)"$/.exec(action);
    const value = index ? lookup(context, index[1] as string)?.[index[2] as string as never] : /^\.[A-Za-z.]+$/.test(action) ? lookup(context, action) : undefined;
    if (typeof value === 'string') return value;
    if (index && value === undefined) return '';
    throw invalidArgument(`expanding ${field} failed: template: ${field}: can't evaluate {{${action}}}`, {
      hint: 'templates may name .Service.ID, .Service.Name, .Service.Labels, .Node.ID, .Node.Hostname, .Node.Platform.OS, .Node.Platform.Architecture, .Task.ID, .Task.Name and .Task.Slot',
    });
  });
}

function lookup(context: TemplateContext, path: string): Record<string, unknown> | string | undefined {
  let at: unknown = context;
  for (const part of path.slice(1).split('.')) {
    if (typeof at !== 'object' || at === null || !Object.prototype.hasOwnProperty.call(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return typeof at === 'string' || (typeof at === 'object' && at !== null) ? (at as Record<string, unknown> | string) : undefined;
}

/** A service mount as the engine's Mount API takes it; what ctr's engine cannot mount is refused. */
function apiMount(mount: Mount, expand: (text: string, field: string) => string): ApiMount {
  if (mount.Type !== 'bind' && mount.Type !== 'volume' && mount.Type !== 'tmpfs') {
    throw new CtrError('Unsupported', `mount type "${mount.Type}" is not supported by ctr's engine`, { hint: 'use a bind, volume or tmpfs mount' });
  }
  return {
    Type: mount.Type,
    Target: expand(mount.Target, 'mount target'),
    ...(mount.Source !== undefined && mount.Source !== '' ? { Source: expand(mount.Source, 'mount source') } : {}),
    ...(mount.ReadOnly ? { ReadOnly: true } : {}),
    ...(mount.BindOptions ? { BindOptions: mount.BindOptions as ApiMount['BindOptions'] } : {}),
    ...(mount.VolumeOptions ? { VolumeOptions: mount.VolumeOptions } : {}),
    ...(mount.TmpfsOptions ? { TmpfsOptions: mount.TmpfsOptions } : {}),
  };
}

/**
 * `Hosts` entries as swarmkit keeps them (`IP host [alias…]`, the hosts file's form) as the
 * engine's `host:ip` extra hosts, as moby's executor converts them.
 */
function extraHosts(hosts: readonly string[]): string[] {
  return hosts.flatMap((entry) => {
    const [ip, ...names] = entry.trim().split(/\s+/);
    return ip !== undefined && names.length > 0 ? names.map((name) => `${name}:${ip}`) : [entry];
  });
}

/**
 * The engine's create options for a task, as moby's executor makes its container config
 * (daemon/cluster/executor/container/container.go): Command replaces the entrypoint and Args
 * are its arguments (Args alone are the image entrypoint's), the swarm labels over the spec's,
 * the task's host-mode ports as the container's own port bindings, restart policy `no` (the swarm replaces
 * a task rather than restarting its container).
 */
export function taskContainerOptions(service: Service, task: Task, node: Node, cluster: Pick<SwarmInspect, 'Spec'> | undefined): CreateContainerOptions {
  const spec: ContainerSpec = task.Spec.ContainerSpec ?? { Image: '' };
  const context = templateContext(service, task, node);
  const expand = (text: string, field: string): string => expandTemplate(text, context, field);
  const name = taskName(service.Spec.Name, task);
  const limits = task.Spec.Resources?.Limits;
  const logDriver = task.Spec.LogDriver ?? cluster?.Spec.TaskDefaults.LogDriver;
  // The task's own endpoint, as moby's executor publishes it (a task recorded before tasks kept theirs: the service's).
  const hostPorts = (task.Endpoint ? (task.Endpoint.Spec.Ports ?? []) : (service.Endpoint.Ports ?? [])).filter((p) => p.PublishMode === 'host');
  const options: CreateContainerOptions = {
    image: spec.Image,
    name,
    pull: 'never',
    restart: 'no',
    labels: {
      ...(spec.Labels ?? {}),
      [TASK_LABEL.task]: '',
      [TASK_LABEL.taskId]: task.ID,
      [TASK_LABEL.taskName]: name,
      [TASK_LABEL.nodeId]: node.ID,
      [TASK_LABEL.serviceId]: service.ID,
      [TASK_LABEL.serviceName]: service.Spec.Name,
    },
    ...(spec.Command && spec.Command.length > 0 ? { entrypoint: spec.Command, cmd: spec.Args ?? [] } : spec.Args && spec.Args.length > 0 ? { cmd: spec.Args } : {}),
    ...(spec.Env ? { env: spec.Env.map((e) => expand(e, 'env')) } : {}),
    ...(spec.Dir ? { workingDir: spec.Dir } : {}),
    ...(spec.User ? { user: spec.User } : {}),
    ...(spec.Groups?.length ? { groupAdd: spec.Groups } : {}),
    ...(spec.Hostname ? { hostname: expand(spec.Hostname, 'hostname') } : {}),
    ...(spec.TTY ? { tty: true } : {}),
    ...(spec.OpenStdin ? { openStdin: true } : {}),
    ...(spec.ReadOnly ? { readOnlyRootfs: true } : {}),
    ...(spec.Init ? { init: true } : {}),
    ...(spec.StopSignal ? { stopSignal: spec.StopSignal } : {}),
    ...(spec.StopGracePeriod !== undefined ? { stopTimeout: Math.floor(spec.StopGracePeriod / 1e9) } : {}),
    ...(spec.Healthcheck ? { healthcheck: spec.Healthcheck } : {}),
    ...(spec.Hosts?.length ? { extraHosts: extraHosts(spec.Hosts) } : {}),
    ...(spec.DNSConfig?.Nameservers?.length ? { dns: spec.DNSConfig.Nameservers } : {}),
    ...(spec.DNSConfig?.Search?.length ? { dnsSearch: spec.DNSConfig.Search } : {}),
    ...(spec.DNSConfig?.Options?.length ? { dnsOptions: spec.DNSConfig.Options } : {}),
    ...(spec.Sysctls && Object.keys(spec.Sysctls).length > 0 ? { sysctls: spec.Sysctls } : {}),
    ...(spec.CapabilityAdd?.length ? { capAdd: spec.CapabilityAdd } : {}),
    ...(spec.CapabilityDrop?.length ? { capDrop: spec.CapabilityDrop } : {}),
    ...(spec.Ulimits?.length ? { ulimits: spec.Ulimits.map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })) } : {}),
    ...(spec.OomScoreAdj ? { oomScoreAdj: spec.OomScoreAdj } : {}),
    ...(spec.Mounts?.length ? { mountSpecs: spec.Mounts.map((m) => apiMount(m, expand)) } : {}),
    ...(limits?.NanoCPUs ? { cpus: limits.NanoCPUs / 1e9 } : {}),
    ...(limits?.MemoryBytes ? { memory: limits.MemoryBytes } : {}),
    ...(limits?.Pids ? { pidsLimit: limits.Pids } : {}),
    ...(logDriver ? { log: { driver: logDriver.Name, ...(logDriver.Options ? { options: logDriver.Options } : {}) } } : {}),
    ...(hostPorts.length > 0 ? { publish: hostPorts.map((p) => `${p.PublishedPort ? `${p.PublishedPort}:` : ''}${p.TargetPort}/${p.Protocol ?? 'tcp'}`) } : {}),
  };
  return options;
}

/**
 * Where a task's secret and config files are kept on the host: under the run root, as dockerd
 * keeps them under /var/run/docker/containers/<id>/mounts (a tmpfs on a real host), so that
 * they die with the machine and never enter the container's writable layer (a commit of the
 * task cannot capture them) — and a read-only root filesystem still gets them.
 */
export function taskFilesDir(ctx: SwarmContext, taskId: string): string {
  return path.join(ctx.runRoot, 'swarm', 'tasks', taskId);
}

/**
 * The task's files written (each with its reference's owner and mode, in a directory only root
 * may enter) and where each goes in the container: the engine's internal mounts, as dockerd
 * mounts secrets and configs (not the container's mounts: inspect shows none of them). Another
 * process preparing the same task writes the same bytes: each file is replaced whole, never
 * seen half-written.
 */
async function writeTaskFiles(ctx: SwarmContext, taskId: string, files: readonly TaskFile[]): Promise<InternalMount[]> {
  if (files.length === 0) return [];
  const dir = taskFilesDir(ctx, taskId);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  return Promise.all(
    files.map(async (file, index) => {
      // The index keeps apart two references to one object (at two targets, with two modes).
      const source = path.join(dir, `${index}-${file.name}`);
      await writeFileAtomic(source, file.data, { mode: 0o600, durable: false });
      await fs.chown(source, Number(file.uid) || 0, Number(file.gid) || 0);
      await fs.chmod(source, file.mode);
      return { source, target: file.target };
    }),
  );
}

/**
 * A task's container removed as moby's executor removes it (forced, its anonymous volumes too),
 * and its secret and config files with it. One gone already, or being removed by another process
 * (ctrd's monitor, a rollback's last step), is waited for rather than refused.
 */
/** A task's container (if it has one), by the task's ID: what a removal needs once the task is gone. */
export interface TaskContainer {
  taskId: string;
  containerId: string | undefined;
}

/** The task containers on this engine (only one node's, or one service's, when asked), by task ID. */
export async function taskContainers(ctx: SwarmContext, only: { nodeId?: string; serviceId?: string } = {}): Promise<Map<string, string>> {
  const label: string[] = [TASK_LABEL.taskId];
  if (only.nodeId !== undefined) label.push(`${TASK_LABEL.nodeId}=${only.nodeId}`);
  if (only.serviceId !== undefined) label.push(`${TASK_LABEL.serviceId}=${only.serviceId}`);
  const list = await ctx.engine.ps({ all: true, filters: { label } });
  const byTask = new Map<string, string>();
  for (const c of list) {
    const taskId = c.Labels[TASK_LABEL.taskId];
    if (taskId) byTask.set(taskId, c.Id);
  }
  return byTask;
}

export async function removeTaskContainer(ctx: SwarmContext, ref: string | undefined, taskId: string): Promise<void> {
  if (ref) await ctx.engine.remove(ref, AUTO_REMOVAL).catch(unlessNotFound);
  await fs.rm(taskFilesDir(ctx, taskId), { recursive: true, force: true });
}

/** `swarm leave`: every task's files gone, whatever task they were for. */
export async function removeAllTaskFiles(ctx: SwarmContext): Promise<void> {
  await fs.rm(path.join(ctx.runRoot, 'swarm', 'tasks'), { recursive: true, force: true });
}

/**
 * Stop a task's container within its StopGracePeriod, in whole seconds as moby's executor gives
 * it. When `signal` aborts (ctrd stopping) this stops waiting: the engine's stop goes on alone,
 * and the next pass records where it ended.
 */
export async function stopTaskContainer(ctx: SwarmContext, task: Task, signal?: AbortSignal): Promise<void> {
  const ref = task.Status.ContainerStatus?.ContainerID;
  if (!ref || signal?.aborted) return;
  const grace = task.Spec.ContainerSpec?.StopGracePeriod;
  const stopped = ctx.engine.stop(ref, grace !== undefined ? { timeout: Math.floor(grace / 1e9) } : {}).catch(unlessNotFound);
  if (!signal) return stopped;
  let abandon = (): void => undefined;
  const aborted = new Promise<void>((resolve) => {
    abandon = resolve;
    signal.addEventListener('abort', abandon, { once: true });
  });
  try {
    await Promise.race([stopped, aborted]);
  } finally {
    signal.removeEventListener('abort', abandon);
  }
}

/** `X-Registry-Auth` as a service create passes it on: base64url of a JSON AuthConfig (keys in any case). */
export function decodeRegistryAuth(header: string | undefined): AuthConfig | undefined {
  if (!header) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
  } catch {
    throw invalidArgument('invalid registry auth: not base64url-encoded JSON');
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const config: Record<string, string> = {};
  for (const [key, field] of Object.entries(value)) if (typeof field === 'string' && field !== '') config[key.toLowerCase()] = field;
  return Object.keys(config).length > 0 ? (config as AuthConfig) : undefined;
}

/**
 * The task's image, pulled when it is not here (with the service's registry credentials), as
 * moby's executor prepares a task; a missing image that cannot be pulled is the task's
 * rejection in the executor's words (`No such image: …`).
 */
async function ensureImage(ctx: SwarmContext, image: string, auth: AuthConfig | undefined, signal?: AbortSignal): Promise<void> {
  try {
    await ctx.engine.inspectImage(image);
    return;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    await ctx.engine.pull(image, { ...(auth ? { auth } : {}), ...(signal ? { signal } : {}) });
  } catch (error) {
    throw new CtrError('NotFound', `No such image: ${image}`, { cause: error });
  }
}

/**
 * What a task's container is made with besides its spec: on the manager read from the store
 * (`managerEnvironment`), on a worker from its assignments — the container's making is the same.
 */
export interface TaskEnvironment {
  /** The node the task runs on (for templates and the node label). */
  node: Node;
  cluster: Pick<SwarmInspect, 'Spec'> | undefined;
  /** Its secrets' and configs' files, data included. */
  files: readonly TaskFile[];
  /** The networks it joins, in order: the create takes the first, connects the rest. */
  networks: readonly EndpointRequest[];
  /** The service's registry credentials, for its image's pull. */
  auth?: AuthConfig;
}

/** A task's environment on the manager: its secrets and configs from the store, its networks from this engine. */
export async function managerEnvironment(ctx: SwarmContext, service: Service, task: Task, node: Node, cluster: SwarmInspect | undefined, auth?: AuthConfig): Promise<TaskEnvironment> {
  const spec = task.Spec.ContainerSpec;
  const [networks, secrets, configs] = await Promise.all([taskNetworks(ctx, service, task), secretFiles(ctx, spec?.Secrets), configFiles(ctx, spec?.Configs)]);
  return { node, cluster, files: [...secrets, ...configs], networks, ...(auth ? { auth } : {}) };
}

/**
 * Make a task's container (not started): its image, the container under the task's name, its
 * other networks joined, its secrets and configs mounted from the host as the container's own.
 * The container's name is the task's: a second process preparing the same task fails here
 * (Conflict), which is how two reconcilers never run one task twice.
 */
export async function createTaskContainer(ctx: SwarmContext, service: Service, task: Task, env: TaskEnvironment, signal?: AbortSignal): Promise<string> {
  const options = taskContainerOptions(service, task, env.node, env.cluster);
  const [first, ...rest] = env.networks;
  await ensureImage(ctx, options.image, env.auth, signal);
  const internalMounts = await writeTaskFiles(ctx, task.ID, env.files);
  let created: { id: string };
  try {
    created = await ctx.engine.create({
      ...options,
      ...(internalMounts.length > 0 ? { internalMounts } : {}),
      // The task's address is the allocator's, which every node's DNS knows it by.
      ...(first ? { network: first.name, ...(first.aliases?.length ? { networkAliases: first.aliases } : {}), ...(first.ip ? { ip: first.ip } : {}) } : {}),
    });
  } catch (error) {
    // A Conflict is the task's container made by another process, which mounts these files.
    if (!(isCtrError(error) && error.code === 'Conflict')) await removeTaskContainer(ctx, undefined, task.ID);
    throw error;
  }
  try {
    for (const endpoint of rest) await ctx.engine.connect(endpoint.name, created.id, { ...(endpoint.aliases?.length ? { aliases: endpoint.aliases } : {}), ...(endpoint.ip ? { ip: endpoint.ip } : {}) });
  } catch (error) {
    await removeTaskContainer(ctx, created.id, task.ID).catch(() => undefined);
    throw error;
  }
  return created.id;
}
