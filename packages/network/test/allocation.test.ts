import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { freePort } from '../../../test/support/free-port';
import { lookup, makeTestHost, type TestHost } from './helpers/host';

// A container's network follows its runs, as dockerd's allocateNetwork / releaseNetwork:
// `configure` (create) records the connections, `allocate` (start) makes the namespace,
// addresses, DNS names and ports, `release` (stop) removes them and keeps the connections.

let host: TestHost;
const net = 'tal-net';

beforeAll(async () => {
  host = await makeTestHost('tal');
  await host.manager.createNetwork({ name: net, subnet: host.subnet(1) });
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

/** Each test's containers go, whatever it left. */
const made: string[] = [];
afterEach(async () => {
  for (const id of made.splice(0)) await host.manager.detach(id);
});

function track(id: string): string {
  made.push(id);
  return id;
}

const ip = (i: number): string => `${host.net(1)}.${i}`;

const mounted = async (path: string | undefined): Promise<boolean> => (await fs.readFile('/proc/self/mountinfo', 'utf8')).includes(` ${path} `);

test('configure records the connection and makes nothing: no namespace, no address, no endpoint', async () => {
  const r = await host.manager.configure(track('tal-conf'), { mode: net, name: 'conf', networks: [{ name: net, ip: ip(50), aliases: ['c'] }] });
  expect(r.netnsPath).toBeDefined();
  expect(await mounted(r.netnsPath)).toBe(false);
  expect(r.settings.Networks[net]).toMatchObject({ IPAddress: '', EndpointID: '', Gateway: '', IPAMConfig: { IPv4Address: ip(50) }, Aliases: ['c'] });
  expect(r.settings.SandboxKey).toBe('');
  expect((await host.manager.inspectNetwork(net)).Containers).toEqual({});
});

test('allocate makes the namespace and the address; release removes both and keeps the connection', async () => {
  const id = track('tal-cycle');
  await host.manager.configure(id, { mode: net, networks: [{ name: net, ip: ip(51) }] });
  const allocated = await host.manager.allocate(id);
  expect(allocated.made).toBe(true);
  expect(allocated.settings.Networks[net]?.IPAddress).toBe(ip(51));
  expect(await mounted(allocated.netnsPath)).toBe(true);
  expect(Object.keys((await host.manager.inspectNetwork(net)).Containers)).toEqual([id]);
  await host.manager.release(id);
  expect(await mounted(allocated.netnsPath)).toBe(false);
  await expect(fs.stat(allocated.netnsPath ?? '')).rejects.toThrow();
  expect((await host.manager.inspectNetwork(net)).Containers).toEqual({});
  expect((await host.manager.settings(id)).Networks[net]).toMatchObject({ IPAddress: '', IPAMConfig: { IPv4Address: ip(51) } });
});

test('allocating an allocated sandbox makes nothing', async () => {
  const id = track('tal-twice');
  await host.manager.attach(id, { mode: net });
  const again = await host.manager.allocate(id);
  expect(again.made).toBe(false);
  expect(Object.keys((await host.manager.inspectNetwork(net)).Containers)).toEqual([id]);
});

test('a static address a released container asked for is free for another', async () => {
  const first = track('tal-static-a');
  await host.manager.attach(first, { mode: net, networks: [{ name: net, ip: ip(52) }] });
  await host.manager.release(first);
  const second = await host.manager.attach(track('tal-static-b'), { mode: net, networks: [{ name: net, ip: ip(52) }] });
  expect(second.settings.Networks[net]?.IPAddress).toBe(ip(52));
});

test('two containers may be configured with one address; the second to allocate is refused in docker\'s words', async () => {
  const a = track('tal-same-a');
  const b = track('tal-same-b');
  await host.manager.configure(a, { mode: net, networks: [{ name: net, ip: ip(53) }] });
  const second = await host.manager.configure(b, { mode: net, networks: [{ name: net, ip: ip(53) }] });
  await host.manager.allocate(a);
  await expect(host.manager.allocate(b)).rejects.toMatchObject({ code: 'Denied', message: 'Address already in use', hint: expect.stringContaining(`${ip(53)} is taken on network ${net}`) });
  expect((await host.manager.settings(b)).Networks[net]?.IPAddress).toBe('');
  expect(await mounted(second.netnsPath)).toBe(false);
});

test('an allocation asks first for the address of the last one', async () => {
  const lower = track('tal-last-lower');
  const id = track('tal-last');
  await host.manager.attach(lower, { mode: net });
  const last = (await host.manager.attach(id, { mode: net })).settings.Networks[net]?.IPAddress;
  await host.manager.release(id);
  await host.manager.release(lower);
  // The first free address is the other's; this one's own comes back.
  expect((await host.manager.allocate(id)).settings.Networks[net]?.IPAddress).toBe(last);
});

test('a network whose containers are released can be removed; their next allocation names it missing', async () => {
  await host.manager.createNetwork({ name: 'tal-gone', subnet: host.subnet(2) });
  const id = track('tal-orphan');
  await host.manager.attach(id, { mode: 'tal-gone' });
  await expect(host.manager.removeNetwork('tal-gone')).rejects.toMatchObject({ code: 'Conflict' });
  await host.manager.release(id);
  await host.manager.removeNetwork('tal-gone');
  await expect(host.manager.allocate(id)).rejects.toMatchObject({ code: 'NotFound', message: 'network tal-gone not found' });
});

test('connect and disconnect of a released container only record the connection; allocation makes the endpoint', async () => {
  await host.manager.createNetwork({ name: 'tal-extra', subnet: host.subnet(3) });
  const id = track('tal-later');
  await host.manager.configure(id, { mode: net });
  await host.manager.connect(id, { name: 'tal-extra', aliases: ['later'] });
  expect((await host.manager.inspectNetwork('tal-extra')).Containers).toEqual({});
  await host.manager.disconnect(id, net);
  const allocated = await host.manager.allocate(id);
  expect(Object.keys(allocated.settings.Networks)).toEqual(['tal-extra']);
  expect(allocated.settings.Networks['tal-extra']).toMatchObject({ Aliases: ['later'], Gateway: `${host.net(3)}.1` });
  await host.manager.detach(id);
  await host.manager.removeNetwork('tal-extra');
});

test('a released container connected twice to one network stays connected once', async () => {
  const id = track('tal-dup');
  await host.manager.configure(id, { mode: net });
  await host.manager.connect(id, { name: net });
  expect(Object.keys((await host.manager.settings(id)).Networks)).toEqual([net]);
});

test('a released container\'s host port is free; its next allocation publishes the port again', async () => {
  const port = await freePort();
  const id = track('tal-ports');
  await host.manager.attach(id, { mode: net, ports: [`127.0.0.1:${port}:80`] });
  await host.manager.release(id);
  expect(execFileSync('iptables-save', ['-t', 'nat']).toString()).not.toContain(`--dport ${port} `);
  expect((await host.manager.settings(id)).Ports).toEqual({});
  const again = await host.manager.allocate(id);
  expect(again.settings.Ports['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(port) }]);
});

test('after a rename the embedded DNS answers the new name, not the old one', async () => {
  const peer = await host.manager.attach(track('tal-peer'), { mode: net, name: 'talpeer' });
  const renamed = await host.manager.attach(track('tal-renamed'), { mode: net, name: 'talold' });
  await host.manager.rename('tal-renamed', 'talnew');
  expect(lookup(peer.netnsPath ?? '', 'talnew')).toEqual([renamed.settings.Networks[net]?.IPAddress]);
  expect(lookup(peer.netnsPath ?? '', 'talold')).toEqual([]);
  expect((await host.manager.inspectNetwork(net)).Containers['tal-renamed']?.Name).toBe('talnew');
});

test('an allocation whose namespace the machine lost is made again by the next allocate', async () => {
  const id = track('tal-reboot');
  const first = await host.manager.attach(id, { mode: net, networks: [{ name: net, ip: ip(54) }] });
  execFileSync('umount', [first.netnsPath ?? '']);
  const again = await host.manager.allocate(id);
  expect(again.made).toBe(true);
  expect(await mounted(again.netnsPath)).toBe(true);
  expect(again.settings.Networks[net]?.IPAddress).toBe(ip(54));
});

describe('container:<id>', () => {
  test('joining a namespace that is not allocated is refused in docker\'s words', async () => {
    await host.manager.configure(track('tal-owner-off'), { mode: net });
    await host.manager.configure(track('tal-joiner-off'), { mode: 'container:tal-owner-off' });
    await expect(host.manager.allocate('tal-joiner-off')).rejects.toMatchObject({
      code: 'Conflict',
      message: 'cannot join network of a non running container: tal-owner-off',
    });
  });

  test('the joiner gets the other container\'s hostname', async () => {
    await host.manager.attach(track('tal-owner'), { mode: net, name: 'owner', hostname: 'ownerhost' });
    await host.manager.configure(track('tal-joiner'), { mode: 'container:tal-owner', name: 'joiner' });
    const joined = await host.manager.allocate('tal-joiner');
    expect(joined.sharedWith).toBe('tal-owner');
    expect(joined.hostname).toBe('ownerhost');
  });
});
