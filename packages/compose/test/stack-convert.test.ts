import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertStack, loadStack, type StackObjects } from '../src';

/**
 * A compose file as `docker stack deploy` converts it (docker-cli's cli/compose/convert):
 * scoped names, the namespace label everywhere, and the ServiceSpec fields docker sends.
 */
describe('stack conversion', () => {
  let dir: string;
  const env = { HOME: '/root', PATH: '/usr/bin' };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-stack-convert-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let counter = 0;
  async function convert(yaml: string, extraEnv: Record<string, string> = {}): Promise<StackObjects & { warnings: string[] }> {
    const file = join(dir, `stack-${++counter}.yml`);
    await writeFile(file, yaml);
    const { project, warnings } = await loadStack({ files: [file], namespace: 'app', env: { ...env, ...extraEnv }, cwd: dir });
    return { ...(await convertStack(project, 'app')), warnings };
  }
  const service = (objects: StackObjects, key: string) => {
    const found = objects.services.find((s) => s.key === key);
    if (!found) throw new Error(`no service ${key}`);
    return found.spec;
  };

  test('services are named <stack>_<service> and carry the namespace and image labels', async () => {
    const objects = await convert('services:\n  web:\n    image: busybox\n    labels: {tier: front}\n    deploy:\n      labels: {team: a}\n');
    const spec = service(objects, 'web');
    expect(spec.Name).toBe('app_web');
    expect(spec.Labels).toEqual({ team: 'a', 'com.docker.stack.namespace': 'app', 'com.docker.stack.image': 'busybox' });
    expect(spec.TaskTemplate.ContainerSpec?.Labels).toEqual({ tier: 'front', 'com.docker.stack.namespace': 'app' });
  });

  test('the default network is <stack>_default, an overlay labelled with the namespace, and the service joins it under its own name', async () => {
    const objects = await convert('services:\n  web:\n    image: busybox\n');
    expect(objects.networks).toEqual([{ Name: 'app_default', Driver: 'overlay', Labels: { 'com.docker.stack.namespace': 'app' } }]);
    expect(service(objects, 'web').TaskTemplate.Networks).toEqual([{ Target: 'app_default', Aliases: ['web'] }]);
  });

  test('declared networks keep their driver and options, join with their aliases sorted by target, and external ones are only checked', async () => {
    const objects = await convert(
      [
        'services:',
        '  web:',
        '    image: busybox',
        '    networks:',
        '      front: {aliases: [www]}',
        '      back: {}',
        '      shared: {}',
        'networks:',
        '  front: {driver: overlay, attachable: true, labels: {a: b}}',
        '  back: {internal: true}',
        '  shared: {external: true, name: outside}',
        '',
      ].join('\n'),
    );
    expect(objects.networks).toEqual([
      { Name: 'app_back', Driver: 'overlay', Labels: { 'com.docker.stack.namespace': 'app' }, Internal: true },
      { Name: 'app_front', Driver: 'overlay', Labels: { a: 'b', 'com.docker.stack.namespace': 'app' }, Attachable: true },
    ]);
    expect(objects.externalNetworks).toEqual(['outside']);
    expect(service(objects, 'web').TaskTemplate.Networks).toEqual([
      { Target: 'app_back', Aliases: ['web'] },
      { Target: 'app_front', Aliases: ['www', 'web'] },
      { Target: 'outside', Aliases: ['web'] },
    ]);
  });

  test('command becomes Args and entrypoint Command; environment is sorted KEY=VALUE with bare keys kept bare', async () => {
    const objects = await convert(
      'services:\n  web:\n    image: busybox\n    entrypoint: ["/bin/sh", "-c"]\n    command: echo hi\n    environment:\n      ZED: last\n      ALPHA: first\n      BARE:\n    working_dir: /srv\n    user: "1000"\n    hostname: box\n',
    );
    const container = service(objects, 'web').TaskTemplate.ContainerSpec;
    expect(container?.Command).toEqual(['/bin/sh', '-c']);
    expect(container?.Args).toEqual(['echo', 'hi']);
    expect(container?.Env).toEqual(['ALPHA=first', 'BARE', 'ZED=last']);
    expect(container).toMatchObject({ Dir: '/srv', User: '1000', Hostname: 'box' });
  });

  test('interpolation reads the process environment and no .env file, as docker stack deploy does', async () => {
    await writeFile(join(dir, '.env'), 'TAG=fromdotenv\n');
    const objects = await convert('services:\n  web:\n    image: busybox:${TAG:-none}\n');
    expect(service(objects, 'web').TaskTemplate.ContainerSpec?.Image).toBe('busybox:none');
    const fromEnv = await convert('services:\n  web:\n    image: busybox:${TAG:-none}\n', { TAG: 'given' });
    expect(service(fromEnv, 'web').TaskTemplate.ContainerSpec?.Image).toBe('busybox:given');
  });

  test('deploy: replicas, resources, restart policy, update and rollback configs, placement and endpoint mode', async () => {
    const objects = await convert(
      [
        'services:',
        '  web:',
        '    image: busybox',
        '    deploy:',
        '      replicas: 3',
        '      endpoint_mode: dnsrr',
        '      resources:',
        '        limits: {cpus: "0.5", memory: 64M, pids: 100}',
        '        reservations: {cpus: "0.25", memory: 32M}',
        '      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}',
        '      update_config: {parallelism: 2, delay: 10s, failure_action: rollback, monitor: 30s, max_failure_ratio: 0.5, order: start-first}',
        '      rollback_config: {delay: 1s}',
        '      placement:',
        '        constraints: [node.role == manager]',
        '        preferences: [{spread: node.labels.zone}]',
        '        max_replicas_per_node: 2',
        '',
      ].join('\n'),
    );
    const spec = service(objects, 'web');
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(spec.EndpointSpec?.Mode).toBe('dnsrr');
    expect(spec.TaskTemplate.Resources).toEqual({
      Limits: { NanoCPUs: 500_000_000, MemoryBytes: 64 * 1024 * 1024, Pids: 100 },
      Reservations: { NanoCPUs: 250_000_000, MemoryBytes: 32 * 1024 * 1024 },
    });
    expect(spec.TaskTemplate.RestartPolicy).toEqual({ Condition: 'on-failure', Delay: 5e9, MaxAttempts: 3, Window: 120e9 });
    expect(spec.UpdateConfig).toEqual({ Parallelism: 2, Delay: 10e9, FailureAction: 'rollback', Monitor: 30e9, MaxFailureRatio: 0.5, Order: 'start-first' });
    expect(spec.RollbackConfig).toEqual({ Parallelism: 1, Delay: 1e9 });
    expect(spec.TaskTemplate.Placement).toEqual({ Constraints: ['node.role == manager'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }], MaxReplicas: 2 });
  });

  test('modes: global, replicated-job (replicas as completions) and global-job; replicas with a global mode is refused', async () => {
    const objects = await convert(
      'services:\n  a: {image: busybox, deploy: {mode: global}}\n  b: {image: busybox, deploy: {mode: replicated-job, replicas: 4}}\n  c: {image: busybox, deploy: {mode: global-job}}\n  d: {image: busybox}\n',
    );
    expect(service(objects, 'a').Mode).toEqual({ Global: {} });
    expect(service(objects, 'b').Mode).toEqual({ ReplicatedJob: { MaxConcurrent: 4, TotalCompletions: 4 } });
    expect(service(objects, 'c').Mode).toEqual({ GlobalJob: {} });
    expect(service(objects, 'd').Mode).toEqual({ Replicated: { Replicas: 1 } });
    await expect(convert('services:\n  a: {image: busybox, deploy: {mode: global, replicas: 2}}\n')).rejects.toThrow('service a: replicas can only be used with replicated or replicated-job mode');
  });

  test('compose restart: falls back to a swarm restart policy when deploy.restart_policy is absent', async () => {
    const objects = await convert('services:\n  a: {image: busybox, restart: always}\n  b: {image: busybox, restart: "on-failure:2"}\n  c: {image: busybox, restart: "no"}\n');
    expect(service(objects, 'a').TaskTemplate.RestartPolicy).toEqual({ Condition: 'any' });
    expect(service(objects, 'b').TaskTemplate.RestartPolicy).toEqual({ Condition: 'on-failure', MaxAttempts: 2 });
    expect(service(objects, 'c').TaskTemplate.RestartPolicy).toBeUndefined();
  });

  test('ports become the endpoint spec: ingress by default, host mode from the long syntax, sorted by published port', async () => {
    const objects = await convert(
      'services:\n  web:\n    image: busybox\n    ports:\n      - "9090:90"\n      - "8080:80/udp"\n      - {target: 443, published: 8443, mode: host}\n      - "7000"\n',
    );
    expect(service(objects, 'web').EndpointSpec?.Ports).toEqual([
      { Protocol: 'tcp', TargetPort: 7000, PublishMode: 'ingress' },
      { Protocol: 'udp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
      { Protocol: 'tcp', TargetPort: 443, PublishedPort: 8443, PublishMode: 'host' },
      { Protocol: 'tcp', TargetPort: 90, PublishedPort: 9090, PublishMode: 'ingress' },
    ]);
  });

  test('volumes: a named volume is <stack>_<name> with the namespace label, binds are absolute, tmpfs keeps its size', async () => {
    const objects = await convert(
      'services:\n  web:\n    image: busybox\n    volumes:\n      - data:/data:ro\n      - ./site:/site\n      - {type: tmpfs, target: /cache, tmpfs: {size: 1m}}\n      - outside:/ext\nvolumes:\n  data: {labels: {keep: "yes"}}\n  outside: {external: true}\n',
    );
    expect(service(objects, 'web').TaskTemplate.ContainerSpec?.Mounts).toEqual([
      { Type: 'volume', Target: '/data', ReadOnly: true, Source: 'app_data', VolumeOptions: { Labels: { keep: 'yes', 'com.docker.stack.namespace': 'app' } } },
      { Type: 'bind', Target: '/site', Source: join(dir, 'site') },
      { Type: 'tmpfs', Target: '/cache', TmpfsOptions: { SizeBytes: 1024 * 1024 } },
      { Type: 'volume', Target: '/ext', Source: 'outside', VolumeOptions: {} },
    ]);
  });

  test('secrets and configs: file contents base64, scoped names unless named, references with docker defaults', async () => {
    await writeFile(join(dir, 'token.txt'), 's3cret');
    await writeFile(join(dir, 'nginx.conf'), 'server {}');
    const objects = await convert(
      [
        'services:',
        '  web:',
        '    image: busybox',
        '    secrets: [token, {source: shared, target: other, mode: 0o400}]',
        '    configs: [{source: nginx, target: /etc/nginx.conf}]',
        'secrets:',
        '  token: {file: ./token.txt}',
        '  shared: {external: true, name: global_shared}',
        'configs:',
        '  nginx: {file: ./nginx.conf, name: nginx_v1}',
        '',
      ].join('\n'),
    );
    expect(objects.secrets).toEqual([{ Name: 'app_token', Labels: { 'com.docker.stack.namespace': 'app' }, Data: Buffer.from('s3cret').toString('base64') }]);
    expect(objects.configs).toEqual([{ Name: 'nginx_v1', Labels: { 'com.docker.stack.namespace': 'app' }, Data: Buffer.from('server {}').toString('base64') }]);
    const container = service(objects, 'web').TaskTemplate.ContainerSpec;
    expect(container?.Secrets).toEqual([
      { File: { Name: 'token', UID: '0', GID: '0', Mode: 0o444 }, SecretID: '', SecretName: 'app_token' },
      { File: { Name: 'other', UID: '0', GID: '0', Mode: 0o400 }, SecretID: '', SecretName: 'global_shared' },
    ]);
    expect(container?.Configs).toEqual([{ File: { Name: '/etc/nginx.conf', UID: '0', GID: '0', Mode: 0o444 }, ConfigID: '', ConfigName: 'nginx_v1' }]);
  });

  test("a file mode written as YAML 1.1's octal (0440) is read as docker compose reads it, not as decimal", async () => {
    const objects = await convert(['services:', '  web:', '    image: busybox', '    secrets: [{source: shared, mode: 0440}]', 'secrets:', '  shared: {external: true}', ''].join('\n'));
    expect(service(objects, 'web').TaskTemplate.ContainerSpec?.Secrets?.[0]?.File?.Mode).toBe(0o440);
  });

  test('healthcheck, stop grace period, extra hosts, capabilities and ulimits in swarm form', async () => {
    const objects = await convert(
      [
        'services:',
        '  web:',
        '    image: busybox',
        '    healthcheck: {test: ["CMD", "true"], interval: 10s, timeout: 2s, retries: 3, start_period: 1s}',
        '    stop_grace_period: 1m',
        '    stop_signal: SIGTERM',
        '    extra_hosts: ["db:10.0.0.9"]',
        '    cap_add: [net_admin]',
        '    cap_drop: [ALL]',
        '    ulimits: {nofile: {soft: 100, hard: 200}, nproc: 50}',
        '    init: true',
        '    tty: true',
        '    read_only: true',
        '',
      ].join('\n'),
    );
    const container = service(objects, 'web').TaskTemplate.ContainerSpec;
    expect(container?.Healthcheck).toEqual({ Test: ['CMD', 'true'], Interval: 10e9, Timeout: 2e9, Retries: 3, StartPeriod: 1e9 });
    expect(container?.StopGracePeriod).toBe(60e9);
    expect(container?.Hosts).toEqual(['10.0.0.9 db']);
    expect(container?.CapabilityAdd).toEqual(['CAP_NET_ADMIN']);
    expect(container?.CapabilityDrop).toEqual(['ALL']);
    expect(container?.Ulimits).toEqual([
      { Name: 'nofile', Soft: 100, Hard: 200 },
      { Name: 'nproc', Soft: 50, Hard: 50 },
    ]);
    expect(container).toMatchObject({ Init: true, TTY: true, ReadOnly: true, StopSignal: 'SIGTERM' });
  });

  test('options swarm does not run are warned about in docker words, sorted, and the rest deploys', async () => {
    const { warnings, services } = await convert('services:\n  web:\n    image: busybox\n    restart: always\n    build: .\n    privileged: true\n    container_name: x\n    expose: ["80"]\n');
    expect(warnings).toEqual([
      'Ignoring unsupported options: build, privileged, restart\n',
      "Ignoring deprecated options:\n\ncontainer_name: Setting the container name is not supported.\n\nexpose: Exposing ports is unnecessary - services on the same network can access each other's containers on any port.\n",
    ]);
    expect(services.map((s) => s.spec.Name)).toEqual(['app_web']);
  });

  test('options docker forbids refuse the file with its advice', async () => {
    await expect(convert('services:\n  web:\n    image: busybox\n    mem_limit: 1g\n')).rejects.toThrow('compose file contains unsupported options:\n\nmem_limit: Set resource limits using deploy.resources\n');
  });

  test('a service without an image is refused as docker refuses it', async () => {
    await expect(convert('services:\n  web:\n    build: .\n')).rejects.toThrow('invalid image reference for service web: no image specified');
  });

  test('no compose file is docker\'s "specify a Compose file"; a blank stack name is refused', async () => {
    await expect(loadStack({ files: [], namespace: 'app' })).rejects.toThrow('specify a Compose file (with --compose-file)');
    await expect(loadStack({ files: ['x.yml'], namespace: ' ' })).rejects.toThrow('invalid stack name: " "');
  });
});
