import { execFile } from 'node:child_process';
import { constants as fsc, openSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { CtrError, internal } from '@ctr/errors';
import { processRuns } from './proc-stat';

/** The OCI runtime binary, with its state kept under our run directory (`--root`). */
export class Runc {
  constructor(
    readonly binary: string,
    readonly root: string,
  ) {}

  /** Run one runc command; its error text becomes a CtrError that keeps runc's words. */
  run(args: string[], signal?: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        this.binary,
        [`--root=${this.root}`, ...args],
        { signal, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, maxBuffer: 4 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const text = (stderr || error.message).trim().replace(/^time="[^"]*" level=\w+ msg="(.*)"$/m, '$1');
          const code = /does not exist/.test(text) ? 'NotFound' : /not running|is paused|is stopped|cannot .* (created|stopped|running)/.test(text) ? 'Conflict' : 'Internal';
          reject(new CtrError(code, `runc ${args[0]}: ${text}`, { cause: error }));
        },
      );
    });
  }

  /**
   * Let a created container's process run. `runc start` only reads the container's
   * `exec.fifo` (which releases runc init into the user's process) and removes it; doing
   * that here saves starting a Go program on every container start. Falls back to
   * `runc start` when the fifo is not there (another runtime, or another layout).
   */
  async start(id: string): Promise<void> {
    const fifo = path.join(this.root, id, 'exec.fifo');
    let fd: number;
    try {
      // Read-write and non-blocking: the open never waits for runc init, and with a writer
      // always present (us) the pipe waits for init's byte instead of reading end-of-file.
      fd = openSync(fifo, fsc.O_RDWR | fsc.O_NONBLOCK);
    } catch {
      await this.run(['start', id]);
      return;
    }
    const pipe = new Socket({ fd, readable: true, writable: false });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(internal(`container ${id} did not start: runc init never wrote to its exec fifo`)), 10_000);
        pipe.once('data', () => {
          clearTimeout(timer);
          resolve();
        });
        pipe.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
    } finally {
      pipe.destroy();
    }
    rmSync(fifo, { force: true });
  }

  kill(id: string, signal: string): Promise<string> {
    return this.run(['kill', id, signal]);
  }

  pause(id: string): Promise<string> {
    return this.run(['pause', id]);
  }

  resume(id: string): Promise<string> {
    return this.run(['resume', id]);
  }

  delete(id: string, force = false): Promise<string> {
    return this.run(force ? ['delete', '--force', id] : ['delete', id]);
  }

  /**
   * Remove a container's runc state, whatever it is in. For one whose init has exited in its
   * own PID namespace (so nothing of it can be left running), this does what `runc delete`
   * would — remove its cgroups, then its state directory — without starting runc, which is
   * most of what removing a container costs. Anything else (a process still in a cgroup, a
   * shared PID namespace, hooks to run, state this code does not know) goes to
   * `runc delete --force`.
   */
  async remove(id: string): Promise<void> {
    const stateDir = path.join(this.root, id);
    // state.json and /proc are read directly, like the runtime's own small files.
    const state = readRuncState(path.join(stateDir, 'state.json'));
    if (state === 'absent') return;
    if (state && removableAlone(state) && !initRuns(state) && removeCgroups(state)) {
      rmSync(stateDir, { recursive: true, force: true });
      return;
    }
    await this.delete(id, true).catch((error: unknown) => {
      if (!(error instanceof CtrError && error.code === 'NotFound')) throw error;
    });
  }

  async state(id: string): Promise<{ status: string; pid: number }> {
    const out = JSON.parse(await this.run(['state', id])) as { status: string; pid: number };
    return { status: out.status, pid: out.pid };
  }
}

/** The part of runc's `state.json` that says what removing the container involves. */
interface RuncState {
  init_process_pid: number;
  init_process_start: number;
  cgroup_paths?: Record<string, string>;
  config?: { namespaces?: Array<{ type: string; path?: string }>; hooks?: Record<string, unknown[]> | null };
}

/** `undefined` when the state is there but cannot be read. */
function readRuncState(file: string): RuncState | 'absent' | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : undefined;
  }
  try {
    const state = JSON.parse(text) as RuncState;
    return Number.isInteger(state.init_process_pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the container is in a shape whose removal this code may do alone: in a PID namespace
 * of its own (its init's end ended every process of it) and without hooks to run.
 */
function removableAlone(state: RuncState): boolean {
  const ownPidNamespace = state.config?.namespaces?.some((ns) => ns.type === 'NEWPID' && !ns.path) ?? false;
  const hooks = Object.values(state.config?.hooks ?? {}).some((list) => Array.isArray(list) && list.length > 0);
  return ownPidNamespace && !hooks;
}

/**
 * Whether runc's container `id` (state under `root`) still has its init process, read from
 * runc's state file and /proc: no runc is started. Not when the state cannot be read: runc
 * could not act on that container either.
 */
export function runcHasProcess(root: string, id: string): boolean {
  const state = readRuncState(path.join(root, id, 'state.json'));
  return state !== 'absent' && state !== undefined && initRuns(state);
}

/** Whether the container's init still runs: its pid alive with the start time runc recorded. */
function initRuns(state: RuncState): boolean {
  return processRuns(state.init_process_pid, state.init_process_start);
}

/**
 * Remove the container's cgroups; false when one still holds a process (runc must see to it).
 * On cgroup v1 that is a dozen rmdirs of kernel objects, each done in microseconds: made
 * directly, not queued one by one behind the thread pool.
 */
function removeCgroups(state: RuncState): boolean {
  let removed = true;
  for (const dir of new Set(Object.values(state.cgroup_paths ?? {}))) {
    try {
      rmdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') removed = false;
    }
  }
  return removed;
}

interface RuncLogLine {
  level: string;
  msg: string;
}

/** Go's quoted string (`%q`) as text: JSON's escapes, plus `\xNN`. */
function unquoteGo(quoted: string): string {
  try {
    return JSON.parse(`"${quoted.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1')}"`) as string;
  } catch {
    return quoted;
  }
}

/** One line of runc's log: logrus text (`time="…" level=error msg="…"`) or, with `--log-format json`, JSON. */
function parseRuncLogLine(line: string): RuncLogLine {
  if (line.startsWith('{')) {
    try {
      const parsed = JSON.parse(line) as Partial<RuncLogLine>;
      return { level: String(parsed.level ?? ''), msg: String(parsed.msg ?? line) };
    } catch {
      return { level: '', msg: line };
    }
  }
  const level = /(?:^|\s)level=(\w+)/.exec(line)?.[1] ?? '';
  const msg = /(?:^|\s)msg=(?:"((?:[^"\\]|\\.)*)"|(\S*))/.exec(line);
  return { level, msg: msg ? (msg[1] !== undefined ? unquoteGo(msg[1]) : (msg[2] ?? '')) : line };
}

/**
 * What runc's log says made a create (or exec) fail: its last error, as containerd's shim
 * reports it, followed by the first fatal line before it when runc logged one. That is runc
 * init's own report (`failed to setns into net namespace: Invalid argument`): the error runc
 * ends with then only says that init went away (`can't get final child's PID from pipe: EOF`).
 */
export function runcFailure(log: string): string | undefined {
  const lines = log.split('\n').filter((line) => line.trim() !== '').map(parseRuncLogLine);
  let last = -1;
  for (let i = lines.length - 1; i >= 0 && last < 0; i--) if (lines[i]?.level === 'error') last = i;
  if (last < 0) last = lines.findIndex((line) => line.level === 'fatal');
  if (last < 0) last = lines.length - 1;
  const error = lines[last];
  if (!error) return undefined;
  // runc init's lines name the stage and pid that failed (`nsexec-1[9604]: `), which say nothing to a user.
  const cause = lines.slice(0, last).find((line) => line.level === 'fatal')?.msg.replace(/^nsexec-\d+\[\d+\]: /, '');
  return cause && !error.msg.includes(cause) ? `${error.msg}: ${cause}` : error.msg;
}
