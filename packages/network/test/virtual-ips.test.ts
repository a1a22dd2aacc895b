import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inNetns, lookup, makeTestHost, nslookup, startHttpd, stopProcess, type TestHost } from './helpers/host';

/**
 * A swarm network's virtual IPs (what @ctr/swarm gives a `vip` service): the address is never
 * handed out, the embedded DNS answers its names with it before any endpoint holding the same
 * name, and every sandbox on the network — running when it is set, or made later — spreads
 * connections to it over its backends in its own nat table, refuses them while it has none, and
 * forgets it when it goes. Real namespaces, bridges and busybox httpd servers.
 */
let host: TestHost;
const servers: ChildProcess[] = [];
let vip: string;
let backends: string[];
let clientNs: string;

/** What `tries` requests from a namespace to http://address/ got (each backend serves its name). */
function answers(netns: string, address: string, tries = 12): string[] {
  return Array.from({ length: tries }, () => inNetns(netns, ['/bin/busybox', 'wget', '-qO-', `http://${address}/`]).trim());
}

function natOf(netns: string): string {
  return inNetns(netns, ['iptables-save', '-t', 'nat']);
}

beforeAll(async () => {
  host = await makeTestHost('tvi');
  await host.manager.createNetwork({ name: 'tvi-svc', subnet: host.subnet(1), swarm: true, attachable: true });
  // The first address a container would get: the VIP must keep it from them.
  vip = `${host.net(1)}.2`;
  await host.manager.setVirtualIps('tvi-svc', [{ id: 'svc', ip: vip, names: ['web', 'www'], backends: [] }]);
  backends = [];
  for (const name of ['one', 'two']) {
    const made = await host.manager.attach(`tvi-${name}`, { mode: 'tvi-svc', name, networks: [{ name: 'tvi-svc', aliases: ['web'] }] });
    backends.push(made.settings.Networks['tvi-svc']?.IPAddress ?? '');
    servers.push(await startHttpd(made.netnsPath ?? '', path.join(host.root, name), `${name}\n`));
  }
  clientNs = (await host.manager.attach('tvi-client', { mode: 'tvi-svc', name: 'client' })).netnsPath ?? '';
}, 60_000);

afterAll(async () => {
  for (const server of servers) await stopProcess(server);
  await host?.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('a virtual IP is never handed out to a container', () => {
  expect(backends).not.toContain(vip);
  expect(backends.every((ip) => ip.startsWith(`${host.net(1)}.`))).toBe(true);
});

test("its names are answered with it alone, though containers hold the name as an alias", () => {
  expect(lookup(clientNs, 'web')).toEqual([vip]);
  expect(lookup(clientNs, 'www')).toEqual([vip]);
});

test('with no backend, a connection to it is refused at once', () => {
  let out = '';
  try {
    inNetns(clientNs, ['/bin/busybox', 'wget', '-qO-', `http://${vip}/`]);
  } catch (e) {
    out = String((e as { stderr?: Buffer }).stderr);
  }
  expect(out).toContain('Connection refused');
});

test('given backends, connections to it from a running sandbox are spread over them', async () => {
  await host.manager.setVirtualIps('tvi-svc', [{ id: 'svc', ip: vip, names: ['web', 'www'], backends }]);
  const seen = answers(clientNs, vip);
  expect(new Set(seen)).toEqual(new Set(['one', 'two']));
});

test('a sandbox made later has it too', async () => {
  const late = (await host.manager.attach('tvi-late', { mode: 'tvi-svc', name: 'late' })).netnsPath ?? '';
  expect(new Set(answers(late, vip))).toEqual(new Set(['one', 'two']));
  await host.manager.detach('tvi-late');
});

test('gone from the set, its names are the containers\' again, and no sandbox keeps a rule for it', async () => {
  await host.manager.setVirtualIps('tvi-svc', []);
  for (const backend of backends) expect(nslookup(clientNs, 'web')).toContain(backend);
  expect(natOf(clientNs)).not.toContain(`${vip}/32`);
  expect(inNetns(clientNs, ['iptables-save', '-t', 'filter'])).not.toContain(`${vip}/32`);
});

test('an address outside the subnet is refused', async () => {
  await expect(host.manager.setVirtualIps('tvi-svc', [{ id: 'svc', ip: '192.0.2.1', names: [], backends: [] }])).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'no configured subnet contains the IP address 192.0.2.1',
  });
});
