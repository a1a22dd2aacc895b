import { forwarding, judgeUpstreams, parseResolvConf, upstreamRefusal, type UpstreamScope } from '../src/resolv';

// The embedded DNS sends from the host's namespace, so which of a container's upstreams it may
// ask is decided once, here, and recorded; the server only reads the mark. A `--dns` is
// refused where it would reach what the container cannot; the host's own servers never are.

const scope: UpstreamScope = {
  closedSubnets: ['10.212.2.0/24', '10.212.3.0/24'],
  hostAddresses: ['10.0.2.15', '172.31.0.1', 'fd00::15'],
};

const dns = (address: string): string | undefined => upstreamRefusal({ address, host: false }, scope);

test('a --dns on an ordinary outside address is asked', () => {
  expect(dns('192.0.2.53')).toBeUndefined();
  expect(dns('2001:db8::53')).toBeUndefined();
});

test('a --dns that is an unspecified address is refused (sent to, it reaches the host itself)', () => {
  expect(dns('0.0.0.0')).toBe('an unspecified address');
  expect(dns('::')).toBe('an unspecified address');
});

test('a --dns on loopback is refused, in every spelling', () => {
  for (const address of ['127.0.0.1', '127.0.0.53', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.53', '::ffff:7f00:35']) {
    expect([address, dns(address)]).toEqual([address, 'a loopback address']);
  }
});

test('a --dns on a link-local address is refused', () => {
  expect(dns('169.254.169.254')).toBe('a link-local address');
  expect(dns('fe80::1')).toBe('a link-local address');
  expect(dns('::ffff:169.254.169.254')).toBe('a link-local address');
});

test('a --dns on a multicast or broadcast address is refused', () => {
  expect(dns('224.0.0.251')).toBe('a multicast or broadcast address');
  expect(dns('255.255.255.255')).toBe('a multicast or broadcast address');
  expect(dns('ff02::fb')).toBe('a multicast or broadcast address');
});

test("a --dns that is one of the host's own addresses is refused", () => {
  expect(dns('10.0.2.15')).toBe("one of the host's own addresses");
  expect(dns('::ffff:10.0.2.15')).toBe("one of the host's own addresses");
  expect(dns('fd00::15')).toBe("one of the host's own addresses");
});

test('a --dns inside a network the container is not on, or is on only as internal, is refused', () => {
  expect(dns('10.212.2.7')).toBe('inside 10.212.2.0/24, a network the container is not on or that is internal');
  expect(dns('::ffff:10.212.3.9')).toBe('inside 10.212.3.0/24, a network the container is not on or that is internal');
});

test("the host's resolv.conf servers are asked whatever they are, as the host asks them", () => {
  for (const address of ['127.0.0.53', '::1', '0.0.0.0', '169.254.169.253', '10.0.2.15', '10.212.2.7']) {
    expect(upstreamRefusal({ address, host: true }, scope)).toBeUndefined();
  }
});

test('judging marks each upstream, in order, with whether it may be asked', () => {
  expect(judgeUpstreams([{ address: '127.0.0.1', host: false }, { address: '192.0.2.53', host: false }], scope)).toEqual([
    { address: '127.0.0.1', host: false, ask: false },
    { address: '192.0.2.53', host: false, ask: true },
  ]);
});

test('the forwarding recorded for a container marks its refused --dns and keeps it listed', () => {
  const host = parseResolvConf('nameserver 127.0.0.53\n', '/etc/resolv.conf');
  expect(forwarding(host, { servers: ['0.0.0.0', '10.212.2.7', '192.0.2.53'] }, scope).upstreams.map((u) => [u.address, u.ask])).toEqual([
    ['0.0.0.0', false],
    ['10.212.2.7', false],
    ['192.0.2.53', true],
  ]);
});
