/**
 * The log writer's fluentd delivery (`remote-log.ts`) as fluent-logger-golang does it for moby:
 * request-ack's chunk ids and acks, fluentd-max-retries, and fluentd-async at the log's end.
 * The writer runs as conmon's launcher runs it, a shell in conmon's place writing k8s-file
 * records into its FIFO; the servers listen on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logWriterArgv } from '../src/log-writer';
import { remoteWriter, type FluentdLog } from '../src/remote-log';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctr-log-writer-fluentd-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the writer over `lines` (stdout records) with fluentd `settings`, to its exit; its exit code. */
async function write(lines: string[], settings: Partial<FluentdLog> & Pick<FluentdLog, 'address'>): Promise<number | null> {
  const remote = remoteWriter(
    { driver: 'fluentd', tag: 'app', fields: {}, async: false, subSecondPrecision: false, bufferLimit: 8192, retryWait: 1, maxRetries: 3, requestAck: false, cache: false, ...settings },
    { hostname: 'host', created: '2024-01-01T00:00:00Z' },
  );
  const fifo = join(dir, 'log.fifo');
  const records = lines.map((text) => `2024-01-01T00:00:00.000000000Z stdout F ${text}\n`).join('');
  const monitor = ['sh', '-c', 'printf %s "$1" > "$2"', 'sh', records, fifo];
  const [program, ...args] = logWriterArgv(undefined, fifo, undefined, monitor, remote) as [string, ...string[]];
  const writer = spawn(program, args, { stdio: 'ignore' });
  return new Promise((resolve) => writer.once('exit', resolve));
}

/** A forward server on 127.0.0.1 that answers each message with `answer(its chunk id)`; the connections' messages. */
async function forwardServer(answer: (chunk: string) => Buffer | undefined): Promise<{ port: number; connections: string[][]; close: () => Promise<void> }> {
  const connections: string[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const seen: string[] = [];
    connections.push(seen);
    socket.on('data', (data) => {
      // Each message ends with its option map {chunk: <24 bytes>}: 0x81, "chunk", 0xb8 and the id.
      const text = data.toString('latin1');
      for (const [, log, chunk] of text.matchAll(/\xa3log[\xa0-\xbf]([^\x81]*)\x81\xa5chunk\xb8(.{24})/gs)) {
        seen.push(`${log as string} ${chunk as string}`);
        const reply = answer(chunk as string);
        if (reply) socket.write(reply);
        else socket.destroy();
      }
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** fluentd's ack: the msgpack map {ack: id}. */
const ack = (id: string): Buffer => Buffer.concat([Buffer.from([0x81, 0xa3]), Buffer.from('ack'), Buffer.from([0xa0 | id.length]), Buffer.from(id)]);

test('with fluentd-request-ack every message carries a chunk id in its option, and the server acking each, all arrive once on one connection', async () => {
  const server = await forwardServer(ack);
  try {
    const code = await write(['one', 'two', 'three'], { address: { network: 'tcp', address: `127.0.0.1:${server.port}` }, requestAck: true });
    expect(code).toBe(0);
    expect(server.connections).toHaveLength(1);
    const seen = server.connections[0] as string[];
    expect(seen.map((m) => m.split(' ')[0])).toEqual(['one', 'two', 'three']);
    const ids = seen.map((m) => m.split(' ')[1] as string);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(Buffer.from(id, 'base64')).toHaveLength(16);
  } finally {
    await server.close();
  }
});

test('a message whose ack does not come is sent again on a new connection, fluentd-max-retries times in all, then given up', async () => {
  const server = await forwardServer(() => undefined);
  try {
    const code = await write(['unacked'], { address: { network: 'tcp', address: `127.0.0.1:${server.port}` }, requestAck: true, maxRetries: 3 });
    expect(code).toBe(0);
    expect(server.connections.map((c) => c.map((m) => m.split(' ')[0]))).toEqual([['unacked'], ['unacked'], ['unacked']]);
  } finally {
    await server.close();
  }
});

test('a wrong ack counts as none: the message goes again', async () => {
  let answered = 0;
  const server = await forwardServer((chunk) => (answered++ === 0 ? ack('x'.repeat(24)) : ack(chunk)));
  try {
    const code = await write(['retried'], { address: { network: 'tcp', address: `127.0.0.1:${server.port}` }, requestAck: true, maxRetries: 5 });
    expect(code).toBe(0);
    expect(server.connections.map((c) => c.map((m) => m.split(' ')[0]))).toEqual([['retried'], ['retried']]);
  } finally {
    await server.close();
  }
});

test('with fluentd-async and request-ack, queued messages wait for their acks and all arrive', async () => {
  const server = await forwardServer(ack);
  try {
    const code = await write(['a', 'b', 'c'], { address: { network: 'tcp', address: `127.0.0.1:${server.port}` }, requestAck: true, async: true });
    expect(code).toBe(0);
    expect(server.connections.flat().map((m) => m.split(' ')[0])).toEqual(['a', 'b', 'c']);
  } finally {
    await server.close();
  }
});

test("fluentd-async: what is still queued when the log ends gets one more dial, then is dropped; the writer does not wait out the retries", async () => {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as net.AddressInfo;
  await new Promise((resolve) => closed.close(resolve));
  // An hour between retries: only a writer that drops the queue at the end exits.
  const code = await write(['lost', 'also lost'], { address: { network: 'tcp', address: `127.0.0.1:${port}` }, async: true, retryWait: 3_600_000 });
  expect(code).toBe(0);
});

test("a line its 16 KiB pieces take all of ends with an empty last piece, each piece with moby's partial_* fields", async () => {
  const received: Buffer[] = [];
  const server = net.createServer((socket) => socket.on('data', (data) => received.push(data)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as net.AddressInfo).port;
    expect(await write(['x'.repeat(32768)], { address: { network: 'tcp', address: `127.0.0.1:${port}` } })).toBe(0);
    const text = Buffer.concat(received).toString('latin1');
    const pieces = [...text.matchAll(/\xa3log(\xda\x40\x00x{16384}|\xa0)\xafpartial_message\xa4true\xaapartial_id\xd9\x40([0-9a-f]{64})\xafpartial_ordinal\xa1(\d)\xacpartial_last[\xa4\xa5](true|false)/g)];
    expect(pieces.map(([, log, , ordinal, last]) => [log === '\xa0' ? 0 : 16384, ordinal, last])).toEqual([
      [16384, '1', 'false'],
      [16384, '2', 'false'],
      [0, '3', 'true'],
    ]);
    expect(new Set(pieces.map((p) => p[2])).size).toBe(1);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
