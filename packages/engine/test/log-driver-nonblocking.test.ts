/**
 * `--log-opt mode=non-blocking` for the remote drivers, as moby's ring buffer: the container's
 * output never waits for the destination, the local cache (`logs`) keeps every line, and the
 * destination gets what the buffer (`max-buffer-size` bytes of lines) kept, new lines dropped
 * while it is full. Real containers; destinations on 127.0.0.1 that stall or are not there.
 */
import * as net from 'node:net';
import { collector, testEngine, type TestEngine } from './fixture';
import { closedPort, msgpackValues, streamListener, type Msgpack } from './log-driver-listeners';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t.cleanup();
});

/** Enough lines (about 4 MB) that a receiver which does not read fills its socket's buffers and the ring. */
const LINES = 40_000;
const PAD = 'x'.repeat(88);
const line = (i: number): string => `line ${String(i).padStart(6, '0')} ${PAD}`;
const WRITE_LINES = `awk 'BEGIN { for (i = 0; i < ${LINES}; i++) printf "line %06d ${PAD}\\n", i }'`;

/** The container's log as `logs` reads it (the driver's local cache). */
async function cached(id: string, follow = false, last?: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const entry of t.engine.logs(id, { follow })) {
    lines.push(entry.line.replace(/\n$/, ''));
    if (lines[lines.length - 1] === last) break;
  }
  return lines;
}

/** A TCP server on 127.0.0.1 that accepts a connection but reads nothing from it until `read` is called. */
async function stalledListener(): Promise<{ port: number; read(): Promise<Buffer>; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    // Everything the sender sends, to its end (the writer closes once its queue is empty).
    read: () =>
      new Promise((resolve, reject) => {
        const [socket] = sockets;
        if (!socket) return reject(new Error('nothing connected'));
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('end', () => resolve(Buffer.concat(chunks)));
        socket.resume();
      }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test('a GELF TCP receiver that stops reading does not stop the container: it exits, logs has every line, the receiver gets the kept lines in order', async () => {
  const receiver = await stalledListener();
  try {
    const { id, exitCode } = await t.engine.run({
      image: 'busybox',
      cmd: ['sh', '-c', WRITE_LINES],
      network: 'none',
      pull: 'never',
      stdout: collector(),
      stderr: collector(),
      log: { driver: 'gelf', options: { 'gelf-address': `tcp://127.0.0.1:${receiver.port}`, mode: 'non-blocking', 'max-buffer-size': '64k' } },
    });
    expect(exitCode).toBe(0);
    const all = Array.from({ length: LINES }, (_, i) => line(i));
    expect(await cached(id)).toEqual(all);

    const received = (await receiver.read()).toString().split('\0').slice(0, -1);
    const messages = received.map((m) => (JSON.parse(m) as { short_message: string }).short_message);
    // Lines the full buffer refused were dropped; what it kept came in order, the first lines first.
    const numbers = messages.map((m) => (m === line(Number(m.slice(5, 11))) ? Number(m.slice(5, 11)) : -1));
    expect(numbers[0]).toBe(0);
    expect(numbers.every((n, i) => n > (numbers[i - 1] ?? -1))).toBe(true);
    expect(messages.length).toBeLessThan(LINES);
  } finally {
    await receiver.close();
  }
}, 120_000);

test('fluentd-async with no server: the container writes on, logs has every line, and the server that comes gets the lines max-buffer-size held', async () => {
  const port = await closedPort();
  const { id } = await t.engine.run({
    image: 'busybox',
    cmd: ['sh', '-c', `${WRITE_LINES}; while [ ! -e /go ]; do sleep 0.05; done; echo late`],
    network: 'none',
    pull: 'never',
    detach: true,
    log: {
      driver: 'fluentd',
      options: { 'fluentd-address': `127.0.0.1:${port}`, 'fluentd-async': 'true', 'fluentd-retry-wait': '10ms', mode: 'non-blocking', 'max-buffer-size': '64k' },
    },
  });
  const all = Array.from({ length: LINES }, (_, i) => line(i));
  expect(await cached(id, true, line(LINES - 1))).toEqual(all);
  const tcp = await streamListener({ port });
  try {
    // moby's ring: lines while their sizes fit in 64 KiB (the one that does not, and all after it, dropped).
    const kept = Math.floor((64 * 1024) / line(0).length);
    const logs = (): string[] => {
      try {
        return (msgpackValues(tcp.bytes()) as Msgpack[][]).map((m) => (m[2] as Record<string, string>).log as string);
      } catch {
        return []; // a message still arriving
      }
    };
    await tcp.until(() => logs().length >= kept);
    expect(logs()).toEqual(all.slice(0, kept));

    // Once the queue has gone, new lines go straight on.
    await t.engine.exec(id, { cmd: ['touch', '/go'] });
    await tcp.until(() => logs().length > kept);
    expect(logs().slice(kept)).toEqual(['late']);
  } finally {
    await tcp.close();
  }
}, 120_000);

test("an invalid max-buffer-size is refused in dockerd's words", async () => {
  await expect(
    t.engine.run({ image: 'busybox', cmd: ['true'], network: 'none', pull: 'never', log: { driver: 'syslog', options: { mode: 'non-blocking', 'max-buffer-size': 'lots' } } }),
  ).rejects.toMatchObject({ message: "error parsing option max-buffer-size: invalid size: 'lots'" });
});
