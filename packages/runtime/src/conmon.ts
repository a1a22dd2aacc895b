import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { internal } from '@ctr/errors';
import { logFifo, logWriterArgv, type LogRotation } from './log-writer';
import type { RemoteWriter } from './remote-log';

/** Everything conmon is told about one container or one exec session. */
export interface ConmonConfig {
  conmon: string;
  runtime: string;
  /** runc `--root`: runc's state lives under our run directory. */
  runtimeRoot: string;
  id: string;
  /** Unique per conmon instance: the container id, or the exec id. */
  uuid: string;
  /** Where conmon makes `attach`, `ctl` and `winsz` (the bundle for a container). */
  bundle: string;
  logPath: string;
  /** Where runc writes its own errors (conmon's go to syslog, which is absent here). */
  runtimeLog: string;
  pidFile: string;
  conmonPidFile?: string;
  exitDir: string;
  persistDir?: string;
  terminal: boolean;
  stdin: boolean;
  /** The process's stdin stays open when an attached client's input ends or the client goes (a terminal's always does). */
  leaveStdinOpen?: boolean;
  exec?: { processSpec: string; attach: boolean };
  /** A program (and its arguments) conmon runs after the container has exited. */
  exitCommand?: readonly string[];
  /** Bytes of log to keep before conmon starts the log afresh (one file: Docker's `max-file=1`). */
  logSizeMax?: number;
  /** Docker's rotation across files: conmon writes through a FIFO to a writer that rotates (`log-writer.ts`). */
  logRotation?: LogRotation;
  /** No log at all (`--log-driver none`): the output goes to attached clients only. */
  noLog?: boolean;
  /** A remote log driver: the writer sends the records (`remote-log.ts`). */
  remoteLog?: RemoteWriter;
  /** With `remoteLog`: no log file is kept (`cache-disabled`). */
  noLogFile?: boolean;
}

/**
 * What the log writer does in conmon's place for a container (an exec's output is not the
 * container's log): rotate the log across files, send it to a remote driver, or both.
 */
function writer(c: ConmonConfig): { rotation?: LogRotation; remote?: RemoteWriter } | undefined {
  if (c.exec) return undefined;
  if (c.remoteLog) {
    // The writer keeps conmon's one-file limit too: conmon itself writes to the FIFO.
    const limit = c.logSizeMax ? { maxSize: c.logSizeMax, maxFiles: 1, compress: false } : undefined;
    const kept = c.logRotation ?? limit;
    return { remote: c.remoteLog, ...(kept ? { rotation: kept } : {}) };
  }
  return c.logRotation ? { rotation: c.logRotation } : undefined;
}

/** conmon's command line, the way Podman builds it (libpod `oci_conmon_common.go`). */
export function conmonArgs(c: ConmonConfig): string[] {
  const args = [
    '--api-version', '1',
    '-c', c.id,
    '-u', c.uuid,
    '-n', c.id,
    '-r', c.runtime,
    '-b', c.bundle,
    '-p', c.pidFile,
    '-l', c.noLog ? 'none:' : `k8s-file:${writer(c) ? logFifo(c.logPath) : c.logPath}`,
    '--exit-dir', c.exitDir,
    '--full-attach',
    '--socket-dir-path', c.bundle,
    '--log-level', 'error',
    '--runtime-arg', `--root=${c.runtimeRoot}`,
    '--runtime-arg', `--log=${c.runtimeLog}`,
    '--no-sync-log',
  ];
  if (c.conmonPidFile) args.push('-P', c.conmonPidFile);
  if (c.persistDir) args.push('-0', c.persistDir);
  if (c.terminal) args.push('-t');
  if (c.stdin) args.push('-i');
  // Without it, conmon closes the process's stdin when any attach client's socket ends. A
  // terminal's input outlives its clients, as in Docker (a session detached with the keys can
  // attach again); so does a pipe's unless the container is StdinOnce (`run -i`, not `run -di`).
  if (c.stdin && (c.terminal || c.leaveStdinOpen)) args.push('--leave-stdin-open');
  // conmon's own limit would rename a new file over the FIFO: a rotating writer keeps the size.
  if (c.logSizeMax && !writer(c)) args.push('--log-size-max', String(c.logSizeMax));
  const [exitProgram, ...exitArgs] = c.exitCommand ?? [];
  if (exitProgram) {
    args.push('--exit-command', exitProgram);
    for (const arg of exitArgs) args.push('--exit-command-arg', arg);
  }
  if (c.exec) {
    args.push('-e', '--exec-process-spec', c.exec.processSpec);
    if (c.exec.attach) args.push('--exec-attach');
  }
  return args;
}

/** One message conmon writes on its sync pipe: a pid, an exit code, or -1 and an error. */
export interface SyncMessage {
  data: number;
  message?: string;
  /** The pipe failed rather than conmon answering: conmon never ran, or what started it went away. */
  pipeFailed?: true;
}

/**
 * Reads newline-separated JSON messages from conmon's sync (or attach) pipe. A pipe that
 * fails is reported as a message whose text starts with `failure` (what it means for
 * that pipe to fail).
 */
export class SyncReader {
  private buffer = '';
  private readonly queue: SyncMessage[] = [];
  private waiting: ((m: SyncMessage | undefined) => void) | undefined;
  private ended = false;

  constructor(
    private readonly stream: Readable,
    failure = "conmon's pipe failed",
  ) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) !== -1) {
        this.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
    });
    const end = (): void => {
      if (this.buffer.trim()) this.push(this.buffer);
      this.buffer = '';
      this.ended = true;
      this.flush();
    };
    stream.on('end', end);
    stream.on('close', end);
    // A pipe that failed says why.
    stream.on('error', (error) => {
      if (!this.ended) this.queue.push({ data: -1, message: `${failure}: ${error.message}`, pipeFailed: true });
      end();
    });
  }

  private push(line: string): void {
    if (!line.trim()) return;
    try {
      this.queue.push(JSON.parse(line) as SyncMessage);
    } catch {
      this.queue.push({ data: -1, message: `conmon wrote an unreadable message: ${line}` });
    }
    this.flush();
  }

  private flush(): void {
    if (!this.waiting) return;
    const next = this.queue.shift();
    if (next === undefined && !this.ended) return;
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve(next);
  }

  /** The next message, or undefined when conmon closed the pipe without one. */
  next(): Promise<SyncMessage | undefined> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.flush();
    });
  }

  close(): void {
    this.stream.destroy();
  }
}

export interface ConmonProcess {
  sync: SyncReader;
  /** conmon's start pipe: an attached exec waits on it until the client is connected. */
  start?: NodeJS.WritableStream;
  /** conmon's attach pipe: it says when its attach socket is ready. */
  attach?: SyncReader;
}

/**
 * Starts a program detached from this process (a session of its own, stdio on /dev/null)
 * with a pipe as its fd 3, and returns what it writes there; or undefined, to decline.
 */
export type Launch = (argv: readonly string[], env: Readonly<Record<string, string>>, cwd: string) => Readable | undefined;

/** conmon's environment, and its exit command's: `PATH` alone. */
function searchPath(): string {
  return process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
}

/**
 * Run a container's exit command in its dead conmon's place, as conmon runs it: detached, with
 * only `PATH` in its environment, nobody waiting for it.
 */
export function runExitCommand([program, ...args]: readonly string[]): void {
  if (!program) return;
  const child = spawn(program, args, { stdio: 'ignore', env: { PATH: searchPath() }, detached: true });
  child.on('error', () => undefined);
  child.unref();
}

/**
 * Start conmon detached from us: it daemonizes, so the container and its monitor keep
 * running when this Node process exits or is killed. Through `launch` when given (forking
 * a large Node process is a few milliseconds of every start), else spawned from here.
 * Only the pipes named here are passed (fds 3–5); Node marks every other descriptor
 * close-on-exec (R2), as a launcher must for its own.
 */
export function spawnConmon(config: ConmonConfig, launch?: Launch): ConmonProcess {
  const withAttach = config.exec?.attach === true;
  const env: Record<string, string> = { PATH: searchPath(), _OCI_SYNCPIPE: '3' };
  // A log writer starts first and runs conmon itself, passing the sync pipe on.
  const monitor = [config.conmon, ...conmonArgs(config)];
  const logWriter = writer(config);
  const [program, ...args] = logWriter
    ? logWriterArgv(config.noLogFile ? undefined : config.logPath, logFifo(config.logPath), logWriter.rotation, monitor, logWriter.remote)
    : monitor;
  const launched = withAttach ? undefined : launch?.([program as string, ...args], env, config.bundle);
  // What launched it reports there when it could not, or went away.
  if (launched) return { sync: new SyncReader(launched, 'cannot start conmon') };
  if (withAttach) {
    env._OCI_STARTPIPE = '4';
    env._OCI_ATTACHPIPE = '5';
  }
  const stdio: ('ignore' | 'pipe')[] = ['ignore', 'ignore', 'ignore', 'pipe'];
  if (withAttach) stdio.push('pipe', 'pipe');
  const child = spawn(program as string, args, { stdio, env, detached: true, cwd: config.bundle });
  // A conmon that cannot run closes its pipes: the caller reads no message and says so.
  child.once('error', () => undefined);
  child.unref();
  const pipe = (fd: number): Readable => {
    const stream = child.stdio[fd] as Readable | null;
    if (!stream) throw internal(`conmon pipe ${fd} missing`);
    return stream;
  };
  const result: ConmonProcess = { sync: new SyncReader(pipe(3)) };
  if (withAttach) {
    // conmon reads its start pipe twice for an attached exec: once before it sets up the
    // attach socket, once more (after our client connected) before it runs `runc exec`.
    const start = child.stdio[4] as Writable;
    // A conmon that died early makes these writes fail (EPIPE); its sync pipe then says why,
    // and an unheard stream error would end the whole process (ctrd with it).
    start.on('error', () => undefined);
    start.write('0');
    result.start = start;
    result.attach = new SyncReader(pipe(5));
  }
  return result;
}
