import net from 'node:net';
import { allocatePorts, DYNAMIC_PORT_RANGE } from '../src/ports';
import type { PortConfig } from '../src/types';
import { swarmNetFixture, type SwarmNetFixture } from './network-fixture';

/**
 * Published-port allocation, as swarmkit's port allocator and checkPortConflicts: in the store's
 * transaction, dynamic ports from 30000-32767, conflicts between services in swarmkit's words,
 * a port some process holds on the host refused before the routing mesh would find it taken.
 */
let f: SwarmNetFixture;

beforeAll(async () => {
  f = await swarmNetFixture();
  await f.init();
});

afterAll(async () => {
  await f?.cleanup();
});

const ingress = (TargetPort: number, PublishedPort = 0, Protocol: PortConfig['Protocol'] = 'tcp'): PortConfig => ({ Protocol, TargetPort, PublishedPort, PublishMode: 'ingress' });
const allocate = (ports: PortConfig[], serviceId = 'new', previous?: PortConfig[], mode?: 'vip' | 'dnsrr'): Promise<PortConfig[]> =>
  f.ctx.store.transaction((tx) => allocatePorts(f.ctx, tx, { ...(mode ? { Mode: mode } : {}), Ports: ports }, serviceId, previous));

/** A port of 127.0.0.1 held by this process for the test's length. */
async function holdPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('a published port of 0 takes one of the dynamic range; a second one takes another', async () => {
  const [first] = await allocate([ingress(80)]);
  expect(first).toMatchObject({ Protocol: 'tcp', TargetPort: 80, PublishMode: 'ingress' });
  expect(first?.PublishedPort).toBeGreaterThanOrEqual(DYNAMIC_PORT_RANGE.start);
  expect(first?.PublishedPort).toBeLessThanOrEqual(DYNAMIC_PORT_RANGE.end);
  await f.addService('dyn', [first as PortConfig]);
  const [second] = await allocate([ingress(80)]);
  expect(second?.PublishedPort).not.toBe(first?.PublishedPort);
  expect(second?.PublishedPort).toBeGreaterThanOrEqual(DYNAMIC_PORT_RANGE.start);
});

test('an update keeps the dynamic port the service had', async () => {
  const service = (await f.ctx.store.list('services')).find((s) => s.Spec.Name === 'dyn');
  const had = service?.Endpoint.Ports ?? [];
  expect(await allocate([ingress(80)], service?.ID, had)).toEqual(had);
});

test('a port another service publishes through the mesh is refused in swarmkit\'s words', async () => {
  const web = await f.addService('web', [ingress(80, 18080)]);
  await expect(allocate([ingress(8000, 18080)])).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: `rpc error: code = InvalidArgument desc = port '18080' is already in use by service 'web' (${web.ID}) as an ingress port`,
  });
});

test('the same port number of the other protocol is free', async () => {
  expect(await allocate([ingress(53, 18080, 'udp')])).toEqual([ingress(53, 18080, 'udp')]);
});

test('a service\'s own port is no conflict on its update', async () => {
  const web = (await f.ctx.store.list('services')).find((s) => s.Spec.Name === 'web');
  expect(await allocate([ingress(81, 18080)], web?.ID, web?.Endpoint.Ports)).toEqual([ingress(81, 18080)]);
});

test('host-mode ports are left to the tasks, and shared between services', async () => {
  const host: PortConfig = { Protocol: 'tcp', TargetPort: 80, PublishedPort: 18090, PublishMode: 'host' };
  await f.addService('hostmode', [host]);
  expect(await allocate([host])).toEqual([host]);
  expect(await allocate([{ ...host, PublishedPort: 0 }])).toEqual([{ ...host, PublishedPort: 0 }]);
});

test('a routing-mesh port another service publishes in host mode is refused', async () => {
  const other = (await f.ctx.store.list('services')).find((s) => s.Spec.Name === 'hostmode');
  await expect(allocate([ingress(80, 18090)])).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: `rpc error: code = InvalidArgument desc = port '18090' is already in use by service 'hostmode' (${other?.ID}) as a host-published port`,
  });
});

test('a port some process holds on the host is refused in the engine\'s words', async () => {
  const held = await holdPort();
  try {
    await expect(allocate([ingress(80, held.port)])).rejects.toMatchObject({
      code: 'Conflict',
      message: `Bind for 0.0.0.0:${held.port} failed: port is already allocated`,
    });
  } finally {
    await held.close();
  }
});

test('the same published port twice in one spec is refused', async () => {
  await expect(allocate([ingress(80, 18100), ingress(81, 18100)])).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'EndpointSpec: duplicate published ports provided',
  });
});

test('dnsrr cannot go with a routing-mesh port', async () => {
  await expect(allocate([ingress(80, 18110)], 'new', undefined, 'dnsrr')).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: "EndpointSpec: port published with ingress mode can't be used with dnsrr mode",
  });
});

test('two allocations at once never take the same dynamic port', async () => {
  const both = await Promise.all(
    ['c1', 'c2'].map((name) =>
      f.ctx.store.transaction(async (tx) => {
        const ports = await allocatePorts(f.ctx, tx, { Ports: [ingress(80)] }, name);
        tx.create('services', { ID: `${name}`.padEnd(25, '0'), Spec: { Name: name, Labels: {}, TaskTemplate: {}, Mode: {} }, Endpoint: { Spec: {}, Ports: ports } });
        return ports[0]?.PublishedPort;
      }),
    ),
  );
  expect(new Set(both).size).toBe(2);
});
