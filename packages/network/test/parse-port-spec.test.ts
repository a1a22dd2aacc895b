import { parseExposedPort, parsePortSpec } from '@ctr/network';

test.each([
  ['80', [{ hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
  ['8080:80', [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
  ['127.0.0.1:8080:80', [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
  ['0.0.0.0:8080:80', [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
  ['127.0.0.1::80', [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
  ['53:53/udp', [{ hostIp: '', hostPort: 53, containerPort: 53, protocol: 'udp' }]],
  ['5000:5000/TCP', [{ hostIp: '', hostPort: 5000, containerPort: 5000, protocol: 'tcp' }]],
  [
    '7000-7001:8000-8001',
    [
      { hostIp: '', hostPort: 7000, containerPort: 8000, protocol: 'tcp' },
      { hostIp: '', hostPort: 7001, containerPort: 8001, protocol: 'tcp' },
    ],
  ],
  [
    '9000-9001',
    [
      { hostIp: '', hostPort: 0, containerPort: 9000, protocol: 'tcp' },
      { hostIp: '', hostPort: 0, containerPort: 9001, protocol: 'tcp' },
    ],
  ],
  ['9200-9210:80', [{ hostIp: '', hostPort: 9200, hostPortEnd: 9210, containerPort: 80, protocol: 'tcp' }]],
  ['127.0.0.1:9200-9210:53/udp', [{ hostIp: '127.0.0.1', hostPort: 9200, hostPortEnd: 9210, containerPort: 53, protocol: 'udp' }]],
])('parsePortSpec(%s) is what Docker makes of it', (spec, expected) => {
  expect(parsePortSpec(spec)).toEqual(expected);
});

test.each([
  ['', 'Empty port spec'],
  ['abc', 'Invalid containerPort "abc" in port spec "abc"'],
  ['8080:', 'No port specified in port spec "8080:"'],
  ['70000:80', 'Invalid hostPort "70000" in port spec "70000:80": ports are 1-65535, ranges low-high'],
  ['80:0', 'Invalid containerPort "0" in port spec "80:0": ports are 1-65535, ranges low-high'],
  ['80/dccp', 'Invalid proto "dccp" in port spec "80/dccp"'],
  ['1:2:3:4', 'Invalid port spec "1:2:3:4": too many colons'],
  ['300.1.1.1:80:80', 'Invalid IP address "300.1.1.1" in port spec "300.1.1.1:80:80"'],
  ['7000-7002:8000-8001', 'Invalid ranges specified for container and host Ports: 8000-8001 and 7000-7002'],
  ['9200-9201:80-82', 'Invalid ranges specified for container and host Ports: 80-82 and 9200-9201'],
  ['9001-9000', 'Invalid containerPort "9001-9000" in port spec "9001-9000": ports are 1-65535, ranges low-high'],
])('parsePortSpec(%j) is an InvalidArgument: %s', (spec, message) => {
  expect(() => parsePortSpec(spec)).toThrow(expect.objectContaining({ code: 'InvalidArgument', message }));
});

test('a bracketed IPv6 host address binds that address, in canonical form', () => {
  expect(parsePortSpec('[::1]:8080:80')).toEqual([{ hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
  expect(parsePortSpec('[0:0::0]:8080:80/udp')).toEqual([{ hostIp: '::', hostPort: 8080, containerPort: 80, protocol: 'udp' }]);
});

test('a host address that is neither IPv4 nor IPv6 is refused with a hint, not misparsed', () => {
  expect(() => parsePortSpec('[fe80::1%eth0]:8080:80')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  expect(() => parsePortSpec('[nope]:8080:80')).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'Invalid IP address "nope" in port spec "[nope]:8080:80"' }));
});

test('exposed-port keys default to tcp', () => {
  expect(parseExposedPort('80')).toEqual({ port: 80, protocol: 'tcp' });
  expect(parseExposedPort('53/udp')).toEqual({ port: 53, protocol: 'udp' });
  expect(() => parseExposedPort('80-90/tcp')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
});
