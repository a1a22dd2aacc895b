import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runProcess } from '../../../test/support/run-process';
import { openClusterStore } from '../src/store';
import { testNodes, type TestNode, type TestNodes } from './support/nodes';

/**
 * A service's overlay network across two nodes (engines in network namespaces of their own, the
 * ctr command in each): its tasks on both nodes reach each other by address and by
 * `tasks.<service>`, its name resolves to its virtual IP, which spreads connections over both
 * nodes' tasks from either node, and the routing mesh of the manager spreads a published port over both.
 */
describe('an overlay network spans the nodes of a swarm', () => {
  let t: TestNodes;
  let manager: TestNode;
  let worker: TestNode;
  let workerId = '';
  /** Each running task's node and address on the service's network. */
  let tasks: Array<{ node: string; address: string }> = [];

  async function ctr(node: TestNode, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return t.ctr(node, args, { timeoutMs: 90_000 });
  }

  const must = (node: TestNode, ...args: string[]): Promise<string> => t.ok(node, args);

  async function until<T>(probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error('gave up waiting');
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** The container of the service's task on the manager. */
  async function managerTaskContainer(): Promise<string> {
    return (await must(manager, 'ps', '-q', '--filter', 'label=com.docker.swarm.service.name=web')).trim().split('\n')[0] ?? '';
  }

  beforeAll(async () => {
    t = await testNodes(2);
    [manager, worker] = t.nodes as [TestNode, TestNode];
    // The swarm's subnets from 10.254.0.0/16 too: every address stays inside this test's namespaces.
    [, workerId] = (await t.formSwarm(['--default-addr-pool', '10.254.0.0/16'])) as [string, string];
    await must(manager, 'network', 'create', '-d', 'overlay', '--attachable', 'appnet');
    // Each task serves its node's ID: who answered is known from the answer.
    await must(
      manager,
      'service', 'create', '--name', 'web', '--update-monitor', '1s', '--replicas', '2', '--network', 'appnet', '--publish', '30080:80', '--env', 'NODE={{.Node.ID}}',
      'busybox', 'sh', '-c', 'mkdir -p /www && echo "$NODE" > /www/index.html && exec httpd -f -p 80 -h /www',
    );
    // The manager's store, read as any process on its root reads it (no lock needed).
    const store = openClusterStore(manager.root);
    tasks = await until(async () => {
      const running = (await store.list('tasks')).filter((task) => task.DesiredState === 'running' && task.Status.State === 'running');
      const addressed = running.flatMap((task) => {
        const address = task.NetworksAttachments?.find((a) => a.Network.Spec.Name === 'appnet')?.Addresses[0];
        return address ? [{ node: task.NodeID ?? '', address: address.split('/')[0] ?? '' }] : [];
      });
      return addressed.length === 2 ? addressed : undefined;
    });
  }, 300_000);

  afterAll(async () => {
    await t?.cleanup();
  }, 180_000);

  test('the two replicas run one on each node, each with its own address on the network', () => {
    expect(tasks.map((task) => task.node)).toContain(workerId);
    expect(new Set(tasks.map((task) => task.node)).size).toBe(2);
    expect(new Set(tasks.map((task) => task.address)).size).toBe(2);
  });

  test("the manager's task reaches the worker's task by its address, through the VXLAN between the nodes", async () => {
    const remote = tasks.find((task) => task.node === workerId);
    const container = await managerTaskContainer();
    // The manager makes its VXLAN device's peers at the end of the reconcile that recorded the worker's task running.
    const page = await until(async () => {
      const r = await ctr(manager, 'exec', container, 'wget', '-qO-', `http://${remote?.address}/`);
      return r.code === 0 ? r.stdout : undefined;
    }, 30_000);
    expect(page.trim()).toBe(workerId);
  }, 60_000);

  test('tasks.<service> names the tasks of both nodes, on either node', async () => {
    const answer = await until(async () => {
      const out = (await ctr(manager, 'exec', await managerTaskContainer(), 'nslookup', 'tasks.web', '127.0.0.11')).stdout;
      return tasks.every((task) => out.includes(task.address)) ? out : undefined;
    }, 30_000);
    for (const task of tasks) expect(answer).toContain(task.address);
    const workerContainer = (await must(worker, 'ps', '-q', '--filter', 'label=com.docker.swarm.service.name=web')).trim();
    const there = await until(async () => {
      const out = (await ctr(worker, 'exec', workerContainer, 'nslookup', 'tasks.web', '127.0.0.11')).stdout;
      return tasks.every((task) => out.includes(task.address)) ? out : undefined;
    }, 30_000);
    for (const task of tasks) expect(there).toContain(task.address);
  }, 90_000);

  /** Who answers the published port on a node, over a few connections (the mesh takes the tasks in turn). */
  async function meshAnswers(node: TestNode): Promise<string[]> {
    const answered = new Set<string>();
    for (let i = 0; i < 8 && answered.size < 2; i++) {
      const c = t.command(node, '/bin/busybox', ['wget', '-qO-', `http://${node.addr}:30080/`]);
      const r = await runProcess(c.file, c.args, { env: t.env(node), timeoutMs: 15_000 });
      if (r.code === 0) answered.add(r.stdout.trim());
    }
    return [...answered].sort();
  }

  test("a port published through the routing mesh answers on the manager from both nodes' tasks", async () => {
    expect(await meshAnswers(manager)).toEqual(tasks.map((task) => task.node).sort());
  }, 120_000);

  test("the worker's routing mesh serves the port too, from both nodes' tasks", async () => {
    const answers = await until(async () => {
      const seen = await meshAnswers(worker);
      return seen.length === 2 ? seen : undefined;
    }, 30_000);
    expect(answers).toEqual(tasks.map((task) => task.node).sort());
  }, 120_000);

  /** web's virtual IPs by network name, without their prefix lengths. */
  async function webVips(): Promise<Record<string, string>> {
    const vips = JSON.parse(await must(manager, 'service', 'inspect', 'web', '--format', '{{json .Endpoint.VirtualIPs}}')) as Array<{ NetworkID: string; Addr: string }>;
    const names = new Map<string, string>();
    for (const name of ['ingress', 'appnet']) names.set((await must(manager, 'network', 'inspect', name, '--format', '{{.Id}}')).trim(), name);
    return Object.fromEntries(vips.map((v) => [names.get(v.NetworkID) ?? v.NetworkID, v.Addr.split('/')[0] ?? '']));
  }

  /** Who answers http://address/ from a container on a node (a task of web unless told), over a few connections. */
  async function answersFrom(node: TestNode, address: string, from?: string): Promise<string[]> {
    const container = from ?? (await must(node, 'ps', '-q', '--filter', 'label=com.docker.swarm.service.name=web')).trim().split('\n')[0] ?? '';
    const answered = new Set<string>();
    for (let i = 0; i < 12 && answered.size < 2; i++) {
      const r = await ctr(node, 'exec', container, 'wget', '-qO-', `http://${address}/`);
      if (r.code === 0) answered.add(r.stdout.trim());
    }
    return [...answered].sort();
  }

  test('the service has a virtual IP on ingress (it publishes a port) and on its network, none a task\'s address', async () => {
    const vips = await webVips();
    expect(Object.keys(vips).sort()).toEqual(['appnet', 'ingress']);
    expect(tasks.map((task) => task.address)).not.toContain(vips.appnet);
  });

  test("the service's name resolves to its virtual IP on either node", async () => {
    const { appnet } = await webVips();
    for (const node of [manager, worker]) {
      const container = (await must(node, 'ps', '-q', '--filter', 'label=com.docker.swarm.service.name=web')).trim();
      const out = await until(async () => {
        const answer = (await ctr(node, 'exec', container, 'nslookup', 'web', '127.0.0.11')).stdout;
        return answer.includes(`Address: ${appnet}`) ? answer : undefined;
      }, 30_000);
      for (const task of tasks) expect(out).not.toContain(`Address: ${task.address}\n`);
    }
  }, 90_000);

  test("connections to the virtual IP reach both nodes' tasks, from the manager's task and from the worker's", async () => {
    const { appnet } = await webVips();
    const nodes = tasks.map((task) => task.node).sort();
    for (const node of [manager, worker]) {
      const seen = await until(async () => {
        const answered = await answersFrom(node, appnet ?? '');
        return answered.length === 2 ? answered : undefined;
      }, 60_000);
      expect(seen).toEqual(nodes);
    }
  }, 180_000);

  test("a standalone container on the worker's side of the attachable network reaches both nodes' tasks through the virtual IP", async () => {
    const { appnet } = await webVips();
    const client = (await must(worker, 'run', '-d', '--network', 'appnet', 'busybox', 'sleep', '600')).trim();
    try {
      const seen = await until(async () => {
        const answered = await answersFrom(worker, appnet ?? '', client);
        return answered.length === 2 ? answered : undefined;
      }, 60_000);
      expect(seen).toEqual(tasks.map((task) => task.node).sort());
    } finally {
      // Gone before the worker leaves: a container on the network would keep it (and its VXLAN device) there.
      await must(worker, 'rm', '-f', client);
    }
  }, 120_000);

  /** The VXLAN devices in a node's namespace. */
  async function vxlans(node: TestNode): Promise<string[]> {
    const { stdout } = await promisify(execFile)('ip', ['-n', node.netns, '-j', 'link', 'show']);
    return (JSON.parse(stdout) as Array<{ ifname: string }>).map((l) => l.ifname).filter((name) => name.startsWith('vx-'));
  }

  test('once the worker has left and is removed, no node keeps a VXLAN device: there is no other node to flood to', async () => {
    await must(worker, 'swarm', 'leave');
    expect(await vxlans(worker)).toEqual([]);
    await must(manager, 'node', 'rm', '--force', workerId);
    expect(await until(async () => ((await vxlans(manager)).length === 0 ? [] : undefined), 60_000)).toEqual([]);
    // The worker's task is replaced on the manager, which alone serves the port now.
    const answers = await until(async () => {
      const seen = await meshAnswers(manager);
      return seen.length > 0 ? seen : undefined;
    }, 60_000);
    expect(answers).toEqual([tasks.find((task) => task.node !== workerId)?.node]);
  }, 180_000);
});
