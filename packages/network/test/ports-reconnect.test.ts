/**
 * Published ports survive network changes (the docker-compose bug): compose disconnects and
 * reconnects a created container to set its aliases, and `docker network disconnect` /
 * `connect` do the same by hand. The port bindings belong to the container: DNAT follows
 * its routing endpoint to the new address, or waits until a network can carry it.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../../test/support/free-port';
import { allocatedRefusal } from '../../../test/support/port-refusal';
import { httpGet, makeTestHost, startHttpd, stopProcess, type TestHost } from './helpers/host';

let host: TestHost;
const servers: ChildProcess[] = [];

/** The body, or the error code when nothing answers on the port. */
async function get(port: number): Promise<string> {
  return httpGet(`http://127.0.0.1:${port}/`).then(
    (r) => r.body,
    (e: NodeJS.ErrnoException) => e.code ?? String(e),
  );
}

beforeAll(async () => {
  host = await makeTestHost('trc');
  await host.manager.createNetwork({ name: 'trcn-one', subnet: host.subnet(1) });
  await host.manager.createNetwork({ name: 'trcn-two', subnet: host.subnet(2) });
});

afterEach(async () => {
  for (const s of servers.splice(0)) await stopProcess(s);
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

async function webOn(id: string, network: string, ports: string[]): Promise<void> {
  const attached = await host.manager.attach(id, { mode: network, ports });
  servers.push(await startHttpd(attached.netnsPath ?? '', path.join(host.root, id), `${id}\n`));
}

test('disconnect then connect of the same network publishes the port again at the new address', async () => {
  const port = await freePort();
  await webOn('trc-same', 'trcn-one', [`127.0.0.1:${port}:80`]);
  expect(await get(port)).toBe('trc-same\n');
  const gone = await host.manager.disconnect('trc-same', 'trcn-one');
  expect(gone.Ports).toEqual({});
  expect(await get(port)).toBe('ECONNREFUSED');
  const back = await host.manager.connect('trc-same', { name: 'trcn-one', aliases: ['web'] });
  expect(back.Ports).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
  expect(await get(port)).toBe('trc-same\n');
  await host.manager.detach('trc-same');
  expect(await get(port)).toBe('ECONNREFUSED');
});

test('connecting a second network keeps the port answering', async () => {
  const port = await freePort();
  await webOn('trc-second', 'trcn-one', [`127.0.0.1:${port}:80`]);
  await host.manager.connect('trc-second', { name: 'trcn-two' });
  expect(await get(port)).toBe('trc-second\n');
  await host.manager.detach('trc-second');
});

test('disconnecting the network that carried the port moves it to the remaining one', async () => {
  const port = await freePort();
  await webOn('trc-move', 'trcn-one', [`127.0.0.1:${port}:80`]);
  await host.manager.connect('trc-move', { name: 'trcn-two' });
  await host.manager.disconnect('trc-move', 'trcn-one');
  expect(await get(port)).toBe('trc-move\n');
  await host.manager.detach('trc-move');
});

test('a port given as host port 0 keeps the host port it was given', async () => {
  await webOn('trc-any', 'trcn-one', ['127.0.0.1::80']);
  const before = (await host.manager.settings('trc-any')).Ports['80/tcp']?.[0]?.HostPort;
  await host.manager.disconnect('trc-any', 'trcn-one');
  const after = await host.manager.connect('trc-any', { name: 'trcn-two' });
  expect(after.Ports['80/tcp']?.[0]?.HostPort).toBe(before);
  expect(await get(Number(before))).toBe('trc-any\n');
  await host.manager.detach('trc-any');
});

test("a host port taken while the container was disconnected fails the connect in dockerd's words, leaving it disconnected", async () => {
  const port = await freePort();
  await webOn('trc-taken', 'trcn-one', [`127.0.0.1:${port}:80`]);
  await host.manager.disconnect('trc-taken', 'trcn-one');
  await webOn('trc-thief', 'trcn-two', [`127.0.0.1:${port}:80`]);
  // libnetwork's sbJoin: an InternalError (a 500) naming the joining endpoint, the portallocator's refusal its cause.
  await expect(host.manager.connect('trc-taken', { name: 'trcn-one' })).rejects.toMatchObject({
    code: 'Internal',
    cause: { code: 'Conflict' },
    message: expect.stringMatching(allocatedRefusal('trc-taken', '127.0.0.1', port, 'connect')),
  });
  expect(Object.keys((await host.manager.settings('trc-taken')).Networks)).toEqual([]);
  expect(Object.keys((await host.manager.inspectNetwork('trcn-one')).Containers)).toEqual([]);
  expect(await get(port)).toBe('trc-thief\n');
  await host.manager.detach('trc-thief');
  await host.manager.detach('trc-taken');
});
