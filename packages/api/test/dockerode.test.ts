import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { useTestDaemon } from './fixture';

const t = useTestDaemon();

test('dockerode creates, starts, waits for and reads the logs of a container', async () => {
  const client = new Docker({ socketPath: t.socket });
  const container = await client.createContainer({
    Image: 'busybox',
    Cmd: ['sh', '-c', 'echo to-out; echo to-err >&2; exit 6'],
    HostConfig: { NetworkMode: 'none' },
  });
  await container.start();
  const status = (await container.wait()) as { StatusCode: number };
  expect(status.StatusCode).toBe(6);
  const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  const out = new PassThrough();
  const err = new PassThrough();
  const outChunks: Buffer[] = [];
  const errChunks: Buffer[] = [];
  out.on('data', (c: Buffer) => outChunks.push(c));
  err.on('data', (c: Buffer) => errChunks.push(c));
  const source = new PassThrough();
  client.modem.demuxStream(source, out, err);
  source.end(logs);
  await new Promise((resolve) => setImmediate(resolve));
  expect(Buffer.concat(outChunks).toString()).toBe('to-out\n');
  expect(Buffer.concat(errChunks).toString()).toBe('to-err\n');
  const info = await container.inspect();
  expect(info.State.ExitCode).toBe(6);
  await container.remove();
});

test('dockerode attaches to a running container without hijacking', async () => {
  const client = new Docker({ socketPath: t.socket });
  const container = await client.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'sleep 0.5; echo attached'], HostConfig: { NetworkMode: 'none' } });
  const stream = await container.attach({ stream: true, stdout: true, stderr: true });
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  client.modem.demuxStream(stream, out, out);
  const ended = new Promise((resolve) => stream.once('end', resolve));
  await container.start();
  await container.wait();
  await ended;
  expect(Buffer.concat(chunks).toString()).toBe('attached\n');
  await container.remove();
});
