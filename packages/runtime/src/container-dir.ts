import { existsSync, promises as fs, linkSync, lstatSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { invalidArgument, noSpaceLeft, notFound } from '@ctr/errors';
import { goRfc3339Nano } from '@ctr/image';
import type { Spec } from './oci-spec';
import { ociJson, readOciJson } from './spec/spec-json';
import type { RemoteLog } from './remote-log';
import type { NamespaceJoins } from './shared-namespaces';
import type { ContainerStatus, ExitStatus } from './types';

/** What ctr remembers about a container between calls and between processes. */
export interface ContainerRecord {
  id: string;
  rootfs: string;
  /** The last state a command set; `exited` is also read from conmon's exit file. */
  status: ContainerStatus;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  /** Host pid of init for the current run. */
  pid: number;
  exitCode: number;
  error: string;
  tty: boolean;
  openStdin: boolean;
  /** `run.leaveStdinOpen`, for every start. */
  leaveStdinOpen?: true;
  stopSignal: string;
  stopTimeout: number;
  /** Bytes a log file may reach; absent or 0: no limit. */
  logSizeMax?: number;
  /** Log files kept (with `logSizeMax`), when more than one: a writer rotates them. */
  logMaxFiles?: number;
  /** The rotated log files are gzipped. */
  logCompress?: true;
  /** `--log-driver none`: conmon keeps no log. */
  noLog?: true;
  /** `run.remoteLog`, for every start. */
  remoteLog?: RemoteLog;
  /** Containers whose PID or IPC namespace each start joins (`container:<id>` modes). */
  joins?: NamespaceJoins;
  /** A shareable IPC container's /dev/shm size: its tmpfs is mounted on the host before a start. */
  shmSize?: number;
  /** The current run's exit command (conmon's): run in conmon's place should conmon die before the container does. */
  exitCommand?: string[];
}

/** An exit as recorded in the container's exit file; `error` says why when the runtime recorded it in its monitor's place. */
export interface RecordedExit extends ExitStatus {
  error?: string;
}

const ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

export function checkId(id: string): void {
  if (!ID.test(id)) {
    throw invalidArgument(`invalid container id "${id}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 128 characters`);
  }
}

/**
 * The files of one container, under `<root>/containers/<id>/` (also its OCI bundle). They
 * are a few hundred bytes each and read or replaced on every state change, so they are read
 * and written directly: microseconds a call, where a thread-pool round trip costs hundreds.
 */
export class ContainerDir {
  readonly dir: string;

  constructor(
    containersDir: string,
    readonly id: string,
  ) {
    this.dir = path.join(containersDir, id);
  }

  get record(): string {
    return path.join(this.dir, 'container.json');
  }
  get config(): string {
    return path.join(this.dir, 'config.json');
  }
  get log(): string {
    return path.join(this.dir, 'ctr.log');
  }
  get runtimeLog(): string {
    return path.join(this.dir, 'runc.log');
  }
  /** conmon's persist dir is the container dir: it writes `exit` and `oom` here. */
  get exitFile(): string {
    return path.join(this.dir, 'exit');
  }
  get oomFile(): string {
    return path.join(this.dir, 'oom');
  }
  get pidFile(): string {
    return path.join(this.dir, 'pidfile');
  }
  get conmonPidFile(): string {
    return path.join(this.dir, 'conmon.pid');
  }
  get ctlFifo(): string {
    return path.join(this.dir, 'ctl');
  }
  get execDir(): string {
    return path.join(this.dir, 'exec');
  }
  /** Made when removal begins: a symlink, which needs no data block, so a full disk can still remove. */
  private get removingMarker(): string {
    return path.join(this.dir, 'removing');
  }

  async read(): Promise<ContainerRecord> {
    let record: ContainerRecord;
    try {
      record = JSON.parse(readFileSync(this.record, 'utf8')) as ContainerRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`No such container: ${this.id}`);
      throw error;
    }
    return lstatSync(this.removingMarker, { throwIfNoEntry: false }) ? { ...record, status: 'removing' } : record;
  }

  /** Readers see the container as `removing` from now on, whatever its record says. */
  markRemoving(): void {
    try {
      symlinkSync('.', this.removingMarker);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw notFound(`No such container: ${this.id}`);
      if (code !== 'EEXIST') throw error;
    }
  }

  /** Replace the record atomically (readers in other processes see old or new, never half). */
  async write(record: ContainerRecord): Promise<void> {
    this.replace(this.record, JSON.stringify(record));
  }

  async readSpec(): Promise<Spec> {
    return readOciJson(await fs.readFile(this.config, 'utf8'));
  }

  /** Replace the bundle's spec atomically, as the record: a start in another process reads old or new. */
  writeSpec(spec: Spec): void {
    this.replace(this.config, ociJson(spec));
  }

  private replace(file: string, text: string): void {
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, text);
      renameSync(tmp, file);
    } catch (error) {
      // A full disk leaves the temp file half written: it must not hold on to the space.
      rmSync(tmp, { force: true });
      // The directory went: the container was removed meanwhile (by another caller).
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`No such container: ${this.id}`);
      throw noSpaceLeft(error, file) ?? error;
    }
  }

  async update(change: Partial<ContainerRecord>): Promise<ContainerRecord> {
    const next = { ...(await this.read()), ...change };
    await this.write(next);
    return next;
  }

  /**
   * How the last run ended, if it has: conmon writes the exit code alone; the runtime, when it
   * records an exit in a dead conmon's place, writes why on the next line.
   */
  async exitStatus(): Promise<RecordedExit | undefined> {
    try {
      const text = readFileSync(this.exitFile, 'utf8');
      // In nanoseconds, as the kernel stamped the file when conmon wrote the exit.
      const stat = statSync(this.exitFile, { bigint: true });
      const oomKilled = existsSync(this.oomFile);
      const [code = '', ...why] = text.trim().split('\n');
      const exitCode = Number.parseInt(code, 10);
      if (Number.isNaN(exitCode)) return undefined;
      const error = why.join('\n');
      return { exitCode, oomKilled, finishedAt: goRfc3339Nano(stat.mtimeNs), ...(error ? { error } : {}) };
    } catch {
      return undefined;
    }
  }

  /**
   * Record the run's exit in its monitor's place: false when an exit is there already (conmon's,
   * or another caller's). The file appears whole (a link of a written temp), never over another.
   */
  recordExit(exitCode: number, why: string): boolean {
    const tmp = `${this.exitFile}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, `${exitCode}\n${why}\n`);
      linkSync(tmp, this.exitFile);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code === 'ENOENT') throw notFound(`No such container: ${this.id}`);
      throw noSpaceLeft(error, this.exitFile) ?? error;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  async conmonPid(): Promise<number | undefined> {
    try {
      const pid = Number.parseInt(readFileSync(this.conmonPidFile, 'utf8'), 10);
      return Number.isNaN(pid) ? undefined : pid;
    } catch {
      return undefined;
    }
  }
}
