import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { NetworkManager } from '@ctr/network';
import { makeTestHost, stopProcess, type TestHost } from './helpers/host';

// docker's embedded DNS listens on TCP as well as UDP (RFC 1035 4.2.2: each message after its
// length in two bytes), and cuts a UDP answer that does not fit 512 bytes, or the asker's EDNS
// size, setting TC so the client asks again over TCP. The questions here are asked from inside
// the containers' namespaces at 127.0.0.11 (busybox nslookup speaks UDP only, so by a small
// node script), or from the host straight to a gateway. The TCP upstream is this test's own
// server, on a 127.x address of the host.

let host: TestHost;
let clientNs: string;
let webIp: string;
const BULK = 23;
/** A name 23 containers hold: its 23 records (16 bytes each after the 134-byte question) pass 512 bytes, 22 do not. */
const BULK_NAME = `${'a'.repeat(60)}.${'b'.repeat(60)}.bulk00`;
const bulkIps: string[] = [];

interface Reply {
  rcode: number;
  truncated: boolean;
  addresses: string[];
  /** PTR records' names. */
  names: string[];
}

/**
 * The script asking: built-ins only, argv `proto name qtype ednsSize`; prints the reply's
 * rcode, TC bit, A and PTR records as JSON. Over TCP it ends its side after the reply and waits
 * for the server to close the connection.
 */
function askMain(proto: string, name: string, qtype: string, ednsSize: string): void {
  const dgram = require('node:dgram') as typeof import('node:dgram');
  const tcp = require('node:net') as typeof import('node:net');
  const edns = Number(ednsSize);
  const qname = Buffer.concat(name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])));
  const query = Buffer.concat([
    Buffer.from([0x4a, 0x11, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns > 0 ? 1 : 0]),
    qname,
    Buffer.from([0, 0, Number(qtype), 0, 1]),
    edns > 0 ? Buffer.from([0, 0, 41, edns >> 8, edns & 0xff, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0),
  ]);
  const print = (reply: Buffer): void => {
    const flags = reply.readUInt16BE(2);
    let off = 12 + qname.length + 5;
    const addresses: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < reply.readUInt16BE(6); i++) {
      off += (reply[off] ?? 0) >= 0xc0 ? 2 : 1;
      const type = reply.readUInt16BE(off);
      const data = reply.subarray(off + 10, off + 10 + reply.readUInt16BE(off + 8));
      if (type === 1) addresses.push([...data].join('.'));
      if (type === 12) {
        const labels: string[] = [];
        for (let at = 0; (data[at] ?? 0) > 0; at += 1 + (data[at] ?? 0)) labels.push(data.toString('latin1', at + 1, at + 1 + (data[at] ?? 0)));
        names.push(labels.join('.'));
      }
      off += 10 + data.length;
    }
    process.stdout.write(JSON.stringify({ rcode: flags & 0xf, truncated: (flags & 0x0200) !== 0, addresses, names }));
  };
  if (proto === 'udp') {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (reply) => (print(reply), sock.close()));
    sock.send(query, 53, '127.0.0.11');
    return;
  }
  const len = Buffer.alloc(2);
  len.writeUInt16BE(query.length, 0);
  const conn = tcp.connect(53, '127.0.0.11', () => conn.write(Buffer.concat([len, query])));
  let got = Buffer.alloc(0);
  let reply: Buffer | undefined;
  conn.on('data', (chunk) => {
    got = Buffer.concat([got, chunk]);
    if (!reply && got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
      reply = got.subarray(2, 2 + got.readUInt16BE(0));
      conn.end();
    }
  });
  conn.on('close', () => reply && print(reply));
}

/** Asks 127.0.0.11 from inside a namespace; async, so this process's own servers can answer meanwhile. */
async function ask(netnsPath: string, proto: 'udp' | 'tcp', name: string, options: { qtype?: number; edns?: number } = {}): Promise<Reply> {
  const code = `(${askMain.toString()})(...process.argv.slice(1))`;
  const args = [`--net=${netnsPath}`, process.execPath, '-e', code, proto, name, String(options.qtype ?? 1), String(options.edns ?? 0)];
  const { stdout } = await promisify(execFile)('nsenter', args, { timeout: 20_000 });
  return JSON.parse(stdout) as Reply;
}

/**
 * A TCP DNS server of this test's: A 203.0.113.30 for every name, recording the names asked;
 * the names `holds` picks it never answers (their connections are in `held`).
 */
function startTcpUpstream(address: string, holds: (name: string) => boolean = () => false): Promise<{ asked: string[]; held: net.Socket[]; server: net.Server }> {
  const asked: string[] = [];
  const held: net.Socket[] = [];
  const server = net.createServer((conn) => {
    conn.on('error', () => conn.destroy());
    conn.once('data', (frame) => {
      const query = frame.subarray(2, 2 + frame.readUInt16BE(0));
      const labels: string[] = [];
      let off = 12;
      for (let len = query[off] ?? 0; len > 0; len = query[off] ?? 0) {
        labels.push(query.toString('latin1', off + 1, off + 1 + len));
        off += 1 + len;
      }
      asked.push(labels.join('.'));
      if (holds(labels.join('.'))) return void held.push(conn);
      const rr = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 203, 0, 113, 30]);
      const reply = Buffer.concat([query.subarray(0, 12), query.subarray(12, off + 5), rr]);
      reply.writeUInt16BE(0x8180, 2);
      reply.writeUInt16BE(1, 6);
      reply.writeUInt16BE(0, 10);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(reply.length, 0);
      conn.end(Buffer.concat([len, reply]));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(53, address, () => resolve({ asked, held, server }));
  });
}

/** A 127.x address of the host that no test of the suite uses (127.0.0.0/16 left alone). */
function loopbackAddress(): string {
  const octet = (): number => 1 + Math.floor(Math.random() * 254);
  return `127.${octet()}.${octet()}.${octet()}`;
}

/** An A question for `name`, with an OPT record for an EDNS buffer size when one is given. */
function query(id: number, name: string, edns = 0): Buffer {
  const qname = Buffer.concat(name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])));
  return Buffer.concat([
    Buffer.from([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, edns > 0 ? 1 : 0]),
    qname,
    Buffer.from([0, 0, 1, 0, 1]),
    edns > 0 ? Buffer.from([0, 0, 41, edns >> 8, edns & 0xff, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0),
  ]);
}

/** A header-only A question for `name`, framed for TCP. */
function framedQuery(id: number, name: string): Buffer {
  const q = query(id, name);
  return Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
}

beforeAll(async () => {
  host = await makeTestHost('tdt');
  await host.manager.createNetwork({ name: 'tdt-app', subnet: host.subnet(1) });
  const web = await host.manager.attach('tdt-web-id', { mode: 'tdt-app', name: 'web' });
  webIp = web.settings.Networks['tdt-app']?.IPAddress ?? '';
  for (let i = 0; i < BULK; i++) {
    const bulk = await host.manager.attach(`tdt-bulk${i}-id`, { mode: 'tdt-app', name: `bulk${i}`, networks: [{ name: 'tdt-app', aliases: [BULK_NAME] }] });
    bulkIps.push(bulk.settings.Networks['tdt-app']?.IPAddress ?? '');
  }
  clientNs = (await host.manager.attach('tdt-client-id', { mode: 'tdt-app', name: 'client' })).netnsPath ?? '';
});

afterAll(async () => {
  await host.cleanup();
  expect(await host.leftovers()).toEqual([]);
});

test('a container asks 127.0.0.11 over TCP and gets the same answer as over UDP', async () => {
  expect(await ask(clientNs, 'tcp', 'web')).toEqual({ rcode: 0, truncated: false, addresses: [webIp], names: [] });
  expect(await ask(clientNs, 'udp', 'web')).toEqual({ rcode: 0, truncated: false, addresses: [webIp], names: [] });
});

test('a reverse lookup over TCP is answered too', async () => {
  const reverse = `${webIp.split('.').reverse().join('.')}.in-addr.arpa`;
  expect(await ask(clientNs, 'tcp', reverse, { qtype: 12 })).toEqual({ rcode: 0, truncated: false, addresses: [], names: ['web.tdt-app'] });
});

test('a UDP answer over 512 bytes comes with TC set and only the records that fit', async () => {
  const reply = await ask(clientNs, 'udp', BULK_NAME);
  expect(reply.truncated).toBe(true);
  expect(reply.addresses).toHaveLength(BULK - 1);
});

test('the same question over TCP gets every record, without TC', async () => {
  const reply = await ask(clientNs, 'tcp', BULK_NAME);
  expect(reply.truncated).toBe(false);
  expect(reply.addresses.sort()).toEqual([...bulkIps].sort());
});

test("an asker's EDNS buffer size large enough gets every record over UDP", async () => {
  const reply = await ask(clientNs, 'udp', BULK_NAME, { edns: 4096 });
  expect(reply.truncated).toBe(false);
  expect(reply.addresses).toHaveLength(BULK);
});

test('a name the server does not know, asked over TCP, is forwarded over TCP', async () => {
  const upstream = await startTcpUpstream(loopbackAddress());
  const address = (upstream.server.address() as net.AddressInfo).address;
  const hostResolvConf = path.join(host.root, 'resolv-tcp.conf');
  await fs.writeFile(hostResolvConf, `nameserver ${address}\n`);
  const manager = new NetworkManager({ ...host.options, hostResolvConf });
  try {
    const attached = await manager.attach('tdt-fwd-id', { mode: 'tdt-app', name: 'fwd' });
    expect(await ask(attached.netnsPath ?? '', 'tcp', 'only-tcp.test')).toEqual({ rcode: 0, truncated: false, addresses: ['203.0.113.30'], names: [] });
    expect(upstream.asked).toEqual(['only-tcp.test']);
  } finally {
    await manager.detach('tdt-fwd-id');
    await new Promise((r) => upstream.server.close(r));
  }
});

test('two questions on one TCP connection are both answered', async () => {
  const conn = net.connect(53, `${host.net(1)}.1`);
  try {
    const ids = await new Promise<number[]>((resolve, reject) => {
      let got = Buffer.alloc(0);
      conn.on('error', reject);
      conn.on('data', (chunk) => {
        got = Buffer.concat([got, chunk]);
        const seen: number[] = [];
        for (let off = 0; off + 2 <= got.length && off + 2 + got.readUInt16BE(off) <= got.length; off += 2 + got.readUInt16BE(off)) {
          seen.push(got.readUInt16BE(off + 2));
        }
        if (seen.length === 2) resolve(seen.sort());
      });
      conn.write(Buffer.concat([framedQuery(0x101, 'web'), framedQuery(0x202, 'web')]));
    });
    expect(ids).toEqual([0x101, 0x202]);
  } finally {
    conn.destroy();
  }
});

/**
 * A client in a namespace holding a TCP connection to 127.0.0.11 open after one answer (it
 * prints `answered`); it sends nothing more and never closes it itself. Killed by the caller.
 * With `unread`, it sends those questions instead and never reads: it is ready once they are
 * sent (it prints `sent`).
 */
async function holdConnection(netnsPath: string, unread?: Buffer): Promise<ChildProcess> {
  const holdMain = (queryHex: string, reads: string): void => {
    const tcp = require('node:net') as typeof import('node:net');
    const conn = tcp.connect(53, '127.0.0.11', () => conn.write(Buffer.from(queryHex, 'hex'), () => reads === 'no' && process.stdout.write('sent\n')));
    if (reads === 'yes') conn.on('data', () => process.stdout.write('answered\n'));
    conn.on('error', () => undefined);
  };
  const code = `(${holdMain.toString()})(...process.argv.slice(1))`;
  const payload = (unread ?? framedQuery(0x404, 'web')).toString('hex');
  const child = spawn('nsenter', [`--net=${netnsPath}`, process.execPath, '-e', code, payload, unread ? 'no' : 'yes'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', () => resolve());
    child.once('exit', () => reject(new Error('the TCP client exited before its answer')));
  });
  return child;
}

/** The DNS server's own TCP/UDP sockets (`ss` lines) whose address, or peer's, starts with `address:`. */
async function daemonSockets(address: string): Promise<string[]> {
  const pid = (await fs.readFile(path.join(host.root, 'run', 'network', 'dns.pid'), 'utf8')).trim();
  const { stdout } = await promisify(execFile)('ss', ['-tuanp']);
  return stdout.split('\n').filter((l) => l.includes(`pid=${pid},`) && l.split(/\s+/).some((col) => col.startsWith(`${address}:`)));
}

test("a container's TCP connection to the server is closed when the container leaves the network", async () => {
  const leaver = await host.manager.attach('tdt-leaver-id', { mode: 'tdt-app', name: 'leaver' });
  const leaverIp = leaver.settings.Networks['tdt-app']?.IPAddress ?? '';
  const client = await holdConnection(leaver.netnsPath ?? '');
  try {
    expect(await daemonSockets(leaverIp)).toHaveLength(1);
    await host.manager.detach('tdt-leaver-id');
    // Any question makes the server read the records again; by its answer it has.
    await ask(clientNs, 'udp', 'web');
    expect(await daemonSockets(leaverIp)).toEqual([]);
  } finally {
    await stopProcess(client);
    await host.manager.detach('tdt-leaver-id').catch(() => undefined);
  }
});

test('the server stops listening on TCP and UDP on a network that is removed', async () => {
  const gone = await host.manager.createNetwork({ name: 'tdt-gone', subnet: host.subnet(2) });
  const gateway = `${host.net(2)}.1`;
  const lone = await host.manager.attach('tdt-lone-id', { mode: 'tdt-gone', name: 'lone' });
  const client = await holdConnection(lone.netnsPath ?? '');
  try {
    // Two listeners and the connection.
    expect(await daemonSockets(gateway)).toHaveLength(3);
    await host.manager.detach('tdt-lone-id');
    await host.manager.removeNetwork(gone.Id);
    await ask(clientNs, 'udp', 'web');
    expect(await daemonSockets(gateway)).toEqual([]);
  } finally {
    await stopProcess(client);
    await host.manager.detach('tdt-lone-id').catch(() => undefined);
  }
});

/** Opens a TCP connection to a gateway and sends `payload`: `answered` on a reply, `closed` when the server closes it first. */
function tcpOutcome(gateway: string, payload: Buffer, opened: net.Socket[]): Promise<'answered' | 'closed'> {
  return new Promise((resolve) => {
    const conn = net.connect(53, gateway, () => conn.write(payload));
    opened.push(conn);
    conn.on('error', () => undefined);
    conn.on('data', () => resolve('answered'));
    conn.on('close', () => resolve('closed'));
  });
}

/** UDP questions to a gateway, in order from one socket; the reply to the last, or undefined when none comes in `waitMs`. */
function askUdp(gateway: string, questions: Buffer[], waitMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const done = (reply?: Buffer): void => {
      clearTimeout(timer);
      sock.close();
      resolve(reply);
    };
    const timer = setTimeout(() => done(), waitMs);
    const last = questions[questions.length - 1]?.readUInt16BE(0);
    sock.on('message', (reply) => reply.readUInt16BE(0) === last && done(reply));
    for (const question of questions) sock.send(question, 53, gateway);
  });
}

test('one client holds at most 32 TCP connections; more are closed at once, and another is still answered over TCP and UDP', async () => {
  const opened: net.Socket[] = [];
  try {
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => tcpOutcome(`${host.net(1)}.1`, framedQuery(0x1000 + i, 'web'), opened)));
    const answered = outcomes.filter((o) => o === 'answered').length;
    expect(answered).toBeLessThanOrEqual(32);
    expect(answered).toBeGreaterThan(24);
    expect(await ask(clientNs, 'tcp', 'web')).toEqual({ rcode: 0, truncated: false, addresses: [webIp], names: [] });
    expect(await ask(clientNs, 'udp', 'web')).toEqual({ rcode: 0, truncated: false, addresses: [webIp], names: [] });
  } finally {
    for (const conn of opened) conn.destroy();
  }
});

test('a connection whose question comes a byte at a time is closed after the idle time', async () => {
  const conn = net.connect(53, `${host.net(1)}.1`);
  let dribble: NodeJS.Timeout | undefined;
  try {
    const outcome = await new Promise<string>((resolve) => {
      conn.on('error', () => undefined);
      conn.on('data', () => resolve('answered'));
      conn.on('close', () => resolve('closed'));
      // A 256-byte question announced, then a byte a second: each byte comes well within the idle time.
      conn.write(Buffer.from([1, 0]));
      dribble = setInterval(() => conn.write(Buffer.from([0])), 1000);
    });
    expect(outcome).toBe('closed');
  } finally {
    clearInterval(dribble);
    conn.destroy();
  }
});

test('a client pipelining questions it never reads the answers to does not keep the server from answering another', async () => {
  const upstream = await startTcpUpstream(loopbackAddress(), (name) => name.startsWith('slow'));
  const address = (upstream.server.address() as net.AddressInfo).address;
  const hostResolvConf = path.join(host.root, 'resolv-pipeline.conf');
  await fs.writeFile(hostResolvConf, `nameserver ${address}\n`);
  const manager = new NetworkManager({ ...host.options, hostResolvConf });
  let flooder: ChildProcess | undefined;
  try {
    const greedy = await manager.attach('tdt-greedy-id', { mode: 'tdt-app', name: 'greedy' });
    const other = await manager.attach('tdt-other-id', { mode: 'tdt-app', name: 'other' });
    // More questions than the server forwards at once (1024), each for a name the upstream never answers.
    flooder = await holdConnection(greedy.netnsPath ?? '', Buffer.concat(Array.from({ length: 1100 }, (_, i) => framedQuery(i, `slow${i}.test`))));
    while (upstream.asked.length === 0) await new Promise((r) => setTimeout(r, 50));
    expect(await ask(other.netnsPath ?? '', 'tcp', 'fast.test')).toEqual({ rcode: 0, truncated: false, addresses: ['203.0.113.30'], names: [] });
  } finally {
    await stopProcess(flooder);
    await manager.detach('tdt-greedy-id');
    await manager.detach('tdt-other-id');
    for (const conn of upstream.held) conn.destroy();
    await new Promise((r) => upstream.server.close(r));
  }
});

test('an answer too large to send over UDP costs only that answer: the listener still answers', async () => {
  // A network of the server's records alone, on a loopback address: 4100 holders of one name
  // make an answer of more than 65507 bytes, which an EDNS size of 65535 lets the server try to send.
  const gateway = loopbackAddress();
  const endpoints = Object.fromEntries(
    Array.from({ length: 4100 }, (_, i) => [`huge${i}`, { containerId: `huge${i}`, containerName: `huge${i}`, ip: `10.${i >> 8}.${i & 0xff}.1`, aliases: ['huge'] }]),
  );
  const record = path.join(host.root, 'networks', 'nets', 'tdt-huge.json');
  const touch = (): Promise<void> => fs.writeFile(path.join(host.root, 'networks', 'generation'), `tdt-huge-${Math.random()}`);
  await fs.writeFile(record, JSON.stringify({ id: 'tdt-huge', name: 'tdt-huge', gateway, isDefault: false, internal: false, endpoints }));
  try {
    await touch();
    while (!(await askUdp(gateway, [query(1, 'huge')], 500))) await touch();
    // The oversized answer's send fails before the next question's answer goes out.
    expect(await askUdp(gateway, [query(2, 'huge', 65535), query(3, 'huge')], 5000)).toBeDefined();
    const opened: net.Socket[] = [];
    expect(await tcpOutcome(gateway, framedQuery(4, 'huge'), opened)).toBe('answered');
    opened.forEach((conn) => conn.destroy());
    const truncated = await askUdp(gateway, [query(5, 'huge')], 5000);
    expect((truncated?.readUInt16BE(2) ?? 0) & 0x0200).toBe(0x0200);
  } finally {
    await fs.rm(record, { force: true });
    await touch();
  }
});
