import net from 'node:net';
import { ingressProxyPid, syncIngress } from '../src/ingress';
import { createIngressNetwork, createSwarmNetwork } from '../src/networks';
import { allocatePorts } from '../src/ports';
import type { PortConfig, Service } from '../src/types';
import { swarmNetFixture, type SwarmNetFixture } from './network-fixture';
import { answerOn } from './swarm-fixture';

/**
 * The routing mesh: the ingress proxy listens on a service's published port and hands each
 * connection to the next of its running tasks (busybox `nc` servers that answer their name on
 * real bridges), passing over a task that refuses; it reports a port it cannot bind, and exits
 * when nothing is published. Clients connect on 127.0.0.1 only.
 */
let f: SwarmNetFixture;
let service: Service;
let port: number;

async function answers(count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(await answerOn(port));
  return out;
}

const answering = (name: string): string[] => ['nc', '-ll', '-p', '80', '-e', 'echo', name];

beforeAll(async () => {
  f = await swarmNetFixture();
  await f.init();
  await createIngressNetwork(f.ctx);
  await createSwarmNetwork(f.ctx, { name: 'meshnet', driver: 'overlay' });
  const ports = await f.ctx.store.transaction((tx) => allocatePorts(f.ctx, tx, { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 0 }] }, 'mesh'));
  port = ports[0]?.PublishedPort ?? 0;
  service = await f.addService('mesh', ports, ['meshnet']);
  await f.runTask(service, 1, answering('task-a'), 'ingress');
  await f.runTask(service, 2, answering('task-b'), 'ingress');
});

afterAll(async () => {
  await f?.cleanup();
});

test('the proxy serves the published port and spreads connections over both tasks in turn', async () => {
  const status = await syncIngress(f.ctx);
  expect(status).toEqual({ pid: await ingressProxyPid(f.ctx), failed: [] });
  const got = await answers(4);
  expect([...new Set(got)].sort()).toEqual(['task-a', 'task-b']);
  expect(got[0]).not.toBe(got[1]);
});

test('a task that refuses the connection is passed over for the next', async () => {
  await f.runTask(service, 3, ['sleep', '600'], 'ingress');
  await syncIngress(f.ctx);
  const got = await answers(6);
  expect(got.every((a) => a === 'task-a' || a === 'task-b')).toBe(true);
});

test('a sync with nothing changed leaves the proxy as it is', async () => {
  const before = await ingressProxyPid(f.ctx);
  expect((await syncIngress(f.ctx)).pid).toBe(before);
});

test('a published port some other process holds is reported, the others still served', async () => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const held = (holder.address() as net.AddressInfo).port;
  const taken: PortConfig = { Protocol: 'tcp', TargetPort: 80, PublishedPort: held, PublishMode: 'ingress' };
  const other = await f.addService('taken', [taken]);
  try {
    expect((await syncIngress(f.ctx)).failed).toEqual([{ port: held, protocol: 'tcp', code: 'EADDRINUSE' }]);
    expect(['task-a', 'task-b']).toContain(await answerOn(port));
  } finally {
    await f.ctx.store.transaction((tx) => tx.delete('services', other.ID));
    await new Promise((resolve) => holder.close(resolve));
  }
});

test('the proxy exits when no port is published any more', async () => {
  const pid = await ingressProxyPid(f.ctx);
  expect(pid).toBeDefined();
  await f.ctx.store.transaction((tx) => tx.delete('services', service.ID));
  expect(await syncIngress(f.ctx)).toEqual({ failed: [] });
  expect(await ingressProxyPid(f.ctx)).toBeUndefined();
  await expect(answerOn(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});
