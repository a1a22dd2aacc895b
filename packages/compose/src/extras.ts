import type { Readable, Writable } from 'node:stream';
import type { ContainerSummary } from '@ctr/engine';
import { invalidArgument, notFound } from '@ctr/errors';
import type { ComposeOptions, ServicesOptions } from './compose';
import { namedServices, projectService } from './images';
import { LABEL, containerName, containerService, projectContainers, type ComposeEngine } from './labels';
import { down, up } from './lifecycle';
import type { ComposeProject } from './model';
import { specifiedContainer } from './operations';
import { progressOf, report } from './resources';

/** compose's wait, cp, events, attach, scale, commit and export: the verbs on one replica or on the project's events. */

export interface WaitOptions extends ServicesOptions {
  /** `--down-project`: the project taken down (orphans too) once the containers have stopped. */
  downProject?: boolean;
  /** Each container's exit, as it comes. */
  onExit?: (container: { id: string; name: string; service: string }, exitCode: number) => void;
}

/**
 * `compose wait`: blocks until every running container of the services (one-off ones too)
 * has stopped, and answers the exit code of the last one to stop, as compose's does (each
 * exit overwrites the one before).
 */
export async function wait(engine: ComposeEngine, project: ComposeProject, options: WaitOptions): Promise<number> {
  const services = namedServices(project, options.services);
  const containers = await projectContainers(engine, project.name, { ...(services ? { services } : {}), oneoff: 'include' });
  if (containers.length === 0) throw notFound(`no containers for project ${JSON.stringify(project.name)}`);
  let exitCode = 0;
  await Promise.all(
    containers.map(async (container) => {
      const { StatusCode } = await engine.wait(container.Id, options.signal);
      options.onExit?.({ id: container.Id, name: containerName(container), service: containerService(container) }, StatusCode);
      exitCode = StatusCode;
    }),
  );
  if (options.downProject) await down(engine, project, { removeOrphans: true, ...progressOf(options) });
  return exitCode;
}

/** A container event of the project, as compose's `events` hands it on. */
export interface ComposeEvent {
  /** Nanoseconds since the epoch. */
  timeNano: bigint;
  service: string;
  /** The container's ID. */
  container: string;
  /** The engine's action: create, start, die, destroy… */
  action: string;
  /** The event's attributes but compose's own labels (name, image, the user's labels, exitCode…). */
  attributes: Record<string, string>;
}

export interface EventsOptions extends ServicesOptions {
  /** `--since`: replay the events from then on (seconds since the epoch, or a Date). */
  since?: number | Date;
  /** `--until`: end there; without it the events are followed until `signal` aborts. */
  until?: number | Date;
}

/** `compose events`: the engine's events of the project's service containers (not `run`'s). */
export async function* events(engine: ComposeEngine, project: ComposeProject, options: EventsOptions): AsyncGenerator<ComposeEvent> {
  const named = namedServices(project, options.services);
  const wanted = named && new Set(named);
  const { since, until, signal } = options;
  const filters = { type: ['container'], label: [`${LABEL.project}=${project.name}`] };
  const stream = engine.events({ filters, ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), ...(signal ? { signal } : {}) });
  for await (const event of stream) {
    const attributes = event.Actor.Attributes;
    if (attributes[LABEL.oneoff] === 'True') continue;
    const service = attributes[LABEL.service] ?? '';
    if (wanted && !wanted.has(service)) continue;
    yield {
      timeNano: event.timeNano ? BigInt(event.timeNano) : BigInt(event.time) * 1_000_000_000n,
      service,
      container: event.Actor.ID,
      action: event.Action,
      attributes: Object.fromEntries(Object.entries(attributes).filter(([key]) => !key.startsWith('com.docker.compose.'))),
    };
  }
}

export interface ReplicaOptions {
  /** `--index`: which replica (default the lowest-numbered). */
  index?: number;
}

export interface CopyTargetsOptions extends ReplicaOptions {
  /** `--all`: `run`'s one-off containers too. */
  all?: boolean;
  /** Out of the service (`SERVICE:SRC DEST`) or into it (`SRC SERVICE:DEST`). */
  direction: 'from' | 'to';
}

/**
 * The containers `compose cp` copies with (compose's listContainersTargetedForCopy), stopped
 * ones too: replica `index` alone; else out of the service its first container, into it every one.
 */
export async function copyTargets(engine: ComposeEngine, project: ComposeProject, service: string, options: CopyTargetsOptions): Promise<ContainerSummary[]> {
  if (options.index) return [await specifiedContainer(engine, project, service, options.index, true)];
  const found = await projectContainers(engine, project.name, { services: [service], all: true, oneoff: options.all ? 'include' : 'exclude' });
  if (found.length === 0) throw notFound(`no container found for service ${JSON.stringify(service)}`);
  return options.direction === 'from' ? found.slice(0, 1) : found;
}

export interface AttachOptions extends ReplicaOptions {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  detachKeys?: string;
  signal?: AbortSignal;
}

/** The running container of a service that attach, commit and export act on: replica `index`, else the lowest-numbered. */
export function replica(engine: ComposeEngine, project: ComposeProject, service: string, options: ReplicaOptions): Promise<ContainerSummary> {
  return specifiedContainer(engine, project, service, options.index, false);
}

/** `compose attach`: the streams of a service's running container (replica `index`); settles when it closes them. */
export async function attach(engine: ComposeEngine, project: ComposeProject, service: string, options: AttachOptions): Promise<void> {
  const { index, ...io } = options;
  const container = await replica(engine, project, service, index ? { index } : {});
  await engine.attach(container.Id, io);
}

/**
 * `compose scale SERVICE=N…`: the services converged to these numbers of replicas (and
 * started), by `up`'s own convergence; what they depend on with them unless `noDeps`.
 */
export async function scale(engine: ComposeEngine, project: ComposeProject, replicas: Record<string, number>, options: ComposeOptions & { noDeps?: boolean }): Promise<void> {
  const services = Object.keys(replicas).sort();
  const scaled: ComposeProject = { ...project, services: { ...project.services } };
  for (const name of services) {
    const count = replicas[name] as number;
    if (!Number.isInteger(count) || count < 0) throw invalidArgument(`invalid scale specifier: ${name}=${count}`);
    // The project's own number changes too: `up` starts a service of 0 replicas as having none to start.
    scaled.services[name] = { ...projectService(project, name), scale: count };
  }
  await up(engine, scaled, { ...progressOf(options), services, scale: replicas, ...(options.noDeps ? { noDeps: true } : {}) });
}

export interface CommitOptions extends ReplicaOptions, ComposeOptions {
  /** `REPOSITORY[:TAG]` for the new image. */
  reference?: string;
  /** `-m`. */
  comment?: string;
  /** `-a`. */
  author?: string;
  /** `-c`: Dockerfile instructions applied to the image. */
  changes?: string[];
  /** `-p` (default true): the container paused while it is read. */
  pause?: boolean;
}

/** `compose commit`: an image of a service's running container (replica `index`, one-off ones included); its ID. */
export async function commit(engine: ComposeEngine, project: ComposeProject, service: string, options: CommitOptions): Promise<{ id: string }> {
  const container = await replica(engine, project, service, options);
  const name = containerName(container);
  report(options, 'Container', name, 'Committing', false);
  const { id } = await engine.commit(container.Id, {
    ...(options.reference ? { reference: options.reference } : {}),
    ...(options.comment ? { comment: options.comment } : {}),
    ...(options.author ? { author: options.author } : {}),
    ...(options.changes ? { changes: options.changes } : {}),
    pause: options.pause !== false,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  report(options, 'Container', name, `Committed as ${id}`, true);
  return { id };
}

/** `compose export`: the filesystem of a service's running container (replica `index`) as a tar stream. */
export async function exportContainer(engine: ComposeEngine, project: ComposeProject, service: string, options: ReplicaOptions & { signal?: AbortSignal }): Promise<Readable> {
  const container = await replica(engine, project, service, options);
  return engine.export(container.Id, options.signal ? { signal: options.signal } : {});
}
