import type { SwarmContext } from '../src/context';
import { dispatcherRoutes, type Assignments } from '../src/dispatcher';
import { newId } from '../src/ids';
import { reconcileOnce } from '../src/orchestrator';
import { createService } from '../src/services';
import { createSecret } from '../src/secrets';
import type { Node, TaskStatus } from '../src/types';
import { sharedSwarm, spec, tasksOf } from './swarm-fixture';

const s = sharedSwarm();
let worker: Node;
let routes: ReturnType<typeof dispatcherRoutes>;

/** A second node in the store, as a join makes it: a worker, ready and active. */
async function addWorker(ctx: SwarmContext): Promise<Node> {
  const [manager] = await ctx.store.list('nodes');
  return ctx.store.transaction((tx) =>
    tx.create('nodes', {
      ID: newId(),
      Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
      Description: manager!.Description,
      Status: { State: 'ready', Addr: '10.254.0.3' },
    }),
  );
}

const get = (nodeId: string, query: Record<string, string>, signal = new AbortController().signal): Promise<Assignments> =>
  routes['GET /assignments']({ nodeId, role: 'worker', body: undefined, query: new URLSearchParams(query), remoteAddress: '10.254.0.3' }, signal) as Promise<Assignments>;
const post = (nodeId: string, updates: Array<{ taskId: string; status: Omit<TaskStatus, 'Timestamp'> }>): Promise<unknown> =>
  routes['POST /status']({ nodeId, role: 'worker', body: { updates }, query: new URLSearchParams(), remoteAddress: '10.254.0.3' }, new AbortController().signal);

beforeAll(async () => {
  worker = await addWorker(s.ctx);
  routes = dispatcherRoutes(s.ctx);
});

/** A service placed on the worker only: the manager runs none of its containers. */
async function workerService(name: string, extra: Parameters<typeof spec>[3] = {}): Promise<string> {
  const { ID } = await createService(s.ctx, spec(name, ['sleep', '300'], { TaskTemplate: { ...spec(name, ['sleep', '300'], {}, extra).TaskTemplate, Placement: { Constraints: [`node.id==${worker.ID}`] } } }));
  await reconcileOnce(s.ctx, ID);
  return ID;
}

describe('GET /assignments', () => {
  it('gives a worker its tasks, their services, the secrets they use with data, its node and the cluster without join tokens', async () => {
    const secret = await createSecret(s.ctx, { Name: 'dsecret', Labels: {}, Data: Buffer.from('pw').toString('base64') });
    await createSecret(s.ctx, { Name: 'unused', Labels: {}, Data: Buffer.from('x').toString('base64') });
    const ID = await workerService('assigned', { Secrets: [{ SecretID: secret.ID, SecretName: 'dsecret', File: { Name: 'dsecret', UID: '0', GID: '0', Mode: 0o444 } }] });
    const a = await get(worker.ID, { since: '0' });
    const [task] = await tasksOf(s.ctx, ID);
    expect(a.tasks.map((t) => [t.ID, t.NodeID, t.Status.State])).toContainEqual([task!.ID, worker.ID, 'assigned']);
    expect(a.services.map((x) => x.ID)).toContain(ID);
    expect(a.secrets.map((x) => [x.Spec.Name, x.Spec.Data])).toEqual([['dsecret', Buffer.from('pw').toString('base64')]]);
    expect(a.node.ID).toBe(worker.ID);
    expect(a.cluster).toBeDefined();
    expect(a.cluster).not.toHaveProperty('JoinTokens');
    expect(a.index).toBeGreaterThan(0);
  });

  it('gives the manager’s tasks to no worker', async () => {
    const { ID } = await createService(s.ctx, spec('onmanager', ['sleep', '300'], { TaskTemplate: { ...spec('x', []).TaskTemplate, Placement: { Constraints: ['node.role==manager'] } } }));
    await reconcileOnce(s.ctx, ID);
    const a = await get(worker.ID, { since: '0' });
    expect(a.tasks.some((t) => t.ServiceID === ID)).toBe(false);
  });

  it('holds a poll whose index is current until the store changes', async () => {
    const { index } = await get(worker.ID, { since: '0' });
    const held = get(worker.ID, { since: String(index), wait: '30' });
    let answered = false;
    void held.then(() => (answered = true));
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    const ID = await workerService('wakes');
    const a = await held;
    expect(a.index).toBeGreaterThan(index);
    expect(a.tasks.some((t) => t.ServiceID === ID)).toBe(true);
  });

  it('answers a poll with no wait at once, whatever the index', async () => {
    const { index } = await get(worker.ID, { since: '0' });
    expect((await get(worker.ID, { since: String(index), wait: '0' })).index).toBe(index);
  });

  it('refuses a node the store does not hold', async () => {
    await expect(get('nosuchnode', { since: '0' })).rejects.toMatchObject({ code: 'Denied', message: 'node nosuchnode is not a member of the swarm' });
  });
});

describe('POST /status', () => {
  it('records a worker’s report and moves statuses forward only', async () => {
    const ID = await workerService('reported');
    const [task] = await tasksOf(s.ctx, ID);
    const container = { ContainerID: 'c0ffee', PID: 42, ExitCode: 0 };
    await post(worker.ID, [{ taskId: task!.ID, status: { State: 'running', Message: 'started', ContainerStatus: container } }]);
    await post(worker.ID, [{ taskId: task!.ID, status: { State: 'ready', Message: 'prepared' } }]);
    const [after] = await tasksOf(s.ctx, ID);
    expect([after!.Status.State, after!.Status.Message, after!.Status.ContainerStatus]).toEqual(['running', 'started', container]);
  });

  it('refuses a report on another node’s task and records none of it', async () => {
    const ID = await workerService('foreign');
    const [task] = await tasksOf(s.ctx, ID);
    const [manager] = (await s.ctx.store.list('nodes')).filter((n) => n.ID !== worker.ID);
    await expect(post(manager!.ID, [{ taskId: task!.ID, status: { State: 'running', Message: 'started' } }])).rejects.toMatchObject({ code: 'Denied', message: `task ${task!.ID} is not assigned to node ${manager!.ID}` });
    expect((await tasksOf(s.ctx, ID))[0]!.Status.State).toBe('assigned');
  });

  it('refuses a state a worker does not report', async () => {
    const ID = await workerService('badstate');
    const [task] = await tasksOf(s.ctx, ID);
    await expect(post(worker.ID, [{ taskId: task!.ID, status: { State: 'pending', Message: '' } }])).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('reconciles the service after a report: a failed task is replaced in its slot', async () => {
    const ID = await workerService('replaced');
    const [task] = await tasksOf(s.ctx, ID);
    await post(worker.ID, [{ taskId: task!.ID, status: { State: 'failed', Message: 'started', Err: 'task: non-zero exit (1)', ContainerStatus: { ContainerID: 'dead', PID: 0, ExitCode: 1 } } }]);
    const tasks = await tasksOf(s.ctx, ID);
    // The replacement waits out its restart delay (desired ready), on the only node its constraint allows.
    expect(tasks.map((t) => [t.Slot, t.Status.State, t.DesiredState, t.NodeID])).toEqual([
      [1, 'failed', 'shutdown', worker.ID],
      [1, 'assigned', 'ready', worker.ID],
    ]);
  });

  it('skips a report on a task the manager deleted', async () => {
    await expect(post(worker.ID, [{ taskId: 'gonetask', status: { State: 'shutdown', Message: 'shutdown' } }])).resolves.toEqual({});
  });
});
