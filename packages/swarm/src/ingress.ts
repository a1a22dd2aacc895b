import { CtrError } from '@ctr/errors';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { taskAddress } from './allocator';
import type { SwarmContext } from './context';
import { isWorker, localNode } from './membership';
import { syncManagerNetworks } from './networks';
import type { Service, Task } from './types';

/**
 * The routing mesh: one detached process per root listening on every port the services publish
 * in ingress mode (TCP and UDP, on all the host's IPv4 addresses, 127.0.0.1 too) and handing each
 * connection (each UDP flow) to the next of the service's running tasks in turn. swarmkit does
 * this with IPVS on every node; here each node runs a userland proxy (the other nodes' tasks
 * reached over the ingress overlay), which needs no kernel module and outlives the `ctr` command
 * that published the ports, as the embedded DNS server does (a `node -e` of this function's
 * source, Node built-ins only).
 *
 * What it serves is `ingress.json` (written by syncIngress, atomically); it loads it again on
 * SIGHUP and when the file changes, answers in `ingress.status` (the table's generation, and
 * the ports it could not bind) and exits when no port is published.
 */
export function ingressProxyMain(dir: string): void {
  const tcp = require('node:net') as typeof import('node:net');
  const dgram = require('node:dgram') as typeof import('node:dgram');
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');

  interface Backend {
    ip: string;
    port: number;
  }
  interface Entry {
    protocol: 'tcp' | 'udp';
    port: number;
    backends: Backend[];
  }
  interface Listener {
    entry: Entry;
    next: number;
    close: () => void;
    /** Settles once the port is bound (undefined) or could not be (the error's code). */
    bound: Promise<string | undefined>;
  }
  /** docker-proxy's idle time for a UDP flow. */
  const UDP_IDLE_MS = 90_000;
  /** A task that does not answer (gone from its bridge) is given up for the next one after this. */
  const CONNECT_TIMEOUT_MS = 2_000;
  const stateFile = path.join(dir, 'ingress.json');
  const statusFile = path.join(dir, 'ingress.status');
  const pidFile = path.join(dir, 'ingress.pid');
  const listeners = new Map<string, Listener>();
  /** The generation of the table last loaded: only its status is written (a slower earlier load's is stale). */
  let latest = '';

  const log = (msg: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
  };

  function shutdown(): void {
    for (const l of listeners.values()) l.close();
    try {
      if (fs.readFileSync(pidFile, 'utf8').trim() === String(process.pid)) fs.rmSync(pidFile);
    } catch {
      // already gone
    }
    process.exit(0);
  }

  /** The backends of a new connection, in the order to try them: round robin from the listener's turn. */
  function turn(l: Listener): Backend[] {
    const all = l.entry.backends;
    if (all.length === 0) return [];
    const start = l.next++ % all.length;
    return [...all.slice(start), ...all.slice(0, start)];
  }

  function serveTcp(l: Listener, bound: (error?: NodeJS.ErrnoException) => void): void {
    // Half-open both ways, as docker-proxy: a client that ends its side still gets the whole reply.
    const server = tcp.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (conn) => {
      const tryNext = (left: Backend[]): void => {
        const backend = left[0];
        if (!backend || conn.destroyed) {
          conn.destroy();
          return;
        }
        const up = tcp.connect({ host: backend.ip, port: backend.port, allowHalfOpen: true });
        const timer = setTimeout(() => up.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
        // A task that refuses (stopping, or not listening yet) is skipped for the next one.
        up.once('error', () => {
          clearTimeout(timer);
          tryNext(left.slice(1));
        });
        up.once('connect', () => {
          clearTimeout(timer);
          up.removeAllListeners('error');
          if (conn.destroyed) {
            up.destroy();
            return;
          }
          const end = (): void => {
            conn.destroy();
            up.destroy();
          };
          conn.on('error', end).on('close', end);
          up.on('error', end).on('close', end);
          conn.pipe(up).pipe(conn);
          conn.resume();
        });
      };
      conn.on('error', () => conn.destroy());
      tryNext(turn(l));
    });
    server.once('error', (e: NodeJS.ErrnoException) => bound(e));
    server.listen({ host: '0.0.0.0', port: l.entry.port, exclusive: true }, () => {
      server.on('error', () => undefined);
      bound();
    });
    l.close = () => server.close();
  }

  function serveUdp(l: Listener, bound: (error?: NodeJS.ErrnoException) => void): void {
    const sock = dgram.createSocket('udp4');
    const flows = new Map<string, { up: import('node:dgram').Socket; backend: Backend; timer: NodeJS.Timeout }>();
    const flowOf = (address: string, port: number): { up: import('node:dgram').Socket; backend: Backend } | undefined => {
      const key = `${address}:${port}`;
      const known = flows.get(key);
      if (known) {
        known.timer.refresh();
        return known;
      }
      const backend = turn(l)[0];
      if (!backend) return undefined;
      const up = dgram.createSocket('udp4');
      const timer = setTimeout(() => {
        flows.delete(key);
        up.close();
      }, UDP_IDLE_MS);
      up.on('message', (reply) => {
        timer.refresh();
        sock.send(reply, port, address, () => undefined);
      });
      up.on('error', () => undefined);
      const flow = { up, backend, timer };
      flows.set(key, flow);
      return flow;
    };
    sock.once('error', (e: NodeJS.ErrnoException) => bound(e));
    sock.on('message', (msg, rinfo) => {
      const flow = flowOf(rinfo.address, rinfo.port);
      flow?.up.send(msg, flow.backend.port, flow.backend.ip, () => undefined);
    });
    sock.bind({ address: '0.0.0.0', port: l.entry.port, exclusive: true }, () => {
      sock.on('error', () => undefined);
      bound();
    });
    l.close = () => {
      for (const flow of flows.values()) {
        clearTimeout(flow.timer);
        flow.up.close();
      }
      sock.close();
    };
  }

  function writeStatus(status: unknown): void {
    const tmp = `${statusFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(status));
    fs.renameSync(tmp, statusFile);
  }

  function load(): void {
    let state: { generation: string; ports: Entry[] };
    try {
      state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as typeof state;
    } catch {
      // No table (stopIngress removed it): nothing is published any more.
      return shutdown();
    }
    if (state.ports.length === 0) return shutdown();
    const wanted = new Map(state.ports.map((e) => [`${e.protocol}/${e.port}`, e]));
    for (const [key, l] of listeners) {
      if (wanted.has(key)) continue;
      l.close();
      listeners.delete(key);
    }
    latest = state.generation;
    const binds: Array<Promise<Array<{ port: number; protocol: string; code: string }>>> = [];
    for (const [key, entry] of wanted) {
      let l = listeners.get(key);
      if (l) l.entry = entry;
      else {
        const made: Listener = { entry, next: 0, close: () => undefined, bound: Promise.resolve(undefined) };
        made.bound = new Promise((resolve) =>
          (entry.protocol === 'udp' ? serveUdp : serveTcp)(made, (error) => {
            if (error) {
              log(`cannot listen on ${key}: ${error.code ?? error.message}`);
              // Forgotten, so that the next load tries the port again.
              if (listeners.get(key) === made) listeners.delete(key);
            }
            resolve(error && (error.code ?? error.message));
          }),
        );
        listeners.set(key, made);
        l = made;
      }
      // A port a load before this one is still binding is waited for here too.
      binds.push(l.bound.then((code) => (code === undefined ? [] : [{ port: entry.port, protocol: entry.protocol, code }])));
    }
    void Promise.all(binds).then((failed) => {
      if (state.generation === latest) writeStatus({ generation: state.generation, pid: process.pid, failed: failed.flat() });
    });
  }

  // Another proxy of this root already serves (two syncs started one each): it reads the same table.
  try {
    const other = Number(fs.readFileSync(pidFile, 'utf8').trim());
    const cmdline = fs.readFileSync(`/proc/${other}/cmdline`, 'utf8').split('\0');
    if (other !== process.pid && cmdline.includes(dir) && cmdline.includes('ctr-ingress-proxy')) process.exit(0);
  } catch {
    // No pid file, or its process is gone: this one serves.
  }
  fs.writeFileSync(pidFile, String(process.pid));
  process.on('SIGHUP', load);
  process.on('SIGTERM', shutdown);
  fs.watchFile(stateFile, { interval: 1000 }, load);
  load();
}

const MARKER = 'ctr-ingress-proxy';
const READY_TIMEOUT_MS = 10_000;

/** One published port of the routing mesh and the tasks behind it. */
export interface IngressEntry {
  protocol: 'tcp' | 'udp';
  port: number;
  /** The service publishing it. */
  service: string;
  backends: Array<{ ip: string; port: number }>;
}

/** What the proxy says of the table it serves: the ports it could not bind (held by another process). */
export interface IngressStatus {
  /** The proxy's pid; absent when nothing is published and no proxy runs. */
  pid?: number;
  failed: Array<{ port: number; protocol: string; code: string }>;
}

function dirOf(ctx: SwarmContext): string {
  return path.join(ctx.runRoot, 'swarm');
}

/** The proxy's pid when it runs: the pid file's, checked to be this root's proxy by its command line. */
export async function ingressProxyPid(ctx: SwarmContext): Promise<number | undefined> {
  const dir = dirOf(ctx);
  const pid = Number((await fs.readFile(path.join(dir, 'ingress.pid'), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const args = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return args.includes(MARKER) && args.includes(dir) ? pid : undefined;
}

/** The IPv4 address a task's container is reached at: on ingress, else on the service's first network, else any. */
function addressOf(networks: Record<string, { NetworkID: string; IPAddress: string }>, service: Service, ingressId: string | undefined): string | undefined {
  const all = Object.entries(networks).filter(([, n]) => n.IPAddress !== '');
  const targets = [ingressId, ...(service.Spec.TaskTemplate.Networks ?? []).map((n) => n.Target)].filter((t): t is string => t !== undefined);
  for (const target of targets) {
    const hit = all.find(([name, n]) => n.NetworkID === target || name === target);
    if (hit) return hit[1].IPAddress;
  }
  return all[0]?.[1].IPAddress;
}

/**
 * The routing mesh's table: each service's ingress ports and its running tasks' addresses — this
 * node's tasks by their containers, the other nodes' running ones by their addresses on the
 * ingress network, which its VXLAN device carries there (swarmkit's IPVS reaches them the same way).
 */
export async function ingressTable(ctx: SwarmContext): Promise<IngressEntry[]> {
  if (!ctx.store.active()) return [];
  const services = (await ctx.store.list('services')).filter((s) => (s.Endpoint?.Ports ?? []).some((p) => (p.PublishMode ?? 'ingress') === 'ingress' && (p.PublishedPort ?? 0) !== 0));
  if (services.length === 0) return [];
  const all = await ctx.store.list('tasks');
  const tasks = new Map<string, Task>(all.map((t) => [t.ID, t]));
  const [containers, networks, self] = await Promise.all([ctx.engine.ps({ filters: { label: ['com.docker.swarm.service.id'] } }), ctx.engine.networks(), localNode(ctx)]);
  const ingressId = networks.find((n) => n.Ingress)?.Id;
  const table: IngressEntry[] = [];
  for (const service of services) {
    // A task the swarm is shutting down (scale down, rolling update) takes no new connection.
    const running = containers.filter((c) => c.Labels['com.docker.swarm.service.id'] === service.ID && tasks.get(c.Labels['com.docker.swarm.task.id'] ?? '')?.DesiredState === 'running');
    const remote = all.filter((t) => t.ServiceID === service.ID && t.NodeID !== undefined && t.NodeID !== self?.NodeID && t.DesiredState === 'running' && t.Status.State === 'running');
    const addresses = [
      ...running.flatMap((c) => addressOf(c.NetworkSettings.Networks, service, ingressId) ?? []),
      ...(ingressId === undefined ? [] : remote.flatMap((t) => taskAddress(t, ingressId) ?? [])),
    ].sort();
    for (const p of service.Endpoint?.Ports ?? []) {
      if ((p.PublishMode ?? 'ingress') !== 'ingress' || !p.PublishedPort) continue;
      table.push({ protocol: p.Protocol === 'udp' ? 'udp' : 'tcp', port: p.PublishedPort, service: service.ID, backends: addresses.map((ip) => ({ ip, port: p.TargetPort })) });
    }
  }
  return table.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

function start(dir: string): void {
  const log = openSync(path.join(dir, 'ingress.log'), 'a');
  try {
    const code = `(${ingressProxyMain.toString()})(process.argv[2])`;
    spawn(process.execPath, ['-e', code, MARKER, dir], { detached: true, stdio: ['ignore', log, log] }).unref();
  } finally {
    closeSync(log);
  }
}

async function readStatus(dir: string): Promise<(IngressStatus & { generation?: string }) | undefined> {
  const text = await fs.readFile(path.join(dir, 'ingress.status'), 'utf8').catch(() => undefined);
  try {
    return text === undefined ? undefined : (JSON.parse(text) as IngressStatus & { generation?: string });
  } catch {
    return undefined;
  }
}

/**
 * Makes the routing mesh match the services' ingress ports and their running tasks: writes the
 * table and has the proxy (started when none runs) serve it, returning once it does, with the
 * ports it could not bind; stops the proxy when no port is published. Called at the end of
 * every reconcile, by any process on the root; the manager's swarm networks are brought up to
 * date across the nodes first (their peers, the other nodes' tasks), so the mesh reaches them.
 * A worker's mesh is the manager's table, served as its assignments come (applyNetworkAssignments).
 */
export async function syncIngress(ctx: SwarmContext): Promise<IngressStatus> {
  if (isWorker(ctx)) return { failed: (await readStatus(dirOf(ctx)))?.failed ?? [] };
  await syncManagerNetworks(ctx);
  return serveIngress(ctx, await ingressTable(ctx));
}

/** Has the proxy serve `table` (see syncIngress): started when none runs, stopped when the table is empty. */
export async function serveIngress(ctx: SwarmContext, table: readonly IngressEntry[]): Promise<IngressStatus> {
  if (table.length === 0) {
    await stopIngress(ctx);
    return { failed: [] };
  }
  const dir = dirOf(ctx);
  await fs.mkdir(dir, { recursive: true });
  const text = JSON.stringify(table);
  const generation = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const pid = await ingressProxyPid(ctx);
  const served = await readStatus(dir);
  if (pid !== undefined && served?.generation === generation && served.pid === pid) return { pid, failed: served.failed };
  await writeAtomically(path.join(dir, 'ingress.json'), JSON.stringify({ generation, ports: table }));
  if (pid === undefined || !toldToReload(pid)) start(dir);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const status = await readStatus(dir);
    const now = await ingressProxyPid(ctx);
    if (status?.generation === generation && now !== undefined && status.pid === now) return { pid: now, failed: status.failed };
    if (Date.now() > deadline) {
      const log = await fs.readFile(path.join(dir, 'ingress.log'), 'utf8').catch(() => '');
      throw new CtrError('Unavailable', 'the routing mesh (the ingress proxy) did not take the published ports', {
        hint: `see ${path.join(dir, 'ingress.log')}`,
        details: { log: log.split('\n').slice(-10).join('\n') },
      });
    }
    await sleep(20);
  }
}

/** SIGHUP to the proxy: false when it has exited since its pid was read (stopped by another process's sync), so that one is started. */
function toldToReload(pid: number): boolean {
  try {
    process.kill(pid, 'SIGHUP');
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Stops the routing mesh's proxy (by the pid in its pid file, checked to be this root's) and forgets its table. */
export async function stopIngress(ctx: SwarmContext): Promise<void> {
  const dir = dirOf(ctx);
  await fs.rm(path.join(dir, 'ingress.json'), { force: true });
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const pid = await ingressProxyPid(ctx);
    if (pid === undefined) break;
    try {
      process.kill(pid, signal);
    } catch {
      break; // Gone meanwhile.
    }
    // A zombie's cmdline is empty: an exited proxy no longer counts as ours, reaped or not.
    for (let waited = 0; waited < 5_000 && (await ingressProxyPid(ctx)) === pid; waited += 20) await sleep(20);
  }
  await fs.rm(path.join(dir, 'ingress.pid'), { force: true });
  await fs.rm(path.join(dir, 'ingress.status'), { force: true });
}
