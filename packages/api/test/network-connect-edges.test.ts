import { reserveTestBlock } from '../../../test/support/test-subnets';
import { docker, json, request, useTestDaemon, type RawResponse } from './fixture';

// `POST /networks/{id}/connect` and `/disconnect` at the edges of a container's network mode
// and state, answered with dockerd 27's statuses and words.

const t = useTestDaemon();
const block = reserveTestBlock();
const NET = 'edges-net';

beforeAll(async () => {
  expect((await docker(t.env, ['network', 'create', '--subnet', block.subnet(0), NET])).code).toBe(0);
});

afterAll(() => block.release());

function connect(network: string, body: Record<string, unknown>): Promise<RawResponse> {
  return request(t.socket, 'POST', `/v1.47/networks/${network}/connect`, JSON.stringify(body));
}

function disconnect(network: string, container: string): Promise<RawResponse> {
  return request(t.socket, 'POST', `/v1.47/networks/${network}/disconnect`, JSON.stringify({ Container: container }));
}

async function container(name: string, args: string[], start: boolean): Promise<void> {
  expect((await docker(t.env, [start ? 'run' : 'create', ...(start ? ['-d'] : []), '--name', name, ...args, 'busybox', 'sleep', '600'])).code).toBe(0);
}

test("a running host container's second connect to host is a 403 in libnetwork's words", async () => {
  await container('edges-host-running', ['--network', 'host'], true);
  const answer = await connect('host', { Container: 'edges-host-running' });
  expect({ status: answer.status, body: json(answer) }).toEqual({ status: 403, body: { message: 'endpoint with name edges-host-running already exists in network host' } });
});

test('a running host container is not disconnected from host: a 400', async () => {
  await container('edges-host-stays', ['--network', 'host'], true);
  expect((await disconnect('host', 'edges-host-stays')).status).toBe(400);
});

test('a stopped host container is disconnected from host, and inspect shows it on no network', async () => {
  await container('edges-host-stopped', ['--network', 'host'], false);
  expect((await disconnect('host', 'edges-host-stopped')).status).toBe(200);
  expect((await docker(t.env, ['inspect', '--format', '{{json .NetworkSettings.Networks}}', 'edges-host-stopped'])).stdout).toBe('{}\n');
});

test("a stopped container sharing another's namespace is connected to a network (recorded, never joined)", async () => {
  await container('edges-owner', ['--network', NET], true);
  await container('edges-sharer', ['--network', 'container:edges-owner'], false);
  expect((await connect(NET, { Container: 'edges-sharer' })).status).toBe(200);
  expect((await docker(t.env, ['inspect', '--format', '{{json .NetworkSettings.Networks}}', 'edges-sharer'])).stdout).toContain(`"${NET}"`);
});

test("a running container sharing another's namespace is not connected to a network: a 400", async () => {
  await container('edges-owner-2', ['--network', NET], true);
  await container('edges-sharer-2', ['--network', 'container:edges-owner-2'], true);
  expect((await connect(NET, { Container: 'edges-sharer-2' })).status).toBe(400);
});

test('a connect asking for an address another container holds is a 403: Address already in use', async () => {
  await container('edges-holder', ['--network', NET, '--ip', `${block.net(0)}.50`], true);
  await container('edges-asker', [], true);
  const answer = await connect(NET, { Container: 'edges-asker', EndpointConfig: { IPAMConfig: { IPv4Address: `${block.net(0)}.50` } } });
  expect(answer.status).toBe(403);
  expect((json(answer) as { message: string }).message).toMatch(/^Address already in use/);
});

test('a start whose --ip another container holds is a 403: Address already in use', async () => {
  await container('edges-holder-2', ['--network', NET, '--ip', `${block.net(0)}.51`], true);
  await container('edges-late', ['--network', NET, '--ip', `${block.net(0)}.51`], false);
  const answer = await request(t.socket, 'POST', '/v1.47/containers/edges-late/start');
  expect(answer.status).toBe(403);
  expect((json(answer) as { message: string }).message).toMatch(/^Address already in use/);
});
