import * as YAML from 'yaml';
import { isPlainObject } from './interpolate';
import type { ComposeProject } from './model';

export interface ConfigOutputOptions {
  /** `--format` (default yaml). */
  format?: 'yaml' | 'json';
  /** Only these services (`compose config SERVICE…`). */
  services?: string[];
}

/**
 * Key order of compose-go's structs, where `docker compose config` prints fields in
 * declaration order rather than sorted; keys not listed follow, sorted, as Go maps print.
 */
const ORDER: Record<string, string[]> = {
  project: ['name', 'services', 'networks', 'volumes', 'secrets', 'configs'],
  port: ['name', 'mode', 'host_ip', 'target', 'published', 'protocol', 'app_protocol'],
  volume: ['type', 'source', 'target', 'read_only', 'consistency', 'bind', 'volume', 'tmpfs', 'image'],
  dependency: ['condition', 'restart', 'required'],
  healthcheck: ['test', 'timeout', 'interval', 'retries', 'start_period', 'start_interval', 'disable'],
  build: ['context', 'dockerfile', 'dockerfile_inline', 'args', 'labels', 'cache_from', 'no_cache', 'additional_contexts', 'network', 'pull', 'target', 'shm_size', 'extra_hosts', 'secrets', 'tags', 'platforms'],
  resource: ['name', 'driver', 'driver_opts', 'ipam', 'external', 'internal', 'attachable', 'labels', 'enable_ipv6', 'file', 'environment', 'content'],
};

function ordered(object: Record<string, unknown>, order: string[] = []): Record<string, unknown> {
  const keys = Object.keys(object);
  const known = order.filter((key) => keys.includes(key));
  const rest = keys.filter((key) => !order.includes(key)).sort();
  return Object.fromEntries([...known, ...rest].map((key) => [key, object[key]]));
}

/** Go's `omitempty`: empty lists, maps and strings and unset values are left out. */
function empty(value: unknown): boolean {
  return value === undefined || value === '' || (Array.isArray(value) && value.length === 0) || (isPlainObject(value) && Object.keys(value).length === 0);
}

function compact(object: Record<string, unknown>, keep: (key: string) => boolean = () => false): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key, value]) => keep(key) || (!empty(value) && value !== null)));
}

function sortedMap(value: unknown, each: (item: unknown) => unknown = (item) => item): Record<string, unknown> {
  return ordered(Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, each(item)])));
}

function service(config: ComposeProject['services'][string]): Record<string, unknown> {
  const { name: _name, ...fields } = config;
  const out: Record<string, unknown> = compact(fields as unknown as Record<string, unknown>);
  if (config.scale === 1) delete out.scale;
  if (out.build) out.build = ordered(compact(out.build as Record<string, unknown>), ORDER.build);
  if (out.healthcheck) out.healthcheck = ordered(out.healthcheck as Record<string, unknown>, ORDER.healthcheck);
  if (out.ports) out.ports = config.ports.map((port) => ordered({ ...port }, ORDER.port));
  if (out.volumes) out.volumes = config.volumes.map((volume) => ordered({ ...volume }, ORDER.volume));
  if (out.depends_on) {
    out.depends_on = sortedMap(config.depends_on, (dep) => {
      const { restart, ...rest } = dep as { restart: boolean; condition: string; required: boolean };
      return ordered(restart ? { ...rest, restart } : rest, ORDER.dependency);
    });
  }
  // A network joined with no options prints as `name: null`, as compose's does.
  out.networks = sortedMap(config.networks);
  if (empty(out.networks)) delete out.networks;
  for (const key of ['environment', 'labels', 'sysctls', 'ulimits']) if (out[key]) out[key] = sortedMap(out[key]);
  return ordered(out);
}

function resources(section: Record<string, object>): Record<string, unknown> {
  return sortedMap(section, (resource) => ordered(compact(resource as Record<string, unknown>), ORDER.resource));
}

/** The project as `docker compose config` prints it: YAML (or `--format json`) with `name:` first and services sorted. */
export function projectConfig(project: ComposeProject, options: ConfigOutputOptions = {}): string {
  const selected = options.services && options.services.length > 0 ? options.services : Object.keys(project.services);
  const services = Object.fromEntries(selected.filter((key) => project.services[key]).sort().map((key) => [key, service(project.services[key] as ComposeProject['services'][string])]));
  const document: Record<string, unknown> = compact({
    name: project.name,
    services,
    networks: resources(project.networks),
    volumes: resources(project.volumes),
    secrets: resources(project.secrets),
    configs: resources(project.configs),
  }, (key) => key === 'services');
  for (const [key, value] of Object.entries(project)) if (key.startsWith('x-')) document[key] = value;
  const output = ordered(document, ORDER.project);
  if (options.format === 'json') return `${JSON.stringify(output, null, 2)}\n`;
  return YAML.stringify(output, { lineWidth: 0, aliasDuplicateObjects: false, indentSeq: true });
}
