import { allocateAddress, allocateSubnet } from '../src/ipam';
import { parseCidr } from '../src/ipv4';
import type { NetworkState } from '../src/state';

function net(over: Partial<NetworkState> = {}): NetworkState {
  return {
    id: 'n1',
    name: 'n',
    created: '',
    bridge: 'br',
    subnet: '10.0.0.0/29',
    gateway: '10.0.0.1',
    internal: false,
    labels: {},
    mtu: 1500,
    isDefault: false,
    endpoints: {},
    ...over,
  };
}

function lease(n: NetworkState, id: string, ip: string): void {
  n.endpoints[id] = { containerId: id, containerName: id, endpointId: id, ip, mac: '', aliases: [], staticIp: false, hostVeth: '', ifName: 'eth0' };
}

test('the first free host address after the gateway is handed out', () => {
  const n = net();
  expect(allocateAddress(n)).toBe('10.0.0.2');
  lease(n, 'a', '10.0.0.2');
  lease(n, 'b', '10.0.0.4');
  expect(allocateAddress(n)).toBe('10.0.0.3');
});

test('neither the network nor the broadcast address is ever handed out', () => {
  const n = net();
  for (const [i, ip] of ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'].entries()) lease(n, `c${i}`, ip);
  expect(() => allocateAddress(n)).toThrow(expect.objectContaining({ code: 'ResourceExhausted' }));
  expect(() => allocateAddress(n, '10.0.0.7')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  expect(() => allocateAddress(n, '10.0.0.0')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
});

test('a gateway anywhere in the subnet is skipped', () => {
  expect(allocateAddress(net({ gateway: '10.0.0.2' }))).toBe('10.0.0.1');
});

test('an ip-range limits automatic addresses but a static one may be anywhere in the subnet', () => {
  const n = net({ subnet: '10.0.0.0/24', ipRange: '10.0.0.128/25' });
  expect(allocateAddress(n)).toBe('10.0.0.128');
  expect(allocateAddress(n, '10.0.0.9')).toBe('10.0.0.9');
});

test("a static address in use is refused as libnetwork's IPAM refuses it (Denied, a 403)", () => {
  const n = net();
  lease(n, 'a', '10.0.0.3');
  expect(() => allocateAddress(n, '10.0.0.3')).toThrow(expect.objectContaining({ code: 'Denied', message: 'Address already in use' }));
  expect(() => allocateAddress(n, '10.0.0.1')).toThrow(expect.objectContaining({ code: 'Denied', message: 'Address already in use' }));
});

test('automatic subnets skip every overlapping one', () => {
  const pool = parseCidr('10.50.0.0/16');
  expect(allocateSubnet(pool, 24, [])).toBe('10.50.0.0/24');
  expect(allocateSubnet(pool, 24, [parseCidr('10.50.0.0/23'), parseCidr('10.50.2.128/25')])).toBe('10.50.3.0/24');
  expect(() => allocateSubnet(parseCidr('10.50.0.0/24'), 24, [parseCidr('10.0.0.0/8')])).toThrow(
    expect.objectContaining({ code: 'ResourceExhausted' }),
  );
});
