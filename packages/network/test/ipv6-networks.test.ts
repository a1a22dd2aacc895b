import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { inNetns, makeTestHost, nslookup, rules6, statusInNetns, testUla, type TestHost } from './helpers/host';

/**
 * IPv6 user-defined bridge networks (`--ipv6`), on real bridges and namespaces. Every IPv6
 * subnet is a ULA of this run's own random /48, so runs never meet each other or the host's.
 */
let host: TestHost;
const ula = testUla();
const sub6 = (i: number): string => `${ula}:${i}::/64`;
let aNs = '';
let bNs = '';

function ping6(netnsPath: string, address: string): number {
  return statusInNetns(netnsPath, ['/bin/busybox', 'ping', '-6', '-c', '1', '-W', '3', address]);
}

beforeAll(async () => {
  host = await makeTestHost('tv6');
  await host.manager.createNetwork({ name: 'tv6-one', subnet: host.subnet(1), ipv6: true, subnet6: sub6(1) });
  aNs = (await host.manager.attach('tv6-a', { mode: 'tv6-one', name: 'alpha' })).netnsPath ?? '';
  bNs = (await host.manager.attach('tv6-b', { networks: [{ name: 'tv6-one', ip6: `${ula}:1::99` }], name: 'beta' })).netnsPath ?? '';
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('an IPv6 network shows EnableIPv6 and both subnets, and its bridge holds the IPv6 gateway', async () => {
  const net = await host.manager.inspectNetwork('tv6-one');
  expect(net.EnableIPv6).toBe(true);
  expect(net.IPAM.Config).toEqual([
    { Subnet: host.subnet(1), Gateway: `${host.net(1)}.1` },
    { Subnet: sub6(1), Gateway: `${ula}:1::1` },
  ]);
  expect(execFileSync('ip', ['-o', '-6', 'addr', 'show', 'dev', host.bridgeOf(net)]).toString()).toContain(`${ula}:1::1/64`);
});

test('an IPv6 network has ip6tables isolation, forwarding and masquerade rules of its own', async () => {
  const bridge = host.bridgeOf(await host.manager.inspectNetwork('tv6-one'));
  const rules = rules6(host.root);
  expect(rules.some((r) => r.includes(`-A CTR-ISOLATION-2 -o ${bridge} -j DROP`))).toBe(true);
  expect(rules.some((r) => r.includes(`-A CTR-FORWARD -i ${bridge} -o ${bridge} -j ACCEPT`))).toBe(true);
  expect(rules.some((r) => r.includes(`-A CTR-POSTROUTING -s ${sub6(1)} ! -o ${bridge} -j MASQUERADE`))).toBe(true);
});

test('a container gets the first free IPv6 address, the gateway and the prefix length in its settings', async () => {
  const settings = (await host.manager.settings('tv6-a')).Networks['tv6-one'];
  expect(settings).toMatchObject({ GlobalIPv6Address: `${ula}:1::2`, GlobalIPv6PrefixLen: 64, IPv6Gateway: `${ula}:1::1`, IPAMConfig: null });
  const containers = (await host.manager.inspectNetwork('tv6-one')).Containers;
  expect(containers['tv6-a']?.IPv6Address).toBe(`${ula}:1::2/64`);
});

test("a container's IPv6 address is usable at once and its IPv6 default route goes via the gateway", () => {
  const addr = inNetns(aNs, ['ip', '-o', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']);
  expect(addr).toContain(`${ula}:1::2/64`);
  expect(addr).not.toContain('tentative');
  expect(inNetns(aNs, ['ip', '-6', 'route', 'show', 'default'])).toContain(`via ${ula}:1::1 dev eth0`);
});

test('a container pings its IPv6 gateway', () => {
  expect(ping6(aNs, `${ula}:1::1`)).toBe(0);
});

test('two containers on an IPv6 network ping each other over IPv6', () => {
  expect(ping6(aNs, `${ula}:1::99`)).toBe(0);
  expect(ping6(bNs, `${ula}:1::2`)).toBe(0);
});

test('--ip6 gives the container that address, shown as IPAMConfig.IPv6Address', async () => {
  const settings = (await host.manager.settings('tv6-b')).Networks['tv6-one'];
  expect(settings?.GlobalIPv6Address).toBe(`${ula}:1::99`);
  expect(settings?.IPAMConfig).toEqual({ IPv6Address: `${ula}:1::99` });
});

test('the embedded DNS answers AAAA with the IPv6 address of a container on an IPv6 network', () => {
  const answer = nslookup(aNs, 'beta', '127.0.0.11');
  expect(answer).toContain(`${ula}:1::99`);
});

test('network connect with --ip6 gives a running container that address on a second IPv6 network', async () => {
  await host.manager.createNetwork({ name: 'tv6-two', subnet: host.subnet(7), ipv6: true, subnet6: sub6(7) });
  const settings = await host.manager.connect('tv6-a', { name: 'tv6-two', ip6: `${ula}:7::70` });
  expect(settings.Networks['tv6-two']).toMatchObject({ GlobalIPv6Address: `${ula}:7::70`, IPAMConfig: { IPv6Address: `${ula}:7::70` } });
  expect(inNetns(aNs, ['ip', '-o', '-6', 'addr', 'show', 'dev', 'eth1', 'scope', 'global'])).toContain(`${ula}:7::70/64`);
  expect(ping6(aNs, `${ula}:7::1`)).toBe(0);
});

test('a container on one IPv6 network cannot reach a container on another over IPv6', async () => {
  const cNs = (await host.manager.attach('tv6-c', { mode: 'tv6-two', name: 'gamma' })).netnsPath ?? '';
  const gamma = (await host.manager.settings('tv6-c')).Networks['tv6-two']?.GlobalIPv6Address ?? '';
  expect(ping6(cNs, `${ula}:7::70`)).toBe(0);
  expect(ping6(bNs, gamma)).not.toBe(0);
});

test("an address asked with --ip6 that another container holds is refused in libnetwork's words (a 403)", async () => {
  await expect(host.manager.attach('tv6-dup', { networks: [{ name: 'tv6-one', ip6: `${ula}:1::99` }] })).rejects.toMatchObject({
    code: 'Denied',
    message: 'Address already in use',
  });
});

test('an address outside the IPv6 subnet is refused', async () => {
  await expect(host.manager.attach('tv6-out', { networks: [{ name: 'tv6-one', ip6: `${ula}:2::5` }] })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: expect.stringContaining('no configured subnet or ip-range contain the IP address'),
  });
});

test('--ip6 on a network without IPv6 is refused', async () => {
  await host.manager.createNetwork({ name: 'tv6-four', subnet: host.subnet(2) });
  try {
    await expect(host.manager.attach('tv6-v4', { networks: [{ name: 'tv6-four', ip6: `${ula}:1::7` }] })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: expect.stringContaining('IPv6'),
    });
  } finally {
    await host.manager.removeNetwork('tv6-four');
  }
});

test('an IPv6 subnet overlapping another network is a Conflict', async () => {
  await expect(host.manager.createNetwork({ name: 'tv6-over', subnet: host.subnet(3), ipv6: true, subnet6: `${ula}:1::/80` })).rejects.toMatchObject({
    code: 'Conflict',
    message: expect.stringContaining('Pool overlaps'),
  });
});

test.each([['fd00::1/64'], ['fd00::/130'], ['2001:db8::/zz'], ['fd00::/4']])('the invalid IPv6 subnet %s is refused', async (subnet6) => {
  await expect(host.manager.createNetwork({ name: 'tv6-bad', subnet: host.subnet(3), ipv6: true, subnet6 })).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('an IPv6 subnet without --ipv6 is refused', async () => {
  await expect(host.manager.createNetwork({ name: 'tv6-noflag', subnet: host.subnet(3), subnet6: sub6(3) })).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test("without an IPv6 subnet a network gets the next free /64 of the root's ULA prefix", async () => {
  const hash = createHash('sha256').update(host.root).digest('hex');
  // fd, then the first 40 bits of the root's hash, then the /64's number; written as WHATWG URL writes it (RFC 5952).
  const at = (n: number): string => new URL(`http://[fd${hash.slice(0, 2)}:${hash.slice(2, 6)}:${hash.slice(6, 10)}:${n}::]/`).hostname.slice(1, -1);
  const first = await host.manager.createNetwork({ name: 'tv6-auto1', subnet: host.subnet(4), ipv6: true });
  const second = await host.manager.createNetwork({ name: 'tv6-auto2', subnet: host.subnet(5), ipv6: true });
  try {
    expect(first.IPAM.Config[1]).toEqual({ Subnet: `${at(0)}/64`, Gateway: new URL(`http://[${at(0)}1]/`).hostname.slice(1, -1) });
    expect(second.IPAM.Config[1]?.Subnet).toBe(`${at(1)}/64`);
  } finally {
    await host.manager.removeNetwork('tv6-auto1');
    await host.manager.removeNetwork('tv6-auto2');
  }
});

test('removing an IPv6 network removes its ip6tables rules and its bridge', async () => {
  const net = await host.manager.createNetwork({ name: 'tv6-gone', subnet: host.subnet(6), ipv6: true, subnet6: sub6(6) });
  const bridge = host.bridgeOf(net);
  expect(rules6(host.root).some((r) => r.includes(bridge))).toBe(true);
  await host.manager.removeNetwork('tv6-gone');
  expect(rules6(host.root).some((r) => r.includes(bridge))).toBe(false);
  expect(execFileSync('ip', ['-o', 'link', 'show']).toString()).not.toContain(`${bridge}:`);
});
