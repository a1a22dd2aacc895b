import { docker, json, request, useTestDaemon } from './fixture';

// moby's containerFileNotFound for `docker cp`'s archive endpoints: the path as asked (however
// deep the missing part) and the container as the request named it.

const t = useTestDaemon();

let id: string;
beforeAll(async () => {
  const created = await docker(t.env, ['create', '--pull', 'never', '--network', 'none', '--name', 'arc-missing', 'busybox']);
  expect(created.code).toBe(0);
  id = created.stdout.trim();
});

/** An empty tar stream: its two end blocks. */
const emptyTar = (): Buffer => Buffer.alloc(1024);

test('PUT into a path under a missing directory names the whole path and the container', async () => {
  const put = await request(t.socket, 'PUT', '/v1.47/containers/arc-missing/archive?path=/nonexistent/dir', emptyTar(), { 'Content-Type': 'application/x-tar' });
  expect(put.status).toBe(404);
  expect(json(put)).toEqual({ message: 'Could not find the file /nonexistent/dir in container arc-missing' });
});

test('GET of a path under a missing directory names the whole path and the container', async () => {
  const got = await request(t.socket, 'GET', '/v1.47/containers/arc-missing/archive?path=/nonexistent/dir');
  expect(got.status).toBe(404);
  expect(json(got)).toEqual({ message: 'Could not find the file /nonexistent/dir in container arc-missing' });
});

test('HEAD of a path under a missing directory is a 404', async () => {
  expect((await request(t.socket, 'HEAD', '/v1.47/containers/arc-missing/archive?path=/nonexistent/dir')).status).toBe(404);
});

test('the container is named as the request named it: an ID prefix as given', async () => {
  const got = await request(t.socket, 'GET', `/v1.47/containers/${id.slice(0, 12)}/archive?path=/nonexistent`);
  expect(json(got)).toEqual({ message: `Could not find the file /nonexistent in container ${id.slice(0, 12)}` });
});

test("docker cp from a missing path prints dockerd's message", async () => {
  const copied = await docker(t.env, ['cp', 'arc-missing:/nonexistent/dir', '-']);
  expect(copied).toMatchObject({ code: 1, stderr: 'Error response from daemon: Could not find the file /nonexistent/dir in container arc-missing\n' });
});
