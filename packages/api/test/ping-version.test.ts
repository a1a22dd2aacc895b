import { stat } from 'node:fs/promises';
import { docker, json, request, startTestDaemon, type TestDaemon } from './fixture';

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon();
});
afterAll(async () => {
  await t?.cleanup();
});

test('/_ping answers GET and HEAD with the version headers docker negotiates with', async () => {
  for (const method of ['GET', 'HEAD']) {
    const res = await request(t.socket, method, '/_ping');
    expect(res.status).toBe(200);
    expect(res.headers['api-version']).toBe('1.47');
    expect(res.headers.ostype).toBe('linux');
    expect(res.headers['builder-version']).toBe('1');
    expect(res.body.toString()).toBe(method === 'GET' ? 'OK' : '');
  }
});

test('versioned and unversioned paths reach the same endpoint', async () => {
  const plain = json(await request(t.socket, 'GET', '/version')) as Record<string, unknown>;
  const versioned = json(await request(t.socket, 'GET', '/v1.41/version')) as Record<string, unknown>;
  expect(versioned.ApiVersion).toBe('1.47');
  expect(versioned.MinAPIVersion).toBe('1.24');
  expect(plain.Version).toBe(versioned.Version);
});

test('a client version newer than served is refused with 400 and dockerd words', async () => {
  const res = await request(t.socket, 'GET', '/v1.99/version');
  expect(res.status).toBe(400);
  expect(json(res)).toEqual({ message: 'client version 1.99 is too new. Maximum supported API version is 1.47' });
});

test('an unknown endpoint is a 404 with a JSON message', async () => {
  const res = await request(t.socket, 'GET', '/v1.47/nothing/here');
  expect(res.status).toBe(404);
  expect((json(res) as { message: string }).message).toMatch(/page not found/);
});

test('the socket is created mode 0660', async () => {
  expect((await stat(t.socket)).mode & 0o777).toBe(0o660);
});

test('docker version shows the ctr server and the negotiated API version', async () => {
  const run = await docker(t.env, ['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}']);
  expect(run.stderr).toBe('');
  expect(run.stdout.trim()).toBe('0.1.0 1.47');
});

test('docker info reports the storage driver, cgroup driver and image count', async () => {
  const run = await docker(t.env, ['info', '--format', '{{.Driver}} {{.CgroupDriver}} {{.Images}} {{.OSType}}']);
  expect(run.code).toBe(0);
  expect(run.stdout.trim()).toBe('overlay2 cgroupfs 1 linux');
});

test('docker images lists the imported busybox', async () => {
  const run = await docker(t.env, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
  expect(run.code).toBe(0);
  expect(run.stdout.trim().split('\n')).toEqual(['busybox:latest']);
  expect(t.internalErrors).toEqual([]);
});
