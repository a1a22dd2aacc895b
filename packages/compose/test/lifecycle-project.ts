import type { ComposeProject, ServiceConfig } from '../src/model';

/** A service as the loader leaves it: every list and map present, on the default network. */
export function service(name: string, config: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    name,
    environment: {},
    labels: {},
    ports: [],
    expose: [],
    volumes: [],
    tmpfs: [],
    networks: config.network_mode === undefined ? { default: null } : {},
    depends_on: {},
    links: [],
    external_links: [],
    scale: 1,
    cap_add: [],
    cap_drop: [],
    dns: [],
    dns_search: [],
    dns_opt: [],
    extra_hosts: [],
    sysctls: {},
    ulimits: {},
    security_opt: [],
    devices: [],
    group_add: [],
    secrets: [],
    configs: [],
    ...config,
  };
}

/** A loaded project of these services, with its default network. */
/** A service of busybox that sleeps until it is killed (SIGKILL: its stop is quick). */
export function sleeper(name: string, extra: Partial<ServiceConfig> = {}): ServiceConfig {
  return service(name, { image: 'busybox', command: ['sleep', '300'], stop_signal: 'SIGKILL', ...extra });
}

export function project(name: string, services: ServiceConfig[], extra: Partial<ComposeProject> = {}): ComposeProject {
  return {
    name,
    working_dir: `/tmp/${name}`,
    config_files: [`/tmp/${name}/compose.yaml`],
    services: Object.fromEntries(services.map((s) => [s.name, s])),
    networks: { default: { name: `${name}_default`, driver_opts: {}, labels: {} } },
    volumes: {},
    secrets: {},
    configs: {},
    disabled_services: {},
    environment: {},
    ...extra,
  };
}
