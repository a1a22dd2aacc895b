import { conflict, CtrError } from '@ctr/errors';
import { spawn } from 'node:child_process';
import { promises as fs, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import type { StatePaths } from './state';
import type { Protocol } from './types';

/**
 * The userland proxy of a container's IPv6 host bindings, as dockerd's docker-proxy: the
 * kernel never routes ::1 off the loopback (IPv6 has no route_localnet), so ip6tables DNAT
 * cannot carry `[::1]:8080` to a container; a process listening on the host port can, and
 * it carries IPv6 clients to an IPv4-only container too (dockerd's default: `-p 8080:80` is
 * on [::]:8080 as well, when the host listens on IPv6). One process per container (docker
 * runs one per port) holds all its IPv6 bindings; a container without any spawns none.
 *
 * It must outlive the CLI process that published the ports, so it is a detached `node -e` of
 * proxyMain's source (as the DNS daemon), using Node built-ins only.
 */
export interface ProxiedPort {
  hostIp: string;
  hostPort: number;
  protocol: Protocol;
  /** The container's address the connection goes to: its IPv6 one, or its IPv4 one when it has none. */
  target: string;
  targetPort: number;
}

const MARKER = 'ctr-port-proxy';

/**
 * The proxy's body. Binds every port first and reports `ready` (or why not) on stdout, which
 * the manager reads as the outcome of the publish; then serves until SIGTERM.
 */
export function proxyMain(specJson: string): void {
  const tcp = require('node:net') as typeof import('node:net');
  const dgram = require('node:dgram') as typeof import('node:dgram');
  interface Port {
    hostIp: string;
    hostPort: number;
    protocol: 'tcp' | 'udp';
    target: string;
    targetPort: number;
  }
  /** docker-proxy's idle time for a UDP flow. */
  const UDP_IDLE_MS = 90_000;
  const ports = JSON.parse(specJson) as Port[];
  const closers: Array<() => void> = [];
  let pending = ports.length;
  let failed = false;

  const fail = (p: Port, e: NodeJS.ErrnoException): void => {
    if (failed) return;
    failed = true;
    process.stdout.write(`error ${e.code ?? ''} ${p.hostIp}:${p.hostPort}\n`, () => process.exit(1));
  };
  const bound = (): void => {
    if (--pending === 0 && !failed) process.stdout.write('ready\n');
  };

  function serveTcp(p: Port): void {
    // Half-open both ways, as docker-proxy's CloseWrite: a client that shuts down its sending
    // side (`nc -N`, a request then EOF) still gets the whole reply before the connection closes.
    const server = tcp.createServer({ allowHalfOpen: true }, (conn) => {
      const up = tcp.connect({ host: p.target, port: p.targetPort, allowHalfOpen: true });
      const end = (): void => {
        conn.destroy();
        up.destroy();
      };
      conn.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
      conn.pipe(up).pipe(conn);
    });
    server.once('error', (e: NodeJS.ErrnoException) => fail(p, e));
    server.listen({ host: p.hostIp, port: p.hostPort, ipv6Only: true, exclusive: true }, () => {
      server.on('error', () => undefined);
      bound();
    });
    closers.push(() => server.close());
  }

  function serveUdp(p: Port): void {
    const sock = dgram.createSocket({ type: 'udp6', ipv6Only: true });
    const flows = new Map<string, { up: import('node:dgram').Socket; timer: NodeJS.Timeout }>();
    const flowOf = (address: string, port: number): import('node:dgram').Socket => {
      const key = `[${address}]:${port}`;
      const known = flows.get(key);
      if (known) {
        known.timer.refresh();
        return known.up;
      }
      const up = dgram.createSocket(tcp.isIPv6(p.target) ? 'udp6' : 'udp4');
      const timer = setTimeout(() => {
        flows.delete(key);
        up.close();
      }, UDP_IDLE_MS);
      up.on('message', (reply) => {
        timer.refresh();
        sock.send(reply, port, address, () => undefined);
      });
      up.on('error', () => undefined);
      flows.set(key, { up, timer });
      return up;
    };
    sock.once('error', (e: NodeJS.ErrnoException) => fail(p, e));
    sock.on('message', (msg, rinfo) => flowOf(rinfo.address, rinfo.port).send(msg, p.targetPort, p.target, () => undefined));
    sock.bind({ address: p.hostIp, port: p.hostPort, exclusive: true }, () => {
      sock.on('error', () => undefined);
      bound();
    });
    closers.push(() => sock.close());
  }

  for (const p of ports) (p.protocol === 'udp' ? serveUdp : serveTcp)(p);
  process.on('SIGTERM', () => {
    for (const close of closers) close();
    process.exit(0);
  });
}

/** The root's network directory and container a proxy serves, read from its command line; undefined for any other process. */
async function proxyAt(pid: number): Promise<{ dir: string; containerId: string } | undefined> {
  const args = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  const at = args.indexOf(MARKER);
  const dir = args[at + 1];
  const containerId = args[at + 2];
  return at >= 0 && dir !== undefined && containerId !== undefined ? { dir, containerId } : undefined;
}

/**
 * Starts a container's proxy and waits until it holds every port; a port another process
 * holds is docker's `port is already allocated`. Returns its pid.
 */
export async function startPortProxy(paths: StatePaths, containerId: string, ports: ProxiedPort[]): Promise<number> {
  await fs.mkdir(paths.runDir, { recursive: true });
  const log = openSync(path.join(paths.runDir, 'port-proxy.log'), 'a');
  try {
    const code = `(${proxyMain.toString()})(process.argv[4])`;
    const child = spawn(process.execPath, ['-e', code, MARKER, paths.dir, containerId, JSON.stringify(ports)], {
      detached: true,
      stdio: ['ignore', 'pipe', log],
    });
    const first = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString('utf8');
        if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
      });
      child.on('exit', () => resolve(out.split('\n')[0] ?? ''));
      child.on('error', (e) => resolve(`error ${e.message}`));
    });
    child.stdout?.destroy();
    child.unref();
    if (first === 'ready' && child.pid !== undefined) return child.pid;
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    const m = /^error (\S*) (\S+)$/.exec(first);
    if (m?.[1] === 'EADDRINUSE' && m[2]) throw conflict(`Bind for ${m[2]} failed: port is already allocated`);
    throw new CtrError('Internal', `the port proxy of container ${containerId} did not start: ${first || 'no answer'}`, {
      details: { log: path.join(paths.runDir, 'port-proxy.log') },
    });
  } finally {
    closeSync(log);
  }
}

/**
 * Stops a container's proxy, if that pid is still one of this root's, and returns once it is
 * gone: its ports are free when this resolves, so a restart (or another container) can bind
 * them at once. A proxy that ignores SIGTERM for STOP_WAIT_MS is killed.
 */
export async function stopPortProxy(paths: StatePaths, pid: number | undefined): Promise<void> {
  if (pid !== undefined) await stopProxy(paths.dir, pid);
}

const STOP_WAIT_MS = 5_000;

async function stopProxy(dir: string, pid: number): Promise<void> {
  const ours = async (): Promise<boolean> => (await proxyAt(pid))?.dir === dir;
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    if (!(await ours())) return;
    try {
      process.kill(pid, signal);
    } catch {
      return; // Gone meanwhile.
    }
    // A zombie's cmdline is empty: an exited proxy no longer counts as ours, reaped or not.
    for (let waited = 0; waited < STOP_WAIT_MS && (await ours()); waited += 10) await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The running proxies of every root (for gc): each with its root's network directory and
 * container. Only those in this process's mount namespace: a root's path names another
 * directory (or none) in another one, as for a ctr running inside a container.
 */
async function allPortProxies(): Promise<Array<{ pid: number; dir: string; containerId: string }>> {
  const mine = await fs.readlink('/proc/self/ns/mnt');
  const pids = (await fs.readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
  const out: Array<{ pid: number; dir: string; containerId: string }> = [];
  for (const pid of pids) {
    const proxy = await proxyAt(pid);
    if (proxy && (await fs.readlink(`/proc/${pid}/ns/mnt`).catch(() => '')) === mine) out.push({ pid, ...proxy });
  }
  return out;
}

/** This root's running proxies, with the container each serves (for gc). */
export async function listPortProxies(paths: StatePaths): Promise<Array<{ pid: number; containerId: string }>> {
  return (await allPortProxies()).filter((p) => p.dir === paths.dir).map(({ pid, containerId }) => ({ pid, containerId }));
}

/**
 * Stops the proxies of roots whose network directory is gone (deleted without a gc): nothing
 * else would, and each holds its host ports for good. Returns what it stopped.
 */
export async function stopOrphanPortProxies(): Promise<string[]> {
  const stopped: string[] = [];
  for (const proxy of await allPortProxies()) {
    if (await fs.stat(proxy.dir).then(() => true, () => false)) continue;
    await stopProxy(proxy.dir, proxy.pid);
    stopped.push(`port proxy ${proxy.pid} of deleted root ${path.dirname(proxy.dir)}`);
  }
  return stopped;
}
