import { docker, json, request, useTestDaemon } from './fixture';

/**
 * The docker CLI answers a 404 from POST /containers/create by pulling the image: only a missing
 * image may be a create's 404. (Raw requests here: a docker CLI given a wrong 404 would pull.)
 */
const t = useTestDaemon();

function create(body: Record<string, unknown>): ReturnType<typeof request> {
  return request(t.socket, 'POST', '/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['true'], ...body }));
}

test('a create on a network that does not exist is a 400 naming the network', async () => {
  const response = await create({ HostConfig: { NetworkMode: 'nosuchnet' } });
  expect(response.status).toBe(400);
  expect(json(response)).toEqual({ message: expect.stringContaining('network nosuchnet not found') });
});

test('a create joining a container that does not exist is a 400', async () => {
  const response = await create({ HostConfig: { NetworkMode: 'container:nosuchcontainer' } });
  expect(response.status).toBe(400);
  expect(json(response)).toEqual({ message: expect.stringContaining('nosuchcontainer') });
});

test('a create of an image that is not here is the 404 the docker CLI pulls on', async () => {
  const response = await create({ Image: 'ctr-create-not-found/nosuchimage:1' });
  expect(response.status).toBe(404);
  expect(json(response)).toEqual({ message: 'No such image: ctr-create-not-found/nosuchimage:1' });
});

test('docker run --pull never on a network that does not exist says so and exits 125', async () => {
  const run = await docker(t.env, ['run', '--pull', 'never', '--network', 'nosuchnet', 'busybox', 'true']);
  expect(run.code).toBe(125);
  expect(run.stderr).toContain('Error response from daemon: network nosuchnet not found');
});
