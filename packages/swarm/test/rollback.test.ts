import { freePort } from '../../../test/support/free-port';
import { ingressTable } from '../src/ingress';
import { allocatePorts } from '../src/ports';
import { createService, updateService } from '../src/services';
import { converge } from '../src/updater';
import type { PortConfig, Service, ServiceSpec } from '../src/types';
import { ms, sharedSwarm, spec } from './swarm-fixture';

/**
 * An update whose new task fails rolls back by itself (FailureAction rollback); the service's
 * Endpoint is allocated again for the spec it goes back to, as swarmkit's allocator does after
 * the updater's rollback: the ports the update added are freed, the ones it removed published
 * again, a dynamic one it kept keeps its number, and the routing mesh follows.
 */
const s = sharedSwarm();

const serving = (name: string, ports: PortConfig[]): ServiceSpec => spec(name, ['sleep', '300'], { EndpointSpec: { Ports: ports } });

/** The same service with a command that fails at once, its update rolled back on that failure. */
const failing = (name: string, ports: PortConfig[]): ServiceSpec =>
  spec(name, ['sh', '-c', 'exit 1'], {
    EndpointSpec: { Ports: ports },
    UpdateConfig: { Parallelism: 1, Monitor: ms(2000), FailureAction: 'rollback' },
    RollbackConfig: { Parallelism: 0, Monitor: ms(100) },
  });

/** Creates the service, lets it run, then runs the failing update to its end; the service before the update and after. */
async function rolledBack(name: string, ports: PortConfig[], updated: PortConfig[]): Promise<{ before: Service; after: Service }> {
  const { ID } = await createService(s.ctx, serving(name, ports));
  await converge(s.ctx, ID, {});
  const before = await s.swarm.inspectService(ID);
  await updateService(s.ctx, ID, before.Version.Index, failing(name, updated));
  await converge(s.ctx, ID, {});
  return { before, after: await s.swarm.inspectService(ID) };
}

const meshPorts = async (serviceId: string): Promise<number[]> => (await ingressTable(s.ctx)).filter((e) => e.service === serviceId).map((e) => e.port);

describe('an update rolled back on failure (FailureAction rollback)', () => {
  it('frees the port the update added, and keeps the dynamic port the service had', async () => {
    const added = await freePort();
    const dynamic: PortConfig = { Protocol: 'tcp', TargetPort: 80, PublishedPort: 0 };
    const { before, after } = await rolledBack('rbadded', [dynamic], [dynamic, { Protocol: 'tcp', TargetPort: 81, PublishedPort: added }]);
    expect(after.UpdateStatus).toMatchObject({ State: 'rollback_completed' });
    expect(after.Endpoint).toEqual(before.Endpoint);
    expect(await meshPorts(after.ID)).toEqual([before.Endpoint.Ports?.[0]?.PublishedPort]);
    // Free for another service again: no service holds it, and the routing mesh let it go.
    const taken = await s.ctx.store.transaction((tx) => allocatePorts(s.ctx, tx, { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: added }] }, 'another'));
    expect(taken.map((p) => p.PublishedPort)).toEqual([added]);
  });

  it('publishes again the port the update removed', async () => {
    const [kept, removed] = [await freePort(), await freePort()];
    const keptPort: PortConfig = { Protocol: 'tcp', TargetPort: 80, PublishedPort: kept };
    const { before, after } = await rolledBack('rbremoved', [keptPort, { Protocol: 'tcp', TargetPort: 81, PublishedPort: removed }], [keptPort]);
    expect(after.UpdateStatus).toMatchObject({ State: 'rollback_completed' });
    expect(after.Endpoint).toEqual(before.Endpoint);
    expect(await meshPorts(after.ID)).toEqual([kept, removed].sort((a, b) => a - b));
  });
});
