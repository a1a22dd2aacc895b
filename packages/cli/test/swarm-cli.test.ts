import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { notFound } from '@ctr/errors';
import type { ConvergeProgress, Node, Secret, Service, ServiceSpec, SwarmApi, Task } from '@ctr/swarm';
import type { Io } from '../src/command';
import { main } from '../src/main';
import { useSwarmForTests } from '../src/swarm-context';
import { ConvergeView } from '../src/commands/swarm-output';

/**
 * The swarm verbs' command line over a SwarmApi given to them: flags as the specs docker's CLI
 * builds, tables and templates as docker prints them, exit codes as docker's. The real swarm
 * is swarm-e2e's.
 */

const NOW = new Date().toISOString();
const meta = (index = 1): { Version: { Index: number }; CreatedAt: string; UpdatedAt: string } => ({ Version: { Index: index }, CreatedAt: NOW, UpdatedAt: NOW });
const NODE_ID = 'n0d31d0000000000000000001';

/** A swarm root CA as ctr's swarm makes one (`/CN=swarm-ca`, P-256): its PEM, subject and public key as the API gives them. */
const CA_TLS: Node['Description']['TLSInfo'] = {
  TrustRoot: [
    '-----BEGIN CERTIFICATE-----',
    'MIIBejCCASGgAwIBAgIUBndnSWVzP7dl2FQqOld6985XsBMwCgYIKoZIzj0EAwIw',
    'EzERMA8GA1UEAwwIc3dhcm0tY2EwHhcNMjYxMTI0MTE0NjU2WhcNNDYxMTE5MTE0',
    'NjU2WjATMREwDwYDVQQDDAhzd2FybS1jYTBZMBMGByqGSM49AgEGCCqGSM49AwEH',
    'A0IABPV4TTpA1/PCcVvv4xjZ1whaFnOASWLkrB4Wugo5jqB3Z/7acAfqXaL+vd3B',
    '1zbkG4d4WdMoAgdHhl2Aq7uL8mKjUzBRMB0GA1UdDgQWBBRUZjqFmdRanG1y/c/c',
    'YXNEORHz5DAfBgNVHSMEGDAWgBRUZjqFmdRanG1y/c/cYXNEORHz5DAPBgNVHRMB',
    'Af8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCICcsNs8PaKyMQzi7rCwsPVPsnXnT',
    'y0UhlIClZfoTERY/AiAyNsn3aB+/kuju9vIkEEtu1x4Jl7wlAskvaquM8q3FUg==',
    '-----END CERTIFICATE-----',
    '',
  ].join('\n'),
  CertIssuerSubject: 'MBMxETAPBgNVBAMMCHN3YXJtLWNh',
  CertIssuerPublicKey: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9XhNOkDX88JxW+/jGNnXCFoWc4BJYuSsHha6CjmOoHdn/tpwB+pdov693cHXNuQbh3hZ0ygCB0eGXYCru4vyYg==',
};
const NO_TLS: Node['Description']['TLSInfo'] = { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' };

function node(id = NODE_ID, hostname = 'box', tls = CA_TLS): Node {
  return {
    ID: id,
    ...meta(),
    Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 2e9, MemoryBytes: 2 ** 31 },
      Engine: { EngineVersion: '0.1.0', Plugins: [] },
      TLSInfo: tls,
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
    ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '127.0.0.1:2377' },
  };
}

function service(id: string, spec: Partial<ServiceSpec>, status?: Service['ServiceStatus']): Service {
  const full: ServiceSpec = { Name: id, Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest' } }, Mode: { Replicated: { Replicas: 1 } }, ...spec };
  return { ID: `${id}${'0'.repeat(25 - id.length)}`, ...meta(7), Spec: full, Endpoint: { Spec: full.EndpointSpec ?? {}, Ports: full.EndpointSpec?.Ports ?? [] }, ...(status ? { ServiceStatus: status } : {}) };
}

function task(id: string, serviceId: string, slot: number, state: Task['Status']['State'], desired: Task['DesiredState'], createdAt: string, err?: string): Task {
  return {
    ID: `${id}${'0'.repeat(25 - id.length)}`,
    Version: { Index: 1 },
    CreatedAt: createdAt,
    UpdatedAt: createdAt,
    Spec: { ContainerSpec: { Image: 'busybox:latest@sha256:' + 'a'.repeat(64) } },
    ServiceID: serviceId,
    Slot: slot,
    NodeID: NODE_ID,
    Status: { Timestamp: new Date(Date.now() - 5000).toISOString(), State: state, Message: state, ...(err ? { Err: err } : {}) },
    DesiredState: desired,
  };
}

/** A swarm that answers from what the test put in it and records what it was asked. */
class FakeSwarm {
  services: Service[] = [];
  tasks: Task[] = [];
  secrets: Secret[] = [];
  created: ServiceSpec[] = [];
  updates: Array<{ id: string; version: number; spec: ServiceSpec; rollback?: string }> = [];
  progress: ConvergeProgress[] = [];
  nodes: Node[] = [node()];

  api(): SwarmApi {
    const find = (name: string): Service => {
      const found = this.services.find((s) => s.ID === name || s.Spec.Name === name || s.ID.startsWith(name));
      if (!found) throw notFound(`service ${name} not found`);
      return found;
    };
    const unused = (): never => {
      throw new Error('not used by these tests');
    };
    const cluster = { ID: 'c1uster', ...meta(), Spec: {} as never, TLSInfo: CA_TLS, RootRotationInProgress: false, DefaultAddrPool: [], SubnetSize: 24, DataPathPort: 4789 };
    return {
      init: async () => NODE_ID,
      join: unused,
      leave: async () => undefined,
      inspect: async () => ({ ...cluster, JoinTokens: { Worker: 'SWMTKN-1-worker', Manager: 'SWMTKN-1-manager' } }),
      update: async () => undefined,
      unlockKey: async () => ({ UnlockKey: '' }),
      unlock: unused,
      info: async () => ({ NodeID: NODE_ID, NodeAddr: '127.0.0.1', LocalNodeState: 'active', ControlAvailable: true, Error: '', RemoteManagers: [], Cluster: cluster }),
      nodes: async () => this.nodes,
      inspectNode: async (id) => this.nodes.find((n) => n.ID === id) ?? unused(),
      updateNode: async (id, version, spec) => {
        this.nodeUpdates.push({ id, version, spec });
      },
      removeNode: unused,
      createService: async (spec) => {
        this.created.push(spec);
        this.services.push({ ...service('new', spec), ID: 'newserviceid0000000000001' });
        return { ID: 'newserviceid0000000000001' };
      },
      services: async () => this.services,
      inspectService: async (id) => find(id),
      updateService: async (id, version, spec, options) => {
        this.updates.push({ id, version, spec, ...(options?.rollback ? { rollback: options.rollback } : {}) });
        return {};
      },
      removeService: async (id) => void find(id),
      serviceLogs: (id) => this.logs(id),
      converge: async (_id, options) => {
        // Each wait reports the looks up to the next converged one (or all left); the last look stands from then on.
        const next = this.progress.findIndex((p) => p.converged);
        const looks = this.progress.splice(0, next < 0 ? this.progress.length : next + 1);
        const last = looks[looks.length - 1] as ConvergeProgress;
        if (this.progress.length === 0) this.progress.push(last);
        for (const p of looks) options.onProgress?.(p);
        return last;
      },
      tasks: async (filters = {}) => this.tasks.filter((t) => !filters.service || filters.service.includes(t.ServiceID)),
      inspectTask: unused,
      taskLogs: unused,
      createSecret: async (spec) => {
        this.secretSpecs.push(spec);
        return { ID: 'secretid00000000000000001' };
      },
      secrets: async () => this.secrets,
      inspectSecret: unused,
      updateSecret: unused,
      removeSecret: unused,
      createConfig: unused,
      configs: async () => [],
      inspectConfig: unused,
      updateConfig: unused,
      removeConfig: unused,
    };
  }

  nodeUpdates: Array<{ id: string; version: number; spec: Node['Spec'] }> = [];
  secretSpecs: Array<{ Name: string; Data?: string; Labels: Record<string, string> }> = [];

  async *logs(serviceId: string): AsyncGenerator<import('@ctr/swarm').ServiceLogLine> {
    for (const t of this.tasks.filter((x) => x.ServiceID === serviceId && x.DesiredState === 'running')) {
      yield { stream: 'stdout', task: { id: t.ID, name: `web.${t.Slot}.${t.ID}`, nodeId: NODE_ID, serviceId }, line: `hello from ${t.Slot}` };
    }
  }
}

describe('ctr swarm verbs over a given swarm', () => {
  let dir: string;
  let swarm: FakeSwarm;

  async function ctr(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return ctrWith('', ...argv);
  }

  async function ctrWith(input: string, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks = { out: '', err: '' };
    stdout.on('data', (d: Buffer) => (chunks.out += d.toString()));
    stderr.on('data', (d: Buffer) => (chunks.err += d.toString()));
    const stdin = new PassThrough();
    stdin.end(input);
    const io: Io = { stdin, stdout, stderr, env: { PATH: process.env.PATH ?? '', FROM_CALLER: 'yes' } };
    const code = await main(['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), ...argv], io);
    return { code, stdout: chunks.out, stderr: chunks.err };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-swarm-cli-'));
  });
  beforeEach(() => {
    swarm = new FakeSwarm();
    useSwarmForTests(swarm.api());
  });
  afterAll(async () => {
    useSwarmForTests(undefined);
    await rm(dir, { recursive: true, force: true });
  });

  test('ctr --help lists the swarm groups under Swarm Commands, after the management commands', async () => {
    const { stdout } = await ctr('--help');
    const section = stdout.slice(stdout.indexOf('Swarm Commands:'), stdout.indexOf('\nCommands:'));
    expect(stdout.indexOf('Management Commands:')).toBeLessThan(stdout.indexOf('Swarm Commands:'));
    expect(section).toMatch(/ {2}config +Manage Swarm configs\n {2}node +Manage Swarm nodes\n {2}secret +Manage Swarm secrets\n {2}service +Manage Swarm services\n/);
    expect(section).toMatch(/ {2}swarm +Manage Swarm\n/);
  });

  test("service create --help lists docker's flags by name, with their defaults", async () => {
    const { stdout, code } = await ctr('service', 'create', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage:  ctr service create [OPTIONS] IMAGE [COMMAND] [ARG...]');
    expect(stdout).toMatch(/--restart-delay duration +Delay between restart attempts \(ns\|us\|ms\|s\|m\|h\) \(default 5s\)/);
    expect(stdout).toMatch(/-p, --publish port +Publish a port as a node port/);
    expect(stdout.indexOf('--cap-add')).toBeLessThan(stdout.indexOf('--with-registry-auth'));
  });

  test('service create turns its flags into the ServiceSpec docker builds, and prints the ID alone with --detach', async () => {
    const envFile = join(dir, 'env');
    await writeFile(envFile, 'FROM_FILE=1\n');
    swarm.secrets = [{ ID: 'sec1', ...meta(), Spec: { Name: 'pw', Labels: {} } }];
    const { code, stdout } = await ctr(
      'service', 'create', '-d', '--name', 'web', '--replicas', '3', '-e', 'A=1', '-e', 'FROM_CALLER', '--env-file', envFile,
      '-l', 'tier=front', '--container-label', 'c=d', '-p', '8080:80', '-p', 'published=5353,target=53,protocol=udp,mode=host',
      '--mount', 'type=tmpfs,target=/cache', '--network', 'name=back,alias=api', '--constraint', 'node.role==manager',
      '--restart-condition', 'on-failure', '--restart-delay', '2s', '--update-parallelism', '2', '--limit-cpu', '0.5', '--limit-memory', '64m',
      '--limit-pids', '100', '--entrypoint', 'sh -c', '--hostname', 'h', '--init', '--read-only', '--stop-grace-period', '3s', '--dns', '127.0.0.9',
      '--host', 'db:10.0.0.5', '--cap-add', 'NET_ADMIN', '--sysctl', 'net.core.somaxconn=1024', '--ulimit', 'nofile=1024:2048',
      '--log-driver', 'json-file', '--log-opt', 'max-size=1m', '--endpoint-mode', 'dnsrr', '--secret', 'source=pw,target=/run/pw,mode=0400',
      'busybox', 'echo', 'hi',
    );
    expect(code).toBe(0);
    expect(stdout).toBe('newserviceid0000000000001\n');
    const spec = swarm.created[0] as ServiceSpec;
    const container = spec.TaskTemplate.ContainerSpec;
    expect(spec.Name).toBe('web');
    expect(spec.Labels).toEqual({ tier: 'front' });
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(container).toMatchObject({
      Image: 'busybox',
      Args: ['echo', 'hi'],
      Command: ['sh', '-c'],
      Env: ['FROM_FILE=1', 'A=1', 'FROM_CALLER=yes'],
      Labels: { c: 'd' },
      Hostname: 'h',
      Init: true,
      ReadOnly: true,
      StopGracePeriod: 3e9,
      DNSConfig: { Nameservers: ['127.0.0.9'] },
      Hosts: ['10.0.0.5 db'],
      CapabilityAdd: ['NET_ADMIN'],
      Sysctls: { 'net.core.somaxconn': '1024' },
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
      Mounts: [{ Type: 'tmpfs', Target: '/cache' }],
      Secrets: [{ SecretID: 'sec1', SecretName: 'pw', File: { Name: '/run/pw', UID: '0', GID: '0', Mode: 0o400 } }],
    });
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: 'back', Aliases: ['api'] }]);
    expect(spec.TaskTemplate.Placement).toEqual({ Constraints: ['node.role==manager'] });
    expect(spec.TaskTemplate.RestartPolicy).toEqual({ Condition: 'on-failure', Delay: 2e9 });
    expect(spec.TaskTemplate.Resources).toEqual({ Limits: { NanoCPUs: 5e8, MemoryBytes: 64 * 1024 * 1024, Pids: 100 }, Reservations: {} });
    expect(spec.TaskTemplate.LogDriver).toEqual({ Name: 'json-file', Options: { 'max-size': '1m' } });
    expect(spec.UpdateConfig).toEqual({ Parallelism: 2, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' });
    expect(spec.RollbackConfig).toBeUndefined();
    expect(spec.EndpointSpec).toEqual({
      Mode: 'dnsrr',
      Ports: [
        { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
        { Protocol: 'udp', TargetPort: 53, PublishedPort: 5353, PublishMode: 'host' },
      ],
    });
  });

  test('a flag value its type refuses is a usage error (exit 125)', async () => {
    const result = await ctr('service', 'create', '--replicas', 'two', 'busybox');
    expect(result.code).toBe(125);
    expect(result.stderr).toContain('invalid argument "two" for "--replicas" flag');
    const publish = await ctr('service', 'create', '-p', 'published=80', 'busybox');
    expect(publish.code).toBe(125);
    expect(publish.stderr).toContain('missing mandatory field "target"');
  });

  test('--replicas with a global service is refused as docker refuses it (exit 1)', async () => {
    const result = await ctr('service', 'create', '--mode', 'global', '--replicas', '2', 'busybox');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('replicas can only be used with replicated or replicated-job mode\n');
  });

  test('a secret the swarm does not have is refused before the service is made', async () => {
    const result = await ctr('service', 'create', '-d', '--secret', 'nope', 'busybox');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('secret not found: nope');
    expect(swarm.created).toEqual([]);
  });

  test('service create waits for convergence without --detach, then verifies the tasks for the update monitor, printing docker\'s progress lines where there is no terminal', async () => {
    swarm.progress = [
      { service: 'x', tasks: [{ slot: '1', state: 'preparing', message: '' }, { slot: '2', state: 'preparing', message: '' }], running: 0, desired: 2, converged: false },
      { service: 'x', tasks: [{ slot: '1', state: 'running', message: '' }, { slot: '2', state: 'preparing', message: '' }], running: 1, desired: 2, converged: false },
      { service: 'x', tasks: [{ slot: '1', state: 'running', message: '' }, { slot: '2', state: 'running', message: '' }], running: 2, desired: 2, converged: true },
    ];
    const { code, stdout } = await ctr('service', 'create', '--replicas', '2', '--update-monitor', '1s', 'busybox');
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'newserviceid0000000000001',
        'overall progress: 0 out of 2 tasks',
        '1/2:  ',
        '2/2:  ',
        'overall progress: 1 out of 2 tasks',
        'overall progress: 2 out of 2 tasks',
        'verify: Waiting 1 seconds to verify that tasks are stable...',
        'verify: Service newserviceid0000000000001 converged',
        '',
      ].join('\n'),
    );
  });

  test('a task that fails while the tasks are verified starts the wait again, and the service converges only after a whole quiet period', async () => {
    swarm.services = [service('web', { UpdateConfig: { Parallelism: 1, Monitor: 1e9 } })];
    const updating = { State: 'updating' as const, Message: 'update in progress' };
    swarm.progress = [
      { service: 'x', tasks: [{ slot: '1', state: 'running', message: '' }], running: 1, desired: 1, converged: false, update: updating },
      { service: 'x', tasks: [{ slot: '1', state: 'failed', message: '', err: 'task: non-zero exit (1)' }], running: 0, desired: 1, converged: false, update: updating },
      { service: 'x', tasks: [{ slot: '1', state: 'running', message: '' }], running: 1, desired: 1, converged: true, update: { State: 'completed', Message: 'update completed' } },
    ];
    const { code, stdout } = await ctr('service', 'update', '--image', 'busybox:2', 'web');
    expect(code).toBe(0);
    expect(stdout.split('\n').slice(1)).toEqual([
      'overall progress: 0 out of 1 tasks',
      '1/1:  ',
      'overall progress: 1 out of 1 tasks',
      'verify: Waiting 1 seconds to verify that tasks are stable...',
      '1/1: task: non-zero exit (1)',
      'overall progress: 0 out of 1 tasks',
      'verify: Detected task failure',
      'overall progress: 1 out of 1 tasks',
      'verify: Waiting 1 seconds to verify that tasks are stable...',
      `verify: Service ${swarm.services[0]?.ID} converged`,
      '',
    ]);
  });

  test('a paused update ends the wait with docker\'s error', async () => {
    swarm.services = [service('web', {})];
    swarm.progress = [{ service: 'x', tasks: [], running: 0, desired: 1, converged: false, update: { State: 'paused', Message: 'update paused due to failure or early termination of task abc' } }];
    const result = await ctr('service', 'update', '--image', 'busybox:2', 'web');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('service update paused: update paused due to failure or early termination of task abc\n');
  });

  test('service ls shows REPLICAS, a job\'s completions and the ingress ports, sorted by name', async () => {
    swarm.services = [
      service('web', { EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }, { Protocol: 'tcp', TargetPort: 81, PublishedPort: 8081, PublishMode: 'ingress' }] } }, { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 }),
      service('batch', { Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } } }, { RunningTasks: 0, DesiredTasks: 1, CompletedTasks: 1 }),
    ];
    const { stdout } = await ctr('service', 'ls');
    expect(stdout).toBe(
      [
        'ID             NAME      MODE             REPLICAS              IMAGE            PORTS',
        'batch0000000   batch     replicated job   0/1 (1/1 completed)   busybox:latest   ',
        'web000000000   web       replicated       2/3                   busybox:latest   *:8080-8081->80-81/tcp',
        '',
      ].join('\n'),
    );
    expect((await ctr('service', 'ls', '-q')).stdout).toBe('batch0000000\nweb000000000\n');
    expect((await ctr('service', 'ls', '--format', '{{.Name}}={{.Replicas}}')).stdout).toBe('batch=0/1 (1/1 completed)\nweb=2/3\n');
  });

  test('service ps lists a slot\'s history under its newest task, indented as docker\'s', async () => {
    const web = service('web', {});
    swarm.services = [web];
    const older = new Date(Date.now() - 60000).toISOString();
    swarm.tasks = [
      task('old1', web.ID, 1, 'failed', 'shutdown', older, 'task: non-zero exit (137)'),
      task('new1', web.ID, 1, 'running', 'running', NOW),
      task('new2', web.ID, 2, 'running', 'running', NOW),
    ];
    const { stdout, code } = await ctr('service', 'ps', 'web');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +IMAGE +NODE +DESIRED STATE +CURRENT STATE +ERROR +PORTS$/);
    expect(lines[1]).toMatch(/^new100000000 +web\.1 +busybox:latest +box +Running +Running 5 seconds ago +$/);
    expect(lines[2]).toMatch(/^old100000000 + \\_ web\.1 +busybox:latest +box +Shutdown +Failed 5 seconds ago +"task: non-zero exit \(137\)" +$/);
    expect(lines[3]).toMatch(/^new200000000 +web\.2 /);
    expect((await ctr('service', 'ps', '-q', '--no-trunc', 'web')).stdout).toBe(`${swarm.tasks[1]?.ID}\n${swarm.tasks[0]?.ID}\n${swarm.tasks[2]?.ID}\n`);
  });

  test('service ps of a service the swarm has not is docker\'s error', async () => {
    const result = await ctr('service', 'ps', 'ghost');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no such service: ghost');
  });

  test('service update applies the -add and -rm flags to the current spec, naming the version it read', async () => {
    swarm.services = [
      service('web', {
        Labels: { keep: '1', drop: '1' },
        TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Env: ['A=1', 'B=2'] }, ForceUpdate: 0 },
        EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] },
      }),
    ];
    const { code, stdout } = await ctr('service', 'update', '-d', '--env-add', 'B=3', '--env-add', 'C=4', '--env-rm', 'A', '--label-rm', 'drop', '--label-add', 'new=x',
      '--publish-rm', '80', '--publish-add', '9090:90', '--image', 'busybox:2', '--force', '--replicas', '4', 'web');
    expect(code).toBe(0);
    expect(stdout).toBe('web\n');
    const update = swarm.updates[0];
    expect(update?.version).toBe(7);
    expect(update?.spec.TaskTemplate.ContainerSpec?.Env).toEqual(['B=3', 'C=4']);
    expect(update?.spec.TaskTemplate.ContainerSpec?.Image).toBe('busybox:2');
    expect(update?.spec.TaskTemplate.ForceUpdate).toBe(1);
    expect(update?.spec.Labels).toEqual({ keep: '1', new: 'x' });
    expect(update?.spec.Mode).toEqual({ Replicated: { Replicas: 4 } });
    expect(update?.spec.EndpointSpec?.Ports).toEqual([{ Protocol: 'tcp', TargetPort: 90, PublishedPort: 9090, PublishMode: 'ingress' }]);
  });

  test('service rollback asks for the previous spec', async () => {
    swarm.services = [service('web', {})];
    const { code, stdout } = await ctr('service', 'rollback', '-d', 'web');
    expect(code).toBe(0);
    expect(stdout).toBe('web\n');
    expect(swarm.updates[0]?.rollback).toBe('previous');
  });

  test('service scale says each service scaled, and refuses a malformed specifier', async () => {
    swarm.services = [service('web', {}), service('api', {})];
    const { code, stdout } = await ctr('service', 'scale', '-d', 'web=3', 'api=0');
    expect(code).toBe(0);
    expect(stdout).toBe('web scaled to 3\napi scaled to 0\n');
    expect(swarm.updates.map((u) => u.spec.Mode.Replicated?.Replicas)).toEqual([3, 0]);
    const bad = await ctr('service', 'scale', 'web');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Invalid scale specifier 'web'.");
  });

  test('service logs prefixes each line with the task, its short ID and the node', async () => {
    const web = service('web', { Mode: { Replicated: { Replicas: 10 } } });
    swarm.services = [web];
    swarm.tasks = [task('t1', web.ID, 1, 'running', 'running', NOW)];
    const { stdout } = await ctr('service', 'logs', 'web');
    expect(stdout).toBe('web.1.t10000000000 @box    | hello from 1\n');
    expect((await ctr('service', 'logs', '--raw', 'web')).stdout).toBe('hello from 1\n');
    expect((await ctr('service', 'logs', '--no-task-ids', '--no-resolve', 'web')).stdout).toBe(`${web.ID}.1 @${NODE_ID}    | hello from 1\n`);
  });

  test('service inspect --pretty and --format together are refused', async () => {
    swarm.services = [service('web', {})];
    const result = await ctr('service', 'inspect', '--pretty', '--format', '{{.ID}}', 'web');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('--format is incompatible with human friendly format\n');
  });

  test('swarm ca --rotate is refused as not supported, saying what stays', async () => {
    const result = await ctr('swarm', 'ca', '--rotate');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("rotating the root CA is not supported by ctr's swarm yet");
  });

  test('node ls marks this node with a star after its ID', async () => {
    const { stdout } = await ctr('node', 'ls');
    expect(stdout).toBe(
      [
        'ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION',
        `${NODE_ID} *   box        Ready     Active         Leader           0.1.0`,
        '',
      ].join('\n'),
    );
  });

  test('node inspect --pretty ends with the TLS info of the CA that issued the node\'s certificate, as docker shows it', async () => {
    const { code, stdout } = await ctr('node', 'inspect', '--pretty', 'self');
    expect(code).toBe(0);
    expect(stdout).toMatch(/\nEngine Version:\t\t0\.1\.0\nTLS Info:\n/);
    expect(stdout.slice(stdout.indexOf('TLS Info:'))).toBe(
      `TLS Info:\n TrustRoot:\n${CA_TLS.TrustRoot}\n Issuer Subject:\t${CA_TLS.CertIssuerSubject}\n Issuer Public Key:\t${CA_TLS.CertIssuerPublicKey}\n`,
    );
  });

  test('node inspect --pretty pretty-prints the time the node joined as docker does, its zone lower-cased', async () => {
    swarm.nodes = [{ ...node(), CreatedAt: '2026-11-24T11:46:57.322Z' }];
    const { stdout } = await ctr('node', 'inspect', '--pretty', 'self');
    expect(stdout).toContain('\nJoined at:             \t2026-11-24 11:46:57.322 +0000 utc\n');
  });

  test('node inspect --pretty of a node without TLS info has no TLS section', async () => {
    swarm.nodes = [node(NODE_ID, 'box', NO_TLS)];
    const { stdout } = await ctr('node', 'inspect', '--pretty', 'self');
    expect(stdout).toMatch(/\nEngine Version:\t\t0\.1\.0\n$/);
  });

  test('node ls TLSStatus: Ready for a certificate of the swarm\'s root CA, Needs Rotation for another CA\'s, Unknown without TLS info', async () => {
    const rotated = { ...CA_TLS, CertIssuerSubject: 'MBIxEDAOBgNVBAMMB29sZC1jYQ==' };
    swarm.nodes = [node(NODE_ID, 'a'), node('n0d32', 'b', rotated), node('n0d33', 'c', NO_TLS)];
    const { stdout } = await ctr('node', 'ls', '--format', '{{.Hostname}} {{.TLSStatus}}');
    expect(stdout).toBe('a Ready\nb Needs Rotation\nc Unknown\n');
  });

  test('node update changes availability and labels of the spec it read', async () => {
    const { code, stdout } = await ctr('node', 'update', '--availability', 'drain', '--label-add', 'zone=a', 'self');
    expect(code).toBe(0);
    expect(stdout).toBe('self\n');
    expect(swarm.nodeUpdates).toEqual([{ id: NODE_ID, version: 1, spec: { Labels: { zone: 'a' }, Role: 'manager', Availability: 'drain' } }]);
  });

  test('node promote of a manager says it already is one', async () => {
    const { stdout } = await ctr('node', 'promote', 'self');
    expect(stdout).toBe('Node self is already a manager.\n');
  });

  test('swarm init prints docker\'s text with the worker join command', async () => {
    const { stdout, code } = await ctr('swarm', 'init');
    expect(code).toBe(0);
    expect(stdout).toBe(
      `Swarm initialized: current node (${NODE_ID}) is now a manager.\n\nTo add a worker to this swarm, run the following command:\n\n    ctr swarm join --token SWMTKN-1-worker 127.0.0.1:2377\n\nTo add a manager to this swarm, run 'ctr swarm join-token manager' and follow the instructions.\n`,
    );
  });

  test('swarm join-token -q prints the token alone; an unknown role is refused', async () => {
    expect((await ctr('swarm', 'join-token', '-q', 'manager')).stdout).toBe('SWMTKN-1-manager\n');
    const bad = await ctr('swarm', 'join-token', 'boss');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('unknown role boss\n');
  });

  test('swarm leave says the node left', async () => {
    expect((await ctr('swarm', 'leave', '--force')).stdout).toBe('Node left the swarm.\n');
  });

  test('secret create reads the data from stdin and prints the new ID; a driver is refused', async () => {
    const { stdout, code } = await ctrWith('s3cret', 'secret', 'create', '-l', 'a=b', 'pw', '-');
    expect(code).toBe(0);
    expect(stdout).toBe('secretid00000000000000001\n');
    expect(swarm.secretSpecs).toEqual([{ Name: 'pw', Labels: { a: 'b' }, Data: Buffer.from('s3cret').toString('base64') }]);
    const driver = await ctrWith('x', 'secret', 'create', '--driver', 'vault', 'pw', '-');
    expect(driver.code).toBe(1);
  });

  test('secret ls shows docker\'s columns', async () => {
    swarm.secrets = [{ ID: 'sec1', ...meta(), Spec: { Name: 'pw', Labels: {} } }];
    const { stdout } = await ctr('secret', 'ls');
    expect(stdout).toMatch(/^ID +NAME +DRIVER +CREATED +UPDATED\nsec1 +pw +(Less than a second|\d+ seconds?) ago +/);
  });

  test('on a terminal each slot keeps a line with its state and bar, redrawn in place', () => {
    let written = '';
    const out = Object.assign(new PassThrough(), { isTTY: true, columns: 200 });
    out.on('data', (d: Buffer) => (written += d.toString()));
    const view = new ConvergeView(out, 'svc');
    view.update({ service: 'svc', tasks: [{ slot: '1', state: 'running', message: '' }], running: 1, desired: 1, converged: true });
    out.end();
    expect(written).toContain(`\x1b[2K\r1/1: running   [${'='.repeat(50)}>] `);
    expect(written).toContain('\x1b[2K\roverall progress: 1 out of 1 tasks ');
  });
});
