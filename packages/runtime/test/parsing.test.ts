import { LineAssembler, conmonArgs, hostsContent, parseBytes, parseLogRecord, parseSignal, resolvConfContent } from '@ctr/runtime';
import { parseLimits } from '../src/host-facts';

test('sizes parse like Docker\'s RAMInBytes', () => {
  expect(parseBytes('1024', 'memory')).toBe(1024);
  expect(parseBytes('512m', 'memory')).toBe(512 * 1024 ** 2);
  expect(parseBytes('1.5g', 'memory')).toBe(1.5 * 1024 ** 3);
  expect(parseBytes('64MB', 'memory')).toBe(64 * 1024 ** 2);
  expect(parseBytes('64 MiB', 'memory')).toBe(64 * 1024 ** 2);
  expect(parseBytes(4096, 'memory')).toBe(4096);
});

test('sizes are refused in go-units\' words: no number is an invalid size, an unknown unit an invalid suffix', () => {
  expect(() => parseBytes('lots', 'memory')).toThrow("invalid size: 'lots'");
  expect(() => parseBytes('12x', 'memory')).toThrow("invalid suffix: 'x'");
  expect(() => parseBytes('10ZZ', 'memory')).toThrow("invalid suffix: 'zz'");
  expect(() => parseBytes('1mbb', 'memory')).toThrow("invalid suffix: 'mbb'");
  expect(() => parseBytes('5bb', 'memory')).toThrow("invalid suffix: 'bb'");
  expect(() => parseBytes('1.2.3m', 'memory')).toThrow('strconv.ParseFloat: parsing "1.2.3": invalid syntax');
  expect(parseBytes('2KiB', 'memory')).toBe(2048);
  expect(parseBytes('7b', 'memory')).toBe(7);
});

test('signals parse by name, short name, lower case and number', () => {
  expect(parseSignal('SIGTERM')).toEqual({ name: 'SIGTERM', number: 15 });
  expect(parseSignal('kill')).toEqual({ name: 'SIGKILL', number: 9 });
  expect(parseSignal(10).name).toBe('SIGUSR1');
  expect(parseSignal('SIGRTMIN+3')).toEqual({ name: '37', number: 37 });
  expect(() => parseSignal('SIGNOPE')).toThrow('invalid signal: SIGNOPE');
  expect(() => parseSignal(99)).toThrow('invalid signal: 99');
});

test('log records parse, and partial records join into one line', () => {
  expect(parseLogRecord('2026-01-01T00:00:00.123456789+00:00 stdout F hello world')).toEqual({
    time: '2026-01-01T00:00:00.123456789Z',
    stream: 'stdout',
    partial: false,
    text: 'hello world',
  });
  expect(parseLogRecord('2026-01-01T00:00:00Z stderr F ')?.text).toBe('');
  expect(parseLogRecord('garbage')).toBeUndefined();
  const joiner = new LineAssembler();
  expect(joiner.push({ time: 't1', stream: 'stdout', partial: true, text: 'a' })).toBeUndefined();
  expect(joiner.push({ time: 't2', stream: 'stderr', partial: false, text: 'x' })).toEqual({ time: 't2', stream: 'stderr', line: 'x' });
  expect(joiner.push({ time: 't3', stream: 'stdout', partial: false, text: 'b' })).toEqual({ time: 't1', stream: 'stdout', line: 'ab' });
});

test('/etc/hosts names localhost, the container and extra hosts', () => {
  const hosts = hostsContent('web', { extraHosts: ['db:10.0.0.5'], ipAddress: '172.18.0.2' });
  expect(hosts).toContain('127.0.0.1\tlocalhost\n');
  expect(hosts).toContain('10.0.0.5\tdb\n');
  expect(hosts).toContain('172.18.0.2\tweb\n');
  expect(() => hostsContent('web', { extraHosts: ['nocolon'] })).toThrow(/--add-host/);
});

test("the container's own /etc/hosts entry names its FQDN, then the bare hostname when the FQDN has a dot", () => {
  const ownEntry = (hostname: string, domainname?: string): string | undefined =>
    hostsContent(hostname, { ipAddress: '172.18.0.2', ...(domainname ? { domainname } : {}) }).trimEnd().split('\n').at(-1);
  expect(ownEntry('h1', 'example.org')).toBe('172.18.0.2\th1.example.org h1');
  expect(ownEntry('h1.sub.example.org')).toBe('172.18.0.2\th1.sub.example.org h1');
  expect(ownEntry('h1')).toBe('172.18.0.2\th1');
});

test('/etc/resolv.conf drops loopback name servers of the host unless the network is the host\'s', () => {
  const host = 'nameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch corp.example\noptions ndots:2\n';
  expect(resolvConfContent(host, {})).toBe('nameserver 10.1.1.1\nsearch corp.example\noptions ndots:2\n');
  expect(resolvConfContent(host, { network: { mode: 'host' } })).toContain('nameserver 127.0.0.53');
  expect(resolvConfContent(host, { dns: ['10.9.9.9'], dnsSearch: [], dnsOptions: [] })).toBe('nameserver 10.9.9.9\n');
});

test('conmon is told the container, runc\'s root and log, and where to write exits and logs', () => {
  const args = conmonArgs({
    conmon: '/usr/bin/conmon', runtime: '/usr/sbin/runc', runtimeRoot: '/run/ctr/runc', id: 'c1', uuid: 'c1', bundle: '/b',
    logPath: '/b/ctr.log', runtimeLog: '/b/runc.log', pidFile: '/b/pid', exitDir: '/run/ctr/exits', persistDir: '/b',
    terminal: true, stdin: true,
  });
  const after = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
  expect(after('-c')).toBe('c1');
  expect(after('-b')).toBe('/b');
  expect(after('-l')).toBe('k8s-file:/b/ctr.log');
  expect(after('-0')).toBe('/b');
  expect(args).toEqual(expect.arrayContaining(['--runtime-arg', '--root=/run/ctr/runc', '-t', '-i', '--full-attach']));
});

test('host hard limits are read from /proc/self/limits text', () => {
  const text = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 20000                files\nMax processes             96365                96365                processes\nMax core file size        0                    unlimited            bytes\n';
  expect(parseLimits(text)).toEqual({ nofile: 20000, nproc: 96365 });
});
