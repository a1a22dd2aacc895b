import { CtrError } from '@ctr/errors';
import { SERVICE_CONTEXT } from './canonical';
import type { ComposeOptions } from './compose';
import { concurrencyLimit, type Limit } from './concurrency';
import { serviceOfMode, volumesFromService } from './convert';
import type { ComposeProject, ServiceConfig } from './model';

/**
 * The services a service needs before it (compose-go's GetDependencies): its depends_on, the
 * services it links to or takes volumes from, and the one whose network namespace it joins.
 */
export function serviceDependencies(service: ServiceConfig): string[] {
  const named = [
    ...Object.keys(service.depends_on),
    ...service.links.map((link) => link.split(':')[0] ?? link),
    ...[serviceOfMode(service.network_mode), serviceOfMode(service.ipc), serviceOfMode(service.pid)].filter((s): s is string => s !== undefined),
    ...(service.volumes_from ?? []).flatMap((entry) => volumesFromService(entry)?.service ?? []),
  ];
  return [...new Set(named)];
}

/** The service an `additional_contexts` value names (`service:NAME`), if it names one. */
export function contextService(value: string): string | undefined {
  return value.startsWith(SERVICE_CONTEXT) ? value.slice(SERVICE_CONTEXT.length) : undefined;
}

/** The services a service's build takes the images of through `additional_contexts`. */
export function contextServices(service: ServiceConfig): string[] {
  return Object.values(service.build?.additional_contexts ?? {}).flatMap((value) => contextService(value) ?? []);
}

/**
 * What a service's build waits for, as compose's classic builder orders builds: what the
 * service depends on (its `depends_on` covers a `FROM` of another service's image) and the
 * services its `additional_contexts` name.
 */
export function buildDependencies(service: ServiceConfig): string[] {
  return [...new Set([...serviceDependencies(service), ...contextServices(service)])];
}

/** Which services a service waits for in a walk: `serviceDependencies` unless a walk says otherwise. */
export type Dependencies = (service: ServiceConfig) => string[];

/** compose's cycle check, in its words: `cycle found: a -> b -> a`. */
export function checkCycles(project: ComposeProject, dependencies: Dependencies = serviceDependencies): void {
  const finished = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    const service = project.services[name];
    if (!service || finished.has(name)) return;
    for (const dependency of dependencies(service)) {
      if (path.includes(dependency)) throw new CtrError('InvalidArgument', `cycle found: ${[...path, dependency].join(' -> ')}`);
      visit(dependency, [...path, dependency]);
    }
    finished.add(name);
  };
  for (const name of Object.keys(project.services)) visit(name, [name]);
}

/**
 * Run `fn` for each of `services` once those it depends on (among them) are done — the ones
 * that do not wait on each other at the same time (at most `parallel` of them), as compose's
 * InDependencyOrder. The first failure stops what has not started yet and is thrown once the
 * running ones end.
 */
export async function inDependencyOrder(
  project: ComposeProject,
  services: readonly string[],
  fn: (service: string) => Promise<void>,
  options: Pick<ComposeOptions, 'parallel'> & { dependencies?: Dependencies } = {},
): Promise<void> {
  const dependencies = options.dependencies ?? serviceDependencies;
  checkCycles(project, dependencies);
  const among = new Set(services);
  const before = (name: string): string[] => dependencies(project.services[name]!).filter((d) => among.has(d));
  await walk(services, before, fn, concurrencyLimit(options.parallel));
}

/** The reverse: each service once every service (among them) that depends on it is done — stop and down's order. */
export async function inReverseDependencyOrder(project: ComposeProject, services: readonly string[], fn: (service: string) => Promise<void>, options: Pick<ComposeOptions, 'parallel'> = {}): Promise<void> {
  checkCycles(project);
  const among = new Set(services);
  const dependents = (name: string): string[] => services.filter((other) => other !== name && serviceDependencies(project.services[other]!).includes(name) && among.has(other));
  await walk(services, dependents, fn, concurrencyLimit(options.parallel));
}

async function walk(services: readonly string[], waitsFor: (service: string) => string[], fn: (service: string) => Promise<void>, limit: Limit): Promise<void> {
  const done = new Map<string, Promise<void>>();
  let failed = false;
  const run = (name: string): Promise<void> => {
    let promise = done.get(name);
    if (!promise) {
      // A slot is taken only once the service's turn has come: one held while waiting could starve what it waits for.
      promise = Promise.all(waitsFor(name).map(run)).then(() =>
        limit(() => {
          if (failed) throw new CtrError('Aborted', 'canceled');
          return fn(name).catch((error: unknown) => {
            failed = true;
            throw error;
          });
        }),
      );
      done.set(name, promise);
    }
    return promise;
  };
  const results = await Promise.allSettled(services.map(run));
  // The first real failure, not the cancellations it caused.
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  const first = errors.find((e) => !(e instanceof CtrError && e.code === 'Aborted' && e.message === 'canceled')) ?? errors[0];
  if (first !== undefined) throw first;
}
