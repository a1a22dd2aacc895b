import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTestHost, type TestHost } from './helpers/host';

const run = promisify(execFile);
let host: TestHost;

beforeAll(async () => {
  host = await makeTestHost('tip');
  await host.manager.createNetwork({ name: 'tipm-net', subnet: host.subnet(1) });
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('two processes attaching at once never get the same address', async () => {
  const child = path.join(__dirname, 'fixtures', 'attach-many.js');
  const args = (prefix: string): string[] => [child, host.options.root, host.options.runRoot, 'tipm-net', prefix, '8'];
  const [a, b] = await Promise.all([run(process.execPath, args('tipm-a')), run(process.execPath, args('tipm-b'))]);
  const ips = [...(JSON.parse(a.stdout) as string[]), ...(JSON.parse(b.stdout) as string[])];
  expect(ips).toHaveLength(16);
  expect(new Set(ips).size).toBe(16);
  const containers = (await host.manager.inspectNetwork('tipm-net')).Containers;
  expect(Object.values(containers).map((c) => c.IPv4Address.split('/')[0]).sort()).toEqual([...ips].sort());
}, 120_000);

test('detaching releases the addresses for reuse', async () => {
  for (let i = 0; i < 8; i++) {
    await host.manager.detach(`tipm-a-${i}`);
    await host.manager.detach(`tipm-b-${i}`);
  }
  expect((await host.manager.inspectNetwork('tipm-net')).Containers).toEqual({});
  const r = await host.manager.attach('tipm-after', { mode: 'tipm-net' });
  expect(r.settings.Networks['tipm-net']?.IPAddress).toBe(`${host.net(1)}.2`);
  await host.manager.detach('tipm-after');
});
