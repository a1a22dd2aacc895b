/**
 * A published host port another container holds, through the API as through dockerd: the
 * create succeeds (ports are published at the start), the start answers 500 with libnetwork's
 * words. The daemon counts that 500 as its own (dockerd logs it too): this file's daemon is
 * not `useTestDaemon`'s, which fails a test for any.
 */
import { freePort } from '../../../test/support/free-port';
import { allocatedRefusal } from '../../../test/support/port-refusal';
import { docker, json, request, startTestDaemon, type TestDaemon } from './fixture';

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon();
});
afterEach(async () => {
  for (const c of await t.daemon.engine.ps({ all: true })) await t.daemon.engine.remove(c.Id, { force: true });
});
afterAll(async () => {
  await t?.cleanup();
});

/** A running container publishing 127.0.0.1:`port` → 80. */
async function holder(port: number): Promise<void> {
  await t.daemon.engine.run({ image: 'busybox', cmd: ['sleep', '300'], publish: [`127.0.0.1:${port}:80`], detach: true, pull: 'never' });
}

/** POST /containers/create of a `sleep` publishing 127.0.0.1:`port` → 80 (removed at its exit with `autoRemove`). */
function create(name: string, port: number, autoRemove = false): ReturnType<typeof request> {
  const body = { Image: 'busybox', Cmd: ['sleep', '300'], ExposedPorts: { '80/tcp': {} }, HostConfig: { AutoRemove: autoRemove, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] } } };
  return request(t.socket, 'POST', `/v1.47/containers/create?name=${name}`, JSON.stringify(body));
}

test('POST /containers/create with a host port another container publishes answers 201', async () => {
  const port = await freePort();
  await holder(port);
  const created = await create('api-clash-create', port);
  expect(created.status).toBe(201);
  expect((await t.daemon.engine.inspect('api-clash-create')).State.Status).toBe('created');
});

test('POST /containers/{id}/start of it answers 500 with docker\'s message', async () => {
  const port = await freePort();
  await holder(port);
  const { Id } = json(await create('api-clash-start', port)) as { Id: string };
  const started = await request(t.socket, 'POST', `/v1.47/containers/${Id}/start`);
  expect(started.status).toBe(500);
  expect((json(started) as { message: string }).message).toMatch(allocatedRefusal('api-clash-start', '127.0.0.1', port));
});

test('docker run onto a taken host port exits 125 with the daemon\'s message and leaves the container created', async () => {
  const port = await freePort();
  await holder(port);
  const run = await docker(t.env, ['run', '-d', '--name', 'api-clash-cli', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '300']);
  expect(run.code).toBe(125);
  const [said] = run.stderr.split('\n');
  expect(said?.replace(/^docker: Error response from daemon: /, '')).toMatch(allocatedRefusal('api-clash-cli', '127.0.0.1', port));
  expect((await docker(t.env, ['ps', '-a', '--filter', 'name=api-clash-cli', '--format', '{{.Status}}'])).stdout).toBe('Created\n');
});

test('POST /containers/{id}/start of an AutoRemove one answers 500 and removes it, as dockerd does', async () => {
  const port = await freePort();
  await holder(port);
  const { Id } = json(await create('api-clash-autoremove', port, true)) as { Id: string };
  expect((await request(t.socket, 'POST', `/v1.47/containers/${Id}/start`)).status).toBe(500);
  expect((await request(t.socket, 'GET', `/v1.47/containers/${Id}/json`)).status).toBe(404);
});
