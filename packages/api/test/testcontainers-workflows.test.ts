import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GenericContainer, Network, Wait, type StartedTestContainer } from 'testcontainers';
import { useTestDaemon } from './fixture';

/** What a test suite written against Docker with testcontainers does, against ctrd. */
const saved = { ...process.env };
const t = useTestDaemon();
let context: string;
beforeAll(async () => {
  process.env.DOCKER_HOST = `unix://${t.socket}`;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
  process.env.HOME = t.root;
  context = join(t.root, 'web-context');
  await mkdir(context);
  await writeFile(join(context, 'hello.txt'), 'hello from a built image\n');
  await writeFile(
    join(context, 'Dockerfile'),
    [
      'FROM busybox',
      'COPY hello.txt /www/index.html',
      'EXPOSE 8080',
      'HEALTHCHECK --interval=1s --timeout=1s CMD wget -qO- http://127.0.0.1:8080/index.html',
      'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
    ].join('\n'),
  );
});
afterAll(() => {
  process.env = saved;
});

async function stopped<T>(container: StartedTestContainer, use: (c: StartedTestContainer) => Promise<T>): Promise<T> {
  try {
    return await use(container);
  } finally {
    await container.stop({ timeout: 1 });
  }
}

test('an image built from a Dockerfile serves HTTP on the host port testcontainers maps, once its port listens', async () => {
  const image = await GenericContainer.fromDockerfile(context).build('tc-web:latest', { deleteOnExit: false });
  const body = await stopped(await image.withExposedPorts(8080).withWaitStrategy(Wait.forListeningPorts()).withStartupTimeout(30_000).start(), async (c) => {
    const response = await fetch(`http://127.0.0.1:${c.getMappedPort(8080)}/index.html`);
    return response.text();
  });
  expect(body).toBe('hello from a built image\n');
}, 90_000);

test('a wait for the health check returns once the image HEALTHCHECK reports healthy', async () => {
  const image = await GenericContainer.fromDockerfile(context).build('tc-web:latest', { deleteOnExit: false });
  const health = await stopped(await image.withWaitStrategy(Wait.forHealthCheck()).withStartupTimeout(30_000).start(), async (c) => {
    return (await t.daemon.engine.inspect(c.getId())).State.Health?.Status;
  });
  expect(health).toBe('healthy');
}, 90_000);

test('containers on a testcontainers network reach each other by network alias', async () => {
  const network = await new Network().start();
  try {
    const server = await new GenericContainer('busybox:latest')
      .withNetwork(network)
      .withNetworkAliases('server')
      .withCommand(['sh', '-c', 'mkdir /w && echo pong > /w/ping && httpd -f -p 80 -h /w'])
      .start();
    const reply = await stopped(server, async () =>
      stopped(await new GenericContainer('busybox:latest').withNetwork(network).withCommand(['sleep', '60']).start(), (client) =>
        client.exec(['wget', '-qO-', 'http://server/ping']),
      ),
    );
    expect(reply.output).toBe('pong\n');
  } finally {
    await network.stop();
  }
}, 90_000);

test('files and content copied before the start are in the container when it runs', async () => {
  const output = await stopped(
    await new GenericContainer('busybox:latest')
      .withCopyFilesToContainer([{ source: join(context, 'hello.txt'), target: '/copied/hello.txt' }])
      .withCopyContentToContainer([{ content: 'given', target: '/copied/given.txt' }])
      .withCommand(['sleep', '60'])
      .withNetworkMode('none')
      .start(),
    async (c) => (await c.exec(['cat', '/copied/hello.txt', '/copied/given.txt'])).output,
  );
  expect(output).toBe('hello from a built image\ngiven');
}, 60_000);

test('an exec takes its environment, working directory and user from the call', async () => {
  const result = await stopped(
    await new GenericContainer('busybox:latest').withCommand(['sleep', '60']).withNetworkMode('none').start(),
    (c) => c.exec(['sh', '-c', 'echo "$FOO $(pwd) $(id -u)"'], { env: { FOO: 'bar' }, workingDir: '/tmp', user: '1000' }),
  );
  expect(result).toMatchObject({ exitCode: 0, stdout: 'bar /tmp 1000\n' });
}, 60_000);

test('a log consumer receives both output streams from the start', async () => {
  let received = '';
  await stopped(
    await new GenericContainer('busybox:latest')
      .withCommand(['sh', '-c', 'echo to-stdout; echo to-stderr >&2; sleep 60'])
      .withLogConsumer((stream) => stream.on('data', (line: string) => (received += line)))
      .withWaitStrategy(Wait.forLogMessage('to-stderr'))
      .withNetworkMode('none')
      .start(),
    async () => undefined,
  );
  expect(received.split('\n').filter(Boolean).sort()).toEqual(['to-stderr', 'to-stdout']);
}, 60_000);

test('a committed container becomes an image with its changes', async () => {
  const imageId = await stopped(
    await new GenericContainer('busybox:latest').withCommand(['sleep', '60']).withNetworkMode('none').start(),
    async (c) => {
      await c.exec(['sh', '-c', 'echo kept > /made']);
      return c.commit({ repo: 'tc-committed', tag: 'v1' });
    },
  );
  const output = await stopped(
    await new GenericContainer('tc-committed:v1').withCommand(['sleep', '60']).withNetworkMode('none').start(),
    async (c) => (await c.exec(['cat', '/made'])).output,
  );
  expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(output).toBe('kept\n');
}, 60_000);
