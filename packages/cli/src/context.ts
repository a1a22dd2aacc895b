import path from 'node:path';
import type { EngineApi } from '@ctr/api';
import { CtrError, asCtrError, isCtrError } from '@ctr/errors';
import type { ConfiguredEngineOptions, FlagConfig } from '@ctr/engine';
import type { Io } from './command';
import { answeringAsDaemon } from './errors';
import type { Endpoint, HostFlags } from './host';

/** The engine every command drives: @ctr/engine in-process, or a daemon through @ctr/api. */
export type CliEngine = EngineApi;

interface EngineOptions {
  root?: string;
  runRoot?: string;
  insecureRegistries?: string[];
  registryMirrors?: string[];
  /** Where commands go (`-H`, `--context`, `$CTR_HOST`…); unresolved until a command needs the engine. */
  hosts?: HostFlags;
  env?: NodeJS.ProcessEnv;
  /** `-D`: the client's debug mode, which `info` reports. */
  debug?: boolean;
  /** `--config-file`: the daemon.json the in-process engine reads (default `$CTR_CONFIG_FILE`, else /etc/ctr/daemon.json if there). */
  configFile?: string;
}

let engine: Promise<CliEngine> | undefined;
let remote: import('@ctr/api').RemoteEngine | undefined;
let endpoint: Promise<Endpoint> | undefined;
let engineOptions: EngineOptions = {};
let configured: ConfiguredEngineOptions | undefined;

export function configureEngine(options: EngineOptions): void {
  engineOptions = options;
  engine = undefined;
  endpoint = undefined;
  configured = undefined;
}

/** The configuration file named by `--config-file` or `$CTR_CONFIG_FILE`, if any (then it must exist). */
function namedConfigFile(): string | undefined {
  return engineOptions.configFile ?? ((engineOptions.env ?? process.env).CTR_CONFIG_FILE || undefined);
}

/**
 * The in-process engine's configuration, as ctrd's: the daemon.json (one read, none of a
 * default file that is not there) with the global flags over it, a key set by both refused in
 * dockerd's words. Its errors are the command's own, with docker's status for a CLI that
 * could not start (125). Read once, when first wanted: `ctr --help` never reads it.
 */
function configuredOptions(): ConfiguredEngineOptions {
  if (configured) return configured;
  const { engineOptionsFromConfig, loadDaemonConfig } = engineModule();
  const flags: FlagConfig = {
    ...(engineOptions.root ? { 'data-root': path.resolve(engineOptions.root) } : {}),
    ...(engineOptions.runRoot ? { 'exec-root': path.resolve(engineOptions.runRoot) } : {}),
    ...(engineOptions.insecureRegistries?.length ? { 'insecure-registries': engineOptions.insecureRegistries } : {}),
    ...(engineOptions.registryMirrors?.length ? { 'registry-mirrors': engineOptions.registryMirrors } : {}),
  };
  const file = namedConfigFile();
  try {
    configured = engineOptionsFromConfig(loadDaemonConfig({ ...(file !== undefined ? { file } : {}), flags }));
    return configured;
  } catch (thrown) {
    const error = asCtrError(thrown);
    throw new CtrError(error.code, error.message, { cause: error, ...(error.hint ? { hint: error.hint } : {}), details: { ...error.details, exitCode: 125 } });
  }
}

/**
 * The global flags `ctr daemon` is given on: the roots and configuration file named by flag
 * or `$CTR_CONFIG_FILE` (ctrd reads `$CTR_ROOT` / `$CTR_RUNROOT` itself, below the file's).
 */
export function daemonFlags(): string[] {
  const file = namedConfigFile();
  return [
    ...(file !== undefined ? ['--config-file', file] : []),
    ...(engineOptions.root ? ['--root', engineOptions.root] : []),
    ...(engineOptions.runRoot ? ['--runroot', engineOptions.runRoot] : []),
  ];
}

/**
 * What the commands that start an engine of their own (conmon's exit command, health check
 * timers) are given to find the same root: the configuration file named, and the roots unless
 * the file sets them. conmon runs them with no environment of ours, so a root chosen by
 * `$CTR_ROOT` / `$CTR_RUNROOT` is passed as a flag.
 */
function engineFlags(options: ConfiguredEngineOptions): string[] {
  const env = engineOptions.env ?? process.env;
  const file = namedConfigFile();
  // A root the file sets is found again in the file; one by flag or variable must be said.
  const root = engineOptions.root ?? (options.root === undefined ? env.CTR_ROOT : undefined);
  const runRoot = engineOptions.runRoot ?? (options.runRoot === undefined ? env.CTR_RUNROOT : undefined);
  return [...(file !== undefined ? ['--config-file', file] : []), ...(root ? ['--root', root] : []), ...(runRoot ? ['--runroot', runRoot] : [])];
}

/**
 * The engine package, loaded on first use so that `ctr --help` stays quick. `require`, not
 * `import()`: the build is CommonJS, and a native dynamic import would go through the ESM loader.
 */
export function engineModule(): typeof import('@ctr/engine') {
  return require('@ctr/engine') as typeof import('@ctr/engine');
}

/** @ctr/api, loaded only when a daemon is involved (remote commands, `ctr daemon`, dial-stdio). */
export function apiModule(): typeof import('@ctr/api') {
  return require('@ctr/api') as typeof import('@ctr/api');
}

/** @ctr/registry, loaded only by the commands that talk to a registry or a trust server: it brings undici. */
export function registryModule(): typeof import('@ctr/registry') {
  return require('@ctr/registry') as typeof import('@ctr/registry');
}

/** @ctr/image, loaded only by the commands that use it without the engine (trust's reference parsing, build's Dockerfile reading). */
export function imageModule(): typeof import('@ctr/image') {
  return require('@ctr/image') as typeof import('@ctr/image');
}

/** The insecure registries (`--insecure-registry`, daemon.json's), for what speaks to a registry from this process without the engine (login's check, trust). */
export function insecureRegistries(): readonly string[] {
  return configuredOptions().registry?.insecureRegistries ?? [];
}

/** daemon.json's `swarm-default-advertise-addr`: what the in-process swarm's `init` advertises when not told, as ctrd's. */
export function swarmDefaultAdvertiseAddr(): string | undefined {
  return configuredOptions().swarmDefaultAdvertiseAddr;
}

/** Whether ctr runs in debug mode (`-D`), as `info` says of the client. */
export function clientDebug(): boolean {
  return engineOptions.debug === true;
}

/** The `-H`/`--context`/`--tls*` flags ctr was given. */
export function hostFlags(): HostFlags {
  return engineOptions.hosts ?? {};
}

/** Where commands go, worked out once from the flags, the environment and the contexts. */
export function currentEndpoint(): Promise<Endpoint> {
  endpoint ??= (require('./host') as typeof import('./host')).resolveEndpoint(hostFlags(), engineOptions.env ?? process.env);
  return endpoint;
}

/** The engine the commands drive, what it refuses said as the daemon's answer (`answeringAsDaemon`). */
async function openEngine(): Promise<CliEngine> {
  const where = await currentEndpoint();
  if (where.kind === 'remote') {
    const { allRegistryAuths, registryAuth } = require('./registry-auth') as typeof import('./registry-auth');
    const env = engineOptions.env ?? process.env;
    remote = new (apiModule().RemoteEngine)({
      host: where.host,
      ...(where.tls ? { tls: where.tls } : {}),
      registryAuth: registryAuth(env),
      registryConfig: allRegistryAuths(env),
    });
    // Only an HTTP error is the daemon's answer; a connection that cannot be made is the client's own failure.
    return answeringAsDaemon(remote, (error) => isCtrError(error) && error.details.status !== undefined);
  }
  return answeringAsDaemon(localEngine());
}

/** ctr's own command line on this engine's root: what the processes it leaves behind run (exit cleanups, health checks, the swarm's agent). */
export function selfCommand(): string[] {
  return [process.execPath, path.join(__dirname, '..', 'bin', 'ctr.js'), ...engineFlags(configuredOptions())];
}

/**
 * The in-process engine works on real mounts, namespaces, cgroups and /var/lib/ctr: as another
 * user it would get half-way and fail on whichever comes first (EACCES, an overlay mount's
 * EPERM). Said once, before it starts, with docker's status for a client that cannot start.
 */
function requireRoot(): void {
  if (process.geteuid?.() === 0) return;
  throw new CtrError('Denied', 'ctr needs root: containers run on real mounts, namespaces and cgroups', {
    hint: "run it as root (sudo ctr …), or drive a ctr daemon that runs as root with -H or 'ctr context use'",
    details: { exitCode: 125 },
  });
}

/**
 * The engine in this process. Nothing of ctr stays behind to see a detached container exit,
 * so conmon runs `ctr container cleanup ID` then (Podman's way): its die event, `--rm`, restart policies.
 */
export function localEngine(): import('@ctr/engine').Engine {
  requireRoot();
  const { Engine } = engineModule();
  const { swarmDefaultAdvertiseAddr, ...options } = configuredOptions();
  const ctr = selfCommand();
  return new Engine({
    ...options,
    exitCommand: [...ctr, 'container', 'cleanup'],
    healthcheckCommand: [...ctr, 'healthcheck', 'run'],
  });
}

export function getEngine(): Promise<CliEngine> {
  engine ??= openEngine();
  return engine;
}

/** Let go of a daemon connection (an SSH session would otherwise keep the process alive). */
export function closeEngine(): void {
  remote?.close();
  remote = undefined;
  engine = undefined;
}

export function println(io: Io, text = ''): void {
  io.stdout.write(`${text}\n`);
}

export function eprintln(io: Io, text: string): void {
  io.stderr.write(`${text}\n`);
}
