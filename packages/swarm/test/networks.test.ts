import { createIngressNetwork, createSwarmNetwork, removeSwarmNetwork, removeSwarmNetworks, swarmNetworkFor, taskNetworks } from '../src/networks';
import { swarmNetFixture, type SwarmNetFixture } from './network-fixture';

/**
 * Swarm-scoped (overlay) networks on one node: bridges whose records say overlay and swarm, made
 * only in a swarm, joined by standalone containers only when attachable, with the service
 * discovery names of a service's tasks answered by the embedded DNS. Real bridges and containers.
 */
let f: SwarmNetFixture;

beforeAll(async () => {
  f = await swarmNetFixture();
});

afterAll(async () => {
  await f?.cleanup();
});

describe('outside a swarm', () => {
  test.each([
    ['-d overlay', { name: 'out-ov', driver: 'overlay' }],
    ['--scope swarm', { name: 'out-sc', scope: 'swarm' }],
    ['--ingress', { name: 'out-in', ingress: true }],
  ])('%s is refused as on a node that is no swarm manager', async (_flag, options) => {
    await expect(createSwarmNetwork(f.ctx, options)).rejects.toMatchObject({
      code: 'Unavailable',
      message: expect.stringMatching(/^This node is not a swarm manager\. Use "docker swarm init"/),
    });
  });
});

describe('in a swarm', () => {
  beforeAll(async () => {
    await f.init();
  });

  test('the ingress network takes the first /24 of the pool and says overlay, swarm, ingress', async () => {
    const ingress = await createIngressNetwork(f.ctx);
    expect(ingress).toMatchObject({ Name: 'ingress', Driver: 'overlay', Scope: 'swarm', Ingress: true, Attachable: false });
    expect(ingress.IPAM.Config).toEqual([{ Subnet: f.block.subnet(0), Gateway: `${f.block.net(0)}.1` }]);
    expect((await createIngressNetwork(f.ctx)).Id).toBe(ingress.Id);
  });

  test('a second ingress network is refused in swarmkit\'s words', async () => {
    const ingress = await f.ctx.engine.inspectNetwork('ingress');
    await expect(createSwarmNetwork(f.ctx, { name: 'ingress2', driver: 'overlay', ingress: true })).rejects.toMatchObject({
      code: 'AlreadyExists',
      message: `ingress network (${ingress.Id}) is already present`,
    });
  });

  test('an attachable ingress network is refused', async () => {
    await expect(createSwarmNetwork(f.ctx, { name: 'bad', driver: 'overlay', ingress: true, attachable: true })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'ingress network cannot be attachable',
    });
  });

  test('-d overlay makes a swarm-scoped network with the next /24 of the pool', async () => {
    const made = await createSwarmNetwork(f.ctx, { name: 'backend', driver: 'overlay' });
    expect(made).toMatchObject({ Name: 'backend', Driver: 'overlay', Scope: 'swarm', Ingress: false, Attachable: false });
    expect(made.IPAM.Config[0]?.Subnet).toBe(f.block.subnet(1));
    expect(await f.ctx.engine.inspectNetwork('backend')).toMatchObject({ Driver: 'overlay', Scope: 'swarm' });
  });

  test('swarm networks have swarmkit\'s IDs, 25 base-36 digits as its services\' and tasks\'; local ones keep 64 hex digits', async () => {
    const [ingress, backend, bridge] = await Promise.all(['ingress', 'backend', 'bridge'].map((name) => f.ctx.engine.inspectNetwork(name)));
    expect(ingress?.Id).toMatch(/^[0-9a-z]{25}$/);
    expect(backend?.Id).toMatch(/^[0-9a-z]{25}$/);
    expect(bridge?.Id).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a swarm network is found by a prefix of its ID: inspect, a service\'s attachment, connect, rm', async () => {
    const made = await createSwarmNetwork(f.ctx, { name: 'byprefix', driver: 'overlay', attachable: true });
    const prefix = made.Id.slice(0, 10);
    expect((await f.ctx.engine.inspectNetwork(prefix)).Name).toBe('byprefix');
    expect((await swarmNetworkFor(f.ctx, prefix)).Id).toBe(made.Id);
    const { id } = await f.ctx.engine.run({ image: 'busybox', cmd: ['sleep', '600'], detach: true });
    try {
      await f.ctx.engine.connect(prefix, id);
      expect((await f.ctx.engine.inspect(id)).NetworkSettings.Networks.byprefix?.NetworkID).toBe(made.Id);
    } finally {
      await f.ctx.engine.remove(id, { force: true });
    }
    await removeSwarmNetwork(f.ctx, prefix);
    await expect(f.ctx.engine.inspectNetwork('byprefix')).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('network ls shows the swarm networks with scope swarm, and its scope filter finds them', async () => {
    const listed = await f.ctx.engine.networks();
    expect(listed.find((n) => n.Name === 'backend')).toMatchObject({ Driver: 'overlay', Scope: 'swarm' });
    expect(listed.find((n) => n.Name === 'bridge')).toMatchObject({ Scope: 'local' });
    expect((await f.ctx.engine.networks({ filters: { scope: ['swarm'] } })).map((n) => n.Name).sort()).toEqual(['backend', 'ingress']);
  });

  test('a request that is not a swarm\'s stays the engine\'s: a local bridge network', async () => {
    const local = await createSwarmNetwork(f.ctx, { name: 'plain', subnet: f.block.subnet(12) });
    expect(local).toMatchObject({ Driver: 'bridge', Scope: 'local' });
  });

  test('a standalone container cannot join an overlay network that is not attachable, in dockerd\'s words', async () => {
    await expect(f.ctx.engine.run({ image: 'busybox', cmd: ['true'], network: 'backend', detach: true })).rejects.toMatchObject({
      code: 'Denied',
      message: 'Could not attach to network backend: rpc error: code = PermissionDenied desc = network backend not manually attachable',
    });
  });

  test('nor the ingress network', async () => {
    await expect(f.ctx.engine.run({ image: 'busybox', cmd: ['true'], network: 'ingress', detach: true })).rejects.toMatchObject({
      code: 'Denied',
      message: expect.stringContaining('network ingress not manually attachable'),
    });
  });

  test('an attachable overlay network takes standalone containers', async () => {
    await createSwarmNetwork(f.ctx, { name: 'shared', driver: 'overlay', attachable: true });
    const { id } = await f.ctx.engine.run({ image: 'busybox', cmd: ['sleep', '600'], network: 'shared', detach: true });
    const settings = (await f.ctx.engine.inspect(id)).NetworkSettings.Networks.shared;
    expect(settings?.IPAddress).toMatch(new RegExp(`^${f.block.net(2).replace(/\./g, '\\.')}\\.`));
    await f.ctx.engine.remove(id, { force: true });
  });

  test('a task\'s container joins a network that is not attachable', async () => {
    const service = await f.addService('joiner', [], ['backend']);
    const id = await f.runTask(service, 1, ['sleep', '600'], 'backend');
    expect((await f.ctx.engine.inspect(id)).NetworkSettings.Networks.backend?.IPAddress).not.toBe('');
    await f.ctx.engine.remove(id, { force: true });
  });

  test('a service may name a swarm network, not a local one nor ingress', async () => {
    expect((await swarmNetworkFor(f.ctx, 'backend')).Name).toBe('backend');
    await expect(swarmNetworkFor(f.ctx, 'plain')).rejects.toMatchObject({
      code: 'Denied',
      message: 'The network plain cannot be used with services. Only networks scoped to the swarm can be used, such as those created with the overlay driver.',
    });
    await expect(swarmNetworkFor(f.ctx, 'ingress')).rejects.toMatchObject({ code: 'InvalidArgument', message: 'Service cannot be explicitly attached to the ingress network "ingress"' });
    await expect(swarmNetworkFor(f.ctx, 'nope')).rejects.toMatchObject({ code: 'NotFound', message: 'network nope not found' });
  });

  test('a task joins ingress when it publishes through the mesh, and its networks with the service\'s names', async () => {
    const ingress = await f.ctx.engine.inspectNetwork('ingress');
    const backend = await f.ctx.engine.inspectNetwork('backend');
    const service = { Spec: { Name: 'web', Labels: {}, TaskTemplate: { Networks: [{ Target: 'backend', Aliases: ['www'] }] }, Mode: {} }, Endpoint: { Spec: {}, Ports: [{ Protocol: 'tcp' as const, TargetPort: 80, PublishedPort: 30000, PublishMode: 'ingress' as const }] } };
    expect(await taskNetworks(f.ctx, service)).toEqual([
      { name: ingress.Id, aliases: [] },
      { name: backend.Id, aliases: ['web', 'tasks.web', 'www'] },
    ]);
  });

  test('the embedded DNS answers a service\'s name and tasks.<service> with every task\'s address', async () => {
    const service = await f.addService('api', [], ['backend']);
    const aliases = ['api', 'tasks.api'];
    const a = await f.runTask(service, 1, ['sleep', '600'], 'backend', aliases);
    const b = await f.runTask(service, 2, ['sleep', '600'], 'backend', aliases);
    const ips = await Promise.all([a, b].map(async (id) => (await f.ctx.engine.inspect(id)).NetworkSettings.Networks.backend?.IPAddress ?? ''));
    const client = await f.runTask(await f.addService('client', [], ['backend']), 1, ['sleep', '600'], 'backend');
    for (const name of ['api', 'tasks.api']) {
      const answer = await f.execOut(client, ['nslookup', name]);
      const found = [...answer.matchAll(/Address: (\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]).filter((ip) => ip !== '127.0.0.11');
      expect(found.sort()).toEqual([...ips].sort());
    }
    expect(await f.execOut(client, ['ping', '-c', '1', '-W', '2', 'api'])).toContain('1 packets received');
    for (const id of [a, b, client]) await f.ctx.engine.remove(id, { force: true });
  });

  test('network rm of an overlay network a service uses is refused in swarmkit\'s words, and allowed once the service is gone', async () => {
    const network = await createSwarmNetwork(f.ctx, { name: 'inuse', driver: 'overlay' });
    // A service's attachment names its network by ID, as service create resolves it.
    const service = await f.addService('inuse-user', [], [network.Id]);
    await expect(removeSwarmNetwork(f.ctx, 'inuse')).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: `rpc error: code = FailedPrecondition desc = network ${network.Id} is in use by service ${service.ID}`,
    });
    expect((await f.ctx.engine.inspectNetwork('inuse')).Id).toBe(network.Id);
    await f.ctx.store.transaction((tx) => tx.delete('services', service.ID));
    await removeSwarmNetwork(f.ctx, 'inuse');
    await expect(f.ctx.engine.inspectNetwork('inuse')).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('the ingress network is not removed while a service publishes a port through the routing mesh', async () => {
    const service = await f.addService('meshed', [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30080, PublishMode: 'ingress' }]);
    try {
      await expect(removeSwarmNetwork(f.ctx, 'ingress')).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: `rpc error: code = FailedPrecondition desc = ingress network cannot be removed because service ${service.ID} depends on it`,
      });
      expect((await f.ctx.engine.inspectNetwork('ingress')).Ingress).toBe(true);
    } finally {
      await f.ctx.store.transaction((tx) => tx.delete('services', service.ID));
    }
  });

  test('network rm of a local network in a swarm is the engine\'s', async () => {
    await f.ctx.engine.createNetwork({ name: 'local-rm' });
    await removeSwarmNetwork(f.ctx, 'local-rm');
    await expect(f.ctx.engine.inspectNetwork('local-rm')).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('leaving removes every swarm network, the ingress one too, and keeps local ones', async () => {
    await removeSwarmNetworks(f.ctx);
    const names = (await f.ctx.engine.networks()).map((n) => n.Name);
    expect(names).not.toEqual(expect.arrayContaining(['ingress']));
    expect(names.filter((n) => ['ingress', 'backend', 'shared'].includes(n))).toEqual([]);
    expect(names).toContain('plain');
  });
});
