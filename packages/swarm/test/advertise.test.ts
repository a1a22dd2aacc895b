import { execFile, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testNodes, until, type TestNode, type TestNodes } from './support/nodes';

/** What `swarm init` advertises when it is not told, on a machine cabled to its peers alone (no default route). */
describe('swarm init without --advertise-addr', () => {
  let t: TestNodes;
  let node: TestNode;

  beforeAll(async () => {
    t = await testNodes(1);
    [node] = t.nodes as [TestNode];
  }, 120_000);

  afterAll(async () => {
    await t?.cleanup();
  }, 120_000);

  test("advertises the host's one address beside loopback when there is no default route", async () => {
    const init = await t.ctr(node, ['swarm', 'init']);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`ctr swarm join --token SWMTKN-1-`);
    expect(init.stdout).toContain(` ${node.addr}:2377\n`);
    const info = await t.ctr(node, ['info', '--format', '{{.Swarm.NodeAddr}}']);
    expect(info.stdout).toBe(`${node.addr}\n`);
  }, 60_000);
});

/**
 * ctrd's `--swarm-default-advertise-addr` (dockerd's): what `swarm init` through the daemon
 * advertises when it names no address, resolved in the daemon's network namespace.
 */
describe('swarm init through a ctrd given --swarm-default-advertise-addr', () => {
  /** An interface of the node's namespace beside its link (eth0, where its default route goes). */
  const INTERFACE = { name: 'adv0', addr: '192.0.2.10' };
  let t: TestNodes;
  let node: TestNode;
  let daemon: ChildProcess;
  let viaDaemon: (args: string[]) => ReturnType<TestNodes['ctr']>;

  beforeAll(async () => {
    t = await testNodes(1);
    [node] = t.nodes as [TestNode];
    // A veth pair with both ends in the namespace (gone with it at cleanup): the kernel may have no dummy interfaces.
    for (const args of [
      ['link', 'add', INTERFACE.name, 'type', 'veth', 'peer', 'name', `${INTERFACE.name}-peer`],
      ['addr', 'add', `${INTERFACE.addr}/24`, 'dev', INTERFACE.name],
      ['link', 'set', `${INTERFACE.name}-peer`, 'up'],
      ['link', 'set', INTERFACE.name, 'up'],
    ]) {
      await promisify(execFile)('ip', ['-n', node.netns, ...args]);
    }
    const socket = `unix://${join(node.runRoot, 'ctrd.sock')}`;
    viaDaemon = (args) => t.ctr(node, ['-H', socket, ...args]);
    daemon = t.spawn(node, ['daemon', '-H', socket, '--swarm-default-advertise-addr', INTERFACE.name]);
    if (!(await until(async () => (await viaDaemon(['version'])).code === 0))) throw new Error('ctrd did not start');
  }, 120_000);

  afterEach(async () => {
    if (daemon) await viaDaemon(['swarm', 'leave', '--force']);
  }, 60_000);

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.once('exit', resolve));
    }
    await t?.cleanup();
  }, 120_000);

  test("advertises the default interface's address, not the default route's", async () => {
    const init = await viaDaemon(['swarm', 'init']);
    expect(init.stderr).toBe('');
    expect(init.stdout).toContain(` ${INTERFACE.addr}:2377\n`);
    expect((await viaDaemon(['info', '--format', '{{.Swarm.NodeAddr}}'])).stdout).toBe(`${INTERFACE.addr}\n`);
  }, 60_000);

  test('a daemonless swarm init advertises the daemon.json default too', async () => {
    const config = join(node.runRoot, 'daemon.json');
    await writeFile(config, JSON.stringify({ 'swarm-default-advertise-addr': INTERFACE.name }));
    const init = await t.ctr(node, ['--config-file', config, 'swarm', 'init']);
    expect(init.stderr).toBe('');
    expect((await t.ctr(node, ['--config-file', config, 'info', '--format', '{{.Swarm.NodeAddr}}'])).stdout).toBe(`${INTERFACE.addr}\n`);
  }, 60_000);

  test('an --advertise-addr given still wins', async () => {
    const init = await viaDaemon(['swarm', 'init', '--advertise-addr', 'eth0']);
    expect(init.stderr).toBe('');
    expect((await viaDaemon(['info', '--format', '{{.Swarm.NodeAddr}}'])).stdout).toBe(`${node.addr}\n`);
  }, 60_000);
});
