import { randomBytes } from 'node:crypto';
import { parseDetachKeys, type ExecControl } from '@ctr/engine';
import { conflict, notFound } from '@ctr/errors';

/** What `POST /containers/{id}/exec` asked for, kept until the exec is started and inspected. */
export interface ExecConfig {
  cmd: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  tty: boolean;
  privileged: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  /** `DetachKeys` as the client gave them (checked at create). */
  detachKeys?: string;
}

export interface ExecSession {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  /** The running process's controls, once it runs. */
  control?: ExecControl;
  /** Its process's host pid while it runs (kept for a detached client: the process runs on). */
  pid?: number;
  /** Resolves when the process runs (a resize right after start waits for it, as in dockerd). */
  ready: Promise<void>;
  markReady(): void;
}

interface TerminalSize {
  height: number;
  width: number;
}

/** How long a resize waits for an exec to start running (dockerd's wait). */
const READY_WAIT_MS = 10_000;

/** How long a finished exec stays inspectable (dockerd keeps them until the container goes). */
const KEEP_MS = 10 * 60_000;

/** Exec instances live in the daemon's memory, as in dockerd: they do not survive a restart. */
export class ExecSessions {
  private readonly sessions = new Map<string, ExecSession>();

  create(containerId: string, config: ExecConfig): ExecSession {
    let markReady = (): void => undefined;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const session: ExecSession = { id: randomBytes(32).toString('hex'), containerId, config, running: false, started: false, exitCode: null, ready, markReady };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string): ExecSession {
    const session = this.sessions.get(id);
    if (!session) throw notFound(`No such exec instance: ${id}`);
    return session;
  }

  /** The process runs: resize requests go to it from now on. */
  running(session: ExecSession, control: ExecControl): void {
    session.control = control;
    if (control.pid !== undefined) session.pid = control.pid;
    session.markReady();
  }

  /** `POST /exec/{id}/resize`: resize the exec's terminal, waiting a while for a process that is about to run. */
  async resize(session: ExecSession, size: TerminalSize): Promise<void> {
    if (!session.config.tty) throw conflict(`exec ${session.id} has no TTY to resize`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, READY_WAIT_MS)));
    await Promise.race([session.ready, timeout]).finally(() => clearTimeout(timer));
    if (!session.control) {
      throw conflict(session.exitCode !== null ? `exec ${session.id} is not running` : 'timeout waiting for exec session ready');
    }
    return session.control.resize(size);
  }

  finished(session: ExecSession, exitCode: number): void {
    session.running = false;
    session.exitCode = exitCode;
    delete session.pid;
    this.leave(session);
  }

  /**
   * The client detached (its detach keys, or it went away): the process runs on, as in
   * dockerd, but this daemon no longer follows it, so it stays `Running` with no exit code.
   */
  detached(session: ExecSession): void {
    this.leave(session);
  }

  private leave(session: ExecSession): void {
    delete session.control;
    session.markReady();
    setTimeout(() => this.sessions.delete(session.id), KEEP_MS).unref();
  }

  /** `GET /exec/{id}/json`, Docker's field names. */
  inspect(session: ExecSession): Record<string, unknown> {
    const [entrypoint, ...args] = session.config.cmd;
    return {
      ID: session.id,
      Running: session.running,
      ExitCode: session.exitCode,
      ProcessConfig: { tty: session.config.tty, entrypoint, arguments: args, privileged: session.config.privileged, user: session.config.user ?? '' },
      OpenStdin: session.config.attachStdin,
      OpenStderr: session.config.attachStderr,
      OpenStdout: session.config.attachStdout,
      CanRemove: false,
      ContainerID: session.containerId,
      // dockerd keeps the keys as bytes, which JSON shows in base64.
      DetachKeys: session.config.detachKeys ? parseDetachKeys(session.config.detachKeys, 'escape').toString('base64') : '',
      // dockerd's: the process's host pid while it runs, 0 before and after.
      Pid: session.pid ?? 0,
    };
  }
}
