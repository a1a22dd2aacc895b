import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { PatternMatcher, readDockerignore } from '@ctr/dockerfile';
import { CtrError, invalidArgument } from '@ctr/errors';
import { toBool, toMapping } from './canonical';
import { isPlainObject } from './interpolate';
import type { AttachEvent, ComposeOptions, ServicesOptions } from './compose';
import { build, selectedServices, withDependencies } from './images';
import { LABEL, projectContainers, type ComposeEngine } from './labels';
import { restart, up } from './lifecycle';
import type { ComposeProject, ServiceConfig } from './model';
import { progressOf } from './resources';
import { shellSplit } from './shellwords';
import { Batcher, TreeWatcher, watchError } from './watch-files';
import { syncPaths, type PathMapping } from './watch-sync';

export type { PathMapping };

/** What a `develop.watch` rule does when a file under its path changes. */
export type WatchAction = 'sync' | 'rebuild' | 'restart' | 'sync+restart' | 'sync+exec';

const ACTIONS: readonly WatchAction[] = ['rebuild', 'sync', 'restart', 'sync+restart', 'sync+exec'];

/** A `sync+exec` rule's command (compose's service hook), run in each of the service's containers after the sync. */
export interface WatchExec {
  command: string[];
  user?: string;
  privileged?: boolean;
  working_dir?: string;
  environment: Record<string, string>;
}

/** A service's `develop.watch` rule as compose reads it, its path absolute. */
export interface WatchTrigger {
  path: string;
  action: WatchAction;
  /** Where the path is in the containers (the sync actions need one). */
  target?: string;
  /** Patterns relative to `path`, in .dockerignore syntax: what changes there is not acted on. */
  ignore: string[];
  /** Patterns relative to `path`: when given, only what they match is acted on. */
  include: string[];
  /** Sync everything under the path when the watch starts, not only what changes after. */
  initial_sync: boolean;
  exec?: WatchExec;
}

/** What the watch tells as it goes, in the order compose logs it (`watchEventText` gives compose's words). */
export type WatchEvent =
  | { type: 'enabled' }
  | { type: 'disabled' }
  | { type: 'warning'; message: string }
  | { type: 'syncing'; service: string; paths: PathMapping[] }
  | { type: 'rebuilding'; services: string[] }
  | { type: 'built'; services: string[] }
  | { type: 'restarted'; services: string[] }
  /** A batch of changes not (fully) acted on; the watch goes on. */
  | { type: 'failed'; step: 'build' | 'recreate' | 'start' | 'changes'; error: Error };

export interface WatchOptions extends ServicesOptions {
  /** Every step of the watch, as it happens. */
  onEvent?: (event: WatchEvent) => void;
  /** The output lines of the builds a `rebuild` makes, by service. */
  onBuildOutput?: (service: string, line: string) => void;
  /** Where a `sync+exec` command's output goes. */
  stdout?: Writable;
  stderr?: Writable;
  /** An attached `up --watch`: the containers a `rebuild` recreates are attached, their output and exits told here. */
  onAttach?: (event: AttachEvent) => void;
  /** Remove the project's dangling images after a rebuild (compose's `--prune`, its CLI's default). */
  prune?: boolean;
  /** How long the files must be quiet before a batch of changes is acted on (compose's 500 ms). */
  quietMs?: number;
}

/** compose's words for a watch event, as its log consumer prints them. */
export function watchEventText(event: WatchEvent): string {
  switch (event.type) {
    case 'enabled':
      return 'Watch enabled';
    case 'disabled':
      return 'Watch disabled';
    case 'warning':
      return event.message;
    case 'syncing':
      return `Syncing service ${JSON.stringify(event.service)} after ${event.paths.length} changes were detected`;
    case 'rebuilding':
      return `Rebuilding service(s) ${goQuoted(event.services)} after changes were detected...`;
    case 'built':
      return `service(s) ${goQuoted(event.services)} successfully built`;
    case 'restarted':
      return `service(s) ${goQuoted(event.services)} restarted`;
    case 'failed': {
      const lead = { build: 'Build failed. Error: ', recreate: 'Failed to recreate services after update. Error: ', start: 'Application failed to start after update. Error: ', changes: 'Error handling changed files: ' }[event.step];
      return `${lead}${event.error.message}`;
    }
  }
}

/** Go's `%q` of a string slice: `["web" "api"]`. */
function goQuoted(names: readonly string[]): string {
  return `[${names.map((name) => JSON.stringify(name)).join(' ')}]`;
}

/** The key compose read watch rules from before `develop` (2.22); it still does, when a service has no `develop`. */
const LEGACY_DEVELOP = 'x-develop';

/** compose's warning for a service that still has `x-develop`. */
const LEGACY_DEVELOP_WARNING = 'x-develop is DEPRECATED, please use the official `develop` attribute';

const hasLegacyDevelop = (service: ServiceConfig): boolean => Object.hasOwn(service, LEGACY_DEVELOP);

/**
 * A service's `develop.watch` rules, checked, or undefined when it has no `develop` section
 * (nor the `x-develop` one compose still reads in its place).
 */
export function watchTriggers(project: ComposeProject, service: ServiceConfig): WatchTrigger[] | undefined {
  // The loader carries both keys as written (`develop` validated as the specification's shape, an `x-` key not at all): they are read here.
  const carried = service as ServiceConfig & Record<'develop' | typeof LEGACY_DEVELOP, unknown>;
  const key = carried.develop ? 'develop' : LEGACY_DEVELOP;
  const develop = carried[key];
  if (!develop) return undefined;
  const where = `services.${service.name}.${key}`;
  if (!isPlainObject(develop)) throw invalidArgument(`${where} must be a mapping`);
  const watch = develop.watch ?? [];
  if (!Array.isArray(watch)) throw invalidArgument(`${where}.watch must be a list`);
  return watch.map((raw: unknown, index) => {
    if (!isPlainObject(raw)) throw invalidArgument(`${where}.watch.${index} must be a mapping`);
    return watchTrigger(project, service, raw, `${where}.watch.${index}`);
  });
}

function watchTrigger(project: ComposeProject, service: ServiceConfig, raw: Record<string, unknown>, where: string): WatchTrigger {
  if (raw.path === undefined || raw.path === null || raw.path === '') throw invalidArgument(`${where}: watch rules MUST define a path`);
  const action = String(raw.action ?? '') as WatchAction;
  if (!ACTIONS.includes(action)) throw invalidArgument(`${where}.action must be one of ${ACTIONS.map((a) => JSON.stringify(a)).join(', ')}`);
  const target = raw.target === undefined || raw.target === null ? undefined : String(raw.target);
  if (!target && action !== 'rebuild' && action !== 'restart') throw invalidArgument(`${where.replace(/\.\d+$/, '')}: target is required for non-rebuild actions: invalid compose project`);
  const trigger: WatchTrigger = {
    path: path.resolve(project.working_dir, String(raw.path)),
    action,
    ...(target ? { target } : {}),
    ignore: patterns(raw.ignore),
    include: patterns(raw.include),
    initial_sync: toBool(raw.initial_sync ?? false),
  };
  if (action === 'sync+exec') {
    const exec = (raw.exec ?? {}) as Record<string, unknown>;
    const command = typeof exec.command === 'string' ? shellSplit(exec.command) : Array.isArray(exec.command) ? exec.command.map(String) : [];
    if (command.length === 0) throw invalidArgument(`can't watch with action "sync+exec" on service ${service.name} without a command`);
    trigger.exec = {
      command,
      ...(exec.user !== undefined ? { user: String(exec.user) } : {}),
      ...(exec.privileged !== undefined ? { privileged: toBool(exec.privileged) } : {}),
      ...(exec.working_dir !== undefined ? { working_dir: String(exec.working_dir) } : {}),
      environment: toMapping(exec.environment, '=', '') as Record<string, string>,
    };
  }
  return trigger;
}

function patterns(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** A path test against patterns relative to `base`; what is not below `base` never matches. */
interface Matcher {
  (file: string): boolean;
  /** Some `!pattern` may bring back what an earlier one left out (below a matched directory too). */
  readonly reincludes: boolean;
}

function matcherAt(base: string, list: readonly string[]): Matcher {
  const patternMatcher = new PatternMatcher(list);
  const test = (file: string): boolean => {
    const relative = path.relative(base, file);
    if (relative.startsWith('..') || path.isAbsolute(relative)) return false;
    return !patternMatcher.isEmpty && patternMatcher.matches(relative === '' ? '.' : relative);
  };
  return Object.assign(test, { reincludes: patternMatcher.hasExclusions });
}

/**
 * compose's ephemeral files, never acted on: editors' swap, backup and lock files (vim, emacs,
 * kate, GoLand) and Go's umask probes.
 */
const EPHEMERAL = ['**/4913', '**/*~', '**/.*.swp', '**/.*.swx', '**/.*.swo', '**/.*.swn', '**/.#*', '**/#*#', '**/*___jb_old___', '**/*___jb_tmp___', '**/.idea/**', '**/.*.kate-swp', '**/*-go-tmp-umask'];

/** compose leaves `.git` out of every watch (wherever it is, here). */
const ALWAYS_IGNORED = [...EPHEMERAL, '**/.git'];

/** The service's `.dockerignore` (its Dockerfile's own `<Dockerfile>.dockerignore` first), as compose's watch reads it. */
async function dockerignoreOf(service: ServiceConfig): Promise<Matcher> {
  const context = service.build?.context;
  if (!context || !path.isAbsolute(context)) return matcherAt('/', []);
  const dockerfile = service.build?.dockerfile ?? 'Dockerfile';
  const read = (file: string): Promise<string | undefined> => readFile(path.resolve(context, file), 'utf8').catch(() => undefined);
  const text = (await read(`${dockerfile}.dockerignore`)) ?? (await read('.dockerignore')) ?? '';
  return matcherAt(context, readDockerignore(text));
}

/** One rule of one service, ready to match changed paths. */
export class WatchRule {
  private readonly include: Matcher;
  private readonly ignores: Matcher[];

  constructor(
    readonly service: string,
    readonly trigger: WatchTrigger,
    dockerignore: Matcher,
  ) {
    this.include = matcherAt(trigger.path, trigger.include);
    this.ignores = [dockerignore, matcherAt('/', ALWAYS_IGNORED), matcherAt(trigger.path, trigger.ignore)];
  }

  covers(file: string): boolean {
    return file === this.trigger.path || file.startsWith(`${this.trigger.path}/`);
  }

  ignored(file: string): boolean {
    return this.ignores.some((ignore) => ignore(file));
  }

  /** Nothing below `dir` can concern this rule: the directory need not be watched for it. */
  ignoresAllOf(dir: string): boolean {
    return this.ignored(dir) && !this.ignores.some((ignore) => ignore.reincludes);
  }

  /** compose's watchRule.Matches: where a changed path goes in the containers, or undefined when the rule is not about it. */
  match(file: string): PathMapping | undefined {
    if (!this.covers(file)) return undefined;
    if (this.trigger.include.length > 0 && !this.include(file)) return undefined;
    if (this.ignored(file)) return undefined;
    const target = this.trigger.target;
    return { host: file, container: target ? path.posix.join(target, path.relative(this.trigger.path, file).split(path.sep).join('/')) : '' };
  }
}

/** A sync action's rule whose path a bind mount of the service already brings into its containers. */
function boundAlready(service: ServiceConfig, trigger: WatchTrigger): boolean {
  return service.volumes.some((volume) => volume.type === 'bind' && volume.source !== undefined && !path.relative(volume.source, trigger.path).startsWith('..'));
}

const syncs = (action: WatchAction): boolean => action === 'sync' || action === 'sync+restart';

/**
 * The rules `watch` follows for the selected services (and what they depend on, as compose
 * selects them), with compose's errors for rules it cannot carry out and for a selection
 * with none; a sync rule whose path a bind mount covers is left out with a warning.
 */
export async function watchRules(project: ComposeProject, options: Pick<WatchOptions, 'services'> = {}): Promise<{ rules: WatchRule[]; warnings: string[] }> {
  const names = options.services?.length ? withDependencies(project, options.services) : undefined;
  const rules: WatchRule[] = [];
  const warnings: string[] = [];
  for (const service of selectedServices(project, names)) {
    // compose warns of the key wherever it is, even beside a `develop` that wins over it.
    if (hasLegacyDevelop(service)) warnings.push(LEGACY_DEVELOP_WARNING);
    const triggers = watchTriggers(project, service);
    if (!triggers) continue;
    const dockerignore = await dockerignoreOf(service);
    for (const trigger of triggers) {
      if (trigger.action === 'rebuild' && !service.build) throw invalidArgument(`can't watch service ${JSON.stringify(service.name)} with action rebuild without a build context`);
      if (syncs(trigger.action) && boundAlready(service, trigger)) {
        warnings.push(`path '${trigger.path}' also declared by a bind mount volume, this path won't be monitored!`);
        continue;
      }
      rules.push(new WatchRule(service.name, trigger, dockerignore));
    }
  }
  if (rules.length === 0) throw invalidArgument("none of the selected services is configured for watch, consider setting a 'develop' section");
  return { rules, warnings };
}

/** compose's names of Dockerfiles and compose files, which an initial sync leaves out. */
const BUILD_FILES = ['Dockerfile', 'compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml', 'compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'];

/** What a sync rule's `initial_sync` brings in: every file under its path that the rule does not ignore (directories pruned). */
async function initialPaths(rule: WatchRule, service: ServiceConfig): Promise<PathMapping[]> {
  const skip = new Set([...BUILD_FILES, ...(service.build?.dockerfile ? [path.basename(service.build.dockerfile)] : [])]);
  const found: PathMapping[] = [];
  const visit = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
      throw watchError(error, dir);
    });
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!rule.ignoresAllOf(file)) await visit(file);
      } else if (!skip.has(entry.name)) {
        const mapping = rule.match(file);
        if (mapping) found.push(mapping);
      }
    }
  };
  const root = rule.trigger.path;
  const single = await readdir(root).then(
    () => false,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOTDIR') return true;
      throw new CtrError('NotFound', `initial_sync of ${root}: ${error.message}`, { cause: error });
    },
  );
  if (single) return [{ host: root, container: rule.trigger.target as string }];
  await visit(root);
  return found;
}

/** One watch of a project: what it does with each batch of changed paths. */
class WatchRun {
  /** The attachments of the containers it recreated or restarted for an attached caller, which end with the watch. */
  private readonly attached = new Set<Promise<void>>();

  constructor(
    private readonly engine: ComposeEngine,
    private readonly project: ComposeProject,
    private readonly rules: readonly WatchRule[],
    private readonly options: WatchOptions,
  ) {}

  emit(event: WatchEvent): void {
    this.options.onEvent?.(event);
  }

  /** The sync rules' `initial_sync`, before the watch begins. */
  async initialSync(): Promise<void> {
    for (const rule of this.rules) {
      if (!rule.trigger.initial_sync || !syncs(rule.trigger.action)) continue;
      const service = this.project.services[rule.service] as ServiceConfig;
      await syncPaths(this.engine, await this.running(rule.service), await initialPaths(rule, service), this.options.signal);
    }
  }

  /**
   * compose's handling of a batch: the rules' actions gathered by service, then rebuilds,
   * syncs, restarts and `sync+exec` commands in that order. Never rejects: a failure is told.
   */
  async handle(files: readonly string[]): Promise<void> {
    const rebuilds = new Set<string>();
    const synced = new Map<string, PathMapping[]>();
    const restarts = new Set<string>();
    const hooks = new Map<string, Set<WatchRule>>();
    for (const file of files) {
      for (const rule of this.rules) {
        const mapping = rule.match(file);
        if (!mapping) continue;
        const { action } = rule.trigger;
        if (action === 'rebuild') rebuilds.add(rule.service);
        if (action === 'restart' || action === 'sync+restart') restarts.add(rule.service);
        if (action.startsWith('sync')) synced.set(rule.service, [...(synced.get(rule.service) ?? []), mapping]);
        if (action === 'sync+exec') hooks.set(rule.service, (hooks.get(rule.service) ?? new Set()).add(rule));
      }
    }
    const { signal, parallel } = this.options;
    try {
      if (rebuilds.size > 0 && !(await this.rebuild([...rebuilds]))) return;
      for (const [service, paths] of synced) {
        this.emit({ type: 'syncing', service, paths });
        await syncPaths(this.engine, await this.running(service), paths, signal);
      }
      if (restarts.size > 0) {
        await restart(this.engine, this.project, { services: [...restarts], ...(signal ? { signal } : {}), ...(parallel !== undefined ? { parallel } : {}) });
        this.emit({ type: 'restarted', services: [...restarts] });
        // The restarted containers' output is followed again, as compose's up follows them.
        if (this.options.onAttach) await this.bringUp([...restarts], 'never', {});
      }
      await Promise.all(
        [...hooks].map(async ([service, rules]) => {
          const containers = await this.running(service);
          await Promise.all([...rules].flatMap((rule) => containers.map((container) => runHook(this.engine, container.Id, rule.trigger.exec as WatchExec, this.options))));
        }),
      );
    } catch (error) {
      if (!signal?.aborted) this.emit({ type: 'failed', step: 'changes', error: error as Error });
    }
  }

  /** Once the watch has stopped: the attachments it made have ended too (they follow its signal). */
  async settled(): Promise<void> {
    await Promise.all([...this.attached]);
  }

  private running(service: string): ReturnType<typeof projectContainers> {
    return projectContainers(this.engine, this.project.name, { services: [service] });
  }

  /** compose's rebuild: the images built, the containers recreated of them and started; false when the batch must stop there. */
  private async rebuild(services: string[]): Promise<boolean> {
    const { options } = this;
    this.emit({ type: 'rebuilding', services });
    try {
      await build(this.engine, this.project, { services, ...progressOf(options), ...(options.onBuildOutput ? { onOutput: options.onBuildOutput } : {}) });
    } catch (error) {
      // Ctrl-C during the build is no failure to report.
      if (!options.signal?.aborted) this.emit({ type: 'failed', step: 'build', error: error as Error });
      return false;
    }
    this.emit({ type: 'built', services });
    try {
      await this.bringUp(services, 'force', progressOf(options));
    } catch (error) {
      if (!options.signal?.aborted) this.emit({ type: 'failed', step: 'recreate', error: error as Error });
      return false;
    }
    // What the old containers ran is dangling now; compose prunes it, quietly (an image in use stays).
    if (options.prune) await this.engine.pruneImages({ filters: { dangling: ['true'], label: [`${LABEL.project}=${this.project.name}`] } }).catch(() => undefined);
    return true;
  }

  /** `up` of the services alone, recreated or left as they are; with `onAttach`, their containers attached. */
  private async bringUp(services: string[], recreate: 'force' | 'never', progress: ComposeOptions): Promise<void> {
    const { onAttach, signal, parallel } = this.options;
    const result = await up(this.engine, this.project, {
      services,
      noDeps: true,
      recreate,
      build: 'never',
      ...progress,
      ...(onAttach ? { onAttach, attachTo: services } : {}),
      ...(signal ? { signal } : {}),
      ...(parallel !== undefined ? { parallel } : {}),
    });
    if (!result.attached) return;
    const attached = result.attached.catch((error: Error) => this.emit({ type: 'failed', step: 'start', error }));
    // Kept until it ends: a watch that rebuilds for hours holds only the attachments still open.
    this.attached.add(attached);
    void attached.finally(() => this.attached.delete(attached));
  }
}

/**
 * `compose watch`: follows the files of the selected services' `develop.watch` rules until
 * `signal` aborts, and acts on each batch of changes as compose does: rebuilds first (the
 * image built again, the service's containers recreated and started, its dependencies left
 * alone), then each service's syncs into its running containers, then restarts, then the
 * `sync+exec` commands. A batch that fails is told (`failed`) and the watch goes on. Rejects
 * at once when no selected service can be watched, and when the files cannot be watched.
 */
export async function watch(engine: ComposeEngine, project: ComposeProject, options: WatchOptions = {}): Promise<void> {
  const { signal } = options;
  const { rules, warnings } = await watchRules(project, options);
  const run = new WatchRun(engine, project, rules, options);
  for (const message of warnings) run.emit({ type: 'warning', message });
  await run.initialSync();
  const batcher = new Batcher(options.quietMs ?? 500, (files) => run.handle(files));
  // A watch that breaks (a directory past the inotify limit) ends the watch with its error.
  let failure: Error | undefined;
  let fail = (error: Error): void => void (failure ??= error);
  const watcher = new TreeWatcher(
    [...new Set(rules.map((rule) => rule.trigger.path))],
    (file) => batcher.add(file),
    (dir) => rules.every((rule) => !rule.covers(dir) || rule.ignoresAllOf(dir)),
    (error) => fail(error),
  );
  let stop = (): void => undefined;
  try {
    await watcher.start();
    run.emit({ type: 'enabled' });
    await new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      fail = reject;
      stop = resolve;
      if (signal?.aborted) resolve();
      signal?.addEventListener('abort', stop, { once: true });
    });
  } finally {
    signal?.removeEventListener('abort', stop);
    watcher.close();
    await batcher.close();
    await run.settled();
  }
  run.emit({ type: 'disabled' });
}

/** A `sync+exec` command in one container; its output where the options say, a failure its exit code. */
async function runHook(engine: ComposeEngine, container: string, hook: WatchExec, options: WatchOptions): Promise<void> {
  const { exitCode } = await engine.exec(container, {
    cmd: hook.command,
    env: Object.entries(hook.environment).map(([key, value]) => `${key}=${value}`),
    ...(hook.user !== undefined ? { user: hook.user } : {}),
    ...(hook.working_dir !== undefined ? { workingDir: hook.working_dir } : {}),
    privileged: hook.privileged === true,
    ...(options.stdout ? { stdout: options.stdout } : {}),
    ...(options.stderr ? { stderr: options.stderr } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (exitCode !== 0) throw new CtrError('Internal', `${JSON.stringify(hook.command.join(' '))} exited with code ${exitCode}`);
}
