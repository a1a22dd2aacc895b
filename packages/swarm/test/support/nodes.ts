import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runProcess, type ProcessResult } from '../../../../test/support/run-process';
import { killSwarmAgent, swarmAgentPid } from '../../../../test/support/swarm-agent';

/**
 * Engines on one machine as the nodes of a swarm, for the multi-node tests: each node is a ctr
 * root and run root of its own, working in a network namespace of its own (`ctrtest-<rand>-<i>`),
 * the namespaces cabled to one bridge in a hub namespace (`ctrtest-<rand>-hub`) with addresses
 * in 10.254.<k>.0/24, so every packet the nodes send stays inside namespaces the test made.
 * Commands enter the node's namespace with `nsenter --net` only (not `ip netns exec`, which also
 * makes a mount namespace, hiding the mounts the engine makes from the other nodes and the test).
 */

const run = promisify(execFile);
const REPO = join(__dirname, '..', '..', '..', '..');
const CTR = join(REPO, 'packages', 'cli', 'bin', 'ctr');
const RESOLV_CONF = join(REPO, 'test', 'support', 'resolv.conf');

export interface TestNode {
  /** 0, 1, …: the order the nodes were made in. */
  index: number;
  /** The network namespace's name (`/run/netns/<netns>`). */
  netns: string;
  /** The node's address on the link between the nodes (10.254.<k>.<index + 2>). */
  addr: string;
  root: string;
  runRoot: string;
}

export interface CtrOptions {
  stdin?: string;
  /** Extra environment on top of the node's. */
  env?: NodeJS.ProcessEnv;
  /** Killed after this long (45 s unless told). */
  timeoutMs?: number;
}

export interface TestNodes {
  nodes: TestNode[];
  /** `ctr args…` on the node's root, inside its namespace, to its end. */
  ctr(node: TestNode, args: string[], options?: CtrOptions): Promise<ProcessResult>;
  /** `ctr args…` as `ctr` does, its stdout; a failure throws with what it said (90 s unless told). */
  ok(node: TestNode, args: string[], options?: CtrOptions): Promise<string>;
  /**
   * The first node inits a swarm (its cluster port on its link address, heartbeats every second,
   * `initArgs` besides) and every other joins it as a worker; the nodes' IDs, in order.
   */
  formSwarm(initArgs?: string[]): Promise<string[]>;
  /** The command line running `file args…` inside the node's namespace (for a long-lived process a test starts itself, e.g. ctrd). */
  command(node: TestNode, file: string, args: string[]): { file: string; args: string[] };
  /** `ctr args…` (or any `file`) started in the node's namespace and left running; cleanup kills it if it still runs. */
  spawn(node: TestNode, args: string[], options?: { file?: string; env?: NodeJS.ProcessEnv }): ChildProcess;
  /** The environment the node's commands get: CTR_ROOT, CTR_RUNROOT, the test resolver, no NODE_EXTRA_CA_CERTS. */
  env(node: TestNode): NodeJS.ProcessEnv;
  /** The agent's pid from `<runRoot>/swarm/agent.pid` when that process still runs (its start time checked). */
  agentPid(node: TestNode): number | undefined;
  /** Kills the node's agent (by its pid file's PID) and waits until it is gone. */
  killAgent(node: TestNode, signal?: NodeJS.Signals): Promise<void>;
  /** Leaves every swarm, kills agents, removes containers, networks, namespaces and roots; never throws. */
  cleanup(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** Asks until `check` holds, or `ms` passed (then false): what the swarm does on its own (heartbeats, reports) takes a moment. */
export async function until(check: () => boolean | Promise<boolean>, ms = 30_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** PIDs of the processes in namespace `netns` (all started by this test, through nsenter). */
async function pidsIn(netns: string): Promise<number[]> {
  try {
    const { stdout } = await run('ip', ['netns', 'pids', netns]);
    return stdout.split('\n').filter(Boolean).map(Number).filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}

/**
 * `n` nodes (2 unless told), each with busybox imported. The block 10.254.<k>.0/24 is chosen at
 * random: it exists only inside this test's namespaces, so two test files taking the same k never meet.
 */
export async function testNodes(n = 2): Promise<TestNodes> {
  const tag = `ctrtest-${randomBytes(3).toString('hex')}`;
  const k = 1 + Math.floor(Math.random() * 250);
  const hub = `${tag}-hub`;
  const bridge = 'br0';
  const nodes: TestNode[] = [];
  const children: ChildProcess[] = [];
  let hubMade = false;

  const env = (node: TestNode): NodeJS.ProcessEnv => {
    const { NODE_EXTRA_CA_CERTS: _ca, CTR_EXTRA_CA_CERTS: _extra, ...rest } = process.env;
    return { ...rest, CTR_ROOT: node.root, CTR_RUNROOT: node.runRoot, CTR_RESOLV_CONF: RESOLV_CONF };
  };
  const command = (node: TestNode, file: string, args: string[]): { file: string; args: string[] } => ({
    file: 'nsenter',
    args: [`--net=/run/netns/${node.netns}`, '--', file, ...args],
  });
  const ctr = (node: TestNode, args: string[], options: CtrOptions = {}): Promise<ProcessResult> => {
    const c = command(node, CTR, args);
    return runProcess(c.file, c.args, { env: { ...env(node), ...options.env }, input: options.stdin, cwd: REPO, timeoutMs: options.timeoutMs });
  };
  const nodeEval = (node: TestNode, code: string): Promise<ProcessResult> => {
    const c = command(node, process.execPath, ['-e', code]);
    return runProcess(c.file, c.args, { env: env(node), cwd: REPO, timeoutMs: 60_000 });
  };
  const killAgent = (node: TestNode, signal?: NodeJS.Signals): Promise<void> => killSwarmAgent(node.runRoot, signal);

  const cleanup = async (): Promise<void> => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    for (const node of nodes) {
      const step = async (what: () => Promise<unknown>): Promise<void> => {
        await what().catch(() => undefined);
      };
      await step(() => ctr(node, ['swarm', 'leave', '--force'], { timeoutMs: 60_000 }));
      await step(() => killAgent(node));
      await step(async () => {
        const { stdout } = await ctr(node, ['ps', '-aq', '--no-trunc']);
        for (const id of stdout.split('\n').filter(Boolean)) await ctr(node, ['rm', '-f', id]);
      });
      // Bridges and their iptables rules live in the node's namespace: the gc runs there.
      await step(() =>
        nodeEval(node, `new (require('@ctr/network').NetworkManager)({root:${JSON.stringify(node.root)},runRoot:${JSON.stringify(node.runRoot)}}).gc().catch(()=>{})`),
      );
      // Whatever still runs in the namespace (an embedded DNS, a proxy, a conmon) was started by this test.
      await step(async () => {
        for (const pid of await pidsIn(node.netns)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
      });
      await step(() => ip('netns', 'del', node.netns));
      await step(() => rm(node.root, { recursive: true, force: true, maxRetries: 5 }));
      await step(() => rm(node.runRoot, { recursive: true, force: true, maxRetries: 5 }));
    }
    // The bridge and the veths' hub ends go with the hub namespace.
    if (hubMade) await ip('netns', 'del', hub).catch(() => undefined);
  };

  try {
    await ip('netns', 'add', hub);
    hubMade = true;
    await ip('-n', hub, 'link', 'add', bridge, 'type', 'bridge');
    await ip('-n', hub, 'link', 'set', bridge, 'up');
    for (let i = 0; i < n; i++) {
      const node: TestNode = {
        index: i,
        netns: `${tag}-${i}`,
        addr: `10.254.${k}.${i + 2}`,
        root: await mkdtemp(join(tmpdir(), `${tag}-${i}-root-`)),
        runRoot: await mkdtemp(join(tmpdir(), `${tag}-${i}-run-`)),
      };
      nodes.push(node);
      await ip('netns', 'add', node.netns);
      // Made in the hub, one end moved into the node: the host's namespace never holds either end.
      await ip('-n', hub, 'link', 'add', `h${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.netns);
      await ip('-n', hub, 'link', 'set', `h${i}`, 'master', bridge, 'up');
      await ip('-n', node.netns, 'addr', 'add', `${node.addr}/24`, 'dev', 'eth0');
      await ip('-n', node.netns, 'link', 'set', 'eth0', 'up');
      await ip('-n', node.netns, 'link', 'set', 'lo', 'up');
      // A default route on the link, so the engine's "default route's address" is the node's own.
      await ip('-n', node.netns, 'route', 'add', 'default', 'via', `10.254.${k}.1`, 'dev', 'eth0');
      const rootfs = await mkdtemp(join(tmpdir(), `${tag}-${i}-bb-`));
      try {
        const made = await runProcess(process.execPath, [join(REPO, 'scripts', 'busybox-rootfs.js'), rootfs], { env: env(node), cwd: REPO });
        if (made.code !== 0) throw new Error(`busybox rootfs: ${made.stderr}`);
        const imported = await ctr(node, ['import', '-c', 'CMD ["sh"]', rootfs, 'busybox']);
        if (imported.code !== 0) throw new Error(`ctr import on node ${i}: ${imported.stderr}`);
      } finally {
        await rm(rootfs, { recursive: true, force: true });
      }
    }
  } catch (error) {
    await cleanup();
    throw error;
  }

  const ok = async (node: TestNode, args: string[], options: CtrOptions = {}): Promise<string> => {
    const result = await ctr(node, args, { timeoutMs: 90_000, ...options });
    if (result.code !== 0) throw new Error(`ctr ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };

  return {
    nodes,
    ctr,
    ok,
    async formSwarm(initArgs = []) {
      const [manager, ...workers] = nodes as [TestNode, ...TestNode[]];
      await ok(manager, ['swarm', 'init', '--listen-addr', `${manager.addr}:2377`, '--advertise-addr', manager.addr, '--dispatcher-heartbeat', '1s', ...initArgs]);
      const token = (await ok(manager, ['swarm', 'join-token', '-q', 'worker'])).trim();
      for (const worker of workers) await ok(worker, ['swarm', 'join', '--token', token, `${manager.addr}:2377`]);
      return Promise.all(nodes.map(async (node) => (await ok(node, ['info', '--format', '{{.Swarm.NodeID}}'])).trim()));
    },
    command,
    env,
    spawn(node, args, options = {}) {
      const c = command(node, options.file ?? CTR, args);
      const child = spawn(c.file, c.args, { env: { ...env(node), ...options.env }, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    },
    agentPid: (node) => swarmAgentPid(node.runRoot),
    killAgent,
    cleanup,
  };
}

