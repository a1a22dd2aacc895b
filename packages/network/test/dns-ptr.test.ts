import { startResponder, type DnsResponder } from './helpers/dns-responder';
import { makeTestHost, nslookup, type TestHost } from './helpers/host';

// Reverse lookups at 127.0.0.11, as docker's embedded DNS answers them (libnetwork ResolveIP):
// the address of a container on one of the asker's user networks is `<container>.<network>`;
// any other address is forwarded to the asker's upstream like any name the server does not
// know. The upstream is the test's own responder, in a namespace on the test network.

let host: TestHost;
let upstream: DnsResponder | undefined;
const ip: Record<string, string> = {};
const ns: Record<string, string> = {};

/** The reverse-lookup name of an IPv4 address. */
function arpa(address: string): string {
  return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** The names busybox nslookup printed for a reverse lookup (`... name = <name>`). */
function ptrNames(netnsPath: string, address: string): string[] {
  return [...nslookup(netnsPath, address).matchAll(/name = (\S+)/g)].map((m) => m[1] ?? '');
}

async function attach(id: string, name: string, networks: string[], servers?: string[]): Promise<void> {
  const attached = await host.manager.attach(id, {
    mode: networks[0],
    name,
    networks: networks.map((n) => ({ name: n })),
    ...(servers ? { dns: { servers } } : {}),
  });
  for (const n of networks) ip[`${name}@${n}`] = attached.settings.Networks[n]?.IPAddress ?? '';
  ns[name] = attached.netnsPath ?? '';
}

beforeAll(async () => {
  host = await makeTestHost('tdp');
  await host.manager.createNetwork({ name: 'tdp-app', subnet: host.subnet(1) });
  await host.manager.createNetwork({ name: 'tdp-back', subnet: host.subnet(2) });
  await host.manager.createNetwork({ name: 'tdp-far', subnet: host.subnet(3) });
  await attach('tdp-up-id', 'upstream', ['tdp-app']);
  upstream = await startResponder(ip['upstream@tdp-app'] ?? '', {}, ns['upstream']);
  await attach('tdp-web-id', 'web', ['tdp-app']);
  await attach('tdp-db-id', 'db', ['tdp-back']);
  await attach('tdp-far-id', 'far', ['tdp-far']);
  await attach('tdp-client-id', 'client', ['tdp-app', 'tdp-back'], [ip['upstream@tdp-app'] ?? '']);
});

afterAll(async () => {
  await upstream?.stop();
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test("a container's address on the asker's network is answered with docker's <container>.<network> name", () => {
  expect(ptrNames(ns['client'] ?? '', ip['web@tdp-app'] ?? '')).toEqual(['web.tdp-app']);
  expect(upstream?.questions()).not.toContain(`${arpa(ip['web@tdp-app'] ?? '')} PTR`);
});

test("an address on another of the asker's networks is answered with that network's name", () => {
  expect(ptrNames(ns['client'] ?? '', ip['db@tdp-back'] ?? '')).toEqual(['db.tdp-back']);
});

test("the asker's own address is answered with its own name", () => {
  expect(ptrNames(ns['client'] ?? '', ip['client@tdp-back'] ?? '')).toEqual(['client.tdp-back']);
});

test('an address the server does not own is forwarded to the upstream, not answered', () => {
  expect(ptrNames(ns['client'] ?? '', '203.0.113.77')).toEqual([]);
  expect(upstream?.questions()).toContain(`${arpa('203.0.113.77')} PTR`);
});

test("a container's address on a network the asker is not on is forwarded, not answered", () => {
  const far = ip['far@tdp-far'] ?? '';
  expect(ptrNames(ns['client'] ?? '', far)).toEqual([]);
  expect(upstream?.questions()).toContain(`${arpa(far)} PTR`);
});

test('a container gone from the network is no longer answered', async () => {
  await attach('tdp-brief-id', 'brief', ['tdp-app']);
  const brief = ip['brief@tdp-app'] ?? '';
  expect(ptrNames(ns['client'] ?? '', brief)).toEqual(['brief.tdp-app']);
  await host.manager.detach('tdp-brief-id');
  expect(ptrNames(ns['client'] ?? '', brief)).toEqual([]);
});
