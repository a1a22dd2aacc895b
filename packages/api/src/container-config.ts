import type { CreateContainerOptions, HealthConfig } from '@ctr/engine';
import { invalidArgument } from '@ctr/errors';
import { Fields } from './fields';

/**
 * `POST /containers/create`'s body (Docker's `Config` with `HostConfig` and
 * `NetworkingConfig` inside) as the engine's create options. Fields the engine has no
 * notion of are ignored like an older dockerd ignores newer ones; fields of the wrong
 * type are InvalidArgument.
 */
export function createOptionsFromBody(body: Record<string, unknown>, name: string | undefined): CreateContainerOptions {
  const config = new Fields(body, '');
  const image = config.string('Image');
  if (!image) throw invalidArgument('no image specified: Config.Image is required');
  const host = config.object('HostConfig') ?? new Fields({}, 'HostConfig.');
  const options: CreateContainerOptions = { image, pull: 'never' };
  const set = <K extends keyof CreateContainerOptions>(key: K, value: CreateContainerOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };

  set('name', name || undefined);
  set('cmd', config.strings('Cmd', { single: true }));
  set('entrypoint', config.strings('Entrypoint', { single: true }));
  set('env', config.strings('Env'));
  set('workingDir', config.string('WorkingDir') || undefined);
  set('user', config.string('User') || undefined);
  set('hostname', config.string('Hostname') || undefined);
  set('domainname', config.string('Domainname') || undefined);
  set('tty', config.bool('Tty'));
  set('openStdin', config.bool('OpenStdin'));
  set('labels', config.stringMap('Labels'));
  set('stopSignal', config.string('StopSignal') || undefined);
  set('stopTimeout', config.number('StopTimeout'));
  const health = config.object('Healthcheck');
  if (health) {
    const check: HealthConfig = {};
    const test = health.strings('Test');
    if (test) check.Test = test;
    for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
      const value = health.number(key);
      if (value) check[key] = value;
    }
    options.healthcheck = check;
  }

  const volumes = [...(host.strings('Binds') ?? []), ...(config.keys('Volumes') ?? [])];
  const tmpfs = Object.entries(host.stringMap('Tmpfs') ?? {}).map(([target, opts]) => (opts ? `${target}:${opts}` : target));
  for (const mount of host.objects('Mounts') ?? []) {
    const type = mount.string('Type') ?? 'volume';
    const target = mount.string('Target');
    if (!target) throw invalidArgument('invalid mount config: Target is required');
    const source = mount.string('Source') ?? '';
    const ro = mount.bool('ReadOnly') ? ':ro' : '';
    if (type === 'bind') {
      if (!source) throw invalidArgument('invalid mount config for type "bind": field Source must not be empty');
      volumes.push(`${source}:${target}${ro}`);
    } else if (type === 'volume') volumes.push(source ? `${source}:${target}${ro}` : target);
    else if (type === 'tmpfs') {
      const size = mount.object('TmpfsOptions')?.number('SizeBytes');
      tmpfs.push(size ? `${target}:size=${size}` : target);
    } else throw invalidArgument(`invalid mount config: mount type unknown: ${JSON.stringify(type)}`);
  }
  if (volumes.length > 0) options.volumes = volumes;
  if (tmpfs.length > 0) options.tmpfs = tmpfs;

  const networkMode = host.string('NetworkMode');
  set('network', !networkMode || networkMode === 'default' ? undefined : networkMode);
  const endpoints = (config.object('NetworkingConfig') ?? new Fields({}, 'NetworkingConfig.')).entries('EndpointsConfig');
  const endpoint = endpoints.find(([network]) => network === (networkMode || 'default')) ?? endpoints[0];
  if (endpoint) {
    if (!options.network && endpoint[0] !== 'default') options.network = endpoint[0];
    const aliases = endpoint[1].strings('Aliases');
    if (aliases && aliases.length > 0) options.networkAliases = aliases;
    set('ip', endpoint[1].object('IPAMConfig')?.string('IPv4Address') || undefined);
  }
  const publish = publishSpecs(host);
  if (publish.length > 0) options.publish = publish;
  set('publishAll', host.bool('PublishAllPorts'));

  const restart = host.object('RestartPolicy');
  const policy = restart?.string('Name');
  if (policy && policy !== 'no') {
    const retries = restart?.number('MaximumRetryCount') ?? 0;
    options.restart = policy === 'on-failure' && retries > 0 ? `on-failure:${retries}` : policy;
  }
  set('autoRemove', host.bool('AutoRemove'));
  const log = host.object('LogConfig');
  const logDriver = log?.string('Type') || undefined;
  const logOptions = log?.stringMap('Config');
  if (logDriver || (logOptions && Object.keys(logOptions).length > 0)) set('log', { ...(logDriver ? { driver: logDriver } : {}), ...(logOptions ? { options: logOptions } : {}) });

  const positive = (n: number | undefined): number | undefined => (n && n > 0 ? n : undefined);
  set('memory', positive(host.number('Memory')));
  const swap = host.number('MemorySwap');
  set('memorySwap', swap === -1 ? -1 : positive(swap));
  set('memoryReservation', positive(host.number('MemoryReservation')));
  const nanoCpus = positive(host.number('NanoCpus'));
  set('cpus', nanoCpus ? nanoCpus / 1e9 : undefined);
  set('cpuShares', positive(host.number('CpuShares')));
  set('cpuQuota', positive(host.number('CpuQuota')));
  set('cpuPeriod', positive(host.number('CpuPeriod')));
  set('cpusetCpus', host.string('CpusetCpus') || undefined);
  set('cpusetMems', host.string('CpusetMems') || undefined);
  set('pidsLimit', positive(host.number('PidsLimit')));
  set('oomKillDisable', host.bool('OomKillDisable') || undefined);
  set('shmSize', positive(host.number('ShmSize')));
  const ulimits = (host.objects('Ulimits') ?? []).map(
    (u): Ulimit => ({ name: u.string('Name') ?? '', soft: u.number('Soft') ?? 0, hard: u.number('Hard') ?? 0 }),
  );
  if (ulimits.length > 0) options.ulimits = ulimits;
  set('capAdd', nonEmpty(host.strings('CapAdd')));
  set('capDrop', nonEmpty(host.strings('CapDrop')));
  set('readOnlyRootfs', host.bool('ReadonlyRootfs') || undefined);
  for (const opt of host.strings('SecurityOpt') ?? []) {
    if (opt === 'no-new-privileges' || opt === 'no-new-privileges:true' || opt === 'no-new-privileges=true') options.noNewPrivileges = true;
    else if (opt === 'seccomp=unconfined' || opt === 'seccomp:unconfined') options.seccomp = 'unconfined';
  }
  set('extraHosts', nonEmpty(host.strings('ExtraHosts')));
  set('dns', nonEmpty(host.strings('Dns')));
  set('dnsSearch', nonEmpty(host.strings('DnsSearch')));
  set('dnsOptions', nonEmpty(host.strings('DnsOptions')));
  set('sysctls', host.stringMap('Sysctls'));
  return options;
}

type Ulimit = NonNullable<CreateContainerOptions['ulimits']>[number];

function nonEmpty(list: string[] | undefined): string[] | undefined {
  return list && list.length > 0 ? list : undefined;
}

/** `PortBindings: {"80/tcp": [{HostIp, HostPort}]}` as `-p` values: `127.0.0.1:8080:80/tcp`. */
function publishSpecs(host: Fields): string[] {
  const out: string[] = [];
  for (const [port, bindings] of host.entriesOfArrays('PortBindings')) {
    if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(port)) throw invalidArgument(`invalid port specification: ${JSON.stringify(port)}`);
    for (const b of bindings.length > 0 ? bindings : [new Fields({}, '')]) {
      const ip = b.string('HostIp') ?? '';
      const hostPort = b.string('HostPort') ?? '';
      out.push(ip ? `${ip}:${hostPort}:${port}` : hostPort ? `${hostPort}:${port}` : port);
    }
  }
  return out;
}
