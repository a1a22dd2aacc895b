import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../../test/support/free-port';
import { freePortRun } from '../../../test/support/free-port-run';
import { allocatedRefusal, boundRefusal } from '../../../test/support/port-refusal';
import { httpGet, inNetns, makeTestHost, startHttpd, stopProcess, type TestHost } from './helpers/host';

let host: TestHost;
const servers: ChildProcess[] = [];

beforeAll(async () => {
  host = await makeTestHost('tpr');
  await host.manager.createNetwork({ name: 'tprt-app', subnet: host.subnet(1) });
});

afterEach(async () => {
  for (const s of servers.splice(0)) await stopProcess(s);
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('-p 127.0.0.1:HOSTPORT:80 is reachable from the host with HTTP', async () => {
  const port = await freePort();
  const r = await host.manager.attach('tprt-web', { mode: 'tprt-app', ports: [`127.0.0.1:${port}:80`] });
  servers.push(await startHttpd(r.netnsPath ?? '', path.join(host.root, 'web'), 'published\n'));
  expect(r.settings.Ports).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
  expect(await httpGet(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'published\n' });
  await host.manager.detach('tprt-web');
});

test('ports publish on the default bridge network too', async () => {
  const port = await freePort();
  const r = await host.manager.attach('tprt-dflt', { ports: [`127.0.0.1:${port}:80`] });
  servers.push(await startHttpd(r.netnsPath ?? '', path.join(host.root, 'dflt'), 'default bridge\n'));
  expect(r.settings.Networks['bridge']?.IPAddress?.startsWith(`${host.net(15)}.`)).toBe(true);
  expect((await httpGet(`http://127.0.0.1:${port}/`)).body).toBe('default bridge\n');
  await host.manager.detach('tprt-dflt');
});

test('a host port already published is refused with Docker\'s message and nothing is left', async () => {
  const port = await freePort();
  await host.manager.attach('tprt-first', { mode: 'tprt-app', ports: [`127.0.0.1:${port}:80`] });
  const before = await host.manager.inspectNetwork('tprt-app');
  const err = await host.manager.attach('tprt-second', { mode: 'tprt-app', ports: [`127.0.0.1:${port}:80`] }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'Internal', cause: { code: 'Conflict' } });
  expect((err as Error).message).toMatch(allocatedRefusal('tprt-second', '127.0.0.1', port));
  expect(Object.keys((await host.manager.inspectNetwork('tprt-app')).Containers)).toEqual(Object.keys(before.Containers));
  await expect(fs.stat(path.join(host.root, 'run', 'netns', 'tprt-second'))).rejects.toThrow();
  await expect(host.manager.settings('tprt-second')).rejects.toMatchObject({ code: 'NotFound' });
  await host.manager.detach('tprt-first');
});

test('a host port held by another process is refused in docker\'s words for a failed bind', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await expect(host.manager.attach('tprt-busy', { mode: 'tprt-app', ports: [`127.0.0.1:${port}:80`] })).rejects.toMatchObject({
      code: 'Internal',
      message: expect.stringMatching(boundRefusal('tprt-busy', '127.0.0.1', port)),
    });
  } finally {
    server.close();
  }
});

test('-P publishes every exposed port on a free host port', async () => {
  const r = await host.manager.attach('tprt-all', { mode: 'tprt-app', exposedPorts: ['80/tcp', '53/udp'], publishAll: true });
  const tcp = r.settings.Ports['80/tcp']?.[0];
  const udp = r.settings.Ports['53/udp']?.[0];
  expect(Number(tcp?.HostPort)).toBeGreaterThan(0);
  expect(Number(udp?.HostPort)).toBeGreaterThan(0);
  servers.push(await startHttpd(r.netnsPath ?? '', path.join(host.root, 'all'), 'all\n'));
  expect((await httpGet(`http://127.0.0.1:${tcp?.HostPort}/`)).body).toBe('all\n');
  await host.manager.detach('tprt-all');
});

test('a container on another network reaches a published port through a host address', async () => {
  await host.manager.createNetwork({ name: 'tprt-other', subnet: host.subnet(2) });
  const client = await host.manager.attach('tprt-client', { mode: 'tprt-other' });
  const gateway = client.settings.Networks['tprt-other']?.Gateway ?? '';
  const port = await freePort();
  const r = await host.manager.attach('tprt-srv', { mode: 'tprt-app', ports: [`${gateway}:${port}:80`] });
  servers.push(await startHttpd(r.netnsPath ?? '', path.join(host.root, 'srv'), 'via host\n'));
  expect(inNetns(client.netnsPath ?? '', ['/bin/busybox', 'wget', '-qO-', `http://${gateway}:${port}/`])).toBe('via host\n');
  await host.manager.detach('tprt-srv');
  await host.manager.detach('tprt-client');
  await host.manager.removeNetwork('tprt-other');
});

test('a udp port is published too', async () => {
  const port = await freePort();
  const r = await host.manager.attach('tprt-udp', { mode: 'tprt-app', ports: [`127.0.0.1:${port}:5353/udp`] });
  // busybox nc has no UDP; a tiny Node echo server runs inside the namespace instead.
  const echoSource = "require('dgram').createSocket('udp4').on('message', function (m, r) { this.send('pong\\n', r.port, r.address); }).bind(5353, () => console.log('ready'))";
  const echo = spawn('nsenter', [`--net=${r.netnsPath}`, process.execPath, '-e', echoSource], { stdio: ['ignore', 'pipe', 'ignore'] });
  servers.push(echo);
  await new Promise((res) => echo.stdout?.once('data', res));
  const sock = dgram.createSocket('udp4');
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no udp reply')), 5000);
      sock.on('message', (m) => {
        clearTimeout(timer);
        resolve(m.toString());
      });
      sock.send('ping\n', port, '127.0.0.1');
    });
    expect(reply).toBe('pong\n');
  } finally {
    sock.close();
  }
  await host.manager.detach('tprt-udp');
});

test('exposed ports without -P are listed but not published', async () => {
  const r = await host.manager.attach('tprt-exp', { mode: 'tprt-app', exposedPorts: ['8080/tcp'] });
  expect(r.settings.Ports).toEqual({ '8080/tcp': null });
  await host.manager.detach('tprt-exp');
});

test('a port range publishes one mapping per port', async () => {
  const a = await freePortRun(2);
  const b = a + 1;
  const r = await host.manager.attach('tprt-range', { mode: 'tprt-app', ports: [`127.0.0.1:${a}-${b}:80-81`] });
  expect(r.settings.Ports).toEqual({
    '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(a) }],
    '81/tcp': [{ HostIp: '127.0.0.1', HostPort: String(b) }],
  });
  await host.manager.detach('tprt-range');
});

test('a host range to one container port publishes its first free port, and the next container the next one', async () => {
  const a = await freePortRun(3);
  const first = await host.manager.attach('tprt-hr1', { mode: 'tprt-app', ports: [`127.0.0.1:${a}-${a + 2}:80`] });
  const second = await host.manager.attach('tprt-hr2', { mode: 'tprt-app', ports: [`127.0.0.1:${a}-${a + 2}:80`] });
  expect(first.settings.Ports).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(a) }] });
  expect(second.settings.Ports).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(a + 1) }] });
  await host.manager.detach('tprt-hr1');
  await host.manager.detach('tprt-hr2');
});

test('a port of a host range that a process holds is passed over', async () => {
  const a = await freePortRun(2);
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(a, '127.0.0.1', r));
  try {
    const r = await host.manager.attach('tprt-hrbusy', { mode: 'tprt-app', ports: [`127.0.0.1:${a}-${a + 1}:80`] });
    expect(r.settings.Ports['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(a + 1) }]);
    await host.manager.detach('tprt-hrbusy');
  } finally {
    server.close();
  }
});

test('a host range without an address takes a port free on both 0.0.0.0 and [::]', async () => {
  const a = await freePortRun(2);
  const server = net.createServer();
  // Held on [::] only: free for 0.0.0.0, yet not for a binding that is on [::] too.
  await new Promise<void>((r) => server.listen({ port: a, host: '::', ipv6Only: true }, r));
  try {
    const r = await host.manager.attach('tprt-hrdual', { mode: 'tprt-app', ports: [`${a}-${a + 1}:80`] });
    expect(r.settings.Ports['80/tcp']).toEqual([
      { HostIp: '0.0.0.0', HostPort: String(a + 1) },
      { HostIp: '::', HostPort: String(a + 1) },
    ]);
    await host.manager.detach('tprt-hrdual');
  } finally {
    server.close();
  }
});

test('a host range whose every port is published already is refused as dockerd refuses it', async () => {
  const a = await freePortRun(2);
  await host.manager.attach('tprt-hrfull1', { mode: 'tprt-app', ports: [`127.0.0.1:${a}-${a + 1}:80`] });
  await host.manager.attach('tprt-hrfull2', { mode: 'tprt-app', ports: [`127.0.0.1:${a}-${a + 1}:80`] });
  const err = await host.manager.attach('tprt-hrfull3', { mode: 'tprt-app', ports: [`127.0.0.1:${a}-${a + 1}:80`] }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'Internal', cause: { code: 'Conflict' } });
  expect((err as Error).message).toMatch(/^failed to set up container networking: driver failed programming external connectivity on endpoint tprt-hrfull3 \([0-9a-f]{64}\): all ports are allocated$/);
  await host.manager.detach('tprt-hrfull1');
  await host.manager.detach('tprt-hrfull2');
});

test('detach removes the port rules so the host port can be published again', async () => {
  const port = await freePort();
  await host.manager.attach('tprt-again1', { mode: 'tprt-app', ports: [`127.0.0.1:${port}:80`] });
  await host.manager.detach('tprt-again1');
  const r = await host.manager.attach('tprt-again2', { mode: 'tprt-app', ports: [`127.0.0.1:${port}:80`] });
  expect(r.settings.Ports['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(port) }]);
  await host.manager.detach('tprt-again2');
});
