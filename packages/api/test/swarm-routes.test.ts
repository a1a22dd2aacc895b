/**
 * The swarm routes' HTTP layer over a fake swarm: statuses, query parsing, headers, log framing,
 * and RemoteSwarm reading them back. The real swarm under the real docker CLI is swarm-docker.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, DaemonSwarm, FrameDecoder, RemoteSwarm, convergeProgress, pollConvergence, type LocalSwarm } from '@ctr/api';
import { Engine } from '@ctr/engine';
import { CtrError } from '@ctr/errors';
import type { ConvergeProgress, Node, Service, ServiceLogLine, ServiceLogsOptions, SwarmInfo, Task } from '@ctr/swarm';
import { json, request } from './fixture';

const META = { Version: { Index: 7 }, CreatedAt: '2024-01-01T00:00:00.000000000Z', UpdatedAt: '2024-01-01T00:00:00.000000000Z' };
const NODE_ID = 'n0000000000000000000000001';
const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

function service(id: string, name: string, replicas: number, extra: Partial<Service> = {}): Service {
  return {
    ...META,
    ID: id,
    Spec: { Name: name, Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox' } }, Mode: { Replicated: { Replicas: replicas } } },
    Endpoint: { Spec: {} },
    ...extra,
  };
}

function task(id: string, serviceId: string, slot: number, state: Task['Status']['State'], desired: Task['DesiredState'] = 'running'): Task {
  return { ...META, ID: id, Spec: {}, ServiceID: serviceId, Slot: slot, NodeID: NODE_ID, Status: { Timestamp: META.CreatedAt, State: state, Message: state }, DesiredState: desired };
}

const NODE = { ...META, ID: NODE_ID, Spec: { Labels: {}, Role: 'manager', Availability: 'active' }, Status: { State: 'ready', Addr: '127.0.0.1' } } as unknown as Node;

/** A swarm that records what it was asked and answers what a test sets. */
class FakeSwarm implements LocalSwarm {
  calls: Array<[string, ...unknown[]]> = [];
  services_: Service[] = [service('s1', 'web', 2)];
  tasks_: Task[] = [];
  logLines: ServiceLogLine[] = [];
  failure: CtrError | undefined;
  warnings: string[] | undefined;

  private record(name: string, ...args: unknown[]): void {
    this.calls.push([name, ...args]);
    if (this.failure) throw this.failure;
  }

  context = (): never => {
    throw new Error('the fake swarm keeps no state');
  };
  recover = async (): Promise<void> => this.record('recover');
  startMonitor = (signal: AbortSignal): void => void this.calls.push(['startMonitor', signal.aborted]);
  init = async (request: object): Promise<string> => (this.record('init', request), NODE_ID);
  join = async (request: object): Promise<void> => this.record('join', request);
  leave = async (force: boolean): Promise<void> => this.record('leave', force);
  inspect = async (): Promise<never> => (this.record('inspect'), { ID: 'cluster' } as never);
  update = async (version: number, spec: object, flags?: object): Promise<void> => this.record('update', version, spec, flags);
  unlockKey = async (): Promise<{ UnlockKey: string }> => (this.record('unlockKey'), { UnlockKey: 'SWMKEY-1-x' });
  unlock = async (key: string): Promise<void> => this.record('unlock', key);
  info = async (): Promise<SwarmInfo> => ({ NodeID: NODE_ID, NodeAddr: '127.0.0.1', LocalNodeState: 'active', ControlAvailable: true, Error: '', RemoteManagers: [{ NodeID: NODE_ID, Addr: '127.0.0.1:2377' }], Nodes: 1, Managers: 1 });
  nodes = async (filters?: object): Promise<Node[]> => (this.record('nodes', filters), [NODE]);
  inspectNode = async (id: string): Promise<Node> => (this.record('inspectNode', id), NODE);
  updateNode = async (id: string, version: number, spec: object): Promise<void> => this.record('updateNode', id, version, spec);
  removeNode = async (id: string, force: boolean): Promise<void> => this.record('removeNode', id, force);
  createService = async (spec: object, options?: object): Promise<{ ID: string; Warnings?: string[] }> => (this.record('createService', spec, options), { ID: 's1', ...(this.warnings ? { Warnings: this.warnings } : {}) });
  services = async (filters?: object, options?: object): Promise<Service[]> => (this.record('services', filters, options), this.services_);
  inspectService = async (id: string, options?: object): Promise<Service> => {
    this.record('inspectService', id, options);
    const found = this.services_.find((s) => s.ID === id || s.Spec.Name === id);
    if (!found) throw new CtrError('NotFound', `service ${id} not found`);
    return found;
  };
  updateService = async (id: string, version: number, spec: object, options?: object): Promise<{ Warnings?: string[] }> => (this.record('updateService', id, version, spec, options), {});
  removeService = async (id: string): Promise<void> => this.record('removeService', id);
  serviceLogs = (id: string, options?: ServiceLogsOptions): AsyncIterable<ServiceLogLine> => {
    this.calls.push(['serviceLogs', id, { ...options, signal: undefined }]);
    return this.lines();
  };
  converge = async (id: string): Promise<ConvergeProgress> => (this.record('converge', id), { service: id, tasks: [], running: 0, desired: 0, converged: true });
  tasks = async (filters?: object): Promise<Task[]> => (this.record('tasks', filters), this.tasks_);
  inspectTask = async (id: string): Promise<Task> => {
    const found = this.tasks_.find((t) => t.ID === id);
    if (!found) throw new CtrError('NotFound', `task ${id} not found`);
    return found;
  };
  taskLogs = (id: string): AsyncIterable<ServiceLogLine> => {
    this.calls.push(['taskLogs', id]);
    return this.lines();
  };
  createSecret = async (spec: object): Promise<{ ID: string }> => (this.record('createSecret', spec), { ID: 'sec1' });
  secrets = async (filters?: object): Promise<never[]> => (this.record('secrets', filters), []);
  inspectSecret = async (id: string): Promise<never> => (this.record('inspectSecret', id), { ID: id } as never);
  updateSecret = async (id: string, version: number, spec: object): Promise<void> => this.record('updateSecret', id, version, spec);
  removeSecret = async (id: string): Promise<void> => this.record('removeSecret', id);
  createConfig = async (spec: object): Promise<{ ID: string }> => (this.record('createConfig', spec), { ID: 'cfg1' });
  configs = async (filters?: object): Promise<never[]> => (this.record('configs', filters), []);
  inspectConfig = async (id: string): Promise<never> => (this.record('inspectConfig', id), { ID: id } as never);
  updateConfig = async (id: string, version: number, spec: object): Promise<void> => this.record('updateConfig', id, version, spec);
  removeConfig = async (id: string): Promise<void> => this.record('removeConfig', id);

  private async *lines(): AsyncGenerator<ServiceLogLine> {
    yield* this.logLines;
  }
}

let root: string;
let engine: Engine;
let server: ApiServer;
let socket: string;
let fake: FakeSwarm;
let made = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctr-swarm-routes-'));
  engine = new Engine({ root: join(root, 'root'), runRoot: join(root, 'run') });
  socket = join(root, 'api.sock');
  server = await ApiServer.listen({
    engine,
    hosts: [`unix://${socket}`],
    // The daemon keeps the swarm it made: it stands for whichever fake the test has.
    swarm: new DaemonSwarm(engine, () => {
      made++;
      return new Proxy({} as LocalSwarm, { get: (_target, key) => Reflect.get(fake, key) as unknown });
    }),
  });
});

afterAll(async () => {
  await server.close();
  await engine.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  fake = new FakeSwarm();
});

const post = (path: string, body?: unknown, headers?: Record<string, string>): ReturnType<typeof request> => request(socket, 'POST', path, body === undefined ? undefined : JSON.stringify(body), headers);

describe('the daemon swarm', () => {
  // First in the file: nothing has asked for the swarm yet.
  test('is not made for /info while the root has no swarm', async () => {
    const info = json(await request(socket, 'GET', '/v1.47/info')) as { Swarm: SwarmInfo };
    expect([made, info.Swarm.LocalNodeState]).toEqual([0, 'inactive']);
  });

  test('is made on the first swarm route, and its task monitor started', async () => {
    await request(socket, 'GET', '/swarm');
    expect([made, fake.calls[0]]).toEqual([1, ['startMonitor', false]]);
  });

  test("once made, /info's Swarm section is the swarm's", async () => {
    const info = json(await request(socket, 'GET', '/v1.47/info')) as { Swarm: SwarmInfo };
    expect(info.Swarm).toMatchObject({ LocalNodeState: 'active', NodeID: NODE_ID, Managers: 1, Nodes: 1 });
  });
});

describe('/swarm', () => {
  test('init answers the node ID as a JSON string', async () => {
    const res = await post('/v1.47/swarm/init', { ListenAddr: '0.0.0.0:2377' });
    expect([res.status, res.headers['content-type'], res.body.toString()]).toEqual([200, 'application/json', `"${NODE_ID}"\n`]);
    expect(fake.calls).toEqual([['init', { ListenAddr: '0.0.0.0:2377' }]]);
  });

  test('leave passes force', async () => {
    expect((await post('/swarm/leave?force=1')).status).toBe(200);
    expect(fake.calls).toEqual([['leave', true]]);
  });

  test('update passes the version and which tokens to rotate', async () => {
    expect((await post('/swarm/update?version=12&rotateWorkerToken=true&rotateManagerToken=false', { Name: 'default' })).status).toBe(200);
    expect(fake.calls).toEqual([['update', 12, { Name: 'default' }, { RotateWorkerToken: true, RotateManagerToken: false, RotateManagerUnlockKey: false }]]);
  });

  test("update without a version is refused in dockerd's words", async () => {
    const res = await post('/swarm/update?version=x', {});
    expect([res.status, json(res)]).toEqual([400, { message: `invalid swarm version 'x': strconv.ParseUint: parsing "x": invalid syntax` }]);
  });

  test('unlock passes the key', async () => {
    await post('/swarm/unlock', { UnlockKey: 'SWMKEY-1-abc' });
    expect(fake.calls).toEqual([['unlock', 'SWMKEY-1-abc']]);
  });

  test('a node in no swarm answers 503 with the swarm\'s words', async () => {
    fake.failure = new CtrError('Unavailable', NOT_A_MANAGER);
    const res = await request(socket, 'GET', '/v1.47/swarm');
    expect([res.status, json(res)]).toEqual([503, { message: NOT_A_MANAGER }]);
  });
});

describe('/nodes', () => {
  test('list passes the filters', async () => {
    await request(socket, 'GET', `/nodes?filters=${encodeURIComponent('{"role":["manager"]}')}`);
    expect(fake.calls).toEqual([['nodes', { role: ['manager'] }]]);
  });

  test('update passes the ID, version and spec', async () => {
    await post(`/nodes/${NODE_ID}/update?version=3`, { Availability: 'drain' });
    expect(fake.calls).toEqual([['updateNode', NODE_ID, 3, { Availability: 'drain' }]]);
  });

  test('remove passes force', async () => {
    expect((await request(socket, 'DELETE', `/nodes/${NODE_ID}?force=true`)).status).toBe(200);
    expect(fake.calls).toEqual([['removeNode', NODE_ID, true]]);
  });
});

describe('/services', () => {
  test('create answers 201 with the ID, and the X-Registry-Auth header becomes registryAuth', async () => {
    const res = await post('/v1.47/services/create', { Name: 'web' }, { 'X-Registry-Auth': 'e30=' });
    expect([res.status, json(res)]).toEqual([201, { ID: 's1' }]);
    expect(fake.calls).toEqual([['createService', { Name: 'web' }, { registryAuth: 'e30=' }]]);
  });

  test("create's warnings are answered", async () => {
    fake.warnings = ['image busybox could not be accessed on a registry'];
    expect(json(await post('/services/create', { Name: 'web' }))).toEqual({ ID: 's1', Warnings: ['image busybox could not be accessed on a registry'] });
  });

  test('list passes the filters and status', async () => {
    const res = await request(socket, 'GET', `/services?status=true&filters=${encodeURIComponent('{"name":["web"]}')}`);
    expect(res.status).toBe(200);
    expect(fake.calls).toEqual([['services', { name: ['web'] }, { status: true }]]);
  });

  test('inspect passes insertDefaults', async () => {
    await request(socket, 'GET', '/services/web?insertDefaults=1');
    expect(fake.calls).toEqual([['inspectService', 'web', { insertDefaults: true }]]);
  });

  test('an unknown service is a 404', async () => {
    expect((await request(socket, 'GET', '/services/nope')).status).toBe(404);
  });

  test('update passes version and rollback, answers {} and has the daemon drive the update', async () => {
    const res = await post('/services/s1/update?version=9&rollback=previous', { Name: 'web' });
    expect([res.status, json(res)]).toEqual([200, {}]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.calls).toEqual([
      ['updateService', 's1', 9, { Name: 'web' }, { rollback: 'previous' }],
      ['converge', 's1'],
    ]);
  });

  test('update without a version is refused', async () => {
    expect(json(await post('/services/s1/update', {}))).toEqual({ message: `invalid service version '': strconv.ParseUint: parsing "": invalid syntax` });
  });

  test('remove answers 200', async () => {
    expect((await request(socket, 'DELETE', '/services/s1')).status).toBe(200);
    expect(fake.calls).toEqual([['removeService', 's1']]);
  });
});

describe('service logs', () => {
  const line = (stream: 'stdout' | 'stderr', text: string): ServiceLogLine => ({ stream, task: { id: 't1', name: 'web.1.t1', nodeId: NODE_ID, serviceId: 's1' }, line: text, timestamp: '2024-01-01T00:00:01.000000000Z' });
  const CONTEXT = `com.docker.swarm.node.id=${NODE_ID},com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1`;

  function frames(body: Buffer): Array<[number, string]> {
    return new FrameDecoder().push(body).map((f) => [f.stream, f.data.toString()]);
  }

  test('are stdcopy frames, each line after the task context docker\'s CLI parses', async () => {
    fake.logLines = [line('stdout', 'hello'), line('stderr', 'oops')];
    const res = await request(socket, 'GET', '/v1.47/services/web/logs?stdout=1&stderr=1&details=1');
    expect(res.headers['content-type']).toBe('application/vnd.docker.multiplexed-stream');
    expect(frames(res.body)).toEqual([
      [1, `${CONTEXT} hello\n`],
      [2, `${CONTEXT} oops\n`],
    ]);
  });

  test('carry the time first with timestamps, and the options reach the swarm', async () => {
    fake.logLines = [line('stdout', 'hello')];
    const res = await request(socket, 'GET', '/services/web/logs?stdout=1&stderr=1&timestamps=1&follow=1&tail=10&since=1700000000');
    expect(frames(res.body)).toEqual([[1, '2024-01-01T00:00:01.000000000Z hello\n']]);
    expect(fake.calls.find((c) => c[0] === 'serviceLogs')).toEqual(['serviceLogs', 's1', { follow: true, timestamps: true, details: false, tail: '10', since: '1700000000', signal: undefined }]);
  });

  test('leave out the stream not asked for', async () => {
    fake.logLines = [line('stdout', 'hello'), line('stderr', 'oops')];
    expect(frames((await request(socket, 'GET', '/services/web/logs?stderr=1')).body)).toEqual([[2, 'oops\n']]);
  });

  test('of a TTY service are raw', async () => {
    fake.services_ = [service('s1', 'web', 1, {})];
    (fake.services_[0] as Service).Spec.TaskTemplate.ContainerSpec = { Image: 'busybox', TTY: true };
    fake.logLines = [line('stdout', 'hello')];
    const res = await request(socket, 'GET', '/services/web/logs?stdout=1&stderr=1');
    expect([res.headers['content-type'], res.body.toString()]).toEqual(['application/vnd.docker.raw-stream', 'hello\n']);
  });

  test('without a stream are refused', async () => {
    const res = await request(socket, 'GET', '/services/web/logs');
    expect([res.status, json(res)]).toEqual([400, { message: 'Bad parameters: you must choose at least one stream' }]);
  });

  test("of a task come from the task's logs", async () => {
    fake.tasks_ = [task('t1', 's1', 1, 'running')];
    fake.logLines = [line('stdout', 'hello')];
    expect(frames((await request(socket, 'GET', '/tasks/t1/logs?stdout=1')).body)).toEqual([[1, 'hello\n']]);
    expect(fake.calls).toEqual([['taskLogs', 't1']]);
  });
});

describe('/secrets and /configs', () => {
  test('create answers 201 with the ID', async () => {
    const res = await post('/secrets/create', { Name: 'pw', Data: 'c2VjcmV0' });
    expect([res.status, json(res)]).toEqual([201, { ID: 'sec1' }]);
    expect((await post('/configs/create', { Name: 'c', Data: 'eA==' })).status).toBe(201);
  });

  test('update passes the version', async () => {
    await post('/secrets/sec1/update?version=4', { Name: 'pw' });
    await post('/configs/cfg1/update?version=5', { Name: 'c' });
    expect(fake.calls).toEqual([
      ['updateSecret', 'sec1', 4, { Name: 'pw' }],
      ['updateConfig', 'cfg1', 5, { Name: 'c' }],
    ]);
  });

  test('remove answers 204', async () => {
    expect((await request(socket, 'DELETE', '/secrets/sec1')).status).toBe(204);
    expect((await request(socket, 'DELETE', '/configs/cfg1')).status).toBe(204);
  });

  test('a name already in use is a 409', async () => {
    fake.failure = new CtrError('AlreadyExists', 'rpc error: code = AlreadyExists desc = secret pw already exists');
    expect((await post('/secrets/create', { Name: 'pw' })).status).toBe(409);
  });
});

describe('RemoteSwarm', () => {
  const remote = (): RemoteSwarm => new RemoteSwarm({ host: `unix://${socket}` });

  test('init returns the node ID', async () => {
    expect(await remote().init({ ListenAddr: '0.0.0.0:2377' })).toBe(NODE_ID);
  });

  test('update sends the version and rotation flags as dockerd reads them', async () => {
    await remote().update(12, { Name: 'default' } as never, { RotateManagerUnlockKey: true });
    expect(fake.calls).toEqual([['update', 12, { Name: 'default' }, { RotateWorkerToken: false, RotateManagerToken: false, RotateManagerUnlockKey: true }]]);
  });

  test('services sends the filters and status', async () => {
    expect((await remote().services({ name: ['web'] }, { status: true })).map((s) => s.ID)).toEqual(['s1']);
    expect(fake.calls).toEqual([['services', { name: ['web'] }, { status: true }]]);
  });

  test("a daemon's refusal is a CtrError with the code its status means", async () => {
    fake.failure = new CtrError('Unavailable', NOT_A_MANAGER);
    await expect(remote().inspect()).rejects.toMatchObject({ code: 'Unavailable', message: NOT_A_MANAGER });
  });

  test('service logs come back as lines with their task, named as its container', async () => {
    fake.tasks_ = [task('t1', 's1', 1, 'running')];
    fake.logLines = [
      { stream: 'stdout', task: { id: 't1', name: '', nodeId: NODE_ID, serviceId: 's1' }, line: 'hello world', timestamp: '2024-01-01T00:00:01.000000000Z' },
      { stream: 'stderr', task: { id: 't1', name: '', nodeId: NODE_ID, serviceId: 's1' }, line: 'oops', timestamp: '2024-01-01T00:00:02.000000000Z' },
    ];
    const lines: ServiceLogLine[] = [];
    for await (const l of remote().serviceLogs('web', { timestamps: true })) lines.push(l);
    expect(lines).toEqual([
      { stream: 'stdout', task: { id: 't1', name: 'web.1.t1', nodeId: NODE_ID, serviceId: 's1' }, line: 'hello world', timestamp: '2024-01-01T00:00:01.000000000Z' },
      { stream: 'stderr', task: { id: 't1', name: 'web.1.t1', nodeId: NODE_ID, serviceId: 's1' }, line: 'oops', timestamp: '2024-01-01T00:00:02.000000000Z' },
    ]);
  });

  test('createService with onProgress polls until the service converges', async () => {
    let looks = 0;
    fake.tasks = async (filters?: object): Promise<Task[]> => {
      fake.calls.push(['tasks', filters]);
      looks++;
      return looks === 1 ? [task('t1', 's1', 1, 'starting'), task('t2', 's1', 2, 'running')] : [task('t1', 's1', 1, 'running'), task('t2', 's1', 2, 'running')];
    };
    const seen: Array<[number, number, boolean]> = [];
    await remote().createService({ Name: 'web' } as never, { onProgress: (p) => seen.push([p.running, p.desired, p.converged]) });
    expect(seen).toEqual([
      [1, 2, false],
      [2, 2, true],
    ]);
    expect(fake.calls.find((c) => c[0] === 'tasks')).toEqual(['tasks', { service: ['s1'], '_up-to-date': ['true'] }]);
  });
});

describe('convergence', () => {
  test("counts a slot's least advanced live task, as docker's CLI does", () => {
    const tasks = [task('old', 's1', 1, 'shutdown', 'shutdown'), task('new', 's1', 1, 'preparing'), task('t2', 's1', 2, 'running')];
    const progress = convergeProgress(service('s1', 'web', 2), tasks, [NODE]);
    expect(progress).toEqual({
      service: 's1',
      tasks: [
        { slot: '1', state: 'preparing', message: 'preparing' },
        { slot: '2', state: 'running', message: 'running' },
      ],
      running: 1,
      desired: 2,
      converged: false,
    });
  });

  test("shows a slot's ended task, with its error, when nothing replaced it", () => {
    const failed = { ...task('t1', 's1', 1, 'failed', 'shutdown'), Status: { Timestamp: META.CreatedAt, State: 'failed' as const, Message: 'started', Err: 'task: non-zero exit (1)' } };
    const progress = convergeProgress(service('s1', 'web', 1), [failed], [NODE]);
    expect(progress.tasks).toEqual([{ slot: '1', state: 'failed', message: 'started', err: 'task: non-zero exit (1)' }]);
    expect(progress.converged).toBe(false);
  });

  test('is not reached while an update is under way', () => {
    const updating = service('s1', 'web', 1, { UpdateStatus: { State: 'updating', Message: 'update in progress' } });
    expect(convergeProgress(updating, [task('t1', 's1', 1, 'running')], [NODE]).converged).toBe(false);
  });

  test('polling stops at a paused update, which the caller reads', async () => {
    const paused = service('s1', 'web', 1, { UpdateStatus: { State: 'paused', Message: 'update paused due to failure' } });
    const api = { inspectService: async (): Promise<Service> => paused, tasks: async (): Promise<Task[]> => [], nodes: async (): Promise<Node[]> => [NODE] };
    expect((await pollConvergence(api, 's1')).update).toEqual({ State: 'paused', Message: 'update paused due to failure' });
  });

  test('polling stops when its signal aborts', async () => {
    const api = { inspectService: async (): Promise<Service> => service('s1', 'web', 1), tasks: async (): Promise<Task[]> => [], nodes: async (): Promise<Node[]> => [NODE] };
    const abort = new AbortController();
    const waiting = pollConvergence(api, 's1', { signal: abort.signal, onProgress: () => abort.abort() });
    await expect(waiting).rejects.toMatchObject({ code: 'Aborted' });
  });
});
