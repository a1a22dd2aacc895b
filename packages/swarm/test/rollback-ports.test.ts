import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../../test/support/free-port';
import { reconcileOnce } from '../src/orchestrator';
import { createService, removeService, updateService } from '../src/services';
import { converge } from '../src/updater';
import type { PortConfig, Service } from '../src/types';
import { ms, sharedSwarm, spec } from './swarm-fixture';

/**
 * A rollback whose published port another service took meanwhile waits for it, as swarmkit's
 * does: the rollback stays under way, its status message followed by why; once the port is free
 * again, the first pass that allocates it gives the message back, and the rollback completes.
 */
const s = sharedSwarm();

const port = (PublishedPort: number): PortConfig => ({ Protocol: 'tcp', TargetPort: 80, PublishedPort });
const ROLLED_BACK = /^update rolled back due to failure or early termination of task [0-9a-z]{25}$/;

let giver: string;
let taker: string;
let taken: number;

/** Orchestrator passes over every service until `done` accepts the giver as it is then. */
async function passesUntil(done: (service: Service) => boolean): Promise<Service> {
  for (let pass = 0; pass < 300; pass++) {
    await reconcileOnce(s.ctx);
    const service = await s.swarm.inspectService(giver);
    if (done(service)) return service;
    await delay(100);
  }
  throw new Error(`the passes never got there; UpdateStatus: ${JSON.stringify((await s.swarm.inspectService(giver)).UpdateStatus)}`);
}

beforeAll(async () => {
  taken = await freePort();
  const { ID } = await createService(s.ctx, spec('giver', ['sleep', '300'], { EndpointSpec: { Ports: [port(taken)] } }));
  await converge(s.ctx, ID, {});
  const before = await s.swarm.inspectService(ID);
  // The update gives the port up and fails at once: rolled back, it wants the port again.
  await updateService(
    s.ctx,
    ID,
    before.Version.Index,
    spec('giver', ['sh', '-c', 'exit 1'], {
      EndpointSpec: { Ports: [port(await freePort())] },
      UpdateConfig: { Parallelism: 1, Monitor: ms(2000), FailureAction: 'rollback' },
      RollbackConfig: { Parallelism: 0, Monitor: ms(100) },
    }),
  );
  // Another service takes the port before a pass sees the update's task fail.
  taker = (await createService(s.ctx, spec('taker', ['sleep', '300'], { EndpointSpec: { Ports: [port(taken)] } }))).ID;
  giver = ID;
}, 120_000);

test('while another service holds the port, the rollback stays under way, its message followed by why', async () => {
  const waiting = await passesUntil((service) => service.UpdateStatus?.Message.includes('cannot be allocated') === true);
  expect(waiting.UpdateStatus?.State).toBe('rollback_started');
  const [own, why] = waiting.UpdateStatus?.Message.split("; the service's published ports cannot be allocated: ") ?? [];
  expect(own).toMatch(ROLLED_BACK);
  expect(why).toBe(`port '${taken}' is already in use by service 'taker' (${taker}) as an ingress port`);
});

test('the first pass that allocates the port gives the rollback its own message back', async () => {
  await removeService(s.ctx, taker);
  const allocated = await passesUntil((service) => service.Endpoint.Ports?.[0]?.PublishedPort === taken);
  expect(allocated.UpdateStatus?.State).toBe('rollback_started');
  expect(allocated.UpdateStatus?.Message).toMatch(ROLLED_BACK);
});

test('then the rollback completes by itself', async () => {
  const done = await passesUntil((service) => service.UpdateStatus?.State !== 'rollback_started');
  expect(done.UpdateStatus).toMatchObject({ State: 'rollback_completed', Message: 'rollback completed' });
});
