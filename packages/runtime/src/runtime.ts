import { promises as fs, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statfsSync, watch, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CtrError, aborted, conflict, internal, invalidArgument, isCtrError, throwIfAborted, unavailable } from '@ctr/errors';
import { nowRfc3339Nano } from '@ctr/image';
import { attachSocket, prepareAttach, type InputEnd } from './attach';
import { commandName, isAlive } from './proc-stat';
import { holdCgroupMovesFast, keepCgroupMovesFastFor } from './cgroup-moves';
import { runExitCommand, spawnConmon, type ConmonConfig, type Launch } from './conmon';
import { ContainerDir, checkId, type ContainerRecord } from './container-dir';
import { writeEtcFiles } from './etc-files';
import { markDetached, recordCaller, sessionExitDir, sessionMonitorPidFile, sweepEndedSessions } from './exec-sessions';
import { startFailure } from './exit-codes';
import { isFrozen } from './freezer';
import { checkTerminalSize, resizeTerminal } from './terminal-size';
import { checkRuntimeVersionOnce, findExecutable, grantableCapabilities, hasSwapAccounting, hostRlimitCeilings } from './host-facts';
import { logsNotReadable, readLogs } from './logs';
import { logRotationOf } from './log-writer';
import { LOG_DRIVER_FAILURE, remoteWriter } from './remote-log';
import type { LinuxResources, Spec } from './oci-spec';
import { prepareRootfs } from './rootfs-prepare';
import { Runc, runcFailure, runcHasProcess } from './runc';
import { parseSignal } from './signals';
import { blkioSupport, blkioWarnings, blockDevices, usesBlkio } from './spec/block-devices';
import { containerDevices } from './spec/devices';
import { generateSpec } from './spec/generate-spec';
import { bindSourceMounts } from './spec/mount-propagation';
import { ociJson } from './spec/spec-json';
import { readHostCpus, usesHostCpus } from './spec/host-cpus';
import { applySpecOpts, capabilitySet, checkWorkingDir, mergeEnv, withJoinedNamespaces, withResources } from './spec/spec-opts';
import { joinedNamespaces, joinsAndShm, mountShm, shmDir, unmountShm } from './shared-namespaces';
import { parseBytes } from './spec/units';
import { resolveUser } from './spec/user';
import type {
  AttachStreams,
  ContainerInfo,
  ContainerState,
  CreateOptions,
  CreatedContainerInfo,
  ExecOptions,
  ExecResult,
  ExitStatus,
  LogEntry,
  LogsOptions,
  RunOptions,
} from './types';

export interface RuntimeOptions {
  /** Persistent state: containers live in `<root>/containers/<id>/`. */
  root: string;
  /** State that dies with the machine: runc's state, exit files. */
  runRoot: string;
  /** The OCI runtime binary (default: `runc` on PATH). */
  runtimePath?: string;
  /** The monitor binary (default: `conmon` on PATH). */
  conmonPath?: string;
  /** Parent cgroup of every container, absolute (default `/ctr`). */
  cgroupParent?: string;
  /**
   * Deletes a directory tree in a process that outlives this one, resolving once it is gone
   * (the engine passes @ctr/store's `removeTreeBehind`), or returns undefined to decline.
   * Without it, a removed container's files are deleted by this process, behind the call.
   * What it rejects for stays until the next setup's sweep.
   */
  removeTree?: (dir: string) => Promise<void> | undefined;
  /**
   * Starts conmon from a small process that outlives this one's forks (the engine passes
   * @ctr/store's `launchDetached`). Without it, or when it declines, conmon is spawned
   * from this process.
   */
  launch?: Launch;
  /**
   * Marks a directory whose subdirectories are unrelated, for the filesystem to spread them
   * (the engine passes @ctr/store's `spreadSubdirectories`): called for the containers'
   * directory and runc's state directory when this runtime makes them.
   */
  spreadSubdirectories?: (dir: string) => Promise<void>;
  /** The host's resolver configuration a container's resolv.conf is made from (default `$CTR_RESOLV_CONF` or `/etc/resolv.conf`). */
  hostResolvConf?: string;
}

export interface StartOptions {
  /** Attach these streams before the process starts, so none of its output is missed. */
  attach?: AttachStreams;
  /**
   * A program (and its arguments) conmon runs once the process has exited, after the exit
   * code is recorded — how a daemonless caller hears of exits it is not there to see.
   */
  exitCommand?: readonly string[];
  /**
   * `false`: return once the process is let go, without waiting for runc init to exec the
   * container's program — for a caller that waits for the exit next (`docker run` attached),
   * which nobody can observe in between. Default true (see `programRuns`).
   */
  awaitExec?: boolean;
  signal?: AbortSignal;
}

export interface RuntimeUpdateOptions {
  /**
   * What this update asks for (default: all of the new limits). Its warnings are about
   * these only, as dockerd's are about an update's request, not what was asked before.
   */
  requested?: RunOptions;
}

export interface UpdateResult {
  /** What the kernel cannot take of the request, dropped with dockerd's words for it (Docker's `Warnings`). */
  warnings: string[];
}

export interface StartResult {
  /** With `attach`: resolves when all the container's output has been delivered. */
  attached?: Promise<void>;
}

export interface StopOptions {
  /** Seconds to wait after the stop signal before SIGKILL (default: the container's, 10); negative waits for the process however long it takes, as dockerd's stop. */
  timeout?: number;
  /** Overrides the container's stop signal. */
  signal?: string;
  /** Called (and awaited) just before the grace is over and SIGKILL is sent: dockerd logs that kill as an event of its own. */
  onForceKill?: () => Promise<void> | void;
}

interface Tools {
  runc: Runc;
  runtime: string;
  conmon: string;
  ceilings: Record<string, number>;
  swap: boolean;
}

const DEFAULT_STOP_TIMEOUT = 10;
/** The error of a run whose monitor died under it, which the runtime then stopped (exit code 255, containerd's for a dead shim). */
const MONITOR_DIED = 'the container monitor (conmon) died while the container ran: the container was killed';
/**
 * conmon makes its attach socket before it runs `runc create`, so the relay is connected
 * (or about to be) when conmon reports the container's pid; this bounds a wait that would
 * otherwise last for ever, should the socket never come.
 */
const ATTACH_SOCKET_WAIT_MS = 10_000;
/** How long after a create cgroup moves are kept fast for the start that usually follows. */
const START_LIKELY_WITHIN_MS = 50;
/**
 * conmon's first process writes the monitor's pid file (`-P`) after the fork that makes the
 * monitor, while the monitor runs `runc create`: on a loaded machine the monitor's answer can
 * come first. This bounds the wait for the file, should that process never write it (its
 * write failed: a full disk), as a look at the container then says.
 */
const MONITOR_PID_WAIT_MS = 10_000;

/** Whether the filesystem holding `dir` has no block left, even for root (conmon). */
function fullDisk(dir: string): boolean {
  try {
    return statfsSync(dir).bfree === 0;
  } catch {
    return false;
  }
}

/**
 * dockerd's rule for the end of an attached client's input (CopyStreams): it closes the
 * process's stdin only without a TTY and for a StdinOnce container, whose conmon was started
 * without `--leave-stdin-open` for it; any other client's attachment ends there.
 */
function inputEnd(record: Pick<ContainerRecord, 'tty' | 'leaveStdinOpen'>): InputEnd {
  return record.tty || record.leaveStdinOpen ? 'detach' : 'close';
}

function notRunning(id: string): CtrError {
  return conflict(`Container ${id} is not running`);
}

/**
 * Containers under runc, each watched by its own conmon, as Podman runs them. All state
 * is in files, so any number of `Runtime`s, in any number of processes, share it: one
 * process may start a container, exit, and another stop and remove it.
 *
 * Lifecycle: `create` writes the bundle (nothing runs yet, Docker's "created");
 * `start` has conmon run `runc create`, then starts the process; conmon records the
 * exit code in the container directory, which `wait` and `state` read.
 */
export class Runtime {
  private readonly containersDir: string;
  /** Directories of removed containers on their way out; beside the containers, so a rename moves them. */
  private readonly retiredDir: string;
  private readonly runcRoot: string;
  private readonly exitDir: string;
  private tools: Promise<Tools> | undefined;

  constructor(private readonly options: RuntimeOptions) {
    this.containersDir = path.join(options.root, 'containers');
    this.retiredDir = path.join(options.root, 'removed-containers');
    this.runcRoot = path.join(options.runRoot, 'runc');
    this.exitDir = path.join(options.runRoot, 'exits');
  }

  private setup(): Promise<Tools> {
    this.tools ??= (async () => {
      // The directories directly, as the runtime's other small files: four thread-pool round trips cost more.
      const made = [mkdirSync(this.containersDir, { recursive: true, mode: 0o711 }) && this.containersDir];
      mkdirSync(this.retiredDir, { recursive: true, mode: 0o700 });
      made.push(mkdirSync(this.runcRoot, { recursive: true, mode: 0o700 }) && this.runcRoot);
      mkdirSync(this.exitDir, { recursive: true, mode: 0o700 });
      // One directory per container in each.
      for (const dir of made) if (dir) await this.options.spreadSubdirectories?.(dir);
      const [runtime, conmon, ceilings, swap] = await Promise.all([
        findExecutable('runc', this.options.runtimePath),
        findExecutable('conmon', this.options.conmonPath),
        hostRlimitCeilings(),
        hasSwapAccounting(),
      ]);
      await checkRuntimeVersionOnce(runtime, this.options.runRoot);
      void this.sweepRetired();
      return { runc: new Runc(runtime, this.runcRoot), runtime, conmon, ceilings, swap };
    })();
    this.tools.catch(() => (this.tools = undefined));
    return this.tools;
  }

  private dir(id: string): ContainerDir {
    checkId(id);
    return new ContainerDir(this.containersDir, id);
  }

  /**
   * This runtime with its containers' files (bundle, spec, log) under another root; runc's
   * state and exit files stay in the run root. A build step whose spec holds a secret keeps
   * it on a tmpfs so.
   */
  rooted(root: string): Runtime {
    return new Runtime({ ...this.options, root });
  }

  /**
   * Say that a start is likely soon, as after `docker run`'s create: what can be prepared
   * ahead is, beside the caller's work: the cgroup lock's grace period (see
   * cgroup-moves.ts) and the runtime's setup. Costs little when no start follows.
   */
  expectStart(): void {
    keepCgroupMovesFastFor(START_LIKELY_WITHIN_MS);
    // Finding runc and conmon and making the runtime's directories, while the caller works;
    // `create` awaits the same promise, and a failure here is tried again there.
    this.setup().catch(() => undefined);
  }

  /** Make a container from a rootfs directory and an image config or a ready spec. */
  async create(id: string, options: CreateOptions): Promise<CreatedContainerInfo> {
    const d = this.dir(id);
    this.expectStart();
    const tools = await this.setup();
    throwIfAborted(options.signal, 'create');
    const rootfs = path.resolve(options.rootfs);
    const image = options.image ?? {};
    const run = options.run ?? {};
    const stopSignal = parseSignal(run.stopSignal ?? image.StopSignal ?? 'SIGTERM').name;
    const logSizeMax = run.logSizeMax === undefined ? undefined : parseBytes(run.logSizeMax, 'log max-size');
    const logFiles = logRotationOf(logSizeMax, run);
    try {
      mkdirSync(d.dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw conflict(`Conflict. The container name "${id}" is already in use`, {
          hint: 'remove that container or choose another name',
        });
      }
      throw error;
    }
    let record: ContainerRecord;
    let spec: Spec;
    let warnings: string[] = [];
    try {
      if (options.spec) {
        spec = { ...structuredClone(options.spec), root: { ...options.spec.root, path: rootfs } };
      } else {
        // Everything that can reject the request runs before the rootfs is touched.
        const user = await resolveUser(rootfs, run.user ?? image.User, run.groupAdd);
        const hostname = run.network?.mode === 'host' || run.uts === 'host' ? os.hostname() : run.hostname ?? id.slice(0, 12);
        const etcFiles = { hosts: path.join(d.dir, 'hosts'), resolvConf: path.join(d.dir, 'resolv.conf'), hostname: path.join(d.dir, 'hostname') };
        spec = generateSpec(image, run, {
          ...(run.ipc === 'shareable' ? { shmPath: shmDir(d.dir) } : {}),
          id,
          rootfs,
          user,
          cgroupParent: this.options.cgroupParent,
          rlimitCeilings: tools.ceilings,
          swapAccounting: tools.swap,
          ...(usesBlkio(run) ? { blkio: blkioSupport() } : {}),
          ...(usesHostCpus(run) ? { hostCpus: readHostCpus() } : {}),
          blockDevices: blockDevices(run),
          bindSources: bindSourceMounts(run),
          etcFiles,
          ...(run.init ? { initPath: await findInit() } : {}),
          ...(run.privileged || run.capAdd?.some((c) => c.toUpperCase() === 'ALL') ? { allCapabilities: grantableCapabilities() } : {}),
          ...(run.devices?.length || run.privileged ? { devices: containerDevices(run) } : {}),
        });
        checkOomScoreAdj(spec.process.oomScoreAdj);
        warnings = usesBlkio(run) ? blkioWarnings(run, blkioSupport()) : [];
        await Promise.all([prepareRootfs(rootfs), writeEtcFiles(d.dir, hostname, run, this.options.hostResolvConf ?? (process.env.CTR_RESOLV_CONF || '/etc/resolv.conf'))]);
      }
      writeFileSync(d.config, ociJson(spec));
      record = {
        id,
        rootfs,
        status: 'created',
        createdAt: nowRfc3339Nano(),
        startedAt: '',
        finishedAt: '',
        pid: 0,
        exitCode: 0,
        error: '',
        tty: spec.process.terminal === true,
        openStdin: run.openStdin === true,
        ...(run.openStdin && run.leaveStdinOpen ? { leaveStdinOpen: true as const } : {}),
        stopSignal,
        stopTimeout: run.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
        ...(logSizeMax ? { logSizeMax } : {}),
        ...logFiles,
        ...(run.noLog ? { noLog: true as const } : {}),
        ...(run.remoteLog ? { remoteLog: run.remoteLog } : {}),
        ...joinsAndShm(run),
      };
      await d.write(record);
    } catch (error) {
      await fs.rm(d.dir, { recursive: true, force: true });
      throw error;
    }
    return { ...(await this.info(d, record, spec)), warnings };
  }

  /** Run the container's process (again, for an exited container). A running one is left alone. */
  async start(id: string, options: StartOptions = {}): Promise<StartResult> {
    const d = this.dir(id);
    const tools = await this.setup();
    const record = await d.read();
    const current = await this.stateOf(d, record);
    if (current.running) return {};
    if (current.status === 'removing') throw conflict(`container ${id} is marked for removal and cannot be started`);
    throwIfAborted(options.signal, 'start');
    // A run before this one (or a start cut short by a crash) left runc state behind.
    await this.removeRuntimeState(tools, id);
    if (record.status !== 'created') {
      // Record how the last run ended before its exit file goes: until the new monitor is
      // up, readers must see "exited", not a running record whose monitor has vanished.
      if (record.status === 'running' || record.status === 'paused') {
        await d.write({ ...record, status: 'exited', exitCode: current.exitCode, finishedAt: current.finishedAt, error: current.error, pid: 0 });
      }
      // runc appends to its log: a failure of this start must not read the last one's. The
      // last monitor's pid goes too: a look that found it dead beside this run's process would
      // take this run for that monitor's orphan, and kill it.
      await Promise.all([d.exitFile, d.oomFile, d.pidFile, d.runtimeLog, d.conmonPidFile].map((f) => fs.rm(f, { force: true })));
      // The last run's ended execs that nobody waits for: no exec need come to clear their sessions.
      sweepEndedSessions(d.execDir, id);
    }
    // Only for the IPC and PID modes that need them: most starts do neither.
    if (record.shmSize !== undefined) await mountShm(shmDir(d.dir), record.shmSize);
    if (record.joins) {
      const joined = await joinedNamespaces(record.joins, (other) => ({ state: () => this.state(other), spec: () => this.dir(other).readSpec() }));
      d.writeSpec(applySpecOpts(await d.readSpec(), [withJoinedNamespaces(joined)]));
    }
    const config: ConmonConfig = {
      conmon: tools.conmon,
      runtime: tools.runtime,
      runtimeRoot: this.runcRoot,
      id,
      uuid: id,
      bundle: d.dir,
      logPath: d.log,
      runtimeLog: d.runtimeLog,
      pidFile: d.pidFile,
      conmonPidFile: d.conmonPidFile,
      exitDir: this.exitDir,
      persistDir: d.dir,
      terminal: record.tty,
      stdin: record.openStdin,
      ...(record.leaveStdinOpen ? { leaveStdinOpen: true } : {}),
      ...(options.exitCommand ? { exitCommand: options.exitCommand } : {}),
      ...(record.noLog ? { noLog: true } : {}),
      ...(record.remoteLog ? { remoteLog: remoteWriter(record.remoteLog, { hostname: os.hostname(), created: record.createdAt }), noLogFile: !record.remoteLog.cache } : {}),
      ...(record.logSizeMax ? { logSizeMax: record.logSizeMax } : {}),
      ...(record.logSizeMax && record.logMaxFiles ? { logRotation: { maxSize: record.logSizeMax, maxFiles: record.logMaxFiles, compress: record.logCompress === true } } : {}),
    };
    const conmon = spawnConmon(config, this.options.launch);
    // The attach relay starts beside conmon; it connects once conmon has made its socket.
    const pendingAttach = options.attach ? prepareAttach(d.dir, options.attach, true, inputEnd(record)) : undefined;
    // Until runc has put the container's process into its cgroups.
    const releaseMoves = holdCgroupMovesFast();
    const message = await conmon.sync
      .next()
      .catch((error: unknown) => {
        pendingAttach?.cancel();
        throw error;
      })
      .finally(releaseMoves);
    conmon.sync.close();
    if (!message || message.data < 0) {
      pendingAttach?.cancel();
      // A monitor that never ran is this machine's trouble, not the container's configuration.
      // Otherwise runc's log says more than conmon passes on (runc's last line only).
      const failure = message?.pipeFailed
        ? internal(message.message ?? 'conmon never ran', { details: { exitCode: 128 } })
        : message?.message?.startsWith(LOG_DRIVER_FAILURE)
          ? unavailable(message.message, { details: { exitCode: 128 } })
          : startFailure((await runtimeFailure(d.runtimeLog)) ?? message?.message ?? 'conmon exited without starting the container');
      await d.write({ ...record, status: 'exited', exitCode: Number(failure.details.exitCode), error: failure.message, finishedAt: nowRfc3339Nano(), pid: 0 });
      await this.removeRuntimeState(tools, id);
      throw failure;
    }
    let attached: Promise<void> | undefined;
    try {
      if (pendingAttach) attached = (await pendingAttach.connect(ATTACH_SOCKET_WAIT_MS)).done;
      // Not recorded running before its monitor's pid is there: a look meanwhile would take the
      // monitor for gone (an exit 255), and every caller that checks first (a copy's freeze) for stopped.
      if (!existsSync(d.conmonPidFile)) await waitForFile(d.dir, path.basename(d.conmonPidFile), MONITOR_PID_WAIT_MS);
      // The record is written while the process starts: `start` returns after both. The exec
      // fifo is opened first (its open lets runc init go on): the write is made while it runs.
      await Promise.all([
        tools.runc.start(id).then(() => (options.awaitExec === false ? undefined : programRuns(message.data))),
        d.write({
          ...record,
          status: 'running',
          pid: message.data,
          startedAt: nowRfc3339Nano(),
          finishedAt: '',
          exitCode: 0,
          error: '',
          exitCommand: options.exitCommand && [...options.exitCommand],
        }),
      ]);
    } catch (error) {
      await tools.runc.kill(id, 'KILL').catch(() => undefined);
      await this.removeRuntimeState(tools, id);
      await d.update({ status: 'exited', exitCode: 128, error: (error as Error).message, finishedAt: nowRfc3339Nano() });
      throw error;
    }
    return attached ? { attached } : {};
  }

  /**
   * A start that failed before its process did (its network): the error, and exit code 128
   * unless the last run left one, as dockerd's SetError.
   */
  async recordStartFailure(id: string, message: string): Promise<void> {
    const d = this.dir(id);
    const record = await d.read();
    if (record.status === 'running' || record.status === 'paused') return;
    await d.write({ ...record, status: 'exited', exitCode: record.exitCode || 128, error: message, finishedAt: nowRfc3339Nano(), pid: 0 });
  }

  /** Send the stop signal, then SIGKILL after the timeout, and wait for the exit. */
  async stop(id: string, options: StopOptions = {}): Promise<ExitStatus | undefined> {
    const d = this.dir(id);
    const { runc } = await this.setup();
    const state = await this.state(id);
    if (!state.running) return undefined;
    const record = await d.read();
    const signal = parseSignal(options.signal ?? record.stopSignal).name;
    const timeout = options.timeout ?? record.stopTimeout;
    await runc.kill(id, signal).catch(ignoreGone);
    if (state.paused) await this.thawToEnd(id, runc);
    if (timeout < 0) return this.wait(id);
    const grace = new AbortController();
    const timer = setTimeout(() => grace.abort(), timeout * 1000);
    try {
      return await this.wait(id, { signal: grace.signal });
    } catch (error) {
      if (!isCtrError(error) || error.code !== 'Aborted') throw error;
    } finally {
      clearTimeout(timer);
    }
    // Told, never stopped by the telling: a full disk that refuses the event must not keep the SIGKILL from going.
    await Promise.resolve(options.onForceKill?.()).catch(() => undefined);
    await runc.kill(id, 'KILL').catch(ignoreGone);
    return this.wait(id);
  }

  /** Send any signal (name or number) to the container's init process. */
  async kill(id: string, signal: string | number = 'SIGKILL'): Promise<void> {
    const { runc } = await this.setup();
    const sig = parseSignal(signal);
    const state = await this.state(id);
    if (!state.running) throw conflict(`Cannot kill container: ${id}: Container ${id} is not running`);
    await runc.kill(id, String(sig.number));
  }

  /**
   * Freeze the container (runc's freezer). Paused is the freezer's state, read by `state`, not
   * a record: nothing is written after runc has acted, so no failure to write (a full disk) can
   * leave a frozen container that ctr calls running, and `unpause` thaws whatever runc froze.
   */
  async pause(id: string): Promise<void> {
    const { runc } = await this.setup();
    const state = await this.state(id);
    if (!state.running) throw notRunning(id);
    if (state.paused) throw conflict(`Container ${id} is already paused`);
    await runc.pause(id);
  }

  /**
   * Thaw a frozen container so that it can end (a stop's signal, a removal's kill). Another thaw
   * meanwhile (a copy that froze it ending) leaves runc nothing to resume: that is what was wanted.
   */
  private async thawToEnd(id: string, runc: Runc): Promise<void> {
    try {
      await runc.resume(id);
    } catch (error) {
      if ((await this.state(id).catch(() => undefined))?.paused) ignoreGone(error);
    }
  }

  async unpause(id: string): Promise<void> {
    const { runc } = await this.setup();
    const state = await this.state(id);
    if (!state.paused) throw conflict(`Container ${id} is not paused`);
    await runc.resume(id);
  }

  /**
   * `docker update`: the container's resource limits become those `run` asks for (its
   * memory, CPU, pids and block IO options; the rest is ignored). A live container gets them at once
   * through `runc update`, and every later start from its spec. A limit the kernel refuses
   * (memory below what the container uses) changes nothing; one it cannot take at all (a
   * blkio weight without the cgroup's weight files) is dropped with a warning, as at create.
   * `run` may be worked out from the spec in force, for a caller merging into the limits it
   * holds: the spec is then read once.
   */
  async update(id: string, run: RunOptions | ((current: Spec) => RunOptions), options: RuntimeUpdateOptions = {}): Promise<UpdateResult> {
    const d = this.dir(id);
    const tools = await this.setup();
    const [state, spec] = await Promise.all([this.state(id), d.readSpec()]);
    const limits = typeof run === 'function' ? run(spec) : run;
    const { devices } = spec.linux.resources ?? {};
    const updated: Spec = { ...spec, linux: { ...spec.linux, resources: devices ? { devices } : {} } };
    withResources(limits, {
      id,
      rootfs: spec.root.path,
      swapAccounting: tools.swap,
      ...(usesBlkio(limits) ? { blkio: blkioSupport() } : {}),
      ...(usesHostCpus(limits) ? { hostCpus: readHostCpus() } : {}),
      blockDevices: blockDevices(limits),
    })(updated);
    if (state.running) await tools.runc.run(['update', ...runcUpdateFlags(updated.linux.resources ?? {}), id]);
    d.writeSpec(updated);
    const requested = options.requested ?? limits;
    return { warnings: usesBlkio(requested) ? blkioWarnings(requested, blkioSupport()) : [] };
  }

  async restart(id: string, options: StopOptions = {}): Promise<void> {
    await this.stop(id, options);
    await this.start(id);
  }

  /**
   * Wait until the container is not running and return how it ended. Works from any
   * process: it watches the exit file conmon writes into the container directory.
   */
  async wait(id: string, options: { signal?: AbortSignal } = {}): Promise<ExitStatus> {
    const d = this.dir(id);
    for (;;) {
      throwIfAborted(options.signal, `waiting for container ${id}`);
      const state = await this.state(id);
      if (!state.running) return { exitCode: state.exitCode, oomKilled: state.oomKilled, finishedAt: state.finishedAt };
      await waitForFile(d.dir, 'exit', 500, options.signal);
      // start() clears the exit file before the monitor starts: one there now is this run's.
      const exit = await d.exitStatus();
      if (exit) return exit;
    }
  }

  /**
   * An exited container's root filesystem is now at `rootfs`, for its next start: a build
   * step's container kept after its step, whose snapshot the engine mounts where it mounts
   * every container's, not where the step ran.
   */
  async moveRootfs(id: string, rootfs: string): Promise<void> {
    const d = this.dir(id);
    const spec = await d.readSpec();
    d.writeSpec({ ...spec, root: { ...spec.root, path: path.resolve(rootfs) } });
    await d.update({ rootfs: path.resolve(rootfs) });
  }

  /** Remove the container and everything it left: runc state, cgroup, monitor, files. */
  async delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    const d = this.dir(id);
    const tools = await this.setup();
    let record = await d.read();
    const state = await this.stateOf(d, record);
    if (state.running) {
      if (!options.force) {
        throw conflict(`cannot remove container "${id}": container is running: stop the container before removing or force remove`);
      }
      if (state.paused) await this.thawToEnd(id, tools.runc);
      await tools.runc.kill(id, 'KILL').catch(ignoreGone);
      await this.wait(id);
      record = await d.read();
    }
    // Before anything goes: a /dev/shm that will not come off leaves the container as it is, to remove again.
    if (record.shmSize !== undefined) await unmountShm(shmDir(d.dir), id);
    // Readers see "removing" while runc's state goes. Nothing on the way to freeing space
    // may need a data block first (the disk may be full): the mark is a symlink.
    d.markRemoving();
    const [monitorPid] = await Promise.all([d.conmonPid(), this.removeRuntimeState(tools, id)]);
    // conmon exits a moment after writing the exit code: look again soon, then less often.
    // It waits for its exit command, though: when that is this process, conmon ends after it.
    const conmonPid = monitorPid === process.ppid ? undefined : monitorPid;
    for (let waited = 0, step = 1; waited < 2000 && isAlive(conmonPid); waited += step, step = Math.min(step * 2, 20)) await delay(step);
    if (isAlive(conmonPid)) process.kill(conmonPid as number, 'SIGKILL');
    this.retire(d.dir, id);
    rmSync(path.join(this.exitDir, id), { force: true });
  }

  /**
   * Unmount a stopped `shareable` IPC container's /dev/shm, as dockerd does at its exit; its
   * next start mounts a fresh one. A running container keeps it (whoever may start it while
   * this runs must wait for it). Containers that joined its IPC namespace keep what they see:
   * their /dev/shm is a mount of their own. Busy is a Conflict, and it stays mounted.
   */
  async releaseShm(id: string): Promise<void> {
    const d = this.dir(id);
    const record = await d.read();
    if (record.shmSize === undefined || (await this.stateOf(d, record)).running) return;
    await unmountShm(shmDir(d.dir), id);
  }

  /**
   * A removed container's directory leaves the containers in one rename; its dozen files
   * are deleted behind the call — a dozen metadata writes a caller (`docker run --rm`) need
   * not wait for — by `removeTree`'s process when there is one, else on the thread pool.
   * Files a process killed (or ended) before they were gone leaves go in the next
   * Runtime's setup. Where the rename cannot be made (the directory of removed containers
   * was deleted under a running process), the files go in place.
   */
  private retire(dir: string, id: string): void {
    const retired = path.join(this.retiredDir, `${id}.${uniqueName()}`);
    try {
      renameSync(dir, retired);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    void this.deleteBehind(retired);
  }

  private async sweepRetired(): Promise<void> {
    let names: string[] = [];
    try {
      names = readdirSync(this.retiredDir);
    } catch {
      // gone: nothing to sweep
    }
    await Promise.all(names.map((name) => this.deleteBehind(path.join(this.retiredDir, name))));
  }

  /**
   * Delete a retired directory by `removeTree`'s process when there is one, else here; never
   * throws. What `removeTree` could not delete (something mounted inside) is not deleted here
   * either: it stays for the next setup's sweep.
   */
  private async deleteBehind(dir: string): Promise<void> {
    await (this.options.removeTree?.(dir) ?? fs.rm(dir, { recursive: true, force: true })).catch(() => undefined);
  }

  /** The container's state, worked out from its record and what conmon and runc left. */
  async state(id: string): Promise<ContainerState> {
    const d = this.dir(id);
    const record = await d.read();
    return this.stateOf(d, record);
  }

  private async stateOf(d: ContainerDir, record: ContainerRecord): Promise<ContainerState> {
    const state: ContainerState = {
      id: record.id,
      status: record.status,
      running: false,
      paused: false,
      pid: 0,
      exitCode: record.exitCode,
      oomKilled: false,
      createdAt: record.createdAt,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      error: record.error,
    };
    if (record.status !== 'running' && record.status !== 'paused') return state;
    const exited = async (): Promise<boolean> => {
      const exit = await d.exitStatus();
      if (!exit) return false;
      state.status = 'exited';
      state.exitCode = exit.exitCode;
      state.finishedAt = exit.finishedAt;
      state.oomKilled = exit.oomKilled;
      state.error = exit.error ?? state.error;
      return true;
    };
    if (await exited()) return state;
    const running = (): ContainerState => {
      state.running = true;
      state.paused = isFrozen(record.pid);
      state.status = state.paused ? 'paused' : 'running';
      state.pid = record.pid;
      return state;
    };
    const monitorPid = await d.conmonPid();
    // A monitor running its exit command (this process) has recorded all it could: it is done.
    const ownMonitor = monitorPid === process.ppid;
    if (isAlive(monitorPid) && !ownMonitor) return running();
    // conmon writes the exit file and then exits: look again before calling it lost.
    if (await exited()) return state;
    // Its monitor died while it ran: it is stopped in the monitor's place. Only here is runc asked.
    if (monitorPid !== undefined && !ownMonitor && runcHasProcess(this.runcRoot, record.id)) {
      if (!(await this.stopOrphan(d, record))) return running();
      if (await exited()) return state;
    }
    // A monitor gone without an exit file, with nothing of the container running (the machine
    // restarted, its write failed, or it was killed and the container ended too).
    state.status = 'exited';
    state.exitCode = 255;
    state.error = `the container monitor (conmon) exited without recording an exit code${fullDisk(d.dir) ? ': no space left on device' : ''}`;
    return state;
  }

  /**
   * A container whose monitor died while it ran (conmon killed) would run on unseen: nothing
   * would record its exit, and ctr would call it exited while it ran. As containerd does when
   * a shim dies, it is stopped in the monitor's place — `runc delete --force` kills it, its
   * whole cgroup — and its exit recorded as 255, saying why; then the exit command conmon would
   * have run is run, so that `--rm` and restart policies answer this exit as any other. False
   * when a process of it still runs (runc could not kill it).
   */
  private async stopOrphan(d: ContainerDir, record: ContainerRecord): Promise<boolean> {
    const { runc } = await this.setup();
    // Started again meanwhile (by another caller, a new monitor up): that run is not to be killed.
    const startedAgain = async (): Promise<boolean> => {
      const now = await d.read();
      return now.status !== record.status || now.startedAt !== record.startedAt || isAlive(await d.conmonPid());
    };
    if (await startedAgain()) return !isAlive(await d.conmonPid());
    // Judged by what is left, not by runc's answer: another caller may be doing the same.
    await runc.delete(record.id, true).catch(() => undefined);
    if (runcHasProcess(this.runcRoot, record.id)) return false;
    // Looked at again after the kill: a start that came in between is not recorded as this exit.
    if (await startedAgain()) return true;
    let recorded = false;
    try {
      recorded = d.recordExit(255, MONITOR_DIED);
    } catch {
      // Not recorded (a full disk): the state says the monitor left no exit code, which is as true.
    }
    if (recorded && record.exitCommand) runExitCommand(record.exitCommand);
    return true;
  }

  async inspect(id: string): Promise<ContainerInfo> {
    const d = this.dir(id);
    const record = await d.read();
    return this.info(d, record, await d.readSpec());
  }

  private async info(d: ContainerDir, record: ContainerRecord, spec: Spec): Promise<ContainerInfo> {
    return {
      ...(await this.stateOf(d, record)),
      rootfs: record.rootfs,
      bundle: d.dir,
      logPath: d.log,
      tty: record.tty,
      openStdin: record.openStdin,
      stopSignal: record.stopSignal,
      stopTimeout: record.stopTimeout,
      spec,
    };
  }

  /** Every container under this root, in any state. */
  async list(): Promise<ContainerState[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.containersDir);
    } catch {
      return [];
    }
    const states = await Promise.all(names.map((n) => this.state(n).catch(() => undefined)));
    return states.filter((s): s is ContainerState => s !== undefined);
  }

  /** Run another process in a running container and return its exit code. */
  async exec(id: string, options: ExecOptions): Promise<ExecResult> {
    const d = this.dir(id);
    const tools = await this.setup();
    const state = await this.state(id);
    if (!state.running) throw notRunning(id);
    if (state.paused) throw conflict(`Container ${id} is paused, unpause the container before exec`);
    if (options.cmd.length === 0) throw invalidArgument('No exec command specified');
    const record = await d.read();
    const spec = await d.readSpec();
    const proc = { ...spec.process, args: [...options.cmd], terminal: options.tty === true };
    if (options.workingDir) proc.cwd = checkWorkingDir(options.workingDir);
    if (options.user) {
      const user = await resolveUser(record.rootfs, options.user);
      proc.user = { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids };
    }
    if (options.env) proc.env = mergeEnv(proc.env, options.env);
    // moby's execSetPlatformOpt: every capability in the bounding, permitted and effective sets.
    if (options.privileged) proc.capabilities = capabilitySet(grantableCapabilities());
    if (options.tty) proc.env = [...proc.env.filter((e) => !e.startsWith('TERM=')), 'TERM=xterm'];
    delete proc.consoleSize;
    if (options.tty && options.consoleSize) {
      checkTerminalSize(options.consoleSize);
      proc.consoleSize = { height: options.consoleSize.height, width: options.consoleSize.width };
    }
    throwIfAborted(options.signal, `exec in ${id}`);
    // Sessions nobody waits for would otherwise pile up in a long-lived container whose clients keep going away.
    sweepEndedSessions(d.execDir, id);
    const execId = uniqueName();
    const dir = path.join(d.execDir, execId);
    // conmon's exit file in a directory of its own: named for the container, it could otherwise be taken for one of the session's files.
    await fs.mkdir(sessionExitDir(dir), { recursive: true, mode: 0o700 });
    // Should this process die waiting, it marks nothing: by this, a sweep tells that nobody waits any more.
    recordCaller(dir);
    let detached = false;
    // Until `runc exec` has put the process into the container's cgroups.
    const releaseMoves = holdCgroupMovesFast();
    try {
      const processSpec = path.join(dir, 'process.json');
      await fs.writeFile(processSpec, ociJson(proc));
      const conmon = spawnConmon({
        conmon: tools.conmon,
        runtime: tools.runtime,
        runtimeRoot: this.runcRoot,
        id,
        uuid: execId,
        bundle: dir,
        // A detached exec's output is nobody's (docker discards it): none is kept to fill the disk.
        logPath: options.detach ? '/dev/null' : path.join(dir, 'exec.log'),
        runtimeLog: path.join(dir, 'runc.log'),
        pidFile: path.join(dir, 'pid'),
        exitDir: sessionExitDir(dir),
        conmonPidFile: sessionMonitorPidFile(dir),
        terminal: options.tty === true,
        stdin: options.stdin !== undefined,
        exec: { processSpec, attach: true },
      });
      const ready = await conmon.attach?.next();
      if (!ready || ready.data < 0) {
        conmon.sync.close();
        throw startFailure(ready?.message ?? 'conmon could not set up the exec session', 'exec');
      }
      // dockerd closes a non-TTY exec's stdin at the end of its client's input (CloseStdin); a TTY
      // exec's client it detaches there instead. An exec here has its one client for its whole
      // life (no attach to an exec later), so the end of that input closes stdin for both.
      const session = await attachSocket(dir, options, 'close');
      conmon.start?.write('0');
      conmon.start?.end();
      const closePipes = (): void => {
        conmon.sync.close();
        conmon.attach?.close();
      };
      const detach = (): void => {
        session.detach();
        closePipes();
      };
      const killing = options.onAbort === 'kill';
      let pid: number | undefined;
      // conmon reports the exit of a killed process on, and is done with its directory after.
      const kill = (): void => {
        session.detach();
        try {
          if (pid !== undefined) process.kill(pid, 'SIGKILL');
        } catch {
          // Exited meanwhile: its exit is on its way.
        }
      };
      const abort = killing ? kill : detach;
      options.signal?.addEventListener('abort', abort, { once: true });
      if (options.signal?.aborted) abort();
      let exited;
      try {
        const started = await conmon.sync.next().finally(releaseMoves);
        if (!killing && options.signal?.aborted) {
          // A process that started (or may have: the abort closed the pipe before conmon said) runs
          // on, writing into its session directory: a sweep removes it once it has ended. One
          // conmon reported as failed to start leaves it nothing to write: removed now.
          detached = started === undefined || started.data >= 0;
          throwIfAborted(options.signal, `exec in ${id}`);
        }
        if (!started || started.data < 0) {
          detach();
          throw startFailure((await runtimeFailure(path.join(dir, 'runc.log'))) ?? started?.message ?? 'exec failed', 'exec');
        }
        pid = started.data;
        if (options.signal?.aborted) kill();
        // The exec's conmon holds its pty; its control fifo is in the session directory.
        options.onStart?.({ pid, resize: (size) => resizeTerminal(path.join(dir, 'ctl'), size, `exec ${execId} in ${id}`) });
        if (options.detach) {
          detach();
          detached = true;
          return { exitCode: 0 };
        }
        exited = await conmon.sync.next();
        // conmon has reaped it: its pid may be another process's from now on.
        pid = undefined;
        if (!killing && options.signal?.aborted) detached = true;
        throwIfAborted(options.signal, `exec in ${id}`);
        closePipes();
        // conmon closes the attach socket after the last output: wait for it all.
        await session.done;
      } finally {
        options.signal?.removeEventListener('abort', abort);
        closePipes();
      }
      if (!exited) throw new CtrError('Internal', `exec in ${id}: conmon exited without reporting the exit code`);
      return { exitCode: exited.data };
    } finally {
      releaseMoves();
      // A detached exec's conmon goes on using its session directory: a later sweep removes it once the exec has ended.
      if (detached) markDetached(dir);
      else await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** Connect streams to a running container's stdio; resolves when it closes them or `signal` fires. */
  async attach(id: string, streams: AttachStreams): Promise<void> {
    const d = this.dir(id);
    const state = await this.state(id);
    if (!state.running) throw conflict(`You cannot attach to a stopped container, start it first`);
    const session = await attachSocket(d.dir, streams, inputEnd(await d.read()));
    await session.done;
  }

  /** The container's output, line by line, like `docker logs`. */
  logs(id: string, options: LogsOptions = {}): AsyncIterable<LogEntry> {
    const d = this.dir(id);
    const self = this;
    return (async function* () {
      const record = await d.read();
      if (record.noLog || record.remoteLog?.cache === false) throw logsNotReadable();
      yield* readLogs(d.log, options, async () => (await self.state(id).catch(() => undefined))?.running === true);
    })();
  }

  /** Resize the container's TTY (conmon's control fifo: `1 <height> <width>`). */
  async resize(id: string, size: { height: number; width: number }): Promise<void> {
    const d = this.dir(id);
    checkTerminalSize(size);
    const record = await d.read();
    if (!record.tty) throw conflict(`container ${id} has no TTY to resize`);
    if (!(await this.state(id)).running) throw notRunning(id);
    await resizeTerminal(d.ctlFifo, size, `container ${id}`);
  }

  private async removeRuntimeState(tools: Tools, id: string): Promise<void> {
    await tools.runc.remove(id);
  }

}

/** Why runc failed, from its log file (see `runcFailure`), if it logged anything. */
async function runtimeFailure(file: string): Promise<string | undefined> {
  return runcFailure(await fs.readFile(file, 'utf8').catch(() => ''));
}

function ignoreGone(error: unknown): void {
  if (isCtrError(error) && (error.code === 'NotFound' || error.code === 'Conflict')) return;
  throw error;
}

/**
 * Once its exec fifo has been read, runc init still has to exec the container's program:
 * wait (briefly, bounded) until it has, so that whoever looks right after `start` returns
 * (`docker run -d … && docker top`) sees the program, not `runc:[2:INIT]`.
 */
async function programRuns(pid: number): Promise<void> {
  for (let waited = 0; waited < 100; waited++) {
    const comm = commandName(pid);
    if (comm === undefined || !comm.startsWith('runc:[2:INIT]')) return;
    await delay(1);
  }
}

let named = 0;

/**
 * A directory name none of its siblings has: this process's ID, the time and a count. Not
 * random bytes: nothing needs them secret, and loading node:crypto costs every `ctr run` ≈ 3 ms.
 */
function uniqueName(): string {
  return `${process.pid.toString(36)}-${Date.now().toString(36)}-${(named++).toString(36)}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolve when `name` appears in `dir`, after `ms` at most, or when `signal` fires. */
function waitForFile(dir: string, name: string, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(dir, (_event, file) => {
      if (file === name) finish();
    });
    watcher.on('error', () => finish());
    const timer = setTimeout(() => finish(), ms);
    const onAbort = (): void => finish(aborted(signal, `waiting in ${dir}`));
    signal?.addEventListener('abort', onAbort, { once: true });
    function finish(error?: Error): void {
      clearTimeout(timer);
      watcher.close();
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    }
    // The file may have appeared before the watch began.
    if (existsSync(path.join(dir, name))) finish();
  });
}

/**
 * `runc update`'s flags for a whole set of limits. Flags name every limit, so one the new
 * set lacks is lifted: pids to `max`; memory, CPU and blkio weight limits are never lifted by
 * `docker update` (0 there means "unchanged"), so the engine never asks for that.
 */
function runcUpdateFlags(resources: LinuxResources): string[] {
  const { memory = {}, cpu = {}, pids } = resources;
  const flags: Array<[string, number | string | undefined]> = [
    ['--memory', memory.limit],
    ['--memory-swap', memory.swap],
    ['--memory-reservation', memory.reservation],
    ['--cpu-share', cpu.shares],
    ['--cpu-quota', cpu.quota],
    ['--cpu-period', cpu.period],
    ['--cpu-rt-period', cpu.realtimePeriod],
    ['--cpu-rt-runtime', cpu.realtimeRuntime],
    ['--cpuset-cpus', cpu.cpus],
    ['--cpuset-mems', cpu.mems],
    ['--pids-limit', pids?.limit ?? -1],
    ['--blkio-weight', resources.blockIO?.weight],
  ];
  return flags.flatMap(([flag, value]) => (value === undefined ? [] : [`${flag}=${value}`]));
}

/**
 * Lowering an OOM score adjustment below 0 takes CAP_SYS_RESOURCE, which runc init inherits
 * from this process: without it runc fails the start with nothing but "can't get final
 * child's PID", so the create is refused instead, saying why.
 */
function checkOomScoreAdj(adj: number | undefined): void {
  if (adj === undefined || adj >= 0 || grantableCapabilities().includes('CAP_SYS_RESOURCE')) return;
  throw invalidArgument(`oom score adj ${adj} is below what this host lets the runtime set: lowering it needs CAP_SYS_RESOURCE, which this process does not have`, {
    hint: 'ask for 0 or more, or run ctr with CAP_SYS_RESOURCE',
  });
}

/** The init `--init` runs as PID 1: Docker's docker-init when installed, else Debian's static tini (the same program). */
export async function findInit(): Promise<string> {
  try {
    return await findExecutable('docker-init');
  } catch {
    return findExecutable('tini-static').catch((error: unknown) => {
      throw new CtrError('Unavailable', '--init needs docker-init or tini-static on the host, and neither was found', {
        hint: 'install the Debian package "tini"',
        cause: error,
      });
    });
  }
}
