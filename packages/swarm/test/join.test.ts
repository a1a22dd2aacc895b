import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { testNodes, until, type TestNode, type TestNodes } from './support/nodes';

/**
 * `swarm join` end to end: engines in network namespaces of their own, each with its own root,
 * the ctr command in each (daemonless: the node agent is the detached `ctr swarm agent`).
 */
describe('a worker joins a swarm over mutual TLS', () => {
  let t: TestNodes;
  let manager: TestNode;
  let worker: TestNode;
  /** A third engine: refused joins, and a swarm of its own (another CA). */
  let other: TestNode;
  let workerToken: string;
  let workerId: string;

  async function ctr(node: TestNode, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return t.ctr(node, args);
  }

  /** The manager's view of a node: its STATUS column. */
  async function statusOf(id: string): Promise<string> {
    const { stdout } = await ctr(manager, 'node', 'inspect', '--format', '{{.Status.State}}', id);
    return stdout.trim();
  }

  beforeAll(async () => {
    t = await testNodes(3);
    [manager, worker, other] = t.nodes as [TestNode, TestNode, TestNode];
    const init = await ctr(manager, 'swarm', 'init', '--listen-addr', `${manager.addr}:2377`, '--advertise-addr', manager.addr, '--dispatcher-heartbeat', '1s');
    if (init.code !== 0) throw new Error(`swarm init: ${init.stderr}`);
    workerToken = (await ctr(manager, 'swarm', 'join-token', '-q', 'worker')).stdout.trim();
  }, 120_000);

  afterAll(async () => {
    await t?.cleanup();
  }, 120_000);

  test('join with the worker token makes the engine a worker', async () => {
    const joined = await ctr(worker, 'swarm', 'join', '--token', workerToken, `${manager.addr}:2377`);
    expect(joined.stderr).toBe('');
    expect(joined.stdout).toBe('This node joined a swarm as a worker.\n');
    expect(joined.code).toBe(0);
    workerId = (await ctr(worker, 'info', '--format', '{{.Swarm.NodeID}}')).stdout.trim();
    expect(workerId).toMatch(/^[0-9a-z]{25}$/);
  }, 60_000);

  test('node ls on the manager shows both nodes, the worker ready', async () => {
    const ls = await ctr(manager, 'node', 'ls', '--format', '{{.ID}} {{.Status}} {{.ManagerStatus}}');
    const lines = ls.stdout.trim().split('\n').map((l) => l.trimEnd());
    expect(lines).toHaveLength(2);
    expect(lines).toContain(`${workerId} Ready`);
  });

  test('info on the worker: active, not a manager, its node ID and its manager\'s address', async () => {
    const info = await ctr(worker, 'info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeAddr}} {{range .Swarm.RemoteManagers}}{{.Addr}}{{end}}');
    expect(info.stdout).toBe(`active false ${worker.addr} ${manager.addr}:2377\n`);
    const human = await ctr(worker, 'info');
    expect(human.stdout).toMatch(/ Is Manager: false\n/);
  });

  test('a manager verb on the worker is refused with dockerd\'s words', async () => {
    for (const verb of [['node', 'ls'], ['service', 'ls'], ['secret', 'ls']]) {
      const refused = await ctr(worker, ...verb);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        "Error response from daemon: This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.\n",
      );
    }
  });

  test('promoting the worker is refused: the swarm has one manager', async () => {
    const promoted = await ctr(manager, 'node', 'promote', workerId);
    expect(promoted.code).toBe(1);
    expect(promoted.stderr).toMatch(/ctr's swarm has one manager: joining as a manager is not supported yet/);
    expect(await statusOf(workerId)).toBe('ready');
  });

  test('joining with the manager token is refused', async () => {
    const token = (await ctr(manager, 'swarm', 'join-token', '-q', 'manager')).stdout.trim();
    const refused = await ctr(other, 'swarm', 'join', '--token', token, `${manager.addr}:2377`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^Error response from daemon: ctr's swarm has one manager: joining as a manager is not supported yet/);
    expect((await ctr(other, 'info', '--format', '{{.Swarm.LocalNodeState}}')).stdout).toBe('inactive\n');
  });

  test('a token with the right CA but a wrong secret is refused in swarmkit\'s words', async () => {
    const wrong = `${workerToken.slice(0, -25)}${'0'.repeat(25)}`;
    const refused = await ctr(other, 'swarm', 'join', '--token', wrong, `${manager.addr}:2377`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('Error response from daemon: rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster\n');
  });

  test('swarm leave on the worker needs no --force: its agent, node.json and certificates go', async () => {
    const left = await ctr(worker, 'swarm', 'leave');
    expect(left.stdout).toBe('Node left the swarm.\n');
    expect(left.code).toBe(0);
    expect(t.agentPid(worker)).toBeUndefined();
    expect(existsSync(join(worker.root, 'swarm'))).toBe(false);
    expect((await ctr(worker, 'info', '--format', '{{.Swarm.LocalNodeState}}')).stdout).toBe('inactive\n');
  });

  test('a manager showing another CA than the token\'s is refused before the token is sent', async () => {
    const init = await ctr(other, 'swarm', 'init', '--listen-addr', `${other.addr}:2377`, '--advertise-addr', other.addr);
    expect(init.code).toBe(0);
    try {
      const joined = await ctr(worker, 'swarm', 'join', '--token', workerToken, `${other.addr}:2377`);
      expect(joined.code).toBe(1);
      expect(joined.stderr).toMatch(/^Error response from daemon: remote CA does not match fingerprint\. Expected: [0-9a-f]{64}/);
      // Nothing reached the other swarm: it still has its one node.
      expect((await ctr(other, 'node', 'ls', '-q')).stdout.trim().split('\n')).toHaveLength(1);
    } finally {
      await ctr(other, 'swarm', 'leave', '--force');
    }
  });

  test('the node that left is down on the manager until node rm removes it', async () => {
    expect(await until(async () => (await statusOf(workerId)) === 'down')).toBe(true);
    const removed = await ctr(manager, 'node', 'rm', workerId);
    expect(removed.stdout).toBe(`${workerId}\n`);
    expect((await ctr(manager, 'node', 'ls', '-q')).stdout.trim().split('\n')).toHaveLength(1);
  });

  test('a worker whose agent is killed goes down, and ready again once its agent is back', async () => {
    const joined = await ctr(worker, 'swarm', 'join', '--token', workerToken, `${manager.addr}:2377`);
    expect(joined.code).toBe(0);
    workerId = (await ctr(worker, 'info', '--format', '{{.Swarm.NodeID}}')).stdout.trim();
    expect(await statusOf(workerId)).toBe('ready');
    await t.killAgent(worker, 'SIGKILL');
    expect(await until(async () => (await statusOf(workerId)) === 'down')).toBe(true);
    // Any swarm verb on the worker starts its agent again (a refused one too).
    await ctr(worker, 'node', 'ls');
    expect(t.agentPid(worker)).toBeDefined();
    expect(await until(async () => (await statusOf(workerId)) === 'ready')).toBe(true);
  }, 60_000);

  test('node rm of a ready worker needs --force, as docker\'s', async () => {
    const refused = await ctr(manager, 'node', 'rm', workerId);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`Error response from daemon: rpc error: code = FailedPrecondition desc = node ${workerId} is not down and can't be removed\n`);
  });

  test('a worker removed with --force is refused on its next call, and leaves the swarm', async () => {
    const removed = await ctr(manager, 'node', 'rm', '--force', workerId);
    expect(removed.code).toBe(0);
    expect(await until(async () => (await ctr(worker, 'info', '--format', '{{.Swarm.LocalNodeState}}')).stdout === 'inactive\n')).toBe(true);
    expect(await until(async () => t.agentPid(worker) === undefined)).toBe(true);
  }, 60_000);
});

/** The same join through ctrd (POST /swarm/join): the daemon runs the node agent in its own process. */
describe('a worker joins through ctrd', () => {
  let t: TestNodes;

  afterAll(async () => {
    await t?.cleanup();
  }, 120_000);

  test('ctrd joins, runs the agent itself (its pid in agent.pid), and the manager sees the node ready', async () => {
    t = await testNodes(2);
    const [manager, worker] = t.nodes as [TestNode, TestNode];
    const init = await t.ctr(manager, ['swarm', 'init', '--listen-addr', `${manager.addr}:2377`, '--advertise-addr', manager.addr, '--dispatcher-heartbeat', '1s']);
    expect(init.code).toBe(0);
    const token = (await t.ctr(manager, ['swarm', 'join-token', '-q', 'worker'])).stdout.trim();
    const socket = `unix://${join(worker.runRoot, 'ctrd.sock')}`;
    const daemon = t.spawn(worker, ['daemon', '-H', socket]);
    const viaDaemon = (args: string[]): ReturnType<TestNodes['ctr']> => t.ctr(worker, ['-H', socket, ...args]);
    for (let i = 0; i < 100 && (await viaDaemon(['version'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    const joined = await viaDaemon(['swarm', 'join', '--token', token, `${manager.addr}:2377`]);
    expect(joined.stderr).toBe('');
    expect(joined.stdout).toBe('This node joined a swarm as a worker.\n');
    expect(t.agentPid(worker)).toBe(daemon.pid);
    const id = (await viaDaemon(['info', '--format', '{{.Swarm.NodeID}}'])).stdout.trim();
    expect((await t.ctr(manager, ['node', 'inspect', '--format', '{{.Status.State}}', id])).stdout).toBe('ready\n');
    const left = await viaDaemon(['swarm', 'leave']);
    expect(left.code).toBe(0);
    expect((await viaDaemon(['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout).toBe('inactive\n');
    expect((await t.ctr(manager, ['node', 'inspect', '--format', '{{.Status.State}}', id])).stdout).toBe('down\n');
  }, 120_000);
});
