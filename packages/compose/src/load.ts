import { access, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { CtrError } from '@ctr/errors';
import { canonicalFile, type CanonicalContext } from './canonical';
import { readDotenv } from './dotenv';
import { interpolateTree, isPlainObject, substitute, type Lookup } from './interpolate';
import { mergeTrees, parseComposeDocuments, stripMarkers } from './merge';
import type { ComposeProject, FileObjectConfig, NetworkConfig, ServiceConfig, VolumeConfig } from './model';
import { checkConsistency, normalizeFileObject, normalizeNetwork, normalizeService, normalizeVolume } from './normalize';
import { isOciPath, OciRemoteLoader, type OciRemoteOptions } from './oci';
import { validateFile } from './validate';

export { projectConfig, type ConfigOutputOptions } from './config-output';

export interface LoadOptions {
  /** `-f`: compose files in order (`-` reads `stdin`); default: compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml in `cwd` or the nearest parent that has one, with its `.override` file. */
  files?: string[];
  /** `-p`. */
  projectName?: string;
  /** `--project-directory` (default: the first file's directory). */
  projectDirectory?: string;
  /** `--profile` (default `$COMPOSE_PROFILES`). */
  profiles?: string[];
  /** `--env-file` (default `<project dir>/.env` when present). */
  envFiles?: string[];
  /** false: no default `.env` is read (`docker stack deploy` interpolates from the process's environment alone). */
  dotenv?: boolean;
  /** The environment interpolation and `COMPOSE_*` variables come from (default process.env). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** `--no-interpolate`. */
  interpolate?: boolean;
  /** Services named on the command line: their profiles are activated too, as compose does. */
  services?: string[];
  /** What `-f -` reads. */
  stdin?: () => Promise<string>;
  /** How `oci://` files and includes are pulled: the registry client's settings, the cache directory, a signal. */
  oci?: OciRemoteOptions;
}

type Tree = Record<string, unknown>;

/** compose-go's candidates, in its order of preference. */
const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
const OVERRIDE_FILES = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'];

const VALID_NAME = /^[a-z0-9][a-z0-9_-]*$/;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The candidates present in `dir`; more than one is warned about and the first is used, as compose does. */
async function pick(dir: string, names: readonly string[], warnings: string[]): Promise<string | undefined> {
  const found: string[] = [];
  for (const name of names) if (await exists(join(dir, name))) found.push(join(dir, name));
  if (found.length > 1) warnings.push(`Found multiple config files with supported names: ${found.join(', ')}`, `Using ${found[0]}`);
  return found[0];
}

/** The compose file (and its override) in `dir` or the nearest parent that has one. */
async function discoverFiles(dir: string, warnings: string[]): Promise<string[]> {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const file = await pick(current, DEFAULT_FILES, warnings);
    if (file) {
      const override = await pick(current, OVERRIDE_FILES, warnings);
      return override ? [file, override] : [file];
    }
    if (dirname(current) === current) break;
  }
  throw new CtrError('NotFound', 'no configuration file provided: not found');
}

/** The directory-derived project name, as compose-go's NormalizeProjectName makes it. */
export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}

function checkProjectName(name: string): string {
  if (!VALID_NAME.test(name)) {
    throw new CtrError('InvalidArgument', `${JSON.stringify(name)} is not a valid project name: it must contain only characters from [a-z0-9_-] and start with [a-z0-9]`);
  }
  return name;
}

interface FileSource {
  /** Absolute, or `-` for stdin. */
  path: string;
  text: string;
}

/** The files' text: `-` is stdin, an `oci://` reference the compose.yaml it was pulled into. */
async function readSources(files: string[], cwd: string, stdin: LoadOptions['stdin'], remote: OciRemoteLoader): Promise<FileSource[]> {
  const sources: FileSource[] = [];
  for (const file of files) {
    if (file === '-') {
      if (!stdin) throw new CtrError('InvalidArgument', 'compose file "-" needs standard input');
      sources.push({ path: '-', text: await stdin() });
      continue;
    }
    const path = isOciPath(file) ? await remote.load(file) : resolve(cwd, file);
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new CtrError('NotFound', `open ${path}: no such file or directory`);
      throw error;
    });
    sources.push({ path, text });
  }
  return sources;
}

/** The project's environment: the process's over the `.env` file(s), which may refer to the process's. */
async function projectEnvironment(envFiles: string[], explicit: boolean, processEnv: Record<string, string>): Promise<{ env: Record<string, string>; files: string[] }> {
  const fromFiles: Record<string, string> = {};
  const read: string[] = [];
  for (const file of envFiles) {
    const vars = await readDotenv(file, (name) => processEnv[name] ?? fromFiles[name]);
    if (!vars) {
      if (explicit) throw new CtrError('NotFound', `couldn't find env file: ${file}`);
      continue;
    }
    Object.assign(fromFiles, vars);
    read.push(file);
  }
  return { env: { ...fromFiles, ...processEnv }, files: read };
}

interface FileLoader {
  lookup: Lookup;
  interpolate: boolean;
  onUnset: (name: string) => void;
  warnings: string[];
  home: string;
  workingDir: string;
  remote: OciRemoteLoader;
}

/** A file's YAML documents each loaded as loadFile loads a file, merged in order as compose-go merges them. */
async function loadDocuments(source: FileSource, loader: FileLoader, baseDir: string, documents = parseComposeDocuments(source.text, source.path), chain: string[] = []): Promise<Tree> {
  let merged: Tree = {};
  for (const [index, document] of documents.entries()) {
    const file = await loadFile(source, loader, baseDir, document, chain);
    merged = index === 0 ? file : (mergeTrees(merged, file, []) as Tree);
  }
  return merged;
}

/** One file: parsed, interpolated, checked against the schema, in canonical form, its `extends` resolved. */
async function loadFile(source: FileSource, loader: FileLoader, baseDir: string, parsed: Tree, chain: string[]): Promise<Tree> {
  let tree = parsed;
  if (tree.version !== undefined) {
    loader.warnings.push(`${source.path}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`);
  }
  if (loader.interpolate) tree = interpolateTree(tree, loader.lookup, loader.onUnset) as Tree;
  validateFile(stripMarkers(tree) as Tree, source.path);
  const context: CanonicalContext = { baseDir, home: loader.home };
  const file = canonicalFile(tree, context);
  const fileDir = source.path === '-' ? loader.workingDir : dirname(source.path);
  if (Array.isArray(file.include)) {
    for (const entry of file.include as unknown[]) await include(file, entry, fileDir, loader, [...chain, source.path]);
    delete file.include;
  }
  if (isPlainObject(file.services)) {
    const services = file.services as Record<string, Tree>;
    const resolved = new Map<string, Tree>();
    const resolveService = async (name: string, seen: string[]): Promise<Tree> => {
      const done = resolved.get(name);
      if (done) return done;
      const service = services[name] as Tree;
      const ext = service.extends as Tree | undefined;
      if (!isPlainObject(ext)) return service;
      const target = String(ext.service);
      // An `oci://` file is pulled as it is named, not taken for a path under this file's directory.
      const path = ext.file ? (isOciPath(String(ext.file)) ? String(ext.file) : resolve(fileDir, String(ext.file))) : undefined;
      const key = `${path ?? source.path}#${target}`;
      if (seen.includes(key) || chain.includes(key)) throw new CtrError('InvalidArgument', `circular reference with extends ${seen.concat(key).join(' -> ')}`);
      let base: Tree | undefined;
      if (path) {
        const [other] = (await readSources([path], loader.workingDir, undefined, loader.remote)) as [FileSource];
        // Relative paths are the file's own: for an `oci://` one, the directory it was pulled into, as compose-go's loader.Dir.
        const otherFile = await loadDocuments(other, loader, dirname(other.path), undefined, [...chain, ...seen, `${source.path}#${name}`]);
        base = (otherFile.services as Record<string, Tree> | undefined)?.[target];
      } else if (services[target]) {
        base = await resolveService(target, [...seen, `${source.path}#${name}`]);
      }
      if (!base) throw new CtrError('InvalidArgument', `cannot extend service ${JSON.stringify(name)} in ${source.path}: service ${JSON.stringify(target)} not found`);
      const own = { ...service };
      delete own.extends;
      const merged = mergeTrees(stripMarkers(base), own, ['services', name]) as Tree;
      resolved.set(name, merged);
      return merged;
    };
    const out: Record<string, Tree> = {};
    for (const name of Object.keys(services)) out[name] = await resolveService(name, []);
    file.services = out;
  }
  return file;
}

const SECTIONS = ['services', 'networks', 'volumes', 'secrets', 'configs'];

/**
 * An `include:` entry: its files loaded as their own project part (paths relative to its
 * directory, or its `project_directory`) and its resources added to `file`; a service
 * defined on both sides, or another resource defined differently, is compose's conflict.
 */
async function include(file: Tree, entry: unknown, fileDir: string, loader: FileLoader, chain: string[]): Promise<void> {
  const spec = isPlainObject(entry) ? entry : { path: entry };
  // An `oci://` include is loaded from the directory it was pulled into, which is its project directory by default.
  const paths = await Promise.all((Array.isArray(spec.path) ? spec.path : [spec.path]).map((path) => (isOciPath(String(path)) ? loader.remote.load(String(path)) : resolve(fileDir, String(path)))));
  const first = paths[0] as string;
  if (chain.includes(first)) throw new CtrError('InvalidArgument', `include cycle detected: ${[...chain, first].join(' -> ')}`);
  const baseDir = spec.project_directory !== undefined ? resolve(fileDir, String(spec.project_directory)) : dirname(first);
  let included: Tree = {};
  for (const [index, source] of (await readSources(paths, fileDir, undefined, loader.remote)).entries()) {
    const tree = await loadDocuments(source, loader, baseDir, undefined, chain);
    included = index === 0 ? (stripMarkers(tree) as Tree) : (mergeTrees(included, tree, []) as Tree);
  }
  for (const section of SECTIONS) {
    const theirs = (included[section] ?? {}) as Tree;
    const ours = (isPlainObject(file[section]) ? file[section] : {}) as Tree;
    for (const [name, value] of Object.entries(theirs)) {
      if (ours[name] !== undefined && (section === 'services' || JSON.stringify(ours[name]) !== JSON.stringify(value))) {
        throw new CtrError('InvalidArgument', `imported compose file ${first} defines conflicting ${section.slice(0, -1)} ${name}`);
      }
      ours[name] = value;
    }
    if (Object.keys(ours).length > 0) file[section] = ours;
  }
}

/** The top-level `name:` of the files (the last wins), interpolated alone as compose-go reads it before the rest. */
function nameFromFiles(parsed: readonly Tree[], lookup: Lookup, interpolate: boolean): string | undefined {
  let name: string | undefined;
  for (const tree of parsed) if (typeof tree.name === 'string' && tree.name !== '') name = interpolate ? substitute(tree.name, lookup) : tree.name;
  return name;
}

function activeProfiles(options: LoadOptions, env: Record<string, string>): string[] {
  if (options.profiles && options.profiles.length > 0) return options.profiles;
  return (env.COMPOSE_PROFILES ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
}

/**
 * Loads a Compose project as `docker compose` does (compose-go's loader): finds the files,
 * reads `.env`, interpolates, validates, merges the files in order, resolves `extends`,
 * normalises every short syntax into the model's long form, applies profiles and checks
 * that what services name exists. Warnings (unset variables, obsolete `version`…) are in
 * `project.warnings`, for the CLI to print.
 */
export async function loadProject(options: LoadOptions = {}): Promise<ComposeProject> {
  const processEnv = Object.fromEntries(Object.entries(options.env ?? process.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const remote = new OciRemoteLoader(processEnv, options.oci);
  try {
    return await load(options, processEnv, remote);
  } finally {
    await remote.close();
  }
}

async function load(options: LoadOptions, processEnv: Record<string, string>, remote: OciRemoteLoader): Promise<ComposeProject> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const warnings: string[] = [];
  const projectDirectory = options.projectDirectory ? resolve(cwd, options.projectDirectory) : undefined;
  // An `oci://` file's directory is the cache's: the `.env` read is the one where compose runs.
  const firstFile = options.files?.find((file) => file !== '-');
  const envDir = projectDirectory ?? (firstFile && !isOciPath(firstFile) ? dirname(resolve(cwd, firstFile)) : cwd);
  const explicitEnvFiles = options.envFiles !== undefined && options.envFiles.length > 0;
  const { env, files: envFilesRead } = await projectEnvironment(
    explicitEnvFiles ? (options.envFiles as string[]).map((file) => resolve(cwd, file)) : options.dotenv === false ? [] : [join(envDir, '.env')],
    explicitEnvFiles,
    processEnv,
  );

  let files = options.files && options.files.length > 0 ? options.files : undefined;
  if (!files && env.COMPOSE_FILE) files = env.COMPOSE_FILE.split(env.COMPOSE_PATH_SEPARATOR || ':').filter((f) => f !== '');
  files ??= await discoverFiles(projectDirectory ?? cwd, warnings);
  const sources = await readSources(files, cwd, options.stdin, remote);
  const first = sources[0] as FileSource;
  const workingDir = projectDirectory ?? (first.path === '-' ? cwd : dirname(first.path));

  const interpolate = options.interpolate !== false;
  const parsed = sources.map((source) => parseComposeDocuments(source.text, source.path));
  const lookup: Lookup = (name) => env[name];
  const explicitName = options.projectName || env.COMPOSE_PROJECT_NAME || nameFromFiles(parsed.flat(), lookup, interpolate);
  const name = explicitName ? checkProjectName(explicitName) : normalizeProjectName(basename(workingDir));
  if (name === '') throw new CtrError('InvalidArgument', 'project name must not be empty');
  // compose-go offers the project's name to interpolation.
  const interpolationEnv: Record<string, string> = { COMPOSE_PROJECT_NAME: name, ...env };

  const unset = new Set<string>();
  const loader: FileLoader = {
    lookup: (key) => interpolationEnv[key],
    interpolate,
    onUnset: (key) => unset.add(key),
    warnings,
    home: processEnv.HOME ?? homedir(),
    workingDir,
    remote,
  };
  let merged: Tree = {};
  for (const [index, source] of sources.entries()) {
    const file = await loadDocuments(source, loader, workingDir, parsed[index]);
    merged = index === 0 ? (stripMarkers(file) as Tree) : (mergeTrees(merged, file, []) as Tree);
  }
  for (const key of unset) warnings.push(`The ${JSON.stringify(key)} variable is not set. Defaulting to a blank string.`);

  const all: Record<string, ServiceConfig> = {};
  for (const [key, raw] of Object.entries((merged.services as Record<string, Tree> | null | undefined) ?? {})) {
    all[key] = await normalizeService(key, raw, loader.lookup);
  }
  const networks: Record<string, NetworkConfig> = {};
  for (const [key, raw] of Object.entries((merged.networks as Record<string, Tree> | null | undefined) ?? {})) networks[key] = normalizeNetwork(name, key, raw ?? {});
  if (!networks.default && Object.values(all).some((service) => 'default' in service.networks)) networks.default = normalizeNetwork(name, 'default', {});
  const volumes: Record<string, VolumeConfig> = {};
  for (const [key, raw] of Object.entries((merged.volumes as Record<string, Tree> | null | undefined) ?? {})) volumes[key] = normalizeVolume(name, key, raw ?? {});
  const objects = (section: unknown): Record<string, FileObjectConfig> =>
    Object.fromEntries(Object.entries((section as Record<string, Tree> | null | undefined) ?? {}).map(([key, raw]) => [key, normalizeFileObject(name, key, raw ?? {})]));
  const secrets = objects(merged.secrets);
  const configs = objects(merged.configs);

  checkConsistency({ services: all, networks, volumes, secrets, configs });
  const { services, disabled } = applyProfiles(all, activeProfiles(options, env), options.services ?? [], warnings);

  const project: ComposeProject = {
    name,
    working_dir: workingDir,
    config_files: sources.map((source) => source.path),
    services,
    networks,
    volumes,
    secrets,
    configs,
    disabled_services: disabled,
    environment: interpolationEnv,
    env_files: envFilesRead,
    warnings,
  };
  for (const [key, value] of Object.entries(merged)) if (key.startsWith('x-')) (project as unknown as Tree)[key] = value;
  return project;
}

/**
 * Enables the services with no profile or an active one (`*` activates all), and those named
 * on the command line with their profiles; a required dependency on a disabled service is
 * compose's error, an optional one is dropped with a warning.
 */
function applyProfiles(
  all: Record<string, ServiceConfig>,
  profiles: string[],
  named: string[],
  warnings: string[],
): { services: Record<string, ServiceConfig>; disabled: Record<string, ServiceConfig> } {
  const active = new Set(profiles);
  for (const service of named) for (const profile of all[service]?.profiles ?? []) active.add(profile);
  const enabled = (service: ServiceConfig): boolean =>
    active.has('*') || named.includes(service.name) || !service.profiles || service.profiles.length === 0 || service.profiles.some((p) => active.has(p));
  const services: Record<string, ServiceConfig> = {};
  const disabled: Record<string, ServiceConfig> = {};
  for (const service of Object.values(all)) (enabled(service) ? services : disabled)[service.name] = service;
  for (const service of Object.values(services)) {
    for (const [dep, dependency] of Object.entries(service.depends_on)) {
      const off = disabled[dep];
      if (!off) continue;
      if (dependency.required) {
        throw new CtrError('InvalidArgument', `service ${dep} is required by ${service.name} but is disabled. Can be enabled by profiles [${(off.profiles ?? []).join(' ')}]`);
      }
      warnings.push(`service ${dep} is not enabled by the active profiles: optional dependency of ${service.name} skipped`);
      delete service.depends_on[dep];
    }
  }
  return { services, disabled };
}
