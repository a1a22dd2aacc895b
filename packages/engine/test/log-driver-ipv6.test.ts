/**
 * The remote log drivers' addresses beyond IPv4 literals, as moby's drivers dial them: a
 * bracketed IPv6 literal (`[::1]`) and a host name, looked up by the container's log writer.
 * Real containers; listeners on ::1 and 127.0.0.1 only.
 */
import type { CreateContainerOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';
import { msgpackValues, streamListener, udpListener, type Msgpack } from './log-driver-listeners';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t.cleanup();
});

async function run(cmd: string[], driver: string, options: Record<string, string>, more: Partial<CreateContainerOptions> = {}): Promise<string> {
  const { id } = await t.engine.run({ image: 'busybox', cmd, network: 'none', pull: 'never', stdout: collector(), stderr: collector(), log: { driver, options }, ...more });
  return id;
}

test('syslog to udp://[::1]:PORT: the datagram reaches a listener on ::1', async () => {
  const udp = await udpListener({ host: '::1' });
  try {
    expect(udp.address).toBe(`udp://[::1]:${udp.port}`);
    await run(['echo', 'over six'], 'syslog', { 'syslog-address': udp.address });
    await udp.until((l) => l.packets.length >= 1);
    expect(udp.packets[0]?.toString()).toMatch(/\]: over six\n$/);
  } finally {
    await udp.close();
  }
});

test('gelf to tcp://[::1]:PORT: the message reaches a listener on ::1', async () => {
  const tcp = await streamListener({ host: '::1' });
  try {
    await run(['echo', 'gelf six'], 'gelf', { 'gelf-address': tcp.address });
    await tcp.until((l) => l.bytes().includes(0));
    expect((JSON.parse(tcp.bytes().toString().split('\0')[0] as string) as { short_message: string }).short_message).toBe('gelf six');
  } finally {
    await tcp.close();
  }
});

test('fluentd to [::1]:PORT (no scheme): the forward message reaches a listener on ::1', async () => {
  const tcp = await streamListener({ host: '::1' });
  try {
    await run(['echo', 'fluent six'], 'fluentd', { 'fluentd-address': `[::1]:${tcp.port}` });
    await tcp.until((l) => l.bytes().length > 0 && l.bytes().includes(Buffer.from('fluent six')));
    const [[, , record]] = msgpackValues(tcp.bytes()) as [Msgpack[]];
    expect(record).toMatchObject({ source: 'stdout', log: 'fluent six' });
  } finally {
    await tcp.close();
  }
});

test('a host name is looked up (here in /etc/hosts, no name server asked): syslog to tcp://localhost:PORT reaches the listener on 127.0.0.1', async () => {
  const tcp = await streamListener();
  try {
    await run(['echo', 'by name'], 'syslog', { 'syslog-address': `tcp://localhost:${tcp.port}` });
    await tcp.until((l) => l.bytes().toString().endsWith('\n'));
    expect(tcp.bytes().toString()).toMatch(/\]: by name\n$/);
  } finally {
    await tcp.close();
  }
});
