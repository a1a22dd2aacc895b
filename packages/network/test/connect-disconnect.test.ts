import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inNetns, lookup, makeTestHost, startHttpd, stopProcess, type TestHost } from './helpers/host';

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

test('connecting twice to the same network is a Conflict', async () => {
  await expect(host.manager.connect('tcon-app', { name: 'tcon-back' })).rejects.toMatchObject({ code: 'Conflict' });
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
  const HOST_NETWORK = 'container cannot be disconnected from host network or connected to host network';
  const SHARED_NETWORK = 'container sharing network namespace with another container or host cannot be connected to any other network';
  const NO_NETWORK = 'container cannot be connected to multiple networks with one of the networks in private (none) mode';

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

  test("a container sharing another's namespace is not connected to any network", async () => {
    await expect(host.manager.connect('tcon-shared', { name: 'tcon-back' })).rejects.toMatchObject({ code: 'InvalidArgument', message: SHARED_NETWORK });
  });

  test('connecting a host container to host changes nothing, as dockerd\'s duplicate connect', async () => {
    await expect(host.manager.connect('tcon-host', { name: 'host' })).resolves.toMatchObject({ Networks: { host: expect.any(Object) } });
  });

  test('a host container is not disconnected from host', async () => {
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
