import { inNetns, makeTestHost, statusInNetns, type TestHost } from './helpers/host';

/**
 * `--link-local-ip` (EndpointSettings.IPAMConfig.LinkLocalIPs), as dockerd gives them:
 * addresses of 169.254.0.0/16 (as /16) and fe80::/10 (as /64) on the container's interface on
 * that network, besides its lease, kept in its IPAMConfig. Traffic goes only between
 * containers on the bridge made here.
 */
let host: TestHost;

/** The addresses (with prefix) an interface holds, of one family. */
function addresses(netnsPath: string, dev: string, family: '-4' | '-6'): string[] {
  const out = JSON.parse(inNetns(netnsPath, ['ip', '-j', family, 'addr', 'show', 'dev', dev])) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
  return out.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

beforeAll(async () => {
  host = await makeTestHost('tll');
  await host.manager.createNetwork({ name: 'tll-net', subnet: host.subnet(1) });
  await host.manager.createNetwork({ name: 'tll-other', subnet: host.subnet(2) });
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('an IPv4 link-local IP is added to the interface as a /16, besides its lease', async () => {
  const r = await host.manager.attach('tll-v4', { networks: [{ name: 'tll-net', linkLocalIps: ['169.254.7.7'] }] });
  const lease = r.settings.Networks['tll-net']?.IPAddress ?? '';
  expect(addresses(r.netnsPath ?? '', 'eth0', '-4')).toEqual([`${lease}/24`, '169.254.7.7/16']);
  await host.manager.detach('tll-v4');
});

test('an IPv6 link-local IP is added as a /64, IPv6 staying on for that interface of an IPv4-only network', async () => {
  const r = await host.manager.attach('tll-v6', { networks: [{ name: 'tll-net', linkLocalIps: ['FE80::0:77'] }] });
  const ns = r.netnsPath ?? '';
  expect(inNetns(ns, ['cat', '/proc/sys/net/ipv6/conf/eth0/disable_ipv6']).trim()).toBe('0');
  expect(addresses(ns, 'eth0', '-6')).toContain('fe80::77/64');
  await host.manager.detach('tll-v6');
});

test('inspect shows the link-local IPs as IPAMConfig.LinkLocalIPs, in canonical form', async () => {
  await host.manager.configure('tll-shown', { networks: [{ name: 'tll-net', linkLocalIps: ['169.254.9.9', 'fe80::0009'] }] });
  expect((await host.manager.settings('tll-shown')).Networks['tll-net']?.IPAMConfig).toEqual({ LinkLocalIPs: ['169.254.9.9', 'fe80::9'] });
  await host.manager.allocate('tll-shown');
  expect((await host.manager.settings('tll-shown')).Networks['tll-net']?.IPAMConfig).toEqual({ LinkLocalIPs: ['169.254.9.9', 'fe80::9'] });
  await host.manager.detach('tll-shown');
});

test('a container reaches another at its link-local IP over their bridge', async () => {
  await host.manager.attach('tll-a', { networks: [{ name: 'tll-net', linkLocalIps: ['169.254.1.1'] }] });
  const b = await host.manager.attach('tll-b', { networks: [{ name: 'tll-net', linkLocalIps: ['169.254.1.2'] }] });
  expect(statusInNetns(b.netnsPath ?? '', ['/bin/busybox', 'ping', '-c', '1', '-W', '2', '169.254.1.1'])).toBe(0);
  await host.manager.detach('tll-b');
  await host.manager.detach('tll-a');
});

test('network connect --link-local-ip adds the address to the new interface of a running container', async () => {
  const r = await host.manager.attach('tll-conn', { mode: 'tll-net' });
  await host.manager.connect('tll-conn', { name: 'tll-other', linkLocalIps: ['169.254.3.3'] });
  expect(addresses(r.netnsPath ?? '', 'eth1', '-4')).toContain('169.254.3.3/16');
  expect(addresses(r.netnsPath ?? '', 'eth0', '-4')).not.toContain('169.254.3.3/16');
  await host.manager.detach('tll-conn');
});

test('an address that is not link-local is refused in docker\'s words', async () => {
  const err = await host.manager.attach('tll-bad', { networks: [{ name: 'tll-net', linkLocalIps: ['10.1.2.3'] }] }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'InvalidArgument', message: 'invalid link-local IP address: 10.1.2.3: not a link-local address' });
});

test('a link-local IP that is no address is refused as dockerd refuses it', async () => {
  const err = await host.manager.attach('tll-junk', { networks: [{ name: 'tll-net', linkLocalIps: ['foo'] }] }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'InvalidArgument', message: 'invalid link-local IP address: foo' });
});
