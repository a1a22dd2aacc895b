import { promises as fs } from 'node:fs';
import path from 'node:path';
import { NetworkManager, type NetworkInspect } from '@ctr/network';
import { makeTestHost, type TestHost } from './helpers/host';

// dockerd makes bridge, host and none at its first start on a root and keeps the time in its
// network store: `docker network inspect host` shows that time, never the epoch, and the same
// one from every process on the root.

let host: TestHost;
let before: number;
let after: number;

const createdOf = (networks: NetworkInspect[], name: string): string => networks.find((n) => n.Name === name)?.Created ?? '';

beforeAll(async () => {
  host = await makeTestHost('tpc');
  before = Date.now();
  await host.manager.listNetworks();
  after = Date.now();
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('host, none and the default bridge (made by that first list) show one creation time, when the root first listed them', async () => {
  const networks = await host.manager.listNetworks();
  const created = createdOf(networks, 'host');
  expect(Date.parse(created)).toBeGreaterThanOrEqual(before);
  expect(Date.parse(created)).toBeLessThanOrEqual(after);
  expect(createdOf(networks, 'none')).toBe(created);
  expect(createdOf(networks, 'bridge')).toBe(created);
});

test('another manager on the same root (another process) shows the same time', async () => {
  const mine = createdOf(await host.manager.listNetworks(), 'host');
  const other = new NetworkManager(host.options);
  expect((await other.inspectNetwork('host')).Created).toBe(mine);
  expect((await other.inspectNetwork('none')).Created).toBe(mine);
});

test('the default bridge, once made, keeps the time it was shown with', async () => {
  const shown = (await host.manager.inspectNetwork('bridge')).Created;
  await host.manager.attach('tpc-first', {});
  try {
    expect((await new NetworkManager(host.options).inspectNetwork('bridge')).Created).toBe(shown);
  } finally {
    await host.manager.detach('tpc-first');
  }
});

test('a root whose time was never recorded takes its default bridge\'s', async () => {
  const bridge = (await host.manager.inspectNetwork('bridge')).Created;
  await fs.rm(path.join(host.root, 'networks', 'created'));
  expect((await new NetworkManager(host.options).inspectNetwork('host')).Created).toBe(bridge);
});
