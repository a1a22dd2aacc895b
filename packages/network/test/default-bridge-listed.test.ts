import { execFileSync } from 'node:child_process';
import { makeTestHost, type TestHost } from './helpers/host';

// dockerd makes docker0 at its start, so `docker network inspect bridge` never changes with
// the first container: listing or inspecting the default bridge makes it here, and what is
// shown (bridge name, subnet, gateway) is what containers then join.

let host: TestHost;

beforeAll(async () => {
  host = await makeTestHost('tdl');
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('inspecting the default bridge before any container makes its bridge on the host', async () => {
  const shown = await host.manager.inspectNetwork('bridge');
  const name = shown.Options['com.docker.network.bridge.name'] ?? '';
  expect(JSON.parse(execFileSync('ip', ['-j', 'link', 'show', name]).toString())).toHaveLength(1);
});

test('a container on the default bridge joins the subnet and gateway inspect showed before it', async () => {
  const shown = (await host.manager.inspectNetwork('bridge')).IPAM.Config[0];
  await host.manager.attach('tdl-first', {});
  try {
    const joined = (await host.manager.settings('tdl-first')).Networks.bridge;
    expect(joined?.Gateway).toBe(shown?.Gateway);
    expect(`${joined?.IPAddress.split('.').slice(0, 3).join('.')}.0/24`).toBe(shown?.Subnet);
  } finally {
    await host.manager.detach('tdl-first');
  }
});
