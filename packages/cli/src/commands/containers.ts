import { existsSync } from 'node:fs';
import type { ContainerSummary, ExecControl, StopOptions } from '@ctr/engine';
import { conflict, CtrError, invalidArgument, isCtrError, isNotFound, notFound } from '@ctr/errors';
import type { CreateOptions } from '@ctr/api';
import type { Command, Io } from '../command';
import { currentEndpoint, engineModule, eprintln, getEngine, localEngine, println, type CliEngine } from '../context';
import { bool, list, num, str, type FlagSpec, type ParsedArgs } from '../flags';
import { filterFlag, parseFilters } from '../filter-flag';
import { ago, checkTemplate, commandColumn, ellipsis, formatContext, formatList, goPointer, goStruct, goUnixTime, headerContext, humanSize, labelMethod, printedAs, truncateId } from '../format';
import { containerIdFile, copyApiSocketConfig, createFlags, createOptions, envOptions, refuseWindowsOnlyFlags, resourceFlags, resourceOptions, withApiSocketCredentials, type ContainerIdFile } from './create-flags';
import { forEachArg, inspectEach } from './each';
import { checkNewTag } from './images';
import { errorLine, withHelp } from '../errors';
import { tagTrustedPull, withTrustedImage } from '../content-trust';
import { pullShowingProgress } from './pull-output';
import { containerPrune } from './prune';
import { proxySignals, watchTermination, type SignalProxy, type Termination } from '../signal-proxy';
import { checkTty, terminalSession, terminalSize, type TerminalSession } from '../terminal';
import { ContextStore, configDir } from '../context-store';
import { familiarString, parseReference } from '@ctr/image';
import { swarmTaskExited } from '../swarm-context';

const formatFlag: FlagSpec = { name: 'format', type: 'string', description: 'Format output using a custom template' };

const sigProxyFlag: FlagSpec = { name: 'sig-proxy', type: 'bool', description: 'Proxy received signals to the process', default: true };

const detachKeysFlag: FlagSpec = { name: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' };

/**
 * `--detach-keys`, else config.json's `detachKeys`, as docker's CLI chooses them. The file
 * is read only for an attachment with stdin: without it there is nothing to watch.
 */
async function detachKeysFor(args: ParsedArgs, io: Io, withStdin: boolean): Promise<string | undefined> {
  const given = str(args, 'detach-keys') || undefined;
  if (given || !withStdin) return given;
  return new ContextStore(configDir(io.env)).detachKeys();
}

/** Waits for an attachment: true when it ended because the user typed the detach keys. */
async function detachedFrom(attachment: Promise<unknown>): Promise<boolean> {
  try {
    await attachment;
    return false;
  } catch (error) {
    if (engineModule().isDetached(error)) return true;
    throw error;
  }
}

/**
 * docker attach and exec end a session the user detached from as an error would: they
 * say so (moby's "read escape sequence") and exit with 1. Said once the terminal is back.
 */
function reportDetached(io: Io): number {
  eprintln(io, engineModule().detachedError().message);
  return 1;
}

/**
 * What a run could not do before its container ran (make it, with its image and ID file, or
 * start it), framed as docker's `run` frames it, with the status docker's CLI reads from the
 * words (127 not found, 126 not runnable, else 125), not the code dockerd records.
 */
function runFailure(error: unknown): unknown {
  return withHelp(error, 'run', engineModule().runExitStatus(errorLine(error)));
}

/** The options `run` or `create` were given; what they refuse is framed as docker's (`withHelp`), status 125. */
function createOptionsFor(command: 'run' | 'create', args: ParsedArgs, io: Io): Promise<CreateOptions> {
  refuseWindowsOnlyFlags(args);
  return createOptions(args, io.env)
    .then((options) => withTrustedImage(args, io, withConsoleSize(options, io)))
    .catch((error: unknown) => Promise.reject(withHelp(error, command, 125)));
}

/**
 * An attached exec whose process could not start: as dockerd, its reason goes to the exec's
 * output and the exec's code (127 not found, 126 not runnable) is the exit status.
 */
function execFailure(error: unknown, io: Io): number {
  if (!isCtrError(error) || typeof error.details.exitCode !== 'number') throw error;
  io.stdout.write(`${error.message}\r\n`);
  return error.details.exitCode;
}

/**
 * Start with the terminal's streams attached; resolves with the exit code once all output is
 * shown (0 once detached). As docker start, the first SIGINT or SIGTERM (passed on first to a
 * container without a TTY) ends it with 0 and leaves the container running, unseen.
 */
async function startAttached(engine: CliEngine, ref: string, io: Io, withStdin: boolean, detachKeys: string | undefined): Promise<number> {
  const { Config } = await engine.inspect(ref);
  // As docker start: the terminal is raw while stdin is attached to a TTY, and its size is the TTY's once the container runs.
  const terminal = Config.Tty ? terminalSession(io, { raw: withStdin }) : undefined;
  // Passing on from before the start: a signal that comes as the program begins is its own.
  // A TTY's program has its keys from the terminal: docker start passes no signal on to it.
  const proxy = Config.Tty ? undefined : proxySignals((signal) => engine.kill(ref, signal));
  const termination = watchTermination(io, { atFirst: 0 });
  const leaving = new AbortController();
  const starting = engine.start(ref, { ...(withStdin ? { stdin: io.stdin } : {}), stdout: io.stdout, stderr: io.stderr, ...(detachKeys ? { detachKeys } : {}), signal: leaving.signal });
  const attached = async (): Promise<number> => {
    const started = await starting;
    proxy?.started();
    terminal?.follow((size) => engine.resize(ref, size));
    // As docker start: the user who detached leaves with 0 and the container running.
    if (await detachedFrom(started.attached ?? Promise.resolve())) return 0;
    return (await engine.wait(ref)).StatusCode;
  };
  const cancelled = termination.ended.then(async (status) => {
    // ctr is the engine here: the start it began is seen through (ended half-way, it would
    // leave the container half made), and what was passed on reaches the program before ctr goes.
    await starting.catch(() => undefined);
    leaving.abort();
    await proxy?.delivered();
    return status;
  });
  try {
    return await Promise.race([attached(), cancelled]);
  } finally {
    termination.stop();
    proxy?.stop();
    await terminal?.restore();
  }
}

const run: Command = {
  name: 'run',
  aliases: ['ctr container run'],
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create and run a new container from an image',
  flags: [{ name: 'detach', short: 'd', type: 'bool', description: 'Run container in background and print container ID' }, detachKeysFlag, sigProxyFlag, ...createFlags],
  stopAtPositional: true,
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    const given = await createOptionsFor('run', args, io);
    if (bool(args, 'detach') && list(args, 'attach').length > 0) throw invalidArgument('conflicting options: cannot specify both --attach and --detach');
    const { options: created, config } = await withApiSocketCredentials(args, given, io.env).catch((error: unknown) => Promise.reject(runFailure(error)));
    const beforeStart = config ? (id: string): Promise<void> => copyApiSocketConfig(engine, id, config) : undefined;
    // As docker's, the ID file is part of making the container: its failure is framed as run's.
    let cidFile: ContainerIdFile;
    try {
      cidFile = containerIdFile(args);
    } catch (error) {
      throw runFailure(error);
    }
    const quiet = bool(args, 'quiet');
    if (bool(args, 'detach')) {
      // As docker's runContainer, the ID is printed once the container is made (the API socket's
      // config copied in, which its createContainer does), before the start: a start that fails
      // still names the container it left.
      const detached = (options: CreateOptions): ReturnType<CliEngine['run']> =>
        engine.run({
          ...options,
          // Nothing is attached, and docker's CLI records it so.
          attach: { stdin: false, stdout: false, stderr: false },
          detach: true,
          onCreated: ({ id, warnings }) => {
            cidFile.write(id);
            printWarnings(io, warnings);
            if (!beforeStart) println(io, id);
          },
          ...(beforeStart ? { beforeStart: (id: string) => beforeStart(id).then(() => println(io, id)) } : {}),
        });
      await withImage(engine, created, quiet, io, detached)
        .catch((error: unknown) => Promise.reject(runFailure(error)))
        .finally(() => cidFile.close());
      return 0;
    }
    let terminal: TerminalSession | undefined;
    let proxy: SignalProxy | undefined;
    // From the container's making on, SIGINT and SIGTERM leave ctr attached, as docker run,
    // passed on or not (--sig-proxy); the third ends ctr all the same.
    let termination: Termination | undefined;
    let forced: (status: number) => void = () => undefined;
    const forcedExit = new Promise<number>((resolve) => (forced = resolve));
    let startedId = '';
    // The streams `-a` names (all by default); stdin only when kept open (`-i`).
    const { attach: streams } = created;
    const withStdin = created.openStdin === true && streams?.stdin !== false;
    const detachKeys = await detachKeysFor(args, io, withStdin && created.tty === true);
    checkTty(io, withStdin, created.tty === true);
    const attached = (options: CreateOptions): ReturnType<CliEngine['run']> =>
      engine.run({
        ...options,
        ...(withStdin ? { stdin: io.stdin } : {}),
        ...(streams?.stdout !== false ? { stdout: io.stdout } : {}),
        ...(streams?.stderr !== false ? { stderr: io.stderr } : {}),
        ...(detachKeys ? { detachKeys } : {}),
        onCreated: ({ id, warnings }) => {
          cidFile.write(id);
          printWarnings(io, warnings);
          // The TTY gets the window's size once the container runs (docker's MonitorTtySize).
          if (options.tty) terminal = terminalSession(io, { raw: withStdin });
          if (bool(args, 'sig-proxy')) proxy = proxySignals((signal) => engine.kill(id, signal));
          termination = watchTermination(io);
          void termination.ended.then(forced);
          startedId = id;
        },
        beforeStart,
        onStarted: () => {
          proxy?.started();
          terminal?.follow((size) => engine.resize(startedId, size));
        },
      });
    try {
      // Whatever it attaches (stdin alone too, as docker 28's `run -a stdin`), it ends with the container's exit code.
      const ran = withImage(engine, created, quiet, io, attached).then(({ exitCode }) => exitCode ?? 0);
      return await Promise.race([ran, forcedExit]);
    } catch (error) {
      // The user detached with the keys: the container runs on, and docker run exits with 0.
      if (engineModule().isDetached(error)) return 0;
      throw runFailure(error);
    } finally {
      cidFile.close();
      termination?.stop();
      proxy?.stop();
      await terminal?.restore();
    }
  },
};

const create: Command = {
  name: 'create',
  aliases: ['ctr container create'],
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create a new container',
  flags: createFlags,
  stopAtPositional: true,
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    const { options: created, config } = await withApiSocketCredentials(args, await createOptionsFor('create', args, io), io.env);
    const cidFile = containerIdFile(args);
    try {
      const { id, warnings } = await withImage(engine, created, bool(args, 'quiet'), io, (options) => engine.create(options));
      cidFile.write(id);
      printWarnings(io, warnings);
      if (config) await copyApiSocketConfig(engine, id, config);
      println(io, id);
      return 0;
    } finally {
      cidFile.close();
    }
  },
};

/** A create's NotFound for its image: none here, or none for its `--platform` (dockerd's GetImage). */
const MISSING_IMAGE = /No such image|was found but does not match the specified platform/;

/**
 * A create (or run) with its image, as docker's CLI goes about it: `--pull always` pulls
 * first; with `missing`, a create that finds no image says "Unable to find image '…'
 * locally", pulls it and is made again. The pull shows on stderr, unless `--quiet`.
 */
async function withImage<T>(engine: CliEngine, options: CreateOptions, quiet: boolean, io: Io, create: (options: CreateOptions) => Promise<T>): Promise<T> {
  // As docker's CLI, the name is read here before the daemon is asked (`invalid reference format: …`).
  const { familiarImageName, normalizeImageName } = engineModule();
  const name = familiarImageName(normalizeImageName(options.image));
  const local = { ...options, pull: 'never' as const };
  const platform = options.imagePlatform ? { platform: options.imagePlatform } : {};
  const pull = (): Promise<string> =>
    pullShowingProgress(engine, options.image, io.stderr, { quiet, ...platform }).then(
      async (pulled) => (await tagTrustedPull(engine, io, options), pulled),
      async (error: unknown) => Promise.reject(await withOfflineBaseHint(error)),
    );
  if (options.pull === 'never') return create(local);
  if (options.pull === 'always') {
    await pull();
    return create(local);
  }
  try {
    return await create(local);
  } catch (error) {
    if (!isNotFound(error) || !MISSING_IMAGE.test((error as Error).message)) throw error;
  }
  if (!quiet) eprintln(io, `Unable to find image '${name}' locally`);
  await pull();
  return create(local);
}

/** The README's way to a base image with no internet. */
const OFFLINE_BASE = `node scripts/busybox-rootfs.js /tmp/bb && ctr import -c 'CMD ["sh"]' /tmp/bb busybox`;

/**
 * A pull from Docker Hub that could not reach it, when ctr runs daemonless: a new user's first
 * `ctr run busybox` on a machine with no internet. Beside what to check, say how to make the
 * base image locally instead (a daemon's user has the daemon's images to go by).
 */
async function withOfflineBaseHint(error: unknown): Promise<unknown> {
  if (!isCtrError(error) || error.code !== 'Unavailable' || error.details.registry !== 'docker.io') return error;
  if ((await currentEndpoint()).kind !== 'local') return error;
  const hint = `${error.hint ? `${error.hint}\n` : ''}with no internet, make a base image locally: ${OFFLINE_BASE}`;
  return new CtrError(error.code, error.message, { cause: error, hint, details: error.details });
}

/**
 * The size of ctr's terminal goes with a create, as docker's CLI sends it (`ConsoleSize`): a
 * TTY starts at it, so a program that asks at once is not told 0x0 before the first resize.
 */
function withConsoleSize(options: CreateOptions, io: Io): CreateOptions {
  const size = terminalSize(io);
  return size ? { ...options, consoleSize: size } : options;
}

/** Warnings the engine gave for a create, on stderr as docker prints them. */
function printWarnings(io: Io, warnings: readonly string[]): void {
  for (const warning of warnings) eprintln(io, `WARNING: ${warning}`);
}

const start: Command = {
  name: 'start',
  aliases: ['ctr container start'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Start one or more stopped containers',
  flags: [
    { name: 'attach', short: 'a', type: 'bool', description: "Attach STDOUT/STDERR and forward signals" },
    detachKeysFlag,
    { name: 'interactive', short: 'i', type: 'bool', description: "Attach container's STDIN" },
  ],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    if (bool(args, 'attach') || bool(args, 'interactive')) {
      const withStdin = bool(args, 'interactive');
      const detachKeys = await detachKeysFor(args, io, withStdin);
      return startAttached(engine, args.positionals[0] as string, io, withStdin, detachKeys);
    }
    // As docker start: each failure is said as it comes, and the command fails naming them all.
    const failed: Array<{ ref: string; error: unknown }> = [];
    await forEachArg(args.positionals, io, (ref) =>
      engine.start(ref).then(
        () => undefined,
        (error: unknown) => {
          failed.push({ ref, error });
          throw error;
        },
      ),
    );
    if (failed.length === 0) return 0;
    const first = failed[0]?.error;
    throw new CtrError(isCtrError(first) ? first.code : 'Internal', `Error: failed to start containers: ${failed.map((f) => f.ref).join(', ')}`, { cause: first });
  },
};

/** `--timeout` (and the deprecated `--time`) and `--signal` of stop and restart, as docker's. */
const stopFlags: FlagSpec[] = [
  { name: 'signal', short: 's', type: 'string', description: 'Signal to send to the container' },
  { name: 'timeout', short: 't', type: 'number', description: 'Seconds to wait before killing the container' },
  { name: 'time', type: 'number', description: 'Seconds to wait before killing the container (deprecated: use --timeout)', hidden: true },
];

function stopOptions(args: ParsedArgs): StopOptions {
  const timeout = num(args, 'timeout') ?? num(args, 'time');
  const signal = str(args, 'signal');
  return { ...(timeout !== undefined ? { timeout } : {}), ...(signal ? { signal } : {}) };
}

const stop: Command = {
  name: 'stop',
  aliases: ['ctr container stop'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Stop one or more running containers',
  flags: stopFlags,
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    return forEachArg(args.positionals, io, (ref) => engine.stop(ref, stopOptions(args)));
  },
};

const kill: Command = {
  name: 'kill',
  aliases: ['ctr container kill'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Kill one or more running containers',
  flags: [{ name: 'signal', short: 's', type: 'string', description: 'Signal to send to the container', default: 'KILL' }],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    const signal = str(args, 'signal') ?? 'KILL';
    // The signal as given: the engine names it so when it refuses it, for every container.
    return forEachArg(args.positionals, io, async (ref) => {
      await engine.kill(ref, signal);
    });
  },
};

const restart: Command = {
  name: 'restart',
  aliases: ['ctr container restart'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Restart one or more containers',
  flags: stopFlags,
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    return forEachArg(args.positionals, io, (ref) => engine.restart(ref, stopOptions(args)));
  },
};

const update: Command = {
  name: 'update',
  aliases: ['ctr container update'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Update configuration of one or more containers',
  flags: [...resourceFlags, { name: 'restart', type: 'string', description: 'Restart policy to apply when a container exits' }],
  args: [1, Infinity],
  async run(args, io) {
    const restart = str(args, 'restart');
    const options = { ...resourceOptions(args), ...(restart !== undefined ? { restart } : {}) };
    if (Object.keys(options).length === 0) {
      eprintln(io, 'you must provide one or more flags when using this command');
      return 1;
    }
    const engine = await getEngine();
    const warnings: string[] = [];
    const status = await forEachArg(args.positionals, io, async (ref) => {
      warnings.push(...(await engine.update(ref, options)).warnings);
    });
    // As docker's client prints them: after the containers' names, on stdout, in the daemon's words.
    if (warnings.length > 0) println(io, warnings.join('\n'));
    return status;
  },
};

const simple = (name: string, description: string, action: 'pause' | 'unpause'): Command => ({
  name,
  aliases: [`ctr container ${name}`],
  usage: 'CONTAINER [CONTAINER...]',
  description,
  flags: [],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    return forEachArg(args.positionals, io, (ref) => engine[action](ref));
  },
});

const rm: Command = {
  name: 'rm',
  aliases: ['ctr container rm', 'ctr container remove'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Remove one or more containers',
  flags: [
    { name: 'force', short: 'f', type: 'bool', description: 'Force the removal of a running container (uses SIGKILL)' },
    { name: 'volumes', short: 'v', type: 'bool', description: 'Remove anonymous volumes associated with the container' },
  ],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    const force = bool(args, 'force');
    // docker's rm -f: a container that is not there is said, and is what was wanted (status 0).
    return forEachArg(args.positionals, io, (ref) => engine.remove(ref, { force, volumes: bool(args, 'volumes') }), { notFoundIsFine: force });
  },
};

/** `docker ps`'s column names, by field (docker's ContainerContext header). */
export const CONTAINER_HEADERS: Readonly<Record<string, string>> = {
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

const PS_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** docker's SIZE: the writable layer's size, and the virtual size (with the image) when known: `12B (virtual 4.3MB)`. */
function sizeText(c: Pick<ContainerSummary, 'SizeRw' | 'SizeRootFs'>): string {
  const written = humanSize(c.SizeRw ?? 0);
  return c.SizeRootFs ? `${written} (virtual ${humanSize(c.SizeRootFs)})` : written;
}

type Port = ContainerSummary['Ports'][number];

/** Ports in docker's order: by private port, then address, public port and protocol. */
function comparePorts(a: Port, b: Port): number {
  const [ipA, ipB] = [a.IP ?? '', b.IP ?? ''];
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  if (ipA !== ipB) return ipA < ipB ? -1 : 1;
  if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

/** Go's net.JoinHostPort: an IPv6 address in brackets (`[::]:8080`). */
function joinHostPort(ip: string, port: string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * docker's PORTS column (DisplayablePorts): consecutive ports of one protocol, on one address
 * as on the host, become a range (`0.0.0.0:9000-9002->9000-9002/udp`); a port published
 * elsewhere on the host is listed last as its own mapping (`[::]:8080->80/tcp`).
 */
function displayablePorts(ports: readonly Port[]): string {
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, { first, last }: { first: number; last: number }): string => {
    const slash = key.lastIndexOf('/');
    const [ip, type] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : ['', key];
    const range = first === last ? `${first}` : `${first}-${last}`;
    return `${ip ? `${joinHostPort(ip, range)}->${range}` : range}/${type}`;
  };
  for (const port of [...ports].sort(comparePorts)) {
    let key = port.Type;
    if (port.IP) {
      if (port.PublicPort !== port.PrivatePort) {
        hostMappings.push(`${joinHostPort(port.IP, String(port.PublicPort ?? 0))}->${port.PrivatePort}/${port.Type}`);
        continue;
      }
      key = `${port.IP}/${port.Type}`;
    }
    const group = groups.get(key);
    if (group && port.PrivatePort === group.last + 1) {
      group.last = port.PrivatePort;
      continue;
    }
    // A gap ends the group: it is printed now, and a new one starts where it stood.
    if (group) result.push(formGroup(key, group));
    groups.set(key, { first: port.PrivatePort, last: port.PrivatePort });
  }
  for (const [key, group] of groups) result.push(formGroup(key, group));
  return [...result, ...hostMappings].join(', ');
}

/** docker's IMAGE column: an ID cut short, or the name as users write it, its digest dropped. */
function imageColumn(c: Pick<ContainerSummary, 'Image' | 'ImageID'>, truncate: boolean): string {
  if (c.Image === '') return '<no image>';
  if (!truncate) return c.Image;
  if (truncateId(c.ImageID) === truncateId(c.Image)) return truncateId(c.ImageID);
  try {
    const { domain, path, tag } = parseReference(c.Image);
    return familiarString({ domain, path, ...(tag !== undefined ? { tag } : {}) });
  } catch {
    return c.Image;
  }
}

/** docker's NAMES: cut short, the first name that is not a legacy link's (`/other/alias`); else all of them. */
function namesColumn(names: readonly string[], truncate: boolean): string {
  const bare = names.map((n) => n.replace(/^\//, ''));
  return truncate ? bare.find((n) => !n.includes('/')) ?? '' : bare.join(',');
}

/** `k=v` of each label, sorted, joined by commas: docker's LABELS of a container. */
function labelsColumn(labels: Readonly<Record<string, string>> | null | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');
}

/**
 * What `docker ps --format` sees of a container: docker's ContainerContext. `truncate` cuts
 * IDs, the command, names and mounts short, as ps does unless `--no-trunc`.
 */
export function containerContext(c: ContainerSummary, truncate: boolean): object {
  const context = formatContext('*formatter.ContainerContext', {
    ID: truncate ? truncateId(c.Id) : c.Id,
    Names: namesColumn(c.Names, truncate),
    Image: imageColumn(c, truncate),
    Command: commandColumn(c.Command, truncate),
    CreatedAt: goUnixTime(c.Created),
    RunningFor: ago(new Date(c.Created * 1000)),
    Ports: displayablePorts(c.Ports),
    State: c.State,
    Status: c.Status,
    Size: sizeText(c),
    Labels: labelsColumn(c.Labels),
    Label: labelMethod(c.Labels),
    Mounts: c.Mounts.map((m) => (truncate ? ellipsis(m.Name || m.Source, 15) : m.Name || m.Source)).join(','),
    LocalVolumes: String(c.Mounts.filter((m) => m.Driver === 'local').length),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).join(','),
    // The engine does not say which platform's manifest a container's image came from.
    Platform: null,
  });
  return printedAs(context, () => [['HeaderContext', headerContext()], ['trunc', truncate], ['c', containerSummary(c)], ['FieldsUsed', {}]]);
}

/** The API's container as `%v` prints docker's container.Summary, its fields in Go's order. */
function containerSummary(c: ContainerSummary): object {
  return goStruct('container.Summary', {
    ID: c.Id,
    Names: c.Names,
    Image: c.Image,
    ImageID: c.ImageID,
    ImageManifestDescriptor: null,
    Command: c.Command,
    Created: c.Created,
    Ports: c.Ports.map((p) => goStruct('container.Port', { IP: p.IP ?? '', PrivatePort: p.PrivatePort, PublicPort: p.PublicPort ?? 0, Type: p.Type })),
    SizeRw: c.SizeRw ?? 0,
    SizeRootFs: c.SizeRootFs ?? 0,
    Labels: c.Labels ?? {},
    State: c.State,
    Status: c.Status,
    HostConfig: goStruct('struct', { NetworkMode: c.HostConfig.NetworkMode, Annotations: {} }),
    NetworkSettings: goPointer(c.NetworkSettings),
    Mounts: c.Mounts.map((m) =>
      goStruct('container.MountPoint', { Type: m.Type, Name: m.Name ?? '', Source: m.Source, Destination: m.Destination, Driver: m.Driver ?? '', Mode: m.Mode, RW: m.RW, Propagation: m.Propagation }),
    ),
  });
}

/** docker's NewContainerFormat: what `--format` (or none), `-q` and the sizes asked for make the template. */
export function containerFormat(given: string, quiet: boolean, size: boolean): string {
  if (given === 'table') return quiet ? '{{.ID}}' : `${PS_TABLE}${size ? '\t{{.Size}}' : ''}`;
  if (given !== 'raw') return quiet ? '{{.ID}}' : given;
  if (quiet) return 'container_id: {{.ID}}';
  const raw = 'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n';
  return size ? `${raw}size: {{.Size}}\n` : raw;
}

/** A container with nothing set, as docker's ps runs a `--format` on before it lists: `onSize` is told when the template reads `.Size`. */
function emptyContainerContext(onSize: () => void): object {
  const empty = containerContext({ Id: '', Names: [], Image: '', ImageID: '', Command: '', Created: 0, Ports: [], Labels: {}, State: '', Status: '', HostConfig: { NetworkMode: '' }, NetworkSettings: { Networks: {} }, Mounts: [] }, true);
  return formatContext('*formatter.ContainerContext', {
    ...empty,
    Size: () => {
      onSize();
      return '0B';
    },
  });
}

const ps: Command = {
  name: 'ps',
  aliases: ['ctr container ls', 'ctr container list', 'ctr container ps'],
  usage: '[OPTIONS]',
  description: 'List containers',
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Show all containers (default shows just running)' },
    filterFlag('Filter output based on conditions provided', { short: true }),
    formatFlag,
    { name: 'last', short: 'n', type: 'number', description: 'Show n last created containers (includes all states)' },
    { name: 'latest', short: 'l', type: 'bool', description: 'Show the latest created container (includes all states)' },
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display container IDs' },
    { name: 'size', short: 's', type: 'bool', description: 'Display total file sizes' },
  ],
  args: [0, 0],
  async run(args, io) {
    const last = bool(args, 'latest') ? 1 : num(args, 'last');
    const quiet = bool(args, 'quiet');
    const given = str(args, 'format') || undefined;
    if (given !== undefined && quiet) eprintln(io, 'WARNING: Ignoring custom format, because both --format and --quiet are set.');
    // As docker's: the template is checked before anything is listed, and sizes (a walk of
    // every writable layer) are asked for by -s, or by a template that reads .Size unless --size=false.
    let readsSize = false;
    if (given !== undefined) checkTemplate(given, emptyContainerContext(() => (readsSize = true)), { parse: 'failed to parse template: ', run: 'failed to execute template: ' });
    const size = bool(args, 'size') || (args.flags.size === undefined && !quiet && readsSize);
    const containers = await (await getEngine()).ps({
      all: bool(args, 'all'),
      filters: parseFilters(list(args, 'filter')),
      ...(last !== undefined ? { last } : {}),
      ...(size ? { size } : {}),
    });
    const truncate = !bool(args, 'no-trunc');
    const format = containerFormat(given ?? 'table', quiet, size);
    io.stdout.write(formatList(format, containers.map((c) => containerContext(c, truncate)), CONTAINER_HEADERS));
    return 0;
  },
};

const logs: Command = {
  name: 'logs',
  aliases: ['ctr container logs'],
  usage: '[OPTIONS] CONTAINER',
  description: 'Fetch the logs of a container',
  flags: [
    { name: 'details', type: 'bool', description: 'Show extra details provided to logs' },
    { name: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
    { name: 'since', type: 'string', description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'tail', short: 'n', type: 'string', description: 'Number of lines to show from the end of the logs', default: 'all' },
    { name: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
    { name: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  ],
  args: [1, 1],
  async run(args, io) {
    const tail = str(args, 'tail') ?? 'all';
    // As docker's client reads them (timetypes.GetTimestamp), before it asks the daemon: as
    // its `<seconds>.<nanoseconds>` text, which keeps the nanoseconds of a time `logs -t` printed.
    const when = (flag: 'since' | 'until'): string | undefined => {
      const text = str(args, flag);
      if (!text) return undefined;
      try {
        return engineModule().dockerTimestamp(text);
      } catch (error) {
        throw invalidArgument(`invalid value for ${JSON.stringify(flag)}: ${(error as Error).message}`, { cause: error });
      }
    };
    const since = when('since');
    const until = when('until');
    const shown = { timestamps: bool(args, 'timestamps'), details: bool(args, 'details') };
    const ac = new AbortController();
    const stopOnSigint = (): void => ac.abort();
    process.once('SIGINT', stopOnSigint);
    try {
      const engine = await getEngine();
      const { logLine } = engineModule();
      for await (const entry of engine.logs(args.positionals[0] as string, {
        follow: bool(args, 'follow'),
        ...(shown.details ? { details: true } : {}),
        ...(tail !== 'all' ? { tail: Number(tail) } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        signal: ac.signal,
      })) {
        const out = entry.stream === 'stderr' ? io.stderr : io.stdout;
        out.write(`${logLine(entry, shown)}\n`);
      }
    } finally {
      process.off('SIGINT', stopOnSigint);
    }
    return 0;
  },
};

const exec: Command = {
  name: 'exec',
  aliases: ['ctr container exec'],
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  description: 'Execute a command in a running container',
  flags: [
    { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
    { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
    { name: 'detach', short: 'd', type: 'bool', description: 'Detached mode: run command in the background' },
    detachKeysFlag,
    { name: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
    { name: 'env-file', type: 'list', description: 'Read in a file of environment variables' },
    { name: 'user', short: 'u', type: 'string', description: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { name: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
    { name: 'privileged', type: 'bool', description: 'Give extended privileges to the command' },
  ],
  stopAtPositional: true,
  args: [2, Infinity],
  async run(args, io) {
    const [container, ...cmd] = args.positionals as [string, ...string[]];
    const engine = await getEngine();
    const user = str(args, 'user');
    const workingDir = str(args, 'workdir');
    const tty = bool(args, 'tty');
    const withStdin = bool(args, 'interactive');
    const detachKeys = bool(args, 'detach') ? undefined : await detachKeysFor(args, io, withStdin && tty);
    if (!bool(args, 'detach')) checkTty(io, withStdin, tty);
    // The exec's own pty starts at the window's size and follows it once the exec runs.
    const terminal = tty ? terminalSession(io, { raw: withStdin }) : undefined;
    const size = terminalSize(io);
    // As docker exec: the first SIGINT or SIGTERM cancels the command, which ends with 0 and
    // leaves the process running in the container (docker's CLI passes no signal to an exec).
    const termination = bool(args, 'detach') ? undefined : watchTermination(io, { atFirst: 0 });
    let exitCode: number | undefined;
    try {
      const exec = engine.exec(container, {
        cmd,
        env: await envOptions(args, io.env),
        tty,
        ...(tty && size ? { consoleSize: size } : {}),
        onStart: (exec: ExecControl) => terminal?.follow((size) => exec.resize(size)),
        privileged: bool(args, 'privileged'),
        ...(user ? { user } : {}),
        ...(workingDir ? { workingDir } : {}),
        // Detached, nothing of the caller's is attached (docker's CLI attaches no stream to `exec -d`).
        ...(bool(args, 'detach') ? { detach: true } : { ...(withStdin ? { stdin: io.stdin } : {}), stdout: io.stdout, stderr: io.stderr }),
        ...(detachKeys ? { detachKeys } : {}),
      });
      const ended = detachedFrom(
        exec.then(
          (result) => (exitCode = result.exitCode),
          (error: unknown) => {
            // Nothing is attached to a detached exec's output: its failure is the command's, as docker's.
            if (bool(args, 'detach')) throw error;
            exitCode = execFailure(error, io);
          },
        ),
      );
      const cancelled = await Promise.race([ended.then(() => undefined), termination?.ended ?? new Promise<never>(() => undefined)]);
      if (cancelled !== undefined) return cancelled;
    } finally {
      termination?.stop();
      await terminal?.restore();
    }
    return exitCode ?? reportDetached(io);
  },
};

/**
 * docker attach's checks of the container, made before it attaches and again once attached
 * (one that stopped meanwhile is refused, not waited on): its words, as its CLI prints them.
 */
async function attachable(engine: CliEngine, ref: string): Promise<Awaited<ReturnType<CliEngine['inspect']>>> {
  const info = await engine.inspect(ref);
  if (!info.State.Running) throw conflict('You cannot attach to a stopped container, start it first');
  if (info.State.Paused) throw conflict('You cannot attach to a paused container, unpause it first');
  if (info.State.Restarting) throw conflict('You cannot attach to a restarting container, wait until it is running');
  return info;
}

export const attach: Command = {
  name: 'attach',
  aliases: ['ctr container attach'],
  usage: '[OPTIONS] CONTAINER',
  description: "Attach local standard input, output, and error streams to a running container",
  flags: [detachKeysFlag, { name: 'no-stdin', type: 'bool', description: 'Do not attach STDIN' }, { ...sigProxyFlag, description: 'Proxy all received signals to the process' }],
  args: [1, 1],
  async run(args, io) {
    const engine = await getEngine();
    const ref = args.positionals[0] as string;
    const { Id, Config } = await attachable(engine, ref);
    // As docker attach: a TTY whose input is asked for takes it from a terminal only.
    checkTty(io, !bool(args, 'no-stdin'), Config.Tty);
    // As docker attach: stdin only of a container that keeps it open, a TTY's in raw mode and at the window's size.
    const withStdin = !bool(args, 'no-stdin') && Config.OpenStdin;
    const detachKeys = await detachKeysFor(args, io, withStdin && Config.Tty);
    // Waited on from before the attach, as docker attach does: the exit code is the one the
    // program ends with, though the stream ends before its exit is recorded (or its removal, --rm).
    // Begun after what can fail before the attach, so no failure leaves the wait running.
    const waiting = new AbortController();
    const exited = engine.wait(Id, waiting.signal);
    exited.catch(() => undefined);
    const terminal = Config.Tty ? terminalSession(io, { raw: withStdin }) : undefined;
    // As docker attach: signals are passed on to a program without a TTY only (a TTY's has its
    // keys from the terminal). The container runs already: a signal it cannot take is not tried again.
    const proxy = bool(args, 'sig-proxy') && !Config.Tty ? proxySignals((signal) => engine.kill(ref, signal)) : undefined;
    proxy?.started();
    // The first SIGINT or SIGTERM gives the terminal back; attach waits on for the program's end, or a third.
    const termination = watchTermination(io, { onFirst: () => void terminal?.restore() });
    const attachedUntilExit = async (): Promise<number> => {
      const attachment = engine.attach(ref, { ...(withStdin ? { stdin: io.stdin } : {}), stdout: io.stdout, stderr: io.stderr, ...(detachKeys ? { detachKeys } : {}) }).catch(async (error: unknown) => {
        if (!engineModule().isDetached(error)) await attachable(engine, ref);
        throw error;
      });
      // A size one cell larger first, as docker attach: a program at an unchanged size would not redraw for the newcomer.
      terminal?.follow((size) => engine.resize(ref, size), { nudge: true });
      const detached = await detachedFrom(attachment);
      await terminal?.restore();
      return detached ? reportDetached(io) : (await exited).StatusCode;
    };
    try {
      return await Promise.race([attachedUntilExit(), termination.ended]);
    } finally {
      waiting.abort();
      termination.stop();
      proxy?.stop();
      await terminal?.restore();
    }
  },
};

const wait: Command = {
  name: 'wait',
  aliases: ['ctr container wait'],
  usage: 'CONTAINER [CONTAINER...]',
  description: 'Block until one or more containers stop, then print their exit codes',
  flags: [],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    // As docker wait: every exit code first, then what could not be waited on.
    return forEachArg(args.positionals, io, async (ref) => [String((await engine.wait(ref)).StatusCode)], { errorsLast: true });
  },
};

const sizeFlag: FlagSpec = { name: 'size', short: 's', type: 'bool', description: 'Display total file sizes if the type is container' };

/** `ctr inspect`: whatever object the name is — a container, an image, a volume or a network, tried in docker's order. */
const inspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  description: 'Return low-level information on containers, images, volumes or networks',
  flags: [{ ...formatFlag, short: 'f' }, sizeFlag, { name: 'type', type: 'string', description: 'Return JSON for specified type' }],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    const type = str(args, 'type');
    const containerOptions = bool(args, 'size') ? { size: true } : {};
    const kinds: Array<[string, (ref: string) => Promise<unknown>]> = [
      ['container', (ref) => engine.inspect(ref, containerOptions)],
      ['image', (ref) => engine.inspectImage(ref)],
      ['volume', (ref) => engine.inspectVolume(ref)],
      ['network', (ref) => engine.inspectNetwork(ref)],
    ];
    if (type && !kinds.some(([kind]) => kind === type)) throw invalidArgument(`unknown type: ${JSON.stringify(type)}: must be one of ${kinds.map(([kind]) => JSON.stringify(kind)).sort().join(', ')}`);
    const tries = kinds.filter(([kind]) => !type || kind === type).map(([, fetch]) => fetch);
    return inspectEach(args.positionals, io, str(args, 'format'), async (ref) => {
      for (const attempt of tries) {
        try {
          return await attempt(ref);
        } catch (error) {
          // Only a name that is none of these is "no such object"; any other failure is said as it is.
          if (!isNotFound(error)) throw error;
        }
      }
      throw notFound(`Error: No such object: ${ref}`);
    });
  },
};

/** `ctr container inspect`: containers only, docker's words for one that is not there. */
const containerInspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Display detailed information on one or more containers',
  flags: [{ ...formatFlag, short: 'f' }, sizeFlag],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    const options = bool(args, 'size') ? { size: true } : {};
    return inspectEach(args.positionals, io, str(args, 'format'), (ref) => engine.inspect(ref, options));
  },
};

/** `ctr image inspect`: images only. */
export const imageInspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Display detailed information on one or more images',
  flags: [{ ...formatFlag, short: 'f' }],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    return inspectEach(args.positionals, io, str(args, 'format'), (ref) => engine.inspectImage(ref));
  },
};

const rename: Command = {
  name: 'rename',
  aliases: ['ctr container rename'],
  usage: 'CONTAINER NEW_NAME',
  description: 'Rename a container',
  flags: [],
  args: [2, 2],
  async run(args, io) {
    const [oldName, newName] = args.positionals.map((name) => name.trim()) as [string, string];
    if (!oldName || !newName) throw invalidArgument('Error: Neither old nor new names may be empty');
    const engine = await getEngine();
    try {
      await engine.rename(oldName, newName);
    } catch (error) {
      // docker rename's two lines: the daemon's answer, then its own.
      eprintln(io, errorLine(error));
      throw new CtrError(isCtrError(error) ? error.code : 'Internal', `Error: failed to rename container named ${oldName}`, { cause: error });
    }
    return 0;
  },
};

const commit: Command = {
  name: 'commit',
  aliases: ['ctr container commit'],
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  description: "Create a new image from a container's changes",
  flags: [
    { name: 'message', short: 'm', type: 'string', description: 'Commit message' },
    { name: 'author', short: 'a', type: 'string', description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'pause', short: 'p', type: 'bool', description: 'Pause container during commit', default: true },
    { name: 'change', short: 'c', type: 'list', description: 'Apply Dockerfile instruction to the created image' },
  ],
  args: [1, 2],
  async run(args, io) {
    const [container, reference] = args.positionals as [string, string | undefined];
    const message = str(args, 'message');
    const author = str(args, 'author');
    if (reference) checkNewTag(reference);
    const engine = await getEngine();
    const { id } = await engine.commit(container, {
      changes: list(args, 'change'),
      ...(reference ? { reference } : {}),
      ...(message ? { comment: message } : {}),
      ...(author ? { author } : {}),
      pause: args.flags.pause !== false,
    });
    println(io, id);
    return 0;
  },
};

const cleanup: Command = {
  name: 'cleanup',
  usage: 'CONTAINER',
  description: 'Act on an exited container: release its host mounts, remove it (--rm) or restart it (its restart policy); conmon runs this',
  flags: [],
  args: [1, 1],
  async run(args) {
    const engine = localEngine();
    // A root removed while its container ran (a test's, a reset) has nothing to clean: opening an engine would make it again.
    if (!existsSync(engine.root)) return 0;
    await engine.handleExit(args.positionals[0] as string);
    await swarmTaskExited(engine, args.positionals[0] as string);
    return 0;
  },
};

const healthcheckRun: Command = {
  name: 'run',
  usage: 'CONTAINER',
  description: "Run a container's health check once and record the result (exit status 0 healthy, 1 not)",
  flags: [{ name: 'started-at', type: 'string', description: 'Only for the run that started at this time (what the health check timer passes)' }],
  args: [1, 1],
  async run(args, io) {
    const startedAt = str(args, 'started-at');
    const engine = localEngine();
    // A timer's probe on a root removed meanwhile: its run is over, and opening an engine would make the root again.
    if (startedAt && !existsSync(engine.root)) return engineModule().RUN_OVER_EXIT_CODE;
    try {
      const health = await engine.healthcheck(args.positionals[0] as string, startedAt ? { startedAt } : {});
      println(io, health.Status);
      return health.Status === 'healthy' ? 0 : 1;
    } catch (error) {
      const { runIsOver, RUN_OVER_EXIT_CODE } = engineModule();
      if (startedAt && runIsOver(error)) return RUN_OVER_EXIT_CODE;
      throw error;
    }
  },
};

export const healthcheckCommands: Command[] = [healthcheckRun];

export const containerCommands: Command[] = [
  run,
  create,
  start,
  stop,
  kill,
  restart,
  simple('pause', 'Pause all processes within one or more containers', 'pause'),
  simple('unpause', 'Unpause all processes within one or more containers', 'unpause'),
  rm,
  ps,
  logs,
  exec,
  attach,
  wait,
  inspect,
  rename,
  update,
  commit,
];

export const containerOnlyCommands: Command[] = [containerPrune, cleanup, containerInspect];

