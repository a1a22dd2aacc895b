import type { EngineEvent, EventFilters } from '@ctr/engine';
import { ctrOn } from '../../cli/test/local-ctr';
import { ms, sharedSwarm, spec } from './swarm-fixture';

/**
 * `docker events` of swarm mode, as dockerd makes them from swarmkit's store watch: services,
 * nodes, secrets and configs created, updated and removed, scope `swarm`, named, and an update's
 * changes as `<field>.old` / `<field>.new`.
 */
const s = sharedSwarm();

/** The events from `since` until now. */
async function eventsSince(since: number, filters: EventFilters = {}): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const e of s.t.engine.events({ since, until: Date.now() / 1000, filters })) out.push(e);
  return out;
}

const now = (): number => Date.now() / 1000;
const shape = (e: EngineEvent): object => ({ Type: e.Type, Action: e.Action, ID: e.Actor.ID, Attributes: e.Actor.Attributes, scope: e.scope });

test('a service created, scaled and removed has create, update (replicas.old/new) and remove events', async () => {
  const since = now();
  const { ID } = await s.swarm.createService(spec('ev-web', ['sleep', '1000']));
  const created = await s.swarm.inspectService(ID);
  await s.swarm.updateService(ID, created.Version.Index, { ...created.Spec, Mode: { Replicated: { Replicas: 2 } } });
  await s.swarm.removeService(ID);
  const events = (await eventsSince(since, { type: ['service'] })).map(shape);
  expect(events[0]).toEqual({ Type: 'service', Action: 'create', ID, Attributes: { name: 'ev-web' }, scope: 'swarm' });
  expect(events[1]).toEqual({ Type: 'service', Action: 'update', ID, Attributes: { name: 'ev-web', 'replicas.old': '1', 'replicas.new': '2' }, scope: 'swarm' });
  expect(events[events.length - 1]).toEqual({ Type: 'service', Action: 'remove', ID, Attributes: { name: 'ev-web' }, scope: 'swarm' });
});

test('a rolling update reports its state: updatestate.new updating, then updating → completed', async () => {
  const { ID } = await s.swarm.createService(spec('ev-roll', ['sleep', '1000'], { UpdateConfig: { Parallelism: 1, Monitor: ms(100) } }));
  try {
    const service = await s.swarm.inspectService(ID);
    const since = now();
    const changed = { ...service.Spec, TaskTemplate: { ...service.Spec.TaskTemplate, ContainerSpec: { ...service.Spec.TaskTemplate.ContainerSpec, Image: 'busybox:latest', Env: ['V=2'] } } };
    // Waits for the update to converge, as `docker service update` does without --detach.
    await s.swarm.updateService(ID, service.Version.Index, changed, { onProgress: () => undefined });
    const states = (await eventsSince(since, { service: ['ev-roll'] }))
      .map((e) => e.Actor.Attributes)
      .filter((a) => 'updatestate.new' in a)
      .map((a) => `${a['updatestate.old'] ?? ''}>${a['updatestate.new']}`);
    expect(states).toEqual(['>updating', 'updating>completed']);
  } finally {
    await s.swarm.removeService(ID);
  }
});

test('a node drained and made active again has update events with availability.old/new', async () => {
  const [node] = await s.swarm.nodes();
  if (!node) throw new Error('the swarm has no node');
  const since = now();
  await s.swarm.updateNode(node.ID, node.Version.Index, { ...node.Spec, Availability: 'drain' });
  const drained = await s.swarm.inspectNode(node.ID);
  await s.swarm.updateNode(node.ID, drained.Version.Index, { ...drained.Spec, Availability: 'active' });
  const events = (await eventsSince(since, { type: ['node'] })).map(shape);
  const name = node.Spec.Name || node.Description.Hostname;
  expect(events).toEqual([
    { Type: 'node', Action: 'update', ID: node.ID, Attributes: { name, 'availability.old': 'active', 'availability.new': 'drain' }, scope: 'swarm' },
    { Type: 'node', Action: 'update', ID: node.ID, Attributes: { name, 'availability.old': 'drain', 'availability.new': 'active' }, scope: 'swarm' },
  ]);
});

test('a secret and a config have create and remove events with their names', async () => {
  const since = now();
  const secret = await s.swarm.createSecret({ Name: 'ev-secret', Labels: {}, Data: Buffer.from('pw').toString('base64') });
  await s.swarm.removeSecret(secret.ID);
  const config = await s.swarm.createConfig({ Name: 'ev-config', Labels: {}, Data: Buffer.from('x=1').toString('base64') });
  await s.swarm.removeConfig(config.ID);
  expect((await eventsSince(since, { scope: ['swarm'] })).map(shape)).toEqual([
    { Type: 'secret', Action: 'create', ID: secret.ID, Attributes: { name: 'ev-secret' }, scope: 'swarm' },
    { Type: 'secret', Action: 'remove', ID: secret.ID, Attributes: { name: 'ev-secret' }, scope: 'swarm' },
    { Type: 'config', Action: 'create', ID: config.ID, Attributes: { name: 'ev-config' }, scope: 'swarm' },
    { Type: 'config', Action: 'remove', ID: config.ID, Attributes: { name: 'ev-config' }, scope: 'swarm' },
  ]);
});

test('the engine’s own events stay scope local, and scope=local leaves the swarm’s out', async () => {
  const since = now();
  const secret = await s.swarm.createSecret({ Name: 'ev-local', Labels: {}, Data: Buffer.from('pw').toString('base64') });
  await s.swarm.removeSecret(secret.ID);
  const { id } = await s.t.engine.create({ image: 'busybox', network: 'none' });
  await s.t.engine.remove(id);
  const local = await eventsSince(since, { scope: ['local'] });
  expect(local.map((e) => `${e.Type} ${e.Action} ${e.scope}`)).toEqual(['container create local', 'container destroy local']);
});

test('ctr events --filter type=service prints the swarm’s service events', async () => {
  const since = now().toFixed(3);
  const secret = await s.swarm.createSecret({ Name: 'ev-cli-secret', Labels: {}, Data: Buffer.from('pw').toString('base64') });
  const { ID } = await s.swarm.createService(spec('ev-cli', ['sleep', '1000'], { Mode: { Replicated: { Replicas: 0 } } }));
  await s.swarm.removeService(ID);
  await s.swarm.removeSecret(secret.ID);
  const until = String(Math.ceil(now()) + 1);
  const ctr = ctrOn(s.t.root, s.t.runRoot);
  const printed = await ctr.run('events', '--since', since, '--until', until, '--filter', 'type=service', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Scope}}');
  expect(printed.stderr).toBe('');
  expect(printed.stdout).toBe(`service create ${ID} ev-cli swarm\nservice remove ${ID} ev-cli swarm\n`);
  const plain = await ctr.run('events', '--since', since, '--until', until, '--filter', 'type=service', '--filter', 'event=create');
  expect(plain.stdout).toMatch(new RegExp(`^\\S+ service create ${ID} \\(name=ev-cli\\)\\n$`));
});
