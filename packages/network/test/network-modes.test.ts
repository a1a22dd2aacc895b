import { promises as fs } from 'node:fs';
import { inNetns, makeTestHost, type TestHost } from './helpers/host';

let host: TestHost;

beforeAll(async () => {
  host = await makeTestHost('tmo');
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('none has only the loopback interface, up', async () => {
  const r = await host.manager.attach('tmod-none', { mode: 'none' });
  const links = inNetns(r.netnsPath ?? '', ['ip', '-o', 'link', 'show']).trim().split('\n');
  expect(links).toHaveLength(1);
  expect(links[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  expect(Object.keys(r.settings.Networks)).toEqual(['none']);
  await host.manager.detach('tmod-none');
  await expect(fs.stat(r.netnsPath ?? '')).rejects.toThrow();
});

test('host mode has no namespace of its own and the host resolv.conf', async () => {
  const r = await host.manager.attach('tmod-host', { mode: 'host' });
  expect(r.netnsPath).toBeUndefined();
  expect(r.resolvConf).toBe(await fs.readFile(host.options.hostResolvConf ?? '/etc/resolv.conf', 'utf8'));
  expect(Object.keys(r.settings.Networks)).toEqual(['host']);
  await host.manager.detach('tmod-host');
});

test('container:<id> shares the other container\'s namespace and hostname', async () => {
  const owner = await host.manager.attach('tmod-owner', { mode: 'bridge', hostname: 'ownerhost' });
  const joined = await host.manager.attach('tmod-joined', { mode: 'container:tmod-owner' });
  expect(joined.netnsPath).toBe(owner.netnsPath);
  expect(joined.hostname).toBe('ownerhost');
  await host.manager.detach('tmod-joined');
  expect(await fs.stat(owner.netnsPath ?? '')).toBeTruthy();
  await host.manager.detach('tmod-owner');
});

test("container:<id> of a container on none (no sandbox here) is joined through that one's process, not by a path of this manager's", async () => {
  const joined = await host.manager.attach('tmod-none-joiner', { mode: 'container:tmod-none-owner', hostname: 'nonehost' });
  expect(joined).toMatchObject({ sharedWith: 'tmod-none-owner', joinsProcessOf: 'tmod-none-owner', hostname: 'nonehost' });
  expect(joined.netnsPath).toBeUndefined();
  await host.manager.detach('tmod-none-joiner');
});

test('container:<id> of a container that joins a process is joined through its own process', async () => {
  await host.manager.attach('tmod-chain-first', { mode: 'container:tmod-chain-none', hostname: 'chainhost' });
  const joined = await host.manager.attach('tmod-chain-second', { mode: 'container:tmod-chain-first' });
  expect(joined).toMatchObject({ joinsProcessOf: 'tmod-chain-first', hostname: 'chainhost' });
  expect(joined.netnsPath).toBeUndefined();
  await host.manager.detach('tmod-chain-second');
  await host.manager.detach('tmod-chain-first');
});

test('the default bridge gives an address, a gateway route, and the host DNS servers but not loopback ones', async () => {
  const r = await host.manager.attach('tmod-bridge', {});
  const ep = r.settings.Networks['bridge'];
  expect(ep?.IPAddress?.startsWith(`${host.net(15)}.`)).toBe(true);
  expect(r.settings.IPAddress).toBe(ep?.IPAddress);
  expect(ep?.MacAddress).toBe(`02:42:${(ep?.IPAddress ?? '').split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join(':')}`);
  expect(inNetns(r.netnsPath ?? '', ['ip', 'route', 'show', 'default'])).toContain(`via ${host.net(15)}.1 dev eth0`);
  expect(r.resolvConf).not.toMatch(/nameserver (127\.|::1)/);
  expect(r.resolvConf).not.toContain('127.0.0.11');
  await host.manager.detach('tmod-bridge');
});

test('the default bridge refuses aliases and static addresses like Docker', async () => {
  await expect(host.manager.attach('tmod-alias', { networks: [{ name: 'bridge', aliases: ['x'] }] })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'network-scoped alias is supported only for containers in user defined networks',
  });
  await expect(host.manager.attach('tmod-ip', { networks: [{ name: 'bridge', ip: `${host.net(15)}.50` }] })).rejects.toMatchObject({
    code: 'InvalidArgument',
  });
});

test('attaching the same container twice is a Conflict', async () => {
  await host.manager.attach('tmod-twice', { mode: 'none' });
  await expect(host.manager.attach('tmod-twice', { mode: 'none' })).rejects.toMatchObject({ code: 'Conflict' });
  await host.manager.detach('tmod-twice');
});

test('detaching a container that has no network is not an error', async () => {
  await expect(host.manager.detach('tmod-never')).resolves.toBeUndefined();
});

test('a container ID that could escape the run directory is refused', async () => {
  await expect(host.manager.attach('../escape', { mode: 'none' })).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('an attach whose signal has fired is Aborted and makes nothing', async () => {
  const controller = new AbortController();
  controller.abort();
  await expect(host.manager.attach('tmod-abort', { mode: 'none', signal: controller.signal })).rejects.toMatchObject({ code: 'Aborted' });
  await expect(host.manager.settings('tmod-abort')).rejects.toMatchObject({ code: 'NotFound' });
  await expect(fs.stat(`${host.options.runRoot}/netns/tmod-abort`)).rejects.toThrow();
});
