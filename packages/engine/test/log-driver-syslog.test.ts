/**
 * `--log-driver syslog`: real containers' lines reach a syslog listener on 127.0.0.1 or a unix
 * socket in moby's (srslog's) formats, `logs` still reads them from the local cache, and a
 * destination that cannot be reached fails the start in dockerd's words.
 */
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ContainerLogEntry, CreateContainerOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';
import { closedPort, streamListener, udpListener, unixgramListener, type Listener } from './log-driver-listeners';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t.cleanup();
});

const STAMP = '[A-Z][a-z]{2} [ 123]\\d \\d{2}:\\d{2}:\\d{2}';
const RFC3339 = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:Z|[+-]\\d{2}:\\d{2})';
const RFC3339_MICRO = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,6})?(?:Z|[+-]\\d{2}:\\d{2})';

/** Runs `cmd` to its end with the syslog driver's `options`; the container's id. */
async function run(cmd: string[], options: Record<string, string>, more: Partial<CreateContainerOptions> = {}): Promise<string> {
  const { id } = await t.engine.run({ image: 'busybox', cmd, network: 'none', pull: 'never', stdout: collector(), stderr: collector(), log: { driver: 'syslog', options }, ...more });
  return id;
}

/** The messages a listener got: datagrams, or a stream cut at its newlines (srslog frames nothing). */
function messages(listener: Listener, udp: boolean): string[] {
  if (udp) return listener.packets.map((p) => p.toString());
  return listener.bytes().toString().split(/(?<=\n)/).filter((m) => m.endsWith('\n'));
}

async function received(listener: Listener, count: number, udp: boolean): Promise<string[]> {
  await listener.until((l) => messages(l, udp).length >= count);
  return messages(listener, udp);
}

test('over UDP in rfc5424, each line is one datagram: priority of facility daemon and info/err, the host, the tag as app name and msgid', async () => {
  const udp = await udpListener();
  try {
    const id = await run(['sh', '-c', 'echo to out; echo to err >&2'], { 'syslog-address': udp.address, 'syslog-format': 'rfc5424' });
    const got = await received(udp, 2, true);
    const tag = id.slice(0, 12);
    const line = (priority: number, text: string): RegExp => new RegExp(`^<${priority}>1 ${RFC3339} ${hostname()} ${tag} \\d+ ${tag} - ${text}\\n$`);
    expect(got.find((m) => m.endsWith('to out\n'))).toMatch(line(30, 'to out'));
    expect(got.find((m) => m.endsWith('to err\n'))).toMatch(line(27, 'to err'));
  } finally {
    await udp.close();
  }
});

test('rfc5424micro stamps the time with microseconds', async () => {
  const udp = await udpListener();
  try {
    const id = await run(['echo', 'micro'], { 'syslog-address': udp.address, 'syslog-format': 'rfc5424micro' });
    const [message] = await received(udp, 1, true);
    expect(message).toMatch(new RegExp(`^<30>1 ${RFC3339_MICRO} ${hostname()} ${id.slice(0, 12)} \\d+ ${id.slice(0, 12)} - micro\\n$`));
  } finally {
    await udp.close();
  }
});

test('over TCP without a format, the default is srslog\'s Unix format (no host), with the facility and tag template asked for', async () => {
  const tcp = await streamListener();
  try {
    const id = await run(['sh', '-c', 'echo one; echo two'], { 'syslog-address': tcp.address, 'syslog-facility': 'local0', tag: '{{.Name}}/{{.ID}}' }, { name: 'syslog-tagged' });
    const got = await received(tcp, 2, false);
    const head = `^<134>${STAMP} syslog-tagged/${id.slice(0, 12)}\\[\\d+\\]: `;
    expect(got).toEqual([expect.stringMatching(new RegExp(`${head}one\\n$`)), expect.stringMatching(new RegExp(`${head}two\\n$`))]);
  } finally {
    await tcp.close();
  }
});

test('to a unix socket in rfc3164, with a numeric facility', async () => {
  const unix = await streamListener({ unix: true });
  try {
    const id = await run(['echo', 'local'], { 'syslog-address': unix.address, 'syslog-format': 'rfc3164', 'syslog-facility': '1' });
    const [message] = await received(unix, 1, false);
    expect(message).toMatch(new RegExp(`^<14>${STAMP} ${hostname()} ${id.slice(0, 12)}\\[\\d+\\]: local\\n$`));
  } finally {
    await unix.close();
  }
});

test('to a unixgram socket, one datagram a line', async () => {
  const unixgram = await unixgramListener();
  try {
    const id = await run(['sh', '-c', 'echo gram one; echo gram two'], { 'syslog-address': unixgram.address });
    const got = await received(unixgram, 2, true);
    expect(got).toEqual([expect.stringMatching(new RegExp(`^<30>${STAMP} ${id.slice(0, 12)}\\[\\d+\\]: gram one\\n$`)), expect.stringMatching(/: gram two\n$/)]);
  } finally {
    await unixgram.close();
  }
});

test('a line the container wrote in pieces is sent as one message', async () => {
  const udp = await udpListener();
  try {
    await run(['sh', '-c', 'printf "first half, "; sleep 0.2; echo "second half"'], { 'syslog-address': udp.address });
    const [message] = await received(udp, 1, true);
    expect(message).toMatch(/\]: first half, second half\n$/);
  } finally {
    await udp.close();
  }
});

test('logs reads the lines from the local cache, as Docker 20.10+ does for remote drivers', async () => {
  const udp = await udpListener();
  try {
    const id = await run(['sh', '-c', 'echo cached; echo also >&2'], { 'syslog-address': udp.address });
    await received(udp, 2, true);
    const entries: ContainerLogEntry[] = [];
    for await (const entry of t.engine.logs(id)) entries.push(entry);
    expect(entries.map((e) => [e.stream, e.line]).sort()).toEqual([
      ['stderr', 'also'],
      ['stdout', 'cached'],
    ]);
    expect((await t.engine.inspect(id)).HostConfig.LogConfig).toEqual({ Type: 'syslog', Config: { 'syslog-address': udp.address } });
  } finally {
    await udp.close();
  }
});

test("with cache-disabled=true no log is kept: logs is refused in moby's words", async () => {
  const udp = await udpListener();
  try {
    const id = await run(['echo', 'sent only'], { 'syslog-address': udp.address, 'cache-disabled': 'true' });
    expect(await received(udp, 1, true)).toHaveLength(1);
    const read = async (): Promise<void> => {
      for await (const entry of t.engine.logs(id)) void entry;
    };
    await expect(read()).rejects.toMatchObject({ code: 'Unsupported', message: 'configured logging driver does not support reading' });
  } finally {
    await udp.close();
  }
});

test("a TCP destination that refuses fails the start in dockerd's words", async () => {
  const port = await closedPort();
  await expect(run(['echo', 'never'], { 'syslog-address': `tcp://127.0.0.1:${port}` })).rejects.toMatchObject({
    message: `failed to initialize logging driver: dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
});

test("without an address the local syslog socket is used: absent, the start fails with srslog's words", async () => {
  // srslog's places for it; this machine has no syslog daemon listening on any.
  expect(['/dev/log', '/var/run/syslog', '/var/run/log'].filter((p) => statSync(p, { throwIfNoEntry: false })?.isSocket())).toEqual([]);
  await expect(run(['echo', 'never'], {})).rejects.toMatchObject({ message: 'failed to initialize logging driver: Unix syslog delivery error' });
});

test("a bad option fails the create in moby's words, and no container is made", async () => {
  const before = (await t.engine.ps({ all: true })).length;
  await expect(t.engine.create({ image: 'busybox', network: 'none', log: { driver: 'syslog', options: { 'syslog-address': 'localhost:514' } } })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: "unsupported scheme: 'localhost'",
  });
  expect(await t.engine.ps({ all: true })).toHaveLength(before);
});
