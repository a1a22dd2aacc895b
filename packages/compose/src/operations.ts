import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseTimestamp, type ContainerSummary } from '@ctr/engine';
import { invalidArgument, notFound } from '@ctr/errors';
import type { ComposeLogLine, ExecOptions, LogsOptions, PortOptions, RunOptions, ServicesOptions, TopRow } from './compose';
import { containerOptions, extraNetworks } from './convert';
import { ensureImages, projectService, selectedServices, withDependencies } from './images';
import { LABEL, containerName, containerNumber, containerService, projectContainers, type ComposeEngine } from './labels';
import { interleave, mergeByTime, type LogSource } from './log-lines';
import { injectFileObjects, up, waitDependencies } from './lifecycle';
import type { ComposeProject, ServiceConfig } from './model';
import { ensureNetworksAndVolumes, progressOf } from './resources';

/**
 * The container of a service a per-container verb acts on (compose's getSpecifiedContainer):
 * replica `index`, else the lowest-numbered one, one-off containers last.
 */
export async function specifiedContainer(engine: ComposeEngine, project: ComposeProject, service: string, index: number | undefined, all: boolean): Promise<ContainerSummary> {
  projectService(project, service);
  const found = (await projectContainers(engine, project.name, { services: [service], all, oneoff: 'include' }))
    .filter((container) => !index || containerNumber(container) === index)
    .sort((a, b) => Number(a.Labels[LABEL.oneoff] === 'True') - Number(b.Labels[LABEL.oneoff] === 'True') || containerNumber(a) - containerNumber(b));
  const chosen = found[0];
  if (!chosen) throw notFound(index ? `service ${JSON.stringify(service)} is not running container #${index}` : `service ${JSON.stringify(service)} is not running`);
  return chosen;
}

/** `--since` / `--until` as docker's client reads them (a duration back from now, a date, Unix seconds). */
function logTime(flag: 'since' | 'until', value: string | undefined): Date | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    return new Date(parseTimestamp(value));
  } catch (error) {
    throw invalidArgument(`invalid value for ${JSON.stringify(flag)}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * `compose logs`: the selected services' containers' logs (stopped ones too, not `run`'s), as
 * one. Read to their end, the lines are merged oldest first; followed, they come as the
 * containers write them, and the log ends once all of them have stopped (or `signal` aborts).
 */
export async function* logs(engine: ComposeEngine, project: ComposeProject, options: LogsOptions): AsyncGenerator<ComposeLogLine> {
  const services = selectedServices(project, options.services).map((service) => service.name);
  const since = logTime('since', options.since);
  const until = logTime('until', options.until);
  let containers = await projectContainers(engine, project.name, { services, all: true });
  if (options.index) {
    containers = containers.filter((container) => containerNumber(container) === options.index);
    if (containers.length === 0) {
      const named = options.services?.length === 1 ? ` ${JSON.stringify(options.services[0])}` : '';
      throw notFound(`service${named} is not running container #${options.index}`);
    }
  }
  const stop = new AbortController();
  const abort = (): void => stop.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  if (options.signal?.aborted) stop.abort();
  const sources: LogSource[] = containers.map((container) => ({
    service: containerService(container),
    container: containerName(container),
    entries: engine.logs(container.Id, {
      follow: options.follow === true,
      ...(options.tail !== undefined && options.tail !== 'all' ? { tail: options.tail } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      signal: stop.signal,
    }),
  }));
  try {
    for await (const { source, entry } of options.follow ? interleave(sources, stop) : mergeByTime(sources)) {
      yield { service: source.service, container: source.container, stream: entry.stream, line: entry.line, ...(options.timestamps ? { timestamp: entry.time } : {}) };
    }
  } finally {
    options.signal?.removeEventListener('abort', abort);
    stop.abort();
  }
}

/** `compose exec`: a command in a service's running container (replica `index`, default the first); its exit code. */
export async function exec(engine: ComposeEngine, project: ComposeProject, service: string, options: ExecOptions): Promise<number> {
  if (options.command.length === 0) throw invalidArgument('exec requires at least 2 arguments: SERVICE COMMAND [ARGS...]');
  const container = await specifiedContainer(engine, project, service, options.index, false);
  // compose's exec is interactive by default: stdin is attached unless `interactive: false` or detached.
  const stdin = !options.detach && options.interactive !== false ? options.stdin : undefined;
  const result = await engine.exec(container.Id, {
    cmd: options.command,
    ...(options.env ? { env: options.env } : {}),
    ...(options.user !== undefined ? { user: options.user } : {}),
    ...(options.workdir !== undefined ? { workingDir: options.workdir } : {}),
    tty: options.tty === true,
    privileged: options.privileged === true,
    detach: options.detach === true,
    ...(stdin ? { stdin } : {}),
    ...(!options.detach && options.stdout ? { stdout: options.stdout } : {}),
    ...(!options.detach && options.stderr ? { stderr: options.stderr } : {}),
    ...(options.detachKeys !== undefined && stdin ? { detachKeys: options.detachKeys } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return options.detach ? 0 : result.exitCode;
}

/**
 * The service as `compose run` makes its one-off container of it (compose's applyRunOptions):
 * the command, entrypoint, user, workdir, environment and labels given; no restart policy, no
 * container_name; its ports only with `--service-ports`.
 */
function oneOffService(project: ComposeProject, service: ServiceConfig, options: RunOptions): ServiceConfig {
  const environment = { ...service.environment };
  for (const entry of options.env ?? []) {
    const eq = entry.indexOf('=');
    // `-e NAME` takes the value from the project's environment, and sets nothing when it has none.
    const value = eq >= 0 ? entry.slice(eq + 1) : project.environment[entry];
    if (value !== undefined) environment[eq >= 0 ? entry.slice(0, eq) : entry] = value;
  }
  const { restart: _restart, container_name: _name, deploy, ...kept } = service;
  return {
    ...kept,
    ...(deploy ? { deploy: { ...deploy, restart_policy: undefined } } : {}),
    environment,
    labels: { ...service.labels, ...options.labels },
    ports: options.servicePorts ? service.ports : [],
    tty: options.tty === true,
    stdin_open: options.interactive !== false && options.stdin !== undefined,
    // A new entrypoint drops the service's command unless one is given, as compose's does.
    ...(options.entrypoint ? { entrypoint: options.entrypoint, command: options.command ?? null } : {}),
    ...(options.command ? { command: options.command } : {}),
    ...(options.user !== undefined ? { user: options.user } : {}),
    ...(options.workdir !== undefined ? { working_dir: options.workdir } : {}),
  };
}

/** A `-v` value with a relative host path made absolute against the project directory, as compose resolves it. */
function runVolume(project: ComposeProject, spec: string): string {
  const colon = spec.indexOf(':');
  if (colon < 0 || !/^\.\.?(\/|$)/.test(spec.slice(0, colon))) return spec;
  return path.resolve(project.working_dir, spec.slice(0, colon)) + spec.slice(colon);
}

/**
 * `compose run`: a one-off container of a service, named `<project>-<service>-run-<12 hex>`
 * unless `name`, labelled oneoff `True`. What it depends on is brought up first (unless
 * `noDeps`) and waited for as `up` waits; its image built or pulled as `up` would; no port
 * published unless `servicePorts` or `publish`. Attached, it returns the exit code (after
 * removing the container with `rm`); detached, once it runs.
 */
export async function run(engine: ComposeEngine, project: ComposeProject, serviceName: string, options: RunOptions): Promise<{ container: string; exitCode?: number }> {
  const base = projectService(project, serviceName);
  const progress = progressOf(options);
  const pull = options.pull ?? 'policy';
  const dependencies = options.noDeps ? [] : withDependencies(project, [serviceName]).filter((name) => name !== serviceName);
  const onBuildOutput = options.onBuildOutput ? { onBuildOutput: options.onBuildOutput } : {};
  if (dependencies.length > 0) await up(engine, project, { ...progress, ...onBuildOutput, services: dependencies, pull, ...(options.build ? { build: 'always' as const } : {}) });
  const service = oneOffService(project, base, options);
  const runProject: ComposeProject = { ...project, services: { ...project.services, [serviceName]: service } };
  await ensureImages(engine, runProject, [serviceName], { ...progress, build: options.build ? 'always' : 'missing', pull, ...(options.onBuildOutput ? { onOutput: options.onBuildOutput } : {}) });
  await ensureNetworksAndVolumes(engine, runProject, [serviceName], progress);
  if (!options.noDeps) await waitDependencies(engine, runProject, service, await projectContainers(engine, project.name, { all: true }), progress);
  const slug = randomBytes(32).toString('hex');
  const identity = { number: 1, oneoff: true, name: options.name ?? `${project.name}-${serviceName}-run-${slug.slice(0, 12)}` };
  const { publish: servicePublish, volumes: serviceVolumes, labels, ...create } = containerOptions(runProject, service, identity);
  const publish = [...(servicePublish ?? []), ...(options.publish ?? [])];
  const volumes = [...(serviceVolumes ?? []), ...(options.volumes ?? []).map((spec) => runVolume(project, spec))];
  const attached = !options.detach;
  const stdin = attached && service.stdin_open ? options.stdin : undefined;
  const result = await engine.run({
    ...create,
    labels: { ...labels, [LABEL.slug]: slug },
    ...(publish.length > 0 ? { publish } : {}),
    ...(volumes.length > 0 ? { volumes } : {}),
    autoRemove: options.rm === true,
    detach: !attached,
    ...(stdin ? { stdin } : {}),
    ...(attached && options.stdout ? { stdout: options.stdout } : {}),
    ...(attached && options.stderr ? { stderr: options.stderr } : {}),
    ...(stdin && options.detachKeys !== undefined ? { detachKeys: options.detachKeys } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    // Its other networks and its secrets without a file are in place before its process starts, as up's containers'.
    beforeStart: async (id) => {
      for (const { network, ...endpoint } of extraNetworks(runProject, service, identity)) await engine.connect(network, id, endpoint);
      await injectFileObjects(engine, runProject, service, id);
    },
  });
  return attached ? { container: identity.name, ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}) } : { container: identity.name };
}

/** `compose top`: the processes of each of the selected services' running containers, by container name. */
export async function top(engine: ComposeEngine, project: ComposeProject, options: ServicesOptions): Promise<TopRow[]> {
  const services = selectedServices(project, options.services).map((service) => service.name);
  const containers = await projectContainers(engine, project.name, { services });
  const rows = await Promise.all(
    containers.map(async (container): Promise<TopRow> => {
      const { Titles, Processes } = await engine.top(container.Id);
      return { container: containerName(container), titles: Titles, processes: Processes };
    }),
  );
  return rows.sort((a, b) => a.container.localeCompare(b.container));
}

/**
 * `compose port`: where a service's container (replica `index`, default the first) publishes
 * `privatePort` (`tcp` unless `protocol`), as `host:port`; compose's error when it does not.
 */
export async function port(engine: ComposeEngine, project: ComposeProject, service: string, privatePort: number, options: PortOptions): Promise<string> {
  const protocol = options.protocol ?? 'tcp';
  const container = await specifiedContainer(engine, project, service, options.index, false);
  const published = container.Ports.find((p) => p.PrivatePort === privatePort && p.Type === protocol && p.PublicPort !== undefined);
  if (!published) {
    const ports = container.Ports.filter((p) => p.PublicPort !== undefined).map((p) => `${p.PublicPort}/${p.Type}`);
    throw notFound(`no port ${privatePort}/${protocol} for container ${containerName(container)}: ${ports.join(', ')}`);
  }
  return `${published.IP ?? ''}:${published.PublicPort}`;
}
