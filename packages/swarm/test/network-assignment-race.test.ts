import type { NetworkInspect } from '@ctr/network';
import { FIRST_VNI, type NetworkAssignment } from '../src/allocator';
import type { SwarmContext } from '../src/context';
import { newId } from '../src/ids';
import { writeLocalNode } from '../src/membership';
import { applyNetworkAssignments } from '../src/networks';
import { swarmNetFixture, type SwarmNetFixture } from './network-fixture';

/**
 * A worker lists its swarm networks, then brings each assigned one up to date: one removed in
 * between (a `network rm` on the node) is still the manager's to assign, and is made again rather
 * than failing the assignments' application. Each test lists, removes, then applies on the stale
 * listing (the engine answering it as it did a moment before). Real networks.
 */
let f: SwarmNetFixture;

beforeAll(async () => {
  f = await swarmNetFixture();
  await f.init();
  // A node of its own for the worker's side: no data-path address, so no VXLAN device is made.
  await writeLocalNode(f.ctx, { NodeID: newId(), Role: 'worker', ClusterID: newId(), ManagerAddrs: [], ListenAddr: '', AdvertiseAddr: '', DataPathAddr: '' });
}, 60_000);

afterAll(async () => {
  await f?.cleanup();
});

jest.setTimeout(60_000);

/** The context with an engine whose network listing answers what it listed a moment ago. */
function listedBefore(listed: NetworkInspect[]): SwarmContext {
  const engine = new Proxy(f.ctx.engine, {
    get: (target, key) => (key === 'networks' ? async () => listed : (Reflect.get(target, key) as unknown)),
  });
  return { ...f.ctx, engine };
}

describe("a worker's network assignments", () => {
  /** What the manager assigns of a network on /24 `block` of the test's range: this node's gateway `.2`, no other node. */
  function assignment(id: string, name: string, block: number): NetworkAssignment {
    return {
      ID: id,
      Name: name,
      Ingress: false,
      Attachable: false,
      Internal: false,
      Labels: {},
      Options: {},
      Subnet: f.block.subnet(block),
      Gateway: `${f.block.net(block)}.2`,
      VNI: FIRST_VNI,
      DataPathPort: 4789,
      Peers: [],
      Endpoints: [],
      NodeGateways: [],
      VirtualIPs: [],
    };
  }

  const swarmNetworks = (): Promise<NetworkInspect[]> => f.ctx.engine.networks({ filters: { scope: ['swarm'] } });

  test('an assigned network removed on the node after the listing is made again', async () => {
    const network = assignment(newId(), 'remade', 1);
    await applyNetworkAssignments(f.ctx, [network]);
    const listed = await swarmNetworks();
    await f.ctx.engine.removeNetwork(network.ID);
    await applyNetworkAssignments(listedBefore(listed), [network]);
    expect(listed.map((n) => n.Id)).toContain(network.ID);
    expect((await f.ctx.engine.inspectNetwork(network.ID)).IPAM.Config).toEqual([expect.objectContaining({ Subnet: network.Subnet, Gateway: network.Gateway })]);
  });

  test('a network whose subnet changed, removed on the node after the listing, is made with the new subnet', async () => {
    const before = assignment(newId(), 'resubnetted', 2);
    await applyNetworkAssignments(f.ctx, [before]);
    const listed = await swarmNetworks();
    await f.ctx.engine.removeNetwork(before.ID);
    const after = { ...before, Subnet: f.block.subnet(3), Gateway: `${f.block.net(3)}.2` };
    await applyNetworkAssignments(listedBefore(listed), [after]);
    expect((await f.ctx.engine.inspectNetwork(after.ID)).IPAM.Config).toEqual([expect.objectContaining({ Subnet: after.Subnet, Gateway: after.Gateway })]);
  });
});
