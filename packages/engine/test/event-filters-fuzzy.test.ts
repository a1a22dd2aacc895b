import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog, type EventFilters } from '../src/events';

/**
 * `docker events --filter`, as dockerd's event filter (moby daemon/events/filter.go) has it:
 * the named kinds match an ID or a `name` attribute exactly or by a prefix of it (FuzzyMatch)
 * on every event; `image` matches exactly, with or without the tag; `event` exactly, unless
 * one of its values is `health_status`, `exec_create` or `exec_start`.
 */
let root: string;
let log: EventLog;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctr-event-filters-'));
  log = new EventLog(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The actor IDs of the journalled events `filters` select, in order. */
async function selected(filters: EventFilters): Promise<string[]> {
  const out: string[] = [];
  for await (const event of log.events({ since: 0, until: Date.now() / 1000, filters })) out.push(event.Actor.ID);
  return out;
}

test('a daemon filter that names no daemon selects nothing', async () => {
  await log.emit('container', 'start', 'c1', { name: 'web' });
  await log.emit('daemon', 'reload', 'DAEMONID', { name: 'host1' });
  expect(await selected({ daemon: ['xyz'] })).toEqual([]);
});

test("a daemon filter selects the daemon's events by its ID or by its name", async () => {
  await log.emit('container', 'start', 'c1', { name: 'web' });
  await log.emit('daemon', 'reload', 'DAEMONID', { name: 'host1' });
  expect(await selected({ daemon: ['DAEMONID'] })).toEqual(['DAEMONID']);
  expect(await selected({ daemon: ['host1'] })).toEqual(['DAEMONID']);
});

test('a container filter matches a prefix of the name', async () => {
  await log.emit('container', 'start', 'c1', { name: 'web-1' });
  await log.emit('container', 'start', 'c2', { name: 'db' });
  expect(await selected({ container: ['web'] })).toEqual(['c1']);
});

test('a container filter matches a prefix of the ID', async () => {
  await log.emit('container', 'start', 'abc123', { name: 'one' });
  await log.emit('container', 'start', 'def456', { name: 'two' });
  expect(await selected({ container: ['abc'] })).toEqual(['abc123']);
});

test("a named kind's filter looks at every event's ID and name, whatever its type, as dockerd's", async () => {
  await log.emit('container', 'start', 'c1', { name: 'web' });
  await log.emit('network', 'create', 'n1', { name: 'web-net', type: 'bridge' });
  await log.emit('volume', 'create', 'data', { driver: 'local' });
  expect(await selected({ container: ['web'] })).toEqual(['c1', 'n1']);
});

test('network and volume filters match by prefix too', async () => {
  await log.emit('network', 'create', 'n1', { name: 'frontend', type: 'bridge' });
  await log.emit('volume', 'create', 'pgdata', { driver: 'local' });
  await log.emit('volume', 'create', 'cache', { driver: 'local' });
  expect(await selected({ network: ['front'] })).toEqual(['n1']);
  expect(await selected({ volume: ['pg'] })).toEqual(['pgdata']);
});

test('a plugin filter selects the plugin by its name', async () => {
  await log.emit('plugin', 'enable', 'p1', { name: 'vieux/sshfs:latest' });
  await log.emit('plugin', 'enable', 'p2', { name: 'other/plugin:latest' });
  expect(await selected({ plugin: ['vieux/sshfs'] })).toEqual(['p1']);
});

test('service, node, secret and config filters select by ID or name', async () => {
  await log.emit('service', 'create', 's1', { name: 'api' }, 'swarm');
  await log.emit('node', 'update', 'nd1', { name: 'manager-1' }, 'swarm');
  await log.emit('secret', 'create', 'sec1', { name: 'token' }, 'swarm');
  await log.emit('config', 'create', 'cfg1', { name: 'nginx-conf' }, 'swarm');
  expect(await selected({ service: ['api'] })).toEqual(['s1']);
  expect(await selected({ node: ['manager'] })).toEqual(['nd1']);
  expect(await selected({ secret: ['sec'] })).toEqual(['sec1']);
  expect(await selected({ config: ['nginx'] })).toEqual(['cfg1']);
});

test('a scope filter selects the events of that scope', async () => {
  await log.emit('container', 'start', 'c1', { name: 'web' });
  await log.emit('service', 'create', 's1', { name: 'api' }, 'swarm');
  expect(await selected({ scope: ['swarm'] })).toEqual(['s1']);
  expect(await selected({ scope: ['local'] })).toEqual(['c1']);
});

test("an image filter without a tag matches a tag event of the image's tagged name", async () => {
  await log.emit('image', 'tag', 'sha256:aaa', { name: 'busybox:latest' });
  await log.emit('image', 'tag', 'sha256:bbb', { name: 'alpine:3' });
  expect(await selected({ image: ['busybox'], type: ['image'] })).toEqual(['sha256:aaa']);
});

test('an image filter matches the containers of that image, with or without its tag', async () => {
  await log.emit('container', 'start', 'c1', { name: 'one', image: 'busybox:1.36' });
  await log.emit('container', 'start', 'c2', { name: 'two', image: 'busybox' });
  await log.emit('container', 'start', 'c3', { name: 'three', image: 'alpine' });
  expect(await selected({ image: ['busybox'] })).toEqual(['c1', 'c2']);
});

test('an image filter matches a name written out in full by its familiar name', async () => {
  await log.emit('image', 'pull', 'docker.io/library/busybox:latest', { name: 'docker.io/library/busybox:latest' });
  expect(await selected({ image: ['busybox'] })).toEqual(['docker.io/library/busybox:latest']);
});

test('an image filter is exact: no prefix of a name matches', async () => {
  await log.emit('image', 'tag', 'sha256:aaa', { name: 'busybox:latest' });
  expect(await selected({ image: ['busy'] })).toEqual([]);
});

test('an event filter is exact: start does not select exec_start', async () => {
  await log.emit('container', 'start', 'c1', { name: 'web' });
  await log.emit('container', 'exec_start: sh', 'c2', { name: 'web' });
  expect(await selected({ event: ['start'] })).toEqual(['c1']);
});

test('an event filter with health_status matches every value as a prefix', async () => {
  await log.emit('container', 'health_status: healthy', 'c1', { name: 'web' });
  await log.emit('container', 'stop', 'c2', { name: 'web' });
  await log.emit('container', 'start', 'c3', { name: 'web' });
  expect(await selected({ event: ['health_status', 'sto'] })).toEqual(['c1', 'c2']);
});

test('a label filter without a value selects events that carry the label', async () => {
  await log.emit('container', 'start', 'c1', { name: 'web', tier: 'front' });
  await log.emit('container', 'start', 'c2', { name: 'db' });
  expect(await selected({ label: ['tier'] })).toEqual(['c1']);
});
