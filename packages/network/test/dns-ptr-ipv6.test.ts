import { makeTestHost, nslookup, testUla, type TestHost } from './helpers/host';

// Reverse lookups of IPv6 addresses at 127.0.0.11 (ip6.arpa names), as docker's embedded DNS
// answers them (libnetwork ResolveIP): a container's IPv6 address on one of the asker's user
// networks is `<container>.<network>`, as its IPv4 address is. Only addresses of the ULA
// subnets made here are asked about.

let host: TestHost;
const ula = testUla();
const ip6: Record<string, string> = {};
const ns: Record<string, string> = {};

/** The names busybox nslookup printed for a reverse lookup (`... name = <name>`). */
function ptrNames(netnsPath: string, address: string): string[] {
  return [...nslookup(netnsPath, address).matchAll(/name = (\S+)/g)].map((m) => m[1] ?? '');
}

async function attach(id: string, name: string, network: string): Promise<void> {
  const attached = await host.manager.attach(id, { mode: network, name });
  ip6[name] = attached.settings.Networks[network]?.GlobalIPv6Address ?? '';
  ns[name] = attached.netnsPath ?? '';
}

beforeAll(async () => {
  host = await makeTestHost('tdq');
  await host.manager.createNetwork({ name: 'tdq-app', subnet: host.subnet(1), ipv6: true, subnet6: `${ula}:1::/64` });
  await host.manager.createNetwork({ name: 'tdq-far', subnet: host.subnet(2), ipv6: true, subnet6: `${ula}:2::/64` });
  await attach('tdq-web-id', 'web', 'tdq-app');
  await attach('tdq-client-id', 'client', 'tdq-app');
  await attach('tdq-far-id', 'far', 'tdq-far');
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test("a container's IPv6 address on the asker's network is answered with docker's <container>.<network> name", () => {
  expect(ip6['web']).toMatch(new RegExp(`^${ula}:1::`));
  expect(ptrNames(ns['client'] ?? '', ip6['web'] ?? '')).toEqual(['web.tdq-app']);
});

test("the asker's own IPv6 address is answered with its own name", () => {
  expect(ptrNames(ns['client'] ?? '', ip6['client'] ?? '')).toEqual(['client.tdq-app']);
});

test("a container's IPv6 address on a network the asker is not on is not answered", () => {
  expect(ip6['far']).not.toBe('');
  expect(ptrNames(ns['client'] ?? '', ip6['far'] ?? '')).toEqual([]);
});
