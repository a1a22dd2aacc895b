import { closeSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { compareTimes } from '@ctr/image';
import type { ContainerState } from '@ctr/runtime';
import type { ContainerRecord } from './container-records';
import { underContainerLock } from './container-lock';
import { AUTO_REMOVAL, type Containers } from './containers';
import type { EngineContext } from './context';
import { HealthTimers } from './health';
import { holdsHostMounts, releaseHeld } from './held-mounts';
import { unmountStopped } from './container-root';
import { releaseNetwork } from './container-network';

/**
 * Restart policies, daemonless. While an engine runs its monitor (`engine.startMonitor()`),
 * every running container is watched through `runtime.wait`; when one exits its die event is
 * reported, its host mounts (held-mounts.ts) are released and its policy decides; its root
 * filesystem comes off unless the policy starts it again (container-root.ts). Containers
 * started later, or by other engine processes, are picked up by a periodic scan. A
 * per-container lock makes two monitors on one root restart a container once. The same scan keeps the health checks of
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

/**
 * The state a container is left in when its monitor vanished without an exit code and nothing
 * recorded one (a reboot). A monitor killed under a running container is another matter: the
 * runtime stops the container and records that exit (with its time), which is answered as any.
 */
function lostWhileRunning(state: ContainerState): boolean {
  return state.status === 'exited' && state.exitCode === 255 && !state.finishedAt && /monitor|conmon/.test(state.error);
}

/**
 * Docker's "restarting": not running, and its policy will start it again. dockerd marks it so
 * in the same step that sees the exit; here the exit's observer (conmon's exit command, a
 * monitor) comes a moment later, so it is read off the record and the exit itself — a
 * container is never seen exited in between (docker-compose's `down` stops what `ps` lists,
 * then removes what is not running: one seen exited, then restarting, would be left).
 */
export function restartPending(record: ContainerRecord, state: ContainerState): boolean {
  return (
    record.exitAnswered === true &&
    !state.running &&
    state.status === 'exited' &&
    // A start that failed is no run whose exit the policy answers: it shows as created.
    state.startedAt !== '' &&
    !lostWhileRunning(state) &&
    // A restart counted and not started yet has used the policy's last retry: it is restarting all the same.
    (record.restartingAfter === state.finishedAt || shouldRestart(record.restartPolicy, state.exitCode, record.restartCount, record.stoppedByUser === true))
  );
}

/** Whether a run started now has its exit answered by its policy: someone to see the exit, and a policy. */
export function answersExit(ctx: EngineContext, policy: ContainerRecord['restartPolicy']): boolean {
  return policy.name !== 'no' && (ctx.exitCommand !== undefined || ctx.monitoring());
}

/**
 * Whether a container's exit needs more than its die event: it has a restart policy, goes with
 * `--rm`, or holds host mounts to release. Its exit command must find its record at once.
 */
export function watched(record: ContainerRecord): boolean {
  return record.restartPolicy.name !== 'no' || record.autoRemove || holdsHostMounts(record);
}

/** Where the exits already reported are marked: `<runRoot>/engine/exits/<id>/<finishedAt>`. */
function exitsDir(ctx: EngineContext, id: string): string {
  return path.join(ctx.runRoot, 'engine', 'exits', id);
}

/**
 * Claim the report of the exit that ended at `finishedAt`: true for one caller alone, in any
 * process — the one whose exclusive create of the exit's marker succeeds. The markers of
 * earlier exits go then; a caller that comes for one of those after a later exit was reported
 * (its marker gone, so its create succeeds) sees the later marker and claims nothing.
 */
function claimExit(ctx: EngineContext, id: string, finishedAt: string): boolean {
  const dir = exitsDir(ctx, id);
  mkdirSync(dir, { recursive: true });
  try {
    closeSync(openSync(path.join(dir, finishedAt), 'wx'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  // Compared as times, not as text: the width of an RFC 3339 time varies with its fraction.
  const names = readdirSync(dir);
  if (names.some((name) => compareTimes(name, finishedAt) > 0)) return false;
  for (const name of names) if (compareTimes(name, finishedAt) < 0) rmSync(path.join(dir, name), { force: true });
  return true;
}

/** A removed container's exit markers go with it. */
export function forgetExits(ctx: EngineContext, id: string): void {
  rmSync(exitsDir(ctx, id), { recursive: true, force: true });
}

/**
 * The die event of a container's last exit (and `oom` before it when the kernel killed it), as
 * dockerd emits it at every exit: exactly once, by whoever sees the exit first — an engine's
 * monitor, conmon's exit command, a caller waiting for it (an attached `run`), `stop`, `rm -f`,
 * or a later `start` that finds the exit unreported. Nothing for a container that is running,
 * never ran, or whose monitor vanished without an exit code (a reboot: nobody saw that exit).
 */
export async function reportExit(ctx: EngineContext, record: ContainerRecord): Promise<void> {
  const state = await ctx.runtime.state(record.id).catch(() => undefined);
  if (!state || state.running || state.status !== 'exited' || !state.finishedAt || lostWhileRunning(state)) return;
  if (!claimExit(ctx, record.id, state.finishedAt)) return;
  if (state.oomKilled) await ctx.events.container('oom', record);
  // dockerd's cleanup at the exit unmounts the volumes (their events) before it logs the die.
  await ctx.events.volumeMounts('unmount', record.id, record.mounts);
  const ranFor = new Date(state.finishedAt).getTime() - new Date(state.startedAt).getTime();
  await ctx.events.container('die', record, {
    exitCode: String(state.exitCode),
    // dockerd's execDuration: whole seconds the run lasted.
    execDuration: String(Number.isFinite(ranFor) ? Math.max(0, Math.floor(ranFor / 1000)) : 0),
  });
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
   * left alone, as dockerd leaves them — but for one whose answer was owed (its observer
   * gone before it came: a monitor that closed, an exit command that failed), which it
   * gets now, as dockerd restarts such containers at its start.
   */
  scan(): Promise<void> {
    this.scanning ??= (async () => {
      try {
        for (const record of await this.containers.records.list()) {
          if (this.closing.signal.aborted) return;
          const exits = !this.watching.has(record.id) && !this.busy.has(record.id);
          if (!exits && !record.healthcheck) continue;
          const state = await this.ctx.runtime.state(record.id).catch(() => undefined);
          if (!state) continue;
          if (state.running) this.health.watch(record, state.startedAt);
          if (!exits) continue;
          if (state.running) this.watch(record.id);
          else if (state.status === 'exited' && this.handled.get(record.id) !== state.finishedAt && (new Date(state.finishedAt).getTime() >= this.startedAt || restartPending(record, state))) {
            void this.handleExit(record.id);
          }
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
 * What a container's exit leads to, wherever it is noticed (an engine's monitor, or conmon's
 * exit command in daemonless use): the die event (once, whoever reports it), then removal for
 * `--rm`, or a restart when the policy says so — under the container's restart lock, and only
 * if the exit that `finishedAt` names is still the last one (so two observers act once) — or
 * else its root filesystem unmounted, as dockerd's cleanup unmounts it when no restart follows.
 */
async function actOnExit(
  ctx: EngineContext,
  containers: Containers,
  id: string,
  exitCode: number,
  options: { backoffMs: () => number; finishedAt: string; aborted?: () => boolean; keepAlive?: boolean; removeGraceMs: number },
): Promise<void> {
  const pause = (ms: number): Promise<void> => sleep(ms, options.keepAlive);
  const record = await recordOf(ctx, containers, id, options.keepAlive);
  if (!record) return;
  // Whatever follows (a removal, a restart), what the run held comes off first, as dockerd's cleanup at every exit.
  if (holdsHostMounts(record)) await releaseHeld(ctx, record);
  await releaseNetwork(ctx, record);
  await reportExit(ctx, record);
  if (record.autoRemove) {
    await pause(options.removeGraceMs);
    const after = await ctx.runtime.state(id).catch(() => undefined);
    if (after && !after.running) await containers.remove(id, AUTO_REMOVAL).catch(() => undefined);
    return;
  }
  // Answered with no: it shows as exited from now — unless this exit is no longer its last (another
  // observer restarted it), whose answer is that observer's. A later `update --restart` finds it answered.
  const answeredNo = async (): Promise<void> => {
    const now = await ctx.runtime.state(id).catch(() => undefined);
    if (now === undefined || now.running || now.finishedAt !== options.finishedAt) return;
    await unmountStopped(ctx, record);
    const latest = await containers.records.read(id).catch(() => undefined);
    if (latest?.exitAnswered) await containers.records.write({ ...latest, exitAnswered: false });
  };
  if (!shouldRestart(record.restartPolicy, exitCode, record.restartCount, record.stoppedByUser === true)) {
    if (record.exitAnswered) await underRestartLock(ctx, id, answeredNo).catch(() => undefined);
    else await unmountStopped(ctx, record);
    return;
  }
  // Until the start it shows as restarting (restartPending), from its exit on.
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
    if (!go) return answeredNo();
    await containers.records.write({ ...latest, restartCount: latest.restartCount + 1, restartingAfter: options.finishedAt });
    // A start that fails is an answer too: it shows as exited with its error, as dockerd's does.
    await containers.start(id).catch(async () => containers.records.write({ ...(await containers.records.read(id)), exitAnswered: false }));
  }).catch(() => undefined);
}

/** How long an exit's observer waits for the record of a container whose making is under way. */
const RECORD_WAIT_MS = 3000;
const RECORD_POLL_MS = 50;

/**
 * Container `id`'s record — waiting a moment for one being written: `run` writes a plain
 * container's record while its process starts, and a quick exit's command may come first.
 * Without runtime state there is no container (removed, or its making undone): no wait then.
 */
async function recordOf(ctx: EngineContext, containers: Containers, id: string, keepAlive = false): Promise<ContainerRecord | undefined> {
  for (let waited = 0; ; waited += RECORD_POLL_MS) {
    const record = await containers.records.read(id).catch(() => undefined);
    if (record || waited >= RECORD_WAIT_MS || !(await ctx.runtime.state(id).catch(() => undefined))) return record;
    await sleep(RECORD_POLL_MS, keepAlive);
  }
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
 * Daemonless: conmon's exit command for container `id` (`ctr container cleanup`), run at every
 * container's exit that no attached caller sees. The backoff between quick restarts doubles
 * with the restart count, as Docker's does.
 */
export async function handleExit(ctx: EngineContext, containers: Containers, id: string): Promise<void> {
  const state = await ctx.runtime.state(id).catch(() => undefined);
  if (!state || state.running || state.status !== 'exited') return;
  const record = await recordOf(ctx, containers, id, true);
  if (!record) {
    // A record that did not show in time (a run's caller killed before it wrote it, or slower than
    // the wait): nothing else would take the root filesystem down. No record, so no hold; and
    // no `--rm` one's record comes later to want its volatile mount (see `Containers.run`).
    const info = await ctx.runtime.inspect(id).catch(() => undefined);
    if (info) await unmountStopped(ctx, { id, rootfs: info.rootfs, autoRemove: false });
    return;
  }
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
      // Another engine's removal of it may be under way: waited for, and not reported as this one's.
      if (await containers.remove(record.id, AUTO_REMOVAL)) removed.push(record.id);
      continue;
    }
    // Its exit went unseen (no monitor ran, no exit command): what it held may still be mounted,
    // and so may its root filesystem (a reboot took it down; a run root lost without one did not).
    if (holdsHostMounts(record)) await releaseHeld(ctx, record);
    await unmountStopped(ctx, record);
    // Its addresses and ports are free for others; a start allocates them again.
    await releaseNetwork(ctx, record);
    const policy = record.restartPolicy.name;
    if (lostWhileRunning(state) && (policy === 'always' || policy === 'unless-stopped') && !record.stoppedByUser) {
      await containers.start(record.id);
      restarted.push(record.id);
    }
  }
  return { restarted, removed };
}
