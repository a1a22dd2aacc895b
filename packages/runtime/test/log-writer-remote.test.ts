/**
 * The log writer with a remote driver in front (`remote-log.ts`), run as conmon's launcher
 * runs it, with a shell in conmon's place writing k8s-file records into the FIFO, and a GELF
 * TCP listener on 127.0.0.1 as the destination.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logWriterArgv } from '../src/log-writer';
import { remoteWriter } from '../src/remote-log';

test("without a log file (the cache disabled), a size limit does not stop the writer: every record reaches the driver", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-log-writer-remote-'));
  const received: Buffer[] = [];
  let ended!: () => void;
  // The writer's exit can come before the server has read what it sent: its end says it has.
  const end = new Promise<void>((resolve) => (ended = resolve));
  const server = net.createServer((socket) => socket.on('data', (chunk) => received.push(chunk)).on('end', () => ended()));
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const remote = remoteWriter(
      { driver: 'gelf', address: { network: 'tcp', address: `127.0.0.1:${port}` }, compression: 'none', compressionLevel: -1, maxReconnect: 0, reconnectDelay: 0, extra: {}, cache: false },
      { hostname: 'host', created: '2024-01-01T00:00:00Z' },
    );
    const fifo = join(dir, 'log.fifo');
    const records = ['one', 'two', 'three'].map((text) => `2024-01-01T00:00:00.000000000Z stdout F ${text}\n`).join('');
    const monitor = ['sh', '-c', 'printf %s "$1" > "$2"', 'sh', records, fifo];
    const [program, ...args] = logWriterArgv(undefined, fifo, { maxSize: 10, maxFiles: 1, compress: false }, monitor, remote) as [string, ...string[]];
    const writer = spawn(program, args, { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => writer.once('exit', resolve));

    expect(code).toBe(0);
    await end;
    const messages = Buffer.concat(received).toString().split('\0').slice(0, -1);
    expect(messages.map((m) => (JSON.parse(m) as { short_message: string }).short_message)).toEqual(['one', 'two', 'three']);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});
