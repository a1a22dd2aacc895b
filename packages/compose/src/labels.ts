import type { EngineApi } from '@ctr/api';
import type { ContainerSummary } from '@ctr/engine';

/**
 * The labels `docker compose` puts on what it creates; they are the project's only record.
 * ctr writes the same ones, so `docker compose` and `ctr compose` recognise each other's work.
 */
export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  containerNumber: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  environmentFile: 'com.docker.compose.project.environment_file',
  configHash: 'com.docker.compose.config-hash',
  version: 'com.docker.compose.version',
  image: 'com.docker.compose.image',
  dependsOn: 'com.docker.compose.depends_on',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
  replace: 'com.docker.compose.replace',
  slug: 'com.docker.compose.slug',
} as const;

/** The Compose version ctr's labels and `compose version` claim: the v2 behaviour it follows. */
export const COMPOSE_VERSION = '2.29.7';

/** The engine Compose drives: ctr's in-process Engine, or a daemon through @ctr/api's RemoteEngine. */
export type ComposeEngine = EngineApi;

export interface ProjectContainersOptions {
  /** Only these services' containers. */
  services?: readonly string[];
  /** Stopped ones too (default: running only, as `docker ps`). */
  all?: boolean;
  /** `only`: `run`'s one-off containers alone; `include`: both; default: service containers alone. */
  oneoff?: 'exclude' | 'include' | 'only';
}

/** The project's containers, found by their labels, sorted by service then number as compose lists them. */
export async function projectContainers(engine: ComposeEngine, project: string, options: ProjectContainersOptions = {}): Promise<ContainerSummary[]> {
  const label = [`${LABEL.project}=${project}`];
  const oneoff = options.oneoff ?? 'exclude';
  if (oneoff !== 'include') label.push(`${LABEL.oneoff}=${oneoff === 'only' ? 'True' : 'False'}`);
  const found = await engine.ps({ all: options.all ?? false, filters: { label } });
  const wanted = options.services && new Set(options.services);
  return found
    .filter((c) => !wanted || wanted.has(containerService(c)))
    .sort((a, b) => containerService(a).localeCompare(containerService(b)) || containerNumber(a) - containerNumber(b));
}

/** The service compose made a container for (`''` for none). */
export function containerService(container: Pick<ContainerSummary, 'Labels'>): string {
  return container.Labels[LABEL.service] ?? '';
}

/** The replica number compose gave a container (`app-web-2` is 2). */
export function containerNumber(container: Pick<ContainerSummary, 'Labels'>): number {
  return Number(container.Labels[LABEL.containerNumber] ?? 0);
}

/** A container's name without docker's leading slash. */
export function containerName(container: Pick<ContainerSummary, 'Names'>): string {
  return (container.Names[0] ?? '').replace(/^\//, '');
}
