import { testNodes, type TestNode, type TestNodes } from './support/nodes';

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
