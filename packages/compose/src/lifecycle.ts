import { Readable, Writable } from 'node:stream';
import type { ContainerInspect, ContainerSummary } from '@ctr/engine';
import { humanDuration } from '@ctr/engine';
import { formatDuration } from '@ctr/dockerfile';
import { CtrError, isNotFound } from '@ctr/errors';
import { tarDataEntry, TAR_END } from '@ctr/image';
import type { AttachEvent, ComposeContainer, ComposeOptions, ComposeProjectSummary, CreateOptions, DownOptions, KillOptions, PsOptions, RemoveOptions, ServicesOptions, StartOptions, StopOptions, UpOptions, UpResult } from './compose';
import { containerOptions, extraNetworks, fileReferences, configHash, serviceContainerName } from './convert';
import { checkCycles, inDependencyOrder, inReverseDependencyOrder } from './dependencies';
import { isDryRun } from './dry-run';
import { ensureImages, namedServices, selectedServices, serviceImage, withDependencies } from './images';
import { containerName, containerNumber, containerService as serviceOf, LABEL, projectContainers, type ComposeEngine } from './labels';
import type { ComposeProject, ServiceConfig, ServiceDependency } from './model';
import { normalizeNetwork, normalizeService, normalizeVolume } from './normalize';
import { ensureNetworksAndVolumes, report } from './resources';

/** compose's poll interval while it waits for a dependency's health or exit. */
const POLL_MS = 500;

/** The services a verb acts on: the named ones (checked), else all; with what they depend on unless `noDeps`. */
function targetServices(project: ComposeProject, names: readonly string[] | undefined, withDeps: boolean): string[] {
  const selected = selectedServices(project, names).map((service) => service.name);
  if (!withDeps) return selected;
  // In the project's order, as the resources they use are made in.
  const all = new Set(withDependencies(project, selected));
  return Object.keys(project.services).filter((name) => all.has(name));
}

const stopTimeout = (timeout: number | undefined): { timeout?: number } => (timeout === undefined ? {} : { timeout });

/** One action on each of the containers at once, each told with its progress words before and after. */
async function eachContainer(containers: readonly ContainerSummary[], options: ComposeOptions, words: readonly [string, string], action: (c: ContainerSummary) => Promise<void>): Promise<void> {
  await Promise.all(
    containers.map(async (c) => {
      report(options, 'Container', containerName(c), words[0], false);
      await action(c);
      report(options, 'Container', containerName(c), words[1], true);
    }),
  );
}

/** compose's isOrphaned: a service container of no service the project has (disabled ones count as had), or a finished one-off. */
function isOrphan(project: ComposeProject, container: ContainerSummary): boolean {
  if (container.Labels[LABEL.oneoff] === 'True') return container.State === 'exited' || container.State === 'dead';
  const service = serviceOf(container);
  return !(service in project.services) && !(service in project.disabled_services);
}

/** compose's warning for orphans, or their removal with `--remove-orphans`. */
async function handleOrphans(engine: ComposeEngine, project: ComposeProject, containers: ContainerSummary[], remove: boolean | undefined, options: ComposeOptions): Promise<void> {
  const orphans = containers.filter((c) => isOrphan(project, c));
  if (orphans.length === 0) return;
  if (remove) {
    await Promise.all(orphans.map((c) => stopAndRemove(engine, c, undefined, false, options)));
    return;
  }
  report(
    options,
    'Service',
    '',
    'Warning',
    true,
    `Found orphan containers ([${orphans.map(containerName).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
  );
}

async function stopAndRemove(engine: ComposeEngine, container: ContainerSummary, timeout: number | undefined, volumes: boolean, options: ComposeOptions): Promise<void> {
  const name = containerName(container);
  if (container.State === 'running' || container.State === 'paused' || container.State === 'restarting') {
    report(options, 'Container', name, 'Stopping', false);
    await engine.stop(container.Id, stopTimeout(timeout));
    report(options, 'Container', name, 'Stopped', false);
  }
  report(options, 'Container', name, 'Removing', false);
  await engine.remove(container.Id, { force: true, volumes });
  report(options, 'Container', name, 'Removed', true);
}

/** The image's ID compose records on a container (`com.docker.compose.image`). */
async function imageId(engine: ComposeEngine, project: ComposeProject, service: ServiceConfig): Promise<string | undefined> {
  try {
    return (await engine.inspectImage(serviceImage(project, service))).Id;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Make one container of a service: created under `name`, joined to the service's other
 * networks, its environment or inline secrets and configs written in (compose's
 * injectSecrets/injectConfigs) — a file the service mounts from no file on the host.
 */
async function makeContainer(engine: ComposeEngine, project: ComposeProject, service: ServiceConfig, identity: Parameters<typeof containerOptions>[2], options: ComposeOptions): Promise<string> {
  const created = await engine.create({ ...containerOptions(project, service, identity), ...(options.signal ? { signal: options.signal } : {}) });
  for (const warning of created.warnings) report(options, 'Service', service.name, 'Warning', true, warning);
  for (const extra of extraNetworks(project, service, identity)) {
    const { network, ...endpoint } = extra;
    await engine.connect(network, created.id, endpoint);
  }
  await injectFileObjects(engine, project, service, created.id);
  return created.id;
}

/** Secrets and configs with no file on the host, written into the container at their targets before it starts. */
export async function injectFileObjects(engine: ComposeEngine, project: ComposeProject, service: ServiceConfig, id: string): Promise<void> {
  for (const ref of fileReferences(project, service)) {
    if (ref.content === undefined) continue;
    const mode = ref.mode ?? 0o444;
    const entry = tarDataEntry(
      { name: ref.target.replace(/^\/+/, ''), mode, uid: Number(ref.uid ?? 0), gid: Number(ref.gid ?? 0), mtime: 0 },
      Buffer.from(ref.content),
    );
    await engine.putArchive(id, '/', Readable.from([...entry, TAR_END]));
  }
}

/** `--force-recreate`, `--no-recreate`, or (default) when the configuration or the image changed. */
function mustRecreate(project: ComposeProject, service: ServiceConfig, container: ContainerSummary, policy: CreateOptions['recreate'], image: string | undefined): boolean {
  if (policy === 'never') return false;
  if (policy === 'force') return true;
  if (container.Labels[LABEL.configHash] !== configHash(project, service)) return true;
  return image !== undefined && container.Labels[LABEL.image] !== undefined && container.Labels[LABEL.image] !== image;
}

/**
 * compose's convergence of one service: the replicas it should have, the diverged ones
 * recreated (a new container under a temporary name, the old one stopped and removed, the
 * new one renamed), the surplus (diverged first, then the highest numbers) removed, the
 * missing ones created with the next free numbers.
 */
async function convergeService(engine: ComposeEngine, project: ComposeProject, service: ServiceConfig, existing: ContainerSummary[], options: CreateOptions, policy: CreateOptions['recreate']): Promise<void> {
  const expected = options.scale?.[service.name] ?? service.scale;
  if (expected > 1 && service.container_name !== undefined) {
    throw new CtrError(
      'InvalidArgument',
      `WARNING: The "${service.name}" service is using the custom container name "${service.container_name}". Docker requires each container to have a unique name. Remove the custom name to scale the service.`,
    );
  }
  const image = await imageId(engine, project, service);
  const obsolete = (c: ContainerSummary): boolean => mustRecreate(project, service, c, policy, image);
  // Kept first: up-to-date ones by their number, then the obsolete ones; the tail is scaled away.
  const ordered = [...existing].sort((a, b) => Number(obsolete(a)) - Number(obsolete(b)) || containerNumber(a) - containerNumber(b));
  const keep = ordered.slice(0, expected);
  const surplus = ordered.slice(expected);
  const tasks: Promise<void>[] = surplus.map((c) => stopAndRemove(engine, c, undefined, false, options));
  for (const container of keep) {
    const name = containerName(container);
    if (obsolete(container)) {
      tasks.push(recreate(engine, project, service, container, image, options));
    } else if (container.State === 'running') {
      report(options, 'Container', name, 'Running', true);
    } else {
      report(options, 'Container', name, 'Created', true);
    }
  }
  let next = Math.max(0, ...existing.map(containerNumber)) + 1;
  for (let i = keep.length; i < expected; i++) {
    const number = next++;
    const name = serviceContainerName(project, service, number);
    tasks.push(
      (async () => {
        report(options, 'Container', name, 'Creating', false);
        await makeContainer(engine, project, service, { number, ...(image ? { imageId: image } : {}) }, options);
        report(options, 'Container', name, 'Created', true);
      })(),
    );
  }
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function recreate(engine: ComposeEngine, project: ComposeProject, service: ServiceConfig, old: ContainerSummary, image: string | undefined, options: CreateOptions): Promise<void> {
  const shown = containerName(old);
  report(options, 'Container', shown, 'Recreate', false);
  const number = containerNumber(old);
  const name = serviceContainerName(project, service, number);
  const mounts = options.renewAnonVolumes ? [] : (await engine.inspect(old.Id)).Mounts;
  const id = await makeContainer(engine, project, service, { number, name: `${old.Id.slice(0, 12)}_${name}`, ...(image ? { imageId: image } : {}), replaces: { id: old.Id, mounts } }, options);
  await engine.stop(old.Id, {});
  await engine.remove(old.Id, {});
  await engine.rename(id, name);
  report(options, 'Container', shown, 'Recreated', true);
}

/** `compose create`: images, networks and volumes, then each service's containers converged, dependencies first. */
export async function create(engine: ComposeEngine, project: ComposeProject, options: CreateOptions): Promise<void> {
  // Before anything is made: a cycle would leave networks and images for nothing.
  checkCycles(project);
  const services = targetServices(project, options.services, !options.noDeps);
  const named = new Set(options.services && options.services.length > 0 ? options.services : services);
  await ensureImages(engine, project, services, { ...options, ...(options.onBuildOutput ? { onOutput: options.onBuildOutput } : {}) });
  await ensureNetworksAndVolumes(engine, project, services, options);
  const observed = await projectContainers(engine, project.name, { all: true, oneoff: 'include' });
  await handleOrphans(engine, project, observed, options.removeOrphans, options);
  await inDependencyOrder(project, services, async (name) => {
    options.signal?.throwIfAborted();
    const policy = named.has(name) ? options.recreate : options.recreateDependencies ? 'force' : options.recreate === 'never' ? 'never' : 'diverged';
    const existing = observed.filter((c) => serviceOf(c) === name && c.Labels[LABEL.oneoff] !== 'True');
    await convergeService(engine, project, project.services[name]!, existing, options, policy);
  }, options);
}

/** A Writable that hands on whole lines (the last one at the end, even without its newline). */
function lineWriter(onLine: (line: string) => void): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback): void {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line.replace(/\r$/, ''));
      callback();
    },
    final(callback): void {
      if (pending !== '') onLine(pending);
      pending = '';
      callback();
    },
  });
}

/** Which services' output attached `up` shows: compose's `--attach`, `--attach-dependencies`, `--no-attach` and `attach: false`. */
function attachedServices(project: ComposeProject, options: UpOptions, started: string[]): Set<string> {
  const chosen = options.attachTo && options.attachTo.length > 0 ? options.attachTo : options.attachDependencies || !options.services?.length ? started : options.services;
  return new Set(chosen.filter((name) => project.services[name]?.attach !== false && !(options.noAttach ?? []).includes(name)));
}

interface Attacher {
  /** Start the container with its output attached (or attach to it, running), and report its exit. */
  start(container: ContainerSummary): Promise<void>;
  wanted(service: string): boolean;
}

function makeAttacher(engine: ComposeEngine, onAttach: (event: AttachEvent) => void, services: Set<string>, tracked: Promise<void>[], signal: AbortSignal | undefined): Attacher {
  return {
    wanted: (service) => services.has(service),
    async start(container): Promise<void> {
      const service = serviceOf(container);
      const name = containerName(container);
      const stream = (kind: 'stdout' | 'stderr'): Writable => lineWriter((line) => onAttach({ type: 'log', service, container: name, stream: kind, line }));
      const io = { stdout: stream('stdout'), stderr: stream('stderr'), ...(signal ? { signal } : {}) };
      let attached: Promise<void>;
      if (container.State === 'running') {
        attached = engine.attach(container.Id, io);
      } else {
        attached = (await engine.start(container.Id, io)).attached ?? Promise.resolve();
      }
      tracked.push(
        attached
          .then(async () => {
            const { StatusCode } = await engine.wait(container.Id, signal);
            onAttach({ type: 'exit', service, container: name, exitCode: StatusCode });
          })
          .catch((error: unknown) => {
            if (!signal?.aborted) throw error;
          }),
      );
    },
  };
}

/**
 * `compose up`: create, then start the services in dependency order, each once its
 * dependencies meet their conditions; attached (onAttach), their output comes from before
 * their start. `--wait` returns once all run (healthy where they have a health check).
 */
export async function up(engine: ComposeEngine, project: ComposeProject, options: UpOptions): Promise<UpResult> {
  await create(engine, project, options);
  // compose's Up in dry-run: an attached up ends once its containers are created, there being no process to attach to.
  if (options.noStart || (options.onAttach && isDryRun(engine))) return {};
  const services = targetServices(project, options.services, !options.noDeps);
  const tracked: Promise<void>[] = [];
  const attacher = options.onAttach ? makeAttacher(engine, options.onAttach, attachedServices(project, options, services), tracked, options.signal) : undefined;
  await startServices(engine, project, services, options, attacher);
  if (options.wait) await waitRunning(engine, project, services, options.waitTimeout, options);
  return attacher ? { attached: Promise.all(tracked).then(() => undefined) } : {};
}

async function startServices(engine: ComposeEngine, project: ComposeProject, services: string[], options: ComposeOptions, attacher?: Attacher): Promise<void> {
  const all = await projectContainers(engine, project.name, { all: true, services });
  await inDependencyOrder(project, services, async (name) => {
    options.signal?.throwIfAborted();
    const service = project.services[name]!;
    await waitDependencies(engine, project, service, all, options);
    const containers = all.filter((c) => serviceOf(c) === name);
    if (containers.length === 0) {
      if (service.scale === 0) return;
      throw new CtrError('NotFound', `service "${name}" has no container to start`);
    }
    for (const container of containers) {
      if (container.State === 'running') {
        // Already up: attached `up` follows its output from now on.
        if (attacher?.wanted(name)) await attacher.start(container);
        continue;
      }
      report(options, 'Container', containerName(container), 'Starting', false);
      if (attacher?.wanted(name)) await attacher.start(container);
      else await startContainer(engine, container);
      report(options, 'Container', containerName(container), 'Started', true);
    }
  }, options);
}

async function startContainer(engine: ComposeEngine, container: ContainerSummary): Promise<void> {
  if (container.State === 'paused') await engine.unpause(container.Id);
  else await engine.start(container.Id);
}

const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });

type Condition = 'service_healthy' | 'service_completed_successfully' | 'running_or_healthy';

/**
 * One poll of a dependency's containers (compose's isServiceHealthy / isServiceCompleted):
 * true once met, false while not yet, an error in compose's words once it cannot be.
 */
async function conditionMet(engine: ComposeEngine, containers: ContainerSummary[], condition: Condition, dependency: string, signal: AbortSignal | undefined): Promise<boolean> {
  for (const container of containers) {
    const inspect = await engine.inspect(container.Id);
    const name = inspect.Name.replace(/^\//, '');
    if (condition === 'service_completed_successfully') {
      const exitCode = await exitCodeOf(engine, container.Id, inspect, signal);
      if (exitCode === undefined) return false;
      if (exitCode !== 0) throw new CtrError('Conflict', `service "${dependency}" didn't complete successfully: exit ${exitCode}`);
      continue;
    }
    if (inspect.State.Status === 'exited') throw new CtrError('Conflict', `container ${name} exited (${inspect.State.ExitCode})`);
    const health = inspect.State.Health?.Status;
    if (condition === 'running_or_healthy' && health === undefined) {
      if (inspect.State.Status !== 'running') return false;
      continue;
    }
    if (health === undefined) throw new CtrError('Conflict', `container ${name} has no healthcheck configured`);
    if (health === 'unhealthy') throw new CtrError('Conflict', `container ${name} is unhealthy`);
    if (health !== 'healthy') return false;
  }
  return true;
}

/**
 * A dependency's exit code, once it has exited. A dry run's pretended process, which inspect
 * shows running, never ends by itself: its engine's `wait` answers for it, as compose's dry run
 * would otherwise wait on it for ever; a real one still running is waited for to its end.
 */
async function exitCodeOf(engine: ComposeEngine, id: string, inspect: ContainerInspect, signal: AbortSignal | undefined): Promise<number | undefined> {
  if (inspect.State.Status === 'exited') return inspect.State.ExitCode;
  return isDryRun(engine) ? (await engine.wait(id, signal)).StatusCode : undefined;
}

async function waitFor(engine: ComposeEngine, containers: ContainerSummary[], condition: Condition, dependency: string, signal: AbortSignal | undefined): Promise<void> {
  while (!(await conditionMet(engine, containers, condition, dependency, signal))) await sleep(POLL_MS, signal);
}

/** compose's waitDependencies: each dependency with a condition beyond "started" is waited for, its failure in compose's words. */
export async function waitDependencies(engine: ComposeEngine, project: ComposeProject, service: ServiceConfig, all: ContainerSummary[], options: ComposeOptions): Promise<void> {
  await Promise.all(
    Object.entries(service.depends_on).map(async ([dependency, config]) => {
      if (config.condition === 'service_started') return;
      const target = project.services[dependency];
      if (!target || target.scale === 0) return;
      const containers = all.filter((c) => serviceOf(c) === dependency);
      for (const c of containers) report(options, 'Container', containerName(c), 'Waiting', false);
      if (containers.length === 0) {
        if (config.required) throw new CtrError('NotFound', `${service.name} is missing dependency ${dependency}`);
        report(options, 'Service', service.name, 'Warning', true, `${service.name} is missing dependency ${dependency}`);
        return;
      }
      try {
        await waitFor(engine, containers, config.condition, dependency, options.signal);
      } catch (error) {
        if (!(error instanceof CtrError) || error.code !== 'Conflict') throw error;
        const completion = completed(config.condition);
        if (!config.required) {
          const detail = completion ? `optional dependency ${error.message.replace(/^service /, '')}` : `optional dependency "${dependency}" failed to start`;
          for (const c of containers) report(options, 'Container', containerName(c), 'Skipped', true, detail);
          return;
        }
        for (const c of containers) report(options, 'Container', containerName(c), 'Error', true, completion ? error.message : undefined);
        throw completion ? error : new CtrError('Conflict', `dependency failed to start: ${error.message}`, { cause: error });
      }
      for (const c of containers) report(options, 'Container', containerName(c), completed(config.condition) ? 'Exited' : 'Healthy', true);
    }),
  );
}

const completed = (condition: string): boolean => condition === 'service_completed_successfully';

/** `--wait`: every container of the services running, healthy where it has a health check, or compose's error. */
async function waitRunning(engine: ComposeEngine, project: ComposeProject, services: string[], timeout: number | undefined, options: ComposeOptions): Promise<void> {
  const containers = await projectContainers(engine, project.name, { all: true, services });
  const deadline = timeout !== undefined && timeout > 0 ? AbortSignal.timeout(timeout * 1000) : undefined;
  const signal = deadline && options.signal ? AbortSignal.any([deadline, options.signal]) : (deadline ?? options.signal);
  try {
    await eachContainer(containers, options, ['Waiting', 'Healthy'], (c) => waitFor(engine, [c], 'running_or_healthy', serviceOf(c), signal));
  } catch (error) {
    if (deadline?.aborted) throw new CtrError('Aborted', `application not healthy after ${formatDuration((timeout ?? 0) * 1e9)}`);
    throw error;
  }
}

/** `compose start`: the services' existing containers, in dependency order (the named ones' dependencies too). */
export async function start(engine: ComposeEngine, project: ComposeProject, options: StartOptions): Promise<void> {
  const services = targetServices(project, options.services, false);
  const present = await projectContainers(engine, project.name, { all: true, services });
  await startServices(engine, project, services.filter((s) => present.some((c) => serviceOf(c) === s)), options);
  if (options.wait) await waitRunning(engine, project, services, options.waitTimeout, options);
}

/** `compose stop`: running containers, dependents before what they depend on. */
export async function stop(engine: ComposeEngine, project: ComposeProject, options: StopOptions): Promise<void> {
  const services = targetServices(project, options.services, false);
  const running = await projectContainers(engine, project.name, { services });
  await inReverseDependencyOrder(
    project,
    services,
    (name) => eachContainer(running.filter((c) => serviceOf(c) === name), options, ['Stopping', 'Stopped'], (c) => engine.stop(c.Id, stopTimeout(options.timeout))),
    options,
  );
}

/** The services and, transitively, those whose depends_on asks to be restarted with one of them (`restart: true`). */
function withRestartDependents(project: ComposeProject, names: readonly string[]): string[] {
  const all = new Set(names);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, service] of Object.entries(project.services)) {
      if (all.has(name) || !Object.entries(service.depends_on).some(([dependency, config]) => config.restart && all.has(dependency))) continue;
      all.add(name);
      grew = true;
    }
  }
  return Object.keys(project.services).filter((name) => all.has(name));
}

/**
 * `compose restart`: each container stopped and started again, dependencies first; the named
 * services' dependents that ask for it (`restart: true`) with them, unless `noDeps`.
 */
export async function restart(engine: ComposeEngine, project: ComposeProject, options: StopOptions & { noDeps?: boolean }): Promise<void> {
  const named = targetServices(project, options.services, false);
  const services = options.noDeps || !options.services?.length ? named : withRestartDependents(project, named);
  const containers = await projectContainers(engine, project.name, { all: true, services });
  await inDependencyOrder(
    project,
    services,
    (name) => eachContainer(containers.filter((c) => serviceOf(c) === name), options, ['Restarting', 'Started'], (c) => engine.restart(c.Id, stopTimeout(options.timeout))),
    options,
  );
}

/** One action on each running container of the services, with its progress words. */
async function eachRunning(engine: ComposeEngine, project: ComposeProject, options: ServicesOptions, words: [string, string], action: (c: ContainerSummary) => Promise<void>, filter: (c: ContainerSummary) => boolean = () => true): Promise<void> {
  const services = targetServices(project, options.services, false);
  await eachContainer((await projectContainers(engine, project.name, { services })).filter(filter), options, words, action);
}

/** `compose kill`: a signal (SIGKILL by default) to each running container. */
export async function kill(engine: ComposeEngine, project: ComposeProject, options: KillOptions): Promise<void> {
  if (options.removeOrphans) await handleOrphans(engine, project, await projectContainers(engine, project.name, { all: true, oneoff: 'include' }), true, options);
  await eachRunning(engine, project, options, ['Killing', 'Killed'], (c) => engine.kill(c.Id, options.killSignal ?? 'SIGKILL'));
}

export async function pause(engine: ComposeEngine, project: ComposeProject, options: ServicesOptions): Promise<void> {
  await eachRunning(engine, project, options, ['Pausing', 'Paused'], (c) => engine.pause(c.Id), (c) => c.State === 'running');
}

export async function unpause(engine: ComposeEngine, project: ComposeProject, options: ServicesOptions): Promise<void> {
  await eachRunning(engine, project, options, ['Unpausing', 'Unpaused'], (c) => engine.unpause(c.Id), (c) => c.State === 'paused');
}

/** `compose rm`: the stopped containers (running ones stopped first with `stop`); the names removed. */
export async function remove(engine: ComposeEngine, project: ComposeProject, options: RemoveOptions): Promise<string[]> {
  const services = targetServices(project, options.services, false);
  if (options.stop) await stop(engine, project, options);
  const stopped = (await projectContainers(engine, project.name, { all: true, services })).filter((c) => c.State !== 'running' && c.State !== 'paused' && c.State !== 'restarting');
  await Promise.all(stopped.map((c) => stopAndRemove(engine, c, undefined, options.volumes ?? false, options)));
  return stopped.map(containerName);
}

/**
 * `compose down`: the project's containers (one-offs too) stopped and removed, dependents
 * first, then its networks; with `volumes` its named volumes and the containers' anonymous
 * ones; with `images` the images (built ones only for `local`).
 */
export async function down(engine: ComposeEngine, project: ComposeProject, options: DownOptions): Promise<void> {
  const containers = await projectContainers(engine, project.name, { all: true, oneoff: 'include' });
  const services = Object.keys(project.services);
  const volumes = options.volumes ?? false;
  await inReverseDependencyOrder(project, services, async (name) => {
    await Promise.all(containers.filter((c) => serviceOf(c) === name).map((c) => stopAndRemove(engine, c, options.timeout, volumes, options)));
  }, options);
  const orphans = containers.filter((c) => !(serviceOf(c) in project.services));
  if (options.removeOrphans) await Promise.all(orphans.map((c) => stopAndRemove(engine, c, options.timeout, volumes, options)));
  let removedSomething = containers.length > 0;
  for (const [key, network] of Object.entries(project.networks)) {
    if (network.external) continue;
    const found = (await engine.networks({ filters: { label: [`${LABEL.project}=${project.name}`, `${LABEL.network}=${key}`] } })).filter((n) => n.Name === network.name);
    for (const n of found) {
      removedSomething = true;
      report(options, 'Network', n.Name, 'Removing', false);
      try {
        await engine.removeNetwork(n.Id);
        report(options, 'Network', n.Name, 'Removed', true);
      } catch (error) {
        if (isNotFound(error)) continue;
        report(options, 'Network', n.Name, 'Error', true, 'Resource is still in use');
      }
    }
  }
  if (volumes) {
    for (const volume of Object.values(project.volumes)) {
      if (volume.external) continue;
      try {
        const info = await engine.inspectVolume(volume.name);
        if (info.Labels[LABEL.project] !== project.name) continue;
      } catch (error) {
        if (isNotFound(error)) continue;
        throw error;
      }
      removedSomething = true;
      report(options, 'Volume', volume.name, 'Removing', false);
      try {
        await engine.removeVolume(volume.name);
        report(options, 'Volume', volume.name, 'Removed', true);
      } catch (error) {
        report(options, 'Volume', volume.name, 'Error', true, (error as Error).message);
      }
    }
  }
  if (options.images) removedSomething = (await removeImages(engine, project, options.images, options)) || removedSomething;
  if (!removedSomething) report(options, 'Service', '', 'Warning', true, `No resource found to remove for project "${project.name}".`);
}

async function removeImages(engine: ComposeEngine, project: ComposeProject, which: 'local' | 'all', options: ComposeOptions): Promise<boolean> {
  const names = new Set(Object.values(project.services).filter((s) => which === 'all' || s.image === undefined).map((s) => serviceImage(project, s)));
  let removed = false;
  for (const image of names) {
    try {
      await engine.inspectImage(image);
    } catch (error) {
      if (isNotFound(error)) continue;
      throw error;
    }
    report(options, 'Image', image, 'Removing', false);
    await engine.removeImage(image);
    report(options, 'Image', image, 'Removed', true);
    removed = true;
  }
  return removed;
}

/** Docker's displayable ports: `0.0.0.0:8080->80/tcp, 53/udp`. */
function displayPorts(ports: ContainerSummary['Ports']): string {
  return ports
    .map((p) => (p.PublicPort !== undefined ? `${p.IP?.includes(':') ? `[${p.IP}]` : (p.IP ?? '')}:${p.PublicPort}->${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`))
    .join(', ');
}

/** `compose ps`: the project's containers as `docker compose ps --format json` rows. */
export async function ps(engine: ComposeEngine, project: ComposeProject, options: PsOptions): Promise<ComposeContainer[]> {
  const services = namedServices(project, options.services);
  const all = options.all ?? false;
  let containers = await projectContainers(engine, project.name, { all, oneoff: all ? 'include' : 'exclude', ...(services ? { services } : {}) });
  if (options.status && options.status.length > 0) containers = containers.filter((c) => options.status!.includes(c.State));
  const now = Date.now() / 1000;
  return Promise.all(
    containers.map(async (c): Promise<ComposeContainer> => {
      const inspect = await engine.inspect(c.Id);
      const name = containerName(c);
      return {
        ID: c.Id,
        Name: name,
        Names: name,
        Image: c.Image,
        Command: JSON.stringify(c.Command),
        Project: c.Labels[LABEL.project] ?? '',
        Service: serviceOf(c),
        Created: c.Created,
        RunningFor: `${humanDuration(Math.max(0, now - c.Created) * 1000)} ago`,
        State: c.State,
        Status: c.Status,
        Health: c.State === 'running' ? (inspect.State.Health?.Status ?? '') : '',
        ExitCode: c.State === 'exited' || c.State === 'dead' ? inspect.State.ExitCode : 0,
        Labels: Object.entries(c.Labels)
          .map(([k, v]) => `${k}=${v}`)
          .sort()
          .join(','),
        LocalVolumes: String(c.Mounts.filter((m) => m.Type === 'volume' && (m.Driver ?? 'local') === 'local').length),
        Mounts: c.Mounts.map((m) => m.Name || m.Source).join(','),
        Networks: Object.keys(c.NetworkSettings.Networks ?? {}).sort().join(','),
        Ports: displayPorts(c.Ports),
        Publishers: c.Ports.map((p) => ({ URL: p.IP ?? '', TargetPort: p.PrivatePort, PublishedPort: p.PublicPort ?? 0, Protocol: p.Type })),
        Size: '0B',
      };
    }),
  );
}

/**
 * A project known by its name alone, as compose's projectFromName and getProjectWithResources
 * make it for `-p NAME` without a compose file: a service for each service its containers are
 * labelled with (one-offs aside), running the image they run, with as many replicas as there
 * are and the dependencies their depends_on label records; the networks and volumes labelled
 * with the project, under their keys. With no container nor resource left, a project with
 * nothing in it (compose's verbs then have nothing to do, not an error).
 */
export async function projectFromContainers(engine: ComposeEngine, name: string): Promise<ComposeProject> {
  const label = [`${LABEL.project}=${name}`];
  const [containers, networks, volumes] = await Promise.all([projectContainers(engine, name, { all: true }), engine.networks({ filters: { label } }), engine.volumes({ filters: { label } })]);
  const byService = new Map<string, ContainerSummary[]>();
  for (const c of containers) byService.set(serviceOf(c), [...(byService.get(serviceOf(c)) ?? []), c]);
  const services: Record<string, ServiceConfig> = {};
  for (const [service, replicas] of byService) {
    const first = replicas[0]!;
    services[service] = await normalizeService(service, { image: first.Image, scale: replicas.length, depends_on: dependenciesOf(first) }, () => undefined);
  }
  return {
    name,
    working_dir: containers[0]?.Labels[LABEL.workingDir] ?? '',
    config_files: [],
    services,
    networks: Object.fromEntries(networks.map((n) => [n.Labels[LABEL.network] ?? n.Name, normalizeNetwork(name, n.Labels[LABEL.network] ?? n.Name, { name: n.Name })])),
    volumes: Object.fromEntries(volumes.map((v) => [v.Labels[LABEL.volume] ?? v.Name, normalizeVolume(name, v.Labels[LABEL.volume] ?? v.Name, { name: v.Name })])),
    secrets: {},
    configs: {},
    disabled_services: {},
    environment: {},
  };
}

/** A container's depends_on label (`svc:condition:restart`, comma-joined) as the model's depends_on; an older label's bare name is a started dependency to restart with. */
function dependenciesOf(container: ContainerSummary): Record<string, ServiceDependency> {
  const dependencies: Record<string, ServiceDependency> = {};
  for (const entry of (container.Labels[LABEL.dependsOn] ?? '').split(',')) {
    const [service, condition = 'service_started', restart = 'true'] = entry.split(':');
    if (service) dependencies[service] = { condition: condition as ServiceDependency['condition'], required: true, restart: restart === 'true' };
  }
  return dependencies;
}

/** `compose ls`: every project with containers (running ones, or all with `all`), its states counted as compose shows them. */
export async function listProjects(engine: ComposeEngine, options: { all?: boolean } = {}): Promise<ComposeProjectSummary[]> {
  const containers = await engine.ps({ all: options.all ?? false, filters: { label: [LABEL.project] } });
  const projects = new Map<string, { states: Map<string, number>; files: Set<string> }>();
  for (const c of containers) {
    const name = c.Labels[LABEL.project] ?? '';
    const entry = projects.get(name) ?? { states: new Map(), files: new Set() };
    entry.states.set(c.State, (entry.states.get(c.State) ?? 0) + 1);
    for (const file of (c.Labels[LABEL.configFiles] ?? '').split(',')) if (file) entry.files.add(file);
    projects.set(name, entry);
  }
  return [...projects.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, { states, files }]) => ({
      Name: name,
      Status: [...states.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([state, count]) => `${state}(${count})`)
        .join(', '),
      ConfigFiles: [...files].join(','),
    }));
}
