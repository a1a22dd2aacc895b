import { setTimeout as sleep } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CtrError, isCtrError } from '@ctr/errors';
import type { Config, ConfigSpec, Secret, SecretSpec, Service, SwarmApi, SwarmFilters, Task } from '@ctr/swarm';
import * as YAML from 'yaml';
import { projectConfig } from './config-output';
import { loadProject } from './load';
import { parseComposeYaml } from './merge';
import type { ComposeProject } from './model';
import { STACK_IMAGE_LABEL, STACK_NAMESPACE_LABEL, stackFileWarnings, type StackNetworkCreate, type StackObjects } from './stack-convert';

export { convertStack, stackServiceSpec, stackFileWarnings, STACK_IMAGE_LABEL, STACK_NAMESPACE_LABEL, type StackNetworkCreate, type StackObjects, type StackService } from './stack-convert';

/**
 * `docker stack` on a swarm (docker-cli's cli/command/stack/swarm): a compose file deployed
 * as services, networks, secrets and configs that carry the stack's namespace label, and
 * the listings and removal that find them again by it. The swarm is any SwarmApi (the
 * in-process Swarm or a daemon's); networks are the engine's, through `StackNetworks`.
 */

/** The engine's networks as a stack uses them: the caller binds them to its engine or daemon. */
export interface StackNetworks {
  /** The networks carrying the label `com.docker.stack.namespace=<namespace>`. */
  list(namespace: string): Promise<Array<{ ID: string; Name: string }>>;
  /** A network's scope (`swarm`, `local`), or undefined when there is none by that name. */
  scope(name: string): Promise<string | undefined>;
  /** Creates a swarm-scoped network (Driver `overlay` unless the file says otherwise). */
  create(request: StackNetworkCreate): Promise<void>;
  remove(id: string): Promise<void>;
}

/** What a stack verb prints: docker writes progress lines on stdout and problems on stderr. */
export interface StackOutput {
  out(line: string): void;
  err(line: string): void;
}

/** docker's checkDaemonIsSwarmManager: stack verbs need a manager. */
async function checkManager(api: SwarmApi): Promise<void> {
  const info = await api.info();
  if (!info.ControlAvailable) {
    throw new CtrError('Unavailable', 'this node is not a swarm manager. Use "ctr swarm init" or "ctr swarm join" to connect this node to swarm and try again');
  }
}

/** docker's validateStackName: anything but an empty (or blank, or quotes only) name. */
export function checkStackName(name: string): string {
  if (name.replace(/^[\s"']+|[\s"']+$/g, '') === '') throw new CtrError('InvalidArgument', `invalid stack name: ${JSON.stringify(name)}`);
  return name;
}

function namespaceLabel(namespace: string): string {
  return `${STACK_NAMESPACE_LABEL}=${namespace}`;
}

function inStack(namespace: string): (object: { Spec: { Labels?: Record<string, string> } }) => boolean {
  return (object) => object.Spec.Labels?.[STACK_NAMESPACE_LABEL] === namespace;
}

/** The user's filters with the stack's label added, as docker's getStackFilterFromOpt. */
function stackFilters(namespace: string, filters: SwarmFilters = {}): SwarmFilters {
  return { ...filters, label: [...(filters.label ?? []), namespaceLabel(namespace)] };
}

function byServiceName(a: Service, b: Service): number {
  return a.Spec.Name < b.Spec.Name ? -1 : a.Spec.Name > b.Spec.Name ? 1 : 0;
}

// ---------------------------------------------------------------- loading

export interface StackLoadOptions {
  /** `-c`: compose files in order, `-` for stdin. */
  files: string[];
  /** The stack's name: the project name every object is scoped by. */
  namespace: string;
  /** The environment interpolation reads: docker's stack loader reads the process's, and no `.env` file. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdin?: () => Promise<string>;
  /** `stack config --skip-interpolation`. */
  interpolate?: boolean;
}

export interface LoadedStack {
  project: ComposeProject;
  /** What docker's loader prints on stderr before it deploys: ignored options, unset variables. */
  warnings: string[];
}

/** The loader's own notes that docker's stack loader does not make (v3 files carry `version` as a matter of course). */
const COMPOSE_ONLY_WARNING = /the attribute `version` is obsolete/;

/**
 * The compose files as `docker stack deploy -c` reads them: docker's refusals and warnings
 * from the files as written, then the project loaded as compose does, named after the stack
 * and interpolated from the environment alone (docker's stack loader reads no `.env`).
 */
export async function loadStack(options: StackLoadOptions): Promise<LoadedStack> {
  if (options.files.length === 0) throw new CtrError('InvalidArgument', 'specify a Compose file (with --compose-file)');
  checkStackName(options.namespace);
  const cwd = resolve(options.cwd ?? process.cwd());
  let stdinText: Promise<string> | undefined;
  const stdin = (): Promise<string> => {
    if (!options.stdin) throw new CtrError('InvalidArgument', 'compose file "-" needs standard input');
    stdinText ??= options.stdin();
    return stdinText;
  };
  const raw: Array<Record<string, unknown>> = [];
  for (const file of options.files) {
    const path = file === '-' ? '-' : resolve(cwd, file);
    const text =
      file === '-'
        ? await stdin()
        : await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
            if (error.code === 'ENOENT') throw new CtrError('NotFound', `open ${path}: no such file or directory`);
            throw error;
          });
    raw.push(parseComposeYaml(text, path));
  }
  const warnings = stackFileWarnings(raw);
  const project = await loadProject({
    files: options.files,
    projectName: options.namespace,
    dotenv: false,
    env: options.env ?? process.env,
    cwd,
    stdin,
    ...(options.interpolate === false ? { interpolate: false } : {}),
  });
  for (const warning of project.warnings ?? []) if (!COMPOSE_ONLY_WARNING.test(warning)) warnings.push(warning);
  return { project, warnings };
}

/**
 * `docker stack config`: the merged, interpolated files as docker's loader prints them, a v3
 * file (`version: "3.13"`, no project name, published ports as numbers).
 */
export function stackConfig(project: ComposeProject): string {
  const document = YAML.parse(projectConfig(project)) as Record<string, unknown>;
  delete document.name;
  // The loader names each resource `<project>_<key>`; docker's shows only a name the file gives.
  for (const section of ['networks', 'volumes', 'secrets', 'configs']) {
    for (const [key, resource] of Object.entries((document[section] ?? {}) as Record<string, Record<string, unknown>>)) {
      if (resource.name === `${project.name}_${key}`) delete resource.name;
    }
  }
  for (const service of Object.values((document.services ?? {}) as Record<string, { ports?: Array<{ published?: unknown }> }>)) {
    for (const port of service.ports ?? []) if (typeof port.published === 'string' && /^\d+$/.test(port.published)) port.published = Number(port.published);
  }
  return YAML.stringify({ version: '3.13', ...document }, { lineWidth: 0, indentSeq: true });
}

// ---------------------------------------------------------------- deploy

export type ResolveImage = 'always' | 'changed' | 'never';

export interface StackDeployOptions extends StackOutput {
  /** `--prune`: remove the stack's services the file no longer has. */
  prune?: boolean;
  /**
   * `--resolve-image`. ctr's swarm runs the image the spec names as it is, so the mode only
   * decides what docker's decides before the request: whether an update keeps the image the
   * service already has when the file's is unchanged.
   */
  resolveImage?: ResolveImage;
  /** `--detach=false`: wait for each service to converge (default: `api.converge`). */
  detach?: boolean;
  waitOnService?: (serviceId: string) => Promise<void>;
  signal?: AbortSignal;
}

/** docker's validateExternalNetworks: an external network must exist and be swarm-scoped (engine-defined ones always exist). */
async function checkExternalNetworks(networks: StackNetworks, names: readonly string[]): Promise<void> {
  for (const name of names) {
    if (['bridge', 'host', 'none', 'default'].includes(name) || name.startsWith('container:')) continue;
    const scope = await networks.scope(name);
    if (scope === undefined) {
      throw new CtrError('NotFound', `network ${JSON.stringify(name)} is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed`);
    }
    if (scope !== 'swarm') throw new CtrError('InvalidArgument', `network ${JSON.stringify(name)} is declared as external, but it is not in the right scope: ${JSON.stringify(scope)} instead of "swarm"`);
  }
}

async function createNetworks(networks: StackNetworks, objects: StackObjects, output: StackOutput): Promise<void> {
  const existing = new Set((await networks.list(objects.namespace)).map((network) => network.Name));
  for (const request of objects.networks) {
    if (existing.has(request.Name)) continue;
    output.out(`Creating network ${request.Name}`);
    await networks.create(request).catch((error: unknown) => {
      throw wrapped(`failed to create network ${request.Name}`, error);
    });
  }
}

function wrapped(context: string, error: unknown): CtrError {
  const message = error instanceof Error ? error.message : String(error);
  return new CtrError(isCtrError(error) ? error.code : 'Internal', `${context}: ${message}`, { cause: error });
}

/** A secret or config by its exact name: the swarm's name filter matches prefixes too. */
function named<T extends { Spec: { Name: string } }>(objects: readonly T[], name: string): T | undefined {
  return objects.find((object) => object.Spec.Name === name);
}

/** docker's createSecrets/createConfigs: an existing one is updated (the swarm refuses a change of data), a new one created. */
async function createFileObjects<S extends SecretSpec | ConfigSpec, O extends Secret | Config>(
  kind: 'secret' | 'config',
  specs: readonly S[],
  find: (name: string) => Promise<O | undefined>,
  update: (object: O, spec: S) => Promise<void>,
  create: (spec: S) => Promise<unknown>,
  output: StackOutput,
): Promise<void> {
  for (const spec of specs) {
    const existing = await find(spec.Name);
    if (existing) {
      await update(existing, spec).catch((error: unknown) => {
        throw wrapped(`failed to update ${kind} ${spec.Name}`, error);
      });
      continue;
    }
    output.out(`Creating ${kind} ${spec.Name}`);
    await create(spec).catch((error: unknown) => {
      throw wrapped(`failed to create ${kind} ${spec.Name}`, error);
    });
  }
}

/** docker's ParseSecrets/ParseConfigs: each reference's ID, looked up by name once the objects exist. */
async function resolveFileReferences(api: SwarmApi, objects: StackObjects): Promise<void> {
  const secretNames = [...new Set(objects.services.flatMap((s) => s.spec.TaskTemplate.ContainerSpec?.Secrets ?? []).map((ref) => ref.SecretName))];
  const configNames = [...new Set(objects.services.flatMap((s) => s.spec.TaskTemplate.ContainerSpec?.Configs ?? []).map((ref) => ref.ConfigName))];
  const secrets = secretNames.length > 0 ? await api.secrets({ name: secretNames }) : [];
  const configs = configNames.length > 0 ? await api.configs({ name: configNames }) : [];
  for (const { spec } of objects.services) {
    const container = spec.TaskTemplate.ContainerSpec;
    for (const ref of container?.Secrets ?? []) {
      const secret = named(secrets, ref.SecretName);
      if (!secret) throw new CtrError('NotFound', `service ${spec.Name}: secret not found: ${ref.SecretName}`);
      ref.SecretID = secret.ID;
    }
    for (const ref of container?.Configs ?? []) {
      const config = named(configs, ref.ConfigName);
      if (!config) throw new CtrError('NotFound', `service ${spec.Name}: config not found: ${ref.ConfigName}`);
      ref.ConfigID = config.ID;
    }
  }
}

async function stackServices(api: SwarmApi, namespace: string, filters?: SwarmFilters, options?: { status?: boolean }): Promise<Service[]> {
  return (await api.services(stackFilters(namespace, filters), options)).filter(inStack(namespace));
}

async function removeServices(api: SwarmApi, services: Service[], output: StackOutput): Promise<boolean> {
  let failed = false;
  for (const service of [...services].sort(byServiceName)) {
    output.out(`Removing service ${service.Spec.Name}`);
    await api.removeService(service.ID).catch((error: unknown) => {
      failed = true;
      output.err(`Failed to remove service ${service.ID}: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
  return failed;
}

async function deployServices(api: SwarmApi, objects: StackObjects, options: StackDeployOptions): Promise<string[]> {
  const existing = new Map((await stackServices(api, objects.namespace)).map((service) => [service.Spec.Name, service]));
  const ids: string[] = [];
  for (const { spec } of objects.services) {
    const container = spec.TaskTemplate.ContainerSpec;
    const image = container?.Image ?? '';
    const common = options.signal ? { signal: options.signal } : {};
    const current = existing.get(spec.Name);
    if (!current) {
      options.out(`Creating service ${spec.Name}`);
      const created = await api.createService(spec, common).catch((error: unknown) => {
        throw wrapped(`failed to create service ${spec.Name}`, error);
      });
      for (const warning of created.Warnings ?? []) options.err(warning);
      ids.push(created.ID);
      continue;
    }
    options.out(`Updating service ${spec.Name} (id: ${current.ID})`);
    // An unchanged image keeps what the service runs (a digest a registry query pinned), so the update replaces no task for it.
    if (container && options.resolveImage !== 'always' && image === current.Spec.Labels[STACK_IMAGE_LABEL]) {
      container.Image = current.Spec.TaskTemplate.ContainerSpec?.Image ?? image;
    }
    // stack deploy has no --force: the service's ForceUpdate stays, or every deploy would replace its tasks.
    if (current.Spec.TaskTemplate.ForceUpdate !== undefined) spec.TaskTemplate.ForceUpdate = current.Spec.TaskTemplate.ForceUpdate;
    const updated = await api.updateService(current.ID, current.Version.Index, spec, common).catch((error: unknown) => {
      throw wrapped(`failed to update service ${spec.Name}`, error);
    });
    for (const warning of updated.Warnings ?? []) options.err(warning);
    ids.push(current.ID);
  }
  return ids;
}

/**
 * `docker stack deploy`: prunes (with `--prune`), checks the external networks, creates the
 * stack's networks, secrets and configs, then creates or updates each service, and waits
 * for them to converge unless detached. Resolves to the services' IDs.
 */
export async function deployStack(api: SwarmApi, networks: StackNetworks, objects: StackObjects, options: StackDeployOptions): Promise<string[]> {
  await checkManager(api);
  const { namespace } = objects;
  if (options.prune) {
    const wanted = new Set(objects.services.map((service) => service.spec.Name));
    await removeServices(api, (await stackServices(api, namespace)).filter((service) => !wanted.has(service.Spec.Name)), options);
  }
  await checkExternalNetworks(networks, objects.externalNetworks);
  await createNetworks(networks, objects, options);
  await createFileObjects(
    'secret',
    objects.secrets,
    async (name) => named(await api.secrets({ name: [name] }), name),
    (secret, spec) => api.updateSecret(secret.ID, secret.Version.Index, spec),
    (spec) => api.createSecret(spec),
    options,
  );
  await createFileObjects(
    'config',
    objects.configs,
    async (name) => named(await api.configs({ name: [name] }), name),
    (config, spec) => api.updateConfig(config.ID, config.Version.Index, spec),
    (spec) => api.createConfig(spec),
    options,
  );
  await resolveFileReferences(api, objects);
  const ids = await deployServices(api, objects, options);
  if (options.detach === false) {
    const wait = options.waitOnService ?? (async (id: string): Promise<void> => void (await api.converge(id, options.signal ? { signal: options.signal } : {})));
    const failures: string[] = [];
    for (const id of ids) {
      await wait(id).catch((error: unknown) => failures.push(`${id}: ${error instanceof Error ? error.message : String(error)}`));
    }
    if (failures.length > 0) throw new CtrError('Internal', failures.join('\n'));
  }
  return ids;
}

// ---------------------------------------------------------------- rm, ls, ps, services

export interface StackRemoveOptions extends StackOutput {
  /** `--detach=false`: wait until the stack's tasks have stopped. */
  detach?: boolean;
  signal?: AbortSignal;
}

/** Task states past running: a removed stack's tasks end in one of them. */
const TERMINAL: ReadonlySet<string> = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

async function waitOnTasks(api: SwarmApi, serviceIds: ReadonlySet<string>, signal: AbortSignal | undefined): Promise<void> {
  for (;;) {
    const tasks = (await api.tasks()).filter((task) => serviceIds.has(task.ServiceID));
    if (tasks.every((task) => TERMINAL.has(task.Status.State))) return;
    await sleep(250, undefined, signal ? { signal } : {});
  }
}

/**
 * `docker stack rm`: for each stack, its services (by name), secrets, configs and networks,
 * found by the namespace label. A stack with none is `Nothing found in stack: x` on stderr;
 * a removal that failed is reported and the stack's error is returned at the end.
 */
export async function removeStacks(api: SwarmApi, networks: StackNetworks, namespaces: readonly string[], options: StackRemoveOptions): Promise<void> {
  await checkManager(api);
  const errors: string[] = [];
  for (const namespace of namespaces) {
    const label = { label: [namespaceLabel(namespace)] };
    const services = await stackServices(api, namespace);
    const stackNetworks = await networks.list(namespace);
    const secrets = (await api.secrets(label)).filter(inStack(namespace));
    const configs = (await api.configs(label)).filter(inStack(namespace));
    if (services.length + stackNetworks.length + secrets.length + configs.length === 0) {
      options.err(`Nothing found in stack: ${namespace}`);
      continue;
    }
    let failed = await removeServices(api, services, options);
    const remove = async (kind: string, name: string, id: string, fn: (id: string) => Promise<void>): Promise<void> => {
      options.out(`Removing ${kind} ${name}`);
      await fn(id).catch((error: unknown) => {
        failed = true;
        options.err(`Failed to remove ${kind} ${id}: ${error instanceof Error ? error.message : String(error)}`);
      });
    };
    for (const secret of secrets) await remove('secret', secret.Spec.Name, secret.ID, (id) => api.removeSecret(id));
    for (const config of configs) await remove('config', config.Spec.Name, config.ID, (id) => api.removeConfig(id));
    for (const network of stackNetworks) await remove('network', network.Name, network.ID, (id) => networks.remove(id));
    if (failed) {
      errors.push(`failed to remove some resources from stack: ${namespace}`);
      continue;
    }
    if (options.detach === false) await waitOnTasks(api, new Set(services.map((service) => service.ID)), options.signal);
  }
  if (errors.length > 0) throw new CtrError('Internal', errors.join('\n'));
}

export interface StackSummary {
  Name: string;
  Services: number;
}

/** `docker stack ls`: the stacks the swarm's services name in their namespace label, with how many services each has. */
export async function listStacks(api: SwarmApi): Promise<StackSummary[]> {
  await checkManager(api);
  const counts = new Map<string, number>();
  for (const service of await api.services({ label: [STACK_NAMESPACE_LABEL] })) {
    const name = service.Spec.Labels?.[STACK_NAMESPACE_LABEL];
    if (name !== undefined) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([Name, Services]) => ({ Name, Services }));
}

/** `docker stack services`: the stack's services, the user's filters applied; `status` asks for the running/desired counts. */
export async function stackServiceList(api: SwarmApi, namespace: string, filters: SwarmFilters = {}, options: { status?: boolean } = {}): Promise<Service[]> {
  await checkManager(api);
  return stackServices(api, namespace, filters, options);
}

/**
 * `docker stack ps`: the tasks of the stack's services, the user's filters applied. The
 * tasks are matched by service (their service carries the label), so a filter on the task
 * itself still narrows them. No task at all is docker's `nothing found in stack: x`.
 */
export async function stackTasks(api: SwarmApi, namespace: string, filters: SwarmFilters = {}): Promise<Task[]> {
  await checkManager(api);
  const services = new Set((await stackServices(api, namespace)).map((service) => service.ID));
  const tasks = services.size === 0 ? [] : (await api.tasks(filters)).filter((task) => services.has(task.ServiceID));
  if (tasks.length === 0) throw new CtrError('NotFound', `nothing found in stack: ${namespace}`);
  return tasks;
}
