/**
 * `--log-driver fluentd`: real containers' lines reach a forward-protocol listener on
 * 127.0.0.1 or a unix socket as fluent-logger-golang sends them for moby: msgpack
 * `[tag, time, record, nil]`, the record `container_id`, `container_name`, `source`, `log`.
 */
import type { CreateContainerOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';
import { closedPort, msgpackValues, streamListener, type Listener, type Msgpack } from './log-driver-listeners';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t.cleanup();
});

async function run(cmd: string[], options: Record<string, string>, more: Partial<CreateContainerOptions> = {}): Promise<string> {
  const { id } = await t.engine.run({ image: 'busybox', cmd, network: 'none', pull: 'never', stdout: collector(), stderr: collector(), log: { driver: 'fluentd', options }, ...more });
  return id;
}

/** The forward messages received, once there are `count` whole ones. */
async function forwarded(listener: Listener, count: number): Promise<Msgpack[][]> {
  const decoded = (): Msgpack[][] | undefined => {
    try {
      return msgpackValues(listener.bytes()) as Msgpack[][];
    } catch {
      return undefined; // a message still arriving
    }
  };
  await listener.until(() => (decoded()?.length ?? 0) >= count);
  return decoded() as Msgpack[][];
}

/** host:port of a tcp:// listener, as fluentd-address is usually written. */
const hostPort = (l: Listener): string => `127.0.0.1:${l.port}`;

test('each line is one forward message: the tag (short id), the time in seconds, the record, no option', async () => {
  const tcp = await streamListener();
  try {
    const before = Math.floor(Date.now() / 1000);
    const id = await run(['sh', '-c', 'echo hello; echo oops >&2'], { 'fluentd-address': hostPort(tcp) }, { name: 'fluent-one' });
    const messages = await forwarded(tcp, 2);
    const after = Math.ceil(Date.now() / 1000);
    for (const [tag, time, , option] of messages) {
      expect(tag).toBe(id.slice(0, 12));
      expect(time).toBeGreaterThanOrEqual(before);
      expect(time).toBeLessThanOrEqual(after);
      expect(option).toBeNull();
    }
    expect(messages.map((m) => m[2])).toEqual(
      expect.arrayContaining([
        { container_id: id, container_name: '/fluent-one', source: 'stdout', log: 'hello' },
        { container_id: id, container_name: '/fluent-one', source: 'stderr', log: 'oops' },
      ]),
    );
  } finally {
    await tcp.close();
  }
});

test('fluentd-sub-second-precision sends the time as an EventTime (ext 0: seconds and nanoseconds)', async () => {
  const tcp = await streamListener();
  try {
    await run(['echo', 'precise'], { 'fluentd-address': `tcp://${hostPort(tcp)}`, 'fluentd-sub-second-precision': 'true' });
    const [[, time]] = (await forwarded(tcp, 1)) as [Msgpack[]];
    const { ext, data } = time as { ext: number; data: Buffer };
    expect(ext).toBe(0);
    expect(Math.abs(data.readUInt32BE(0) - Date.now() / 1000)).toBeLessThan(60);
    expect(data.readUInt32BE(4)).toBeLessThan(1e9);
  } finally {
    await tcp.close();
  }
});

test('to a unix socket, with a tag template and the labels asked for in the record', async () => {
  const unix = await streamListener({ unix: true });
  try {
    const id = await run(['echo', 'via unix'], { 'fluentd-address': unix.address, tag: 'app.{{.Name}}', labels: 'tier' }, { name: 'fluent-unix', labels: { tier: 'back' } });
    const [[tag, , record]] = (await forwarded(unix, 1)) as [Msgpack[]];
    expect(tag).toBe('app.fluent-unix');
    expect(record).toEqual({ container_id: id, container_name: '/fluent-unix', tier: 'back', source: 'stdout', log: 'via unix' });
  } finally {
    await unix.close();
  }
});

test("a server that refuses fails the start in dockerd's words", async () => {
  const port = await closedPort();
  await expect(run(['echo', 'never'], { 'fluentd-address': `127.0.0.1:${port}` })).rejects.toMatchObject({
    message: `failed to initialize logging driver: dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
});

test('with fluentd-async the container starts without the server; its lines wait for the server and then arrive', async () => {
  const port = await closedPort();
  const { id } = await t.engine.run({
    image: 'busybox',
    cmd: ['sh', '-c', 'echo early; while [ ! -e /go ]; do sleep 0.05; done; echo late'],
    network: 'none',
    pull: 'never',
    detach: true,
    log: { driver: 'fluentd', options: { 'fluentd-address': `127.0.0.1:${port}`, 'fluentd-async': 'true' } },
  });
  const tcp = await streamListener({ port });
  try {
    await t.engine.exec(id, { cmd: ['touch', '/go'] });
    const messages = await forwarded(tcp, 2);
    expect(messages.map((m) => (m[2] as Record<string, string>).log)).toEqual(['early', 'late']);
  } finally {
    await tcp.close();
  }
});
