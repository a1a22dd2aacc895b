/**
 * Which registries are insecure (HTTPS unverified, then plain HTTP), by dockerd's isSecureIndex:
 * a registry listed by name, or one whose host has any address in an insecure CIDR — loopback's
 * (127.0.0.0/8, ::1/128) always, and those `--insecure-registry` lists. Names are resolved by an
 * injected resolver here, so no test depends on this machine's /etc/hosts or sends a DNS query.
 */
import { endpointsFor, hostAddresses, hostsFileAddresses, isInsecureRegistry, isInsecureRegistryLiteral } from '../src/endpoint';

/** A resolver that knows only these names, and records what it was asked. */
function resolver(names: Record<string, string[]>): { resolve: (host: string) => Promise<string[]>; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    resolve: async (host) => {
      asked.push(host);
      return names[host] ?? [];
    },
  };
}

test('a name that resolves to a loopback address is insecure, as 127.0.0.1 itself is', async () => {
  const { resolve } = resolver({ vm: ['127.0.0.1'] });
  await expect(isInsecureRegistry('vm:5301', [], resolve)).resolves.toBe(true);
});

test('its endpoint is HTTPS unverified with the plain-HTTP fallback', async () => {
  const { resolve } = resolver({ vm: ['127.0.0.1'] });
  const [endpoint] = await endpointsFor('vm:5301', 'pull', { resolveHost: resolve });
  expect(endpoint).toEqual({ registry: 'vm:5301', origin: 'https://vm:5301', mirror: false, plainHttp: 'http://vm:5301' });
});

test('a name with any of its addresses in an insecure CIDR is insecure', async () => {
  const { resolve } = resolver({ 'dual.test': ['192.0.2.7', '::1'] });
  await expect(isInsecureRegistry('dual.test:5000', [], resolve)).resolves.toBe(true);
});

test('a name none of whose addresses is in an insecure CIDR is secure', async () => {
  const { resolve } = resolver({ 'far.test': ['192.0.2.7'] });
  await expect(isInsecureRegistry('far.test:5000', [], resolve)).resolves.toBe(false);
  const [endpoint] = await endpointsFor('far.test:5000', 'pull', { resolveHost: resolve });
  expect(endpoint).toEqual({ registry: 'far.test:5000', origin: 'https://far.test:5000', mirror: false });
});

test('a name that does not resolve is secure', async () => {
  const { resolve } = resolver({});
  await expect(isInsecureRegistry('nowhere.test:5000', [], resolve)).resolves.toBe(false);
});

test('a CIDR in the insecure-registries list makes the hosts in it insecure, by address or by name', async () => {
  const { resolve } = resolver({ 'lab.test': ['10.1.2.3'] });
  await expect(isInsecureRegistry('10.1.2.3:5000', ['10.0.0.0/8'], resolve)).resolves.toBe(true);
  await expect(isInsecureRegistry('lab.test:5000', ['10.0.0.0/8'], resolve)).resolves.toBe(true);
  await expect(isInsecureRegistry('lab.test:5000', [], resolve)).resolves.toBe(false);
});

test('an IPv6 CIDR covers a bracketed IPv6 registry', async () => {
  await expect(isInsecureRegistry('[fd00::5]:5000', ['fd00::/8'])).resolves.toBe(true);
  await expect(isInsecureRegistry('[fd00::5]:5000', [])).resolves.toBe(false);
  await expect(isInsecureRegistry('[::1]:5000', [])).resolves.toBe(true);
});

test('an IPv4-mapped IPv6 address counts as its IPv4 address', async () => {
  const { resolve } = resolver({ mapped: ['::ffff:127.0.0.1'] });
  await expect(isInsecureRegistry('mapped:5000', [], resolve)).resolves.toBe(true);
});

test('a registry listed by name is insecure without resolving it; http:// before it is dropped, as dockerd drops it', async () => {
  const { resolve, asked } = resolver({});
  await expect(isInsecureRegistry('reg.test:5000', ['http://reg.test:5000'], resolve)).resolves.toBe(true);
  expect(asked).toEqual([]);
});

test('an IP registry is never looked up', async () => {
  const { resolve, asked } = resolver({});
  await isInsecureRegistry('192.0.2.1:5000', [], resolve);
  expect(asked).toEqual([]);
});

test('docker.io is secure whatever the list says or its name resolves to', async () => {
  const { resolve, asked } = resolver({ 'docker.io': ['127.0.0.1'] });
  await expect(isInsecureRegistry('docker.io', ['docker.io', '0.0.0.0/0'], resolve)).resolves.toBe(false);
  expect(asked).toEqual([]);
});

test('without resolving, localhost and IP literals are judged by the CIDRs, other names only by the list', () => {
  expect(isInsecureRegistryLiteral('localhost:5000')).toBe(true);
  expect(isInsecureRegistryLiteral('10.1.2.3:5000', ['10.0.0.0/8'])).toBe(true);
  expect(isInsecureRegistryLiteral('vm:5000')).toBe(false);
  expect(isInsecureRegistryLiteral('vm:5000', ['vm:5000'])).toBe(true);
});

test('a hosts file gives every address listed for a name, matched without regard to case', () => {
  const hosts = '127.0.0.1 localhost\n# 10.0.0.1 vm\n127.0.0.1 VM other # a comment\n::1 vm\nnot-an-ip vm\n';
  expect(hostsFileAddresses(hosts, 'vm')).toEqual(['127.0.0.1', '::1']);
  expect(hostsFileAddresses(hosts, 'absent')).toEqual([]);
});

test('with CTR_RESOLV_CONF naming no name server, a name outside /etc/hosts resolves to nothing, asking no DNS server', async () => {
  const env = { CTR_RESOLV_CONF: `${__dirname}/../../../test/support/resolv.conf` };
  await expect(hostAddresses('no-such-registry.invalid', env)).resolves.toEqual([]);
});

test('an address in a listed CIDR given off its network boundary is insecure, as dockerd widens it to the network', async () => {
  await expect(isInsecureRegistry('10.9.9.9:5000', ['10.1.2.3/8'], async () => [])).resolves.toBe(true);
});
