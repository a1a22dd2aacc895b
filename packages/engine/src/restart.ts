import type { ContainerState } from '@ctr/runtime';
import type { ContainerRecord } from './container-records';
import { underContainerLock } from './container-lock';
import type { Containers } from './containers';
import type { EngineContext } from './context';
import { HealthTimers } from './health';
import { holdsHostMounts, releaseHeld } from './held-mounts';

/**
 * Restart policies, daemonless. While an engine runs its monitor (`engine.startMonitor()`),
 * every container with a restart policy, `autoRemove` or host mounts (held-mounts.ts) that is
 * running is watched through `runtime.wait`; when one exits its mounts are released and the
 * policy decides. Containers started later, or by other
 * engine processes, are picked up by a periodic scan. A per-container lock makes two
 * monitors on one root restart a container once. The same scan keeps the health checks of
 * running containers on their timers (see health.ts).
 *
 * After a reboot-like loss of the run directory, `recoverContainers` (at the next engine
 * start) starts again the `always` / `unless-stopped` containers that were running.
 */

/** Docker's decision after an exit (daemon/restartmanager): a user's stop always wins. */
export function shouldRestart(policy: ContainerRecord['restartPolicy'], exitCode: number, restartCount: number, stoppedByUser: boolean): boolean {
  if (stoppedByUser) return false;
  switch (policy.name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return exitCode !== 0 && (policy.maximumRetryCount === 0 || restartCount < policy.maximumRetryCount);
    default:
      return false;
  }
}

/** Docker's backoff: 100 ms doubling per quick failure, at most a minute; a run of 10 s resets it. */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 60_000;
const RESET_AFTER_MS = 10_000;
/** A monitor leaves an exited auto-remove container this long to a client that runs it attached. */
const AUTO_REMOVE_GRACE_MS = 1000;
const SETTLE_MS = 300;

/** The state a container is left in when its monitor vanished without an exit code (a reboot, a kill -9). */
function lostWhileRunning(state: ContainerState): boolean {
  return state.status === 'exited' && state.exitCode === 255 && /monitor|conmon/.test(state.error);
}

/** Whether a container's exit needs acting on: it has a restart policy, goes with `--rm`, or holds host mounts to release. */
export function watched(record: ContainerRecord): boolean {
  return record.restartPolicy.name !== 'no' || record.autoRemove || holdsHostMounts(record);
}

export class RestartMonitor {
  private readonly watching = new Map<string, AbortController>();
  /** The exit (its finishedAt) last acted on, per container, so an exit is handled once. */
  private readonly handled = new Map<string, string>();
  private readonly busy = new Set<string>();
  private readonly backoff = new Map<string, number>();
  private readonly closing = new AbortController();
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private readonly health: HealthTimers;

  constructor(
    private readonly ctx: EngineContext,
    private readonly containers: Containers,
    private readonly options: { scanIntervalMs?: number } = {},
  ) {
    this.health = new HealthTimers(ctx);
  }

  /** Begin watching; resolves after the first scan. */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.scan(), this.options.scanIntervalMs ?? 1000);
    this.timer.unref();
    await this.scan();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.health.close();
    this.closing.abort();
    for (const watch of this.watching.values()) watch.abort();
    await this.scanning?.catch(() => undefined);
  }

  /**
   * One pass over all containers: watch the running ones; act on exits no watch saw (a
   * container that exited between two scans). Exits from before the monitor started are
   * left alone, as dockerd leaves them.
   */
  scan(): Promise<void> {
    this.scanning ??= (async () => {
      try {
        for (const record of await this.containers.records.list()) {
          if (this.closing.signal.aborted) return;
          const exits = watched(record) && !this.watching.has(record.id) && !this.busy.has(record.id);
          if (!exits && !record.healthcheck) continue;
          const state = await this.ctx.runtime.state(record.id).catch(() => undefined);
          if (!state) continue;
          if (state.running) this.health.watch(record, state.startedAt);
          if (!exits) continue;
          if (state.running) this.watch(record.id);
          else if (state.status === 'exited' && new Date(state.finishedAt).getTime() >= this.startedAt) void this.handleExit(record.id);
        }
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  private watch(id: string): void {
    const watch = new AbortController();
    this.watching.set(id, watch);
    void this.ctx.runtime
      .wait(id, { signal: watch.signal })
      .then(() => {
        this.watching.delete(id);
        return this.handleExit(id);
      })
      .catch(() => undefined)
      .finally(() => {
        if (this.watching.get(id) === watch) this.watching.delete(id);
      });
  }

  private async handleExit(id: string): Promise<void> {
    if (this.closing.signal.aborted || this.busy.has(id)) return;
    this.busy.add(id);
    try {
      let state = await this.ctx.runtime.state(id).catch(() => undefined);
      if (state && lostWhileRunning(state)) {
        // Also what the runtime reports for a moment while a container is being started
        // (the new monitor's pid not yet written): look again before believing it.
        await sleep(SETTLE_MS);
        state = await this.ctx.runtime.state(id).catch(() => undefined);
      }
      if (!state || state.running || this.handled.get(id) === state.finishedAt) return;
      this.handled.set(id, state.finishedAt);
      await this.onExit(id, state.exitCode, state.startedAt);
    } finally {
      this.busy.delete(id);
    }
    if (!this.closing.signal.aborted && !this.watching.has(id) && (await this.ctx.runtime.state(id).catch(() => undefined))?.running) this.watch(id);
  }

  private async onExit(id: string, exitCode: number, startedAt: string): Promise<void> {
    await actOnExit(this.ctx, this.containers, id, exitCode, {
      backoffMs: () => {
        const ranFor = Date.now() - new Date(startedAt).getTime();
        const wait = ranFor >= RESET_AFTER_MS ? FIRST_BACKOFF_MS : Math.min((this.backoff.get(id) ?? FIRST_BACKOFF_MS / 2) * 2, MAX_BACKOFF_MS);
        this.backoff.set(id, wait);
        return wait;
      },
      finishedAt: this.handled.get(id) ?? '',
      aborted: () => this.closing.signal.aborted,
      removeGraceMs: AUTO_REMOVE_GRACE_MS,
    });
  }
}

/**
 * What a watched container's exit leads to, wherever it is noticed (an engine's monitor,
 * or conmon's exit command in daemonless use): the die event, then removal for `--rm`, or
 * a restart when the policy says so — under the container's restart lock, and only if the
 * exit that `finishedAt` names is still the last one (so two observers act once).
 */
async function actOnExit(
  ctx: EngineContext,
  containers: Containers,
  id: string,
  exitCode: number,
  options: { backoffMs: () => number; finishedAt: string; aborted?: () => boolean; keepAlive?: boolean; removeGraceMs: number },
): Promise<void> {
  const pause = (ms: number): Promise<void> => sleep(ms, options.keepAlive);
  const record = await containers.records.read(id).catch(() => undefined);
  if (!record) return;
  // Whatever follows (a removal, a restart), what the run held comes off first, as dockerd's cleanup at every exit.
  if (holdsHostMounts(record)) await releaseHeld(ctx, record);
  if (!record.stoppedByUser) await ctx.events.emit('container', 'die', id, { name: record.name, image: record.image, exitCode: String(exitCode) });
  if (record.autoRemove) {
    await pause(options.removeGraceMs);
    const after = await ctx.runtime.state(id).catch(() => undefined);
    if (after && !after.running) await containers.remove(id, { force: true, volumes: true }).catch(() => undefined);
    return;
  }
  if (!shouldRestart(record.restartPolicy, exitCode, record.restartCount, record.stoppedByUser === true)) return;
  // Until the start, the container shows as restarting (Docker's State.Restarting).
  await underRestartLock(ctx, id, async () => {
    const latest = await containers.records.read(id);
    if (!latest.stoppedByUser) await containers.records.write({ ...latest, restarting: true });
  }).catch(() => undefined);
  await pause(options.backoffMs());
  await underRestartLock(ctx, id, async () => {
    const now = await ctx.runtime.state(id).catch(() => undefined);
    const latest = await containers.records.read(id).catch(() => undefined);
    if (!latest) return;
    // The decision is made again on what is true now: a user may have stopped it, another
    // engine's monitor may have restarted it already, this engine may be closing.
    const go =
      now !== undefined &&
      !now.running &&
      now.finishedAt === options.finishedAt &&
      !options.aborted?.() &&
      shouldRestart(latest.restartPolicy, exitCode, latest.restartCount, latest.stoppedByUser === true);
    if (!go) {
      if (latest.restarting) await containers.records.write({ ...latest, restarting: false });
      return;
    }
    await containers.records.write({ ...latest, restartCount: latest.restartCount + 1 });
    await containers.start(id);
  }).catch(() => undefined);
}

/**
 * Run `fn` holding container `id`'s restart lock: whoever restarts a container holds it
 * from its checks to the start, and `stop` holds it to mark the container stopped, so
 * neither undoes the other.
 */
export async function underRestartLock<T>(ctx: EngineContext, id: string, fn: () => Promise<T>): Promise<T> {
  return underContainerLock(ctx, 'restart-locks', id, fn);
}

/**
 * Daemonless: conmon's exit command for container `id` (`ctr container cleanup`). The
 * backoff between quick restarts doubles with the restart count, as Docker's does.
 */
export async function handleExit(ctx: EngineContext, containers: Containers, id: string): Promise<void> {
  const state = await ctx.runtime.state(id).catch(() => undefined);
  if (!state || state.running || state.status !== 'exited') return;
  const record = await containers.records.read(id).catch(() => undefined);
  if (!record) return;
  const ranFor = new Date(state.finishedAt).getTime() - new Date(state.startedAt).getTime();
  await actOnExit(ctx, containers, id, state.exitCode, {
    backoffMs: () => (ranFor >= RESET_AFTER_MS ? FIRST_BACKOFF_MS : Math.min(FIRST_BACKOFF_MS * 2 ** record.restartCount, MAX_BACKOFF_MS)),
    finishedAt: state.finishedAt,
    // This process exists only for this exit: its waits are what keeps it alive.
    keepAlive: true,
    // conmon runs its exit command when no client is attached, or the attached one is gone.
    removeGraceMs: 0,
  });
}

/** A monitor's waits must not keep a finished engine process alive. */
function sleep(ms: number, keepAlive = false): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (!keepAlive) timer.unref();
  });
}

/**
 * At an engine's start after the run directory was lost (a reboot): containers whose state
 * says they were running but whose monitor is gone are started again when their policy is
 * `always` or `unless-stopped`; exited auto-remove containers are removed; what the others
 * that do not run held on the host (device volumes, a /dev/shm) is released.
 */
export async function recoverContainers(ctx: EngineContext, containers: Containers): Promise<{ restarted: string[]; removed: string[] }> {
  const restarted: string[] = [];
  const removed: string[] = [];
  for (const record of await containers.records.list()) {
    const state = await ctx.runtime.state(record.id).catch(() => undefined);
    if (!state || state.running) continue;
    // As dockerd does at its start: an auto-remove container that is not running goes (a created
    // one too: its volatile root filesystem cannot be mounted again after a crash).
    if (record.autoRemove) {
      await containers.remove(record.id, { force: true, volumes: true });
      removed.push(record.id);
      continue;
    }
    // Its exit went unseen (no monitor ran, no exit command): what it held may still be mounted.
    if (holdsHostMounts(record)) await releaseHeld(ctx, record);
    const policy = record.restartPolicy.name;
    if (lostWhileRunning(state) && (policy === 'always' || policy === 'unless-stopped') && !record.stoppedByUser) {
      await reattachNetwork(ctx, record);
      await containers.start(record.id);
      restarted.push(record.id);
    }
  }
  return { restarted, removed };
}

/**
 * The container's network namespace died with the machine: make it again from the record
 * (same mode, name, networks, ports). Its path under the run directory is the same as
 * before, so the container's spec still names it.
 */
async function reattachNetwork(ctx: EngineContext, record: ContainerRecord): Promise<void> {
  const mode = record.network.mode;
  // `none` has no namespace of ours to remake: runc makes a fresh one at start.
  if (mode === 'none') return;
  await ctx.network.detach(record.id).catch(() => undefined);
  const predefined = mode === 'none' || mode === 'host' || mode.startsWith('container:');
  await ctx.network.attach(record.id, {
    mode,
    name: record.name,
    hostname: record.run.hostname ?? record.id.slice(0, 12),
    ...(predefined ? {} : { networks: [{ name: mode, aliases: record.network.aliases, ...(record.network.ip ? { ip: record.network.ip } : {}) }] }),
    ports: record.network.ports,
    publishAll: record.network.publishAll,
    dns: { servers: record.run.dns, search: record.run.dnsSearch, options: record.run.dnsOptions },
  });
}
