import { CtrError } from '@ctr/errors';
import { isPlainObject } from './interpolate';

/**
 * The Compose Specification schema's shape, as far as the loader checks it: which keys each
 * object may have and the type of each value. Strings from interpolation stand for numbers
 * and booleans (`${REPLICAS}`), as compose-go casts them after interpolating.
 */
type Kind = 'string' | 'number' | 'boolean' | 'list' | 'mapping' | 'null';
interface Shape {
  kinds: Kind[];
  /** For a mapping: its keys' shapes (absent: any key). */
  keys?: Record<string, Shape>;
  /** For a mapping with free keys: each value's shape. */
  values?: Shape;
  /** For a list: each item's shape. */
  items?: Shape;
}

const k = (...kinds: Kind[]): Shape => ({ kinds });
const obj = (keys: Record<string, Shape>, ...more: Kind[]): Shape => ({ kinds: ['mapping', ...more], keys });
const str = k('string');
const num = k('number');
const bool = k('boolean');
const strOrNum = k('string', 'number');
const strList = { kinds: ['list'] as Kind[], items: strOrNum };
const strOrList = { kinds: ['string', 'list'] as Kind[], items: strOrNum };
const listOrDict = k('list', 'mapping');
const external = k('boolean', 'mapping');

const fileReference = { kinds: ['list'] as Kind[], items: obj({ source: str, target: str, uid: str, gid: str, mode: strOrNum }, 'string') };

const build = obj(
  {
    context: str, dockerfile: str, dockerfile_inline: str, entitlements: strList, args: listOrDict, ssh: listOrDict, labels: listOrDict,
    cache_from: strList, cache_to: strList, no_cache: bool, additional_contexts: listOrDict, network: str, provenance: k('string', 'boolean'),
    sbom: k('string', 'boolean'), pull: bool, target: str, shm_size: strOrNum, extra_hosts: listOrDict, isolation: str, privileged: bool,
    secrets: fileReference, tags: strList, ulimits: k('mapping'), platforms: strList,
  },
  'string',
);

const healthcheck = obj({ disable: bool, interval: str, retries: num, test: strOrList, timeout: str, start_period: str, start_interval: str });

const deploy = obj({
  mode: str, endpoint_mode: str, replicas: num, labels: listOrDict, rollback_config: k('mapping'), update_config: k('mapping'),
  resources: obj({
    limits: obj({ cpus: strOrNum, memory: str, pids: num }),
    reservations: obj({ cpus: strOrNum, memory: str, generic_resources: k('list'), devices: k('list') }),
  }),
  restart_policy: obj({ condition: str, delay: str, max_attempts: num, window: str }),
  placement: k('mapping'),
});

const port = obj({ name: str, mode: str, host_ip: str, target: strOrNum, published: strOrNum, protocol: str, app_protocol: str }, 'string', 'number');

const serviceVolume = obj(
  {
    type: str, source: str, target: str, read_only: bool, consistency: str,
    bind: obj({ propagation: str, create_host_path: bool, recursive: str, selinux: str }),
    volume: obj({ nocopy: bool, subpath: str, labels: listOrDict }),
    tmpfs: obj({ size: strOrNum, mode: strOrNum }),
    image: obj({ subpath: str }),
  },
  'string',
);

/** `develop`: compose watch's rules (what each needs, and its action's values, watch.ts checks). */
const develop = obj({
  watch: {
    kinds: ['list'],
    items: obj({
      path: str, action: str, target: str, ignore: strOrList, include: strOrList, initial_sync: bool,
      exec: obj({ command: strOrList, user: str, privileged: bool, working_dir: str, environment: listOrDict }),
    }),
  },
});

const service = obj({
  annotations: listOrDict, attach: bool, build, blkio_config: k('mapping'), cap_add: strList, cap_drop: strList, cgroup: str, cgroup_parent: str,
  command: k('string', 'list', 'null'), configs: fileReference, container_name: str, cpu_count: strOrNum, cpu_percent: strOrNum,
  cpu_shares: strOrNum, cpu_quota: strOrNum, cpu_period: strOrNum, cpu_rt_period: strOrNum, cpu_rt_runtime: strOrNum, cpus: strOrNum,
  cpuset: str, credential_spec: k('mapping'),
  depends_on: { kinds: ['list', 'mapping'], items: str, values: obj({ condition: str, required: bool, restart: bool }) },
  deploy, develop, device_cgroup_rules: strList, devices: k('list'), dns: strOrList, dns_opt: strList, dns_search: strOrList,
  domainname: str, entrypoint: k('string', 'list', 'null'), env_file: { kinds: ['string', 'list'], items: obj({ path: str, required: bool, format: str }, 'string') },
  label_file: strOrList, environment: listOrDict, expose: strList, extends: obj({ service: str, file: str }, 'string'),
  external_links: strList, extra_hosts: listOrDict, gpus: k('string', 'list'), group_add: strList, healthcheck, hostname: str, image: str,
  init: bool, ipc: str, isolation: str, labels: listOrDict, links: strList, logging: obj({ driver: str, options: k('mapping', 'null') }),
  mac_address: str, mem_limit: strOrNum, mem_reservation: strOrNum, mem_swappiness: strOrNum, memswap_limit: strOrNum, network_mode: str,
  networks: { kinds: ['list', 'mapping'], items: str, values: obj({ aliases: strList, ipv4_address: str, ipv6_address: str, link_local_ips: strList, mac_address: str, driver_opts: k('mapping'), priority: num, gw_priority: num, interface_name: str }, 'null') },
  oom_kill_disable: bool, oom_score_adj: num, pid: k('string', 'null'), pids_limit: strOrNum, platform: str,
  ports: { kinds: ['list'], items: port }, post_start: k('list'), pre_stop: k('list'), privileged: bool, profiles: strList, provider: k('mapping'),
  pull_policy: str, pull_refresh_after: str, read_only: bool, restart: str, runtime: str, scale: num, secrets: fileReference,
  security_opt: strList, shm_size: strOrNum, stdin_open: bool, stop_grace_period: str, stop_signal: str, storage_opt: k('mapping'),
  sysctls: listOrDict, tmpfs: strOrList, tty: bool, ulimits: k('mapping'), use_api_socket: bool, user: str, uts: str, userns_mode: str,
  volumes: { kinds: ['list'], items: serviceVolume }, volumes_from: strList, working_dir: str, models: listOrDict,
});

const network = obj(
  {
    name: str, driver: str, driver_opts: k('mapping'), ipam: obj({ driver: str, config: k('list'), options: k('mapping') }), external,
    internal: bool, enable_ipv4: bool, enable_ipv6: bool, attachable: bool, labels: listOrDict,
  },
  'null',
);
const volume = obj({ name: str, driver: str, driver_opts: k('mapping'), external, labels: listOrDict }, 'null');
const fileObject = obj({ name: str, file: str, environment: str, content: str, external, labels: listOrDict, driver: str, driver_opts: k('mapping'), template_driver: str }, 'null');

const project = obj({
  version: str, name: str, include: k('list'), services: { kinds: ['mapping', 'null'], values: service },
  networks: { kinds: ['mapping', 'null'], values: network }, volumes: { kinds: ['mapping', 'null'], values: volume },
  secrets: { kinds: ['mapping', 'null'], values: fileObject }, configs: { kinds: ['mapping', 'null'], values: fileObject }, models: k('mapping', 'null'),
});

function kindOf(value: unknown, accepted: Kind[]): Kind | undefined {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return 'number';
  if (Array.isArray(value)) return 'list';
  if (isPlainObject(value)) return 'mapping';
  if (typeof value === 'string') {
    if (accepted.includes('string')) return 'string';
    if (accepted.includes('number') && value.trim() !== '' && !Number.isNaN(Number(value))) return 'number';
    if (accepted.includes('boolean') && /^(true|false|yes|no|on|off|y|n)$/i.test(value)) return 'boolean';
    return 'string';
  }
  return undefined;
}

function describeKinds(kinds: Kind[]): string {
  const names = kinds.filter((kind) => kind !== 'null');
  return names.length === 1 ? (names[0] as string) : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function check(value: unknown, shape: Shape, path: string[]): void {
  const where = path.length === 0 ? '(root)' : path.join('.');
  const kind = kindOf(value, shape.kinds);
  if (!kind || !shape.kinds.includes(kind)) throw new Error(`${where} must be a ${describeKinds(shape.kinds)}`);
  if (kind === 'mapping') {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (key.startsWith('x-')) continue;
      if (shape.keys) {
        const inner = shape.keys[key];
        if (!inner) throw new Error(`${where} additional properties '${key}' not allowed`);
        check(item, inner, [...path, key]);
      } else if (shape.values) {
        check(item, shape.values, [...path, key]);
      }
    }
  } else if (kind === 'list' && shape.items) {
    (value as unknown[]).forEach((item, index) => check(item, shape.items as Shape, [...path, String(index)]));
  }
}

/**
 * Checks a compose file (interpolated) against the Compose Specification's shape; the error
 * is compose's: `validating /x/compose.yaml: services.web additional properties 'foo' not allowed`.
 */
export function validateFile(config: Record<string, unknown>, file: string): void {
  try {
    check(config, project, []);
  } catch (error) {
    throw new CtrError('InvalidArgument', `validating ${file}: ${(error as Error).message}`);
  }
}
