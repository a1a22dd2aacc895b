import { spawn } from 'node:child_process';
import { mkdirSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { conflict, isAborted, isCtrError, isNotFound } from '@ctr/errors';
import { nowRfc3339Nano, type HealthConfig } from '@ctr/image';
import { withLock, writeFileAtomic } from '@ctr/store';
import { ContainerRecords, type ContainerRecord } from './container-records';
import type { EngineContext } from './context';
import { dockerfileModule } from './lazy-modules';
import { newId } from './names';

/**
 * Health checks (`HEALTHCHECK`, `--health-cmd`): a probe is a command run in the container
 * as an exec; its exit code says healthy (0) or not. Docker's daemon runs the probes; with
 * no daemon, what runs them is the engine's monitor while one runs (`engine.startMonitor()`,
 * as ctrd does), else a detached timer the start leaves behind (Podman's way, with a
 * systemd timer there) that calls the engine's `healthcheckCommand` every interval. The
 * state lives under the run directory: like Docker's, it starts again with every start.
 */

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** Docker's `State.Health`. */
export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  /** The last five probes, oldest first. */
  Log: HealthResult[];
}

/** A health state and the start it belongs to. */
interface StoredHealth extends HealthState {
  startedAt: string;
}

/** Docker's defaults (moby daemon/health.go), in milliseconds. */
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_START_INTERVAL_MS = 5_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;
const KEPT_RESULTS = 5;
const MAX_OUTPUT_BYTES = 4096;
/** What the timer's probe command exits with when its container's run is over (its cue to end). */
export const RUN_OVER_EXIT_CODE = 4;
/** A probe killed (past its timeout, or with its monitor) dies of SIGKILL: 128 + 9, the exit code dockerd's `exec_die` then has. */
const KILLED_EXIT_CODE = 137;

const ms = (ns: number | undefined): number | undefined => (ns ? Math.round(ns / 1e6) : undefined);

/**
 * The check a container gets (moby runconfig.Merge): its own test, else the image's; the
 * durations and retries it leaves at 0 come from the image. `NONE` turns checks off.
 */
export function healthcheckFor(image: HealthConfig | undefined, own: HealthConfig | undefined): HealthConfig | undefined {
  const test = testOf(image, own);
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined;
  const check: HealthConfig = { Test: [...test] };
  for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    const value = own?.[key] || image?.[key];
    if (value) check[key] = value;
  }
  return check;
}

/** `HEALTHCHECK NONE` or `--no-healthcheck`: checks turned off, which inspect shows as `{"Test":["NONE"]}`. */
export function healthcheckOff(image: HealthConfig | undefined, own: HealthConfig | undefined): boolean {
  return testOf(image, own)?.[0] === 'NONE';
}

function testOf(image: HealthConfig | undefined, own: HealthConfig | undefined): string[] | undefined {
  return own?.Test && own.Test.length > 0 ? own.Test : image?.Test;
}

/** The shell a `CMD-SHELL` probe runs through when the container has no `Config.Shell` (moby's getShell on Linux). */
const DEFAULT_SHELL = ['/bin/sh', '-c'];

/**
 * The probe's argv (moby's cmdProbe): `CMD` runs its words; `CMD-SHELL` runs them after the
 * container's own `Config.Shell`, else after `/bin/sh -c`.
 */
function probeArgv(test: string[], shell: string[] | undefined): string[] {
  const [kind, ...rest] = test;
  if (kind === 'CMD-SHELL') return [...(shell?.length ? shell : DEFAULT_SHELL), ...rest];
  return kind === 'CMD' ? rest : test;
}

function healthFile(ctx: EngineContext, id: string): string {
  return path.join(ctx.runRoot, 'health', `${id}.json`);
}

function readHealth(ctx: EngineContext, id: string): StoredHealth | undefined {
  try {
    return JSON.parse(readFileSync(healthFile(ctx, id), 'utf8')) as StoredHealth;
  } catch {
    return undefined;
  }
}

/** The health of the run that started at `startedAt`: `starting` before its first probe. */
function healthOfRun(ctx: EngineContext, id: string, startedAt: string): HealthState {
  const stored = readHealth(ctx, id);
  if (!stored || stored.startedAt !== startedAt) return { Status: 'starting', FailingStreak: 0, Log: [] };
  const { startedAt: _run, ...health } = stored;
  return health;
}

/** A container's health for inspect and ps: that of its current run; none without a check. */
export function healthOf(ctx: EngineContext, record: ContainerRecord, startedAt: string): HealthState | undefined {
  return record.healthcheck ? healthOfRun(ctx, record.id, startedAt) : undefined;
}

/** A removed container's health goes with it. */
export async function forgetHealth(ctx: EngineContext, id: string): Promise<void> {
  await fs.rm(healthFile(ctx, id), { force: true });
}

/** `(healthy)`, `(unhealthy)` or `(health: starting)`, as docker ps writes it after `Up …`. */
export function healthSuffix(health: HealthState | undefined): string {
  if (!health) return '';
  return health.Status === 'starting' ? ' (health: starting)' : ` (${health.Status})`;
}

/** Output kept from a probe: its first 4 KiB, as Docker keeps. */
class ProbeOutput extends Writable {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    if (this.size < MAX_OUTPUT_BYTES) {
      const part = chunk.subarray(0, MAX_OUTPUT_BYTES - this.size);
      this.chunks.push(part);
      this.size += part.length;
    }
    done();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface ProbeOptions {
  /** Probe only the run that started then: a timer left by an earlier run ends. */
  startedAt?: string;
  signal?: AbortSignal;
}

/**
 * Runs one probe of a running container and records its result: healthy on exit 0;
 * otherwise one more failure, unhealthy after `Retries` in a row, except that failures
 * within the start period do not count. A change of status is a `health_status` event.
 */
export async function probe(ctx: EngineContext, record: ContainerRecord, options: ProbeOptions = {}): Promise<HealthState> {
  const check = record.healthcheck;
  if (!check) throw conflict(`container ${record.name} has no healthcheck configured`, { hint: 'give it one with --health-cmd or HEALTHCHECK in its Dockerfile' });
  const state = await ctx.runtime.state(record.id);
  const over = !state.running || (options.startedAt !== undefined && state.startedAt !== options.startedAt);
  if (over) throw conflict(`container ${record.name} is not running`, { details: { runOver: true } });
  const output = new ProbeOutput();
  const timeoutMs = ms(check.Timeout) ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const start = nowRfc3339Nano();
  // A probe is an exec to dockerd, with an exec's events (moby's cmdProbe.run).
  const cmd = probeArgv(check.Test ?? [], record.config?.Shell);
  const execId = newId();
  await ctx.events.execStarted(record, cmd, execId);
  let exitCode: number;
  try {
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    // As Docker: a probe past its timeout is killed (a hung one must not pile up).
    exitCode = (await ctx.runtime.exec(record.id, { cmd, stdout: output, stderr: output, signal, onAbort: 'kill' })).exitCode;
    await ctx.events.execDied(record, execId, exitCode);
  } catch (error) {
    if (!isAborted(error)) throw error;
    await ctx.events.execDied(record, execId, KILLED_EXIT_CODE);
    if (!timeout.aborted) throw error;
    exitCode = -1;
    output.write(Buffer.from(`Health check exceeded timeout (${dockerfileModule().formatDuration(timeoutMs * 1e6)})`));
  }
  const result: HealthResult = { Start: start, End: nowRfc3339Nano(), ExitCode: exitCode, Output: output.text() };
  const file = healthFile(ctx, record.id);
  mkdirSync(path.dirname(file), { recursive: true });
  return withLock(`${file}.lock`, async () => {
    const before = healthOfRun(ctx, record.id, state.startedAt);
    const next: HealthState = { ...before, Log: [...before.Log, result].slice(-KEPT_RESULTS) };
    const inStartPeriod = Date.now() - Date.parse(state.startedAt) < (ms(check.StartPeriod) ?? 0);
    if (exitCode === 0) {
      next.Status = 'healthy';
      next.FailingStreak = 0;
    } else if (!(inStartPeriod && before.Status === 'starting')) {
      next.FailingStreak = before.FailingStreak + 1;
      if (next.FailingStreak >= (check.Retries || DEFAULT_RETRIES)) next.Status = 'unhealthy';
    }
    // Health dies with the machine: replaced whole for readers, not synced.
    await writeFileAtomic(file, JSON.stringify({ ...next, startedAt: state.startedAt }), { durable: false });
    if (next.Status !== before.Status) {
      await ctx.events.container(`health_status: ${next.Status}`, record);
    }
    return next;
  });
}

/** Whether a probe failed because its container's run is over, or the container is gone (a timer's cue to end). */
export function runIsOver(error: unknown): boolean {
  return isNotFound(error) || (isCtrError(error) && error.details.runOver === true);
}

function intervalOf(check: HealthConfig): number {
  return ms(check.Interval) ?? DEFAULT_INTERVAL_MS;
}

function startIntervalOf(check: HealthConfig): number {
  return ms(check.StartInterval) ?? DEFAULT_START_INTERVAL_MS;
}

/** When a start period ends, in epoch milliseconds: at the start itself without one. */
function startPeriodEnd(check: HealthConfig, startedAt: string): number {
  return Date.parse(startedAt) + (ms(check.StartPeriod) ?? 0);
}

/**
 * The wait before the next probe (moby's getInterval): within the start period, while the
 * container is still starting, `StartInterval` (5 s by default); else `Interval`.
 */
export function probeDelay(check: HealthConfig, startedAt: string, status: HealthStatus): number {
  return status === 'starting' && Date.now() < startPeriodEnd(check, startedAt) ? startIntervalOf(check) : intervalOf(check);
}

/**
 * The timer a start leaves behind when no monitor runs: a detached shell that sleeps and
 * runs the probe command (the container's ID and start appended) until that command says
 * the run is over. It waits as `probeDelay` says: the start interval while the command
 * prints `starting` and the clock (GNU date, asked only then) is before the start period's
 * end, else the interval. A shell, not a Node process: it waits, and costs a process's few
 * hundred kilobytes, for as long as the container runs.
 */
export function leaveTimer(command: readonly string[], record: ContainerRecord, startedAt: string, recordFile: string): void {
  const check = record.healthcheck;
  if (!check) return;
  // A removed container's timer ends without starting ctr, which would make its root again.
  const script = [
    'i=$1; p=$2; e=$3; d=$4; f=$5; shift 5',
    'while sleep "$d"; do',
    '  [ -e "$f" ] || exit 0',
    `  s=$("$@" 2>/dev/null); [ $? -eq ${RUN_OVER_EXIT_CODE} ] && exit 0`,
    '  d=$i; [ "$s" = starting ] && [ "$(date +%s%3N)" -lt "$e" ] && d=$p',
    'done',
  ].join('\n');
  const seconds = (milliseconds: number): string => String(milliseconds / 1000);
  const args = [
    '-c', script, 'ctr-healthcheck',
    seconds(intervalOf(check)), seconds(startIntervalOf(check)), String(startPeriodEnd(check, startedAt)), seconds(probeDelay(check, startedAt, 'starting')), recordFile,
    ...command, '--started-at', startedAt, record.id,
  ];
  spawn('/bin/sh', args, { detached: true, stdio: 'ignore' }).unref();
}

/** The monitor's probes: one timer per running container with a check, for its current run. */
export class HealthTimers {
  private readonly timers = new Map<string, { startedAt: string; timer: NodeJS.Timeout }>();
  private readonly records: ContainerRecords;

  constructor(private readonly ctx: EngineContext) {
    this.records = new ContainerRecords(ctx.root);
  }

  watch(record: ContainerRecord, startedAt: string): void {
    const check = record.healthcheck;
    const current = this.timers.get(record.id);
    if (!check || current?.startedAt === startedAt) return;
    if (current) clearTimeout(current.timer);
    const next = (status: HealthStatus): void => {
      const timer = setTimeout(() => {
        // A newer run's timer, or close(), may have taken this one's place meanwhile.
        const mine = (): boolean => this.timers.get(record.id)?.timer === timer;
        // Its record as it is now: a probe's exec events name the container by its name since a rename, as dockerd's.
        this.records
          .read(record.id)
          .then((latest) => probe(this.ctx, latest, { startedAt }))
          .then(
            (health) => mine() && next(health.Status),
            (error: unknown) => {
              if (!mine()) return;
              if (runIsOver(error)) this.timers.delete(record.id);
              else next(healthOfRun(this.ctx, record.id, startedAt).Status);
            },
          );
      }, probeDelay(check, startedAt, status));
      timer.unref();
      this.timers.set(record.id, { startedAt, timer });
    };
    next('starting');
  }

  close(): void {
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
