/**
 * What the remote log driver tests listen with: a UDP socket, a TCP server or a unix socket
 * server on 127.0.0.1 / under /tmp, collecting what the container's log writer sends.
 */
import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A listener's received packets (UDP datagrams) or bytes (a stream's, concatenated). */
export interface Listener {
  /** `udp://127.0.0.1:PORT`, `tcp://127.0.0.1:PORT` or `unix:///tmp/…/sock`. */
  address: string;
  port: number;
  packets: Buffer[];
  /** Everything received on streams, in order. */
  bytes(): Buffer;
  /** Resolves once `check` holds for what was received (checked on every arrival). */
  until(check: (listener: Listener) => boolean): Promise<void>;
  close(): Promise<void>;
}

function listener(address: (port: number) => string): { made: Listener; arrived: () => void; set(port: number): void; closers: Array<() => Promise<void>> } {
  const waiting: Array<() => void> = [];
  const chunks: Buffer[] = [];
  const closers: Array<() => Promise<void>> = [];
  const made: Listener = {
    address: '',
    port: 0,
    packets: chunks,
    bytes: () => Buffer.concat(chunks),
    until: (check) =>
      new Promise((resolve) => {
        const test = (): void => {
          if (check(made)) resolve();
          else waiting.push(test);
        };
        test();
      }),
    close: async () => {
      for (const close of closers) await close();
    },
  };
  return {
    made,
    arrived: () => {
      for (const test of waiting.splice(0)) test();
    },
    set(port) {
      made.port = port;
      made.address = address(port);
    },
    closers,
  };
}

/** `host` as a URL writes it: an IPv6 literal in brackets. */
export const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** A UDP socket on 127.0.0.1, or on `host` (`::1`). */
export async function udpListener(options: { host?: string } = {}): Promise<Listener> {
  const host = options.host ?? '127.0.0.1';
  const l = listener((port) => `udp://${urlHost(host)}:${port}`);
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.on('message', (packet) => {
    l.made.packets.push(packet);
    l.arrived();
  });
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  l.set(socket.address().port);
  l.closers.push(() => new Promise((resolve) => socket.close(() => resolve())));
  return l.made;
}

/** A TCP server on 127.0.0.1 or `host` (`::1`), on `port` when given; or on a unix socket under /tmp with `unix`. */
export async function streamListener(options: { unix?: boolean; port?: number; host?: string } = {}): Promise<Listener> {
  const dir = options.unix ? mkdtempSync(join(tmpdir(), 'ctr-log-driver-')) : undefined;
  const path = dir ? join(dir, 'sock') : undefined;
  const host = options.host ?? '127.0.0.1';
  const l = listener((port) => (path ? `unix://${path}` : `tcp://${urlHost(host)}:${port}`));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => {
      l.made.packets.push(chunk);
      l.arrived();
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => (path ? server.listen(path, resolve) : server.listen(options.port ?? 0, host, resolve)));
  l.set(path ? 0 : (server.address() as net.AddressInfo).port);
  l.closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return l.made;
}

/**
 * A unix datagram socket under /tmp (Node has none: a small Perl process binds it and prints
 * each datagram in hex).
 */
export async function unixgramListener(): Promise<Listener> {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-log-driver-'));
  const path = join(dir, 'sock');
  const l = listener(() => `unixgram://${path}`);
  l.set(0);
  const script = `socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die $!; bind($s, pack_sockaddr_un($ARGV[0])) or die $!; $| = 1; print "ready\\n";
    while (defined recv($s, my $d, 65536, 0)) { print unpack('H*', $d), "\\n" }`;
  const child = spawn('perl', ['-MSocket', '-e', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', () => reject(new Error('the unixgram listener exited')));
    lines.once('line', () => resolve());
  });
  lines.on('line', (hex) => {
    l.made.packets.push(Buffer.from(hex, 'hex'));
    l.arrived();
  });
  l.closers.push(async () => {
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  return l.made;
}

/** A port on 127.0.0.1 that refuses connections: a server's, closed. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Go's RFC 3339 time with nanoseconds (a JSON time.Time): trailing zeros dropped. */
export function goTime(iso: string): string {
  return iso.replace(/\.(\d*?)0*Z$/, (_, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

/** msgpack's values as fluent-logger-golang writes them (strings, maps, arrays, ints, nil, EventTime). */
export type Msgpack = string | number | null | Msgpack[] | { [key: string]: Msgpack } | { ext: number; data: Buffer };

/** The msgpack values one after another in `bytes`. */
export function msgpackValues(bytes: Buffer): Msgpack[] {
  let at = 0;
  const str = (n: number): string => {
    const text = bytes.toString('utf8', at, at + n);
    at += n;
    return text;
  };
  const value = (): Msgpack => {
    const b = bytes[at++] as number;
    if (b <= 0x7f) return b;
    if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f);
    if (b >= 0x80 && b <= 0x8f) return map(b & 0x0f);
    if (b >= 0x90 && b <= 0x9f) return Array.from({ length: b & 0x0f }, value);
    switch (b) {
      case 0xc0:
        return null;
      case 0xd9:
        return str(bytes[at++] as number);
      case 0xda:
        at += 2;
        return str(bytes.readUInt16BE(at - 2));
      case 0xde:
        at += 2;
        return map(bytes.readUInt16BE(at - 2));
      case 0xd1:
        at += 2;
        return bytes.readInt16BE(at - 2);
      case 0xd2:
        at += 4;
        return bytes.readInt32BE(at - 4);
      case 0xd7: {
        const ext = bytes[at] as number;
        at += 9;
        return { ext, data: bytes.subarray(at - 8, at) };
      }
      default:
        throw new Error(`msgpack type 0x${b.toString(16)} at ${at - 1} is not one fluent-logger sends here`);
    }
  };
  const map = (n: number): { [key: string]: Msgpack } => {
    const entries: Array<[string, Msgpack]> = [];
    for (let i = 0; i < n; i++) entries.push([value() as string, value()]);
    return Object.fromEntries(entries);
  };
  const values: Msgpack[] = [];
  while (at < bytes.length) values.push(value());
  return values;
}
