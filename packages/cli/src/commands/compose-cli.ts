import path from 'node:path';
import type { ComposeApi, ComposeEngine, ComposeProject } from '@ctr/compose';
import type { RegistryClientOptions } from '@ctr/registry';
import { CtrError, invalidArgument } from '@ctr/errors';
import type { Command, Io } from '../command';
import { clientDebug, getEngine, insecureRegistries } from '../context';
import { moreInformation, reportError } from '../errors';
import { bool, list, num, parseFlags, str, type FlagSpec } from '../flags';
import { commandHelp, groupHelp } from '../help';
import { ComposeProgressView, progressMode, warn, type AnsiMode } from './compose-output';

/** compose's persistent flag: before the sub-command or among its own flags. */
const DRY_RUN: FlagSpec = { name: 'dry-run', type: 'bool', description: 'Execute command in dry run mode' };

/** `ctr compose`'s own flags, docker compose v2's project flags and output flags. */
const ROOT_FLAGS: FlagSpec[] = [
  { name: 'ansi', type: 'string', description: 'Control when to print ANSI control characters ("never"|"always"|"auto")', default: 'auto' },
  DRY_RUN,
  { name: 'env-file', type: 'list', valueName: 'stringArray', description: 'Specify an alternate environment file' },
  { name: 'file', short: 'f', type: 'list', valueName: 'stringArray', description: 'Compose configuration files' },
  // Its default is told, not set: a `--parallel` given (even -1) must be told from none, which leaves it to $COMPOSE_PARALLEL_LIMIT.
  { name: 'parallel', type: 'number', check: checkGoInt, description: 'Control max parallelism, -1 for unlimited (default -1)' },
  { name: 'profile', type: 'list', valueName: 'stringArray', description: 'Specify a profile to enable' },
  { name: 'progress', type: 'string', description: 'Set type of progress output (auto, tty, plain, json, quiet)', default: 'auto' },
  { name: 'project-directory', type: 'string', description: 'Specify an alternate working directory (default: the path of the, first specified, Compose file)' },
  { name: 'project-name', short: 'p', type: 'string', description: 'Project name' },
  { name: 'version', short: 'v', type: 'bool', description: 'Show the Docker Compose version information', hidden: true },
  { name: 'help', type: 'bool', description: 'Print usage', hidden: true },
];

const ROOT: Command = {
  name: 'compose',
  usage: '[OPTIONS] COMMAND',
  description: 'Define and run multi-container applications',
  flags: ROOT_FLAGS,
  run: () => Promise.resolve(0),
};

/** The project flags a sub-command runs with. */
export interface ComposeGlobals {
  files: string[];
  projectName?: string;
  profiles: string[];
  envFiles: string[];
  projectDirectory?: string;
  progress: string;
  ansi: AnsiMode;
  /** `--dry-run`: the verbs run against compose's dry-run engine, and their progress says so. */
  dryRun: boolean;
  /** `--parallel`, else $COMPOSE_PARALLEL_LIMIT: how many services or images the verbs act on at once, -1 for no limit. */
  parallel: number;
}

/** @ctr/compose, loaded when a compose command first needs it (never by `ctr run`). */
export function composeLibrary(): typeof import('@ctr/compose') {
  return require('@ctr/compose') as typeof import('@ctr/compose');
}

/**
 * One compose command's view of its project: loaded as the flags say (with the loader's
 * warnings on stderr, compose's way), bound to the engine, and its progress drawn on stderr.
 */
export class ComposeSession {
  readonly started = Date.now();
  private bound: Promise<ComposeEngine> | undefined;

  constructor(
    readonly globals: ComposeGlobals,
    readonly io: Io,
  ) {}

  /** The project the files describe, with the services named on the command line checked against it. */
  async load(services: readonly string[] = [], options: { interpolate?: boolean } = {}): Promise<ComposeProject> {
    const { files, projectName, projectDirectory, profiles, envFiles } = this.globals;
    const project = await composeLibrary().loadProject({
      files,
      profiles,
      envFiles,
      services: [...services],
      env: this.io.env,
      cwd: process.cwd(),
      ...(projectName !== undefined ? { projectName } : {}),
      ...(projectDirectory !== undefined ? { projectDirectory } : {}),
      ...(options.interpolate === false ? { interpolate: false } : {}),
      stdin: () => readAll(this.io.stdin),
      oci: { registry: () => composeRegistry(this.io) },
    });
    for (const message of project.warnings ?? []) warn(this.io, message, this.started);
    for (const service of services) if (!Object.hasOwn(project.services, service)) throw noSuchService(service);
    return project;
  }

  /**
   * The project for the commands that work on what exists (ps, down, logs, stop…), which
   * compose lets find it by name: when no file can be loaded, `-p NAME` or
   * `$COMPOSE_PROJECT_NAME` still names it, and the project is rebuilt from its containers',
   * networks' and volumes' labels. (compose reads no file at all for `-p` without `-f`; ctr
   * reads the file when there is one, so the verbs know the services it declares.)
   */
  async loadOrName(services: readonly string[] = []): Promise<ComposeProject> {
    try {
      return await this.load(services);
    } catch (error) {
      const named = this.globals.projectName ?? this.io.env.COMPOSE_PROJECT_NAME;
      if (!named || this.globals.files.length > 0) throw error;
      return composeLibrary().projectFromContainers(await getEngine(), named);
    }
  }

  /**
   * The engine the verbs act on (in-process, or the daemon `-H` names); with `--dry-run`, one
   * dry-run engine for the whole command, so each verb sees what those before it pretended.
   */
  engine(): Promise<ComposeEngine> {
    this.bound ??= getEngine().then((engine) => (this.globals.dryRun ? composeLibrary().dryRunEngine(engine) : engine));
    return this.bound;
  }

  /** The project's verbs on the engine. */
  async compose(project: ComposeProject): Promise<ComposeApi> {
    return new (composeLibrary().Compose)(await this.engine(), project, { parallel: this.globals.parallel });
  }

  /** A progress view on stderr, as `--progress` and `--ansi` say. */
  progress(): ComposeProgressView {
    const { stderr, env } = this.io;
    const mode = progressMode(this.globals.progress, this.globals.ansi, stderr);
    return new ComposeProgressView(stderr, mode, mode === 'tty' && !env.NO_COLOR, this.globals.dryRun);
  }

  /** Runs `operation` with a progress view, which is drawn a last time however it ends. */
  async withProgress<T>(operation: (view: ComposeProgressView) => Promise<T>): Promise<T> {
    const view = this.progress();
    try {
      return await operation(view);
    } finally {
      view.stop();
    }
  }
}

/**
 * What compose's registry access (`-f oci://…`, `include: oci://…`, `publish`) is configured
 * with: docker's config for credentials, and the engine's insecure registries (`insecure` adds some).
 */
export function composeRegistry(io: Io, insecure: readonly string[] = []): RegistryClientOptions {
  return { dockerConfig: { env: io.env }, insecureRegistries: [...insecureRegistries(), ...insecure] };
}

/** compose's error for a service the project does not have. */
export function noSuchService(service: string): CtrError {
  return new CtrError('NotFound', `no such service: ${service}`);
}

/** Runs until SIGINT or SIGTERM, which abort `signal` (the verbs that follow the engine until told to stop). */
export async function untilInterrupted<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer | string) => chunks.push(Buffer.from(chunk)));
    stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.once('error', reject);
  });
}

/** The sub-commands, bound to the session, in help's order (by name, as cobra lists them), each taking `--dry-run` too. */
function subCommands(session: ComposeSession): Command[] {
  const { lifecycleCommands } = require('./compose-lifecycle') as typeof import('./compose-lifecycle');
  const { viewCommands } = require('./compose-views') as typeof import('./compose-views');
  const { processCommands } = require('./compose-process') as typeof import('./compose-process');
  const { extraCommands } = require('./compose-extras') as typeof import('./compose-extras');
  const { watchCommands } = require('./compose-watch') as typeof import('./compose-watch');
  const { publishCommands } = require('./compose-publish') as typeof import('./compose-publish');
  return [...lifecycleCommands(session), ...viewCommands(session), ...processCommands(session), ...extraCommands(session), ...watchCommands(session), ...publishCommands(session)]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((command) => ({
      ...command,
      flags: [...command.flags, DRY_RUN],
      run: (args, io) => {
        if (bool(args, 'dry-run')) session.globals.dryRun = true;
        return command.run(args, io);
      },
    }));
}

function rootHelp(commands: Command[]): string {
  const options = commandHelp('ctr compose', ROOT);
  const listing = groupHelp({ name: 'compose', description: '', commands });
  return `${options}\n${listing.slice(listing.indexOf('Commands:'))}`;
}

/** compose's `--parallel` (an integer, as its flag parsing checks), else $COMPOSE_PARALLEL_LIMIT (compose's error when it is no integer), else -1: no limit. */
export function parallelLimit(flag: number | undefined, env: NodeJS.ProcessEnv): number {
  if (flag !== undefined) return flag;
  // Empty is unset, as ctr reads the other COMPOSE_* variables.
  const value = env.COMPOSE_PARALLEL_LIMIT;
  if (!value) return -1;
  if (!GO_DECIMAL_INT.test(value)) throw invalidArgument(`COMPOSE_PARALLEL_LIMIT must be an integer (found: ${JSON.stringify(value)})`);
  return Number(value);
}

/** What Go's strconv.Atoi reads: an optional sign, then decimal digits. */
const GO_DECIMAL_INT = /^[+-]?\d+$/;

/** The `--parallel` value as pflag's int parses it, refused in its words otherwise. */
function checkGoInt(value: string): void {
  if (!GO_DECIMAL_INT.test(value)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
}

function ansiFlag(value: string): AnsiMode {
  if (value === 'never' || value === 'always' || value === 'auto') return value;
  throw invalidArgument(`invalid --ansi value ${JSON.stringify(value)}: expected "never", "always" or "auto"`);
}

/** `ctr compose ARGS…`: its flags, then the sub-command through the CLI's usual parsing, help and errors. */
export async function runCompose(argv: readonly string[], io: Io): Promise<number> {
  const { runCommand } = require('../main') as typeof import('../main');
  const debug = clientDebug();
  let args;
  try {
    args = parseFlags(argv, ROOT_FLAGS, { stopAtPositional: true });
  } catch (error) {
    return reportError(error, io, 'ctr compose', debug, 'ctr compose [OPTIONS] COMMAND');
  }
  const globals: ComposeGlobals = {
    files: list(args, 'file'),
    profiles: list(args, 'profile'),
    envFiles: list(args, 'env-file').map((file) => path.resolve(file)),
    progress: args.flags.progress === 'auto' && io.env.COMPOSE_PROGRESS ? io.env.COMPOSE_PROGRESS : (str(args, 'progress') ?? 'auto'),
    ansi: 'auto',
    dryRun: bool(args, 'dry-run'),
    parallel: -1,
  };
  const projectName = str(args, 'project-name');
  const projectDirectory = str(args, 'project-directory');
  if (projectName !== undefined) globals.projectName = projectName;
  if (projectDirectory !== undefined) globals.projectDirectory = projectDirectory;
  const session = new ComposeSession(globals, io);
  const commands = subCommands(session);
  const [sub, ...rest] = args.positionals;
  if (bool(args, 'version') && !sub) return runCommand(commands.find((c) => c.name === 'version') as Command, 'ctr compose version', [], io, debug);
  if (!sub || bool(args, 'help')) {
    io.stdout.write(rootHelp(commands));
    return 0;
  }
  const command = commands.find((c) => c.name === sub);
  if (!command) {
    io.stderr.write(`ctr: unknown command: ctr compose ${sub}\n\nUsage:  ctr compose [OPTIONS] COMMAND\n\n${moreInformation('ctr compose')}`);
    return 1;
  }
  try {
    const ansi = args.flags.ansi === 'auto' && io.env.COMPOSE_ANSI ? io.env.COMPOSE_ANSI : (str(args, 'ansi') ?? 'auto');
    globals.ansi = ansiFlag(ansi);
    progressMode(globals.progress, globals.ansi, io.stderr);
    globals.parallel = parallelLimit(num(args, 'parallel'), io.env);
  } catch (error) {
    return reportError(error, io, `ctr compose ${sub}`, debug);
  }
  return runCommand(command, `ctr compose ${sub}`, rest, io, debug);
}
