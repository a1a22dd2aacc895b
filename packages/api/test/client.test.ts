import { Readable } from 'node:stream';
import { ApiClient, ApiServer } from '@ctr/api';
import { TAR_END, encodeTarHeader, tarPadding } from '@ctr/image';
import { useTestDaemon } from './fixture';

const t = useTestDaemon();
let client: ApiClient;
beforeAll(() => {
  client = new ApiClient({ host: `unix://${t.socket}` });
});
afterAll(() => {
  client?.close();
});
function tarOf(files: Record<string, string>): Readable {
  const parts: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const body = Buffer.from(text);
    parts.push(encodeTarHeader({ name, type: 'file', mode: 0o644, size: body.length, mtime: 1_700_000_000 }), body, tarPadding(body.length));
  }
  parts.push(TAR_END);
  return Readable.from([Buffer.concat(parts)]);
}

test('ping and version report the served API version', async () => {
  expect(await client.ping()).toEqual({ apiVersion: '1.47', osType: 'linux', builderVersion: '1' });
  expect((await client.version()).ApiVersion).toBe('1.47');
});

test('a container runs to its exit code and its output comes back demultiplexed', async () => {
  const { Id } = await client.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 9'], HostConfig: { NetworkMode: 'none' } });
  const wait = client.waitContainer(Id, 'next-exit');
  await client.startContainer(Id);
  expect((await wait).StatusCode).toBe(9);
  const lines: string[] = [];
  for await (const entry of client.logs(Id)) lines.push(`${entry.stream}:${entry.data.toString()}`);
  expect(lines.sort()).toEqual(['stderr:err\n', 'stdout:out\n']);
  await client.removeContainer(Id);
});

test('exec collects output and exit code from a running container', async () => {
  const { Id } = await client.createContainer({ Image: 'busybox', Cmd: ['sleep', '30'], HostConfig: { NetworkMode: 'none' } });
  await client.startContainer(Id);
  expect(await client.exec(Id, { Cmd: ['sh', '-c', 'echo hi; echo no >&2; exit 2'] })).toEqual({ exitCode: 2, stdout: 'hi\n', stderr: 'no\n' });
  await client.removeContainer(Id, { force: true });
});

test('daemon errors are CtrErrors with the code of their status', async () => {
  await expect(client.inspectContainer('api-client-missing')).rejects.toMatchObject({ code: 'NotFound', message: 'No such container: api-client-missing' });
  await expect(client.createContainer({ Image: 'busybox', Cmd: 7 as unknown as string[] })).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('a build resolves with the image ID, and a failing step throws with its exit code', async () => {
  const id = await client.build(tarOf({ Dockerfile: 'FROM busybox\nRUN echo built > /b\n' }), { tags: ['api-client-built:1'] });
  expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect((await client.inspectImage('api-client-built:1')).Id).toBe(id);
  await expect(client.build(tarOf({ Dockerfile: 'FROM busybox\nRUN exit 4\n' }))).rejects.toMatchObject({ details: { exitCode: 4 } });
});

test('a client reaches a daemon on loopback TCP', async () => {
  const server = await ApiServer.listen({ engine: t.daemon.engine, hosts: ['tcp://127.0.0.1:0'] });
  const tcp = new ApiClient({ host: server.addresses[0]?.host as string });
  try {
    expect((await tcp.listImages()).map((i) => i.RepoTags).flat()).toContain('busybox:latest');
  } finally {
    tcp.close();
    await server.close();
  }
});

test('a daemon that is not there is Unavailable with the address', async () => {
  const nowhere = new ApiClient({ host: `unix://${t.root}/nothing.sock` });
  await expect(nowhere.ping()).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringContaining(`Cannot connect to the ctr daemon at unix://${t.root}/nothing.sock`) });
});

test('events follow what happens until the signal aborts', async () => {
  const abort = new AbortController();
  const seen: Array<{ id: string; action: string }> = [];
  let created = '';
  // From a moment before: what happens before the daemon has the request in hand is not missed.
  const since = Math.floor(Date.now() / 1000);
  const following = (async () => {
    for await (const event of client.events({ since, filters: { type: ['container'] }, signal: abort.signal })) {
      seen.push({ id: event.Actor.ID, action: event.Action });
      if (event.Action === 'destroy' && event.Actor.ID === created) abort.abort();
    }
  })();
  const { Id } = await client.createContainer({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
  created = Id;
  await client.removeContainer(Id);
  await following;
  // Other tests' containers may still report their exits meanwhile: this one's events are these.
  expect(seen.filter((event) => event.id === Id).map((event) => event.action)).toEqual(['create', 'destroy']);
});
