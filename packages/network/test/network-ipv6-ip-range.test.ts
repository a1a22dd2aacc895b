import { makeTestHost, testUla, type TestHost } from './helpers/host';

/**
 * A network with an IPv4 and an IPv6 subnet and an IPv6 `--ip-range` (docker `network create
 * --ipv6 --subnet A --subnet fd…::/64 --ip-range fd…::/80`): containers get their IPv6 address
 * from the range, as dockerd's IPAM gives them.
 */
let host: TestHost;
const ula = testUla();

beforeAll(async () => {
  host = await makeTestHost('tir');
  await host.manager.createNetwork({ name: 'tir-net', subnet: host.subnet(1), ipv6: true, subnet6: `${ula}:1::/64`, ipRange6: `${ula}:1:1::/80` });
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('inspect shows the IPv6 ip-range as the IPv6 config\'s IPRange, beside the IPv4 config', async () => {
  expect((await host.manager.inspectNetwork('tir-net')).IPAM.Config).toEqual([
    { Subnet: host.subnet(1), Gateway: `${host.net(1)}.1` },
    { Subnet: `${ula}:1::/64`, Gateway: `${ula}:1::1`, IPRange: `${ula}:1:1::/80` },
  ]);
});

test('containers get IPv6 addresses from the ip-range, in turn from its first', async () => {
  const a = await host.manager.attach('tir-a', { mode: 'tir-net' });
  const b = await host.manager.attach('tir-b', { mode: 'tir-net' });
  expect(a.settings.Networks['tir-net']?.GlobalIPv6Address).toBe(`${ula}:1:1::`);
  expect(b.settings.Networks['tir-net']?.GlobalIPv6Address).toBe(`${ula}:1:1::1`);
  await host.manager.detach('tir-b');
  await host.manager.detach('tir-a');
});

test('an --ip6 of the subnet outside the ip-range is still given, as moby\'s IPAM gives it', async () => {
  const r = await host.manager.attach('tir-static', { networks: [{ name: 'tir-net', ip6: `${ula}:1::99` }] });
  expect(r.settings.Networks['tir-net']?.GlobalIPv6Address).toBe(`${ula}:1::99`);
  await host.manager.detach('tir-static');
});

test('an IPv6 ip-range outside the IPv6 subnet is refused', async () => {
  const err = await host.manager
    .createNetwork({ name: 'tir-out', subnet: host.subnet(2), ipv6: true, subnet6: `${ula}:2::/64`, ipRange6: `${ula}:3::/80` })
    .catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'InvalidArgument', message: `IP range ${ula}:3::/80 is not inside subnet ${ula}:2::/64` });
});

test('an IPv6 ip-range without an IPv6 subnet is refused in docker\'s words', async () => {
  const err = await host.manager.createNetwork({ name: 'tir-alone', subnet: host.subnet(2), ipv6: true, ipRange6: `${ula}:4::/80` }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'InvalidArgument', message: `no matching subnet for range ${ula}:4::/80` });
});
