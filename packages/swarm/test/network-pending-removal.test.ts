import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { NetworkManager } from '@ctr/network';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { createSwarmNetwork, removeSwarmNetwork } from '../src/networks';
import { startMonitor } from '../src/orchestrator';
import { Swarm } from '../src/swarm';
import { ms, spec, tasksOf } from './swarm-fixture';

let root: string;
let runRoot: string;
let block: TestBlock;
let engine: Engine;
let swarm: Swarm;
const stop = new AbortController();
jest.setTimeout(60_000);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctr-swarm-pending-'));
  runRoot = await mkdtemp(join(tmpdir(), 'ctr-swarm-pending-run-'));
  block = reserveTestBlock();
  engine = new Engine({ root, runRoot, networks: { defaultBridge: { subnet: block.subnet(15) }, addressPool: { base: `${block.net(8)}.0/22`, size: 24 } } });
  await engine.importBusybox();
  swarm = new Swarm({ engine });
  await swarm.init({ AdvertiseAddr: '127.0.0.1', DefaultAddrPool: [`${block.net(0)}.0/21`], SubnetSize: 24 });
  await startMonitor(swarm.context(), stop.signal);
});

afterAll(async () => {
  const background = swarm?.context().background;
  stop.abort();
  await background?.idle();
  await swarm?.leave(true).catch(() => undefined);
  await engine?.close();
  if (root) await new NetworkManager({ root, runRoot }).gc();
  block?.release();
  await rm(root, { recursive: true, force: true, maxRetries: 5 });
  await rm(runRoot, { recursive: true, force: true, maxRetries: 5 });
});

test("under the monitor, network rm right after its service's rm answers at once; the network goes once the tasks' containers have (docker stack rm)", async () => {
  const ctx = swarm.context();
  await createSwarmNetwork(ctx, { name: 'stacknet', driver: 'overlay' });
  const made = spec('stacked', ['sleep', '300'], {}, { StopSignal: 'SIGTERM', StopGracePeriod: ms(2000) });
  made.TaskTemplate.Networks = [{ Target: 'stacknet' }];
  const { ID } = await swarm.createService(made);
  await swarm.converge(ID, {});
  expect((await tasksOf(ctx, ID))[0]?.Status.State).toBe('running');
  await swarm.removeService(ID);
  await removeSwarmNetwork(ctx, 'stacknet');
  let names = (await engine.networks()).map((n) => n.Name);
  for (let i = 0; i < 100 && names.includes('stacknet'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    names = (await engine.networks()).map((n) => n.Name);
  }
  expect(names).not.toContain('stacknet');
});

test('a service made on the network before its pending removal runs keeps it (docker stack rm && docker stack deploy)', async () => {
  const ctx = swarm.context();
  const network = await createSwarmNetwork(ctx, { name: 'redeployed', driver: 'overlay' });
  const onNetwork = (name: string): ReturnType<typeof spec> => {
    const made = spec(name, ['sleep', '300'], {}, { StopSignal: 'SIGTERM', StopGracePeriod: ms(2000) });
    made.TaskTemplate.Networks = [{ Target: 'redeployed' }];
    return made;
  };
  const old = await swarm.createService(onNetwork('old'));
  await swarm.converge(old.ID, {});
  await swarm.removeService(old.ID);
  await removeSwarmNetwork(ctx, 'redeployed');
  const redeployed = await swarm.createService(onNetwork('new'));
  // Every pass and the pending removal done: the removal found the new service on the network and was dropped.
  await ctx.background?.idle();
  expect((await engine.inspectNetwork('redeployed')).Id).toBe(network.Id);
  expect((await tasksOf(ctx, redeployed.ID))[0]?.Status.State).toBe('running');
  await swarm.removeService(redeployed.ID);
});

test("once the monitor stops, a pending removal is given up rather than waited for (ctrd's shutdown)", async () => {
  const ctx = swarm.context();
  await createSwarmNetwork(ctx, { name: 'abandoned', driver: 'overlay' });
  const made = spec('stopping', ['sleep', '300'], {}, { StopSignal: 'SIGTERM', StopGracePeriod: ms(2000) });
  made.TaskTemplate.Networks = [{ Target: 'abandoned' }];
  const { ID } = await swarm.createService(made);
  await swarm.converge(ID, {});
  await swarm.removeService(ID);
  await removeSwarmNetwork(ctx, 'abandoned');
  const background = ctx.background;
  stop.abort();
  await background?.idle();
  // The task's container was still within its grace period: the network it holds is left.
  expect((await engine.networks()).map((n) => n.Name)).toContain('abandoned');
});
