/**
 * Subnets, bridges and published host ports are shared by every ctr root on the host: two
 * roots choosing at the same moment must not both take the same one.
 */
import { NetworkManager } from '@ctr/network';
import { freePort } from '../../../test/support/free-port';
import { allocatedRefusal } from '../../../test/support/port-refusal';
import { makeTestHost, type TestHost } from './helpers/host';

let first: TestHost;
let second: TestHost;
/** A manager of the second root that draws subnets from the first root's pool. */
let samePool: NetworkManager;

beforeAll(async () => {
  first = await makeTestHost('thw');
  second = await makeTestHost('thx');
  samePool = new NetworkManager({ ...second.options, addressPool: first.options.addressPool });
});

afterAll(async () => {
  await first.cleanup();
  await second.cleanup();
  expect(await first.leftovers()).toEqual([]);
  expect(await second.leftovers()).toEqual([]);
});

test('two roots creating networks at once get different subnets', async () => {
  const [a, b] = await Promise.all([
    first.manager.createNetwork({ name: 'thw-net' }),
    samePool.createNetwork({ name: 'thx-net' }),
  ]);
  const subnets = [a.IPAM.Config[0]?.Subnet, b.IPAM.Config[0]?.Subnet];
  expect(subnets.every((s) => s?.startsWith(`${first.net(8).split('.').slice(0, 2).join('.')}.`))).toBe(true);
  expect(subnets[0]).not.toBe(subnets[1]);
  await first.manager.removeNetwork('thw-net');
  await samePool.removeNetwork('thx-net');
});

test('two roots publishing one host port at once: one gets it, the other is refused in docker\'s words', async () => {
  const port = await freePort();
  const outcomes = await Promise.allSettled([
    first.manager.attach('thw-web', { ports: [`127.0.0.1:${port}:80`] }),
    second.manager.attach('thx-web', { ports: [`127.0.0.1:${port}:80`] }),
  ]);
  const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Error] : []));
  expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatchObject({ code: 'Internal', cause: { code: 'Conflict' } });
  expect(refused[0]?.message).toMatch(allocatedRefusal(outcomes[0]?.status === 'rejected' ? 'thw-web' : 'thx-web', '127.0.0.1', port));
  await first.manager.detach('thw-web').catch(() => undefined);
  await second.manager.detach('thx-web').catch(() => undefined);
});
