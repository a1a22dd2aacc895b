import { existsSync, mkdirSync, promises as fs, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { conflict, invalidArgument, isCtrError, notFound } from '@ctr/errors';
import { readJson, removeLinkIfUnchanged, unlinkIfPresent, writeFileAtomic } from '@ctr/store';
import type { MountSpec, RunOptions } from '@ctr/runtime';
import { noteHolderRuns, ownNote, processRuns, readNote } from './process-notes';
import type { AttachedStreams } from './containers';
import type { LogConfig } from './log-config';
import type { HealthConfig } from '@ctr/image';
import { isValidContainerName, randomName } from './names';
import type { ApiMount } from './volumes-spec';
import type { RecordedPlatform } from './create-extras';

/** Generated names tried before the ID's short form (Docker tries six). */
const GENERATED_NAME_TRIES = 6;

/** What a Docker user set when creating a container, kept for inspect, ps and restarts. */
export interface ContainerRecord {
  id: string;
  /** Without the leading slash Docker shows in inspect. */
  name: string;
  created: string;
  /** As the user wrote it (`busybox`), and what it resolved to. */
  image: string;
  imageId: string;
  path: string;
  args: string[];
  /** The snapshot holding the container's writable layer. */
  snapshot: string;
  rootfs: string;
  run: RunOptions;
  /**
   * `name`: a volume's; `device`: a volume that is a device's mount, made at each start;
   * `subpath`: the directory of the volume mounted (`source` ends with it); `volumeMode`: `-v`'s mode, as given;
   * `driver`: the volume plugin whose volume it is (`source` is its staging point, see plugins/volume-mounts.ts);
   * `pluginSource`: the host path that plugin last gave (its Path at the create, its Mount's at each
   * start), inspect's and ps's Source, as dockerd records a mount point's: neither ever asks the plugin.
   */
  mounts: Array<MountSpec & { name?: string; device?: true; subpath?: string; volumeMode?: string; driver?: string; pluginSource?: string }>;
  /** `--mount`s (the API's `HostConfig.Mounts`), as given; absent without any. */
  mountSpecs?: ApiMount[];
  /** `-v`'s binds and named volumes, as given (inspect's HostConfig.Binds). */
  binds?: string[];
  /** `--tmpfs` targets and their options, as given (inspect's HostConfig.Tmpfs); absent without any, and in records from before they were kept. */
  tmpfs?: Record<string, string>;
  /** Anonymous volumes made for this container (removed with `rm -v`). */
  anonymousVolumes: string[];
  /** Its `Config.Volumes` targets: the posted ones and the image's VOLUMEs (absent in records from before they were kept). */
  configVolumes?: string[];
  labels: Record<string, string>;
  network: { mode: string; aliases: string[]; ip?: string; ports: string[]; publishAll: boolean };
  /** Its `Config.ExposedPorts` keys: the image's, `--expose`'s and the published ones (absent in records from before they were kept). */
  exposedPorts?: string[];
  /** `--volumes-from`, as given. */
  volumesFrom?: string[];
  /** Legacy links on the default bridge: the linked container and its alias here. */
  links?: Array<{ id: string; alias: string }>;
  /** `--userns` (`host`); absent for the default. */
  usernsMode?: string;
  /** `--cidfile`, as given (the client writes the file). */
  containerIdFile?: string;
  /** `--security-opt`s (`HostConfig.SecurityOpt`), as given; absent without any, and in records from before they were kept. */
  securityOpt?: string[];
  /** `--add-host`, as given (absent in records from before it was kept). */
  extraHosts?: string[];
  /** What dockerd keeps of the platform settings it took, as given (inspect's HostConfig); absent when none was. */
  platform?: RecordedPlatform;
  restartPolicy: { name: 'no' | 'always' | 'on-failure' | 'unless-stopped'; maximumRetryCount: number };
  autoRemove: boolean;
  /** The streams `-a` named (absent: Docker's default, see `CreateContainerOptions.attach`). */
  attach?: AttachedStreams;
  /** Docker's `StdinOnce`, as created (absent in records from before it was kept). */
  stdinOnce?: boolean;
  restartCount: number;
  /** Set by `stop`, so `unless-stopped` knows a user stopped it. */
  stoppedByUser?: boolean;
  /**
   * Its current run's exit will be answered by its restart policy — conmon's exit command or an
   * engine's monitor was there when it started — and no answer has been given yet: from the
   * moment it exits, a policy that will start it again shows it restarting (see `restartPending`).
   */
  exitAnswered?: boolean;
  /** The exit (its finishedAt) whose restart is under way: counted already, not started yet. */
  restartingAfter?: string;
  /**
   * Made by `create` alone, not by `run`: until its first start its root filesystem is mounted
   * only while held (see `unmountStopped`). A `run`'s stays mounted from its create to its start.
   */
  createdAlone?: true;
  log?: LogConfig;
  /**
   * What it runs as, its own options merged over its image's as dockerd merges them at
   * create (inspect's `Config`); absent in records written before it was kept.
   */
  config?: {
    User: string;
    Entrypoint: string[] | null;
    Cmd: string[] | null;
    /** Its `Config.Env`: null when neither it nor its image sets any (absent in records written before it was kept). */
    Env?: string[] | null;
    /** Its `Config.StopSignal` as given, else its image's; absent when neither sets one. */
    StopSignal?: string;
    /** Its `Config.WorkingDir`: as given, else its image's, else '' (absent in records written before it was kept). */
    WorkingDir?: string;
    /** Its `Config.Shell`, as given (never its image's); absent when none was. */
    Shell?: string[];
  };
  /** The health check it runs: its own merged over its image's (none when `NONE`). */
  healthcheck?: HealthConfig;
  /** Checks turned off (`--no-healthcheck`, the image's `HEALTHCHECK NONE`): inspect shows it. */
  healthcheckOff?: true;
}

/**
 * Container records and the names that point at them, under `<root>/engine/`. A name is
 * claimed by creating a symlink `names/<name> → <id> <pid> <start time>`: creation is
 * atomic, so two engine processes can never give one name to two containers. The claimer's
 * PID and start time say, while the container is being made (its mount, volumes and network
 * come before its record), that the claim is in progress rather than left by a crash; once
 * the record is written the link becomes `names/<name> → <id>`, owned for as long as the
 * record exists and gives that name (a rename cut short leaves a link the record disowns).
 * Links and records are small and local: they are made and read directly, not through the
 * thread pool (store's fs-util says why).
 */
export class ContainerRecords {
  private readonly dir: string;
  private readonly namesDir: string;
  private readonly execsDir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'engine', 'containers');
    this.namesDir = path.join(root, 'engine', 'names');
    this.execsDir = path.join(root, 'engine', 'execs');
  }

  async init(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    mkdirSync(this.namesDir, { recursive: true, mode: 0o700 });
  }

  /**
   * Claim a name for a container (returned); Docker's Conflict message when it is taken.
   * The claim is in progress until `confirmName`, once the container's record is written.
   * `clearAbandoned` takes apart a container whose maker was killed before its record, when
   * its name is taken over.
   */
  async claimName(name: string, id: string, clearAbandoned?: (id: string) => Promise<void>): Promise<string> {
    if (!isValidContainerName(name)) {
      throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    const link = path.join(this.namesDir, name);
    const claim = `${id} ${ownNote()}`;
    // Held from before the link exists: a rival in this process must never judge it left by a crash.
    claimsInProgress.add(claim);
    try {
      symlinkSync(claim, link);
      return name;
    } catch (error) {
      claimsInProgress.delete(claim);
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const target = readNote(link) ?? '';
      const owner = ownerOf(target);
      const abandoned = owner !== '' && this.abandoned(target);
      if (owner && (abandoned || (await this.renamedAway(target, name)))) {
        // What the killed maker left (a mount, a snapshot, maybe a process) goes with its claim:
        // once the name is another's, only a prune would find it. What will not go now is left
        // to that prune rather than holding the name for good.
        if (abandoned) await clearAbandoned?.(owner).catch(() => undefined);
        removeLinkIfUnchanged(link, target);
        return this.claimName(name, id, clearAbandoned);
      }
      throw conflict(
        `Conflict. The container name "/${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
  }

  /**
   * The container's record is written: its claim of `name` stands for as long as the record
   * does. Best effort: a claim left in progress (a full disk, say) is the container's all the
   * same while its record exists; confirmed, it also outlives the claimer should the record
   * go first. A failure here must not undo a container already made.
   */
  async confirmName(name: string, id: string): Promise<void> {
    const link = path.join(this.namesDir, name);
    const target = readNote(link);
    if (target === undefined || ownerOf(target) !== id || target === id) return;
    // Not a valid container name (a leading dot): it can never be one a user claims.
    const temporary = path.join(this.namesDir, `.${id}.${process.pid}`);
    try {
      rmSync(temporary, { force: true });
      symlinkSync(id, temporary);
      renameSync(temporary, link);
      claimsInProgress.delete(target);
    } catch {
      rmSync(temporary, { force: true });
    }
  }

  /**
   * A name whose container has no record is free when nobody is making that container: its
   * claimer (PID and start time, so a reused PID is not mistaken for it) has ended, or the
   * claim was already confirmed and the record has since gone (a crash between the two removals).
   */
  private abandoned(target: string): boolean {
    // The claimer first, the record after: a claimer that wrote its record and ended between
    // the two reads (a `ctr create` done) leaves its record to be seen, never a sound container judged abandoned.
    return !inProgress(target) && !this.has(ownerOf(target));
  }

  /**
   * A name whose container's record gives it another name, with no claimer at work on it: a
   * rename ended between its steps (the new name claimed, the record not yet rewritten; or
   * the record rewritten, the old name not yet released). The record's name is the one that holds.
   */
  private async renamedAway(target: string, name: string): Promise<boolean> {
    if (inProgress(target)) return false;
    const record = await readJson<ContainerRecord>(this.file(ownerOf(target))).catch(() => undefined);
    return record !== undefined && record.name !== name;
  }

  /**
   * Claim a generated name: on a clash another is tried (six in all), then the ID's short
   * form — Docker's way, so a container asked for without a name never fails for its name.
   */
  async claimGeneratedName(id: string, clearAbandoned?: (id: string) => Promise<void>): Promise<string> {
    for (let retry = 0; retry < GENERATED_NAME_TRIES; retry++) {
      const name = randomName(retry);
      try {
        return await this.claimName(name, id, clearAbandoned);
      } catch (error) {
        if (!isCtrError(error) || error.code !== 'Conflict') throw error;
      }
    }
    return this.claimName(id.slice(0, 12), id, clearAbandoned);
  }

  /**
   * Names whose containers were never finished: no record, and the process that claimed the
   * name is gone (what `claimName` would take over).
   */
  async abandonedClaims(): Promise<Array<{ name: string; id: string }>> {
    const names = await fs.readdir(this.namesDir).catch(() => [] as string[]);
    return names.flatMap((name) => {
      const target = isValidContainerName(name) ? readNote(path.join(this.namesDir, name)) : undefined;
      return target !== undefined && this.abandoned(target) ? [{ name, id: ownerOf(target) }] : [];
    });
  }

  /** The containers any name points at, their claims in progress, confirmed or abandoned. */
  async claimed(): Promise<Set<string>> {
    const names = await fs.readdir(this.namesDir).catch(() => [] as string[]);
    return new Set(names.flatMap((name) => (isValidContainerName(name) ? [ownerOf(readNote(path.join(this.namesDir, name)) ?? '')] : [])).filter((id) => id !== ''));
  }

  async releaseName(name: string, id: string): Promise<void> {
    const link = path.join(this.namesDir, name);
    const target = readNote(link);
    if (target === undefined || ownerOf(target) !== id) return;
    // Only the claim judged ours: one another process took over meanwhile stays its.
    removeLinkIfUnchanged(link, target);
    claimsInProgress.delete(target);
  }

  /** Where container `id`'s record is: there for as long as the container is. */
  file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  async exists(id: string): Promise<boolean> {
    return this.has(id);
  }

  private has(id: string): boolean {
    return existsSync(this.file(id));
  }

  async write(record: ContainerRecord): Promise<void> {
    await writeFileAtomic(this.file(record.id), JSON.stringify(record));
  }

  async read(id: string): Promise<ContainerRecord> {
    const record = await readJson<ContainerRecord>(this.file(id));
    if (!record) throw notFound(`No such container: ${id}`);
    return record;
  }

  /** Resolves with whether the record was there: of removals racing, one took it. */
  async remove(id: string): Promise<boolean> {
    const removed = unlinkIfPresent(this.file(id));
    rmSync(path.join(this.execsDir, id), { recursive: true, force: true });
    return removed;
  }

  /**
   * Mark an exec in container `id` as running in this process until the returned undo (inspect's
   * `ExecIDs`): a link `execs/<id>/<exec ID> → <pid> <start time>`, so one left by a process
   * that died is told apart and not listed.
   */
  execRunning(id: string, execId: string): () => void {
    const dir = path.join(this.execsDir, id);
    const marker = path.join(dir, execId);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      symlinkSync(ownNote(), marker);
    } catch {
      // Bookkeeping for inspect only (a full disk, say): the exec runs all the same, unlisted.
      return () => undefined;
    }
    return () => rmSync(marker, { force: true });
  }

  /** The IDs of the execs running in container `id` (null for none, as dockerd shows it), dropping those of dead processes. */
  runningExecs(id: string): string[] | null {
    const dir = path.join(this.execsDir, id);
    const running = readdirQuiet(dir).filter((execId) => {
      const marker = path.join(dir, execId);
      const note = readNote(marker);
      if (note !== undefined && noteHolderRuns(note)) return true;
      rmSync(marker, { force: true });
      return false;
    });
    return running.length > 0 ? running : null;
  }

  async list(): Promise<ContainerRecord[]> {
    const files = await fs.readdir(this.dir).catch(() => [] as string[]);
    const records = await Promise.all(
      files.filter((f) => f.endsWith('.json')).map((f) => readJson<ContainerRecord>(path.join(this.dir, f)).catch(() => undefined)),
    );
    return records.filter((r): r is ContainerRecord => r !== undefined);
  }

  /** The IDs of the records that cannot be read (cut short by a full disk, say), which `list` leaves out. */
  async unreadable(): Promise<string[]> {
    const files = (await fs.readdir(this.dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
    const read = await Promise.all(files.map((f) => readJson<ContainerRecord>(path.join(this.dir, f)).then((r) => r !== undefined, () => false)));
    return files.filter((_, i) => !read[i]).map((f) => f.slice(0, -'.json'.length));
  }

  /** Find by full ID, name (with or without `/`), or unique ID prefix — like docker. */
  async find(ref: string): Promise<ContainerRecord> {
    if (!ref) throw invalidArgument('a container name or ID must not be empty');
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    if (/^[a-f0-9]{64}$/.test(ref) && this.has(ref)) return this.read(ref);
    const byName = ownerOf(readNote(path.join(this.namesDir, name)) ?? '');
    if (byName && this.has(byName)) {
      const record = await this.read(byName);
      if (record.name === name) return record;
    }
    if (/^[a-f0-9]+$/.test(ref)) {
      const matches = (await fs.readdir(this.dir).catch(() => [] as string[])).filter((f) => f.startsWith(ref) && f.endsWith('.json'));
      if (matches.length === 1) return this.read((matches[0] as string).slice(0, -5));
      if (matches.length > 1) throw invalidArgument(`multiple IDs found with provided prefix: ${ref}`);
    }
    throw notFound(`No such container: ${ref}`);
  }
}

/** Claims of names this process is making containers for (link targets). */
const claimsInProgress = new Set<string>();

/**
 * A claim whose claimer is still making its container: its PID runs with the start time it
 * recorded (so a reused PID is not mistaken for it), or it is this process's own. A confirmed
 * claim (the ID alone) is in progress no more.
 */
function inProgress(target: string): boolean {
  const [, pid, started] = target.split(' ');
  if (pid === undefined) return false;
  if (Number(pid) === process.pid) return claimsInProgress.has(target);
  return processRuns(Number(pid), started);
}

function readdirQuiet(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The container a name's link points at, in progress or confirmed. */
function ownerOf(target: string): string {
  return target.split(' ', 1)[0] ?? '';
}
