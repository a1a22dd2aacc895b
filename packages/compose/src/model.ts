/**
 * A Compose project as the loader leaves it: the compose files merged, variables interpolated,
 * relative paths made absolute, every short syntax in its long form (as compose-go normalises
 * it), and the services of inactive profiles left out. Keys are the Compose Specification's,
 * so `compose config` prints this model as it is and a reader of compose.yaml recognises it.
 */

/** Durations stay as written (`1m30s`, `10s`); `parseDuration` turns them into nanoseconds. */
export type Duration = string;

export interface ComposeProject {
  /** The project name: `-p`, `$COMPOSE_PROJECT_NAME`, the top-level `name:`, else the project directory's base name, normalised. */
  name: string;
  /** The directory relative paths are resolved against (the first compose file's, or `--project-directory`). */
  working_dir: string;
  /** The compose files read, absolute, in order. */
  config_files: string[];
  /** Services in the files' order, after profiles are applied. */
  services: Record<string, ServiceConfig>;
  networks: Record<string, NetworkConfig>;
  volumes: Record<string, VolumeConfig>;
  secrets: Record<string, FileObjectConfig>;
  configs: Record<string, FileObjectConfig>;
  /** Services left out because none of their profiles is active (compose's `DisabledServices`). */
  disabled_services: Record<string, ServiceConfig>;
  /** The environment interpolation used: the process's over the project's `.env` file(s). */
  environment: Record<string, string>;
  /** The `.env`/`--env-file` files read, absolute (compose's `environment_file` label). */
  env_files?: string[];
  /** What loading warned about (unset variables, obsolete `version`…), for the CLI to print. */
  warnings?: string[];
}

export interface ServiceConfig {
  /** Its key in `services:`. */
  name: string;
  profiles?: string[];
  image?: string;
  build?: BuildConfig;
  pull_policy?: 'always' | 'never' | 'missing' | 'build' | 'if_not_present';
  platform?: string;
  command?: string[] | null;
  entrypoint?: string[] | null;
  working_dir?: string;
  user?: string;
  hostname?: string;
  domainname?: string;
  /** `env_file`s read and `environment` over them; a null value means "pass through unset". */
  environment: Record<string, string | null>;
  labels: Record<string, string>;
  container_name?: string;
  ports: ServicePort[];
  expose: string[];
  volumes: ServiceVolume[];
  tmpfs: string[];
  /** Networks the service joins (its `default` one when it names none and has no network_mode). */
  networks: Record<string, ServiceNetwork | null>;
  network_mode?: string;
  depends_on: Record<string, ServiceDependency>;
  links: string[];
  external_links: string[];
  /** `service:name[:ro]` or `container:name[:ro]` entries. */
  volumes_from?: string[];
  restart?: string;
  /** Replicas: `scale`, else `deploy.replicas`, else 1. */
  scale: number;
  healthcheck?: HealthcheckConfig;
  stdin_open?: boolean;
  tty?: boolean;
  privileged?: boolean;
  read_only?: boolean;
  init?: boolean;
  cap_add: string[];
  cap_drop: string[];
  dns: string[];
  dns_search: string[];
  dns_opt: string[];
  /** `host:ip` entries, as `--add-host`. */
  extra_hosts: string[];
  sysctls: Record<string, string>;
  ulimits: Record<string, { soft: number; hard: number }>;
  mem_limit?: string;
  mem_reservation?: string;
  memswap_limit?: string;
  cpus?: number;
  cpu_shares?: number;
  cpuset?: string;
  pids_limit?: number;
  shm_size?: string;
  stop_signal?: string;
  stop_grace_period?: Duration;
  logging?: { driver?: string; options: Record<string, string> };
  security_opt: string[];
  devices: string[];
  group_add: string[];
  ipc?: string;
  pid?: string;
  userns_mode?: string;
  oom_score_adj?: number;
  mac_address?: string;
  /** Secrets and configs the service mounts (files under /run/secrets/ and at their target). */
  secrets: ServiceFileReference[];
  configs: ServiceFileReference[];
  /** `deploy.resources` and `deploy.restart_policy`, the parts a single engine honours. */
  deploy?: DeployConfig;
  /** Whether `up` attaches to its output (default true). */
  attach?: boolean;
}

export interface BuildConfig {
  /** Absolute for a local directory; a URL stays as written. */
  context: string;
  dockerfile?: string;
  dockerfile_inline?: string;
  args: Record<string, string | null>;
  target?: string;
  labels: Record<string, string>;
  network?: string;
  no_cache?: boolean;
  pull?: boolean;
  tags: string[];
  cache_from: string[];
  /** Named contexts by name: a directory (absolute), `docker-image://REF`, or `service:NAME` for another service's image. */
  additional_contexts?: Record<string, string>;
  extra_hosts: string[];
  shm_size?: string;
  secrets: ServiceFileReference[];
  platforms: string[];
}

export interface ServicePort {
  /** The container's port. */
  target: number;
  /** The host's port or range (`8080`, `8000-8010`); absent: a random one. */
  published?: string;
  host_ip?: string;
  protocol: 'tcp' | 'udp' | 'sctp';
  mode: 'ingress' | 'host';
  name?: string;
}

export interface ServiceVolume {
  type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'image';
  /** A bind's absolute host path, a project volume's key in `volumes:`, absent for anonymous volumes and tmpfs. */
  source?: string;
  target: string;
  read_only?: boolean;
  consistency?: string;
  bind?: { propagation?: string; create_host_path?: boolean; selinux?: 'z' | 'Z' };
  volume?: { nocopy?: boolean; subpath?: string };
  tmpfs?: { size?: number | string; mode?: number };
}

export interface ServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  ipv6_address?: string;
  link_local_ips?: string[];
  mac_address?: string;
  priority?: number;
}

export interface ServiceDependency {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
  /** false: a missing or failing dependency only warns (compose 2.20+). */
  required: boolean;
  /** Restart this service when the dependency is restarted or recreated. */
  restart: boolean;
}

export interface HealthcheckConfig {
  /** `['NONE']`, `['CMD', …]` or `['CMD-SHELL', '…']`, as Docker's API has it. */
  test?: string[];
  interval?: Duration;
  timeout?: Duration;
  retries?: number;
  start_period?: Duration;
  start_interval?: Duration;
  disable?: boolean;
}

export interface DeployConfig {
  replicas?: number;
  resources?: {
    limits?: { cpus?: string; memory?: string; pids?: number };
    reservations?: { cpus?: string; memory?: string };
  };
  restart_policy?: { condition?: 'none' | 'on-failure' | 'any'; max_attempts?: number };
  labels?: Record<string, string>;
}

export interface ServiceFileReference {
  /** The key in the top-level `secrets:` or `configs:`. */
  source: string;
  /** A path in the container; a secret's default is /run/secrets/<source>, a config's /<source>. */
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

export interface NetworkConfig {
  /** The engine's name: `name:`, else `<project>_<key>` (an external network: its key). */
  name: string;
  driver?: string;
  driver_opts: Record<string, string>;
  ipam?: { driver?: string; config: { subnet?: string; ip_range?: string; gateway?: string; aux_addresses?: Record<string, string> }[]; options?: Record<string, string> };
  external?: boolean;
  internal?: boolean;
  attachable?: boolean;
  enable_ipv6?: boolean;
  labels: Record<string, string>;
}

export interface VolumeConfig {
  /** The engine's name: `name:`, else `<project>_<key>` (an external volume: its key). */
  name: string;
  driver?: string;
  driver_opts: Record<string, string>;
  external?: boolean;
  labels: Record<string, string>;
}

/** A top-level secret or config: a file (absolute), an environment variable's value, or inline content. */
export interface FileObjectConfig {
  name: string;
  file?: string;
  environment?: string;
  content?: string;
  external?: boolean;
}
