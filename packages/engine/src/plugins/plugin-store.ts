import { promises as fs, existsSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { conflict, invalidArgument, notFound } from '@ctr/errors';
import { familiarString, parseNormalizedReference, withDefaultTag } from '@ctr/image';
import { holderRuns, readJson, thisProcess, uniqueHex, withLock, writeFileAtomic } from '@ctr/store';

/**
 * Managed plugins on disk, as moby's plugin store keeps them: one directory per plugin under
 * `<root>/plugins/<id>/` holding `plugin.json` (the API's Plugin object: config, settings,
 * whether it is enabled) and `rootfs/`. A plugin directory is made whole under a temporary
 * name and renamed into place, and removed by renaming it away first, so a crash leaves a
 * plugin complete or absent. Changes are made under one lock file, for every process on the root.
 */

/** A mount of a plugin's config (`Source` null until the user sets it). */
export interface PluginMount {
  Description: string;
  Destination: string;
  Name: string;
  Options: string[] | null;
  Settable: string[] | null;
  Source: string | null;
  Type: string;
}

export interface PluginEnv {
  Description: string;
  Name: string;
  Settable: string[] | null;
  Value: string | null;
}

export interface PluginDevice {
  Description: string;
  Name: string;
  Path: string | null;
  Settable: string[] | null;
}

export interface PluginArgs {
  Description: string;
  Name: string;
  Settable: string[] | null;
  Value: string[] | null;
}

/** moby's types.PluginConfig, keys in its JSON order; interface types as their strings (`docker.volumedriver/1.0`). */
export interface PluginConfig {
  Args: PluginArgs;
  Description: string;
  DockerVersion?: string;
  Documentation: string;
  Entrypoint: string[] | null;
  Env: PluginEnv[] | null;
  Interface: { ProtocolScheme?: string; Socket: string; Types: string[] | null };
  IpcHost: boolean;
  Linux: { AllowAllDevices: boolean; Capabilities: string[] | null; Devices: PluginDevice[] | null };
  Mounts: PluginMount[] | null;
  Network: { Type: string };
  PidHost: boolean;
  PropagatedMount: string;
  User: { GID?: number; UID?: number };
  WorkDir: string;
  rootfs?: { diff_ids: string[]; type: string };
}

export interface PluginSettings {
  Args: string[];
  Devices: PluginDevice[];
  Env: string[];
  Mounts: PluginMount[];
}

/** What `GET /plugins/{name}/json` answers (moby's types.Plugin). */
export interface PluginInspect {
  Config: PluginConfig;
  Enabled: boolean;
  Id: string;
  Name: string;
  PluginReference?: string;
  Settings: PluginSettings;
}

/** One interface type a plugin implements, as moby's PluginInterfaceType reads its string. */
export interface PluginInterfaceType {
  Prefix: string;
  Capability: string;
  Version: string;
}

/** moby's PluginInterfaceType.UnmarshalJSON: `prefix.capability/version`; the prefix ends at the last dot before the slash. */
export function interfaceType(text: string): PluginInterfaceType {
  const slash = text.indexOf('/');
  const head = slash === -1 ? text : text.slice(0, slash);
  const dot = head.lastIndexOf('.');
  return { Prefix: dot === -1 ? '' : head.slice(0, dot), Capability: head.slice(dot + 1), Version: slash === -1 ? '' : text.slice(slash + 1) };
}

type Json = Record<string, unknown>;

/** A field as Go's decoder finds it: the exact key, else one equal to it but for case (config.json files are written in lower case). */
function field(object: Json, key: string): unknown {
  if (key in object) return object[key];
  const lower = key.toLowerCase();
  const found = Object.keys(object).find((k) => k.toLowerCase() === lower);
  return found === undefined ? undefined : object[found];
}

function typeError(where: string, want: string, value: unknown): Error {
  const got = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value === 'object' ? 'object' : typeof value;
  return invalidArgument(`failed to parse config: json: cannot unmarshal ${got} into Go struct field ${where} of type ${want}`);
}

function str(object: Json, key: string, where: string): string {
  const value = field(object, key);
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw typeError(`${where}.${key}`, 'string', value);
  return value;
}

function optionalStr(object: Json, key: string, where: string): string | null {
  const value = field(object, key);
  return value === undefined || value === null ? null : str(object, key, where);
}

function bool(object: Json, key: string, where: string): boolean {
  const value = field(object, key);
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw typeError(`${where}.${key}`, 'bool', value);
  return value;
}

function strings(object: Json, key: string, where: string): string[] | null {
  const value = field(object, key);
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw typeError(`${where}.${key}`, '[]string', value);
  return value.map((item) => {
    if (typeof item !== 'string') throw typeError(`${where}.${key}`, 'string', item);
    return item;
  });
}

function obj(object: Json, key: string, where: string): Json {
  const value = field(object, key);
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw typeError(`${where}.${key}`, where, value);
  return value as Json;
}

function objects<T>(object: Json, key: string, where: string, read: (item: Json) => T): T[] | null {
  const value = field(object, key);
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw typeError(`${where}.${key}`, `[]${where}`, value);
  return value.map((item: unknown) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw typeError(`${where}.${key}`, where, item);
    return read(item as Json);
  });
}

function uint(object: Json, key: string, where: string): number | undefined {
  const value = field(object, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw typeError(`${where}.${key}`, 'uint32', value);
  return value === 0 ? undefined : value;
}

/**
 * A plugin's config.json as dockerd decodes it into types.PluginConfig: any letter case, unknown
 * keys ignored, wrong types refused with Go's words. Interface types must be strings, as moby's
 * PluginInterfaceType decoder wants.
 */
export function parsePluginConfig(text: string): PluginConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw invalidArgument(`failed to parse config: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw typeError('PluginConfig', 'types.PluginConfig', raw);
  const c = raw as Json;
  const args = obj(c, 'Args', 'PluginConfig');
  const iface = obj(c, 'Interface', 'PluginConfig');
  const linux = obj(c, 'Linux', 'PluginConfig');
  const user = obj(c, 'User', 'PluginConfig');
  const types = strings(iface, 'Types', 'PluginConfigInterface');
  const mount = (m: Json): PluginMount => ({
    Description: str(m, 'Description', 'PluginMount'),
    Destination: str(m, 'Destination', 'PluginMount'),
    Name: str(m, 'Name', 'PluginMount'),
    Options: strings(m, 'Options', 'PluginMount'),
    Settable: strings(m, 'Settable', 'PluginMount'),
    Source: optionalStr(m, 'Source', 'PluginMount'),
    Type: str(m, 'Type', 'PluginMount'),
  });
  const device = (d: Json): PluginDevice => ({
    Description: str(d, 'Description', 'PluginDevice'),
    Name: str(d, 'Name', 'PluginDevice'),
    Path: optionalStr(d, 'Path', 'PluginDevice'),
    Settable: strings(d, 'Settable', 'PluginDevice'),
  });
  const protocol = str(iface, 'ProtocolScheme', 'PluginConfigInterface');
  const uid = uint(user, 'UID', 'PluginConfigUser');
  const gid = uint(user, 'GID', 'PluginConfigUser');
  return {
    Args: {
      Description: str(args, 'Description', 'PluginConfigArgs'),
      Name: str(args, 'Name', 'PluginConfigArgs'),
      Settable: strings(args, 'Settable', 'PluginConfigArgs'),
      Value: strings(args, 'Value', 'PluginConfigArgs'),
    },
    Description: str(c, 'Description', 'PluginConfig'),
    Documentation: str(c, 'Documentation', 'PluginConfig'),
    Entrypoint: strings(c, 'Entrypoint', 'PluginConfig'),
    Env: objects(c, 'Env', 'PluginEnv', (e) => ({
      Description: str(e, 'Description', 'PluginEnv'),
      Name: str(e, 'Name', 'PluginEnv'),
      Settable: strings(e, 'Settable', 'PluginEnv'),
      Value: optionalStr(e, 'Value', 'PluginEnv'),
    })),
    Interface: { ...(protocol ? { ProtocolScheme: protocol } : {}), Socket: str(iface, 'Socket', 'PluginConfigInterface'), Types: types },
    IpcHost: bool(c, 'IpcHost', 'PluginConfig'),
    Linux: {
      AllowAllDevices: bool(linux, 'AllowAllDevices', 'PluginConfigLinux'),
      Capabilities: strings(linux, 'Capabilities', 'PluginConfigLinux'),
      Devices: objects(linux, 'Devices', 'PluginDevice', device),
    },
    Mounts: objects(c, 'Mounts', 'PluginMount', mount),
    Network: { Type: str(obj(c, 'Network', 'PluginConfig'), 'Type', 'PluginConfigNetwork') },
    PidHost: bool(c, 'PidHost', 'PluginConfig'),
    PropagatedMount: str(c, 'PropagatedMount', 'PluginConfig'),
    User: { ...(gid !== undefined ? { GID: gid } : {}), ...(uid !== undefined ? { UID: uid } : {}) },
    WorkDir: str(c, 'WorkDir', 'PluginConfig'),
  };
}

/** moby's InitEmptySettings: what the user may change starts as the config has it. */
export function initialSettings(config: PluginConfig): PluginSettings {
  return {
    Args: [...(config.Args.Value ?? [])],
    Devices: (config.Linux.Devices ?? []).map((d) => structuredClone(d)),
    Env: (config.Env ?? []).flatMap((e) => (e.Value === null ? [] : [`${e.Name}=${e.Value}`])),
    Mounts: (config.Mounts ?? []).map((m) => structuredClone(m)),
  };
}

/** `docker plugin set`'s `name[.field][=value]`, read as moby's newSettable. */
interface Settable {
  name: string;
  field: string;
  value: string;
}

function settable(arg: string): Settable {
  const eq = arg.indexOf('=');
  if (eq === 0) throw invalidArgument('invalid format, must be <name>[.<field>][=<value>]');
  let name = eq < 0 ? arg : arg.slice(0, eq);
  const value = eq < 0 ? '' : arg.slice(eq + 1);
  let fieldName = '';
  const dot = name.lastIndexOf('.');
  if (dot > 0) {
    fieldName = name.slice(dot + 1);
    name = name.slice(0, dot);
  }
  return { name, field: fieldName, value };
}

/** moby's isSettable: the field named (or the only settable one) is both allowed for the kind and settable in the config. */
function checkSettable(set: Settable, allowed: string, settableFields: readonly string[] | null): void {
  const fields = settableFields ?? [];
  let wanted = set.field;
  if (wanted === '') {
    if (fields.length > 1) throw invalidArgument('multiple fields are settable, one must be specified');
    if (fields.length === 1) wanted = fields[0] as string;
  }
  if (wanted !== allowed || !fields.includes(wanted)) {
    throw invalidArgument(`${JSON.stringify(set.field ? `${set.name}.${set.field}` : set.name)} is not settable`);
  }
}

/**
 * `docker plugin set`: each `name=value` changes the env variable, mount source, device path
 * or args of that name, if the config lets it (moby's Plugin.Set, with its words). A mount's
 * source and a device's path change in the config as in the settings, as moby's shared pointers do.
 */
export function applySettings(plugin: PluginInspect, args: readonly string[]): PluginInspect {
  if (plugin.Enabled) throw conflict('cannot set on an active plugin, disable plugin before setting');
  const next = structuredClone(plugin);
  const { Config: config, Settings: settings } = next;
  for (const set of args.map(settable)) {
    const env = (config.Env ?? []).find((e) => e.Name === set.name);
    if (env) {
      checkSettable(set, 'value', env.Settable);
      const entry = `${set.name}=${set.value}`;
      const at = settings.Env.findIndex((e) => e.split('=', 1)[0] === set.name);
      if (at === -1) settings.Env.push(entry);
      else settings.Env[at] = entry;
      continue;
    }
    const mountAt = (config.Mounts ?? []).findIndex((m) => m.Name === set.name);
    if (mountAt !== -1) {
      checkSettable(set, 'source', (config.Mounts as PluginMount[])[mountAt]?.Settable ?? null);
      (config.Mounts as PluginMount[])[mountAt]!.Source = set.value;
      const setting = settings.Mounts.find((m) => m.Name === set.name);
      if (setting) setting.Source = set.value;
      continue;
    }
    const deviceAt = (config.Linux.Devices ?? []).findIndex((d) => d.Name === set.name);
    if (deviceAt !== -1) {
      checkSettable(set, 'path', (config.Linux.Devices as PluginDevice[])[deviceAt]?.Settable ?? null);
      (config.Linux.Devices as PluginDevice[])[deviceAt]!.Path = set.value;
      const setting = settings.Devices.find((d) => d.Name === set.name);
      if (setting) setting.Path = set.value;
      continue;
    }
    if (config.Args.Name === set.name) {
      checkSettable(set, 'value', config.Args.Settable);
      settings.Args = set.value.split(' ');
      continue;
    }
    throw invalidArgument(`setting ${JSON.stringify(set.name)} not found in the plugin configuration`);
  }
  return next;
}

/** moby's name for a plugin: a familiar reference with a tag (`sshfs` → `sshfs:latest`); a digest is refused. */
export function pluginName(reference: string): string {
  let parsed;
  try {
    parsed = parseNormalizedReference(reference);
  } catch (error) {
    throw invalidArgument(`failed to parse reference ${reference}: ${(error as Error).message}`);
  }
  if (parsed.digest) throw invalidArgument('canonical references are not permitted');
  return familiarString(withDefaultTag(parsed));
}

const FULL_ID = /^[0-9a-f]{64}$/;
/**
 * Where a plugin's directory is made before it is renamed into place, and where a removed one
 * goes first: `.tmp-<pid>-<start time>-<hex>`, so a sweep leaves a running process's alone.
 */
const TEMP_PREFIX = '.tmp-';
/** Where an upgrade moves the plugin it replaces: `.old-<pid>-<start time>-<id>`, so a sweep can finish it. */
const OLD_PREFIX = '.old-';

function heldName(dir: string, prefix: string, suffix: string): string {
  const { pid, startTime } = thisProcess();
  return path.join(dir, `${prefix}${pid}-${startTime}-${suffix}`);
}

function heldTempName(dir: string): string {
  return heldName(dir, TEMP_PREFIX, uniqueHex());
}

function abandoned(name: string, prefix: string): boolean {
  const [pid, startTime] = name.slice(prefix.length).split('-');
  return !holderRuns({ pid: Number(pid), startTime: startTime ?? '' });
}

export class PluginStore {
  readonly dir: string;
  private readonly lockFile: string;

  constructor(root: string) {
    this.dir = path.join(root, 'plugins');
    this.lockFile = path.join(this.dir, '.lock');
  }

  pluginDir(id: string): string {
    return path.join(this.dir, id);
  }

  rootfs(id: string): string {
    return path.join(this.dir, id, 'rootfs');
  }

  /** Run `fn` holding the plugins' lock: every change of a plugin, in any process, is made under it. */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    return withLock(this.lockFile, fn);
  }

  /** Every plugin, by ID order. Directories of creations or removals a crash cut short are not plugins. */
  async list(): Promise<PluginInspect[]> {
    if (!existsSync(this.dir)) return [];
    const ids = readdirSync(this.dir).filter((name) => FULL_ID.test(name)).sort();
    const plugins = await Promise.all(ids.map((id) => readJson<{ plugin: PluginInspect }>(path.join(this.dir, id, 'plugin.json'))));
    return plugins.flatMap((record) => (record ? [record.plugin] : []));
  }

  /** moby's resolvePluginID: a full ID, a name (tagged `latest` when it has no tag), or an ID prefix naming one plugin. */
  async find(refOrId: string): Promise<PluginInspect> {
    const plugins = await this.list();
    if (FULL_ID.test(refOrId)) {
      const plugin = plugins.find((p) => p.Id === refOrId);
      if (plugin) return plugin;
      throw notFound(`plugin ${JSON.stringify(refOrId)} not found`);
    }
    let name: string | undefined;
    try {
      name = pluginName(refOrId);
    } catch {
      throw notFound(`plugin ${JSON.stringify(refOrId)} not found`);
    }
    const named = plugins.find((p) => p.Name === name);
    if (named) return named;
    const prefixed = plugins.filter((p) => p.Id.startsWith(refOrId));
    if (prefixed.length > 1) throw invalidArgument(`multiple plugins found for ${JSON.stringify(refOrId)}`);
    if (prefixed[0]) return prefixed[0];
    throw notFound(`plugin ${JSON.stringify(refOrId)} not found`);
  }

  /** moby's validateName; call under the lock. */
  async checkNameFree(name: string): Promise<void> {
    if ((await this.list()).some((p) => p.Name === name)) throw conflict(`plugin ${name} already exists`);
  }

  /** A directory to build a plugin in, on the same filesystem as its final place. */
  async tempDir(): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const dir = heldTempName(this.dir);
    await fs.mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /**
   * A fresh random ID, as moby's stringid.GenerateRandomID, whose short ID no other plugin has:
   * a running plugin's socket directory is named by it. Call under the lock.
   */
  newId(): string {
    const shorts = new Set(existsSync(this.dir) ? readdirSync(this.dir).filter((n) => FULL_ID.test(n)).map((n) => n.slice(0, 12)) : []);
    for (;;) {
      const id = randomBytes(32).toString('hex');
      // An all-digit short ID would read as a number; moby draws again.
      if (!/^\d{12}/.test(id) && !shorts.has(id.slice(0, 12))) return id;
    }
  }

  /** Put a plugin built in `temp` (with its rootfs there) into place under its ID. Call under the lock. */
  async commit(temp: string, plugin: PluginInspect): Promise<void> {
    await writeFileAtomic(path.join(temp, 'plugin.json'), JSON.stringify({ plugin }));
    await fs.rename(temp, this.pluginDir(plugin.Id));
  }

  /**
   * Put a plugin rebuilt in `temp` (an upgrade's new rootfs there) in place of the one of its ID,
   * which is moved aside first: a crash between the two renames leaves the old one for sweep() to
   * put back, a crash after them leaves it for sweep() to finish. Call under the lock.
   */
  async replace(temp: string, plugin: PluginInspect): Promise<void> {
    await writeFileAtomic(path.join(temp, 'plugin.json'), JSON.stringify({ plugin }));
    const aside = heldName(this.dir, OLD_PREFIX, plugin.Id);
    await fs.rename(this.pluginDir(plugin.Id), aside);
    try {
      await fs.rename(temp, this.pluginDir(plugin.Id));
    } catch (error) {
      await fs.rename(aside, this.pluginDir(plugin.Id));
      throw error;
    }
    await this.finishReplace(aside, plugin.Id);
  }

  /** The host side of the old plugin's PropagatedMount stays the plugin's (moby's upgrade keeps its directory); the rest goes. */
  private async finishReplace(aside: string, id: string): Promise<void> {
    const shared = path.join(aside, 'propagated-mount');
    if (existsSync(shared) && !existsSync(path.join(this.pluginDir(id), 'propagated-mount'))) {
      await fs.rename(shared, path.join(this.pluginDir(id), 'propagated-mount'));
    }
    await fs.rm(aside, { recursive: true, force: true });
  }

  async save(plugin: PluginInspect): Promise<void> {
    await writeFileAtomic(path.join(this.pluginDir(plugin.Id), 'plugin.json'), JSON.stringify({ plugin }));
  }

  /** Take a plugin's directory out of sight in one step, then delete it. Call under the lock. */
  async remove(id: string): Promise<void> {
    const removing = heldTempName(this.dir);
    await fs.rename(this.pluginDir(id), removing);
    await fs.rm(removing, { recursive: true, force: true });
  }

  /**
   * What creations, removals and upgrades of processes that have ended left (a crash cut them
   * short): a plugin an upgrade moved aside goes back if its replacement never came. Call under the lock.
   */
  async sweep(): Promise<void> {
    if (!existsSync(this.dir)) return;
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith(TEMP_PREFIX) && abandoned(name, TEMP_PREFIX)) await fs.rm(path.join(this.dir, name), { recursive: true, force: true });
      if (!name.startsWith(OLD_PREFIX) || !abandoned(name, OLD_PREFIX)) continue;
      const id = name.slice(name.lastIndexOf('-') + 1);
      if (!FULL_ID.test(id)) continue;
      if (existsSync(this.pluginDir(id))) await this.finishReplace(path.join(this.dir, name), id);
      else await fs.rename(path.join(this.dir, name), this.pluginDir(id));
    }
  }
}
