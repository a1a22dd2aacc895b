import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { inNetns, makeTestHost, statusInNetns, stopProcess, type TestHost } from './helpers/host';

// route_localnet (needed for 127.0.0.1 port publishing and the 127.0.0.11 DNS redirect)
// must not let a container reach 127.0.0.1 services of the host or of another container
// (CVE-2020-8558). The attacker routes 127.0.0.1 out of its eth0 on purpose.

let host: TestHost;
let secret: net.Server;
let victimListener: ChildProcess | undefined;
let attackerNs = '';
let victimNs = '';
let victimIp = '';
let gateway = '';
let bridge = '';

const dropped = (counters: string, match: string): number =>
  counters
    .split('\n')
    .filter((l) => l.includes(match) && l.includes('DROP'))
    .reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);

beforeAll(async () => {
  host = await makeTestHost('tse');
  const n = await host.manager.createNetwork({ name: 'tsec-net', subnet: host.subnet(1) });
  bridge = host.bridgeOf(n);
  gateway = n.IPAM.Config[0]?.Gateway ?? '';
  attackerNs = (await host.manager.attach('tsec-attacker', { mode: 'tsec-net' })).netnsPath ?? '';
  const victim = await host.manager.attach('tsec-victim', { mode: 'tsec-net' });
  victimNs = victim.netnsPath ?? '';
  victimIp = victim.settings.Networks['tsec-net']?.IPAddress ?? '';
  secret = net.createServer((c) => c.end('host secret\n'));
  await new Promise<void>((r) => secret.listen(0, '127.0.0.1', r));
  victimListener = spawn('nsenter', [`--net=${victimNs}`, '/bin/busybox', 'nc', '-lk', '-s', '127.0.0.1', '-p', '8081', '-e', '/bin/busybox', 'echo', 'victim secret'], { stdio: 'ignore' });
  // Undo the attacker's loopback routing and allow loopback destinations on its eth0.
  inNetns(attackerNs, [
    'sh',
    '-c',
    'ip route del local 127.0.0.0/8 dev lo table local; ip route del local 127.0.0.1 dev lo table local; ' +
      'echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet; echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet',
  ]);
});

afterAll(async () => {
  await stopProcess(victimListener);
  secret.close();
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

const hostCounters = (): string => execFileSync('iptables', ['-t', 'raw', '-L', 'CTR-PREROUTING', '-v', '-n', '-x']).toString();

test("a container cannot reach the host's 127.0.0.1 services through the bridge", () => {
  const before = dropped(hostCounters(), bridge);
  inNetns(attackerNs, ['ip', 'route', 'replace', '127.0.0.1/32', 'via', gateway, 'dev', 'eth0']);
  const port = (secret.address() as net.AddressInfo).port;
  expect(statusInNetns(attackerNs, ['/bin/busybox', 'nc', '-w', '2', '127.0.0.1', String(port)], 5_000)).not.toBe(0);
  expect(dropped(hostCounters(), bridge)).toBeGreaterThan(before);
});

// With br_netfilter loaded the bridge's own guard drops the packet; without it, the guard
// inside the victim's namespace does. Either way one of them must have counted it.
test("a container cannot reach another container's 127.0.0.1 services", () => {
  const counters = (): number =>
    dropped(hostCounters(), bridge) + dropped(inNetns(victimNs, ['iptables', '-t', 'raw', '-L', 'PREROUTING', '-v', '-n', '-x']), '127.0.0.0/8');
  const before = counters();
  inNetns(attackerNs, ['ip', 'route', 'replace', '127.0.0.1/32', 'via', victimIp, 'dev', 'eth0']);
  expect(statusInNetns(attackerNs, ['/bin/busybox', 'nc', '-w', '2', '127.0.0.1', '8081'], 5_000)).not.toBe(0);
  expect(counters()).toBeGreaterThan(before);
});
