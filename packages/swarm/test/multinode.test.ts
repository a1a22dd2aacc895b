import { testNodes, until, type TestNode, type TestNodes } from './support/nodes';

/**
 * Services across two engines: the manager schedules tasks on itself and on a worker (each an
 * engine with its own root in its own network namespace, the ctr command in each, the node
 * agents detached), the worker runs its tasks and reports back.
 */
describe('a swarm of a manager and a worker', () => {
  let t: TestNodes;
  let manager: TestNode;
  let worker: TestNode;
  let managerId: string;
  let workerId: string;

  async function ctr(node: TestNode, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const result = await t.ctr(node, args, { timeoutMs: 90_000 });
    return result;
  }

  const ok = (node: TestNode, ...args: string[]): Promise<string> => t.ok(node, args);

  const lines = (text: string): string[] => text.split('\n').filter(Boolean);

  /** The service's tasks meant to run on a node (`service ps --filter node=… --filter desired-state=running`), with their states. */
  async function tasksOn(service: string, nodeId: string): Promise<string[]> {
    return lines(await ok(manager, 'service', 'ps', service, '--filter', `node=${nodeId}`, '--filter', 'desired-state=running', '--format', '{{.CurrentState}}')).map((l) => l.split(' ')[0] as string);
  }

  /** The service's containers running on a node's own engine (`ctr ps` in its namespace). */
  async function containersOn(node: TestNode, service: string): Promise<number> {
    return lines(await ok(node, 'ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`)).length;
  }

  const running = (states: string[], n: number): boolean => states.length === n && states.every((s) => s === 'Running');

  beforeAll(async () => {
    t = await testNodes(2);
    [manager, worker] = t.nodes as [TestNode, TestNode];
    [managerId, workerId] = (await t.formSwarm()) as [string, string];
  }, 180_000);

  afterAll(async () => {
    await t?.cleanup();
  }, 180_000);

  jest.setTimeout(180_000);

  test('a 4-replica service spreads 2/2 over the manager and the worker, and the worker’s tasks really run there', async () => {
    await ok(manager, 'service', 'create', '--name', 'spread', '--update-monitor', '1s', '--replicas', '4', '--stop-signal', 'SIGKILL', 'busybox:latest', 'sleep', '300');
    expect(await tasksOn('spread', managerId)).toEqual(['Running', 'Running']);
    expect(await tasksOn('spread', workerId)).toEqual(['Running', 'Running']);
    expect(await containersOn(worker, 'spread')).toBe(2);
    expect(await containersOn(manager, 'spread')).toBe(2);
  });

  test('scaling down removes the worker’s tasks and their containers', async () => {
    await ok(manager, 'service', 'scale', 'spread=0');
    expect(await until(async () => (await containersOn(worker, 'spread')) === 0)).toBe(true);
    expect(await until(async () => lines(await ok(worker, 'ps', '-aq', '--filter', 'label=com.docker.swarm.service.name=spread')).length === 0)).toBe(true);
    expect(await tasksOn('spread', workerId)).toEqual([]);
    await ok(manager, 'service', 'rm', 'spread');
  });

  test('a node.role==worker constraint puts the tasks on the worker only', async () => {
    await ok(manager, 'service', 'create', '--name', 'onworker', '--update-monitor', '1s', '--replicas', '2', '--constraint', 'node.role==worker', '--stop-signal', 'SIGKILL', 'busybox:latest', 'sleep', '300');
    expect(await tasksOn('onworker', workerId)).toEqual(['Running', 'Running']);
    expect(await tasksOn('onworker', managerId)).toEqual([]);
    expect(await containersOn(worker, 'onworker')).toBe(2);
    await ok(manager, 'service', 'rm', 'onworker');
  });

  test('a global service runs one task on each node', async () => {
    await ok(manager, 'service', 'create', '--name', 'everywhere', '--update-monitor', '1s', '--mode', 'global', '--stop-signal', 'SIGKILL', 'busybox:latest', 'sleep', '300');
    expect(await tasksOn('everywhere', managerId)).toEqual(['Running']);
    expect(await tasksOn('everywhere', workerId)).toEqual(['Running']);
    expect(await containersOn(worker, 'everywhere')).toBe(1);
    await ok(manager, 'service', 'rm', 'everywhere');
  });

  test('a constraint without an operator is refused in swarmkit’s words', async () => {
    const refused = await ctr(manager, 'service', 'create', '--name', 'bad', '--constraint', 'node.role=worker', 'busybox:latest', 'sleep', '300');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('Error response from daemon: rpc error: code = InvalidArgument desc = constraint expected one operator from ==, !=\n');
  });

  test('service logs on the manager show a worker task’s output', async () => {
    await ok(manager, 'service', 'create', '--name', 'talker', '--update-monitor', '1s', '--constraint', 'node.role==worker', '--stop-signal', 'SIGKILL', 'busybox:latest', 'sh', '-c', 'echo hello from the worker; sleep 300');
    expect(await until(async () => (await ok(manager, 'service', 'logs', 'talker')).includes('hello from the worker'))).toBe(true);
    const out = await ok(manager, 'service', 'logs', '--no-task-ids', 'talker');
    expect(out).toMatch(/^talker\.1@\S+\s+\| hello from the worker$/m);
    await ok(manager, 'service', 'rm', 'talker');
  });

  test('a secret reaches a worker’s task as a file', async () => {
    const created = await t.ctr(manager, ['secret', 'create', 'token', '-'], { stdin: 's3cret' });
    expect(created.code).toBe(0);
    await ok(manager, 'service', 'create', '--name', 'secretive', '--update-monitor', '1s', '--secret', 'token', '--constraint', 'node.role==worker', '--stop-signal', 'SIGKILL', 'busybox:latest', 'sleep', '300');
    const [container] = lines(await ok(worker, 'ps', '-q', '--filter', 'label=com.docker.swarm.service.name=secretive'));
    expect(await ok(worker, 'exec', container as string, 'cat', '/run/secrets/token')).toBe('s3cret');
    await ok(manager, 'service', 'rm', 'secretive');
  });

  test('draining the worker moves its tasks to the manager', async () => {
    await ok(manager, 'service', 'create', '--name', 'mover', '--update-monitor', '1s', '--replicas', '2', '--stop-signal', 'SIGKILL', 'busybox:latest', 'sleep', '300');
    expect(await tasksOn('mover', workerId)).toEqual(['Running']);
    await ok(manager, 'node', 'update', '--availability', 'drain', workerId);
    expect(await until(async () => running(await tasksOn('mover', managerId), 2))).toBe(true);
    expect(await tasksOn('mover', workerId)).toEqual([]);
    expect(await until(async () => (await containersOn(worker, 'mover')) === 0)).toBe(true);
    await ok(manager, 'node', 'update', '--availability', 'active', workerId);
    await ok(manager, 'service', 'rm', 'mover');
  });

  test('a worker whose agent is killed goes down after 3 heartbeats and its tasks are replaced on the manager', async () => {
    await ok(manager, 'service', 'create', '--name', 'survivor', '--update-monitor', '1s', '--replicas', '2', '--stop-signal', 'SIGKILL', 'busybox:latest', 'sleep', '300');
    expect(await tasksOn('survivor', workerId)).toEqual(['Running']);
    await t.killAgent(worker, 'SIGKILL');
    expect(await until(async () => (await ok(manager, 'node', 'inspect', '--format', '{{.Status.State}}', workerId)).trim() === 'down')).toBe(true);
    expect(await until(async () => running(await tasksOn('survivor', managerId), 2))).toBe(true);
    expect(await tasksOn('survivor', workerId)).toEqual([]);
  });

  test('the worker back: its old task is stopped, and the replacement was made once', async () => {
    // Any verb on the worker brings its agent back (it refuses a manager verb all the same).
    await ctr(worker, 'node', 'ls');
    expect(await until(async () => (await ok(manager, 'node', 'inspect', '--format', '{{.Status.State}}', workerId)).trim() === 'ready')).toBe(true);
    expect(await until(async () => (await containersOn(worker, 'survivor')) === 0)).toBe(true);
    expect(await until(async () => (await ok(manager, 'service', 'ps', 'survivor', '--filter', `node=${workerId}`, '--format', '{{.CurrentState}}')).startsWith('Shutdown'))).toBe(true);
    expect(running(await tasksOn('survivor', managerId), 2)).toBe(true);
    expect(await tasksOn('survivor', workerId)).toEqual([]);
    await ok(manager, 'service', 'rm', 'survivor');
  });
});
