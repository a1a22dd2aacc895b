import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inNetns, lookup, makeTestHost, startHttpd, stopProcess, type TestHost } from './helpers/host';

/** runconfig's errors, as dockerd 27 words its refusals of a container's mode (400s). */
const HOST_NETWORK = 'container cannot be disconnected from host network or connected to host network';
const SHARED_NETWORK = 'container sharing network namespace with another container or host cannot be connected to any other network';
const NO_NETWORK = 'container cannot be connected to multiple networks with one of the networks in private (none) mode';

let host: TestHost;
let httpd: ChildProcess | undefined;
let appNs = '';
let peerNs = '';

beforeAll(async () => {
  host = await makeTestHost('tco');
  await host.manager.createNetwork({ name: 'tcon-front', subnet: host.subnet(1) });
  await host.manager.createNetwork({ name: 'tcon-back', subnet: host.subnet(2) });
  appNs = (await host.manager.attach('tcon-app', { mode: 'tcon-front', name: 'app' })).netnsPath ?? '';
  peerNs = (await host.manager.attach('tcon-db', { mode: 'tcon-back', name: 'db' })).netnsPath ?? '';
  // A process lives in the namespace throughout: connect works on a running container.
  httpd = await startHttpd(appNs, path.join(host.root, 'www'), 'app\n');
});

afterAll(async () => {
  await stopProcess(httpd);
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('connect adds eth1 with an address on the second network and names resolve there', async () => {
  const settings = await host.manager.connect('tcon-app', { name: 'tcon-back', aliases: ['api'] });
  const back = settings.Networks['tcon-back'];
  expect(back?.IPAddress?.startsWith(`${host.net(2)}.`)).toBe(true);
  expect(back?.Aliases).toEqual(['api']);
  expect(Object.keys(settings.Networks)).toEqual(['tcon-front', 'tcon-back']);
  expect(inNetns(appNs, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth1'])).toContain(`${back?.IPAddress}/24`);
  expect(lookup(peerNs, 'api')).toEqual([back?.IPAddress]);
  expect(lookup(appNs, 'db')).toHaveLength(1);
  expect(inNetns(peerNs, ['/bin/busybox', 'wget', '-qO-', `http://${back?.IPAddress}/`])).toBe('app\n');
});

test("a running container's second connect to a network meets its endpoint there, refused as libnetwork refuses it (a 403)", async () => {
  await expect(host.manager.connect('tcon-app', { name: 'tcon-back' })).rejects.toMatchObject({
    code: 'Denied',
    message: 'endpoint with name app already exists in network tcon-back',
  });
});

test('disconnect removes the interface, the name and the lease', async () => {
  const ip = (await host.manager.settings('tcon-app')).Networks['tcon-back']?.IPAddress;
  const settings = await host.manager.disconnect('tcon-app', 'tcon-back');
  expect(Object.keys(settings.Networks)).toEqual(['tcon-front']);
  expect(inNetns(appNs, ['ip', '-o', 'link', 'show'])).not.toContain('eth1');
  expect(lookup(peerNs, 'api')).toEqual([]);
  const again = await host.manager.attach('tcon-reuse', { networks: [{ name: 'tcon-back', ip }] });
  expect(again.settings.Networks['tcon-back']?.IPAddress).toBe(ip);
  await host.manager.detach('tcon-reuse');
});

test('disconnecting from the first network moves the default route and DNS to the remaining one', async () => {
  await host.manager.connect('tcon-app', { name: 'tcon-back' });
  await host.manager.disconnect('tcon-app', 'tcon-front');
  expect(inNetns(appNs, ['ip', 'route', 'show', 'default'])).toContain(`via ${host.net(2)}.1 dev eth1`);
  expect(lookup(appNs, 'db')).toHaveLength(1);
});

test('disconnect from a network the container is not on is NotFound', async () => {
  await expect(host.manager.disconnect('tcon-app', 'tcon-front')).rejects.toMatchObject({ code: 'NotFound' });
});

describe("networks a container's mode cannot join or leave, refused in dockerd 27's words (runconfig's errors, 400s)", () => {

  beforeAll(async () => {
    await host.manager.attach('tcon-host', { mode: 'host' });
    await host.manager.attach('tcon-shared', { mode: 'container:tcon-app' });
  });

  afterAll(async () => {
    await host.manager.detach('tcon-shared');
    await host.manager.detach('tcon-host');
  });

  test('a bridge container is not connected to host', async () => {
    await expect(host.manager.connect('tcon-app', { name: 'host' })).rejects.toMatchObject({ code: 'InvalidArgument', message: HOST_NETWORK });
  });

  test('a bridge container is not connected to none', async () => {
    await expect(host.manager.connect('tcon-app', { name: 'none' })).rejects.toMatchObject({ code: 'InvalidArgument', message: NO_NETWORK });
  });

  test('a container on none (which has no sandbox) is not connected to a bridge network', async () => {
    await expect(host.manager.connect('tcon-nothing', { name: 'tcon-back' })).rejects.toMatchObject({ code: 'InvalidArgument', message: NO_NETWORK });
  });

  test('a container on none is not connected to host', async () => {
    await expect(host.manager.connect('tcon-nothing', { name: 'host' })).rejects.toMatchObject({ code: 'InvalidArgument', message: HOST_NETWORK });
  });

  test('a host container is not connected to a bridge network', async () => {
    await expect(host.manager.connect('tcon-host', { name: 'tcon-back' })).rejects.toMatchObject({ code: 'InvalidArgument', message: SHARED_NETWORK });
  });

  test("a running container sharing another's namespace is not connected to any network", async () => {
    await expect(host.manager.connect('tcon-shared', { name: 'tcon-back' })).rejects.toMatchObject({ code: 'InvalidArgument', message: SHARED_NETWORK });
  });

  test("a running host container's second connect to host meets its endpoint there, refused as libnetwork refuses it (a 403)", async () => {
    await expect(host.manager.connect('tcon-host', { name: 'host' })).rejects.toMatchObject({
      code: 'Denied',
      message: 'endpoint with name tcon-host already exists in network host',
    });
  });

  test('a running host container is not disconnected from host', async () => {
    await expect(host.manager.disconnect('tcon-host', 'host')).rejects.toMatchObject({ code: 'InvalidArgument', message: HOST_NETWORK });
  });

  test('disconnecting a container on none from a bridge network is NotFound: it is not connected to it', async () => {
    await expect(host.manager.disconnect('tcon-nothing', 'tcon-back')).rejects.toMatchObject({
      code: 'NotFound',
      message: 'container tcon-nothing is not connected to the network tcon-back',
    });
  });

  test('disconnecting a container on none from none leaves it on none, as dockerd removes that endpoint', async () => {
    await expect(host.manager.disconnect('tcon-nothing', 'none')).resolves.toMatchObject({ Networks: { none: expect.any(Object) } });
  });
});

describe("a stopped container's connects and disconnects are only recorded, as dockerd's for a container not running", () => {
  beforeEach(async () => {
    await host.manager.configure('tcon-host-stopped', { mode: 'host' });
    await host.manager.configure('tcon-shared-stopped', { mode: 'container:tcon-app' });
  });

  afterEach(async () => {
    await host.manager.detach('tcon-shared-stopped');
    await host.manager.detach('tcon-host-stopped');
  });

  test("a stopped host container's second connect to host changes nothing", async () => {
    await expect(host.manager.connect('tcon-host-stopped', { name: 'host' })).resolves.toMatchObject({ Networks: { host: expect.any(Object) } });
  });

  test('a stopped host container is disconnected from host, and is then on no network', async () => {
    await expect(host.manager.disconnect('tcon-host-stopped', 'host')).resolves.toMatchObject({ Networks: {} });
    expect((await host.manager.settings('tcon-host-stopped')).Networks).toEqual({});
  });

  test('a host container disconnected from host is not connected to it any more', async () => {
    await host.manager.disconnect('tcon-host-stopped', 'host');
    await expect(host.manager.disconnect('tcon-host-stopped', 'host')).rejects.toMatchObject({
      code: 'NotFound',
      message: 'container tcon-host-stopped is not connected to the network host',
    });
  });

  test('a host container disconnected from host is back on it once connected to it again', async () => {
    await host.manager.disconnect('tcon-host-stopped', 'host');
    await host.manager.connect('tcon-host-stopped', { name: 'host' });
    expect(Object.keys((await host.manager.settings('tcon-host-stopped')).Networks)).toEqual(['host']);
  });

  test("a stopped container sharing another's namespace is recorded on the network it connects to, with no address", async () => {
    const settings = await host.manager.connect('tcon-shared-stopped', { name: 'tcon-back', aliases: ['shared'] });
    expect(settings.Networks['tcon-back']).toMatchObject({ IPAddress: '', Aliases: ['shared'] });
  });

  test("a sharing container's start makes no endpoint on the networks it was recorded on", async () => {
    await host.manager.connect('tcon-shared-stopped', { name: 'tcon-back' });
    const started = await host.manager.allocate('tcon-shared-stopped');
    expect(started.settings.Networks['tcon-back']).toMatchObject({ IPAddress: '', EndpointID: '' });
    expect(Object.keys((await host.manager.inspectNetwork('tcon-back')).Containers)).not.toContain('tcon-shared-stopped');
    await host.manager.release('tcon-shared-stopped');
  });

  test('a running sharing container has no endpoint to disconnect from the networks it was recorded on', async () => {
    await host.manager.connect('tcon-shared-stopped', { name: 'tcon-back' });
    await host.manager.allocate('tcon-shared-stopped');
    await expect(host.manager.disconnect('tcon-shared-stopped', 'tcon-back')).rejects.toMatchObject({ code: 'NotFound' });
    await host.manager.release('tcon-shared-stopped');
  });

  test('a stopped sharing container is disconnected from a network it was recorded on', async () => {
    await host.manager.connect('tcon-shared-stopped', { name: 'tcon-back' });
    await expect(host.manager.disconnect('tcon-shared-stopped', 'tcon-back')).resolves.toMatchObject({ Networks: {} });
  });

  test('a stopped sharing container is not connected to host', async () => {
    await expect(host.manager.connect('tcon-shared-stopped', { name: 'host' })).rejects.toMatchObject({ code: 'InvalidArgument', message: HOST_NETWORK });
  });
});
