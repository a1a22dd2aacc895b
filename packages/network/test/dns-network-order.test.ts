import { lookup, makeTestHost, type TestHost } from './helpers/host';

// A name the asker shares several networks with is answered from one of them, as libnetwork's
// Sandbox.ResolveName does: it tries the sandbox's endpoints in Endpoint.Less order (internal
// networks after the others, then by network name), whichever network the question came in
// on, and stops at the first network that resolves the name.

let host: TestHost;
const ip: Record<string, string> = {};
const ns: Record<string, string> = {};

async function attach(id: string, name: string, networks: string[]): Promise<void> {
  const attached = await host.manager.attach(id, { mode: networks[0], name, networks: networks.map((n) => ({ name: n })) });
  for (const n of networks) ip[`${name}@${n}`] = attached.settings.Networks[n]?.IPAddress ?? '';
  ns[name] = attached.netnsPath ?? '';
}

beforeAll(async () => {
  host = await makeTestHost('tdo');
  await host.manager.createNetwork({ name: 'tdo-a', subnet: host.subnet(1) });
  await host.manager.createNetwork({ name: 'tdo-b', subnet: host.subnet(2) });
  await host.manager.createNetwork({ name: 'tdo-0inner', subnet: host.subnet(3), internal: true });
  await attach('tdo-both-id', 'both', ['tdo-b', 'tdo-a']);
  await attach('tdo-inner-id', 'inner', ['tdo-0inner', 'tdo-b']);
  await attach('tdo-only-id', 'only', ['tdo-b']);
  // It asks on tdo-b, its first network.
  await attach('tdo-client-id', 'client', ['tdo-b', 'tdo-a', 'tdo-0inner']);
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('a container on two shared networks is answered with its address on the first by name, not the one asked on', () => {
  expect(lookup(ns['client'] ?? '', 'both')).toEqual([ip['both@tdo-a']]);
});

test('an internal network comes after the others, whatever its name', () => {
  expect(lookup(ns['client'] ?? '', 'inner')).toEqual([ip['inner@tdo-b']]);
});

test('a container on one shared network is answered from it', () => {
  expect(lookup(ns['client'] ?? '', 'only')).toEqual([ip['only@tdo-b']]);
});

test('<name>.<network> answers with its address on that network', () => {
  expect(lookup(ns['client'] ?? '', 'both.tdo-b')).toEqual([ip['both@tdo-b']]);
});
