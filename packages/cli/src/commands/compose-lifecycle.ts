import type { AttachEvent, ComposeApi, ComposeProgress, ComposeProject, CreateOptions, UpResult } from '@ctr/compose';
import { CtrError, invalidArgument } from '@ctr/errors';
import type { Command, Io } from '../command';
import { bool, list, num, str, type FlagSpec, type ParsedArgs } from '../flags';
import { prompt } from '../prompt';
import { composeLibrary, noSuchService, type ComposeSession } from './compose-cli';
import { buildLines, logPrinter, shortName, type ComposeProgressView } from './compose-output';

/** docker compose's create, up, down, start, stop, restart, kill, pause, unpause and rm. */

const SERVICES = '[SERVICE...]';

/** A mistake in the flags compose finds itself (not pflag's): an error like any other, status 1. */
const incompatible = (message: string): CtrError => invalidArgument(message);

const timeoutFlag = (description: string): FlagSpec => ({ name: 'timeout', short: 't', type: 'number', description });

const timeoutOf = (args: ParsedArgs): { timeout?: number } => {
  const timeout = num(args, 'timeout');
  return timeout !== undefined ? { timeout } : {};
};

/** `--remove-orphans`, its default from $COMPOSE_REMOVE_ORPHANS, as compose's up, down and kill take it. */
function removeOrphansOf(args: ParsedArgs, env: NodeJS.ProcessEnv): boolean {
  return args.flags['remove-orphans'] === true || (args.flags['remove-orphans'] === undefined && /^(1|true)$/i.test(env.COMPOSE_REMOVE_ORPHANS ?? ''));
}

/** The flags `create` and `up` share, compose's createOptions. */
const CREATE_FLAGS: FlagSpec[] = [
  { name: 'build', type: 'bool', description: 'Build images before starting containers' },
  { name: 'no-build', type: 'bool', description: "Don't build an image, even if it's policy" },
  { name: 'pull', type: 'string', description: 'Pull image before running ("always"|"missing"|"never"|"build")', default: 'policy' },
  { name: 'quiet-pull', type: 'bool', description: 'Pull without printing progress information' },
  { name: 'force-recreate', type: 'bool', description: "Recreate containers even if their configuration and image haven't changed" },
  { name: 'no-recreate', type: 'bool', description: "If containers already exist, don't recreate them. Incompatible with --force-recreate." },
  { name: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
  { name: 'scale', type: 'list', valueName: 'stringArray', description: 'Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.' },
];

const PULL_VALUES = ['always', 'missing', 'never', 'build', 'policy'] as const;

/** compose's checks of createOptions' flags, made before the project is read. */
function checkCreateFlags(args: ParsedArgs): void {
  if (bool(args, 'build') && bool(args, 'no-build')) throw incompatible('--build and --no-build are incompatible');
  if (bool(args, 'force-recreate') && bool(args, 'no-recreate')) throw incompatible('--force-recreate and --no-recreate are incompatible');
  if (bool(args, 'renew-anon-volumes') && bool(args, 'no-recreate')) throw incompatible('--no-recreate and --renew-anon-volumes are incompatible');
  if (bool(args, 'always-recreate-deps') && bool(args, 'no-recreate')) throw incompatible('--always-recreate-deps and --no-recreate are incompatible');
  const pull = str(args, 'pull') ?? 'policy';
  if (!(PULL_VALUES as readonly string[]).includes(pull)) throw invalidArgument(`invalid --pull option ${JSON.stringify(pull)}`);
}

/** compose's createOptions for `project` (its flags checked by checkCreateFlags). */
function createOptions(args: ParsedArgs, project: ComposeProject, env: NodeJS.ProcessEnv): CreateOptions {
  const pull = str(args, 'pull') ?? 'policy';
  const scale: Record<string, number> = {};
  for (const spec of list(args, 'scale')) {
    const parts = spec.split('=');
    if (parts.length !== 2) throw invalidArgument(`invalid --scale option ${JSON.stringify(spec)}. Should be SERVICE=NUM`);
    const [service, count] = parts as [string, string];
    if (!/^\d+$/.test(count)) throw invalidArgument(`strconv.Atoi: parsing ${JSON.stringify(count)}: invalid syntax`);
    if (!Object.hasOwn(project.services, service)) throw noSuchService(service);
    scale[service] = Number(count);
  }
  return {
    ...(bool(args, 'build') ? { build: 'always' as const } : bool(args, 'no-build') ? { build: 'never' as const } : {}),
    pull: pull as (typeof PULL_VALUES)[number],
    recreate: bool(args, 'force-recreate') ? 'force' : bool(args, 'no-recreate') ? 'never' : 'diverged',
    ...(bool(args, 'always-recreate-deps') ? { recreateDependencies: true } : {}),
    ...(bool(args, 'renew-anon-volumes') ? { renewAnonVolumes: true } : {}),
    removeOrphans: removeOrphansOf(args, env),
    ...(Object.keys(scale).length > 0 ? { scale } : {}),
  };
}

/** The builds' output above the progress, as `compose build` prints it on stderr (`buildLines`). */
export function buildOutput(view: ComposeProgressView, project: ComposeProject): Pick<CreateOptions, 'onBuildOutput'> {
  return { onBuildOutput: buildLines(project, view.print) };
}

/** Drops the layer-by-layer pull progress `--quiet-pull` asks not to see. */
function quietPull(args: ParsedArgs, update: (event: ComposeProgress) => void): (event: ComposeProgress) => void {
  if (!bool(args, 'quiet-pull')) return update;
  return (event) => {
    if (event.resource !== 'Image' || event.done) update(event);
  };
}

function create(session: ComposeSession): Command {
  return {
    name: 'create',
    usage: `[OPTIONS] ${SERVICES}`,
    description: 'Creates containers for a service',
    flags: CREATE_FLAGS,
    async run(args) {
      checkCreateFlags(args);
      const services = args.positionals;
      const project = await session.load(services);
      const options = createOptions(args, project, session.io.env);
      const compose = await session.compose(project);
      await session.withProgress((view) => compose.create({ ...options, ...(services.length ? { services } : {}), onProgress: quietPull(args, view.update), ...buildOutput(view, project) }));
      return 0;
    },
  };
}

/** The flags `up` and `start` share, to wait for the services. */
const WAIT_FLAGS: FlagSpec[] = [
  { name: 'wait', type: 'bool', description: 'Wait for services to be running|healthy. Implies detached mode.' },
  { name: 'wait-timeout', type: 'number', description: 'Maximum duration in seconds to wait for the project to be running|healthy' },
];

/** What `--wait` and `--wait-timeout` ask of up and start. */
function waitOf(args: ParsedArgs): { wait?: true; waitTimeout?: number } {
  const waitTimeout = num(args, 'wait-timeout');
  return bool(args, 'wait') ? { wait: true, ...(waitTimeout ? { waitTimeout } : {}) } : {};
}

const UP_FLAGS: FlagSpec[] = [
  { name: 'detach', short: 'd', type: 'bool', description: 'Detached mode: Run containers in the background' },
  ...CREATE_FLAGS,
  { name: 'no-color', type: 'bool', description: 'Produce monochrome output' },
  { name: 'no-log-prefix', type: 'bool', description: "Don't print prefix in logs" },
  { name: 'no-start', type: 'bool', description: "Don't start the services after creating them" },
  { name: 'abort-on-container-exit', type: 'bool', description: 'Stops all containers if any container was stopped. Incompatible with -d' },
  { name: 'abort-on-container-failure', type: 'bool', description: 'Stops all containers if any container exited with failure. Incompatible with -d' },
  { name: 'exit-code-from', type: 'string', description: 'Return the exit code of the selected service container. Implies --abort-on-container-exit' },
  timeoutFlag('Use this timeout in seconds for container shutdown when attached or when containers are already running'),
  { name: 'timestamps', type: 'bool', description: 'Show timestamps' },
  { name: 'no-deps', type: 'bool', description: "Don't start linked services" },
  { name: 'always-recreate-deps', type: 'bool', description: 'Recreate dependent containers. Incompatible with --no-recreate.' },
  { name: 'renew-anon-volumes', short: 'V', type: 'bool', description: 'Recreate anonymous volumes instead of retrieving data from the previous containers' },
  { name: 'attach', type: 'list', valueName: 'stringArray', description: 'Restrict attaching to the specified services. Incompatible with --attach-dependencies.' },
  { name: 'no-attach', type: 'list', valueName: 'stringArray', description: 'Do not attach (stream logs) to the specified services' },
  { name: 'attach-dependencies', type: 'bool', description: 'Automatically attach to log output of dependent services' },
  ...WAIT_FLAGS,
  { name: 'watch', short: 'w', type: 'bool', description: 'Watch source code and rebuild/refresh containers when files are updated.' },
];

/** The services `names` depend on, transitively, with them. */
function withDependencies(project: ComposeProject, names: readonly string[]): Set<string> {
  const all = new Set<string>();
  const visit = (name: string): void => {
    if (all.has(name)) return;
    all.add(name);
    for (const dependency of Object.keys(project.services[name]?.depends_on ?? {})) visit(dependency);
  };
  names.forEach(visit);
  return all;
}

/** compose's attach set for an attached `up`: `--attach` as given, else the services (and with `--attach-dependencies` theirs) that do not opt out, less `--no-attach`. */
function attachedServices(project: ComposeProject, services: readonly string[], args: ParsedArgs): string[] {
  const requested = services.length > 0 ? services : Object.keys(project.services);
  let attach: Set<string>;
  if (list(args, 'attach').length > 0) {
    attach = new Set(list(args, 'attach'));
    const unexpected = [...attach].filter((name) => !Object.hasOwn(project.services, name));
    if (unexpected.length > 0) throw invalidArgument(`cannot attach to services not included in up: ${unexpected.join(', ')}`);
  } else {
    const candidates = bool(args, 'attach-dependencies') ? withDependencies(project, requested) : new Set(requested);
    attach = new Set([...candidates].filter((name) => project.services[name]?.attach !== false));
  }
  for (const name of list(args, 'no-attach')) attach.delete(name);
  return [...attach];
}

/** compose's validateFlags for `up`: whether it runs detached. */
function upDetached(args: ParsedArgs): boolean {
  const cascadeStop = bool(args, 'abort-on-container-exit') || (str(args, 'exit-code-from') !== undefined && !bool(args, 'abort-on-container-failure'));
  const cascadeFail = bool(args, 'abort-on-container-failure');
  const attach = list(args, 'attach').length > 0;
  if (cascadeStop && cascadeFail) throw incompatible('--abort-on-container-failure cannot be combined with --abort-on-container-exit');
  let detach = bool(args, 'detach');
  if (bool(args, 'wait')) {
    if (bool(args, 'attach-dependencies') || cascadeStop || attach) throw incompatible('--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies');
    detach = true;
  }
  if (detach && (bool(args, 'attach-dependencies') || cascadeStop || cascadeFail || attach || bool(args, 'watch'))) {
    throw incompatible('--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch');
  }
  if (bool(args, 'no-build') && bool(args, 'watch')) throw incompatible('--no-build and --watch are incompatible');
  if (list(args, 'attach').length > 0 && bool(args, 'attach-dependencies')) throw incompatible('cannot combine --attach and --attach-dependencies');
  return detach;
}

function up(session: ComposeSession): Command {
  return {
    name: 'up',
    usage: `[OPTIONS] ${SERVICES}`,
    description: 'Create and start containers',
    flags: UP_FLAGS,
    async run(args, io) {
      const detach = upDetached(args);
      checkCreateFlags(args);
      const services = args.positionals;
      const project = await session.load(services);
      const options = createOptions(args, project, io.env);
      const exitCodeFrom = str(args, 'exit-code-from');
      if (exitCodeFrom !== undefined && !Object.hasOwn(project.services, exitCodeFrom)) throw noSuchService(exitCodeFrom);
      if (Object.keys(project.services).length === 0) throw invalidArgument('no service selected');
      // compose's errors for what cannot be watched come before anything is made.
      if (bool(args, 'watch')) await composeLibrary().watchRules(project, { services });
      const compose = await session.compose(project);
      const common = {
        ...options,
        ...(services.length ? { services } : {}),
        ...(bool(args, 'no-deps') ? { noDeps: true } : {}),
        ...waitOf(args),
      };
      if (detach || bool(args, 'no-start')) {
        await session.withProgress((view) => compose.up({ ...common, ...(bool(args, 'no-start') ? { noStart: true } : {}), onProgress: quietPull(args, view.update), ...buildOutput(view, project) }));
        return 0;
      }
      return attachedUp(session, compose, project, args, io, common, attachedServices(project, services, args));
    },
  };
}

/**
 * `up` without `-d`: the services' output under their prefixes, each exit said; Ctrl-C (or
 * SIGTERM) stops the project gracefully, a second one kills it, and the status is then 130;
 * `--abort-on-container-exit` / `--abort-on-container-failure` / `--exit-code-from` stop it at
 * the first (failed) exit and return that service's code. With `--watch`, the files are watched
 * once the services run (the watch's lines among theirs) until the project is stopped.
 */
async function attachedUp(session: ComposeSession, compose: ComposeApi, project: ComposeProject, args: ParsedArgs, io: Io, common: CreateOptions, attach: string[]): Promise<number> {
  const printer = logPrinter(args, io, session.globals.ansi);
  let exitCodeFrom = str(args, 'exit-code-from');
  const cascadeFail = bool(args, 'abort-on-container-failure');
  const cascadeStop = bool(args, 'abort-on-container-exit') || (exitCodeFrom !== undefined && !cascadeFail);
  const controller = new AbortController();
  const watching = new AbortController();
  let attached = false;
  const early: AttachEvent[] = [];
  let exitCode = 0;
  let interrupts = 0;
  const stopping: Promise<void>[] = [];
  /** A stop or kill under way, awaited at the end; its failure is handled from now on, not crashing the process before then. */
  const track = (operation: Promise<void>): void => {
    operation.catch(() => undefined);
    stopping.push(operation);
  };
  let watched: Promise<void> = Promise.resolve();
  const stop = (): void => {
    // As compose stops its watcher first: no sync is left holding a container paused while it is stopped.
    watching.abort();
    track(watched.catch(() => undefined).then(() => session.withProgress((view) => compose.stop({ ...timeoutOf(args), onProgress: view.update }))));
  };

  const show = (event: AttachEvent): void => {
    const name = shortName(project.name, event.container);
    if (event.type === 'log') {
      printer.line(name, event.stream, event.line);
      return;
    }
    printer.status(name, `exited with code ${event.exitCode}`);
    if (!cascadeStop && !cascadeFail) return;
    exitCodeFrom ??= event.service;
    if (event.service === exitCodeFrom) exitCode = event.exitCode;
    if (stopping.length === 0 && interrupts === 0 && (cascadeStop || event.exitCode !== 0)) {
      io.stderr.write('Aborting on container exit...\n');
      stop();
    }
  };
  const onAttach = (event: AttachEvent): void => {
    if (attached) show(event);
    else early.push(event);
  };
  const onSignal = (): void => {
    interrupts++;
    if (!attached) {
      controller.abort();
    } else if (interrupts === 1) {
      io.stderr.write('Gracefully stopping... (press Ctrl+C again to force)\n');
      stop();
    } else {
      track(session.withProgress((view) => compose.kill({ onProgress: view.update })));
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let result: UpResult;
    try {
      result = await session.withProgress((view) =>
        compose.up({ ...common, signal: controller.signal, onAttach, attachTo: attach, onProgress: quietPull(args, view.update), ...buildOutput(view, project) }),
      );
    } catch (error) {
      if (controller.signal.aborted) return 130;
      throw error;
    }
    if (!result.attached) {
      // A dry run's up only creates, having nothing to attach to: compose's notice instead of the output.
      io.stdout.write("end of 'compose up' output, interactive run is not supported in dry-run mode\n");
      return 0;
    }
    const containers = await compose.ps({ services: attach, all: true });
    if (containers.length > 0) io.stdout.write(`Attaching to ${containers.map((c) => shortName(project.name, c.Name)).join(', ')}\n`);
    for (const c of containers) printer.register(shortName(project.name, c.Name));
    attached = true;
    early.splice(0).forEach(show);
    // compose's up does not prune what its watch's rebuilds leave dangling.
    if (bool(args, 'watch')) watched = (require('./compose-watch') as typeof import('./compose-watch')).runWatch(session, compose, common.services ?? [], watching.signal, { printer, quiet: false, onAttach }, false);
    await Promise.all([result.attached, watched]);
    await Promise.all(stopping);
    return interrupts > 0 ? 130 : exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function down(session: ComposeSession): Command {
  return {
    name: 'down',
    usage: `[OPTIONS] ${SERVICES}`,
    description: 'Stop and remove containers, networks',
    flags: [
      { name: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
      { name: 'rmi', type: 'string', description: 'Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")' },
      timeoutFlag('Specify a shutdown timeout in seconds'),
      { name: 'volumes', short: 'v', type: 'bool', description: 'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers' },
    ],
    async run(args, io) {
      const rmi = str(args, 'rmi');
      if (rmi !== undefined && rmi !== 'local' && rmi !== 'all') throw invalidArgument(`invalid value for --rmi: ${JSON.stringify(rmi)}`);
      const services = args.positionals;
      const project = await session.loadOrName(services);
      const compose = await session.compose(project);
      await session.withProgress((view) =>
        compose.down({
          ...(services.length ? { services } : {}),
          removeOrphans: removeOrphansOf(args, io.env),
          volumes: bool(args, 'volumes'),
          ...(rmi ? { images: rmi } : {}),
          ...timeoutOf(args),
          onProgress: view.update,
        }),
      );
      return 0;
    },
  };
}

/** A verb on the project's services that only shows its progress (start, stop, pause…). */
function simple(
  session: ComposeSession,
  name: string,
  description: string,
  flags: FlagSpec[],
  verb: (compose: ComposeApi, args: ParsedArgs, services: { services?: string[] }, onProgress: (event: ComposeProgress) => void) => Promise<unknown>,
): Command {
  return {
    name,
    usage: `[OPTIONS] ${SERVICES}`,
    description,
    flags,
    async run(args) {
      const services = args.positionals;
      const compose = await session.compose(await session.loadOrName(services));
      await session.withProgress((view) => verb(compose, args, services.length ? { services } : {}, view.update));
      return 0;
    },
  };
}

function rm(session: ComposeSession): Command {
  return {
    name: 'rm',
    usage: `[OPTIONS] ${SERVICES}`,
    description:
      'Removes stopped service containers\n\nBy default, anonymous volumes attached to containers will not be removed. You\ncan override this with -v. To list all volumes, use "ctr volume ls".\n\nAny data which is not in a volume will be lost.',
    flags: [
      { name: 'force', short: 'f', type: 'bool', description: "Don't ask to confirm removal" },
      { name: 'stop', short: 's', type: 'bool', description: 'Stop the containers, if required, before removing' },
      { name: 'volumes', short: 'v', type: 'bool', description: 'Remove any anonymous volumes attached to containers' },
    ],
    async run(args, io) {
      const services = args.positionals;
      const compose = await session.compose(await session.loadOrName(services));
      const stop = bool(args, 'stop');
      const containers = await compose.ps({ ...(services.length ? { services } : {}), all: true });
      const names = containers.filter((c) => stop || c.State !== 'running').map((c) => c.Name);
      if (names.length === 0) {
        io.stderr.write('No stopped containers\n');
        return 0;
      }
      const question = `Going to remove ${names.join(', ')}`;
      if (bool(args, 'force')) io.stdout.write(`${question}\n`);
      else if (!/^y(es)?$/i.test((await prompt(io, `${question}\nAre you sure? [yN] `)).trim())) return 0;
      await session.withProgress((view) => compose.remove({ ...(services.length ? { services } : {}), stop, volumes: bool(args, 'volumes'), onProgress: view.update }));
      return 0;
    },
  };
}

export function lifecycleCommands(session: ComposeSession): Command[] {
  return [
    create(session),
    up(session),
    down(session),
    rm(session),
    simple(
      session,
      'start',
      'Start services',
      WAIT_FLAGS,
      (compose, args, services, onProgress) => compose.start({ ...services, ...waitOf(args), onProgress }),
    ),
    simple(session, 'stop', 'Stop services', [timeoutFlag('Specify a shutdown timeout in seconds')], (compose, args, services, onProgress) =>
      compose.stop({ ...services, ...timeoutOf(args), onProgress }),
    ),
    simple(
      session,
      'restart',
      'Restart service containers',
      [{ name: 'no-deps', type: 'bool', description: "Don't restart dependent services" }, timeoutFlag('Specify a shutdown timeout in seconds')],
      (compose, args, services, onProgress) => compose.restart({ ...services, ...timeoutOf(args), ...(bool(args, 'no-deps') ? { noDeps: true } : {}), onProgress }),
    ),
    simple(
      session,
      'kill',
      'Force stop service containers',
      [
        { name: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
        { name: 'signal', short: 's', type: 'string', description: 'SIGNAL to send to the container', default: 'SIGKILL' },
      ],
      (compose, args, services, onProgress) => compose.kill({ ...services, killSignal: str(args, 'signal') ?? 'SIGKILL', removeOrphans: removeOrphansOf(args, session.io.env), onProgress }),
    ),
    simple(session, 'pause', 'Pause services', [], (compose, _args, services, onProgress) => compose.pause({ ...services, onProgress })),
    simple(session, 'unpause', 'Unpause services', [], (compose, _args, services, onProgress) => compose.unpause({ ...services, onProgress })),
  ];
}
