import os from 'node:os';
import { ENGINE_VERSION } from '@ctr/engine';
import { clusterFixture, type ClusterFixture } from './cluster-fixture';

let f: ClusterFixture;
let nodeId: string;

beforeAll(async () => {
  f = await clusterFixture();
  nodeId = await f.init();
});

afterAll(async () => {
  await f.cleanup();
});

test('the node describes this host and engine', async () => {
  const node = await f.swarm.inspectNode(nodeId);
  expect(node.Description).toMatchObject({
    Hostname: os.hostname(),
    Platform: { Architecture: os.machine(), OS: 'linux' },
    Resources: { NanoCPUs: os.cpus().length * 1e9, MemoryBytes: os.totalmem() },
    Engine: { EngineVersion: ENGINE_VERSION },
  });
  expect(node.Description.Engine.Plugins).toEqual(expect.arrayContaining([{ Type: 'Network', Name: 'bridge' }, { Type: 'Volume', Name: 'local' }]));
  expect(node.Description.TLSInfo.TrustRoot).toBe((await f.swarm.inspect()).TLSInfo.TrustRoot);
});

test('the node is a ready, active manager and the swarm’s leader', async () => {
  const node = await f.swarm.inspectNode(nodeId);
  expect(node.Spec).toMatchObject({ Role: 'manager', Availability: 'active', Labels: {} });
  expect(node.Status).toEqual({ State: 'ready', Addr: '127.0.0.1' });
  expect(node.ManagerStatus).toEqual({ Leader: true, Reachability: 'reachable', Addr: '127.0.0.1:2377' });
});

test('inspect finds the node by ID prefix or hostname, and names what it cannot find', async () => {
  expect((await f.swarm.inspectNode(nodeId.slice(0, 6))).ID).toBe(nodeId);
  expect((await f.swarm.inspectNode(os.hostname())).ID).toBe(nodeId);
  await expect(f.swarm.inspectNode('nosuchnode')).rejects.toMatchObject({ code: 'NotFound', message: 'node nosuchnode not found' });
});

test('node filters: role, membership, name and ID prefixes', async () => {
  const ids = async (filters: Record<string, string[]>): Promise<string[]> => (await f.swarm.nodes(filters)).map((n) => n.ID);
  expect(await ids({ role: ['manager'] })).toEqual([nodeId]);
  expect(await ids({ role: ['worker'] })).toEqual([]);
  expect(await ids({ membership: ['accepted'] })).toEqual([nodeId]);
  expect(await ids({ membership: ['pending'] })).toEqual([]);
  expect(await ids({ name: [os.hostname().slice(0, 2)] })).toEqual([nodeId]);
  expect(await ids({ id: [nodeId.slice(0, 4)] })).toEqual([nodeId]);
});

test('unknown filters and values are refused in dockerd’s words', async () => {
  await expect(f.swarm.nodes({ role: ['boss'] })).rejects.toThrow("Invalid role filter: 'boss'");
  await expect(f.swarm.nodes({ membership: ['maybe'] })).rejects.toThrow("Invalid membership filter: 'maybe'");
  await expect(f.swarm.nodes({ colour: ['red'] })).rejects.toThrow("invalid filter 'colour'");
});

test('an update sets the node’s labels, which node.label filters match', async () => {
  const node = await f.swarm.inspectNode(nodeId);
  await f.swarm.updateNode(nodeId, node.Version.Index, { ...node.Spec, Labels: { zone: 'a', ssd: '' } });
  expect((await f.swarm.inspectNode(nodeId)).Spec.Labels).toEqual({ zone: 'a', ssd: '' });
  expect(await f.swarm.nodes({ 'node.label': ['zone=a', 'ssd'] })).toHaveLength(1);
  expect(await f.swarm.nodes({ 'node.label': ['zone=b'] })).toHaveLength(0);
});

test('an update of a version read before another update is refused', async () => {
  const node = await f.swarm.inspectNode(nodeId);
  await f.swarm.updateNode(nodeId, node.Version.Index, node.Spec);
  await expect(f.swarm.updateNode(nodeId, node.Version.Index, node.Spec)).rejects.toThrow('update out of sequence');
});

test('availability changes are kept: drain, then active again', async () => {
  let node = await f.swarm.inspectNode(nodeId);
  await f.swarm.updateNode(nodeId, node.Version.Index, { ...node.Spec, Availability: 'drain' });
  node = await f.swarm.inspectNode(nodeId);
  expect(node.Spec.Availability).toBe('drain');
  await f.swarm.updateNode(nodeId, node.Version.Index, { ...node.Spec, Availability: 'active' });
  expect((await f.swarm.inspectNode(nodeId)).Spec.Availability).toBe('active');
});

test('demoting the last manager is refused in swarmkit’s words', async () => {
  const node = await f.swarm.inspectNode(nodeId);
  await expect(f.swarm.updateNode(nodeId, node.Version.Index, { ...node.Spec, Role: 'worker' })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm',
  });
});

test('the node cannot remove itself: it is the swarm’s manager', async () => {
  await expect(f.swarm.removeNode(nodeId, true)).rejects.toThrow(
    `rpc error: code = FailedPrecondition desc = node ${nodeId} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
  );
  expect(await f.swarm.nodes()).toHaveLength(1);
});
