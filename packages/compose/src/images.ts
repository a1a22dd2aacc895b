import { promises as fs } from 'node:fs';
import path from 'node:path';
import { formatEvent, parseBuildContexts } from '@ctr/dockerfile';
import { normalizeImageName, splitRepoTag, type BuildImageOptions } from '@ctr/engine';
import { CtrError, isNotFound, notFound } from '@ctr/errors';
import { formatPlatform, parsePlatform } from '@ctr/image';
import type { BuildOptions, ComposeOptions, ImageRow, PullOptions, PushOptions, ServicesOptions } from './compose';
import { TaskGroup } from './concurrency';
import { buildDependencies, checkCycles, contextService, contextServices, inDependencyOrder, serviceDependencies } from './dependencies';
import { COMPOSE_VERSION, LABEL, containerName, projectContainers, type ComposeEngine } from './labels';
import type { ComposeProject, ServiceConfig } from './model';
import { report } from './resources';

/** The image a service runs: its `image:`, else the name compose v2 gives what it builds, `<project>-<service>`. */
export function serviceImage(project: ComposeProject, service: ServiceConfig): string {
  return service.image ?? `${project.name}-${service.name}`;
}

/**
 * The platform a service's containers are created for and its image pulled for: its
 * `platform:`, else `$DOCKER_DEFAULT_PLATFORM` (from the environment or the `.env` file), as
 * compose's ContainerCreate and ImagePull take it.
 */
export function servicePlatform(project: ComposeProject, service: ServiceConfig): string | undefined {
  return service.platform || project.environment.DOCKER_DEFAULT_PLATFORM || undefined;
}

/** The project's service of that name, or compose's error. */
export function projectService(project: ComposeProject, name: string): ServiceConfig {
  const service = project.services[name];
  if (!service) throw notFound(`no such service: ${name}`);
  return service;
}

/** The services a verb acts on: the named ones (each must exist), else all the project's, in its order. */
export function selectedServices(project: ComposeProject, names: readonly string[] | undefined): ServiceConfig[] {
  return names && names.length > 0 ? names.map((name) => projectService(project, name)) : Object.values(project.services);
}

/** The named services (each must exist) a container verb is limited to, or none given: every container of the project, orphans too. */
export function namedServices(project: ComposeProject, names: readonly string[] | undefined): string[] | undefined {
  return names && names.length > 0 ? names.map((name) => projectService(project, name).name) : undefined;
}

/** The named services and, transitively, those they need (compose's `--include-deps`), dependencies first. */
export function withDependencies(project: ComposeProject, names: readonly string[]): string[] {
  return closure(project, names, (service) => serviceDependencies(service).filter((name) => project.services[name]));
}

/** The named services and those `dependencies` names, transitively (each must exist), dependencies first. */
function closure(project: ComposeProject, names: readonly string[], dependencies: (service: ServiceConfig) => string[]): string[] {
  const seen = new Set<string>();
  const ordered: string[] = [];
  const visit = (name: string): void => {
    // Marked before its dependencies are visited: a cycle ends here instead of recursing forever.
    if (seen.has(name)) return;
    seen.add(name);
    for (const dependency of dependencies(projectService(project, name))) visit(dependency);
    ordered.push(name);
  };
  for (const name of names) visit(name);
  return ordered;
}

/** The services and those whose images their builds take (`additional_contexts: service:NAME`), as compose's build adds them. */
function withContextServices(project: ComposeProject, services: readonly ServiceConfig[]): ServiceConfig[] {
  return closure(project, services.map((service) => service.name), contextServices).map((name) => projectService(project, name));
}

/**
 * Whether the image is here; for a service's own `platform:`, here for that platform exactly:
 * compose's getLocalImagesDigests counts one for another platform as missing, so that it is
 * pulled or built for the right one ($DOCKER_DEFAULT_PLATFORM does not count here, as in compose).
 */
async function imagePresent(engine: ComposeEngine, image: string, platform?: string): Promise<boolean> {
  try {
    const found = await engine.inspectImage(image);
    if (!platform) return true;
    return formatPlatform({ os: found.Os, architecture: found.Architecture, ...(found.Variant ? { variant: found.Variant } : {}) }) === formatPlatform(parsePlatform(platform));
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export interface EnsureImagesOptions extends ComposeOptions {
  /** `--build`: rebuild every service with a `build:`; `--no-build`: build nothing; default: build what is missing. */
  build?: 'always' | 'never' | 'missing';
  /** `--pull` (over every service's `pull_policy`), or `policy` (default): each service's own. */
  pull?: 'always' | 'missing' | 'never' | 'build' | 'policy';
  /** Build output lines, by service. */
  onOutput?: (service: string, line: string) => void;
}

type Policy = 'always' | 'missing' | 'never' | 'build';

/**
 * What `create`, `up` and `run` do before making containers (compose's ensureImagesExists):
 * pull the images the pull policy asks for (at once, at most `parallel`), then build the services with a `build:` whose
 * image is missing, or all of them with `--build` (or `pull_policy: build`). A failed pull of
 * an image that can be built only warns: the build makes it.
 */
export async function ensureImages(engine: ComposeEngine, project: ComposeProject, services: readonly string[], options: EnsureImagesOptions = {}): Promise<void> {
  const selected = services.map((name) => projectService(project, name));
  const buildable = (service: ServiceConfig): boolean => options.build !== 'never' && service.build !== undefined;
  const policyOf = (service: ServiceConfig): Policy => {
    if (options.build === 'always' && buildable(service)) return 'build';
    const policy = options.pull && options.pull !== 'policy' ? options.pull : service.pull_policy ?? 'missing';
    return policy === 'if_not_present' ? 'missing' : policy;
  };
  // An image another service builds may fail to pull: the build makes it (compose's isServiceImageToBuild).
  const builtElsewhere = new Set(Object.values(project.services).filter(buildable).map((service) => serviceImage(project, service)));
  const pulls = new TaskGroup(options.parallel);
  const pulling = new Set<string>();
  for (const service of selected) {
    if (!service.image && !service.build) throw new CtrError('InvalidArgument', `invalid service "${service.name}". Must specify either image or build`);
    const image = serviceImage(project, service);
    const reference = service.image;
    const policy = policyOf(service);
    if (!reference || policy === 'never' || policy === 'build' || pulling.has(image)) continue;
    pulling.add(image);
    pulls.go(async () => {
      if (policy === 'missing' && (await imagePresent(engine, image, service.platform))) return;
      await pullImage(engine, reference, servicePlatform(project, service), options).catch((error: unknown) => {
        if (!builtElsewhere.has(image)) throw error;
      });
    });
  }
  await pulls.wait();
  const builds: ServiceConfig[] = [];
  for (const service of withContextServices(project, selected)) {
    const image = serviceImage(project, service);
    if (!buildable(service)) {
      // compose's --no-build would pull `<project>-<service>` from Docker Hub; a name no registry has is refused here instead.
      if (service.build && !service.image && !(await imagePresent(engine, image, service.platform))) {
        throw notFound(`image ${image} for service "${service.name}" is not built, and --no-build was given: run \`compose build ${service.name}\` first`);
      }
      continue;
    }
    if (policyOf(service) === 'build' || !(await imagePresent(engine, image, service.platform))) builds.push(service);
  }
  // `--pull` here is the services' images' policy: as compose, it pulls no build's base (a service's `build.pull` does).
  await buildImages(engine, project, builds, { ...options, pull: false });
}

/** Pull one image (for `platform`, when given), told as compose tells it: `Image busybox Pulling`, each layer's progress, `Pulled`. */
async function pullImage(engine: ComposeEngine, image: string, platform: string | undefined, options: ComposeOptions): Promise<void> {
  const emit = (status: string, done: boolean, detail?: string): void => report(options, 'Image', image, status, done, detail);
  emit('Pulling', false);
  try {
    await engine.pull(image, {
      ...(platform ? { platform: parsePlatform(platform) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (event) => emit('Pulling', false, `${event.id} ${event.status}`),
    });
  } catch (error) {
    emit('Error', true, error instanceof Error ? error.message : String(error));
    throw error;
  }
  emit('Pulled', true);
}

/** Compose's `args:` with the ones written without a value taken from the environment, or left out when it has none. */
function buildArgs(project: ComposeProject, args: Record<string, string | null>, overrides: Record<string, string> | undefined): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [key, value] of Object.entries(args)) {
    const given = value ?? project.environment[key];
    if (given !== undefined) resolved[key] = given;
  }
  return { ...resolved, ...overrides };
}

/** Build secrets by id (the target's name, else the secret's key), read from the project's top-level `secrets:`. */
async function buildSecrets(project: ComposeProject, service: ServiceConfig): Promise<Record<string, Uint8Array>> {
  const secrets: Record<string, Uint8Array> = {};
  for (const reference of service.build?.secrets ?? []) {
    const secret = project.secrets[reference.source];
    if (!secret) throw notFound(`service "${service.name}" refers to undefined build secret ${reference.source}`);
    const id = reference.target ?? reference.source;
    if (secret.file !== undefined) secrets[id] = await fs.readFile(secret.file);
    else if (secret.environment !== undefined) secrets[id] = Buffer.from(project.environment[secret.environment] ?? '');
    else if (secret.content !== undefined) secrets[id] = Buffer.from(secret.content);
  }
  return secrets;
}

const REMOTE_CONTEXT = /^(https?:\/\/|git@|git:\/\/|ssh:\/\/|github\.com\/)/;

/** The image's labels compose adds to the build's own: its project, service and version. */
function builtImageLabels(project: ComposeProject, service: ServiceConfig): Record<string, string> {
  return { ...service.build?.labels, [LABEL.version]: COMPOSE_VERSION, [LABEL.project]: project.name, [LABEL.service]: service.name };
}

/** Build a service's image as compose's classic builder does: tagged `serviceImage` and the `tags:` besides. */
async function buildService(engine: ComposeEngine, project: ComposeProject, service: ServiceConfig, options: BuildImagesOptions): Promise<void> {
  const build = service.build;
  if (!build) return;
  const emit = (status: string, done: boolean, detail?: string): void => report(options, 'Service', service.name, status, done, detail);
  const remote = REMOTE_CONTEXT.test(build.context);
  const dockerfile = build.dockerfile ?? 'Dockerfile';
  // A Dockerfile outside the context (compose allows one) is sent as its text, as docker's CLI does with `-f`.
  const outside = !remote && build.dockerfile_inline === undefined && path.isAbsolute(dockerfile) && path.relative(build.context, dockerfile).startsWith('..');
  const dockerfileContent = build.dockerfile_inline ?? (outside ? await fs.readFile(dockerfile) : undefined);
  const secrets = await buildSecrets(project, service);
  // The classic builder reads images to reuse steps from; buildx's `type=…` cache specs mean nothing to it.
  const cacheFrom = build.cache_from.filter((entry) => !entry.includes('='));
  const steps: NonNullable<BuildImageOptions['steps']> = {
    ...(build.extra_hosts.length > 0 ? { extraHosts: build.extra_hosts } : {}),
    ...(build.shm_size !== undefined ? { shmSize: build.shm_size } : {}),
  };
  const platform = buildPlatform(project, service, build);
  const buildContexts = namedContexts(project, build.additional_contexts ?? {});
  let pending = '';
  const output = (text: string): void => {
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) options.onOutput?.(service.name, line);
  };
  emit('Building', false);
  try {
    await engine.build({
      context: remote ? { remote: build.context } : build.context,
      ...(dockerfileContent !== undefined ? { dockerfileContent } : { dockerfile: outside ? dockerfile : path.isAbsolute(dockerfile) ? path.relative(build.context, dockerfile) : dockerfile }),
      ...(build.target !== undefined ? { target: build.target } : {}),
      buildArgs: buildArgs(project, build.args, options.buildArgs),
      labels: builtImageLabels(project, service),
      noCache: options.noCache === true || build.no_cache === true,
      // compose's `build --pull`, or the service's own `build.pull: true`.
      pull: options.pull === true || build.pull === true,
      network: build.network ?? 'default',
      tags: [serviceImage(project, service), ...build.tags],
      ...(cacheFrom.length > 0 ? { cacheFrom } : {}),
      ...(Object.keys(steps).length > 0 ? { steps } : {}),
      ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
      ...(Object.keys(buildContexts).length > 0 ? { buildContexts } : {}),
      ...(platform !== undefined ? { platform } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onEvent: (event) => output(formatEvent(event)),
    });
  } catch (error) {
    // Cancelled (another build failed, or the user stopped it), the step's own words would name engine internals.
    emit('Error', true, options.signal?.aborted ? 'canceled' : error instanceof Error ? error.message : String(error));
    throw error;
  } finally {
    if (pending !== '') options.onOutput?.(service.name, pending);
  }
  emit('Built', true);
}

/**
 * The one platform a service's image is built for, as compose's applyPlatforms settles it:
 * its `platform:`, else `$DOCKER_DEFAULT_PLATFORM`, either refused in compose's words when
 * `build.platforms` lists others; with neither, the first of `build.platforms`.
 */
function buildPlatform(project: ComposeProject, service: ServiceConfig, build: NonNullable<ServiceConfig['build']>): string | undefined {
  const fallback = project.environment.DOCKER_DEFAULT_PLATFORM;
  const refused = (platform: string | undefined): boolean => platform !== undefined && build.platforms.length > 0 && !build.platforms.includes(platform);
  if (!service.platform && fallback && refused(fallback)) {
    throw new CtrError('InvalidArgument', `service "${service.name}" build.platforms does not support value set by DOCKER_DEFAULT_PLATFORM: ${fallback}`);
  }
  const platform = servicePlatform(project, service);
  if (refused(platform)) throw new CtrError('InvalidArgument', `service "${service.name}" build configuration does not support platform: ${platform}`);
  return platform ?? build.platforms[0];
}

/** `additional_contexts` as the builder's named contexts, `service:NAME` the image that service's build makes (or names). */
function namedContexts(project: ComposeProject, contexts: Record<string, string>): NonNullable<BuildImageOptions['buildContexts']> {
  return parseBuildContexts(
    Object.entries(contexts).map(([name, value]) => {
      const other = contextService(value);
      return `${name}=${other === undefined ? value : `docker-image://${serviceImage(project, projectService(project, other))}`}`;
    }),
  );
}

/** `compose build`: every selected service with a `build:` (and those their `additional_contexts` name), whether its image exists or not. */
export async function build(engine: ComposeEngine, project: ComposeProject, options: BuildOptions): Promise<void> {
  const services = withContextServices(project, selectedServices(project, options.services)).filter((service) => service.build);
  await buildImages(engine, project, services, options);
}

type BuildImagesOptions = ComposeOptions & Pick<BuildOptions, 'noCache' | 'pull' | 'buildArgs' | 'onOutput'>;

/**
 * Build the services' images as compose's classic builder does: at once, at most `parallel`,
 * each once the builds it waits for (`buildDependencies`, through services that build
 * nothing) are done. An image several services name is built once, by the first of them,
 * and what waits for any of them waits for that build (`buildGraph`). The first failure
 * cancels the builds under way and those not started, and is thrown once every build has ended.
 */
async function buildImages(engine: ComposeEngine, project: ComposeProject, services: readonly ServiceConfig[], options: BuildImagesOptions): Promise<void> {
  const builders = new Map<string, string>();
  for (const service of services) {
    const image = serviceImage(project, service);
    if (!builders.has(image)) builders.set(image, service.name);
  }
  const building = new Set(builders.values());
  const graph = buildGraph(project, builders);
  const waitsFor = (service: ServiceConfig): string[] => graph.get(service.name) ?? [];
  const cancel = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
  let failure: { error: unknown } | undefined;
  const walked = closure(project, [...building], waitsFor);
  await inDependencyOrder(
    project,
    walked,
    async (name) => {
      if (!building.has(name)) return;
      try {
        await buildService(engine, project, projectService(project, name), { ...options, signal });
      } catch (error) {
        failure ??= { error };
        cancel.abort();
        throw error;
      }
    },
    { dependencies: waitsFor, ...(options.parallel !== undefined ? { parallel: options.parallel } : {}) },
  ).catch((error: unknown) => {
    // The first build's failure, not the cancellations it caused in the others.
    throw failure ? failure.error : error;
  });
}

/**
 * What each of the project's builds waits for: its `buildDependencies` (those in the project),
 * and for each of them that names an image another service builds, that builder too. The
 * cycle check is made on the real dependencies, as compose makes it; an edge to a builder is
 * left out where it would close a loop (`api`, building `myapp`, depends on `worker`, which
 * depends on `migrate`, naming `myapp` too: `worker` cannot wait for `api`, which comes after
 * it anyway), where compose builds such a project rather than report a cycle it does not have.
 */
function buildGraph(project: ComposeProject, builders: ReadonlyMap<string, string>): Map<string, string[]> {
  checkCycles(project, buildDependencies);
  // One outside the project (a profile's, not enabled) has no build to wait for.
  const graph = new Map(Object.values(project.services).map((service) => [service.name, buildDependencies(service).filter((name) => project.services[name])]));
  const reaches = (from: string, to: string): boolean => closure(project, [from], (service) => graph.get(service.name) ?? []).includes(to);
  for (const service of Object.values(project.services)) {
    const waits = graph.get(service.name)!;
    for (const name of [...waits]) {
      const builder = builders.get(serviceImage(project, projectService(project, name)));
      if (builder === undefined || builder === service.name || waits.includes(builder) || reaches(builder, service.name)) continue;
      waits.push(builder);
    }
  }
  return graph;
}

/**
 * `compose pull`: each selected service's image, skipping (with compose's words) those with none,
 * `pull_policy: never|build`, an image present under `--policy missing` (a `latest` one is
 * pulled anyway, as compose refreshes it), or a `build:` under `--ignore-buildable`. The images
 * are pulled at once (at most `parallel`). A failure fails the pull unless
 * `--ignore-pull-failures`, or unless the service can build its image.
 */
export async function pull(engine: ComposeEngine, project: ComposeProject, options: PullOptions): Promise<void> {
  const names = options.includeDeps && options.services?.length ? withDependencies(project, options.services) : options.services;
  const skip = (service: ServiceConfig, why?: string): void => report(options, 'Service', service.name, 'Skipped', true, why);
  const pulls = new TaskGroup(options.parallel);
  const pulling = new Map<string, string>();
  const failures: string[] = [];
  const mustBuild: string[] = [];
  for (const service of selectedServices(project, names)) {
    const image = service.image;
    if (image === undefined) {
      skip(service, 'No image to be pulled');
      continue;
    }
    const policy = options.policy ?? service.pull_policy;
    if (policy === 'never' || policy === 'build') {
      skip(service);
      continue;
    }
    if ((policy === 'missing' || policy === 'if_not_present') && !isLatest(image) && (await imagePresent(engine, image, service.platform))) {
      skip(service, 'Image is already present locally');
      continue;
    }
    if (service.build && options.ignoreBuildable) {
      skip(service, 'Image can be built');
      continue;
    }
    const by = pulling.get(image);
    if (by !== undefined) {
      skip(service, `Image is already being pulled by ${by}`);
      continue;
    }
    pulling.set(image, service.name);
    pulls.go(async () => {
      try {
        await pullImage(engine, image, servicePlatform(project, service), options);
      } catch (error) {
        if (service.build) mustBuild.push(service.name);
        else if (!options.ignorePullFailures) throw error;
        failures.push(error instanceof Error ? error.message : String(error));
      }
    });
  }
  await pulls.wait();
  if (mustBuild.length > 0) {
    report(options, 'Service', mustBuild.join(' '), 'Warning', true, `Some service image(s) must be built from source by running:\n    docker compose build ${mustBuild.join(' ')}`);
  }
  if (failures.length > 0 && !options.ignorePullFailures) throw new CtrError('Unavailable', failures.join('\n'));
}

/** Whether a reference names the `latest` tag, which compose's `--policy missing` pulls even when present. */
function isLatest(image: string): boolean {
  try {
    return normalizeImageName(image).endsWith(':latest');
  } catch {
    return false;
  }
}

/** `compose push`: the images of the selected services that have both `build:` and `image:` (compose pushes only those), at once (at most `parallel`). */
export async function push(engine: ComposeEngine, project: ComposeProject, options: PushOptions): Promise<void> {
  const names = options.includeDeps && options.services?.length ? withDependencies(project, options.services) : options.services;
  await pushBuiltImages(engine, selectedServices(project, names), options);
}

/** The images of those of `services` with both `build:` and `image:` (and their build's `tags:`), pushed at once (at most `parallel`). */
export async function pushBuiltImages(engine: ComposeEngine, services: readonly ServiceConfig[], options: Omit<PushOptions, 'services' | 'includeDeps'>): Promise<void> {
  const pushes = new TaskGroup(options.parallel);
  for (const service of services) {
    if (!service.build || service.image === undefined) continue;
    for (const image of [service.image, ...service.build.tags]) pushes.go(() => pushImage(engine, image, options));
  }
  await pushes.wait();
}

/** Push one image, told as compose tells it; a failure only warns with `--ignore-push-failures`. */
async function pushImage(engine: ComposeEngine, image: string, options: PushOptions): Promise<void> {
  const emit = (status: string, done: boolean, detail?: string): void => report(options, 'Image', image, status, done, detail);
  emit('Pushing', false);
  try {
    await engine.push(image, {
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (event) => emit('Pushing', false, `${event.id} ${event.status}`),
    });
  } catch (error) {
    emit(options.ignorePushFailures ? 'Warning' : 'Error', true, error instanceof Error ? error.message : String(error));
    if (!options.ignorePushFailures) throw error;
    return;
  }
  emit('Pushed', true);
}

/** `compose images`: the image of each of the project's containers (stopped and one-off ones too), by container name. */
export async function images(engine: ComposeEngine, project: ComposeProject, options: ServicesOptions): Promise<ImageRow[]> {
  const services = namedServices(project, options.services);
  const containers = await projectContainers(engine, project.name, { all: true, oneoff: 'include', ...(services ? { services } : {}) });
  const rows = await Promise.all(
    containers.map(async (container): Promise<ImageRow> => {
      const image = await engine.inspectImage(container.ImageID || container.Image);
      const { repo, tag } = repositoryAndTag(container.Image);
      return { Container: containerName(container), Repository: repo, Tag: tag, ID: image.Id, Size: image.Size };
    }),
  );
  return rows.sort((a, b) => a.Container.localeCompare(b.Container));
}

/** The repository and tag a container's image was named by; none for an image ID (compose's ParseDockerRef refuses it). */
function repositoryAndTag(image: string): { repo: string; tag: string } {
  if (/^(sha256:)?[0-9a-f]{64}$/.test(image)) return { repo: '', tag: '' };
  try {
    const { repo, tag } = splitRepoTag(normalizeImageName(image));
    return { repo, tag: tag === '<none>' ? '' : tag };
  } catch {
    return { repo: '', tag: '' };
  }
}
