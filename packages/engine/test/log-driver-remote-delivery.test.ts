/**
 * Remote log drivers' delivery where the simple cases do not reach: a line longer than
 * dockerd's copier buffer, and a GELF UDP listener that goes away and comes back while the
 * container runs. Real containers, listeners on 127.0.0.1.
 */
import * as dgram from 'node:dgram';
import { gunzipSync } from 'node:zlib';
import { collector, testEngine, type TestEngine } from './fixture';
import { streamListener } from './log-driver-listeners';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t.cleanup();
});

/** A UDP socket on 127.0.0.1 (on `port` when given) and the short_messages of the GELF messages it received. */
async function gelfUdp(port = 0): Promise<{ port: number; messages: string[]; until: (text: string) => Promise<void>; close: () => Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const messages: string[] = [];
  const waiting: Array<() => void> = [];
  socket.on('message', (packet) => {
    messages.push((JSON.parse(gunzipSync(packet).toString()) as { short_message: string }).short_message);
    for (const check of waiting.splice(0)) check();
  });
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  const until = (text: string): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => (messages.includes(text) ? resolve() : void waiting.push(check));
      check();
    });
  return { port: socket.address().port, messages, until, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

/** Resolves once the container's log (the driver's local cache) holds `text`: the writer has sent it by then. */
async function logged(id: string, text: string): Promise<void> {
  for await (const entry of t.engine.logs(id, { follow: true })) if (entry.line.trim() === text) return;
}

test("a line longer than dockerd's 16 KiB copier buffer goes in 16 KiB pieces, the rest last", async () => {
  const tcp = await streamListener();
  try {
    await t.engine.run({
      image: 'busybox',
      cmd: ['sh', '-c', "head -c 40000 /dev/zero | tr '\\0' x; echo"],
      network: 'none',
      pull: 'never',
      stdout: collector(),
      stderr: collector(),
      log: { driver: 'gelf', options: { 'gelf-address': tcp.address } },
    });
    await tcp.until((l) => l.bytes().toString().split('\0').length >= 4);
    const messages = tcp.bytes().toString().split('\0').slice(0, -1);
    const texts = messages.map((m) => (JSON.parse(m) as { short_message: string }).short_message);
    expect(texts).toEqual(['x'.repeat(16384), 'x'.repeat(16384), 'x'.repeat(40000 - 2 * 16384)]);
  } finally {
    await tcp.close();
  }
});

test('a GELF UDP listener that goes away and comes back gets the lines said after its return', async () => {
  const first = await gelfUdp();
  const { port } = first;
  let second: Awaited<ReturnType<typeof gelfUdp>> | undefined;
  const { id } = await t.engine.run({
    image: 'busybox',
    cmd: ['sh', '-c', 'echo one; until [ -e /two ]; do sleep 0.05; done; echo two; until [ -e /three ]; do sleep 0.05; done; echo three; echo four; sleep 60'],
    network: 'none',
    pull: 'never',
    detach: true,
    log: { driver: 'gelf', options: { 'gelf-address': `udp://127.0.0.1:${port}` } },
  });
  try {
    await first.until('one');
    await first.close();
    // Sent to no one: the kernel refuses it, and the next send is told so.
    await t.engine.exec(id, { cmd: ['touch', '/two'] });
    await logged(id, 'two');
    second = await gelfUdp(port);
    await t.engine.exec(id, { cmd: ['touch', '/three'] });
    await second.until('four');
    expect(second.messages).toEqual(['three', 'four']);
  } finally {
    await second?.close();
    await t.engine.remove(id, { force: true });
  }
});
