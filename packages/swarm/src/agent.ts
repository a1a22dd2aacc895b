import { spawn } from 'node:child_process';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { asCtrError, CtrError, isCtrError } from '@ctr/errors';
import { holderRuns, thisProcess } from '@ctr/store';
import type { SwarmContext } from './context';
import { dispatcherRoutes } from './dispatcher';
import {
  heartbeatMs,
  leaveAsWorker,
  localNode,
  markNode,
  membershipRoutes,
  renewManagerCertificate,
  renewWorkerCertificate,
  type HeartbeatLog,
  type LocalNode,
} from './membership';
import { errorText, FailureLog, moduleLog, withFields, type SwarmLog } from './log';
import { checkNotExpired, currentValidity, keepCertificateRenewed, type RenewalOptions } from './renewal';
import { clusterClient, REJOIN_HINT, serveCluster, type ClusterRoutes, type ClusterServer } from './transport';
import { workerLogsRoute } from './remote-logs';
import { runWorker } from './worker';

/**
 * The node agent: one long-lived process per root while it is in a swarm (the detached
 * `ctr swarm agent`, or ctrd itself). On the manager it serves the cluster port and watches the
 * workers' heartbeats; on a worker it keeps the session with the manager and runs its tasks.
 */

/** swarmkit's grace: a node is down after this many heartbeat periods without one. */
const GRACE_PERIODS = 3;
const BACKOFF_MS = { first: 1_000, max: 30_000 };
const READY_TIMEOUT_MS = 15_000;

/**
 * Hidden, for tests: the agent's first certificate renewal comes this many milliseconds after it
 * starts, instead of at swarmkit's random point between 50% and 80% of the certificate's validity
 * (weeks away with the default 90 days); later ones are in the window again.
 */
export const RENEW_AFTER_VARIABLE = 'CTR_SWARM_CERT_RENEW_AFTER_MS';

function firstRenewalAfter(): number | undefined {
  const given = process.env[RENEW_AFTER_VARIABLE];
  const ms = given ? Number(given) : Number.NaN;
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** The renewal loop's options common to both roles: the server takes each new certificate. */
function renewalOptions(server: ClusterServer): Pick<RenewalOptions, 'renewed' | 'firstAfterMs'> {
  const firstAfterMs = firstRenewalAfter();
  return { renewed: () => server.reloadCredentials(), ...(firstAfterMs === undefined ? {} : { firstAfterMs }) };
}

function agentDir(ctx: SwarmContext): string {
  return path.join(ctx.runRoot, 'swarm');
}

function pidFile(ctx: SwarmContext): string {
  return path.join(agentDir(ctx), 'agent.pid');
}

interface AgentRecord {
  pid: number;
  ready: boolean;
}

function readRecord(file: string): (AgentRecord & { start: string }) | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const [pid, start, ready] = text.trim().split(/\s+/);
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0 || start === undefined) return undefined;
  return { pid: n, start, ready: ready === 'ready' };
}

/** The live agent of this root (its pid file's process, still the one that wrote it); undefined when none runs. */
export function runningAgent(ctx: SwarmContext): AgentRecord | undefined {
  const record = readRecord(pidFile(ctx));
  // Its start time too: a PID the kernel gave to another process since (or a zombie) is no agent.
  return record && holderRuns({ pid: record.pid, startTime: record.start }) ? { pid: record.pid, ready: record.ready } : undefined;
}

function recordText(ready: boolean): string {
  const self = thisProcess();
  return `${self.pid} ${self.startTime || '0'}${ready ? ' ready' : ''}\n`;
}

/**
 * Makes this process the root's agent: the pid file is created exclusively (written aside, then
 * linked into place, so nobody reads it half written); a stale one (its process gone) is moved
 * away first, which one process alone can do. False when a live agent holds it.
 */
function claim(ctx: SwarmContext): boolean {
  const file = pidFile(ctx);
  mkdirSync(agentDir(ctx), { recursive: true, mode: 0o700 });
  const mine = `${file}.${process.pid}.tmp`;
  writeFileSync(mine, recordText(false));
  try {
    for (let tries = 0; tries < 3; tries++) {
      try {
        linkSync(mine, file);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const held = readRecord(file);
      if (held && holderRuns({ pid: held.pid, startTime: held.start })) return held.pid === process.pid;
      const stale = `${file}.${process.pid}.stale`;
      try {
        renameSync(file, stale);
      } catch {
        continue;
      }
      const moved = readRecord(stale);
      // Another process took the file over between the read and the rename: it is given back.
      if (moved && holderRuns({ pid: moved.pid, startTime: moved.start })) renameSync(stale, file);
      else rmSync(stale, { force: true });
    }
    return false;
  } finally {
    rmSync(mine, { force: true });
  }
}

function markReady(ctx: SwarmContext): void {
  const tmp = `${pidFile(ctx)}.${process.pid}.ready`;
  writeFileSync(tmp, recordText(true));
  renameSync(tmp, pidFile(ctx));
}

function release(ctx: SwarmContext): void {
  if (readRecord(pidFile(ctx))?.pid === process.pid) rmSync(pidFile(ctx), { force: true });
}

/** Resolves after `ms`, or at once when `signal` fires (never rejects). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}

/** Aborts when node.json goes (the root left the swarm) or names another node: the agent then ends. */
function whileMember(ctx: SwarmContext, self: LocalNode, outer: AbortSignal): AbortController {
  const inner = new AbortController();
  const stop = (): void => inner.abort();
  outer.addEventListener('abort', stop, { once: true });
  void (async () => {
    while (!inner.signal.aborted) {
      await pause(1_000, inner.signal);
      const now = await localNode(ctx).catch(() => undefined);
      if (now?.NodeID !== self.NodeID) inner.abort();
    }
    outer.removeEventListener('abort', stop);
  })();
  return inner;
}

/**
 * The agents running in this process (ctrd's), by run root: no signal reaches them, so
 * `stopAgent` aborts them here; and the node they served, which a left root's supervisor must
 * not serve again while `leave` is still removing its state.
 */
const inProcess = new Map<string, { nodeId: string; member: AbortController }>();
const stoppedNode = new Map<string, string>();

/**
 * Runs the agent for this root until `signal` fires or the root leaves the swarm. Returns at
 * once when the root is in no swarm or another live agent serves it (ctrd then leaves a
 * detached agent alone). Writes `<runRoot>/swarm/agent.pid` (`pid starttime [ready]`).
 */
export async function runAgent(ctx: SwarmContext, signal: AbortSignal): Promise<void> {
  const self = await localNode(ctx);
  if (!self || stoppedNode.get(ctx.runRoot) === self.NodeID || !claim(ctx)) return;
  const member = whileMember(ctx, self, signal);
  inProcess.set(ctx.runRoot, { nodeId: self.NodeID, member });
  // swarmkit's agent's fields: its lines are told apart from the daemon's by them.
  const log = withFields(moduleLog(ctx, 'node/agent'), { 'node.id': self.NodeID });
  try {
    if (self.Role === 'manager') await manage(ctx, self, member.signal, log);
    else await work(ctx, self, member, log);
  } finally {
    member.abort();
    if (inProcess.get(ctx.runRoot)?.member === member) inProcess.delete(ctx.runRoot);
    release(ctx);
  }
}

async function manage(ctx: SwarmContext, self: LocalNode, signal: AbortSignal, log: SwarmLog): Promise<void> {
  const heard: HeartbeatLog = new Map();
  const started = Date.now();
  // Expired while the agent was down: renewed before the port opens (the manager signs its own).
  if (currentValidity(ctx).until <= Date.now()) await renewManagerCertificate(ctx, self, signal);
  const server = await serveCluster(ctx, { ...membershipRoutes(ctx, heard), ...dispatcherRoutes(ctx) }, signal, {
    listen: self.ListenAddr,
    clusterId: self.ClusterID,
    allowed: async (caller) => (await ctx.store.get('nodes', caller.nodeId)) !== undefined,
  });
  markReady(ctx);
  log.log('info', 'manager serving the cluster port', { addr: server.address });
  const renewal = keepCertificateRenewed(ctx, { ...renewalOptions(server), renew: (s) => renewManagerCertificate(ctx, self, s), renewsExpired: true }, signal).catch((error: unknown) =>
    log.log('error', 'certificate renewal stopped', { error: errorText(error) }),
  );
  // The watchdog: a worker not heard from for GRACE_PERIODS heartbeats is down (swarmkit's
  // dispatcher), its tasks then placed elsewhere; its next heartbeat makes it ready again.
  while (!signal.aborted) {
    const [cluster] = await ctx.store.list('cluster');
    const period = heartbeatMs(cluster?.Spec.Dispatcher.HeartbeatPeriod);
    for (const node of await ctx.store.list('nodes')) {
      if (node.ID === self.NodeID || node.Status.State !== 'ready') continue;
      // Nodes this agent never heard from are timed from its start (it may have just restarted).
      const last = heard.get(node.ID) ?? started;
      if (Date.now() - last > GRACE_PERIODS * period) {
        log.log('info', 'node missed its heartbeats: down', { node: node.ID });
        await markNode(ctx, node.ID, 'down', 'heartbeat failure').catch((error: unknown) => log.log('error', 'failed to mark the node down', { node: node.ID, error: errorText(error) }));
      }
    }
    await pause(period / 2, signal);
  }
  await renewal;
  await server.closed;
}

async function work(ctx: SwarmContext, self: LocalNode, member: AbortController, log: SwarmLog): Promise<void> {
  const signal = member.signal;
  const manager = self.ManagerAddrs[0];
  if (!manager) throw new CtrError('Internal', 'node.json names no manager');
  // An expired certificate cannot call the manager, not even to be renewed: said once, not retried.
  checkNotExpired(ctx);
  const client = clusterClient(ctx, manager, 'manager');
  const server = await serveCluster(ctx, workerRoutes(ctx), signal, {
    listen: self.ListenAddr,
    clusterId: self.ClusterID,
    allowed: async (caller) => caller.role === 'manager',
  });
  markReady(ctx);
  log.log('info', 'worker serving the manager', { addr: server.address, manager });
  /** Why the agent ends other than by leaving: the node's certificate is no longer any good. */
  let failure: unknown;
  const renewal = keepCertificateRenewed(
    ctx,
    { ...renewalOptions(server), renew: (s) => renewWorkerCertificate(ctx, self, client, s), renewsExpired: false },
    signal,
  ).catch((error: unknown) => {
    failure = error;
    member.abort();
  });
  const worker = runWorker(ctx, client, signal, { log }).catch((error: unknown) => log.log('error', 'worker stopped', { error: errorText(error) }));
  let backoff = BACKOFF_MS.first;
  let period = 5_000;
  // The session's changes are logged (established, failed, established again), not each retry.
  let established = false;
  const sessionFailures = new FailureLog(log, 'agent: session failed');
  while (!signal.aborted) {
    try {
      const answer = await client.call<{ heartbeatPeriodMs: number }>('POST', '/heartbeat', {}, { signal, timeoutMs: 10_000 });
      period = answer.heartbeatPeriodMs;
      backoff = BACKOFF_MS.first;
      const failures = sessionFailures.clear();
      if (!established) log.log('info', 'agent: session established', { manager, ...(failures > 0 ? { failures } : {}) });
      established = true;
      await pause(period, signal);
    } catch (error) {
      if (signal.aborted) break;
      // Removed from the swarm (`node rm`): the node leaves, as docker's does.
      if (isCtrError(error) && error.code === 'Denied') {
        log.log('error', 'the manager removed this node from the swarm: leaving it', { manager, error: error.message });
        member.abort();
        // A renewal under way writes its certificate before the state goes, not after.
        await Promise.all([worker, renewal]);
        await leaveAsWorker(ctx, { fromAgent: true });
        break;
      }
      // Its certificate refused (expired on the manager's clock): the node stays, and says why it cannot go on.
      if (isCtrError(error) && error.code === 'Unauthorized') {
        failure = new CtrError('Unauthorized', `the manager refused this node's certificate: ${error.message}`, { hint: error.hint ?? REJOIN_HINT });
        member.abort();
        break;
      }
      // The manager unreachable: the tasks keep running; asked again with backoff.
      established = false;
      sessionFailures.failed(error, { manager, backoff: `${backoff}ms` });
      await pause(backoff, signal);
      backoff = Math.min(backoff * 2, BACKOFF_MS.max);
    }
  }
  await Promise.all([worker, renewal]);
  await server.closed;
  if (failure !== undefined) throw failure;
}

/** What a worker's agent serves the manager: its tasks' logs (`service logs` on the manager). */
function workerRoutes(ctx: SwarmContext): ClusterRoutes {
  return { 'GET /logs': workerLogsRoute(ctx) };
}

/**
 * Starts this root's agent, detached, when the root is in a swarm and none runs (`command` is
 * the agent's command line: the CLI's hidden `ctr swarm agent`); returns once it serves. Cheap
 * when it runs: one read and one stat.
 */
export async function ensureAgent(ctx: SwarmContext, command: readonly string[]): Promise<void> {
  if (runningAgent(ctx)?.ready) return;
  const self = await localNode(ctx);
  if (!self) return;
  // Said here, as itself, rather than as an agent that did not start.
  if (self.Role === 'worker') checkNotExpired(ctx);
  let exited: number | null | undefined;
  if (!runningAgent(ctx)) {
    mkdirSync(agentDir(ctx), { recursive: true, mode: 0o700 });
    const logFd = openSync(path.join(agentDir(ctx), 'agent.log'), 'a');
    try {
      const [file, ...args] = command;
      const child = spawn(file as string, args, { detached: true, stdio: ['ignore', logFd, logFd] });
      child.once('exit', (code) => (exited = code));
      child.unref();
    } finally {
      closeSync(logFd);
    }
  }
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!runningAgent(ctx)?.ready) {
    // Ended before it served (its port taken, say), or never served in time: its log says why.
    if (exited !== undefined || Date.now() > deadline) {
      let tail = '';
      try {
        tail = readFileSync(path.join(agentDir(ctx), 'agent.log'), 'utf8').trimEnd().split('\n').slice(-5).join('\n');
      } catch {
        // no log
      }
      throw new CtrError('Unavailable', `the swarm's node agent did not start${tail ? `: ${tail}` : ''}`, { hint: `see ${path.join(agentDir(ctx), 'agent.log')}` });
    }
    await sleep(25);
  }
}

/**
 * Stops the root's agent and waits until it is gone: another process by its pid file's PID; an
 * agent in this process (ctrd's) aborted, and not started again for the node that is leaving.
 */
export async function stopAgent(ctx: SwarmContext): Promise<void> {
  const agent = runningAgent(ctx);
  if (!agent) return;
  if (agent.pid !== process.pid) {
    try {
      process.kill(agent.pid, 'SIGTERM');
    } catch {
      return;
    }
  } else {
    const own = inProcess.get(ctx.runRoot);
    if (own) {
      stoppedNode.set(ctx.runRoot, own.nodeId);
      own.member.abort();
    }
  }
  for (let waited = 0; waited < 10_000 && runningAgent(ctx)?.pid === agent.pid; waited += 25) await sleep(25);
}

/**
 * ctrd's agent: runs `runAgent` whenever the root is in a swarm and no other agent serves it,
 * until `signal` fires. `kick` (init, join, any verb) starts it at once instead of at the next
 * look, and returns once it serves, or throws why it could not (its port taken, say).
 */
export function superviseAgent(ctx: SwarmContext, signal: AbortSignal): { kick(): Promise<void>; done: Promise<void> } {
  let wake: (() => void) | undefined;
  let failure: unknown;
  // Tried again every 2 seconds: an agent that cannot start (its certificate expired) is said once, not every time.
  const failures = new FailureLog(moduleLog(ctx, 'node/agent'), 'the swarm node agent failed');
  const done = (async () => {
    while (!signal.aborted) {
      try {
        await runAgent(ctx, signal);
        failures.clear();
      } catch (error) {
        failure = error;
        failures.failed(error);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        void pause(2_000, signal).then(resolve);
      });
    }
  })();
  return {
    async kick() {
      if (runningAgent(ctx)?.ready) return;
      failure = undefined;
      wake?.();
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (!runningAgent(ctx)?.ready && !signal.aborted) {
        if (failure !== undefined) throw asCtrError(failure, 'Unavailable', "the swarm's node agent did not start");
        if (Date.now() > deadline) throw new CtrError('Unavailable', "the swarm's node agent did not start in time");
        await sleep(25);
      }
    },
    done,
  };
}
