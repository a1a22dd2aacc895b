import { testEngine, type TestEngine } from '../../engine/test/fixture';
import type { SwarmContext } from '../src/context';
import type { Assignments, StatusUpdate } from '../src/dispatcher';
import { openClusterStore } from '../src/store';
import { newTask, TASK_LABEL } from '../src/tasks';
import type { Node, Secret, Service, Task, TaskState } from '../src/types';
import { runWorker, type ManagerClient } from '../src/worker';

/**
 * A manager as the worker sees it: assignments handed out by the test, status reports kept,
 * and a switch that makes it unreachable.
 */
class FakeManager implements ManagerClient {
  index = 0;
  current: Assignments | undefined;
  reports: StatusUpdate[] = [];
  down = false;
  private waiters: Array<() => void> = [];

  assign(a: Omit<Assignments, 'index'>): void {
    this.current = { ...a, index: ++this.index };
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private changed(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  async call<T>(method: string, path: string, body?: unknown, options: { signal?: AbortSignal } = {}): Promise<T> {
    if (this.down) {
      await new Promise((r) => setTimeout(r, 20));
      throw new Error('connect ECONNREFUSED');
    }
    if (method === 'POST' && path === '/status') {
      this.reports.push(...(body as { updates: StatusUpdate[] }).updates);
      this.wake();
      return {} as T;
    }
    const since = Number(new URL(path, 'http://x').searchParams.get('since'));
    while (!this.current || this.current.index <= since) {
      if (options.signal?.aborted) throw new Error('aborted');
      await this.changed(options.signal);
      if (this.down) throw new Error('connect ECONNREFUSED');
    }
    return structuredClone(this.current) as T;
  }

  /** Until a report for `taskId` says `state` (reports are the worker's only output: no timer decides). */
  async reported(taskId: string, state: TaskState): Promise<StatusUpdate> {
    for (;;) {
      const found = this.reports.find((r) => r.taskId === taskId && r.status.State === state);
      if (found) return found;
      await this.changed();
    }
  }

  up(): void {
    this.down = false;
    this.wake();
  }
}

const meta = { Version: { Index: 1 }, CreatedAt: '2024-01-01T00:00:00Z', UpdatedAt: '2024-01-01T00:00:00Z' };
const NODE: Node = {
  ...meta,
  ID: 'workernode1',
  Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
  Description: {
    Hostname: 'w',
    Platform: { Architecture: 'x86_64', OS: 'linux' },
    Resources: { NanoCPUs: 1e9, MemoryBytes: 1e9 },
    Engine: { EngineVersion: '1', Plugins: [] },
    TLSInfo: { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' },
  },
  Status: { State: 'ready', Addr: '10.254.0.3' },
};

function service(name: string, command: string[], extra: Partial<Service['Spec']['TaskTemplate']['ContainerSpec']> = {}): Service {
  return {
    ...meta,
    ID: `svc${name}`,
    Spec: { Name: name, Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: command, StopSignal: 'SIGKILL', ...extra } }, Mode: { Replicated: { Replicas: 1 } } },
    Endpoint: { Spec: {} },
  } as Service;
}

let seq = 0;
function task(s: Service, desired: TaskState = 'running'): Task {
  const t = { ...meta, ...newTask(s, `task${++seq}${Date.now().toString(36)}`, { slot: seq }, desired) } as Task;
  t.NodeID = NODE.ID;
  t.Status = { ...t.Status, State: 'assigned', Message: 'scheduler assigned task to node' };
  return t;
}

function given(services: Service[], tasks: Task[], secrets: Secret[] = []): Omit<Assignments, 'index'> {
  return { tasks, services, secrets, configs: [], cluster: undefined, node: NODE, networks: [] };
}

let t: TestEngine;
let ctx: SwarmContext;
let manager: FakeManager;
let stop: AbortController;
let running: Promise<void>;

beforeAll(async () => {
  t = await testEngine();
  await t.engine.startMonitor();
  ctx = { engine: t.engine, store: openClusterStore(t.engine.root), root: t.engine.root, runRoot: t.engine.runRoot };
}, 60_000);

beforeEach(() => {
  manager = new FakeManager();
  stop = new AbortController();
  running = runWorker(ctx, manager, stop.signal, { pollSeconds: 5 });
});

afterEach(async () => {
  stop.abort();
  await running;
  const left = await t.engine.ps({ all: true, filters: { label: [TASK_LABEL.taskId] } });
  await Promise.all(left.map((c) => t.engine.remove(c.Id, { force: true })));
});

afterAll(async () => {
  await t.engine.close();
  await t.cleanup();
});

jest.setTimeout(60_000);

it('runs an assigned task and reports it ready, then running with its container', async () => {
  const s = service('web', ['sleep', '300']);
  const a = task(s);
  manager.assign(given([s], [a]));
  const report = await manager.reported(a.ID, 'running');
  const inspect = await t.engine.inspect(report.status.ContainerStatus!.ContainerID);
  expect(inspect.State.Running).toBe(true);
  expect(inspect.Config.Labels[TASK_LABEL.nodeId]).toBe(NODE.ID);
  expect(inspect.Name.replace(/^\//, '')).toBe(`web.${a.Slot}.${a.ID}`);
});

it('reports a task whose container exits non-zero as failed, in the executor’s words', async () => {
  const s = service('crash', ['sh', '-c', 'exit 3']);
  const a = task(s);
  manager.assign(given([s], [a]));
  const report = await manager.reported(a.ID, 'failed');
  expect(report.status.Err).toBe('task: non-zero exit (3)');
});

it('stops a task the manager wants shut down and reports shutdown', async () => {
  const s = service('stopme', ['sleep', '300']);
  const a = task(s);
  manager.assign(given([s], [a]));
  const { status } = await manager.reported(a.ID, 'running');
  manager.assign(given([s], [{ ...a, DesiredState: 'shutdown', Status: { ...status, Timestamp: meta.CreatedAt } }]));
  await manager.reported(a.ID, 'shutdown');
  expect((await t.engine.inspect(status.ContainerStatus!.ContainerID)).State.Running).toBe(false);
});

it('removes the container of a task that left its assignments', async () => {
  const s = service('gone', ['sleep', '300']);
  const a = task(s);
  const b = task(s);
  manager.assign(given([s], [a, b]));
  const { status } = await manager.reported(a.ID, 'running');
  await manager.reported(b.ID, 'running');
  manager.assign(given([s], [b]));
  // b's next report comes after the pass that removed a's container (the worker does one thing at a time).
  manager.assign(given([s], [{ ...b, DesiredState: 'shutdown' }]));
  await manager.reported(b.ID, 'shutdown');
  await expect(t.engine.inspect(status.ContainerStatus!.ContainerID)).rejects.toMatchObject({ code: 'NotFound' });
});

it('gives a task its secret as a file from the assignments', async () => {
  const secret: Secret = { ...meta, ID: 'sec1', Spec: { Name: 'token', Labels: {}, Data: Buffer.from('s3cret').toString('base64') } };
  const s = service('withsecret', ['sh', '-c', 'echo "$(cat /run/secrets/token)" && exit 7'], { Secrets: [{ SecretID: 'sec1', SecretName: 'token', File: { Name: 'token', UID: '0', GID: '0', Mode: 0o444 } }] });
  const a = task(s);
  manager.assign(given([s], [a], [secret]));
  const { status } = await manager.reported(a.ID, 'failed');
  expect(status.Err).toBe('task: non-zero exit (7)');
  const lines: string[] = [];
  for await (const entry of t.engine.logs(status.ContainerStatus!.ContainerID, {})) lines.push(entry.line.trim());
  expect(lines).toEqual(['s3cret']);
});

it('keeps its tasks running while the manager is away, and reports what it missed once back', async () => {
  const s = service('steady', ['sleep', '300']);
  const quick = service('quick', ['sh', '-c', 'read x; exit 0'], { OpenStdin: true });
  const a = task(s);
  const b = task(quick);
  manager.assign(given([s, quick], [a, b]));
  const { status } = await manager.reported(a.ID, 'running');
  const quickRun = await manager.reported(b.ID, 'running');
  manager.down = true;
  // b's container ends while no report can go through.
  await t.engine.kill(quickRun.status.ContainerStatus!.ContainerID, 'KILL');
  const ended = manager.reports.length;
  while ((await t.engine.inspect(quickRun.status.ContainerStatus!.ContainerID)).State.Running) await new Promise((r) => setTimeout(r, 50));
  expect(manager.reports.length).toBe(ended);
  manager.up();
  manager.assign(given([s, quick], [a, b]));
  const failed = await manager.reported(b.ID, 'failed');
  expect(failed.status.Err).toBe('task: non-zero exit (137)');
  expect((await t.engine.inspect(status.ContainerStatus!.ContainerID)).State.Running).toBe(true);
});

it('takes back a task container it made before it restarted rather than making a second one', async () => {
  const s = service('again', ['sleep', '300']);
  const a = task(s);
  manager.assign(given([s], [a]));
  const { status } = await manager.reported(a.ID, 'running');
  stop.abort();
  await running;
  manager = new FakeManager();
  stop = new AbortController();
  running = runWorker(ctx, manager, stop.signal, { pollSeconds: 5 });
  // The manager never recorded the report: its copy still says assigned.
  manager.assign(given([s], [a]));
  const again = await manager.reported(a.ID, 'running');
  expect(again.status.ContainerStatus!.ContainerID).toBe(status.ContainerStatus!.ContainerID);
  expect(await t.engine.ps({ all: true, filters: { label: [`${TASK_LABEL.taskId}=${a.ID}`] } })).toHaveLength(1);
});
