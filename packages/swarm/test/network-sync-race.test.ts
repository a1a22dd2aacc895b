import { createSwarmNetwork, removeSwarmNetwork, syncManagerNetworks } from '../src/networks';
import { sharedSwarm } from './swarm-fixture';

/**
 * The manager brings its swarm networks up to date at the end of every orchestrator pass, from a
 * list it read a moment before; a network removed in between (`stack rm`, `network rm`) is no
 * failure of the pass. A real swarm of one node.
 */
const s = sharedSwarm();

test('a network removed after the manager listed it leaves the sync of the others with nothing to do for it', async () => {
  await createSwarmNetwork(s.ctx, { name: 'gone-meanwhile', driver: 'overlay' });
  const listed = await s.ctx.engine.networks({ filters: { scope: ['swarm'] } });
  await removeSwarmNetwork(s.ctx, 'gone-meanwhile');
  const stale = new Proxy(s.ctx.engine, {
    get: (engine, key) => (key === 'networks' ? async () => listed : (Reflect.get(engine, key) as unknown)),
  });
  await expect(syncManagerNetworks({ ...s.ctx, engine: stale })).resolves.toBeUndefined();
  expect(listed.map((n) => n.Name)).toContain('gone-meanwhile');
});
