/**
 * `--log-driver gelf`: real containers' lines reach a GELF listener on 127.0.0.1 as moby sends
 * them (go-gelf's GELF 1.1 JSON with dockerd's extra fields; gzip, zlib or no compression and
 * chunks over UDP; null-terminated over TCP).
 */
import { hostname } from 'node:os';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { CreateContainerOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';
import { closedPort, goTime, streamListener, udpListener } from './log-driver-listeners';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t.cleanup();
});

async function run(cmd: string[], options: Record<string, string>, more: Partial<CreateContainerOptions> = {}): Promise<string> {
  const { id } = await t.engine.run({ image: 'busybox', cmd, network: 'none', pull: 'never', stdout: collector(), stderr: collector(), log: { driver: 'gelf', options }, ...more });
  return id;
}

/** Go's encoding/json string, as the expected messages are written. */
function goJson(text: string): string {
  return JSON.stringify(text).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The exact message moby sends for `line` of container `id`, but its timestamp (a pattern). */
async function expected(id: string, line: string, level: number, extra: Record<string, string> = {}): Promise<RegExp> {
  const info = await t.engine.inspect(id);
  const fields: Record<string, string> = {
    _command: [info.Path, ...info.Args].join(' '),
    _container_id: id,
    _container_name: info.Name.replace(/^\//, ''),
    _created: goTime(info.Created),
    _image_id: info.Image,
    _image_name: info.Config.Image,
    _tag: id.slice(0, 12),
    ...extra,
  };
  const tail = Object.keys(fields)
    .sort()
    .map((k) => `${goJson(k)}:${goJson(fields[k] as string)}`)
    .join(',');
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escape(`{"version":"1.1","host":${goJson(hostname())},"short_message":${goJson(line)},"timestamp":`)}\\d+(\\.\\d{1,3})?${escape(`,"level":${level},${tail}}`)}$`);
}

test('over UDP, each line is one gzip-compressed GELF 1.1 message with dockerd\'s fields, level 6 for stdout and 3 for stderr', async () => {
  const udp = await udpListener();
  try {
    const id = await run(['sh', '-c', 'echo "out <1>"; echo err >&2'], { 'gelf-address': udp.address });
    await udp.until((l) => l.packets.length >= 2);
    expect(udp.packets.every((p) => p[0] === 0x1f && p[1] === 0x8b)).toBe(true);
    const messages = udp.packets.map((p) => gunzipSync(p).toString());
    expect(messages.find((m) => m.includes('"out'))).toMatch(await expected(id, 'out <1>', 6));
    expect(messages.find((m) => m.includes('"err"'))).toMatch(await expected(id, 'err', 3));
  } finally {
    await udp.close();
  }
});

test('gelf-compression-type zlib sends zlib streams, at the gelf-compression-level asked for', async () => {
  const udp = await udpListener();
  try {
    const id = await run(['echo', 'zlib'], { 'gelf-address': udp.address, 'gelf-compression-type': 'zlib', 'gelf-compression-level': '9' });
    await udp.until((l) => l.packets.length >= 1);
    expect(udp.packets[0]?.[0]).toBe(0x78);
    expect(inflateSync(udp.packets[0] as Buffer).toString()).toMatch(await expected(id, 'zlib', 6));
  } finally {
    await udp.close();
  }
});

test('gelf-compression-type none sends the JSON as is, the labels and env asked for among the extra fields', async () => {
  const udp = await udpListener();
  try {
    const id = await run(['echo', 'plain'], { 'gelf-address': udp.address, 'gelf-compression-type': 'none', labels: 'team', env: 'STAGE' }, { labels: { team: 'logs' }, env: ['STAGE=test'] });
    await udp.until((l) => l.packets.length >= 1);
    expect(udp.packets[0]?.toString()).toMatch(await expected(id, 'plain', 6, { _team: 'logs', _STAGE: 'test' }));
  } finally {
    await udp.close();
  }
});

test('a message over 1420 bytes goes in GELF chunks: magic, one message id, sequence and count, reassembled whole', async () => {
  const udp = await udpListener();
  try {
    const line = 'x'.repeat(5000);
    const id = await run(['sh', '-c', `echo ${line}`], { 'gelf-address': udp.address, 'gelf-compression-type': 'none' });
    await udp.until((l) => l.packets.length >= 1 && l.packets.length >= (l.packets[0]?.[11] ?? 99));
    const chunks = udp.packets;
    const count = chunks[0]?.[11] as number;
    expect(count).toBeGreaterThan(1);
    expect(chunks).toHaveLength(count);
    for (const chunk of chunks) {
      expect(chunk.subarray(0, 2)).toEqual(Buffer.from([0x1e, 0x0f]));
      expect(chunk.subarray(2, 10)).toEqual(chunks[0]?.subarray(2, 10));
      expect(chunk.length).toBeLessThanOrEqual(1420);
    }
    const whole = Buffer.concat([...chunks].sort((a, b) => (a[10] as number) - (b[10] as number)).map((c) => c.subarray(12))).toString();
    expect(whole).toMatch(await expected(id, line, 6));
  } finally {
    await udp.close();
  }
});

test('over TCP, messages are uncompressed JSON, each ended by a null byte', async () => {
  const tcp = await streamListener();
  try {
    const id = await run(['sh', '-c', 'echo first; echo second'], { 'gelf-address': tcp.address });
    await tcp.until((l) => l.bytes().toString().split('\0').length >= 3);
    const [first, second, rest] = tcp.bytes().toString().split('\0');
    expect(first).toMatch(await expected(id, 'first', 6));
    expect(second).toMatch(await expected(id, 'second', 6));
    expect(rest).toBe('');
  } finally {
    await tcp.close();
  }
});

test("a TCP endpoint that refuses fails the start in moby's words", async () => {
  const port = await closedPort();
  await expect(run(['echo', 'never'], { 'gelf-address': `tcp://127.0.0.1:${port}` })).rejects.toMatchObject({
    message: `failed to initialize logging driver: gelf: cannot connect to GELF endpoint: 127.0.0.1:${port} dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
});
